"""A venue's overview and its schedule with names, by day or by week, printable."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from flask_login import current_user

from ... import clock
from ...extensions import db
from ...forms.manage import ScheduleForm
from ...services.availability.week import week_start
from ...services.booking.queue import pending_count
from ...services.booking.schedule import venue_schedule
from ...services.venues.closures import venue_closures
from ...services.venues.setup import setup_steps
from ...services.venues.trainings import expiring
from .. import access
from ..kit import today_at
from .common import bp, managed_venue


@bp.route("/venues/<slug>")
@access.manager
def venue(slug: str) -> str:
    """What a venue needs (for a new one) and what needs attention, with the way to each screen."""
    place = managed_venue(slug)
    now = clock.now()
    return render_template(
        "manage/venue.html",
        venue=place,
        steps=setup_steps(db.session, place, now),
        waiting=pending_count(db.session, current_user, place.id),
        closures=venue_closures(db.session, place.id, now)[:3],
        expiring=expiring(db.session, place.id, today_at(place.zone)),
    )


@bp.route("/venues/<slug>/schedule")
@access.manager
def schedule(slug: str) -> str:
    place = managed_venue(slug)
    form = ScheduleForm(request.args)
    today = today_at(place.zone)
    day = week_start(request.args.get("day"), today, days_back=3 * 366)
    by_week = request.args.get("view") == "week"
    form.view.data = "week" if by_week else "day"
    form.day.data = day
    first = day - timedelta(days=day.weekday()) if by_week else day
    step = timedelta(days=7 if by_week else 1)
    return render_template(
        "manage/schedule.html",
        venue=place,
        form=form,
        by_week=by_week,
        day=day,
        today=today,
        previous=first - step,
        following=first + step,
        plan=venue_schedule(db.session, place, first, 7 if by_week else 1),
    )
