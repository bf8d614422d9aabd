"""What is free and what is held: the slots of a resource, and a week laid out by local day.

Every question "what holds this resource then?" goes through
``Reservation.overlapping``; pages showing free and busy times get their data
from ``week_of``, in a constant number of queries whatever the history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import rules as r
from ..models import Closure, Reservation, Resource, Status, Venue


def holds(session: Session, resource_id: int, start: datetime, end: datetime) -> list[r.Hold]:
    """The seats held on a resource at some moment of [start, end), buffers included."""
    query = sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats).where(
        Reservation.resource_id == resource_id,
        Reservation.holding(),
        *Reservation.overlapping(start, end),
    )
    return [r.Hold(s, b, n) for s, b, n in session.execute(query)]


@dataclass(frozen=True)
class Busy:
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    seats: int
    pending: bool


def busy_by_resource(
    session: Session, resource_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Busy]]:
    """Free/busy of several resources over [start, end) in one query."""
    result: dict[int, list[Busy]] = defaultdict(list)
    if not resource_ids:
        return result
    query = (
        sa.select(
            Reservation.resource_id,
            Reservation.starts_at,
            Reservation.ends_at,
            Reservation.blocked_until,
            Reservation.seats,
            Reservation.status,
        )
        .where(
            Reservation.resource_id.in_(resource_ids),
            Reservation.holding(),
            *Reservation.overlapping(start, end),
        )
        .order_by(Reservation.starts_at)
    )
    for rid, s, e, b, n, status in session.execute(query):
        result[rid].append(Busy(rid, s, e, b, n, status == Status.PENDING))
    return result


def closures_for(session: Session, venue_id: int, start: datetime, end: datetime) -> list[Closure]:
    """The venue's closures (its own and its resources') that meet [start, end)."""
    return list(
        session.scalars(
            sa.select(Closure)
            .where(Closure.venue_id == venue_id, Closure.ends_at > start, Closure.starts_at < end)
            .order_by(Closure.starts_at)
        )
    )


@dataclass(frozen=True)
class ClosedSpan:
    """Part of a day closed, in local time, with the reason anyone may read."""

    start: datetime
    end: datetime
    reason: str


def _closed_spans(
    closures: list[Closure], resource_id: int, day: date, zone: ZoneInfo
) -> list[ClosedSpan]:
    start, end = r.local_day_bounds(day, zone)
    return [
        ClosedSpan(
            max(c.starts_at, start).astimezone(zone),
            min(c.ends_at, end).astimezone(zone),
            c.public_reason,
        )
        for c in closures
        if c.resource_id in (None, resource_id) and c.meets(start, end)
    ]


def _closed_all_day(spans: list[ClosedSpan], periods: list[tuple[time, time]], day: date) -> bool:
    """Whether the closures cover every opening period of the day (or the whole day)."""
    wanted = periods or [(time(0), None)]
    for opens, closes in wanted:
        covered = any(
            span.start.replace(tzinfo=None) <= datetime.combine(day, opens)
            and (
                span.end.date() > day
                if closes is None
                else span.end.replace(tzinfo=None) >= datetime.combine(day, closes)
            )
            for span in spans
        )
        if not covered:
            return False
    return True


# --- a week, laid out by local day ---------------------------------------------


@dataclass
class Slot:
    start: datetime  # local, aware
    end: datetime
    held_until: datetime
    seats: int
    pending: bool


@dataclass
class Day:
    day: date
    periods: list[tuple[time, time]]
    # Set (to the public reason, maybe empty) when closures cover the whole day.
    closed_reason: str | None
    slots: list[Slot] = field(default_factory=list)
    # Closures over part of the day (all of them when closed_reason is set).
    closed_spans: list[ClosedSpan] = field(default_factory=list)


@dataclass
class ResourceWeek:
    resource: Resource
    days: list[Day]


def week_of(
    session: Session, venue: Venue, resources: list[Resource], first_day: date, days: int = 7
) -> list[ResourceWeek]:
    """Every resource's week in two queries (reservations, closures), whatever the history.

    The resources' opening hours must be loaded by the caller (with the
    resources), so that the number of queries does not grow with them.
    """
    zone = venue.zone
    last_day = first_day + timedelta(days=days - 1)
    start, _ = r.local_day_bounds(first_day, zone)
    _, end = r.local_day_bounds(last_day, zone)
    busy = busy_by_resource(session, [res.id for res in resources], start, end)
    closures = closures_for(session, venue.id, start, end)
    weeks = []
    for resource in resources:
        by_day: list[Day] = []
        periods = resource.opening_periods
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            hours = [(p.opens_at, p.closes_at) for p in periods if p.weekday == day.weekday()]
            spans = _closed_spans(closures, resource.id, day, zone)
            whole = bool(spans) and _closed_all_day(spans, hours, day)
            reason = next((s.reason for s in spans if s.reason), "") if whole else None
            by_day.append(Day(day, hours, reason, closed_spans=spans))
        for held in busy.get(resource.id, []):
            local_start = held.starts_at.astimezone(zone)
            slot = Slot(
                local_start,
                held.ends_at.astimezone(zone),
                held.blocked_until.astimezone(zone),
                held.seats,
                held.pending,
            )
            index = (local_start.date() - first_day).days
            if 0 <= index < days:
                by_day[index].slots.append(slot)
        weeks.append(ResourceWeek(resource, by_day))
    return weeks


def week_start(
    asked: str | date | None, today: date, *, days_back: int = 366, default: date | None = None
) -> date:
    """The first day of a week page: the date asked for (ISO text), within reason, else
    ``default``, else today.

    Dates far from today are refused rather than computed: a week three
    centuries away is a typing mistake or a probe, and would overflow.
    """
    fallback = default or today
    try:
        first = asked if isinstance(asked, date) else date.fromisoformat(asked or "")
    except ValueError:
        return fallback
    if not today - timedelta(days=days_back) <= first <= today + timedelta(days=3 * 366):
        return fallback
    return first
