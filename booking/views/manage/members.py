"""The people of a venue: their roles, the rate they pay, their trainings there, their
bookings to come."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import RemoveMemberForm, RoleForm
from ...forms.prices import RateForm
from ...models import Membership, Rate, Role, User, Venue
from ...permissions import can_change_place, can_change_role
from ...presentation.numbers import rate_label
from ...services.venues.members import (
    member_rows,
    remove_member,
    set_rate,
    set_role,
    upcoming_at,
)
from ...services.venues.trainings import member_grants, venue_trainings
from .. import access
from ..kit import today_at
from .common import attempt, bp, cancelled_note, managed_venue
from .invitations import invite_form, send_invitation


def _role_filter() -> Role | None:
    value = request.args.get("role", "")
    return Role(value) if value in (Role.MEMBER.value, Role.MANAGER.value) else None


@bp.route("/venues/<slug>/members", methods=["GET", "POST"])
@access.manager
def members(slug: str) -> Response | tuple[str, int]:
    """The people of the venue, and inviting someone (POST): the person joins once they
    accept, whether or not they have an account already."""
    venue = managed_venue(slug)
    form = invite_form(venue)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            sent = send_invitation(venue, form)
            if sent.done:
                return redirect(url_for("manage.members", slug=venue.slug))
            status = sent.status
    search = (request.args.get("q") or "").replace("\x00", "")[:100]
    return (
        render_template(
            "manage/members.html",
            venue=venue,
            form=form,
            rows=member_rows(db.session, venue.id, clock.now(), search, _role_filter()),
            search=search,
            role=request.args.get("role", ""),
        ),
        status,
    )


def _person(venue: Venue, user_id: int) -> tuple[User, Membership]:
    user = db.session.get(User, user_id)
    membership = (
        next((m for m in user.memberships if m.venue_id == venue.id), None) if user else None
    )
    if user is None or membership is None:
        abort(404)
    return user, membership


def _member_page(
    venue: Venue,
    user: User,
    membership: Membership,
    form: RoleForm | None = None,
    status: int = 200,
    rate_form: RateForm | None = None,
) -> tuple[str, int]:
    if form is None:
        form = RoleForm(formdata=None)
        form.role.data = membership.role.value
    if rate_form is None:
        rate_form = RateForm(formdata=None)
        rate_form.rate.data = membership.rate.value
    today = today_at(venue.zone)
    return (
        render_template(
            "manage/member.html",
            rate_form=rate_form,
            venue=venue,
            person=user,
            membership=membership,
            form=form,
            may_change=can_change_role(current_user, venue, user),
            may_change_rate=can_change_place(current_user, venue, user),
            grants=member_grants(db.session, venue.id, user.id),
            trainings=venue_trainings(db.session, venue.id, today),
            upcoming=upcoming_at(db.session, venue.id, user.id, clock.now()),
            today=today,
        ),
        status,
    )


@bp.route("/venues/<slug>/members/<int:user_id>", methods=["GET", "POST"])
@access.manager
def member(slug: str, user_id: int) -> Response | tuple[str, int]:
    """Someone's place at the venue; changing their role (POST)."""
    venue = managed_venue(slug)
    user, membership = _person(venue, user_id)
    if request.method == "GET":
        return _member_page(venue, user, membership)
    form = RoleForm()
    if not form.validate_on_submit():
        return _member_page(venue, user, membership, form, 422)
    changed = attempt(
        form,
        lambda: set_role(venue.id, user.id, Role(form.role.data), current_user.id, clock.now()),
    )
    if not changed.done:
        return _member_page(venue, user, membership, form, changed.status)
    flash(_("Role saved."), "success")
    return redirect(url_for("manage.member", slug=venue.slug, user_id=user.id))


@bp.route("/venues/<slug>/members/<int:user_id>/remove", methods=["GET", "POST"])
@access.manager
def remove_person(slug: str, user_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    user, membership = _person(venue, user_id)
    form = RemoveMemberForm()
    held = upcoming_at(db.session, venue.id, user.id, clock.now())
    general: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            removed = attempt(
                form,
                lambda: remove_member(
                    venue.id,
                    user.id,
                    current_user.id,
                    clock.now(),
                    seen_ids=form.seen.data or frozenset(),
                    cancel=bool(form.cancel_bookings.data),
                    reason=form.reason.data or "",
                ),
            )
            general, status = removed.general, removed.status
            if removed.done:
                message = _(
                    "%(name)s no longer has a role at %(venue)s.",
                    name=user.display_name,
                    venue=venue.name,
                )
                flash(message + cancelled_note(removed.result or []), "success")
                return redirect(url_for("manage.members", slug=venue.slug))
    form.seen.data = frozenset(r.id for r in held)
    return (
        render_template(
            "manage/remove_member.html",
            venue=venue,
            person=user,
            membership=membership,
            form=form,
            held=held,
            general=general,
            may_change=can_change_role(current_user, venue, user),
        ),
        status,
    )


@bp.route("/venues/<slug>/members/<int:user_id>/rate", methods=["POST"])
@access.manager
def member_rate(slug: str, user_id: int) -> Response | tuple[str, int]:
    """Whether the person pays the member or the outside rate here."""
    venue = managed_venue(slug)
    user, membership = _person(venue, user_id)
    form = RateForm()
    if not form.validate_on_submit():
        return _member_page(venue, user, membership, status=422, rate_form=form)
    rate = Rate(form.rate.data)
    changed = attempt(form, lambda: set_rate(venue.id, user.id, rate, current_user.id, clock.now()))
    if not changed.done:
        return _member_page(venue, user, membership, status=changed.status, rate_form=form)
    flash(
        _("%(name)s now pays the %(rate)s.", name=user.display_name, rate=rate_label(rate).lower()),
        "success",
    )
    return redirect(url_for("manage.member", slug=venue.slug, user_id=user.id))
