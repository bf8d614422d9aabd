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

A booking being changed (``load_booking``) is found from its id: its resource is
locked through it first (the booking and the change it may wait for must be read as
the last writer left them), then its calendar and the people come, the booking with
the change it may already wait for on the rows of the people query: as many
statements as a booking.

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
# The resource, its venue, its training and its stamp, with the member and whoever books
# for them (each a row), their role at the venue and their training for the resource.
_HEAD = (
    sa.select(
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
    )
    .select_from(Resource)
    .join(Venue, Venue.id == Resource.venue_id)
    .join(User, sa.or_(User.id == sa.bindparam("member_id"), User.id == sa.bindparam("actor_id")))
    .outerjoin(Qualification, Qualification.id == Resource.qualification_id)
    .outerjoin(_STAMP, _ON_STAMP)
    .outerjoin(
        Membership, sa.and_(Membership.user_id == User.id, Membership.venue_id == Resource.venue_id)
    )
    .outerjoin(
        QualificationGrant,
        sa.and_(
            QualificationGrant.user_id == User.id,
            QualificationGrant.qualification_id == Resource.qualification_id,
        ),
    )
    .where(Resource.id == sa.bindparam("resource_id"))
)
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
    read = _read(connection, resource_id, member_id, actor_id, days)
    if lock and connection.dialect.name != "sqlite":
        params = {"resource_id": resource_id}
        locked = connection.execute(_LOCK, params).one_or_none()
        if locked is None and connection.execute(_LOCK_RESOURCE, params).first() is None:
            raise NotAllowedError("not_found")
        if locked is None or locked[0] != read.version:
            # Its rules, hours, closures or bookings changed since: read under the lock.
            read = _read(connection, resource_id, member_id, actor_id, days)
    member, actor = read.people.get(member_id), read.people.get(actor_id)
    if member is None or actor is None:
        raise NotAllowedError("not_found")
    context = Context(
        resource_id=resource_id,
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

# Every column of a reservation, in the mapper's order: a booking being changed is read
# as a plain row (and written back past the ORM, like a new one).
BOOKING_COLUMNS = tuple(attr.key for attr in sa.inspect(Reservation).column_attrs)
BOOKED = aliased(Reservation, name="booking")
WAITING_CHANGE = aliased(Reservation, name="pending_change")

# The resource of a reservation (which never changes resource), locked as a booking locks it.
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


def _with_booking(statement: sa.Select) -> sa.Select:
    """The people statement, with the booking and the change it waits for on every row:
    read after the resource's lock, they are as the last writer left them."""
    return (
        statement.add_columns(
            *(getattr(BOOKED, key).label(f"booking_{key}") for key in BOOKING_COLUMNS),
            *(getattr(WAITING_CHANGE, key).label(f"pending_{key}") for key in BOOKING_COLUMNS),
        )
        .join(BOOKED, BOOKED.id == sa.bindparam("reservation_id"))
        .outerjoin(WAITING_CHANGE, WAITING_CHANGE.replaces_id == BOOKED.id)
        .where(sa.or_(User.id == BOOKED.user_id, User.id == sa.bindparam("actor_id")))
    )


PEOPLE_WITH_BOOKING = {
    True: _with_booking(people_statement(True, by_member=False)),
    False: _with_booking(people_statement(False, by_member=False)),
}
# Where the booking's member is on a row of that statement.
BOOKING_USER = 6 + BOOKING_COLUMNS.index("user_id")


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
    """What changing a booking needs, in as many queries as booking: the resource locked,
    its calendar, then the people with the booking (and its pending change) on their rows."""
    connection = session.connection()
    found = connection.execute(
        RESOURCE_OF_BOOKING_LOCKED if lock else RESOURCE_OF_BOOKING,
        {"reservation_id": reservation_id},
    ).one_or_none()
    if found is None:
        raise NotAllowedError("not_found")
    resource_id, *row = found
    context, rows = context_of(
        session,
        resource_id,
        tuple(row),
        actor_id,
        overrides,
        days,
        PEOPLE_WITH_BOOKING,
        {"reservation_id": reservation_id},
        lambda rows: rows[0][BOOKING_USER] if rows else None,
    )
    width = len(BOOKING_COLUMNS)
    booking = dict(zip(BOOKING_COLUMNS, rows[0][6 : 6 + width], strict=True))
    pending_values = rows[0][6 + width :]
    pending = (
        dict(zip(BOOKING_COLUMNS, pending_values, strict=True))
        if pending_values[0] is not None
        else None
    )
    return context, Booking(booking, pending)


@dataclass(frozen=True)
class _Read:
    """A resource and two people as a booking reads them: the venue, the rules with the
    hours and closures of the days asked, the people, and the resource's stamp then."""

    venue_id: int
    venue_name: str
    active: bool
    requires_approval: bool
    qualification_name: str | None
    rules: Rules
    people: dict[int, Person]
    version: int | None


def _read(
    connection: sa.Connection,
    resource_id: int,
    member_id: int,
    actor_id: int,
    days: Callable[[ZoneInfo], tuple[date, date]],
) -> _Read:
    """The resource and the people in one query, then its hours and closures in another."""
    rows = connection.execute(
        _HEAD, {"resource_id": resource_id, "member_id": member_id, "actor_id": actor_id}
    ).all()
    if not rows:
        raise NotAllowedError("not_found")
    head = rows[0]
    venue_id, resource_active, *values = head[: 2 + len(RULE_COLUMNS)]
    requires_approval, qualification_id, qualification_name, venue_name, timezone, version = head[
        2 + len(RULE_COLUMNS) : 8 + len(RULE_COLUMNS)
    ]
    people = {}
    for uid, active, is_admin, role, grant_id, expires_on in (
        row[8 + len(RULE_COLUMNS) :] for row in rows
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
    return _Read(
        venue_id,
        venue_name,
        resource_active,
        requires_approval,
        qualification_name,
        rules,
        people,
        version,
    )


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
