"""What anyone can see: the venues, their resources and rules, a venue's week; the language
switch."""

from __future__ import annotations

from datetime import date, datetime, timedelta

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
from flask_login import current_user
from sqlalchemy.orm import joinedload

from .. import clock
from ..extensions import db
from ..forms.places import PlaceForm
from ..forms.search import SearchForm
from ..models import Reservation, Resource, Venue
from ..models import feeds as stamps
from ..presentation import descriptions, fragments
from ..presentation.weeks import Words, week_view
from ..services import reads_only
from ..services.accounts.preferences import save_language
from ..services.availability.week import plans, week_start
from ..services.booking.feeds import stamp_join
from ..services.booking.member_bookings import next_reservations
from ..services.venues.closures import venue_closures
from ..services.venues.directory import Listed, own_venues, venue_page
from . import access
from .access import is_safe_next
from .kit import today_at
from .replica import from_replica

bp = Blueprint("public", __name__)


@bp.route("/")
@access.public
def home() -> tuple[str, int]:
    """Visitors see the network's places a page at a time, found by name or town, with how
    to reach them and what to book; members start with their next bookings and their own
    places, then the others. Never the whole network at once (booking.services.venues.directory)."""
    reads_only()
    asked = "place" in request.args
    form = PlaceForm(formdata=request.args if asked else None)
    status = 200
    words = ""
    if asked:
        if form.validate():
            words = form.place.data or ""
        else:
            status = 422
    upcoming: list[Reservation] = []
    mine: list[Listed] = []
    if current_user.is_authenticated:
        upcoming = next_reservations(current_user.id, clock.now(), limit=3)
        mine = own_venues(db.session, current_user.id)
    places = venue_page(
        db.session,
        words,
        request.args.get("page", 1, type=int),
        excluding=[listed.venue.id for listed in mine],
        with_resources=not mine,
    )
    page = render_template(
        "public/home.html",
        mine=mine,
        places=places,
        place_form=form,
        upcoming=upcoming,
        finder=SearchForm.for_viewer([listed.venue for listed in mine], current_user),
    )
    return page, status


@bp.route("/venues/<slug>")
@access.public
def venue(slug: str) -> str:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    today = today_at(venue.zone)
    resources = venue.active_resources
    names = {r.id: r.name for r in resources}
    closures = descriptions.upcoming_closures(
        venue_closures(db.session, venue.id, clock.now()), clock.now(), [None, *names]
    )
    return render_template(
        "public/venue.html",
        venue=venue,
        resources=resources,
        hours=descriptions.opening_hours(venue.opening_periods, today),
        closures=closures,
        resource_names=names,
    )


# Built once: the pages below are the most visited. Each first reads what its title
# needs and the stamp its kept content depends on (booking.presentation.fragments),
# and loads the rest only when that content has to be rendered again.
_RESOURCE_STAMP, _ON_RESOURCE = stamp_join(stamps.RESOURCE, Resource.id)
_RESOURCE_HEAD = (
    sa.select(Resource.id, Resource.name, Venue.name, Venue.timezone, _RESOURCE_STAMP.version)
    .join(Venue, Venue.id == Resource.venue_id)
    .outerjoin(_RESOURCE_STAMP, _ON_RESOURCE)
    .where(Resource.slug == sa.bindparam("slug"), Resource.is_active, Venue.is_active)
)
_VENUE_STAMP, _ON_VENUE = stamp_join(stamps.VENUE, Venue.id)
_VENUE_HEAD = (
    sa.select(Venue.id, Venue.name, Venue.timezone, _VENUE_STAMP.version)
    .outerjoin(_VENUE_STAMP, _ON_VENUE)
    .where(Venue.slug == sa.bindparam("slug"), Venue.is_active)
)


def _local_today(timezone: str) -> tuple[datetime, date]:
    return clock.now(), today_at(timezone)


@bp.route("/resources/<slug>")
@access.public
@from_replica
def resource(slug: str) -> str:
    reads_only()
    head = db.session.execute(_RESOURCE_HEAD, {"slug": slug}).one_or_none()
    if head is None:
        abort(404)
    resource_id, name, venue_name, timezone, version = head
    now, today = _local_today(timezone)
    first = week_start(request.args.get("week"), today, days_back=0)

    def render() -> str:
        resource = db.session.scalars(
            sa.select(Resource)
            .where(Resource.id == resource_id)
            .options(joinedload(Resource.venue), joinedload(Resource.qualification))
        ).one_or_none()
        found = plans(db.session, first, now, slug=slug)
        if resource is None or not found:
            abort(404)  # retired or removed since the first query
        venue = resource.venue
        (plan,) = found
        # The hours come with the week's facts: the resource's own, or else its venue's.
        return render_template(
            "public/_resource_body.html",
            resource=resource,
            venue=venue,
            rules=descriptions.rules_in_words(resource),
            hours=descriptions.opening_hours(plan.resource.rules.periods, today),
            has_own_hours=plan.resource.own_hours,
            closures=descriptions.upcoming_closures(
                venue_closures(db.session, venue.id, now), now, [None, resource.id]
            ),
            days=week_view(plan, today),
            first=first,
            today=today,
        )

    body = fragments.kept(("resource", resource_id, version, first), now, today, render)
    return render_template(
        "public/resource.html", resource_name=name, venue_name=venue_name, body=body
    )


@bp.route("/venues/<slug>/week")
@access.public
@from_replica
def week(slug: str) -> str:
    """Free/busy of every resource of a venue for a week: open to everyone, no names."""
    reads_only()
    head = db.session.execute(_VENUE_HEAD, {"slug": slug}).one_or_none()
    if head is None:
        abort(404)
    venue_id, venue_name, timezone, version = head
    now, today = _local_today(timezone)
    first = week_start(request.args.get("week"), today)

    def render() -> str:
        words = Words()
        return render_template(
            "public/_week_body.html",
            venue=db.session.get(Venue, venue_id),
            weeks=[
                (plan.resource, week_view(plan, today, words))
                for plan in plans(db.session, first, now, venue_id=venue_id)
            ],
            first=first,
            last=first + timedelta(days=6),
            today=today,
        )

    body = fragments.kept(("week", venue_id, version, first), now, today, render)
    return render_template("public/week.html", venue_name=venue_name, body=body)


@bp.route("/lang/<code>")
@access.public
def set_language(code: str) -> ResponseReturnValue:
    """Switch the interface language with a plain link: no JavaScript, no form."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated and current_user.locale != code:
        # Saved to the profile: e-mails and the next visit speak this language too.
        save_language(current_user.id, code)
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
