"""Recurring series: every date checked like a single booking, the free ones booked at once."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...extensions import db
from ...localtime import local_week_bounds, to_local
from ...models import MAX_HOLD, Frequency, Reservation, Series
from ...rules import Hold, LocalMoment, Recurrence, Request, Violation, blocking, occurrence_dates
from ..errors import BookingError
from .engine import attach, evaluate, guarded, insert, instant, reservation_row
from .loading import (
    Context,
    Held,
    holds_during,
    load,
    minutes_between,
    minutes_by_week,
    monday_of,
)

# How far a series may reach when a manager overrides the horizon.
OVERRIDDEN_HORIZON_DAYS = 366


@dataclass
class SeriesRequest:
    resource_id: int
    member_id: int
    actor_id: int
    recurrence: Recurrence
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
    violations: list[Violation] = field(default_factory=list)

    @property
    def is_free(self) -> bool:
        return self.starts_at is not None and not self.violations


def _context(session: Session, spec: SeriesRequest, now: datetime, lock: bool) -> Context:
    """What the rules need for every date of the series, closures over its whole span."""

    def days(zone: ZoneInfo) -> tuple[date, date]:
        today = to_local(now, zone).date()
        last = spec.recurrence.until or today + timedelta(days=OVERRIDDEN_HORIZON_DAYS)
        return spec.recurrence.starts_on, max(spec.recurrence.starts_on, last)

    return load(
        session,
        spec.resource_id,
        spec.member_id,
        spec.actor_id,
        spec.overrides,
        lock=lock,
        days=days,
    )


def _occurrences(
    session: Session, context: Context, spec: SeriesRequest, now: datetime
) -> list[Occurrence]:
    rules = context.rules
    today = to_local(now, rules.zone).date()
    # Dates past the resource's horizon are kept and checked like the others: the
    # member sees them left aside with the reason, rather than silently dropped.
    dates = occurrence_dates(spec.recurrence, today + timedelta(days=OVERRIDDEN_HORIZON_DAYS))
    planned: list[tuple[date, datetime | Violation, datetime | Violation]] = [
        (
            day,
            instant(LocalMoment(day, spec.local_start), rules.zone, "starts_at"),
            instant(LocalMoment(day, spec.local_end), rules.zone, "ends_at"),
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
        held = holds_during(session, context, span_start, span_end, now)
        if rules.weekly_quota_minutes is not None:
            week_start, _ = local_week_bounds(span_start, rules.zone)
            _, week_end = local_week_bounds(span_end, rules.zone)
            used = minutes_by_week(session, context, week_start, week_end)
    starts = [h.starts_at for h in held]

    result: list[Occurrence] = []
    accepted: list[Request] = []
    for day, start, end in planned:
        unreadable = [v for v in (start, end) if isinstance(v, Violation)]
        if unreadable:
            result.append(Occurrence(day, None, None, unreadable[:1]))
            continue
        assert isinstance(start, datetime) and isinstance(end, datetime)
        request = Request(start, end, spec.seats)
        # Only holds that start less than MAX_HOLD before this slot can reach it.
        low = bisect.bisect_left(starts, start - MAX_HOLD)
        high = bisect.bisect_left(starts, max(end, start) + rules.buffer)
        nearby = [h.hold(context.member.id) for h in held[low:high]]
        nearby += [Hold(a.starts_at, a.ends_at + rules.buffer, a.seats) for a in accepted]
        monday = monday_of(start, rules.zone)
        minutes = used.get(monday, 0) + sum(
            minutes_between(a.starts_at, a.ends_at)
            for a in accepted
            if monday_of(a.starts_at, rules.zone) == monday
        )
        violations = blocking(evaluate(context, request, now, nearby, minutes), context.overrides)
        if not violations:
            accepted.append(request)
        result.append(Occurrence(day, start, end, violations))
    return result


def _nothing_free(occurrences: list[Occurrence]) -> Violation:
    """Why a series books nothing: every date held by someone is a conflict (409), like a
    single taken slot; otherwise the dates break rules (422)."""
    taken = {"capacity", "own_overlap"}
    if occurrences and all(any(v.code in taken for v in o.violations) for o in occurrences):
        return Violation("series_taken", "starts_on")
    return Violation("series_empty", "starts_on")


def preview_series(
    spec: SeriesRequest, now: datetime, session: Session | None = None
) -> list[Occurrence]:
    """Which dates of the series are free and which conflict, without booking."""
    session = session or db.session
    return _occurrences(session, _context(session, spec, now, lock=False), spec, now)


@dataclass
class SeriesResult:
    series: Series
    booked: list[Reservation]
    skipped: list[Occurrence]


def book_series(spec: SeriesRequest, now: datetime) -> SeriesResult:
    """Book every free occurrence in one transaction; list the ones skipped."""

    def work(session: Session) -> tuple[dict, list[dict], list[Occurrence]]:
        context = _context(session, spec, now, lock=True)
        occurrences = _occurrences(session, context, spec, now)
        free = [o for o in occurrences if o.is_free]
        if not free:
            raise BookingError([_nothing_free(occurrences)])
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
            request = Request(occurrence.starts_at, occurrence.ends_at, spec.seats)
            rows.append(reservation_row(context, request, spec.purpose, now, series["id"]))
        insert(session, context, rows, spec.actor_id, now, "series")
        return series, rows, [o for o in occurrences if not o.is_free]

    series, rows, skipped = guarded(work)
    return SeriesResult(attach(Series, series), [attach(Reservation, row) for row in rows], skipped)
