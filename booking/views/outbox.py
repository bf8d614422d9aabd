"""Administrators: the e-mails the site sent, is sending, or failed to send.

Without a mail server (``make run``), this is where someone trying the site
reads exactly what members would receive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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
from ..notifications import drop, send_again, transport
from ..notifications.secret_links import may_work
from ..presentation.outbox import Parts, hide_secret_links, message_parts, with_links
from . import access
from .kit import Paging

bp = Blueprint("outbox", __name__, url_prefix="/admin/messages")


def _zone() -> ZoneInfo:
    """Messages belong to no venue: their times are shown in the site's default zone."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


PAGE = 100
# Messages done with (sent, or no longer needed) are counted over this many days only:
# they are kept for months, and counting them all would read every one each time.
RECENT_DAYS = 7
DONE = (MessageStatus.SENT, MessageStatus.DROPPED)


def _counts(now: datetime) -> dict[MessageStatus, int]:
    """How many messages are in each state (the recent ones only for those done with), in
    one query: a range of the index on state and due time for each state."""
    since = now - timedelta(days=RECENT_DAYS)
    counted = sa.or_(
        *(
            OutboxMessage.status == status
            if status not in DONE
            else sa.and_(OutboxMessage.status == status, OutboxMessage.due_at >= since)
            for status in MessageStatus
        )
    )
    return {
        MessageStatus(status): count
        for status, count in db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count())
            .where(counted)
            .group_by(OutboxMessage.status)
        ).tuples()
    }


@bp.route("")
@access.admin
def index() -> ResponseReturnValue:
    """The messages, newest first, a page at a time."""
    page = Paging.asked(PAGE)
    offset, limit = page.window
    messages, more = page.cut(
        list(
            db.session.scalars(
                sa.select(OutboxMessage)
                .order_by(OutboxMessage.id.desc())
                .offset(offset)
                .limit(limit)
                .options(selectinload(OutboxMessage.recipient))
            )
        )
    )
    return render_template(
        "outbox/index.html",
        messages=messages,
        pages=page.links("outbox.index", more),
        recent_days=RECENT_DAYS,
        counts=_counts(clock.now()),
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


def _shown(message: OutboxMessage) -> Parts | None:
    """The message as this page may show it: the links that let someone in (a password,
    an invitation) are the recipient's alone while they work, whatever the transport."""
    parsed = _parsed(message)
    if parsed is None:
        return None
    now = clock.now()
    return hide_secret_links(message_parts(parsed), lambda kind, token: may_work(kind, token, now))


@bp.route("/<int:message_id>")
@access.admin
def show(message_id: int) -> ResponseReturnValue:
    message = _message(message_id)
    return render_template(
        "outbox/show.html",
        message=message,
        parts=_shown(message),
        smtp=bool(current_app.config["SMTP_HOST"]),
        where=transport().description,
        zone=_zone(),
        with_links=with_links,
    )


@bp.route("/<int:message_id>.eml")
@access.admin
def download(message_id: int) -> Response:
    """Without a mail server, the message as a file, unless it holds a link that works."""
    message = _message(message_id)
    parts = _shown(message)
    if parts is None or parts.hidden_links or current_app.config["SMTP_HOST"]:
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


@bp.route("/<int:message_id>/drop", methods=["POST"], endpoint="drop")
@access.admin
def drop_message(message_id: int) -> ResponseReturnValue:
    _message(message_id)
    if drop(message_id):
        flash(_("The message will not be sent."), "success")
    else:
        flash(_("This message is being sent or was sent already."), "info")
    return redirect(url_for("outbox.show", message_id=message_id))
