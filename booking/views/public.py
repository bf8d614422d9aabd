"""What anyone can see: the venues, their resources and rules; the language switch.

This blueprint also registers the template filters and globals every page
uses (at the end of this module), since the layout belongs to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import selectinload

from .. import presenters
from ..auth import is_safe_next
from ..extensions import db
from ..models import Resource, Venue

bp = Blueprint("public", __name__)


@bp.route("/")
def home() -> str:
    venues = db.session.scalars(
        sa.select(Venue)
        .where(Venue.is_active)
        .options(
            selectinload(Venue.resources).selectinload(Resource.qualification),
            selectinload(Venue.opening_periods),
        )
        .order_by(Venue.name)
    ).all()
    return render_template("public/home.html", venues=venues)


@bp.route("/venues/<slug>")
def venue(slug: str) -> str:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    today = datetime.now(venue.zone).date()
    resources = venue.active_resources
    names = {r.id: r.name for r in resources}
    closures = presenters.upcoming_closures(venue.closures, today, [None, *names])
    return render_template(
        "public/venue.html",
        venue=venue,
        resources=resources,
        hours=presenters.opening_hours(venue.opening_periods, today),
        closures=closures,
        resource_names=names,
    )


@bp.route("/resources/<slug>")
def resource(slug: str) -> str:
    resource = db.session.scalar(
        sa.select(Resource)
        .join(Resource.venue)
        .where(Resource.slug == slug, Resource.is_active, Venue.is_active)
    )
    if resource is None:
        abort(404)
    venue = resource.venue
    today = datetime.now(venue.zone).date()
    return render_template(
        "public/resource.html",
        resource=resource,
        venue=venue,
        rules=presenters.rules_in_words(resource),
        hours=presenters.opening_hours(resource.opening_periods, today),
        has_own_hours=bool(resource.own_opening_periods),
        closures=presenters.upcoming_closures(venue.closures, today, [None, resource.id]),
    )


@bp.route("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Switch the interface language with a plain link: no JavaScript, no form."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for("public.home"))


def has_endpoint(name: str) -> bool:
    """Whether a view exists, so templates can link to areas built separately."""
    return name in current_app.view_functions


def current_path() -> str:
    """The current path with its query, for ``next=`` links (no trailing "?")."""
    return request.full_path.rstrip("?") if request else "/"


# Globals rather than a context processor: macros imported without context
# (``{% from "_macros/ui.html" import ... %}``) see globals only.
for _helper in (
    has_endpoint,
    current_path,
    presenters.kind_label,
    presenters.opening_hours,
    presenters.hours_today,
):
    bp.add_app_template_global(_helper)
bp.add_app_template_global(presenters.resource_badges, "badges_for")


@bp.app_template_filter("duration")
def duration_filter(minutes: int) -> str:
    return presenters.format_duration(minutes)


@bp.app_template_filter("clock")
def clock_filter(value: Any) -> str:
    return presenters.format_clock(value)


@bp.app_template_filter("day")
def day_filter(value: Any, with_weekday: bool = True) -> str:
    return presenters.format_day(value, with_weekday)


@bp.app_template_filter("weekday")
def weekday_filter(weekday: int) -> str:
    return presenters.weekday_name(weekday)


@bp.app_template_filter("date_range")
def date_range_filter(starts_on: Any, ends_on: Any) -> str:
    return presenters.format_date_range(starts_on, ends_on)
