"""The waiting list: be told when a taken slot frees, then book it in one step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.base import has_control_characters
from ..forms.waitlist import WaitForm, WaitlistBookForm, WaitlistForm
from ..localtime import to_utc_or_none
from ..models import Resource, WaitlistEntry, WaitStatus
from ..presentation.messages import not_allowed_message, violation_message
from ..presentation.nearby import NearbyTime, nearby_times
from ..services import BookingError, LocalMoment, NotAllowedError
from ..services.availability.nearby import nearest_free
from ..services.availability.week import week_start
from ..services.booking import waitlist
from . import access
from .kit import today_at

bp = Blueprint("waitlist", __name__, url_prefix="/waitlist")


@bp.route("", methods=["POST"])
@access.member
def join() -> ResponseReturnValue:
    form = WaitlistForm()
    resource = None
    if form.resource.data and not has_control_characters(form.resource.data):
        resource = db.session.scalar(
            sa.select(Resource).where(Resource.slug == form.resource.data, Resource.is_active)
        )
    if resource is None:
        abort(404)
    if not form.validate_on_submit():
        flash(_("This slot could not be read. Choose it again on the booking form."), "error")
        return redirect(url_for("reservations.new", resource=resource.slug))
    day = form.day.data
    try:
        joined = waitlist.join(
            user_id=current_user.id,
            resource_id=resource.id,
            starts_at=LocalMoment(day, form.start.data),
            ends_at=LocalMoment(day, form.end.data),
            seats=form.seats.data or 1,
            now=clock.now(),
            purpose=form.purpose.data or "",
        )
    except waitlist.WaitlistError as error:
        if error.code == "free":
            flash(_("Good news: this slot is free now. Book it below."), "success")
            return redirect(url_for("reservations.new", resource=resource.slug, day=day))
        if error.violation is not None:
            flash(violation_message(error.violation), "error")
        else:
            flash(_("This time has already passed. Choose a time to come."), "error")
        return redirect(url_for("reservations.new", resource=resource.slug, day=day))
    except NotAllowedError as error:
        flash(not_allowed_message(error), "error")
        return redirect(url_for("public.resource", slug=resource.slug))
    if joined.already:
        flash(_("You are already on the waiting list for this slot."), "info")
    else:
        flash(_("Noted: we will e-mail you if this slot frees."), "success")
    return redirect(url_for("waitlist.index"))


@bp.route("")
@access.member
def index() -> ResponseReturnValue:
    entries = waitlist.waiting_for(current_user.id, clock.now())
    return render_template("waitlist/index.html", entries=entries)


def _own_entry(entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    return entry


@bp.route("/<int:entry_id>/withdraw", methods=["POST"])
@access.member
def withdraw(entry_id: int) -> ResponseReturnValue:
    _own_entry(entry_id)
    waitlist.withdraw(entry_id, current_user.id)
    flash(_("You are no longer waiting for this slot."), "success")
    return redirect(url_for("waitlist.index"))


@bp.route("/<int:entry_id>/book", methods=["GET", "POST"])
@access.member
def book(entry_id: int) -> ResponseReturnValue:
    entry = _own_entry(entry_id)
    now = clock.now()
    form = WaitlistBookForm()
    problems: list[str] = []
    status = 200
    if entry.status == WaitStatus.BOOKED and entry.reservation_id:
        return redirect(url_for("reservations.show", reservation_id=entry.reservation_id))
    if form.validate_on_submit():
        try:
            reservation = waitlist.book_entry(
                entry.id, current_user.id, form.purpose.data or "", now
            )
        except BookingError as error:
            problems = [violation_message(v) for v in error.violations]
            status = 409 if error.is_conflict else 422
        except NotAllowedError as error:
            problems, status = [not_allowed_message(error)], 403
        else:
            flash(_("Booked! The slot is yours."), "success")
            return redirect(url_for("reservations.show", reservation_id=reservation.id))
    elif form.is_submitted():
        status = 422
    else:
        form.purpose.data = entry.purpose  # what they said it was for when they asked
    db.session.refresh(entry)
    free = (
        entry.status == WaitStatus.WAITING
        and entry.ends_at > now
        and waitlist.is_free(db.session, entry)
    )
    return render_template(
        "waitlist/book.html",
        entry=entry,
        form=form,
        free=free,
        passed=entry.starts_at <= now,
        problems=problems,
        zone=entry.resource.venue.zone,
    ), status


# --- a taken time, tapped on a week ------------------------------------------------------


@dataclass(frozen=True)
class Alternatives:
    """The free times nearest to a taken one: of the resource, then of those like it."""

    same: list[NearbyTime]
    similar: list[NearbyTime]

    def __bool__(self) -> bool:
        return bool(self.same or self.similar)


NONE = Alternatives([], [])


def alternatives(
    resource: Resource, day: date | None, start: time | None, end: time | None, seats: int
) -> Alternatives:
    """The nearest free times the member may book instead of the taken slot asked for
    (none when the slot cannot be read)."""
    if day is None or start is None or end is None:
        return NONE
    zone = resource.venue.zone
    starts_at = to_utc_or_none(datetime.combine(day, start), zone)
    ends_at = to_utc_or_none(datetime.combine(day, end), zone)
    if starts_at is None or ends_at is None:
        return NONE
    found = nearest_free(
        db.session,
        resource_id=resource.id,
        venue_id=resource.venue_id,
        starts_at=starts_at,
        ends_at=ends_at,
        seats=max(1, min(seats, resource.capacity)),
        user_id=current_user.id,
        now=clock.now(),
    )
    return Alternatives(*nearby_times(found))


def _read_time(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text or "") if len(text or "") == 5 else None
    except ValueError:
        return None


def _prefill(form: WaitForm, values: dict[str, str], today: date) -> None:
    """The slot from a taken time tapped on a week (its link's query, or the booking
    form's button ``wait``): what cannot be read is left empty, never an error."""
    wait = values.get("wait", "")
    if len(wait) == 22 and wait[10] == "T" and wait[16] == "/":
        values = {**values, "day": wait[:10], "start": wait[11:16], "end": wait[17:]}
    # raw_data emptied too: a field shows what was posted before what it holds.
    if values.get("day"):
        form.day.data = week_start(values.get("day"), today, days_back=0)
        form.day.raw_data = None
    for name in ("start", "end"):
        moment = _read_time(values.get(name))
        if moment is not None:
            getattr(form, name).data = moment
            getattr(form, name).raw_data = None
    if "seats" in form and str(values.get("seats", "")).isdigit():
        form.seats.data = int(values["seats"])
        form.seats.raw_data = None


def _waited_resource() -> Resource:
    slug = request.args.get("resource", "")
    resource = db.session.scalar(
        sa.select(Resource).where(Resource.slug == slug, Resource.is_active)
    )
    if resource is None:
        abort(404)
    return resource


@bp.route("/new", methods=["GET", "POST"])
@access.member
def new() -> ResponseReturnValue:
    """A taken (or partly taken) time tapped on a week: the slot filled in, one tap to be
    told when it frees, and the nearest free times to book instead.

    The booking form's taken times post that form here (``wait``): what the member typed
    it is for comes along, and stays with the waiting-list entry."""
    resource = _waited_resource()
    form = WaitForm()
    form.configure(resource)
    today = today_at(resource.venue.zone)
    status = 200
    general: list[str] = []
    filling = request.method == "GET" or bool(request.form.get("wait"))
    if filling:
        values = request.args.to_dict() if request.method == "GET" else request.form.to_dict()
        _prefill(form, values, today)
    elif form.validate_on_submit():
        day = form.day.data
        seats = form.seats.data if "seats" in form else 1
        try:
            joined = waitlist.join(
                user_id=current_user.id,
                resource_id=resource.id,
                starts_at=LocalMoment(day, form.start.data),
                ends_at=LocalMoment(day, form.end.data),
                seats=seats or 1,
                now=clock.now(),
                purpose=form.purpose.data or "",
            )
        except waitlist.WaitlistError as error:
            if error.code == "free":
                flash(_("Good news: this slot is free now. Book it below."), "success")
                return redirect(
                    url_for(
                        "reservations.new",
                        resource=resource.slug,
                        day=day.isoformat(),
                        start=form.start.data.strftime("%H:%M"),
                        end=form.end.data.strftime("%H:%M"),
                        seats=seats,
                    )
                    + "#your-slot"
                )
            if error.violation is not None:
                field = form.start if error.violation.field == "starts_at" else form.end
                field.errors = [*field.errors, violation_message(error.violation)]
            else:
                form.start.errors = [
                    *form.start.errors,
                    _("This time has already passed. Choose a time to come."),
                ]
            status = 422
        except NotAllowedError as error:
            general, status = [not_allowed_message(error)], 403
        else:
            if joined.already:
                flash(_("You are already on the waiting list for this slot."), "info")
            else:
                flash(_("Noted: we will e-mail you if this slot frees."), "success")
            return redirect(url_for("waitlist.index"))
    else:
        status = 422
    seats_asked = form.seats.data if "seats" in form and isinstance(form.seats.data, int) else 1
    offered = (
        alternatives(resource, form.day.data, form.start.data, form.end.data, seats_asked)
        if not form.errors and status != 403
        else NONE
    )
    page = render_template(
        "waitlist/new.html",
        resource=resource,
        form=form,
        general=general,
        alternatives=offered,
    )
    return page, status
