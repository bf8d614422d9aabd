"""Booking one slot, or a recurring series, under every rule and the database's lock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from .. import rules as r
from ..database import write_transaction
from ..models import Frequency, Reservation, Resource, Series, Status, User
from .audit import record
from .availability import holds, holds_valid_qualification, minutes_booked, rules_for
from .errors import BookingError, ConflictError, NotAllowedError
from .lifecycle import expire_overdue

T = TypeVar("T")

# How far a series may reach when a manager overrides the horizon.
OVERRIDDEN_HORIZON_DAYS = 366


@dataclass
class Context:
    """Who books what, loaded once per transaction."""

    resource: Resource
    member: User
    actor: User
    rules: r.Rules
    overrides: frozenset[str]

    @property
    def by_manager(self) -> bool:
        return self.actor.is_manager_of(self.resource.venue)


def _load(
    session: Session,
    resource_id: int,
    member_id: int,
    actor_id: int,
    overrides: frozenset[str],
    lock: bool,
) -> Context:
    query = sa.select(Resource).where(Resource.id == resource_id)
    if lock:
        # PostgreSQL: bookings of one resource queue here, so the count of
        # seats in use below sees every booking committed before ours.
        # SQLite: ignored, BEGIN IMMEDIATE already serialises writers.
        query = query.with_for_update()
    resource = session.scalar(query)
    member = session.get(User, member_id)
    actor = session.get(User, actor_id)
    if resource is None or member is None or actor is None:
        raise NotAllowedError("not_found")
    context = Context(resource, member, actor, rules_for(resource), frozenset(overrides))
    if actor.id != member.id and not context.by_manager:
        raise NotAllowedError("book_for_others")
    if context.overrides and not context.by_manager:
        raise NotAllowedError("override")
    unknown = context.overrides - r.SOFT_RULES
    if unknown:
        raise NotAllowedError("override")
    return context


def _evaluate(
    session: Session,
    context: Context,
    request: r.Request,
    now: datetime,
    batch: Sequence[r.Request] = (),
) -> list[r.Violation]:
    """Every violated rule, soft ones included. ``batch``: slots accepted earlier
    in the same series, not yet written."""
    rules, resource, member = context.rules, context.resource, context.member
    violations: list[r.Violation] = []
    if not member.active:
        violations.append(r.Violation("account_inactive"))
    elif not member.can_book_at(resource.venue):
        violations.append(r.Violation("no_role", None, {"venue": resource.venue.name}))
    if not resource.is_active:
        violations.append(r.Violation("resource_retired"))

    shape = r.check_shape(request, rules)
    violations.extend(shape)
    if any(v.code == "end_before_start" for v in shape):
        return violations
    violations.extend(r.check_timing(request, rules, now))

    blocked_until = request.ends_at + rules.buffer
    existing = holds(session, resource.id, request.starts_at, blocked_until)
    existing += [r.Hold(b.starts_at, b.ends_at + rules.buffer, b.seats) for b in batch]
    violations.extend(r.check_capacity(request, rules, existing))

    week_start, week_end = r.local_week_bounds(request.starts_at, rules.zone)
    used = minutes_booked(session, resource.id, member.id, week_start, week_end)
    used += sum(
        int((b.ends_at - b.starts_at).total_seconds() // 60)
        for b in batch
        if week_start <= b.starts_at < week_end
    )
    violations.extend(r.check_quota(request, rules, used))

    local_day = r.to_local(request.starts_at, rules.zone).date()
    qualified = holds_valid_qualification(session, member.id, resource.qualification_id, local_day)
    name = resource.qualification.name if resource.qualification else ""
    violations.extend(r.check_qualification(rules, qualified, name))
    return violations


def _new_reservation(
    context: Context, request: r.Request, purpose: str, now: datetime
) -> Reservation:
    needs_decision = context.resource.requires_approval and not context.by_manager
    return Reservation(
        resource_id=context.resource.id,
        user_id=context.member.id,
        created_by_id=context.actor.id,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        blocked_until=request.ends_at + context.rules.buffer,
        exclusive=context.resource.is_exclusive,
        seats=request.seats,
        purpose=purpose.strip(),
        status=Status.PENDING if needs_decision else Status.CONFIRMED,
        overrides=",".join(sorted(context.overrides)),
        created_at=now,
        updated_at=now,
    )


def _commit_guarded(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction; a lost race becomes ConflictError."""
    try:
        with write_transaction() as session:
            return work(session)
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


def book(
    *,
    resource_id: int,
    member_id: int,
    actor_id: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    seats: int = 1,
    purpose: str = "",
    overrides: frozenset[str] = frozenset(),
) -> Reservation:
    """Book one slot. Raises BookingError listing every rule that stands in the way."""
    request = r.Request(starts_at, ends_at, seats)

    def work(session: Session) -> Reservation:
        context = _load(session, resource_id, member_id, actor_id, overrides, lock=True)
        expire_overdue(session, now, resource_id=resource_id)
        standing = r.blocking(_evaluate(session, context, request, now), context.overrides)
        if standing:
            raise BookingError(standing)
        reservation = _new_reservation(context, request, purpose, now)
        session.add(reservation)
        session.flush()
        detail = f"overrides={reservation.overrides}" if reservation.overrides else ""
        record(session, "created", reservation, actor_id, now, detail)
        return reservation

    return _commit_guarded(work)


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


def _occurrences(
    session: Session, context: Context, spec: SeriesRequest, now: datetime
) -> list[Occurrence]:
    rules = context.rules
    today = r.to_local(now, rules.zone).date()
    horizon = OVERRIDDEN_HORIZON_DAYS if "horizon" in context.overrides else rules.horizon_days
    dates = r.occurrence_dates(spec.recurrence, today + timedelta(days=horizon))
    result: list[Occurrence] = []
    accepted: list[r.Request] = []
    for day in dates:
        try:
            starts_at = r.to_utc(datetime.combine(day, spec.local_start), rules.zone)
            ends_at = r.to_utc(datetime.combine(day, spec.local_end), rules.zone)
        except r.LocalTimeError as error:
            field_name = "starts_at" if error.local.time() == spec.local_start else "ends_at"
            result.append(Occurrence(day, None, None, [r.Violation(error.code, field_name)]))
            continue
        request = r.Request(starts_at, ends_at, spec.seats)
        violations = r.blocking(
            _evaluate(session, context, request, now, accepted), context.overrides
        )
        if not violations:
            accepted.append(request)
        result.append(Occurrence(day, starts_at, ends_at, violations))
    return result


def preview_series(
    spec: SeriesRequest, now: datetime, session: Session | None = None
) -> list[Occurrence]:
    """Which dates of the series are free and which conflict, without booking."""
    from ..extensions import db

    session = session or db.session
    context = _load(
        session, spec.resource_id, spec.member_id, spec.actor_id, spec.overrides, lock=False
    )
    return _occurrences(session, context, spec, now)


@dataclass
class SeriesResult:
    series: Series
    booked: list[Reservation]
    skipped: list[Occurrence]


def book_series(spec: SeriesRequest, now: datetime) -> SeriesResult:
    """Book every free occurrence in one transaction; list the ones skipped."""

    def work(session: Session) -> SeriesResult:
        context = _load(
            session, spec.resource_id, spec.member_id, spec.actor_id, spec.overrides, lock=True
        )
        expire_overdue(session, now, resource_id=spec.resource_id)
        occurrences = _occurrences(session, context, spec, now)
        free = [o for o in occurrences if o.is_free]
        if not free:
            raise BookingError([r.Violation("series_empty", "starts_on")])
        rec = spec.recurrence
        series = Series(
            resource_id=spec.resource_id,
            user_id=spec.member_id,
            created_by_id=spec.actor_id,
            frequency=Frequency(rec.frequency),
            interval_count=rec.interval,
            weekdays=",".join(str(d) for d in sorted(set(rec.weekdays))),
            starts_on=rec.starts_on,
            until=rec.until,
            occurrences=rec.count,
            local_start=spec.local_start,
            local_end=spec.local_end,
            purpose=spec.purpose.strip(),
            created_at=now,
        )
        session.add(series)
        session.flush()
        booked = []
        for occurrence in free:
            assert occurrence.starts_at is not None and occurrence.ends_at is not None
            request = r.Request(occurrence.starts_at, occurrence.ends_at, spec.seats)
            reservation = _new_reservation(context, request, spec.purpose, now)
            reservation.series_id = series.id
            session.add(reservation)
            booked.append(reservation)
        session.flush()
        for reservation in booked:
            record(session, "created", reservation, spec.actor_id, now, "series")
        skipped = [o for o in occurrences if not o.is_free]
        return SeriesResult(series, booked, skipped)

    return _commit_guarded(work)
