"""Requests to join a venue, as its managers see them: accept (the person gets an e-mail to
join) or decline with a word."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ... import clock
from ...extensions import db
from ...forms.accounts import DeclineForm
from ...models import SignupRequest, SignupStatus, Venue
from ...services.accounts import joining
from .. import access
from .common import act, bp, managed_venue
from .invitations import valid_for


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
        "manage/join_requests.html", venue=venue, pending=pending, decided=decided, forms=forms
    ), status


@bp.route("/venues/<slug>/requests", endpoint="join_requests")
@access.manager
def join_requests_view(slug: str) -> ResponseReturnValue:
    return _requests_page(managed_venue(slug), {})


@bp.route(
    "/venues/<slug>/requests/<int:request_id>/accept",
    methods=["POST"],
    endpoint="accept_join_request",
)
@access.manager
def accept_view(slug: str, request_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def accept() -> str:
        request = joining.accept_request(
            request_id,
            venue.id,
            current_user.id,
            clock.now(),
            valid_for(),
        )
        return _(
            "Request from %(name)s accepted: they get an e-mail to join %(venue)s.",
            name=request.display_name,
            venue=venue.name,
        )

    return act(accept, url_for("manage.join_requests", slug=venue.slug))


@bp.route(
    "/venues/<slug>/requests/<int:request_id>/decline",
    methods=["POST"],
    endpoint="decline_join_request",
)
@access.manager
def decline_view(slug: str, request_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = DeclineForm(prefix=f"d{request_id}")
    if not form.validate_on_submit():
        return _requests_page(venue, {request_id: form}, 422)

    def decline() -> str:
        request = joining.decline_request(
            request_id, venue.id, current_user.id, form.reason.data or "", clock.now()
        )
        return _("Request from %(name)s declined.", name=request.display_name)

    return act(decline, url_for("manage.join_requests", slug=venue.slug))
