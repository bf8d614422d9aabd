"""What a booking needs to know, loaded in a few queries, most of them before the lock.

1. the resource, its venue and its training, with the version of the resource's
   stamp (``booking.models.feeds``: every change to its rules, hours, closures and
   bookings bumps it), and the member and whoever books for them with their role at
   the venue and their training, in one query;
2. its opening hours and the closures that meet the days asked for, in one query;
3. the lock: the resource's row and its stamp's ``FOR UPDATE`` on PostgreSQL, which
   returns the stamp as it is once the lock is held; only when it moved since 1 (a
   rule, the hours, a closure or a booking changed meanwhile) are 1 and 2 read again,
   under the lock. SQLite already holds its write lock since ``BEGIN IMMEDIATE``:
   nothing to take;
4. what holds the resource at that time (``Reservation.overlapping``), under the lock;
5. the member's weeks, only for resources with a weekly quota.

Bookings of one resource queue on its row for what must be counted under it (the
seats held, the quota), not for reading its rules; bookings of different resources
never wait for each other.

A booking being changed (``load_booking``) is read the same way, found from its id:
the booking and the change it may already wait for come on the rows of query 1, and
every change to a booking moves the resource's stamp, so they too are read again under
the lock if another writer touched them meanwhile: as many statements as a booking.
A series' later dates (``changes``) lock the resource first and read after it.

Statements are built once, at import: building them is most of what a
booking costs in Python. Each runs on the session's connection, past the ORM.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ...localtime import local_day_bounds, to_local
from ...models import (
    MAX_HOLD,
    Closure,
    FeedStamp,
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
from ...models import feeds as stamps
from ...models.users import Membership
from ...permissions import can_act_for_others
from ...rules import SOFT_RULES, ClosedRange, Grant, Hold, Period, Rules
from ..errors import NotAllowedError
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
    grant: Grant | None


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
    rules: Rules
    member: Person
    actor: Person
    overrides: frozenset[str]

    @property
    def by_manager(self) -> bool:
        return can_act_for_others(self.actor, self.venue_id)  # type: ignore[arg-type]


# The columns behind ``rules.Rules``, in the order ``_rules`` reads them.
RULE_COLUMNS = (
    Resource.capacity,
    Resource.slot_minutes,
    Resource.min_duration_minutes,
    Resource.max_duration_minutes,
    Resource.min_notice_minutes,
    Resource.horizon_days,
    Resource.buffer_minutes,
    Resource.weekly_quota_minutes,
)


def rules_of(
    zone: ZoneInfo,
    values: Iterable,
    requires_training: bool,
    periods: tuple[Period, ...],
    closures: tuple[ClosedRange, ...],
) -> Rules:
    capacity, slot, min_duration, max_duration, notice, horizon, buffer, quota = values
    return Rules(
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

_STAMP = aliased(FeedStamp)
_ON_STAMP = sa.and_(_STAMP.kind == stamps.RESOURCE, _STAMP.subject_id == Resource.id)
# Every column of a reservation, in the mapper's order: a booking being changed is read
# as a plain row (and written back past the ORM, like a new one).
BOOKING_COLUMNS = tuple(attr.key for attr in sa.inspect(Reservation).column_attrs)
BOOKED = aliased(Reservation, name="booking")
WAITING_CHANGE = aliased(Reservation, name="pending_change")


def _head_statement(of_booking: bool) -> sa.Select:
    """The resource, its venue, its training and its stamp, with the member and whoever
    books for them (each a row), their role at the venue and their training for the
    resource. Of a booking being changed: found from its id, the booking and the change it
    may already wait for on every row."""
    columns: list[Any] = [
        Resource.id,
        Resource.venue_id,
        Resource.is_active,
        *RULE_COLUMNS,
        Resource.requires_approval,
        Resource.qualification_id,
        Qualification.name,
        Venue.name,
        Venue.timezone,
        _STAMP.version,
        User.id,
        User.active,
        User.is_admin,
        Membership.role,
        QualificationGrant.id,
        QualificationGrant.expires_on,
    ]
    if of_booking:
        columns += [getattr(BOOKED, key).label(f"booking_{key}") for key in BOOKING_COLUMNS]
        columns += [getattr(WAITING_CHANGE, key).label(f"pending_{key}") for key in BOOKING_COLUMNS]
        member = BOOKED.user_id
        statement = (
            sa.select(*columns)
            .select_from(BOOKED)
            .join(Resource, Resource.id == BOOKED.resource_id)
        )
    else:
        member = sa.bindparam("member_id")
        statement = sa.select(*columns).select_from(Resource)
    statement = (
        statement.join(Venue, Venue.id == Resource.venue_id)
        .join(User, sa.or_(User.id == member, User.id == sa.bindparam("actor_id")))
        .outerjoin(Qualification, Qualification.id == Resource.qualification_id)
        .outerjoin(_STAMP, _ON_STAMP)
        .outerjoin(
            Membership,
            sa.and_(Membership.user_id == User.id, Membership.venue_id == Resource.venue_id),
        )
        .outerjoin(
            QualificationGrant,
            sa.and_(
                QualificationGrant.user_id == User.id,
                QualificationGrant.qualification_id == Resource.qualification_id,
            ),
        )
    )
    if of_booking:
        return statement.outerjoin(WAITING_CHANGE, WAITING_CHANGE.replaces_id == BOOKED.id).where(
            BOOKED.id == sa.bindparam("reservation_id")
        )
    return statement.where(Resource.id == sa.bindparam("resource_id"))


_HEAD = _head_statement(of_booking=False)
_HEAD_OF_BOOKING = _head_statement(of_booking=True)
# Where each part of a head row begins: the resource's columns, a person's, a booking's.
_PERSON_AT = 9 + len(RULE_COLUMNS)
_BOOKING_AT = _PERSON_AT + 6
# PostgreSQL: bookings of one resource queue on its row, so the count of seats in use
# sees every booking committed before ours. Its stamp's row is locked with it: a lock
# returns the row as the transaction it waited for left it (a plain read in the same
# statement would not), and every change to the rules, hours, closures or bookings
# writes that row, so its version says whether what was read before still holds.
# SQLite has no FOR UPDATE: BEGIN IMMEDIATE already serialises writers.
_LOCK = (
    sa.select(_STAMP.version)
    .select_from(Resource)
    .join(_STAMP, _ON_STAMP)
    .where(Resource.id == sa.bindparam("resource_id"))
    .with_for_update(of=[Resource, _STAMP])
)
# A resource without a stamp yet (made before stamps were): its row alone, and what the
# booking needs read again under the lock.
_LOCK_RESOURCE = (
    sa.select(Resource.id).where(Resource.id == sa.bindparam("resource_id")).with_for_update()
)


# The resource, its venue and its training (what a change reads of it, locked).
_RESOURCE = (
    sa.select(
        Resource.venue_id,
        Resource.is_active,
        *RULE_COLUMNS,
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
# A change locks the resource first, as a booking locks it last (_LOCK): both queue on
# its row. SQLite leaves FOR UPDATE out: BEGIN IMMEDIATE already serialises writers.
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
        sa.cast(sa.null(), sa.Integer),
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
        # A followed calendar's busy time, said as busy rather than closed.
        Closure.calendar_id,
    ).where(
        venue_match(Closure.venue_id),
        *Closure.overlapping(
            sa.bindparam("first", type_=UTCDateTime), sa.bindparam("last", type_=UTCDateTime)
        ),
    )
    return sa.union_all(periods, closures)


class Calendars:
    """Calendar rows sorted out: each resource's hours (its own, else its venue's) and the
    closures that apply to it (its venue's and its own)."""

    def __init__(self, rows: sa.Result) -> None:
        self.own: dict[int, list[Period]] = defaultdict(list)
        self.general: dict[int, list[Period]] = defaultdict(list)
        self.closures: dict[tuple[str, int], list[ClosedRange]] = defaultdict(list)
        for row in rows:
            kind, resource_id, venue_id, weekday, opens, closes, starts_at, ends_at, reason = row[
                :9
            ]
            if kind == "closure":
                key = ("venue", venue_id) if resource_id is None else ("resource", resource_id)
                self.closures[key].append(
                    ClosedRange(starts_at, ends_at, reason or "", row[9] is not None)
                )
            elif resource_id is not None:
                self.own[resource_id].append(Period(weekday, opens, closes))
            else:
                self.general[venue_id].append(Period(weekday, opens, closes))

    def periods(self, resource_id: int, venue_id: int) -> tuple[Period, ...]:
        chosen = self.own.get(resource_id) or self.general.get(venue_id) or []
        return tuple(sorted(chosen, key=lambda p: (p.weekday, p.opens_at)))

    def closed(self, resource_id: int, venue_id: int) -> tuple[ClosedRange, ...]:
        found = self.closures.get(("venue", venue_id), []) + self.closures.get(
            ("resource", resource_id), []
        )
        return tuple(sorted(found, key=lambda c: c.starts_at))


def people_statement(with_training: bool, by_member: bool = True) -> sa.Select:
    """The member and whoever books for them, with their role at the venue and their
    training for the resource (when it needs one)."""
    grant_on = QualificationGrant.user_id == User.id
    if with_training:
        grant_on = sa.and_(
            grant_on, QualificationGrant.qualification_id == sa.bindparam("qualification_id")
        )
    else:
        grant_on = sa.and_(grant_on, sa.false())
    statement = (
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
    )
    if by_member:
        statement = statement.where(
            sa.or_(User.id == sa.bindparam("member_id"), User.id == sa.bindparam("actor_id"))
        )
    return statement


_CALENDAR = _calendar_statement(
    lambda column: column == sa.bindparam("resource_id"),
    lambda column: column == sa.bindparam("venue_id"),
)
CALENDAR_MANY = _calendar_statement(
    lambda column: column.in_(sa.bindparam("resource_ids", expanding=True)),
    lambda column: column.in_(sa.bindparam("venue_ids", expanding=True)),
)
PEOPLE = {True: people_statement(True), False: people_statement(False)}
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
    closures matter. With ``lock``, the resource's row is locked last (PostgreSQL),
    and what was read before is read again only if the resource changed meanwhile.
    """
    connection = session.connection()
    params = {"resource_id": resource_id, "member_id": member_id, "actor_id": actor_id}
    read, _ = _read_locked(connection, _HEAD, params, days, lock)
    return _context(read, member_id, actor_id, overrides)


def _context(read: _Read, member_id: int, actor_id: int, overrides: frozenset[str]) -> Context:
    """Who books what, once the actor may book for the member with the overrides asked."""
    member, actor = read.people.get(member_id), read.people.get(actor_id)
    if member is None or actor is None:
        raise NotAllowedError("not_found")
    context = Context(
        resource_id=read.resource_id,
        venue_id=read.venue_id,
        venue_name=read.venue_name,
        resource_active=read.active,
        exclusive=read.rules.capacity == 1,
        requires_approval=read.requires_approval,
        qualification_name=read.qualification_name or "",
        rules=read.rules,
        member=member,
        actor=actor,
        overrides=frozenset(overrides),
    )
    return _permitted(context)


def _permitted(context: Context) -> Context:
    """The context, once its actor may book for its member with the overrides asked."""
    if context.actor.id != context.member.id and not context.by_manager:
        raise NotAllowedError("book_for_others")
    if context.overrides and not context.by_manager:
        raise NotAllowedError("override")
    if context.overrides - SOFT_RULES:
        raise NotAllowedError("override")
    return context


def context_of(
    session: Session,
    resource_id: int,
    row: tuple,
    actor_id: int,
    overrides: frozenset[str],
    days: Callable[[ZoneInfo], tuple[date, date]],
    people_statements: dict[bool, sa.Select],
    people_params: dict,
    member_of: Callable[[list[sa.Row]], int | None],
) -> tuple[Context, list[sa.Row]]:
    """The calendar and the people of a resource whose row ``row`` was read (locked), and
    the rows of the people query (whose statement may bring more than people)."""
    connection = session.connection()
    venue_id, resource_active, *values = row[: 2 + len(RULE_COLUMNS)]
    requires_approval, qualification_id, qualification_name, venue_name, timezone = row[
        2 + len(RULE_COLUMNS) :
    ]
    zone = ZoneInfo(timezone)
    first_day, last_day = days(zone)
    first, _ = local_day_bounds(first_day, zone)
    _, last = local_day_bounds(last_day, zone)

    calendars = Calendars(
        connection.execute(
            _CALENDAR,
            {"resource_id": resource_id, "venue_id": venue_id, "first": first, "last": last},
        )
    )

    rows = list(
        connection.execute(
            people_statements[qualification_id is not None],
            {
                **people_params,
                "actor_id": actor_id,
                "venue_id": venue_id,
                "qualification_id": qualification_id,
            },
        )
    )
    people: dict[int, Person] = {}
    for uid, active, is_admin, role, grant_id, expires_on, *_ in rows:
        people[uid] = Person(
            uid,
            active,
            is_admin,
            (Seat(venue_id, Role(role)),) if role is not None else (),
            Grant(expires_on) if grant_id is not None else None,
        )
    member_id = member_of(rows)
    member, actor = people.get(member_id) if member_id else None, people.get(actor_id)
    if member is None or actor is None:
        raise NotAllowedError("not_found")

    rules = rules_of(
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
    return _permitted(context), rows


# --- a booking being changed ------------------------------------------------------------

# The resource of a reservation (which never changes resource), locked first: a series'
# later dates are read after it.
RESOURCE_OF_BOOKING = (
    sa.select(Resource.id, *_RESOURCE.selected_columns)
    .join(Venue, Venue.id == Resource.venue_id)
    .outerjoin(Qualification, Qualification.id == Resource.qualification_id)
    .where(
        Resource.id
        == sa.select(Reservation.resource_id)
        .where(Reservation.id == sa.bindparam("reservation_id"))
        .scalar_subquery()
    )
)
RESOURCE_OF_BOOKING_LOCKED = RESOURCE_OF_BOOKING.with_for_update(of=Resource)


@dataclass(frozen=True)
class Booking:
    """A booking being changed, and the change it already waits for (if any), as rows."""

    row: dict[str, Any]
    pending: dict[str, Any] | None


def load_booking(
    session: Session,
    reservation_id: int,
    actor_id: int,
    overrides: frozenset[str],
    *,
    lock: bool,
    days: Callable[[ZoneInfo], tuple[date, date]],
) -> tuple[Context, Booking]:
    """What changing a booking needs, in as many queries as a booking: the resource, the
    people, the booking and the change it may wait for in one, its calendar in another,
    then the lock (and the same again under it only if the resource's stamp moved: every
    change to a booking of the resource moves it)."""
    connection = session.connection()
    params = {"reservation_id": reservation_id, "actor_id": actor_id}
    read, head = _read_locked(connection, _HEAD_OF_BOOKING, params, days, lock)
    width = len(BOOKING_COLUMNS)
    booking = dict(zip(BOOKING_COLUMNS, head[_BOOKING_AT : _BOOKING_AT + width], strict=True))
    pending_values = head[_BOOKING_AT + width :]
    pending = (
        dict(zip(BOOKING_COLUMNS, pending_values, strict=True))
        if pending_values[0] is not None
        else None
    )
    return _context(read, booking["user_id"], actor_id, overrides), Booking(booking, pending)


@dataclass(frozen=True)
class _Read:
    """A resource and two people as a booking reads them: the venue, the rules with the
    hours and closures of the days asked, the people, and the resource's stamp then."""

    resource_id: int
    venue_id: int
    venue_name: str
    active: bool
    requires_approval: bool
    qualification_name: str | None
    rules: Rules
    people: dict[int, Person]
    version: int | None


def _read_locked(
    connection: sa.Connection,
    statement: sa.Select,
    params: dict[str, Any],
    days: Callable[[ZoneInfo], tuple[date, date]],
    lock: bool,
) -> tuple[_Read, sa.Row]:
    """What ``statement`` reads of a resource and its people, then (with ``lock``, on
    PostgreSQL) the resource's row locked with its stamp's, and everything read again
    under the lock only if the stamp moved meanwhile."""
    read, head = _read(connection, statement, params, days)
    if lock and connection.dialect.name != "sqlite":
        at = {"resource_id": read.resource_id}
        locked = connection.execute(_LOCK, at).one_or_none()
        if locked is None and connection.execute(_LOCK_RESOURCE, at).first() is None:
            raise NotAllowedError("not_found")
        if locked is None or locked[0] != read.version:
            # Its rules, hours, closures or bookings changed since: read under the lock.
            read, head = _read(connection, statement, params, days)
    return read, head


def _read(
    connection: sa.Connection,
    statement: sa.Select,
    params: dict[str, Any],
    days: Callable[[ZoneInfo], tuple[date, date]],
) -> tuple[_Read, sa.Row]:
    """The resource and the people in one query, then its hours and closures in another;
    with the first row of the first (what else it brings)."""
    rows = connection.execute(statement, params).all()
    if not rows:
        raise NotAllowedError("not_found")
    head = rows[0]
    resource_id, venue_id, resource_active, *values = head[: 3 + len(RULE_COLUMNS)]
    requires_approval, qualification_id, qualification_name, venue_name, timezone, version = head[
        3 + len(RULE_COLUMNS) : _PERSON_AT
    ]
    people = {}
    for uid, active, is_admin, role, grant_id, expires_on in (
        row[_PERSON_AT : _PERSON_AT + 6] for row in rows
    ):
        people[uid] = Person(
            uid,
            active,
            is_admin,
            (Seat(venue_id, Role(role)),) if role is not None else (),
            Grant(expires_on) if grant_id is not None else None,
        )
    zone = ZoneInfo(timezone)
    first_day, last_day = days(zone)
    first, _ = local_day_bounds(first_day, zone)
    _, last = local_day_bounds(last_day, zone)
    calendars = Calendars(
        connection.execute(
            _CALENDAR,
            {"resource_id": resource_id, "venue_id": venue_id, "first": first, "last": last},
        )
    )
    rules = rules_of(
        zone,
        values,
        qualification_id is not None,
        calendars.periods(resource_id, venue_id),
        calendars.closed(resource_id, venue_id),
    )
    read = _Read(
        resource_id,
        venue_id,
        venue_name,
        resource_active,
        requires_approval,
        qualification_name,
        rules,
        people,
        version,
    )
    return read, head


class Held(NamedTuple):
    id: int
    status: str
    starts_at: datetime
    blocked_until: datetime
    seats: int
    user_id: int

    def hold(self, member_id: int) -> Hold:
        """As the rules see it, marked when it is the member's own."""
        own = self.id if self.user_id == member_id else None
        return Hold(self.starts_at, self.blocked_until, self.seats, own)


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
    day = to_local(instant, zone).date()
    return day - timedelta(days=day.weekday())


def minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)
