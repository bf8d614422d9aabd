"""What a booking needs to know, loaded under the lock in a few queries.

1. the resource, its venue and its training, locked (``SELECT … FOR UPDATE``
   on PostgreSQL; SQLite already holds its write lock since ``BEGIN IMMEDIATE``);
2. its opening hours and the closures that meet the days asked for, in one query;
3. the member and whoever books for them, with their role at the venue and
   their training, in one query;
4. what holds the resource at that time (``Reservation.overlapping``);
5. the member's weeks, only for resources with a weekly quota.

Statements are built once, at import: building them is most of what a
booking costs in Python. Each runs on the session's connection, past the ORM.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import rules as r
from ..models import (
    MAX_HOLD,
    Closure,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Role,
    Status,
    User,
    UTCDateTime,
    Venue,
)
from ..models.users import Membership
from ..permissions import can_act_for_others
from .errors import NotAllowedError
from .lifecycle import expire_rows


class Seat(NamedTuple):
    """A role at the venue being booked (the shape ``booking.permissions`` reads)."""

    venue_id: int
    role: Role


@dataclass(frozen=True)
class Person:
    """Someone in a booking, as far as the rules and permissions need to know them."""

    id: int
    active: bool
    is_admin: bool
    memberships: tuple[Seat, ...]
    grant: r.Grant | None


@dataclass(frozen=True)
class Context:
    """Who books what, loaded once per transaction."""

    resource_id: int
    venue_id: int
    venue_name: str
    resource_active: bool
    exclusive: bool
    requires_approval: bool
    qualification_name: str
    rules: r.Rules
    member: Person
    actor: Person
    overrides: frozenset[str]

    @property
    def by_manager(self) -> bool:
        return can_act_for_others(self.actor, self.venue_id)  # type: ignore[arg-type]


# The columns behind ``rules.Rules``, in the order ``_rules`` reads them.
_RULE_COLUMNS = (
    Resource.capacity,
    Resource.slot_minutes,
    Resource.min_duration_minutes,
    Resource.max_duration_minutes,
    Resource.min_notice_minutes,
    Resource.horizon_days,
    Resource.buffer_minutes,
    Resource.weekly_quota_minutes,
)


def _rules(
    zone: ZoneInfo,
    values: Iterable,
    requires_training: bool,
    periods: tuple[r.Period, ...],
    closures: tuple[r.ClosedRange, ...],
) -> r.Rules:
    capacity, slot, min_duration, max_duration, notice, horizon, buffer, quota = values
    return r.Rules(
        zone=zone,
        capacity=capacity,
        slot_minutes=slot,
        min_duration_minutes=min_duration,
        max_duration_minutes=max_duration,
        min_notice_minutes=notice,
        horizon_days=horizon,
        buffer_minutes=buffer,
        weekly_quota_minutes=quota,
        requires_qualification=requires_training,
        periods=periods,
        closures=closures,
    )


# No time zone is further than this from UTC.
ANY_ZONE = timedelta(hours=14)

_RESOURCE = (
    sa.select(
        Resource.venue_id,
        Resource.is_active,
        *_RULE_COLUMNS,
        Resource.requires_approval,
        Resource.qualification_id,
        Qualification.name,
        Venue.name,
        Venue.timezone,
    )
    .join(Venue, Venue.id == Resource.venue_id)
    .outerjoin(Qualification, Qualification.id == Resource.qualification_id)
    .where(Resource.id == sa.bindparam("resource_id"))
)
# PostgreSQL: bookings of one resource queue on its row, so the count of seats
# in use sees every booking committed before ours. SQLite leaves FOR UPDATE
# out: BEGIN IMMEDIATE already serialises writers.
_RESOURCE_LOCKED = _RESOURCE.with_for_update(of=Resource)


def _calendar_statement(
    resource_match: Callable[[sa.ColumnElement], sa.ColumnElement[bool]],
    venue_match: Callable[[sa.ColumnElement], sa.ColumnElement[bool]],
) -> sa.CompoundSelect:
    """Opening periods (the resources' and their venues') and closures, in one query."""
    periods = sa.select(
        sa.literal("period"),
        OpeningPeriod.resource_id,
        OpeningPeriod.venue_id,
        OpeningPeriod.weekday,
        OpeningPeriod.opens_at,
        OpeningPeriod.closes_at,
        sa.cast(sa.null(), UTCDateTime),
        sa.cast(sa.null(), UTCDateTime),
        sa.cast(sa.null(), sa.String),
    ).where(sa.or_(resource_match(OpeningPeriod.resource_id), venue_match(OpeningPeriod.venue_id)))
    closures = sa.select(
        sa.literal("closure"),
        Closure.resource_id,
        Closure.venue_id,
        sa.cast(sa.null(), sa.SmallInteger),
        sa.cast(sa.null(), sa.Time),
        sa.cast(sa.null(), sa.Time),
        Closure.starts_at,
        Closure.ends_at,
        # Members are told the reason only when the manager made it public.
        sa.case((Closure.reason_public, Closure.reason), else_=sa.literal("")),
    ).where(
        venue_match(Closure.venue_id),
        *Closure.overlapping(
            sa.bindparam("first", type_=UTCDateTime), sa.bindparam("last", type_=UTCDateTime)
        ),
    )
    return sa.union_all(periods, closures)


class _Calendars:
    """Calendar rows sorted out: each resource's hours (its own, else its venue's) and the
    closures that apply to it (its venue's and its own)."""

    def __init__(self, rows: sa.Result) -> None:
        self.own: dict[int, list[r.Period]] = defaultdict(list)
        self.general: dict[int, list[r.Period]] = defaultdict(list)
        self.closures: dict[tuple[str, int], list[r.ClosedRange]] = defaultdict(list)
        for kind, resource_id, venue_id, weekday, opens, closes, starts_at, ends_at, reason in rows:
            if kind == "closure":
                key = ("venue", venue_id) if resource_id is None else ("resource", resource_id)
                self.closures[key].append(r.ClosedRange(starts_at, ends_at, reason or ""))
            elif resource_id is not None:
                self.own[resource_id].append(r.Period(weekday, opens, closes))
            else:
                self.general[venue_id].append(r.Period(weekday, opens, closes))

    def periods(self, resource_id: int, venue_id: int) -> tuple[r.Period, ...]:
        chosen = self.own.get(resource_id) or self.general.get(venue_id) or []
        return tuple(sorted(chosen, key=lambda p: (p.weekday, p.opens_at)))

    def closed(self, resource_id: int, venue_id: int) -> tuple[r.ClosedRange, ...]:
        found = self.closures.get(("venue", venue_id), []) + self.closures.get(
            ("resource", resource_id), []
        )
        return tuple(sorted(found, key=lambda c: c.starts_at))


def _people_statement(with_training: bool) -> sa.Select:
    """The member and whoever books for them, with their role at the venue and their
    training for the resource (when it needs one)."""
    grant_on = QualificationGrant.user_id == User.id
    if with_training:
        grant_on = sa.and_(
            grant_on, QualificationGrant.qualification_id == sa.bindparam("qualification_id")
        )
    else:
        grant_on = sa.and_(grant_on, sa.false())
    return (
        sa.select(
            User.id,
            User.active,
            User.is_admin,
            Membership.role,
            QualificationGrant.id,
            QualificationGrant.expires_on,
        )
        .outerjoin(
            Membership,
            sa.and_(Membership.user_id == User.id, Membership.venue_id == sa.bindparam("venue_id")),
        )
        .outerjoin(QualificationGrant, grant_on)
        .where(sa.or_(User.id == sa.bindparam("member_id"), User.id == sa.bindparam("actor_id")))
    )


_CALENDAR = _calendar_statement(
    lambda column: column == sa.bindparam("resource_id"),
    lambda column: column == sa.bindparam("venue_id"),
)
_CALENDAR_MANY = _calendar_statement(
    lambda column: column.in_(sa.bindparam("resource_ids", expanding=True)),
    lambda column: column.in_(sa.bindparam("venue_ids", expanding=True)),
)
_PEOPLE = {True: _people_statement(True), False: _people_statement(False)}
_HOLDS = (
    sa.select(
        Reservation.id,
        Reservation.status,
        Reservation.starts_at,
        Reservation.blocked_until,
        Reservation.seats,
        Reservation.user_id,
    )
    .where(
        Reservation.resource_id == sa.bindparam("resource_id"),
        Reservation.holding(),
        *Reservation.overlapping(
            sa.bindparam("start", type_=UTCDateTime),
            sa.bindparam("end", type_=UTCDateTime),
            earliest=sa.bindparam("earliest", type_=UTCDateTime),
        ),
    )
    .order_by(Reservation.starts_at)
)


def load(
    session: Session,
    resource_id: int,
    member_id: int,
    actor_id: int,
    overrides: frozenset[str],
    *,
    lock: bool,
    days: Callable[[ZoneInfo], tuple[date, date]],
) -> Context:
    """Everything the rules need about a resource and two people, permissions checked.

    ``days`` gives, once the venue's zone is known, the local days whose
    closures matter.
    """
    connection = session.connection()
    row = connection.execute(
        _RESOURCE_LOCKED if lock else _RESOURCE, {"resource_id": resource_id}
    ).one_or_none()
    if row is None:
        raise NotAllowedError("not_found")
    venue_id, resource_active, *values = row[: 2 + len(_RULE_COLUMNS)]
    requires_approval, qualification_id, qualification_name, venue_name, timezone = row[
        2 + len(_RULE_COLUMNS) :
    ]
    zone = ZoneInfo(timezone)
    first_day, last_day = days(zone)
    first, _ = r.local_day_bounds(first_day, zone)
    _, last = r.local_day_bounds(last_day, zone)

    calendars = _Calendars(
        connection.execute(
            _CALENDAR,
            {"resource_id": resource_id, "venue_id": venue_id, "first": first, "last": last},
        )
    )

    people: dict[int, Person] = {}
    for uid, active, is_admin, role, grant_id, expires_on in connection.execute(
        _PEOPLE[qualification_id is not None],
        {
            "member_id": member_id,
            "actor_id": actor_id,
            "venue_id": venue_id,
            "qualification_id": qualification_id,
        },
    ):
        people[uid] = Person(
            uid,
            active,
            is_admin,
            (Seat(venue_id, Role(role)),) if role is not None else (),
            r.Grant(expires_on) if grant_id is not None else None,
        )
    member, actor = people.get(member_id), people.get(actor_id)
    if member is None or actor is None:
        raise NotAllowedError("not_found")

    rules = _rules(
        zone,
        values,
        qualification_id is not None,
        calendars.periods(resource_id, venue_id),
        calendars.closed(resource_id, venue_id),
    )
    context = Context(
        resource_id=resource_id,
        venue_id=venue_id,
        venue_name=venue_name,
        resource_active=resource_active,
        exclusive=rules.capacity == 1,
        requires_approval=requires_approval,
        qualification_name=qualification_name or "",
        rules=rules,
        member=member,
        actor=actor,
        overrides=frozenset(overrides),
    )
    if actor.id != member.id and not context.by_manager:
        raise NotAllowedError("book_for_others")
    if context.overrides and not context.by_manager:
        raise NotAllowedError("override")
    if context.overrides - r.SOFT_RULES:
        raise NotAllowedError("override")
    return context


class Held(NamedTuple):
    id: int
    status: str
    starts_at: datetime
    blocked_until: datetime
    seats: int
    user_id: int

    def hold(self, member_id: int) -> r.Hold:
        """As the rules see it, marked when it is the member's own."""
        own = self.id if self.user_id == member_id else None
        return r.Hold(self.starts_at, self.blocked_until, self.seats, own)


def holds_during(
    session: Session, context: Context, start: datetime, end: datetime, now: datetime
) -> list[Held]:
    """What holds the resource during [start, end). Requests still pending once their
    start has passed expire here (PostgreSQL's constraint would otherwise see them)."""
    rows = [
        Held(*row)
        for row in session.connection().execute(
            _HOLDS,
            {
                "resource_id": context.resource_id,
                "start": start,
                "end": end,
                "earliest": start - MAX_HOLD,
            },
        )
    ]
    overdue = [h.id for h in rows if h.status == Status.PENDING and h.starts_at <= now]
    if overdue:
        expire_rows(session, now, ids=overdue)
        rows = [h for h in rows if h.id not in overdue]
    return rows


def minutes_by_week(
    session: Session, context: Context, start: datetime, end: datetime
) -> dict[date, int]:
    """Minutes the member holds on the resource, by local week (its Monday), for
    slots starting in [start, end). Only asked for resources with a quota."""
    rows = session.execute(
        sa.select(Reservation.starts_at, Reservation.ends_at).where(
            Reservation.resource_id == context.resource_id,
            Reservation.user_id == context.member.id,
            Reservation.holding(),
            Reservation.starts_at >= start,
            Reservation.starts_at < end,
        )
    )
    used: dict[date, int] = {}
    for s, e in rows:
        monday = monday_of(s, context.rules.zone)
        used[monday] = used.get(monday, 0) + minutes_between(s, e)
    return used


def monday_of(instant: datetime, zone: ZoneInfo) -> date:
    day = r.to_local(instant, zone).date()
    return day - timedelta(days=day.weekday())


def minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


# --- many resources at once, for pages that show what is free -------------------------


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
    rules: r.Rules
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
        *_RULE_COLUMNS,
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
    if not rows:
        return []
    calendars = _Calendars(
        connection.execute(
            _CALENDAR_MANY,
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
                _rules(
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
    grants: dict[int, r.Grant]

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
    grants: dict[int, r.Grant] = {}
    found = False
    for user_active, admin, venue_id, role, qualification_id, expires_on in session.execute(
        _VIEWER, {"user_id": user_id}
    ):
        if qualification_id is not None:
            grants[qualification_id] = r.Grant(expires_on)
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
