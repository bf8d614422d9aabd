"""Administrators: the e-mails the site sent, is sending, or failed to send.

Without a mail server (``make run``), this is where someone trying the site
reads exactly what members would receive.
"""

from __future__ import annotations

from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..models import MessageStatus, OutboxMessage
from ..notifications import send_again, transport
from ..presentation.outbox import hide_secret_links, message_parts, with_links
from . import access

bp = Blueprint("outbox", __name__, url_prefix="/admin/messages")


def _zone() -> ZoneInfo:
    """Messages belong to no venue: their times are shown in the site's default zone."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


PAGE = 100


@bp.route("")
@access.admin
def index() -> ResponseReturnValue:
    messages = list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .order_by(OutboxMessage.id.desc())
            .limit(PAGE)
            .options(selectinload(OutboxMessage.recipient))
        )
    )
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return render_template(
        "outbox/index.html",
        messages=messages,
        counts={MessageStatus(k): v for k, v in counts.items()},
        where=transport().description,
        smtp=bool(current_app.config["SMTP_HOST"]),
        base_url_missing=not current_app.config["EXTERNAL_URL"],
        zone=_zone(),
    )


def _message(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return message


def _parsed(message: OutboxMessage) -> EmailMessage | None:
    if not message.rendered:
        return None
    parsed = message_from_string(message.rendered, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


@bp.route("/<int:message_id>")
@access.admin
def show(message_id: int) -> ResponseReturnValue:
    message = _message(message_id)
    parsed = _parsed(message)
    parts = message_parts(parsed) if parsed is not None else None
    # With a real mail server, the links that let someone in (a password, an
    # invitation) are the recipient's alone; without one, this page is how
    # someone trying the site follows them.
    smtp = bool(current_app.config["SMTP_HOST"])
    if parts is not None and smtp:
        parts = hide_secret_links(parts)
    return render_template(
        "outbox/show.html",
        message=message,
        parts=parts,
        smtp=smtp,
        zone=_zone(),
        with_links=with_links,
    )


@bp.route("/<int:message_id>.eml")
@access.admin
def download(message_id: int) -> Response:
    message = _message(message_id)
    if not message.rendered or current_app.config["SMTP_HOST"]:
        abort(404)
    response = Response(message.rendered, content_type="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="message-{message.id}.eml"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:message_id>/retry", methods=["POST"])
@access.admin
def retry(message_id: int) -> ResponseReturnValue:
    _message(message_id)
    if send_again(message_id, clock.now()):
        flash(_("The message will be sent again in a few seconds."), "success")
    else:
        flash(_("This message is being sent or was sent already."), "info")
    return redirect(url_for("outbox.show", message_id=message_id))
