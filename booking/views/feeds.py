"""iCal feeds over HTTP, the links that subscribe to them, and robots.txt.

Calendar apps fetch feeds from their own servers, with no cookie: feeds need
no login, answer conditional requests cheaply (the ETag comes from one
aggregate query, before any event is built), and keep secret tokens out of
the logs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask.sansio.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload
from werkzeug.http import is_resource_modified

from .. import feeds, ical
from ..extensions import db
from ..models import Reservation, Resource, User, Venue
from ..services import expire_pending

bp = Blueprint("feeds", __name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Calendar clients poll on their own schedule; a short shared cache spares
# the database when many subscribers poll a popular public feed.
PUBLIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, max-age=300"
GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r?cid="


@bp.record_once
def _keep_tokens_out_of_logs(state: BlueprintSetupState) -> None:
    # werkzeug logs each request line; Flask logs the path of a failing request.
    feeds.install_log_filter(logging.getLogger("werkzeug"), state.app.logger)


# --- the feeds ------------------------------------------------------------------------


_PLACEHOLDER_ID = 918273645


def _reservation_urls() -> Callable[[Reservation], str]:
    """Links to reservation pages, routed once rather than once per event."""
    template = _external("reservations.show", reservation_id=_PLACEHOLDER_ID)
    prefix, placeholder, suffix = template.partition(str(_PLACEHOLDER_ID))
    if not placeholder or str(_PLACEHOLDER_ID) in suffix:
        return lambda r: _external("reservations.show", reservation_id=r.id)
    return lambda r: f"{prefix}{r.id}{suffix}"


def _serve(feed: feeds.Feed, now: datetime, cache_control: str) -> Response:
    fingerprint, newest = feed.fingerprint()
    # The body depends on the host its links point to.
    etag = hashlib.sha256(f"{fingerprint}|{request.host_url}".encode()).hexdigest()[:40]
    modified = feeds.last_modified(feed.scope, fingerprint, newest, feed.created_at or now, now)
    if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
        response = Response(status=304)
    else:
        body = ical.calendar(
            feed.info,
            feed.reservations(),
            feed.audience,
            _reservation_urls(),
            empty_as_of=feed.window.starts_at.date(),
        )
        response = Response(body, content_type=CALENDAR_TYPE)
    response.set_etag(etag)
    response.last_modified = modified
    response.headers["Cache-Control"] = cache_control
    return response


def _private(response: Response) -> Response:
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/feeds/resources/<slug>.ics")
def resource(slug: str) -> Response:
    now = feeds.current_time()
    expire_pending(now)
    found = db.session.scalar(
        sa.select(Resource).where(Resource.slug == slug).options(joinedload(Resource.venue))
    )
    if found is None:
        abort(404)
    return _serve(feeds.resource_feed(found, now), now, PUBLIC_CACHE)


@bp.route("/feeds/venues/<slug>.ics")
def venue(slug: str) -> Response:
    now = feeds.current_time()
    expire_pending(now)
    found = db.session.scalar(sa.select(Venue).where(Venue.slug == slug))
    if found is None:
        abort(404)
    return _serve(feeds.venue_feed(found, now), now, PUBLIC_CACHE)


@bp.route("/feeds/u/<token>.ics")
def member(token: str) -> Response:
    now = feeds.current_time()
    user = feeds.user_for_token(token, feeds.MEMBER)
    if user is None:
        abort(404)
    expire_pending(now)
    return _private(_serve(feeds.member_feed(user, now), now, PRIVATE_CACHE))


@bp.route("/feeds/m/<token>.ics")
def manager(token: str) -> Response:
    now = feeds.current_time()
    user = feeds.user_for_token(token, feeds.MANAGER)
    venue_ids = feeds.managed_venue_ids(user) if user is not None else []
    if user is None or not venue_ids:
        abort(404)
    expire_pending(now)
    return _private(_serve(feeds.manager_feed(user, venue_ids, now), now, PRIVATE_CACHE))


@bp.route("/reservations/<int:reservation_id>.ics")
@login_required
def reservation(reservation_id: int) -> Response:
    """One reservation, to add to a calendar by hand: for its member and its managers."""
    now = feeds.current_time()
    expire_pending(now)
    found = db.session.scalar(
        sa.select(Reservation)
        .where(Reservation.id == reservation_id)
        .options(
            joinedload(Reservation.resource).joinedload(Resource.venue),
            joinedload(Reservation.user),
        )
    )
    if found is None or not found.can_view(current_user):
        abort(404)
    audience = ical.Audience.MEMBER if found.user_id == current_user.id else ical.Audience.MANAGER
    body = ical.calendar(feeds.reservation_info(found), [found], audience, _reservation_urls())
    response = Response(body, content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="reservation-{found.id}.ics"'
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    response.last_modified = found.updated_at.replace(microsecond=0)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.route("/feeds/regenerate", methods=["POST"])
@login_required
def regenerate() -> Response:
    user = db.session.get(User, current_user.id)
    feeds.revoke_tokens(user)
    db.session.commit()
    flash(
        _("New calendar links created. The old links no longer work: subscribe again."),
        "success",
    )
    return redirect(url_for("profile.index") + "#calendar-feeds")


@bp.route("/robots.txt")
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


# --- links for templates ----------------------------------------------------------------


def _external(endpoint: str, **values: Any) -> str:
    """An absolute URL, https whenever the site is served or configured so."""
    scheme = request.scheme
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        scheme = "https"
    return url_for(endpoint, _external=True, _scheme=scheme, **values)


def subscribe_links(url: str) -> dict[str, str]:
    """The ways to subscribe to a feed: its URL, webcal:// and Google Calendar."""
    parts = urlsplit(url)
    webcal = urlunsplit(("webcal", *parts[1:]))
    return {
        "url": url,
        "webcal": webcal,
        "google": GOOGLE_SUBSCRIBE + quote(webcal, safe=""),
    }


def _secret_links(kind: str) -> Callable[[], dict[str, str] | None]:
    def links() -> dict[str, str] | None:
        if not current_user.is_authenticated:
            return None
        user = current_user._get_current_object()
        if kind == feeds.MANAGER and not feeds.managed_venue_ids(user):
            return None
        endpoint = "feeds.member" if kind == feeds.MEMBER else "feeds.manager"
        # The page now shows a secret URL: it must not leak through Referer.
        g.shows_secret_feed = True
        return subscribe_links(_external(endpoint, token=feeds.make_token(user, kind)))

    return links


@bp.app_context_processor
def _feed_links() -> dict[str, Any]:
    return {
        "member_feed_links": _secret_links(feeds.MEMBER),
        "manager_feed_links": _secret_links(feeds.MANAGER),
        "resource_feed_links": lambda resource: subscribe_links(
            _external("feeds.resource", slug=resource.slug)
        ),
        "venue_feed_links": lambda venue: subscribe_links(
            _external("feeds.venue", slug=venue.slug)
        ),
    }


@bp.after_app_request
def _no_referrer_on_secret_pages(response: Response) -> Response:
    if g.get("shows_secret_feed"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "private, no-store"
    return response
