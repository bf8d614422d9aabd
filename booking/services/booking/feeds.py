"""The iCal feeds: whose reservations each one shows, and whether it changed.

A feed is looked up in one indexed query that also reads its stamps
(``booking.models.feeds``): an unchanged feed is answered from that alone.
Only a changed feed loads its reservations, in one more query. HTTP lives in
``booking.views.feeds``, names and serialisation in ``booking.presentation``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from ...extensions import db
from ...models import (
    ENDED_STATUSES,
    Audience,
    Closure,
    FeedStamp,
    Reservation,
    Resource,
    User,
    Venue,
)
from ...models import feeds as stamps
from ...permissions import venues_managed_by
from ...security import tokens

# Bump when the feed's format changes, so that clients holding an old ETag
# fetch the new body.
FORMAT_VERSION = "3"


@dataclass(frozen=True)
class Window:
    """The days a feed reaches, by whole UTC days so that it moves once a day."""

    starts_at: datetime
    ends_at: datetime
    ended_since: datetime  # cancelled and refused ones changed since then stay
    today: datetime  # midnight UTC: a feed may change when the window moves

    @classmethod
    def around(cls, now: datetime, config: Mapping[str, Any]) -> Window:
        today = now.astimezone(UTC).date()

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=UTC)

        return cls(
            starts_at=midnight(today - timedelta(days=config["FEED_DAYS_BACK"])),
            ends_at=midnight(today + timedelta(days=config["FEED_DAYS_AHEAD"] + 1)),
            ended_since=midnight(today - timedelta(days=config["FEED_KEEP_CANCELLED_DAYS"])),
            today=midnight(today),
        )


@dataclass
class Feed:
    """One feed: whose reservations, seen by whom, and its stamps."""

    scope: str
    audience: Audience
    window: Window
    conditions: list[Any]
    # The stamps of everything the feed shows, and the newest change among them.
    stamps: tuple[Any, ...]
    changed_at: datetime | None
    created_at: datetime
    # What presentation needs to name the calendar (resource, venue, time zone).
    subject: dict[str, Any] = field(default_factory=dict)
    # Which closures the feed shows as busy (none for a member's own feed).
    closure_conditions: list[Any] | None = None

    @property
    def keeps_ended(self) -> bool:
        return self.audience != Audience.PUBLIC

    def etag(self, *context: Any) -> str:
        """A strong validator: the stamps, the window's day and whatever else the body
        depends on (``context``: its links' host, its name)."""
        digest = hashlib.sha256()
        for part in (FORMAT_VERSION, self.scope, self.stamps, self.window, *context):
            digest.update(repr(part).encode())
            digest.update(b"\x00")
        return digest.hexdigest()[:40]

    def last_modified(self, now: datetime) -> datetime:
        """The newest change, never earlier than the window's day (old events leave the
        feed at midnight UTC) and never later than now (HTTP forbids a date to come)."""
        newest = max(self.changed_at or self.created_at, self.window.today)
        return _second(min(newest, now))

    def where(self) -> list[Any]:
        window = self.window
        in_window = Reservation.overlapping(window.starts_at, window.ends_at, with_buffer=False)
        if self.keeps_ended:
            shown = sa.or_(
                Reservation.holding(),
                sa.and_(
                    Reservation.status.in_(ENDED_STATUSES),
                    Reservation.updated_at >= window.ended_since,
                ),
            )
        else:
            shown = Reservation.holding()
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

    def closures(self) -> list[Closure]:
        """The closures the feed shows, with their venue and resource, in one query."""
        if self.closure_conditions is None:
            return []
        query = (
            sa.select(Closure)
            .where(
                *self.closure_conditions,
                *Closure.overlapping(self.window.starts_at, self.window.ends_at),
            )
            .options(joinedload(Closure.venue), joinedload(Closure.resource))
            .order_by(Closure.starts_at, Closure.id)
        )
        return list(db.session.scalars(query))


def _second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def stamp_join(kind: str, subject: Any) -> Any:
    """The stamp of ``subject`` (a column) and the condition to outer-join it on, so that
    a feed or a kept page reads its version in the query it makes anyway."""
    stamp = aliased(FeedStamp)
    return stamp, sa.and_(stamp.kind == kind, stamp.subject_id == subject)


@dataclass(frozen=True)
class VenueStamp:
    """A venue's stamp as a query reads it (``booking.models.feeds``): its own row
    (outer-joined on ``on``), and the sum of its resources' versions and their latest
    change, as correlated aggregates over the resources' rows."""

    own: Any
    on: Any
    versions: Any
    changed_at: Any

    @classmethod
    def of(cls, kind: str, venue_id: Any) -> VenueStamp:
        own, on = stamp_join(kind, venue_id)
        theirs = aliased(FeedStamp)
        rows = (
            sa.select(Resource.id)
            .join(theirs, sa.and_(theirs.kind == stamps.RESOURCE, theirs.subject_id == Resource.id))
            .where(Resource.venue_id == venue_id)
        )
        return cls(
            own,
            on,
            rows.with_only_columns(sa.func.sum(theirs.version)).scalar_subquery(),
            rows.with_only_columns(sa.func.max(theirs.changed_at)).scalar_subquery(),
        )

    @property
    def columns(self) -> tuple[Any, ...]:
        """Read in this order by ``version`` and ``latest``."""
        return self.own.version, self.versions, self.own.changed_at, self.changed_at

    @staticmethod
    def version(own: int | None, versions: int | None, *_: Any) -> tuple[int, int]:
        """What changes whenever anything the venue's feed or page shows changes."""
        return own or 0, int(versions or 0)

    @staticmethod
    def latest(_own: Any, _versions: Any, *times: datetime | None) -> datetime | None:
        """The time of the last change a feed shows."""
        return max((t for t in times if t is not None), default=None)


# --- the four feeds ---------------------------------------------------------------


def resource_feed(slug: str, now: datetime, config: Mapping[str, Any]) -> Feed | None:
    """A resource's public feed; None when it does not exist or is no longer bookable."""
    stamp, on = stamp_join(stamps.RESOURCE, Resource.id)
    row = db.session.execute(
        sa.select(
            Resource.id,
            Resource.venue_id,
            Resource.name,
            Resource.created_at,
            Venue.name,
            Venue.timezone,
            stamp.version,
            stamp.changed_at,
        )
        .join(Venue, Venue.id == Resource.venue_id)
        .outerjoin(stamp, on)
        .where(Resource.slug == slug, Resource.is_active, Venue.is_active)
    ).one_or_none()
    if row is None:
        return None
    resource_id, venue_id, name, created_at, venue_name, timezone, version, changed_at = row
    return Feed(
        scope=f"resource:{resource_id}",
        audience=Audience.PUBLIC,
        window=Window.around(now, config),
        conditions=[Reservation.resource_id == resource_id],
        stamps=(version,),
        changed_at=changed_at,
        created_at=created_at,
        subject={"resource": name, "venue": venue_name, "timezone": timezone},
        closure_conditions=[
            Closure.venue_id == venue_id,
            sa.or_(Closure.resource_id.is_(None), Closure.resource_id == resource_id),
        ],
    )


_VENUE_STAMP = VenueStamp.of(stamps.VENUE, Venue.id)
_VENUE_FEED = (
    sa.select(Venue.id, Venue.name, Venue.timezone, Venue.created_at, *_VENUE_STAMP.columns)
    .outerjoin(_VENUE_STAMP.own, _VENUE_STAMP.on)
    .where(Venue.slug == sa.bindparam("slug"), Venue.is_active)
)


def venue_feed(slug: str, now: datetime, config: Mapping[str, Any]) -> Feed | None:
    row = db.session.execute(_VENUE_FEED, {"slug": slug}).one_or_none()
    if row is None:
        return None
    venue_id, name, timezone, created_at, *stamp = row
    return Feed(
        scope=f"venue:{venue_id}",
        audience=Audience.PUBLIC,
        window=Window.around(now, config),
        # A retired resource leaves the public feeds, its past with it: the venue's, as
        # its own (which answers 404); retiring it bumps the venue's stamp.
        conditions=[
            Reservation.resource_id.in_(
                sa.select(Resource.id).where(Resource.venue_id == venue_id, Resource.is_active)
            )
        ],
        stamps=VenueStamp.version(*stamp),
        changed_at=VenueStamp.latest(*stamp),
        created_at=created_at,
        subject={"venue": name, "timezone": timezone},
        closure_conditions=[
            Closure.venue_id == venue_id,
            sa.or_(
                Closure.resource_id.is_(None),
                Closure.resource_id.in_(
                    sa.select(Resource.id).where(Resource.venue_id == venue_id, Resource.is_active)
                ),
            ),
        ],
    )


def member_feed(token: str, now: datetime, config: Mapping[str, Any]) -> Feed | None:
    """The feed of the member whose secret token this is; None for any other token."""
    if not tokens.is_well_formed(token, tokens.MEMBER):
        return None
    stamp, on = stamp_join(stamps.MEMBER, User.id)
    row = db.session.execute(
        sa.select(
            User.id,
            User.feed_token_version,
            User.active,
            User.created_at,
            stamp.version,
            stamp.changed_at,
        )
        .outerjoin(stamp, on)
        .where(tokens.key_column(tokens.MEMBER) == tokens.digest(token))
    ).one_or_none()
    if row is None:
        return None
    user_id, version, active, created_at, stamp_version, changed_at = row
    if not active or not tokens.is_current(token, tokens.MEMBER, user_id, version):
        return None
    return Feed(
        scope=f"member:{user_id}",
        audience=Audience.MEMBER,
        window=Window.around(now, config),
        conditions=[Reservation.user_id == user_id],
        stamps=(stamp_version,),
        changed_at=changed_at,
        created_at=created_at,
    )


def manager_feed(token: str, now: datetime, config: Mapping[str, Any]) -> Feed | None:
    """The feed of every venue the token's owner manages (all of them for administrators);
    None for any other token, or for someone who manages nothing."""
    if not tokens.is_well_formed(token, tokens.MANAGER):
        return None
    stamp = VenueStamp.of(stamps.MANAGED, Venue.id)
    manages = sa.or_(User.is_admin, Venue.id.in_(venues_managed_by(User.id)))
    rows = db.session.execute(
        sa.select(
            User.id,
            User.feed_token_version,
            User.active,
            User.created_at,
            Venue.id,
            *stamp.columns,
        )
        .select_from(User)
        .outerjoin(Venue, manages)
        .outerjoin(stamp.own, stamp.on)
        .where(tokens.key_column(tokens.MANAGER) == tokens.digest(token))
        .order_by(Venue.id)
    ).all()
    if not rows:
        return None
    user_id, version, active, created_at = rows[0][:4]
    if not active or not tokens.is_current(token, tokens.MANAGER, user_id, version):
        return None
    managed = [(row[4], row[5:]) for row in rows if row[4] is not None]
    if not managed:
        return None
    venues = [(venue_id, VenueStamp.version(*stamp)) for venue_id, stamp in managed]
    changes = [VenueStamp.latest(*stamp) for _, stamp in managed]
    venue_ids = [venue_id for venue_id, _ in venues]
    return Feed(
        scope=f"manager:{user_id}",
        audience=Audience.MANAGER,
        window=Window.around(now, config),
        conditions=[
            Reservation.resource_id.in_(
                sa.select(Resource.id).where(Resource.venue_id.in_(venue_ids))
            )
        ],
        stamps=tuple(venues),
        changed_at=max((c for c in changes if c is not None), default=None),
        created_at=created_at,
        closure_conditions=[Closure.venue_id.in_(venue_ids)],
    )
