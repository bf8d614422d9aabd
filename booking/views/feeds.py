"""iCal feeds over HTTP, and the links that subscribe to them.

Calendar apps fetch feeds from their own servers, with no cookie: feeds need
no login and answer an unchanged feed (304) from one indexed query. What a
feed contains is ``booking.services.booking.feeds``; its name and bytes are
``booking.presentation``; secret tokens are ``booking.security``.
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
    make_response,
    redirect,
    request,
    url_for,
)
from flask.sansio.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.http import is_resource_modified

from .. import clock
from ..extensions import db
from ..models import Audience, Reservation, Resource, User
from ..permissions import can_manage_any, can_view
from ..presentation import calendars, ical
from ..security import logmask, tokens
from ..services import reading_replica
from ..services.booking import feeds
from . import access
from .replica import ReplicaBehindError, from_replica

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
    logmask.install_log_filter(logging.getLogger("werkzeug"), state.app.logger)


_PLACEHOLDER_ID = 918273645


def _reservation_urls() -> Callable[[Reservation], str]:
    """Links to reservation pages, routed once rather than once per event."""
    template = external_url("reservations.show", reservation_id=_PLACEHOLDER_ID)
    prefix, placeholder, suffix = template.partition(str(_PLACEHOLDER_ID))
    if not placeholder or str(_PLACEHOLDER_ID) in suffix:
        return lambda r: external_url("reservations.show", reservation_id=r.id)
    return lambda r: f"{prefix}{r.id}{suffix}"


def _serve(feed: feeds.Feed | None, now: datetime, cache_control: str) -> Response:
    if feed is None:
        abort(404)
    info = calendars.feed_info(feed)
    # The body depends on the host its links point to, and on the site's name.
    etag = feed.etag(request.host_url, info, current_app.config.get("SITE_NAME"))
    modified = feed.last_modified(now)
    if reading_replica() and _client_may_be_ahead(etag, modified):
        raise ReplicaBehindError
    if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
        response = Response(status=304)
    else:
        body = ical.calendar(
            info,
            feed.reservations(),
            feed.audience,
            _reservation_urls(),
            empty_as_of=feed.window.starts_at.date(),
            closures=feed.closures(),
        )
        response = Response(body, content_type=CALENDAR_TYPE)
    response.set_etag(etag)
    response.last_modified = modified
    response.headers["Cache-Control"] = cache_control
    if feed.audience != Audience.PUBLIC:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _client_may_be_ahead(etag: str, modified: datetime) -> bool:
    """Whether the client may hold a newer copy than this one (read from a replica that
    lags): answering it would take the feed's Last-Modified backwards. Its copy is not
    newer when it is this one (its ETag), or older than this one (its date)."""
    held = request.if_none_match
    since = request.if_modified_since
    if not held and since is None:
        return False  # no copy: a first fetch
    if held.contains(etag):
        return False
    older = since is not None and (modified > since or (not held and modified == since))
    return not older


@bp.route("/feeds/resources/<slug>.ics")
@access.public
@from_replica
def resource(slug: str) -> Response:
    now = clock.now()
    return _serve(feeds.resource_feed(slug, now, current_app.config), now, PUBLIC_CACHE)


@bp.route("/feeds/venues/<slug>.ics")
@access.public
@from_replica
def venue(slug: str) -> Response:
    now = clock.now()
    return _serve(feeds.venue_feed(slug, now, current_app.config), now, PUBLIC_CACHE)


@bp.route("/feeds/u/<token>.ics")
@access.secret_link
def member(token: str) -> Response:
    now = clock.now()
    return _serve(feeds.member_feed(token, now, current_app.config), now, PRIVATE_CACHE)


@bp.route("/feeds/m/<token>.ics")
@access.secret_link
def manager(token: str) -> Response:
    now = clock.now()
    return _serve(feeds.manager_feed(token, now, current_app.config), now, PRIVATE_CACHE)


@bp.route("/reservations/<int:reservation_id>.ics")
@access.member
def reservation(reservation_id: int) -> Response:
    """One reservation, to add to a calendar by hand: for its member and its managers."""
    found = db.session.scalar(
        sa.select(Reservation)
        .where(Reservation.id == reservation_id)
        .options(
            joinedload(Reservation.resource).joinedload(Resource.venue),
            joinedload(Reservation.user),
        )
    )
    if found is None or not can_view(current_user, found):
        abort(404)
    audience = Audience.MEMBER if found.user_id == current_user.id else Audience.MANAGER
    body = ical.calendar(calendars.reservation_info(found), [found], audience, _reservation_urls())
    response = Response(body, content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="reservation-{found.id}.ics"'
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    response.last_modified = found.updated_at.replace(microsecond=0)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.route("/feeds/regenerate", methods=["POST"])
@access.member
def regenerate() -> Response:
    user = db.session.get(User, current_user.id)
    tokens.revoke_tokens(user)
    db.session.commit()
    flash(
        _("New calendar links created. The old links no longer work: subscribe again."),
        "success",
    )
    return redirect(url_for("profile.index") + "#calendar-feeds")


# --- links for pages --------------------------------------------------------------------


def external_url(endpoint: str, **values: Any) -> str:
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


def member_links(user: User) -> dict[str, str]:
    """The ways to subscribe to the member's own feed (a secret link: see ``secret_links``)."""
    return subscribe_links(
        external_url("feeds.member", token=tokens.make_token(user, tokens.MEMBER))
    )


def secret_links(user: User) -> dict[str, dict[str, str] | None]:
    """The member's own feed links, and the manager feed's when they manage a venue.

    A page that shows these must not leak them through Referer nor keep them
    in a shared cache: see ``protect_secret_page``; the caller commits (the links'
    digests are recorded when first shown).
    """
    manager_links = None
    if can_manage_any(user):
        manager_url = external_url("feeds.manager", token=tokens.make_token(user, tokens.MANAGER))
        manager_links = subscribe_links(manager_url)
    return {"member": member_links(user), "manager": manager_links}


def protect_secret_page(response: Response) -> Response:
    """No other site learns anything from this page, and no shared cache keeps it.

    ``same-origin`` rather than ``no-referrer``: the page's own forms (new
    links, password) must send their Referer, which CSRF protection checks
    over HTTPS; other sites, Google's included, get none.
    """
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def secret_page(html: str, status: int = 200) -> Response:
    """A page that shows a secret link, answered as ``protect_secret_page`` says."""
    return protect_secret_page(make_response(html, status))


@bp.app_context_processor
def _public_feed_links() -> dict[str, Any]:
    return {
        "resource_feed_links": lambda resource: subscribe_links(
            external_url("feeds.resource", slug=resource.slug)
        ),
        "venue_feed_links": lambda venue: subscribe_links(
            external_url("feeds.venue", slug=venue.slug)
        ),
    }
