"""Changing a booking instead of cancelling it: its member, or a manager of its venue."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.changes import ChangeForm
from ..models import Reservation
from ..permissions import can_change, can_view
from ..presentation.formatting import venue_day
from ..presentation.messages import not_allowed_message, transition_message, violation_message
from ..services import (
    BookingError,
    ChangeRequest,
    Following,
    LocalMoment,
    NotAllowedError,
    Outcome,
    TransitionError,
    change,
    change_following,
    obstacles,
    preview_following,
    withdraw_change,
)
from ..services.venues.contacts import managers_of
from . import access
from .kit import errors_to_fields

bp = Blueprint("changes", __name__)

FIELDS = {
    "starts_at": "start",
    "ends_at": "end",
    "seats": "seats",
    "reason": "reason",
    "day": "day",
}
LEFT_ASIDE_SHOWN = 5


def _booking(reservation_id: int) -> Reservation:
    """The booking asked for, if this person may see it; a pending change stands for the
    booking it would move."""
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None or not can_view(current_user, reservation):
        abort(404)
    return reservation.replaces or reservation


def _later(reservation: Reservation) -> int:
    """How many later dates of its series could move with it."""
    if reservation.series is None:
        return 0
    return sum(
        1
        for r in reservation.series.reservations
        if r.starts_at > reservation.starts_at and r.is_holding
    )


def _fill(form: ChangeForm, reservation: Reservation) -> None:
    """The form as the booking is, or as its pending change asks."""
    shown = reservation.pending_change or reservation
    zone = reservation.resource.venue.zone
    start, end = shown.starts_at.astimezone(zone), shown.ends_at.astimezone(zone)
    form.day.data = start.date()
    form.start.data = start.time()
    form.end.data = end.time()
    if "seats" in form:
        form.seats.data = shown.seats
    form.purpose.data = shown.purpose


def _request(form: ChangeForm, reservation: Reservation) -> ChangeRequest:
    day = form.day.data
    assert day is not None and form.start.data is not None and form.end.data is not None
    return ChangeRequest(
        reservation_id=reservation.id,
        actor_id=current_user.id,
        starts_at=LocalMoment(day, form.start.data),
        ends_at=LocalMoment(day, form.end.data),
        seats=form.seats.data if "seats" in form else None,
        purpose=form.purpose.data or "",
        reason=(form.reason.data or "") if "reason" in form else "",
        overrides=frozenset(form.overrides.data or []) if "overrides" in form else frozenset(),
    )


def _said_done(outcome: Outcome, for_someone: bool) -> str:
    if outcome == Outcome.ASKED:
        return _(
            "Change sent. A venue manager will confirm it; your booking keeps its slot meanwhile."
        )
    if outcome == Outcome.REQUEST_CHANGED:
        return _("Request changed. A venue manager will confirm it.")
    if for_someone:
        return _("Booking changed. The member will read your reason.")
    return _("Booking changed. The new time is in your calendar e-mail.")


def _flash_following(result: Following, zone: ZoneInfo) -> None:
    moved = result.count(Outcome.MOVED)
    asked = result.count(Outcome.ASKED)
    requests = result.count(Outcome.REQUEST_CHANGED)
    if moved:
        flash(ngettext("%(num)d date changed.", "%(num)d dates changed.", moved), "success")
    if asked:
        flash(
            ngettext(
                "%(num)d change sent: a venue manager will confirm it.",
                "%(num)d changes sent: a venue manager will confirm them.",
                asked,
            ),
            "success",
        )
    if requests:
        flash(
            ngettext("%(num)d request changed.", "%(num)d requests changed.", requests), "success"
        )
    for move in result.left_aside[:LEFT_ASIDE_SHOWN]:
        reasons = " ".join(violation_message(v) for v in move.violations)
        flash(
            _(
                "Left as it was: %(day)s. %(reasons)s",
                day=venue_day(move.was_starts_at.astimezone(zone).date()),
                reasons=reasons,
            ),
            "warning",
        )
    more = len(result.left_aside) - LEFT_ASIDE_SHOWN
    if more > 0:
        flash(
            ngettext(
                "And %(num)d other date left as it was.",
                "And %(num)d other dates left as they were.",
                more,
            ),
            "warning",
        )


@bp.route("/reservations/<int:reservation_id>/change", methods=["GET", "POST"])
@access.member
def edit(reservation_id: int) -> Response | tuple[str, int]:
    """Change a booking: this date, or with every later date of its series (checked first,
    like a new series, then moved in one go)."""
    reservation = _booking(reservation_id)
    if reservation.id != reservation_id:
        return redirect(url_for("changes.edit", reservation_id=reservation.id))
    now = clock.now()
    if not can_change(current_user, reservation, now):
        return redirect(url_for("reservations.show", reservation_id=reservation.id))
    later = _later(reservation)
    form = ChangeForm()
    form.configure(reservation, current_user, later)
    general: list[str] = []
    preview: Following | None = None
    status = 200
    following = "scope" in form and form.scope.data == "following"
    if request.method == "GET":
        _fill(form, reservation)
    elif form.validate_on_submit():
        wanted = _request(form, reservation)
        try:
            if following and request.form.get("action") == "preview":
                preview = preview_following(wanted, now)
            elif following:
                _flash_following(change_following(wanted, now), reservation.resource.venue.zone)
                return redirect(url_for("reservations.show", reservation_id=reservation.id))
            else:
                done = change(wanted, now)
                flash(_said_done(done.outcome, form.for_someone), "success")
                return redirect(url_for("reservations.show", reservation_id=reservation.id))
        except BookingError as error:
            general = errors_to_fields(form, error.violations, violation_message, FIELDS)
            status = 409 if error.is_conflict else 422
        except TransitionError as error:
            general, status = [transition_message(error)], 409
        except NotAllowedError as error:
            general, status = [not_allowed_message(error)], 403
    else:
        status = 422
    blocked: list[str] = []
    contacts: list[tuple[str, str]] = []
    if request.method == "GET":
        blocked = [
            violation_message(v)
            for v in obstacles(
                resource_id=reservation.resource_id, user_id=current_user.id, now=now
            )
        ]
        if blocked:
            venue_id = reservation.resource.venue_id
            contacts = managers_of([venue_id]).get(venue_id, [])
    page = render_template(
        "reservations/change.html",
        reservation=reservation,
        form=form,
        general=general,
        preview=preview,
        later=later,
        blocked=blocked,
        contacts=contacts,
        zone=reservation.resource.venue.zone,
        violation_message=violation_message,
    )
    return page, status


@bp.route("/reservations/<int:reservation_id>/change/withdraw", methods=["POST"])
@access.member
def withdraw(reservation_id: int) -> Response:
    """Withdraw the change a booking waits for: the booking stays as it is."""
    # CSRFProtect has already checked the token of this POST-only button.
    reservation = _booking(reservation_id)
    try:
        withdraw_change(reservation.id, current_user.id, clock.now())
    except TransitionError as error:
        flash(transition_message(error), "error")
    except NotAllowedError:
        abort(404)
    else:
        flash(_("Change withdrawn. Your booking stays as it was."), "success")
    return redirect(url_for("reservations.show", reservation_id=reservation.id))
