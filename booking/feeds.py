"""iCal feeds: secret tokens, what each feed contains, and when it last changed.

HTTP lives in ``booking.views.feeds``, serialisation in ``booking.ical``.

Tokens. A private feed URL carries ``base64url(HMAC ‖ user id)``: the HMAC of
the user id, the kind of feed and the user's ``feed_token_version`` under the
application's secret key, 160 bits of it. Nothing secret is stored, so the
profile page can show the link again at any time; bumping the version
revokes every link handed out so far. Changing SECRET_KEY changes every link
too, which is why the key is kept in ``instance/secret_key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from .database import write_transaction
from .extensions import db
from .ical import FEED_LOCALE, Audience, CalendarInfo
from .models import (
    HOLDING_STATUSES,
    FeedState,
    Reservation,
    Resource,
    Role,
    Status,
    User,
    Venue,
    utcnow,
)
from .models.users import Membership

# Bump when the feed's format changes, so that clients holding an old ETag
# fetch the new body.
FORMAT_VERSION = "1"

MEMBER = "u"
MANAGER = "m"
_KINDS = (MEMBER, MANAGER)
_MAC_BYTES = 20  # 160 bits of secret
_ID = struct.Struct(">I")
TOKEN_LENGTH = 32  # base64 of 4 + 20 bytes, no padding
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")

# Statuses a private feed keeps for a while after they stop holding a slot.
ENDED_STATUSES = (Status.CANCELLED, Status.REFUSED, Status.EXPIRED)


def current_time() -> datetime:
    """The feeds' clock (tests set it to the days around a DST change)."""
    return utcnow()


# --- tokens ---------------------------------------------------------------------


def _key() -> bytes:
    key = current_app.config.get("FEED_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def _mac(kind: str, user_id: int, version: int) -> bytes:
    message = f"booking.feed-token\x00{kind}\x00{user_id}\x00{version}".encode()
    return hmac.new(_key(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(user: User, kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(kind)
    # The MAC first: links look random from their first character.
    raw = _mac(kind, user.id, user.feed_token_version) + _ID.pack(user.id)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def user_for_token(token: str, kind: str) -> User | None:
    """The active user whose current token this is, else None."""
    if kind not in _KINDS or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    mac, (user_id,) = raw[:_MAC_BYTES], _ID.unpack(raw[_MAC_BYTES:])
    user = db.session.get(User, user_id)
    # Compare even when there is no such user, so that timing tells nothing.
    version = user.feed_token_version if user is not None else 0
    valid = hmac.compare_digest(mac, _mac(kind, user_id, version))
    if not valid or user is None or not user.active:
        return None
    return user


def revoke_tokens(user: User) -> None:
    """Every feed URL handed out to ``user`` so far stops working (caller commits)."""
    user.feed_token_version += 1


# --- secret paths out of logs ---------------------------------------------------------

_SECRET_PATH_RE = re.compile(r"(/feeds/[um]/)[^/\s.?\"']+")


def mask_secret_paths(text: str) -> str:
    return _SECRET_PATH_RE.sub(r"\1[secret]", text)


class SecretPathFilter(logging.Filter):
    """Masks feed tokens in log records (werkzeug's access log, Flask's errors)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/feeds/" in record.msg:
            record.msg = mask_secret_paths(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: _mask_arg(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_mask_arg(a) for a in record.args)
        return True


def _mask_arg(value: Any) -> Any:
    return mask_secret_paths(value) if isinstance(value, str) and "/feeds/" in value else value


_FILTER = SecretPathFilter()


def install_log_filter(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


# --- what a feed contains ----------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The days a feed reaches, by whole UTC days so that it moves once a day."""

    starts_at: datetime
    ends_at: datetime
    ended_since: datetime  # cancelled and refused ones changed since then stay

    @classmethod
    def around(cls, now: datetime) -> Window:
        config = current_app.config
        today = now.astimezone(UTC).date()

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=UTC)

        return cls(
            starts_at=midnight(today - timedelta(days=config["FEED_DAYS_BACK"])),
            ends_at=midnight(today + timedelta(days=config["FEED_DAYS_AHEAD"] + 1)),
            ended_since=midnight(today - timedelta(days=config["FEED_KEEP_CANCELLED_DAYS"])),
        )


@dataclass
class Feed:
    """One feed: whose reservations, seen by whom, under which name."""

    scope: str  # FeedState key
    audience: Audience
    info: CalendarInfo
    window: Window
    conditions: list[Any] = field(default_factory=list)
    # What the feed shows besides reservations (names, time zone), for the ETag.
    identity: tuple[Any, ...] = ()
    created_at: datetime | None = None

    @property
    def keeps_ended(self) -> bool:
        return self.audience != Audience.PUBLIC

    def where(self) -> list[Any]:
        window = self.window
        in_window = [
            Reservation.ends_at > window.starts_at,
            Reservation.starts_at < window.ends_at,
        ]
        if self.keeps_ended:
            shown = sa.or_(
                Reservation.status.in_(HOLDING_STATUSES),
                sa.and_(
                    Reservation.status.in_(ENDED_STATUSES),
                    Reservation.updated_at >= window.ended_since,
                ),
            )
        else:
            shown = Reservation.status.in_(HOLDING_STATUSES)
        return [*self.conditions, *in_window, shown]

    def reservations(self) -> list[Reservation]:
        """The reservations of the feed, with everything an event shows, in one query."""
        query = (
            sa.select(Reservation)
            .where(*self.where())
            .options(
                joinedload(Reservation.resource).joinedload(Resource.venue),
                joinedload(Reservation.user),
            )
            .order_by(Reservation.starts_at, Reservation.id)
        )
        return list(db.session.scalars(query).unique())

    def fingerprint(self) -> tuple[str, datetime | None]:
        """A digest of everything the body depends on, and its newest change.

        Cheap enough to answer a conditional request without building the
        body: one aggregate over the reservations' index (no join), then the
        names that events show, by primary key. Every change that a calendar
        shows bumps a reservation's sequence and updated_at
        (booking.services); a reservation leaving or joining the feed changes
        the count and the sum of ids.
        """
        keys: list[Any] = [Reservation.resource_id]
        if self.audience == Audience.MANAGER:
            keys.append(Reservation.user_id)
        rows = db.session.execute(
            sa.select(
                *keys,
                sa.func.count(Reservation.id),
                sa.func.sum(Reservation.id),
                sa.func.sum(Reservation.sequence),
                sa.func.max(Reservation.updated_at),
            )
            .where(*self.where())
            .group_by(*keys)
            .order_by(*keys)
        ).all()
        digest = hashlib.sha256()
        for part in (
            FORMAT_VERSION,
            self.scope,
            self.audience.value,
            self.info,
            self.identity,
            self.window,
            current_app.config.get("SITE_NAME"),
        ):
            digest.update(repr(part).encode())
        for row in rows:
            digest.update(repr(tuple(row)).encode())
        resource_ids = sorted({row[0] for row in rows})
        if resource_ids:
            names = db.session.execute(
                sa.select(
                    Resource.id, Resource.name, Resource.show_purpose, Venue.name, Venue.address
                )
                .join(Venue, Resource.venue_id == Venue.id)
                .where(Resource.id.in_(resource_ids))
                .order_by(Resource.id)
            )
            digest.update(repr([tuple(row) for row in names]).encode())
        if self.audience == Audience.MANAGER and rows:
            people = db.session.execute(
                sa.select(User.id, User.display_name, User.email)
                .where(User.id.in_(sorted({row[1] for row in rows})))
                .order_by(User.id)
            )
            digest.update(repr([tuple(row) for row in people]).encode())
        newest = max((row[-1] for row in rows), default=None)
        return digest.hexdigest(), newest


def last_modified(
    scope: str, fingerprint: str, newest: datetime | None, fallback: datetime, now: datetime
) -> datetime:
    """When the feed last changed, never earlier than what was announced before.

    A feed whose fingerprint changed while its newest reservation did not
    move forward (something left it) is dated ``now``.
    """
    # Never later than now: HTTP forbids a Last-Modified after the response's
    # Date, and a reservation may carry a date ahead of the clock (demo data).
    candidate = min(_second(newest or fallback), _second(now))
    state = db.session.get(FeedState, scope)
    if state is not None and state.fingerprint == fingerprint:
        return state.last_modified
    # The feed changed: record it under the write lock (SQLite: BEGIN
    # IMMEDIATE waits its turn instead of failing on a stale read snapshot),
    # reading the state again in case another request recorded it meanwhile.
    try:
        with write_transaction() as session:
            state = session.get(FeedState, scope, populate_existing=True)
            if state is None:
                state = FeedState(scope=scope, fingerprint=fingerprint, last_modified=candidate)
                session.add(state)
            elif state.fingerprint != fingerprint:
                previous = state.last_modified
                moved = candidate if candidate > previous else max(_second(now), previous)
                state.fingerprint = fingerprint
                state.last_modified = moved
            return state.last_modified
    except (IntegrityError, OperationalError):
        # Another worker recorded this feed at the same moment (PostgreSQL's
        # unique key), or the lock wait ran out. Now is never earlier than
        # any date announced so far; the next request records the state.
        return _second(now)


def _second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


# --- the four feeds -------------------------------------------------------------------


def _default_timezone() -> str:
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris"


def resource_feed(resource: Resource, now: datetime) -> Feed:
    venue = resource.venue
    with force_locale(FEED_LOCALE):
        name = _("%(resource)s — %(venue)s", resource=resource.name, venue=venue.name)
    return Feed(
        scope=f"resource:{resource.id}",
        audience=Audience.PUBLIC,
        info=CalendarInfo(name=name, timezone=venue.timezone),
        window=Window.around(now),
        conditions=[Reservation.resource_id == resource.id],
        created_at=resource.created_at,
    )


def venue_feed(venue: Venue, now: datetime) -> Feed:
    with force_locale(FEED_LOCALE):
        name = _("%(venue)s — reservations", venue=venue.name)
    resource_ids = sa.select(Resource.id).where(Resource.venue_id == venue.id)
    return Feed(
        scope=f"venue:{venue.id}",
        audience=Audience.PUBLIC,
        info=CalendarInfo(name=name, timezone=venue.timezone),
        window=Window.around(now),
        conditions=[Reservation.resource_id.in_(resource_ids)],
        created_at=venue.created_at,
    )


def member_feed(user: User, now: datetime) -> Feed:
    with force_locale(FEED_LOCALE):
        name = _("My reservations — %(site)s", site=current_app.config["SITE_NAME"])
    return Feed(
        scope=f"member:{user.id}",
        audience=Audience.MEMBER,
        info=CalendarInfo(name=name, timezone=_default_timezone()),
        window=Window.around(now),
        conditions=[Reservation.user_id == user.id],
        created_at=user.created_at,
    )


def managed_venue_ids(user: User) -> list[int]:
    """The venues whose manager feed ``user`` may read: all of them for administrators."""
    query = sa.select(Venue.id).order_by(Venue.id)
    if not user.is_admin:
        query = query.join(Membership, Membership.venue_id == Venue.id).where(
            Membership.user_id == user.id, Membership.role == Role.MANAGER
        )
    return list(db.session.scalars(query))


def manager_feed(user: User, venue_ids: list[int], now: datetime) -> Feed:
    with force_locale(FEED_LOCALE):
        name = _("Reservations to manage — %(site)s", site=current_app.config["SITE_NAME"])
    resource_ids = sa.select(Resource.id).where(Resource.venue_id.in_(venue_ids))
    return Feed(
        scope=f"manager:{user.id}",
        audience=Audience.MANAGER,
        info=CalendarInfo(name=name, timezone=_default_timezone()),
        window=Window.around(now),
        conditions=[Reservation.resource_id.in_(resource_ids)],
        identity=tuple(venue_ids),
        created_at=user.created_at,
    )


def reservation_info(reservation: Reservation) -> CalendarInfo:
    venue = reservation.resource.venue
    with force_locale(FEED_LOCALE):
        name = _("%(resource)s — %(venue)s", resource=reservation.resource.name, venue=venue.name)
    return CalendarInfo(name=name, timezone=venue.timezone)
