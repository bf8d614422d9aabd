"""What the pages that show free time need, for many resources at once: the resources a
page may offer with their rules, hours and closures (``bookables``), who is looking
(``viewer``), and the booking context of each for that person (``context_for``), in a
fixed number of queries whatever their number. The read model of the weeks and the
search; the single booking's loader under the lock is ``booking.loading``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...models import (
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Role,
    User,
    UTCDateTime,
    Venue,
)
from ...models.names import search_key
from ...models.users import Membership
from ...rules import Grant, Rules
from ..booking.loading import (
    ANY_ZONE,
    CALENDAR_MANY,
    RULE_COLUMNS,
    Calendars,
    Context,
    Person,
    Seat,
    minutes_between,
    monday_of,
    rules_of,
)


@dataclass(frozen=True)
class Bookable:
    """A resource as the week views and the search see it: what it is, where, and its rules."""

    id: int
    slug: str
    name: str
    kind: str
    venue_id: int
    venue_slug: str
    venue_name: str
    requires_approval: bool
    qualification_id: int | None
    qualification_name: str
    rules: Rules
    own_hours: bool = False  # opening hours of its own, rather than its venue's
    buffer_reason: str = ""  # what the break after each booking is for, in the venue's words

    @property
    def capacity(self) -> int:
        return self.rules.capacity

    @property
    def zone(self) -> ZoneInfo:
        return self.rules.zone


_BOOKABLES = (
    sa.select(
        Resource.id,
        Resource.slug,
        Resource.name,
        Resource.kind,
        Resource.venue_id,
        Venue.slug,
        Venue.name,
        Venue.timezone,
        Resource.requires_approval,
        Resource.qualification_id,
        Qualification.name,
        Resource.buffer_reason,
        *RULE_COLUMNS,
    )
    .join(Venue, Venue.id == Resource.venue_id)
    .outerjoin(Qualification, Qualification.id == Resource.qualification_id)
    .where(Resource.is_active, Venue.is_active)
    .order_by(Venue.name, Resource.name, Resource.id)
)
# Statements built once: by venue, by resource, in some venues, everywhere.
_BOOKABLES_WHERE = {
    "venue_id": _BOOKABLES.where(Resource.venue_id == sa.bindparam("venue_id")),
    "slug": _BOOKABLES.where(Resource.slug == sa.bindparam("slug")),
    "venue_ids": _BOOKABLES.where(Resource.venue_id.in_(sa.bindparam("venue_ids", expanding=True))),
    "everywhere": _BOOKABLES,
}


def bookables(
    session: Session,
    first: date,
    last: date,
    *,
    venue_id: int | None = None,
    slug: str | None = None,
    venue_ids: Iterable[int] | None = None,
) -> list[Bookable]:
    """The active resources of active venues (those of one venue, the one named ``slug``,
    those of some venues, or all of them) with their rules and the closures of the local
    days ``first`` to ``last``, in two queries whatever their number."""
    if venue_id is not None:
        key, params = "venue_id", {"venue_id": venue_id}
    elif slug is not None:
        key, params = "slug", {"slug": slug}
    elif venue_ids is not None:
        key, params = "venue_ids", {"venue_ids": list(venue_ids)}
    else:
        key, params = "everywhere", {}
    connection = session.connection()
    rows = connection.execute(_BOOKABLES_WHERE[key], params).all()
    return _with_rules(connection, rows, first, last)


def matching(
    session: Session,
    first: date,
    last: date,
    words: Sequence[str],
    *,
    venue_slug: str = "",
    resource_slug: str = "",
    venue_ids: Iterable[int] | None = None,
) -> list[Bookable]:
    """The active resources whose name or venue's name holds every word (folded:
    ``booking.models.names``), found by the database: the one named, those of one venue,
    of some venues, or of all; with their rules and closures, in two queries."""
    statement = _BOOKABLES
    params: dict[str, object] = {}
    if resource_slug:
        statement, params["slug"] = _BOOKABLES_WHERE["slug"], resource_slug
    elif venue_slug:
        statement = statement.where(Venue.slug == sa.bindparam("venue_slug"))
        params["venue_slug"] = venue_slug
    elif venue_ids is not None:
        statement, params["venue_ids"] = _BOOKABLES_WHERE["venue_ids"], list(venue_ids)
    haystack = Resource.search_key + Venue.search_key
    for number, word in enumerate(words):
        statement = statement.where(haystack.contains(sa.bindparam(f"word{number}")))
        params[f"word{number}"] = search_key(word)
    connection = session.connection()
    return _with_rules(connection, connection.execute(statement, params).all(), first, last)


def _with_rules(
    connection: sa.Connection, rows: Sequence[sa.Row], first: date, last: date
) -> list[Bookable]:
    """Resources read by ``_BOOKABLES``, with their hours and the closures of the local
    days ``first`` to ``last`` (one more query)."""
    if not rows:
        return []
    calendars = Calendars(
        connection.execute(
            CALENDAR_MANY,
            {
                "resource_ids": [row[0] for row in rows],
                "venue_ids": sorted({row[4] for row in rows}),
                # Closures are instants: the local days, whatever the venues' zones.
                "first": datetime.combine(first, time(0), tzinfo=UTC) - ANY_ZONE,
                "last": datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC) + ANY_ZONE,
            },
        )
    )
    zones: dict[str, ZoneInfo] = {}
    found = []
    for row in rows:
        rid, slug_, name, kind, vid, vslug, vname, tz, approval, qid, qname, why, *values = row
        zone = zones.get(tz) or zones.setdefault(tz, ZoneInfo(tz))
        found.append(
            Bookable(
                rid,
                slug_,
                name,
                str(kind),
                vid,
                vslug,
                vname,
                approval,
                qid,
                qname or "",
                rules_of(
                    zone,
                    values,
                    qid is not None,
                    calendars.periods(rid, vid),
                    calendars.closed(rid, vid),
                ),
                bool(calendars.own.get(rid)),
                why or "",
            )
        )
    return found


@dataclass(frozen=True)
class Viewer:
    """Whoever looks at free slots: their roles everywhere and their trainings."""

    id: int
    active: bool
    is_admin: bool
    memberships: tuple[Seat, ...]
    grants: dict[int, Grant]

    @property
    def venue_ids(self) -> list[int]:
        return [seat.venue_id for seat in self.memberships]

    def person(self, bookable: Bookable) -> Person:
        grant = (
            self.grants.get(bookable.qualification_id)
            if bookable.qualification_id is not None
            else None
        )
        return Person(self.id, self.active, self.is_admin, self.memberships, grant)


# Someone not logged in: no role anywhere, no training.
VISITOR = Viewer(0, True, False, (), {})

_VIEWER = (
    sa.select(
        User.active,
        User.is_admin,
        Membership.venue_id,
        Membership.role,
        sa.cast(sa.null(), sa.Integer),
        sa.cast(sa.null(), sa.Date),
    )
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(User.id == sa.bindparam("user_id"))
    .union_all(
        sa.select(
            sa.null(),
            sa.null(),
            sa.null(),
            sa.null(),
            QualificationGrant.qualification_id,
            QualificationGrant.expires_on,
        ).where(QualificationGrant.user_id == sa.bindparam("user_id"))
    )
)


def viewer(session: Session, user_id: int | None) -> Viewer:
    """A person's roles and trainings, in one query (the visitor's, without one)."""
    if user_id is None:
        return VISITOR
    active, is_admin = True, False
    seats: list[Seat] = []
    grants: dict[int, Grant] = {}
    found = False
    for user_active, admin, venue_id, role, qualification_id, expires_on in session.execute(
        _VIEWER, {"user_id": user_id}
    ):
        if qualification_id is not None:
            grants[qualification_id] = Grant(expires_on)
            continue
        found = True
        active, is_admin = bool(user_active), bool(admin)
        if venue_id is not None:
            seats.append(Seat(venue_id, Role(role)))
    if not found:
        return VISITOR
    return Viewer(user_id, active, is_admin, tuple(seats), grants)


def context_for(bookable: Bookable, who: Viewer) -> Context:
    """What the engine's evaluation needs for ``who`` booking ``bookable`` for themselves."""
    person = who.person(bookable)
    return Context(
        resource_id=bookable.id,
        venue_id=bookable.venue_id,
        venue_name=bookable.venue_name,
        resource_active=True,
        exclusive=bookable.capacity == 1,
        requires_approval=bookable.requires_approval,
        qualification_name=bookable.qualification_name,
        rules=bookable.rules,
        member=person,
        actor=person,
        overrides=frozenset(),
    )


_MINUTES_MANY = sa.select(
    Reservation.resource_id, Reservation.starts_at, Reservation.ends_at
).where(
    Reservation.user_id == sa.bindparam("member_id"),
    Reservation.resource_id.in_(sa.bindparam("resource_ids", expanding=True)),
    Reservation.holding(),
    Reservation.starts_at >= sa.bindparam("start", type_=UTCDateTime),
    Reservation.starts_at < sa.bindparam("end", type_=UTCDateTime),
)


def minutes_by_resource_week(
    session: Session,
    member_id: int,
    zones: dict[int, ZoneInfo],
    start: datetime,
    end: datetime,
) -> dict[tuple[int, date], int]:
    """Minutes the member holds on each resource of ``zones``, by local week (its Monday),
    for slots starting in [start, end), in one query."""
    used: dict[tuple[int, date], int] = defaultdict(int)
    if not zones:
        return used
    rows = session.connection().execute(
        _MINUTES_MANY,
        {"member_id": member_id, "resource_ids": list(zones), "start": start, "end": end},
    )
    for rid, s, e in rows:
        used[rid, monday_of(s, zones[rid])] += minutes_between(s, e)
    return used
