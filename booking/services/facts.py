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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


_RESOURCE = (
    sa.select(
        Resource.venue_id,
        Resource.is_active,
        Resource.capacity,
        Resource.slot_minutes,
        Resource.min_duration_minutes,
        Resource.max_duration_minutes,
        Resource.min_notice_minutes,
        Resource.horizon_days,
        Resource.buffer_minutes,
        Resource.weekly_quota_minutes,
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


def _calendar_statement() -> sa.CompoundSelect:
    """Opening periods (the resource's and its venue's) and closures, in one query."""
    resource_id, venue_id = sa.bindparam("resource_id"), sa.bindparam("venue_id")
    periods = sa.select(
        sa.literal("period"),
        OpeningPeriod.resource_id,
        OpeningPeriod.weekday,
        OpeningPeriod.opens_at,
        OpeningPeriod.closes_at,
        sa.cast(sa.null(), UTCDateTime),
        sa.cast(sa.null(), UTCDateTime),
        sa.cast(sa.null(), sa.String),
    ).where(sa.or_(OpeningPeriod.resource_id == resource_id, OpeningPeriod.venue_id == venue_id))
    closures = sa.select(
        sa.literal("closure"),
        Closure.resource_id,
        sa.cast(sa.null(), sa.SmallInteger),
        sa.cast(sa.null(), sa.Time),
        sa.cast(sa.null(), sa.Time),
        Closure.starts_at,
        Closure.ends_at,
        # Members are told the reason only when the manager made it public.
        sa.case((Closure.reason_public, Closure.reason), else_=sa.literal("")),
    ).where(
        Closure.venue_id == venue_id,
        sa.or_(Closure.resource_id.is_(None), Closure.resource_id == resource_id),
        Closure.starts_at < sa.bindparam("last", type_=UTCDateTime),
        Closure.ends_at > sa.bindparam("first", type_=UTCDateTime),
    )
    return sa.union_all(periods, closures)


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


_CALENDAR = _calendar_statement()
_PEOPLE = {True: _people_statement(True), False: _people_statement(False)}
_HOLDS = (
    sa.select(
        Reservation.id,
        Reservation.status,
        Reservation.starts_at,
        Reservation.blocked_until,
        Reservation.seats,
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
    (
        venue_id,
        resource_active,
        capacity,
        slot,
        min_duration,
        max_duration,
        notice,
        horizon,
        buffer,
        quota,
        requires_approval,
        qualification_id,
        qualification_name,
        venue_name,
        timezone,
    ) = row
    zone = ZoneInfo(timezone)
    first_day, last_day = days(zone)
    first, _ = r.local_day_bounds(first_day, zone)
    _, last = r.local_day_bounds(last_day, zone)

    own: list[r.Period] = []
    general: list[r.Period] = []
    closures: list[r.ClosedRange] = []
    for kind, owner, weekday, opens, closes, starts_at, ends_at, reason in connection.execute(
        _CALENDAR, {"resource_id": resource_id, "venue_id": venue_id, "first": first, "last": last}
    ):
        if kind == "closure":
            closures.append(r.ClosedRange(starts_at, ends_at, reason or ""))
        else:
            (own if owner == resource_id else general).append(r.Period(weekday, opens, closes))

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

    rules = r.Rules(
        zone=zone,
        capacity=capacity,
        slot_minutes=slot,
        min_duration_minutes=min_duration,
        max_duration_minutes=max_duration,
        min_notice_minutes=notice,
        horizon_days=horizon,
        buffer_minutes=buffer,
        weekly_quota_minutes=quota,
        requires_qualification=qualification_id is not None,
        periods=tuple(sorted(own or general, key=lambda p: (p.weekday, p.opens_at))),
        closures=tuple(sorted(closures, key=lambda c: c.starts_at)),
    )
    context = Context(
        resource_id=resource_id,
        venue_id=venue_id,
        venue_name=venue_name,
        resource_active=resource_active,
        exclusive=capacity == 1,
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
