"""What anyone can see: the venues, their resources and rules, a venue's week; the language
switch."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
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

from .. import clock
from ..extensions import db
from ..models import Resource, Venue
from ..presentation import descriptions
from ..services.availability import week_of, week_start
from . import access
from .access import is_safe_next

bp = Blueprint("public", __name__)


@bp.route("/")
@access.public
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
@access.public
def venue(slug: str) -> str:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    today = datetime.now(venue.zone).date()
    resources = venue.active_resources
    names = {r.id: r.name for r in resources}
    closures = descriptions.upcoming_closures(venue.closures, clock.now(), [None, *names])
    return render_template(
        "public/venue.html",
        venue=venue,
        resources=resources,
        hours=descriptions.opening_hours(venue.opening_periods, today),
        closures=closures,
        resource_names=names,
    )


@bp.route("/resources/<slug>")
@access.public
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
        rules=descriptions.rules_in_words(resource),
        hours=descriptions.opening_hours(resource.opening_periods, today),
        has_own_hours=bool(resource.own_opening_periods),
        closures=descriptions.upcoming_closures(venue.closures, clock.now(), [None, resource.id]),
    )


@bp.route("/venues/<slug>/week")
@access.public
def week(slug: str) -> str:
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
    first = week_start(request.args.get("week"), today)
    return render_template(
        "public/week.html",
        venue=venue,
        weeks=week_of(db.session, venue, resources, first),
        first=first,
        last=first + timedelta(days=6),
    )


@bp.route("/lang/<code>")
@access.public
def set_language(code: str) -> ResponseReturnValue:
    """Switch the interface language with a plain link: no JavaScript, no form."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for("public.home"))


@bp.route("/robots.txt")
@access.public
def robots() -> Response:
    # Calendar services (Google's among them) honour robots.txt when they
    # fetch a subscribed feed: /feeds/ must stay open to them.
    lines = [
        "User-agent: *",
        "Allow: /feeds/",
        "Disallow: /login",
        "Disallow: /profile",
        "Disallow: /manage/",
        "Disallow: /admin/",
        "",
    ]
    response = Response("\n".join(lines), content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
