"""Members book, see and cancel their reservations; managers book for members."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import rules as r
from ..extensions import db
from ..forms.reservations import BookingForm, CancelForm, SeriesForm
from ..messages import not_allowed_message, transition_message, violation_message
from ..models import Membership, Reservation, Resource, Status, User, Venue
from ..schedule import week_of
from ..services import (
    BookingError,
    NotAllowedError,
    TransitionError,
    book,
    book_series,
    cancel,
    cancel_series_from,
    expire_pending,
    preview_series,
)
from ..services.availability import holds_valid_qualification
from ..services.booking import SeriesRequest

bp = Blueprint("reservations", __name__)

# Violations that mean "someone holds this slot": answered 409 Conflict.
CONFLICT_CODES = {"capacity", "just_taken"}


def now() -> datetime:
    return datetime.now(UTC)


def _bookable_resource() -> Resource:
    slug = request.args.get("resource", "")
    resource = db.session.scalar(
        sa.select(Resource).where(Resource.slug == slug, Resource.is_active)
    )
    if resource is None:
        abort(404)
    return resource


def _venue_members(resource: Resource) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership)
            .where(Membership.venue_id == resource.venue_id, User.active)
            .order_by(User.display_name)
        )
    )


def _configure(form: BookingForm | SeriesForm, resource: Resource) -> None:
    members = _venue_members(resource) if current_user.is_manager_of(resource.venue) else []
    form.configure(resource, current_user, members)


def _first_day(form_day: date | None, resource: Resource) -> date:
    """The first day of the week shown: asked for, else the form's day, else today."""
    today = datetime.now(resource.venue.zone).date()
    try:
        asked: date | None = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        asked = None
    for candidate in (asked, form_day):
        if candidate is not None and today <= candidate <= today + timedelta(days=3 * 366):
            return candidate
    return today


def _attach(
    form: BookingForm | SeriesForm, violations: list[r.Violation], mapping: dict
) -> list[str]:
    """Put each violation next to its field; return those that belong to no field."""
    general = []
    for violation in violations:
        field = getattr(form, mapping.get(violation.field, ""), None)
        message = violation_message(violation)
        if field is None:
            general.append(message)
        else:
            field.errors = [*field.errors, message]
    return general


def _refusal(
    form: BookingForm | SeriesForm, error: BookingError | NotAllowedError, mapping: dict
) -> tuple[list[str], int]:
    """Messages next to the fields, those for no field, and the fitting status."""
    if isinstance(error, NotAllowedError):
        return [not_allowed_message(error)], 403
    general = _attach(form, error.violations, mapping)
    held = {v.code for v in error.violations} & CONFLICT_CODES
    return general, 409 if held else 422


BOOKING_FIELDS = {"starts_at": "start", "ends_at": "end", "seats": "seats"}


def _local_to_utc(
    form: BookingForm | SeriesForm, day: date, field_name: str, zone
) -> datetime | None:
    try:
        return r.to_utc(datetime.combine(day, getattr(form, field_name).data), zone)
    except r.LocalTimeError as error:
        _attach(form, [r.Violation(error.code, field_name)], {field_name: field_name})
        return None


def _member_and_overrides(form: BookingForm | SeriesForm) -> tuple[int, frozenset[str]]:
    if getattr(form, "is_manager", False):
        return form.member.data or current_user.id, frozenset(form.overrides.data or [])
    return current_user.id, frozenset()


@bp.route("/reservations/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    resource = _bookable_resource()
    form = BookingForm()
    _configure(form, resource)
    general: list[str] = []
    status = 200
    if request.method == "GET" and form.day.data is None:
        try:
            form.day.data = date.fromisoformat(request.args.get("day", ""))
        except ValueError:
            form.day.data = datetime.now(resource.venue.zone).date()
    if form.validate_on_submit():
        zone = resource.venue.zone
        starts_at = _local_to_utc(form, form.day.data, "start", zone)
        ends_at = _local_to_utc(form, form.day.data, "end", zone)
        if starts_at and ends_at:
            member_id, overrides = _member_and_overrides(form)
            try:
                reservation = book(
                    resource_id=resource.id,
                    member_id=member_id,
                    actor_id=current_user.id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    seats=form.seats.data if "seats" in form else 1,
                    purpose=form.purpose.data or "",
                    overrides=overrides,
                    now=now(),
                )
            except (BookingError, NotAllowedError) as error:
                general, status = _refusal(form, error, BOOKING_FIELDS)
            else:
                if reservation.status == Status.PENDING:
                    flash(_("Request sent. A venue manager will confirm it."), "success")
                else:
                    flash(_("Booked! The slot is yours."), "success")
                return redirect(url_for("reservations.show", reservation_id=reservation.id))
    if request.method == "POST" and status == 200:
        status = 422
    weeks = week_of(db.session, resource.venue, [resource], _first_day(form.day.data, resource))
    page = render_template(
        "reservations/new.html",
        form=form,
        resource=resource,
        general=general,
        week=weeks[0],
        warnings=[] if request.method == "POST" else _warnings(resource),
    )
    return page, status


def _warnings(resource: Resource) -> list[str]:
    """What will stop this person booking, said before they fill the form in."""
    if current_user.is_manager_of(resource.venue):
        return []  # they may book for a member who qualifies
    found = []
    if not current_user.can_book_at(resource.venue):
        found.append(r.Violation("no_role", None, {"venue": resource.venue.name}))
    today = datetime.now(resource.venue.zone).date()
    if resource.qualification and not holds_valid_qualification(
        db.session, current_user.id, resource.qualification_id, today
    ):
        found.append(r.Violation("qualification", None, {"name": resource.qualification.name}))
    return [violation_message(v) for v in found]


@bp.route("/reservations/series/new", methods=["GET", "POST"])
@login_required
def new_series() -> str | Response | tuple[str, int]:
    resource = _bookable_resource()
    form = SeriesForm()
    _configure(form, resource)
    general: list[str] = []
    preview = None
    status = 200
    if request.method == "GET" and form.starts_on.data is None:
        form.starts_on.data = datetime.now(resource.venue.zone).date() + timedelta(days=1)
    if form.validate_on_submit():
        member_id, overrides = _member_and_overrides(form)
        weekdays = tuple(form.weekdays.data or ()) if form.frequency.data == "weekly" else ()
        spec = SeriesRequest(
            resource_id=resource.id,
            member_id=member_id,
            actor_id=current_user.id,
            recurrence=r.Recurrence(
                form.frequency.data,
                form.starts_on.data,
                interval=form.interval.data,
                weekdays=weekdays,
                until=form.until.data,
                count=form.count.data,
            ),
            local_start=form.start.data,
            local_end=form.end.data,
            seats=form.seats.data if "seats" in form else 1,
            purpose=form.purpose.data or "",
            overrides=overrides,
        )
        try:
            if request.form.get("action") == "book":
                result = book_series(spec, now())
                flash(
                    _(
                        "%(booked)d dates booked, %(skipped)d skipped.",
                        booked=len(result.booked),
                        skipped=len(result.skipped),
                    ),
                    "success",
                )
                return redirect(url_for("reservations.mine"))
            preview = preview_series(spec, now())
        except (BookingError, NotAllowedError) as error:
            general, status = _refusal(form, error, {"starts_on": "starts_on"})
    elif request.method == "POST":
        status = 422
    zone = resource.venue.zone
    return (
        render_template(
            "reservations/series.html",
            form=form,
            resource=resource,
            general=general,
            preview=preview,
            zone=zone,
            violation_message=violation_message,
        ),
        status,
    )


def _visible_reservation(reservation_id: int) -> Reservation:
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None or not reservation.can_view(current_user):
        abort(404)
    return reservation


@bp.route("/venues/<slug>/week")
def availability(slug: str) -> str:
    """Free/busy of every resource of a venue for a week: open to everyone, no names."""
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    resources = list(
        db.session.scalars(
            sa.select(Resource)
            .where(Resource.venue_id == venue.id, Resource.is_active)
            .order_by(Resource.name)
            .options(selectinload(Resource.own_opening_periods))
        )
    )
    today = datetime.now(venue.zone).date()
    try:
        first = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        first = today
    if not today - timedelta(days=366) <= first <= today + timedelta(days=3 * 366):
        first = today
    weeks = week_of(db.session, venue, resources, first)
    return render_template(
        "reservations/availability.html",
        venue=venue,
        weeks=weeks,
        first=first,
        last=first + timedelta(days=6),
    )


@bp.route("/reservations/<int:reservation_id>")
@login_required
def show(reservation_id: int) -> str:
    expire_pending(now())
    reservation = _visible_reservation(reservation_id)
    return render_template(
        "reservations/show.html",
        reservation=reservation,
        cancel_form=CancelForm(),
        can_cancel=reservation.can_cancel(current_user, now()),
        can_decide=reservation.can_decide(current_user),
        zone=reservation.resource.venue.zone,
    )


@bp.route("/reservations/<int:reservation_id>/cancel", methods=["POST"], endpoint="cancel")
@login_required
def cancel_view(reservation_id: int) -> Response | tuple[str, int]:
    reservation = _visible_reservation(reservation_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            if form.scope.data == "following" and reservation.series_id:
                cancelled = cancel_series_from(
                    reservation_id, current_user.id, form.reason.data or "", now()
                )
                flash(_("%(count)d dates cancelled.", count=len(cancelled)), "success")
            else:
                cancel(reservation_id, current_user.id, form.reason.data or "", now())
                flash(_("Booking cancelled. The slot is free for others."), "success")
            return redirect(url_for("reservations.show", reservation_id=reservation_id))
        except TransitionError as error:
            form.reason.errors = [*form.reason.errors, transition_message(error)]
        except NotAllowedError:
            abort(403)
    reservation = _visible_reservation(reservation_id)
    page = render_template(
        "reservations/show.html",
        reservation=reservation,
        cancel_form=form,
        can_cancel=reservation.can_cancel(current_user, now()),
        can_decide=reservation.can_decide(current_user),
        zone=reservation.resource.venue.zone,
    )
    return page, 422


@bp.route("/reservations")
@login_required
def mine() -> str:
    current = now()
    expire_pending(current)
    query = (
        sa.select(Reservation)
        .where(Reservation.user_id == current_user.id)
        .options(selectinload(Reservation.resource).selectinload(Resource.venue))
    )
    upcoming = list(
        db.session.scalars(
            query.where(Reservation.ends_at > current).order_by(Reservation.starts_at).limit(200)
        )
    )
    past = list(
        db.session.scalars(
            query.where(Reservation.ends_at <= current)
            .order_by(Reservation.starts_at.desc())
            .limit(50)
        )
    )
    return render_template("reservations/mine.html", upcoming=upcoming, past=past)
