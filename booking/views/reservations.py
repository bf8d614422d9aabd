"""Members book, see and cancel their reservations; managers book for members."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.reservations import BookingForm, CancelForm, SeriesForm
from ..models import Membership, Reservation, Resource, Status, User
from ..permissions import can_act_for_others, can_cancel, can_change, can_decide, can_view
from ..presentation.formatting import venue_day
from ..presentation.messages import not_allowed_message, transition_message, violation_message
from ..presentation.weeks import week_view
from ..services import (
    BookingError,
    LocalMoment,
    NotAllowedError,
    Occurrence,
    Recurrence,
    SeriesRequest,
    SeriesResult,
    TransitionError,
    book,
    book_series,
    cancel,
    cancel_series_from,
    obstacles,
    preview_series,
)
from ..services.audit import reservation_history
from ..services.availability.week import plans, week_start
from ..services.booking.member_bookings import my_reservations
from ..services.venues.contacts import managers_of
from . import access
from .feeds import member_links, secret_page
from .kit import errors_to_fields, today_at
from .waitlist import NONE, alternatives

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


def _refusal(
    form: BookingForm | SeriesForm, error: BookingError | NotAllowedError, mapping: dict
) -> tuple[list[str], int]:
    """Messages next to the fields, those for no field, and the fitting status."""
    if isinstance(error, NotAllowedError):
        return [not_allowed_message(error)], 403
    general = errors_to_fields(form, error.violations, violation_message, mapping, only_named=True)
    return general, 409 if error.is_conflict else 422


def _member_and_overrides(form: BookingForm | SeriesForm) -> tuple[int, frozenset[str]]:
    if getattr(form, "is_manager", False):
        return form.member.data or current_user.id, frozenset(form.overrides.data or [])
    return current_user.id, frozenset()


def _read_time(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text or "") if len(text or "") == 5 else None
    except ValueError:
        return None


def _prefill(form: BookingForm, values: dict, today: date) -> None:
    """Fill the day, times and seats from a tapped free time or a search result.

    Values come from links and buttons, or from someone typing in the address
    bar: whatever cannot be read is left empty, never an error.
    """
    pick = values.get("pick")
    if pick and len(pick) == 22 and pick[10] == "T" and pick[16] == "/":
        values = {"day": pick[:10], "start": pick[11:16], "end": pick[17:]}
    # raw_data emptied too: a field shows what was posted before what it holds.
    if values.get("day"):
        form.day.data = week_start(values.get("day"), today, days_back=0)
        form.day.raw_data = None
    for field_name in ("start", "end"):
        moment = _read_time(values.get(field_name))
        if moment is not None:
            getattr(form, field_name).data = moment
            getattr(form, field_name).raw_data = None
    if "seats" in form and str(values.get("seats", "")).isdigit():
        form.seats.data = int(values["seats"])
        form.seats.raw_data = None


def _own_booking(error: BookingError | NotAllowedError) -> int | None:
    """The member's own reservation that holds the slot, when that is why it is refused."""
    if isinstance(error, BookingError):
        for violation in error.violations:
            if violation.code == "own_overlap":
                return int(violation.params["reservation_id"])
    return None


@bp.route("/reservations/new", methods=["GET", "POST"])
@access.member
def new() -> str | Response | tuple[str, int]:
    """The booking form, with the resource's week above its fields.

    Other weeks and free times are buttons of the same form: following them
    keeps what was typed (without JavaScript, by posting the form back with
    ``week`` or ``pick`` instead of booking).
    """
    resource = _bookable_resource()
    form = BookingForm()
    _configure(form, resource)
    general: list[str] = []
    own: int | None = None
    status = 200
    now = clock.now()
    today = today_at(resource.venue.zone)
    navigating = request.method == "POST" and bool(
        request.form.get("week") or request.form.get("pick")
    )
    if request.method == "GET":
        _prefill(form, request.args.to_dict(), today)
    elif navigating:
        _prefill(form, request.form.to_dict(), today)
    elif form.validate_on_submit():
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
                now=now,
            )
        except (BookingError, NotAllowedError) as error:
            general, status = _refusal(form, error, BOOKING_FIELDS)
            own = _own_booking(error)
        else:
            if reservation.status == Status.PENDING:
                flash(_("Request sent. A venue manager will confirm it."), "success")
            else:
                flash(_("Booked! The slot is yours."), "success")
            return redirect(url_for("reservations.show", reservation_id=reservation.id))
    if request.method == "POST" and not navigating and status == 200:
        status = 422
    asked_week = request.values.get("week")
    chosen = week_start(form.day.data, today, days_back=0)
    first = week_start(asked_week, today, days_back=0, default=chosen)
    found = plans(db.session, first, now, slug=resource.slug)
    if not found:  # the resource's venue is closed to bookings
        abort(404)
    days = week_view(found[0], today)
    if form.day.data is None:
        # Not a day on which nothing can be booked: the first with a free time.
        form.day.data = next((d.day for d in days if d.has_pick), today)
    blocked: list[str] = []
    contacts: list[tuple[str, str]] = []
    if request.method == "GET" or navigating:
        blocked = [
            violation_message(v)
            for v in obstacles(resource_id=resource.id, user_id=current_user.id, now=now)
        ]
        if blocked:
            contacts = managers_of([resource.venue_id]).get(resource.venue_id, [])
    # Taken: in one place, waiting for it and the nearest free times (views.waitlist).
    conflict = status == 409
    seats = form.seats.data if "seats" in form and isinstance(form.seats.data, int) else 1
    page = render_template(
        "reservations/new.html",
        form=form,
        resource=resource,
        general=general,
        own=own,
        days=days,
        first=first,
        today=today,
        blocked=blocked,
        contacts=contacts,
        conflict=conflict,
        wait_offer=conflict and own is None and _member_and_overrides(form)[0] == current_user.id,
        alternatives=alternatives(resource, form.day.data, form.start.data, form.end.data, seats)
        if conflict
        else NONE,
    )
    return page, status


LEFT_ASIDE_SHOWN = 5


def _flash_left_aside(skipped: list[Occurrence]) -> None:
    """Dates of a series that were not booked, each with its reason: none disappears."""
    for occurrence in skipped[:LEFT_ASIDE_SHOWN]:
        reasons = " ".join(violation_message(v) for v in occurrence.violations)
        flash(
            _("Left aside: %(day)s. %(reasons)s", day=venue_day(occurrence.day), reasons=reasons),
            "warning",
        )
    if len(skipped) > LEFT_ASIDE_SHOWN:
        more = len(skipped) - LEFT_ASIDE_SHOWN
        flash(
            ngettext(
                "And %(num)d other date left aside.", "And %(num)d other dates left aside.", more
            ),
            "warning",
        )


def _carry(form: SeriesForm, values: dict, today: date) -> None:
    """The day, times, seats and purpose chosen on the booking form (posted by its "several
    dates" button, or in a link's query): the series starts from them. What cannot be read
    is left as the form has it."""
    day = values.get("day")
    if day:
        form.starts_on.data = week_start(day, today, days_back=0)
    for name in ("start", "end"):
        moment = _read_time(values.get(name))
        if moment is not None:
            getattr(form, name).data = moment
    if "seats" in form and str(values.get("seats", "")).isdigit():
        form.seats.data = int(values["seats"])
    if values.get("purpose"):
        form.purpose.data = str(values["purpose"])[:500]
    member = str(values.get("member", ""))
    choices = (form.member.choices or []) if "member" in form else []
    if member.isdigit() and any(choice[0] == int(member) for choice in choices):
        form.member.data = int(member)


def _series_done(result: SeriesResult) -> None:
    """What a series did, worded as it is: dates booked, or requests sent (waiting for a
    manager), and each date left aside with its reason."""
    booked, skipped = result.booked, result.skipped
    if any(r.status == Status.PENDING for r in booked):
        done = ngettext(
            "%(num)d request sent. A venue manager will confirm it.",
            "%(num)d requests sent. A venue manager will confirm them.",
            len(booked),
        )
    else:
        done = ngettext("%(num)d date booked.", "%(num)d dates booked.", len(booked))
    if skipped:
        left = ngettext("%(num)d date left aside.", "%(num)d dates left aside.", len(skipped))
        done = f"{done} {left}"
    flash(done, "success")
    _flash_left_aside(skipped)


@bp.route("/reservations/series/new", methods=["GET", "POST"])
@access.member
def new_series() -> str | Response | tuple[str, int]:
    """Several dates at once. Checked first (the page then opens on the dates, with the
    button that books them), booked in one go. The booking form's "several dates" button
    posts its day and times here, so that nothing chosen is typed again."""
    resource = _bookable_resource()
    carried = request.method == "POST" and request.form.get("action") == "series"
    form = SeriesForm(formdata=None) if carried else SeriesForm()
    _configure(form, resource)
    general: list[str] = []
    preview = None
    status = 200
    today = today_at(resource.venue.zone)
    if request.method == "GET" or carried:
        if form.starts_on.data is None:
            form.starts_on.data = today + timedelta(days=1)
        _carry(form, (request.form if carried else request.args).to_dict(), today)
    elif form.validate_on_submit():
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
                _series_done(result)
                return redirect(url_for("reservations.mine"))
            preview = preview_series(spec, clock.now())
        except (BookingError, NotAllowedError) as error:
            general, status = _refusal(form, error, SERIES_FIELDS)
    else:
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


def _show(reservation: Reservation) -> str:
    asked = reservation.pending_change
    return render_template(
        "reservations/show.html",
        reservation=reservation,
        can_cancel=can_cancel(current_user, reservation, clock.now()),
        can_change=can_change(current_user, reservation, clock.now()),
        can_decide=can_decide(current_user, reservation),
        can_decide_change=asked is not None and can_decide(current_user, asked),
        zone=reservation.resource.venue.zone,
        history=reservation_history(db.session, reservation.id),
    )


@bp.route("/reservations/<int:reservation_id>")
@access.member
def show(reservation_id: int) -> str | Response:
    reservation = _visible_reservation(reservation_id)
    if reservation.replaces_id is not None:
        # A pending change is shown on the page of the booking it would move.
        return redirect(url_for("reservations.show", reservation_id=reservation.replaces_id))
    return _show(reservation)


def _cancel_step(reservation: Reservation, form: CancelForm, status: int = 200) -> tuple[str, int]:
    """The page that says what will be cancelled and asks to confirm."""
    now = clock.now()
    later = []
    if reservation.series is not None:
        later = [
            r
            for r in reservation.series.reservations
            if r.starts_at >= reservation.starts_at and r.is_holding and r.ends_at > now
        ]
    page = render_template(
        "reservations/cancel.html",
        reservation=reservation,
        form=form,
        later=later,
        can_cancel=can_cancel(current_user, reservation, now),
        zone=reservation.resource.venue.zone,
    )
    return page, status


@bp.route("/reservations/<int:reservation_id>/cancel", methods=["GET", "POST"], endpoint="cancel")
@access.member
def cancel_view(reservation_id: int) -> Response | tuple[str, int]:
    """Cancelling takes two steps: this page says what will be cancelled, then the member
    confirms (a button alone could be tapped by mistake on a phone)."""
    reservation = _visible_reservation(reservation_id)
    form = CancelForm()
    if request.method == "GET":
        if not can_cancel(current_user, reservation, clock.now()):
            return redirect(url_for("reservations.show", reservation_id=reservation_id))
        return _cancel_step(reservation, form)
    if form.validate_on_submit():
        try:
            if form.scope.data == "following" and reservation.series_id:
                cancelled = cancel_series_from(
                    reservation_id, current_user.id, form.reason.data or "", clock.now()
                )
                flash(
                    ngettext("%(num)d date cancelled.", "%(num)d dates cancelled.", len(cancelled)),
                    "success",
                )
            else:
                cancel(reservation_id, current_user.id, form.reason.data or "", clock.now())
                flash(_("Booking cancelled. The slot is free for others."), "success")
            return redirect(url_for("reservations.show", reservation_id=reservation_id))
        except TransitionError as error:
            form.reason.errors = [*form.reason.errors, transition_message(error)]
        except NotAllowedError:
            abort(403)
    return _cancel_step(_visible_reservation(reservation_id), form, 422)


@bp.route("/reservations")
@access.member
def mine() -> Response:
    """The member's bookings, with their calendar link at hand (not only on the profile)."""
    now = clock.now()
    feed_links = member_links(current_user)
    db.session.commit()  # the link's digest, recorded when first shown
    page = render_template(
        "reservations/mine.html",
        mine=my_reservations(current_user.id, now),
        feed_links=feed_links,
        now=now,
    )
    return secret_page(page)
