"""Members book, see and cancel their reservations; managers book for members."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.reservations import BookingForm, CancelForm, SeriesForm
from ..models import Membership, Reservation, Resource, Status, User
from ..permissions import can_act_for_others, can_cancel, can_decide, can_view
from ..presentation.messages import not_allowed_message, transition_message, violation_message
from ..services import (
    BookingError,
    LocalMoment,
    NotAllowedError,
    Recurrence,
    SeriesRequest,
    TransitionError,
    Violation,
    book,
    book_series,
    cancel,
    cancel_series_from,
    obstacles,
    preview_series,
)
from ..services.audit import reservation_history
from ..services.availability import week_of, week_start
from . import access

bp = Blueprint("reservations", __name__)

BOOKING_FIELDS = {"starts_at": "start", "ends_at": "end", "seats": "seats"}
SERIES_FIELDS = {"starts_on": "starts_on"}


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
    by_manager = can_act_for_others(current_user, resource.venue)
    form.configure(resource, current_user, _venue_members(resource) if by_manager else [])


def _today(resource: Resource) -> date:
    return clock.now().astimezone(resource.venue.zone).date()


def _attach(
    form: BookingForm | SeriesForm, violations: list[Violation], mapping: dict
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
    return general, 409 if error.is_conflict else 422


def _member_and_overrides(form: BookingForm | SeriesForm) -> tuple[int, frozenset[str]]:
    if getattr(form, "is_manager", False):
        return form.member.data or current_user.id, frozenset(form.overrides.data or [])
    return current_user.id, frozenset()


@bp.route("/reservations/new", methods=["GET", "POST"])
@access.member
def new() -> str | Response | tuple[str, int]:
    resource = _bookable_resource()
    form = BookingForm()
    _configure(form, resource)
    general: list[str] = []
    status = 200
    today = _today(resource)
    if request.method == "GET" and form.day.data is None:
        form.day.data = week_start(request.args.get("day"), today, days_back=0)
    if form.validate_on_submit():
        member_id, overrides = _member_and_overrides(form)
        try:
            reservation = book(
                resource_id=resource.id,
                member_id=member_id,
                actor_id=current_user.id,
                starts_at=LocalMoment(form.day.data, form.start.data),
                ends_at=LocalMoment(form.day.data, form.end.data),
                seats=form.seats.data if "seats" in form else 1,
                purpose=form.purpose.data or "",
                overrides=overrides,
                now=clock.now(),
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
    first = week_start(
        request.args.get("week"),
        today,
        days_back=0,
        default=week_start(form.day.data, today, days_back=0),
    )
    warnings: list[str] = []
    if request.method == "GET":
        warnings = [
            violation_message(v)
            for v in obstacles(resource_id=resource.id, user_id=current_user.id, now=clock.now())
        ]
    page = render_template(
        "reservations/new.html",
        form=form,
        resource=resource,
        general=general,
        week=week_of(db.session, resource.venue, [resource], first)[0],
        warnings=warnings,
        conflict=status == 409,
    )
    return page, status


@bp.route("/reservations/series/new", methods=["GET", "POST"])
@access.member
def new_series() -> str | Response | tuple[str, int]:
    resource = _bookable_resource()
    form = SeriesForm()
    _configure(form, resource)
    general: list[str] = []
    preview = None
    status = 200
    if request.method == "GET" and form.starts_on.data is None:
        form.starts_on.data = _today(resource) + timedelta(days=1)
    if form.validate_on_submit():
        member_id, overrides = _member_and_overrides(form)
        weekdays = tuple(form.weekdays.data or ()) if form.frequency.data == "weekly" else ()
        spec = SeriesRequest(
            resource_id=resource.id,
            member_id=member_id,
            actor_id=current_user.id,
            recurrence=Recurrence(
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
                result = book_series(spec, clock.now())
                flash(
                    _(
                        "%(booked)d dates booked, %(skipped)d skipped.",
                        booked=len(result.booked),
                        skipped=len(result.skipped),
                    ),
                    "success",
                )
                return redirect(url_for("reservations.mine"))
            preview = preview_series(spec, clock.now())
        except (BookingError, NotAllowedError) as error:
            general, status = _refusal(form, error, SERIES_FIELDS)
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "reservations/series.html",
            form=form,
            resource=resource,
            general=general,
            preview=preview,
            zone=resource.venue.zone,
            violation_message=violation_message,
        ),
        status,
    )


def _visible_reservation(reservation_id: int) -> Reservation:
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None or not can_view(current_user, reservation):
        abort(404)
    return reservation


def _show(reservation: Reservation, cancel_form: CancelForm) -> str:
    return render_template(
        "reservations/show.html",
        reservation=reservation,
        cancel_form=cancel_form,
        can_cancel=can_cancel(current_user, reservation, clock.now()),
        can_decide=can_decide(current_user, reservation),
        zone=reservation.resource.venue.zone,
        history=reservation_history(db.session, reservation.id),
    )


@bp.route("/reservations/<int:reservation_id>")
@access.member
def show(reservation_id: int) -> str:
    return _show(_visible_reservation(reservation_id), CancelForm())


@bp.route("/reservations/<int:reservation_id>/cancel", methods=["POST"], endpoint="cancel")
@access.member
def cancel_view(reservation_id: int) -> Response | tuple[str, int]:
    reservation = _visible_reservation(reservation_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            if form.scope.data == "following" and reservation.series_id:
                cancelled = cancel_series_from(
                    reservation_id, current_user.id, form.reason.data or "", clock.now()
                )
                flash(_("%(count)d dates cancelled.", count=len(cancelled)), "success")
            else:
                cancel(reservation_id, current_user.id, form.reason.data or "", clock.now())
                flash(_("Booking cancelled. The slot is free for others."), "success")
            return redirect(url_for("reservations.show", reservation_id=reservation_id))
        except TransitionError as error:
            form.reason.errors = [*form.reason.errors, transition_message(error)]
        except NotAllowedError:
            abort(403)
    return _show(_visible_reservation(reservation_id), form), 422


@bp.route("/reservations")
@access.member
def mine() -> str:
    now = clock.now()
    query = (
        sa.select(Reservation)
        .where(Reservation.user_id == current_user.id)
        .options(selectinload(Reservation.resource).selectinload(Resource.venue))
    )
    upcoming = list(
        db.session.scalars(
            query.where(Reservation.ends_at > now).order_by(Reservation.starts_at).limit(200)
        )
    )
    past = list(
        db.session.scalars(
            query.where(Reservation.ends_at <= now).order_by(Reservation.starts_at.desc()).limit(50)
        )
    )
    return render_template("reservations/mine.html", upcoming=upcoming, past=past)
