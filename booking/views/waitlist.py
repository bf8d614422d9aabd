"""The waiting list: be told when a taken slot frees, then book it in one step."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.base import has_control_characters
from ..forms.waitlist import WaitlistBookForm, WaitlistForm
from ..models import Resource, WaitlistEntry, WaitStatus
from ..presentation.messages import not_allowed_message, violation_message
from ..services import BookingError, LocalMoment, NotAllowedError
from ..services.booking import waitlist
from . import access

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
