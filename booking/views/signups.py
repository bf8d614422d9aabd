"""Requests to join: a visitor asks from the venue's page; the venue's managers decide."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.accounts import DeclineForm, JoinForm
from ..models import SignupRequest, SignupStatus, Venue
from ..security.limits import signup_limit
from ..services import accounts
from . import access
from .invitations import act, managed_venue

bp = Blueprint("signups", __name__)


def _public_venue(slug: str) -> Venue:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    return venue


@bp.route("/venues/<slug>/join", methods=["GET", "POST"])
@access.public
@signup_limit
def join(slug: str) -> ResponseReturnValue:
    venue = _public_venue(slug)
    form = JoinForm()
    if not form.is_submitted() and current_user.is_authenticated:
        # Someone with an account elsewhere: the team will add this venue to it.
        form.display_name.data = current_user.display_name
        form.email.data = current_user.email
    if form.validate_on_submit():
        accounts.request_to_join(
            venue_id=venue.id,
            email=form.email.data or "",
            name=form.display_name.data or "",
            message=form.message.data or "",
            locale=str(get_locale() or "fr"),
            now=clock.now(),
        )
        # The same answer whoever asks: it must not tell who has an account.
        return redirect(url_for("signups.sent", slug=venue.slug))
    status = 422 if form.is_submitted() else 200
    return render_template("signups/join.html", venue=venue, form=form), status


@bp.route("/venues/<slug>/join/sent")
@access.public
def sent(slug: str) -> ResponseReturnValue:
    return render_template("signups/sent.html", venue=_public_venue(slug))


def _requests_page(venue: Venue, forms: dict[int, DeclineForm], status: int = 200):
    requests = list(
        db.session.scalars(
            sa.select(SignupRequest)
            .where(SignupRequest.venue_id == venue.id)
            .order_by(SignupRequest.created_at.desc(), SignupRequest.id.desc())
            .limit(100)
        )
    )
    pending = [r for r in requests if r.status == SignupStatus.PENDING]
    decided = [r for r in requests if r.status != SignupStatus.PENDING][:30]
    for request in pending:
        forms.setdefault(request.id, DeclineForm(prefix=f"d{request.id}"))
    return render_template(
        "signups/requests.html", venue=venue, pending=pending, decided=decided, forms=forms
    ), status


@bp.route("/manage/venues/<slug>/requests")
@access.manager
def requests(slug: str) -> ResponseReturnValue:
    return _requests_page(managed_venue(slug), {})


@bp.route(
    "/manage/venues/<slug>/requests/<int:request_id>/accept", methods=["POST"], endpoint="accept"
)
@access.manager
def accept_view(slug: str, request_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def accept() -> str:
        request = accounts.accept_request(
            request_id,
            venue.id,
            current_user.id,
            clock.now(),
            timedelta(days=int(current_app.config["INVITATION_DAYS"])),
        )
        return _(
            "Request from %(name)s accepted: they get an e-mail to join %(venue)s.",
            name=request.display_name,
            venue=venue.name,
        )

    return act(accept, url_for("signups.requests", slug=venue.slug))


@bp.route(
    "/manage/venues/<slug>/requests/<int:request_id>/decline",
    methods=["POST"],
    endpoint="decline",
)
@access.manager
def decline_view(slug: str, request_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = DeclineForm(prefix=f"d{request_id}")
    if not form.validate_on_submit():
        return _requests_page(venue, {request_id: form}, 422)

    def decline() -> str:
        request = accounts.decline_request(
            request_id, venue.id, current_user.id, form.reason.data or "", clock.now()
        )
        return _("Request from %(name)s declined.", name=request.display_name)

    return act(decline, url_for("signups.requests", slug=venue.slug))
