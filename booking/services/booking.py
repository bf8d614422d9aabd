"""Booking one slot, or a recurring series, under every rule and the database's lock.

A request names its times in the venue's local time (``LocalMoment``: a day
and a wall-clock time) or as UTC instants; this module alone turns the first
into the second, with the venue's zone, so that a form and a series ask the
same way and a time that does not exist is reported on the field that holds it.

A booking costs what the rules need and no more, under the lock:

1. the resource, its venue and its training, locked (``SELECT … FOR UPDATE``
   on PostgreSQL; SQLite already holds its write lock since ``BEGIN IMMEDIATE``);
2. its opening hours and the closures on the days asked for, in one query;
3. the member and whoever books for them, with their role at the venue and
   their training, in one query;
4. what holds the resource at that time (``Reservation.overlapping``);
5. the member's week, only for resources with a weekly quota;
6. the reservations and their audit rows, each in one statement.

The feed stamps that calendars poll are bumped by database triggers inside
those statements (see ``booking.services.feeds``), at no extra round trip.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, make_transient_to_detached

from .. import rules as r
from ..database import run_write
from ..extensions import db
from ..models import (
    MAX_HOLD,
    AuditEvent,
    Closure,
    Frequency,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Role,
    Series,
    Status,
    User,
    Venue,
)
from ..models.users import Membership
from ..permissions import can_act_for_others, can_book_at
from .audit import audit_row
from .errors import BookingError, ConflictError, NotAllowedError
from .lifecycle import expire_rows

T = TypeVar("T")

# How far a series may reach when a manager overrides the horizon.
OVERRIDDEN_HORIZON_DAYS = 366

When = r.LocalMoment | datetime


# --- what the rules need, loaded in a few queries ----------------------------------


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


def _calendar_query(resource_id: int, venue_id: int, first: date, last: date) -> sa.Select:
    """Opening periods (the resource's and its venue's) and closures, in one query."""
    periods = sa.select(
        sa.literal("period"),
        OpeningPeriod.resource_id,
        OpeningPeriod.weekday,
        OpeningPeriod.opens_at,
        OpeningPeriod.closes_at,
        sa.cast(sa.null(), sa.Date),
        sa.cast(sa.null(), sa.Date),
        sa.cast(sa.null(), sa.String),
    ).where(sa.or_(OpeningPeriod.resource_id == resource_id, OpeningPeriod.venue_id == venue_id))
    closures = sa.select(
        sa.literal("closure"),
        Closure.resource_id,
        sa.cast(sa.null(), sa.SmallInteger),
        sa.cast(sa.null(), sa.Time),
        sa.cast(sa.null(), sa.Time),
        Closure.starts_on,
        Closure.ends_on,
        Closure.reason,
    ).where(
        Closure.venue_id == venue_id,
        sa.or_(Closure.resource_id.is_(None), Closure.resource_id == resource_id),
        Closure.starts_on <= last,
        Closure.ends_on >= first,
    )
    return sa.union_all(periods, closures)


def _people_query(ids: set[int], venue_id: int, qualification_id: int | None) -> sa.Select:
    grant_on = QualificationGrant.user_id == User.id
    if qualification_id is None:
        grant_on = sa.and_(grant_on, sa.false())
    else:
        grant_on = sa.and_(grant_on, QualificationGrant.qualification_id == qualification_id)
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
            Membership, sa.and_(Membership.user_id == User.id, Membership.venue_id == venue_id)
        )
        .outerjoin(QualificationGrant, grant_on)
        .where(User.id.in_(sorted(ids)))
    )


def _load(
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
    row = session.execute(
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
    first, last = days(zone)

    own: list[r.Period] = []
    general: list[r.Period] = []
    closures: list[r.DateRange] = []
    for kind, owner, weekday, opens, closes, starts_on, ends_on, reason in session.execute(
        _calendar_query(resource_id, venue_id, first, last)
    ):
        if kind == "closure":
            closures.append(r.DateRange(starts_on, ends_on, reason or ""))
        else:
            (own if owner == resource_id else general).append(r.Period(weekday, opens, closes))

    people: dict[int, Person] = {}
    for uid, active, is_admin, role, grant_id, expires_on in session.execute(
        _people_query({member_id, actor_id}, venue_id, qualification_id)
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
        closures=tuple(sorted(closures, key=lambda c: c.starts_on)),
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


def _holds(
    session: Session, context: Context, start: datetime, end: datetime, now: datetime
) -> list[Held]:
    """What holds the resource during [start, end). Requests still pending once their
    start has passed expire here (PostgreSQL's constraint would otherwise see them)."""
    query = (
        sa.select(
            Reservation.id,
            Reservation.status,
            Reservation.starts_at,
            Reservation.blocked_until,
            Reservation.seats,
        )
        .where(
            Reservation.resource_id == context.resource_id,
            Reservation.holding(),
            *Reservation.overlapping(start, end),
        )
        .order_by(Reservation.starts_at)
    )
    rows = [Held(*row) for row in session.execute(query)]
    overdue = [h.id for h in rows if h.status == Status.PENDING and h.starts_at <= now]
    if overdue:
        expire_rows(session, now, ids=overdue)
        rows = [h for h in rows if h.id not in overdue]
    return rows


def _minutes_by_week(
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
        monday = _monday(s, context.rules.zone)
        used[monday] = used.get(monday, 0) + _minutes(s, e)
    return used


def _monday(instant: datetime, zone: ZoneInfo) -> date:
    day = r.to_local(instant, zone).date()
    return day - timedelta(days=day.weekday())


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


# --- the evaluation ---------------------------------------------------------------


def _person_violations(context: Context, day: date, training: bool = True) -> list[r.Violation]:
    """What stops this member booking this resource, whatever the time."""
    member = context.member
    violations: list[r.Violation] = []
    if not member.active:
        violations.append(r.Violation("account_inactive"))
    elif not can_book_at(member, context.venue_id):  # type: ignore[arg-type]
        violations.append(r.Violation("no_role", None, {"venue": context.venue_name}))
    if not context.resource_active:
        violations.append(r.Violation("resource_retired"))
    if training:
        violations.extend(
            r.check_qualification(context.rules, member.grant, day, context.qualification_name)
        )
    return violations


def _evaluate(
    context: Context,
    request: r.Request,
    now: datetime,
    held: Sequence[r.Hold],
    minutes_this_week: int,
) -> list[r.Violation]:
    """Every violated rule, soft ones included."""
    rules = context.rules
    day = r.to_local(request.starts_at, rules.zone).date()
    violations = _person_violations(context, day, training=False)
    shape = r.check_shape(request, rules)
    violations.extend(shape)
    if any(v.code == "end_before_start" for v in shape):
        return violations
    violations.extend(r.check_timing(request, rules, now))
    violations.extend(r.check_capacity(request, rules, held))
    violations.extend(r.check_quota(request, rules, minutes_this_week))
    violations.extend(
        r.check_qualification(rules, context.member.grant, day, context.qualification_name)
    )
    return violations


def _instant(moment: When, zone: ZoneInfo, field_name: str) -> datetime | r.Violation:
    """The UTC instant of a request's time, or why it has none."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a booking time is a LocalMoment or an aware datetime")
        return moment.astimezone(UTC)
    try:
        return r.to_utc(datetime.combine(moment.day, moment.at), zone)
    except r.LocalTimeError as error:
        return r.Violation(error.code, field_name)


def _local_day(moment: When, zone: ZoneInfo) -> date:
    return moment.day if isinstance(moment, r.LocalMoment) else moment.astimezone(zone).date()


# --- writing ----------------------------------------------------------------------


def _reservation_row(
    context: Context,
    request: r.Request,
    purpose: str,
    now: datetime,
    series_id: int | None = None,
) -> dict:
    needs_decision = context.requires_approval and not context.by_manager
    return {
        "uid": str(uuid.uuid4()),
        "resource_id": context.resource_id,
        "user_id": context.member.id,
        "created_by_id": context.actor.id,
        "series_id": series_id,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "blocked_until": request.ends_at + context.rules.buffer,
        "exclusive": context.exclusive,
        "seats": request.seats,
        "purpose": purpose.strip(),
        "status": Status.PENDING if needs_decision else Status.CONFIRMED,
        "decided_by_id": None,
        "decided_at": None,
        "decision_reason": "",
        "overrides": ",".join(sorted(context.overrides)),
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }


def _insert(
    session: Session, rows: list[dict], actor_id: int, now: datetime, detail: str
) -> list[dict]:
    """Insert reservations and their "created" audit rows: one statement each."""
    ids = session.scalars(
        sa.insert(Reservation).returning(Reservation.id, sort_by_parameter_order=True), rows
    ).all()
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    session.execute(
        sa.insert(AuditEvent),
        [audit_row("created", row["id"], row["series_id"], actor_id, now, detail) for row in rows],
    )
    return rows


def _attach(model: type[T], values: dict) -> T:
    """An ORM object for a row just written, known to the session without reading it back."""
    instance = model(**values)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance


def _guarded(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction; a lost race becomes ConflictError."""
    try:
        return run_write(work)
    except IntegrityError as error:
        # PostgreSQL's exclusion constraint: another transaction won the slot.
        if getattr(error.orig, "sqlstate", None) == "23P01":
            raise ConflictError() from error
        raise
    except OperationalError as error:
        # SQLite gave up waiting for the write lock: the slot may be taken.
        if "locked" in str(error.orig):
            raise ConflictError() from error
        raise


# --- one slot -----------------------------------------------------------------------


def book(
    *,
    resource_id: int,
    member_id: int,
    actor_id: int,
    starts_at: When,
    ends_at: When,
    now: datetime,
    seats: int = 1,
    purpose: str = "",
    overrides: frozenset[str] = frozenset(),
) -> Reservation:
    """Book one slot. Raises BookingError listing every rule that stands in the way."""

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = [_local_day(moment, zone) for moment in (starts_at, ends_at)]
        return min(local), max(local)

    def work(session: Session) -> dict:
        context = _load(session, resource_id, member_id, actor_id, overrides, lock=True, days=days)
        zone = context.rules.zone
        start = _instant(starts_at, zone, "starts_at")
        end = _instant(ends_at, zone, "ends_at")
        unreadable = [v for v in (start, end) if isinstance(v, r.Violation)]
        if unreadable:
            raise BookingError(unreadable)
        assert isinstance(start, datetime) and isinstance(end, datetime)
        request = r.Request(start, end, seats)
        blocked_until = end + context.rules.buffer
        held = [
            r.Hold(h.starts_at, h.blocked_until, h.seats)
            for h in _holds(session, context, start, max(blocked_until, start), now)
        ]
        used = 0
        if context.rules.weekly_quota_minutes is not None:
            week_start, week_end = r.local_week_bounds(start, zone)
            used = _minutes_by_week(session, context, week_start, week_end).get(
                _monday(start, zone), 0
            )
        standing = r.blocking(_evaluate(context, request, now, held, used), context.overrides)
        if standing:
            raise BookingError(standing)
        row = _reservation_row(context, request, purpose, now)
        detail = f"overrides={row['overrides']}" if row["overrides"] else ""
        return _insert(session, [row], actor_id, now, detail)[0]

    return _attach(Reservation, _guarded(work))


def obstacles(*, resource_id: int, user_id: int, now: datetime) -> list[r.Violation]:
    """What will stop this person booking this resource, said before they fill a form in.

    A dry run of the engine's own checks on the person and the resource (role,
    account, training, retired resource), for today. Managers may book for
    someone who qualifies: only what concerns the resource stands for them.
    """

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = r.to_local(now, zone).date()
        return local, local

    context = _load(db.session, resource_id, user_id, user_id, frozenset(), lock=False, days=days)
    today = r.to_local(now, context.rules.zone).date()
    violations = _person_violations(context, today)
    if context.by_manager:
        return [v for v in violations if v.code == "resource_retired"]
    return violations


# --- series -------------------------------------------------------------------


@dataclass
class SeriesRequest:
    resource_id: int
    member_id: int
    actor_id: int
    recurrence: r.Recurrence
    local_start: time
    local_end: time
    seats: int = 1
    purpose: str = ""
    overrides: frozenset[str] = frozenset()


@dataclass
class Occurrence:
    day: date
    starts_at: datetime | None
    ends_at: datetime | None
    violations: list[r.Violation] = field(default_factory=list)

    @property
    def is_free(self) -> bool:
        return self.starts_at is not None and not self.violations


def _series_days(spec: SeriesRequest, now: datetime) -> Callable[[ZoneInfo], tuple[date, date]]:
    def days(zone: ZoneInfo) -> tuple[date, date]:
        today = r.to_local(now, zone).date()
        last = spec.recurrence.until or today + timedelta(days=OVERRIDDEN_HORIZON_DAYS)
        return spec.recurrence.starts_on, max(spec.recurrence.starts_on, last)

    return days


def _occurrences(
    session: Session, context: Context, spec: SeriesRequest, now: datetime
) -> list[Occurrence]:
    rules = context.rules
    today = r.to_local(now, rules.zone).date()
    horizon = OVERRIDDEN_HORIZON_DAYS if "horizon" in context.overrides else rules.horizon_days
    dates = r.occurrence_dates(spec.recurrence, today + timedelta(days=horizon))
    planned: list[tuple[date, datetime | r.Violation, datetime | r.Violation]] = [
        (
            day,
            _instant(r.LocalMoment(day, spec.local_start), rules.zone, "starts_at"),
            _instant(r.LocalMoment(day, spec.local_end), rules.zone, "ends_at"),
        )
        for day in dates
    ]
    instants = [
        (s, e) for _, s, e in planned if isinstance(s, datetime) and isinstance(e, datetime)
    ]
    held: list[Held] = []
    used: dict[date, int] = {}
    if instants:
        span_start = min(s for s, _ in instants)
        span_end = max(max(e, s) for s, e in instants) + rules.buffer
        held = _holds(session, context, span_start, span_end, now)
        if rules.weekly_quota_minutes is not None:
            week_start, _ = r.local_week_bounds(span_start, rules.zone)
            _, week_end = r.local_week_bounds(span_end, rules.zone)
            used = _minutes_by_week(session, context, week_start, week_end)
    starts = [h.starts_at for h in held]

    result: list[Occurrence] = []
    accepted: list[r.Request] = []
    for day, start, end in planned:
        unreadable = [v for v in (start, end) if isinstance(v, r.Violation)]
        if unreadable:
            result.append(Occurrence(day, None, None, unreadable[:1]))
            continue
        assert isinstance(start, datetime) and isinstance(end, datetime)
        request = r.Request(start, end, spec.seats)
        # Only holds that start less than MAX_HOLD before this slot can reach it.
        low = bisect.bisect_left(starts, start - MAX_HOLD)
        high = bisect.bisect_left(starts, max(end, start) + rules.buffer)
        nearby = [r.Hold(h.starts_at, h.blocked_until, h.seats) for h in held[low:high]]
        nearby += [r.Hold(a.starts_at, a.ends_at + rules.buffer, a.seats) for a in accepted]
        monday = _monday(start, rules.zone)
        minutes = used.get(monday, 0) + sum(
            _minutes(a.starts_at, a.ends_at)
            for a in accepted
            if _monday(a.starts_at, rules.zone) == monday
        )
        violations = r.blocking(
            _evaluate(context, request, now, nearby, minutes), context.overrides
        )
        if not violations:
            accepted.append(request)
        result.append(Occurrence(day, start, end, violations))
    return result


def preview_series(
    spec: SeriesRequest, now: datetime, session: Session | None = None
) -> list[Occurrence]:
    """Which dates of the series are free and which conflict, without booking."""
    session = session or db.session
    context = _load(
        session,
        spec.resource_id,
        spec.member_id,
        spec.actor_id,
        spec.overrides,
        lock=False,
        days=_series_days(spec, now),
    )
    return _occurrences(session, context, spec, now)


@dataclass
class SeriesResult:
    series: Series
    booked: list[Reservation]
    skipped: list[Occurrence]


def book_series(spec: SeriesRequest, now: datetime) -> SeriesResult:
    """Book every free occurrence in one transaction; list the ones skipped."""

    def work(session: Session) -> tuple[dict, list[dict], list[Occurrence]]:
        context = _load(
            session,
            spec.resource_id,
            spec.member_id,
            spec.actor_id,
            spec.overrides,
            lock=True,
            days=_series_days(spec, now),
        )
        occurrences = _occurrences(session, context, spec, now)
        free = [o for o in occurrences if o.is_free]
        if not free:
            raise BookingError([r.Violation("series_empty", "starts_on")])
        rec = spec.recurrence
        series = {
            "resource_id": spec.resource_id,
            "user_id": spec.member_id,
            "created_by_id": spec.actor_id,
            "frequency": Frequency(rec.frequency),
            "interval_count": rec.interval,
            "weekdays": ",".join(str(d) for d in sorted(set(rec.weekdays))),
            "starts_on": rec.starts_on,
            "until": rec.until,
            "occurrences": rec.count,
            "local_start": spec.local_start,
            "local_end": spec.local_end,
            "purpose": spec.purpose.strip(),
            "created_at": now,
        }
        series["id"] = session.scalar(sa.insert(Series).returning(Series.id), series)
        rows = []
        for occurrence in free:
            assert occurrence.starts_at is not None and occurrence.ends_at is not None
            request = r.Request(occurrence.starts_at, occurrence.ends_at, spec.seats)
            rows.append(_reservation_row(context, request, spec.purpose, now, series["id"]))
        _insert(session, rows, spec.actor_id, now, "series")
        return series, rows, [o for o in occurrences if not o.is_free]

    series, rows, skipped = _guarded(work)
    return SeriesResult(
        _attach(Series, series), [_attach(Reservation, row) for row in rows], skipped
    )
