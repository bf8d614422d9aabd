"""What is free and what is held: the slots of a resource, and a week laid out by local day.

Every question "what holds this resource then?" goes through
``Reservation.overlapping``; pages showing free and busy times get their data
from ``week_of``, in a constant number of queries whatever the history.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...localtime import local_day_bounds
from ...models import (
    HOLDING_STATUSES,
    MAX_HOLD,
    Closure,
    Reservation,
    Resource,
    Status,
    UTCDateTime,
    Venue,
)
from ...rules import Hold, Rules
from ..keeping import MinuteStore
from .bookables import Bookable, bookables
from .candidates import instant, on_grid, pick


def holds(session: Session, resource_id: int, start: datetime, end: datetime) -> list[Hold]:
    """The seats held on a resource at some moment of [start, end), buffers included."""
    query = sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats).where(
        Reservation.resource_id == resource_id,
        Reservation.holding(),
        *Reservation.overlapping(start, end),
    )
    return [Hold(s, b, n) for s, b, n in session.execute(query)]


class Busy(NamedTuple):
    """A booking as free/busy pages show it (a named tuple: a week holds hundreds)."""

    resource_id: int
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    seats: int
    pending: bool


_BUSY = (
    sa.select(
        Reservation.resource_id,
        Reservation.starts_at,
        Reservation.ends_at,
        Reservation.blocked_until,
        Reservation.seats,
        Reservation.status,
    )
    .where(
        Reservation.resource_id.in_(sa.bindparam("resource_ids", expanding=True)),
        *Reservation.overlapping(
            sa.bindparam("start", type_=UTCDateTime),
            sa.bindparam("end", type_=UTCDateTime),
            earliest=sa.bindparam("earliest", type_=UTCDateTime),
        ),
    )
    .order_by(Reservation.starts_at)
)
# The statuses that hold a slot are sorted out in Python, not in SQL: with a list of
# resources and no statistics, SQLite would rather scan the whole network's bookings of
# those weeks by status than one range of ix_reservation_resource_starts per resource.
_HOLDING = frozenset(HOLDING_STATUSES)


def busy_by_resource(
    session: Session, resource_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Busy]]:
    """Free/busy of several resources over [start, end) in one query (built once, at import:
    week pages ask it on every view)."""
    result: dict[int, list[Busy]] = defaultdict(list)
    if not resource_ids:
        return result
    rows = session.connection().execute(
        _BUSY,
        {
            "resource_ids": list(resource_ids),
            "start": start,
            "end": end,
            "earliest": start - MAX_HOLD,
        },
    )
    for rid, s, e, b, n, status in rows:
        if status in _HOLDING:
            result[rid].append(Busy(rid, s, e, b, n, status == Status.PENDING))
    return result


def closures_for(session: Session, venue_id: int, start: datetime, end: datetime) -> list[Closure]:
    """The venue's closures (its own and its resources') that meet [start, end)."""
    return list(
        session.scalars(
            sa.select(Closure)
            .where(Closure.venue_id == venue_id, *Closure.overlapping(start, end))
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
    start, end = local_day_bounds(day, zone)
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
    start, _ = local_day_bounds(first_day, zone)
    _, end = local_day_bounds(last_day, zone)
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


# --- a week as free and held time ranges, seats counted ---------------------------


@dataclass(slots=True)
class Range:
    """A stretch of one day that is free, partly taken or taken, as a member reads it.

    A taken range runs until the resource is free again, buffer included;
    ``in_use_until`` is when the last booking in it ends (the buffer follows).
    Seats are counted at the busiest moment of the range.
    """

    starts_at: datetime  # aware, in the venue's zone
    ends_at: datetime
    in_use_until: datetime
    free_seats: int
    capacity: int
    pending: bool  # held only by requests awaiting a decision
    opening: bool  # within opening hours (a manager may book outside them)
    pick: tuple[datetime, datetime] | None = None  # a slot the engine accepts, local
    # For time taken, or partly taken, within the hours and still to come: the slot a member
    # may ask to be told about when it frees (local), on the grid, within the rules' lengths.
    wait: tuple[datetime, datetime] | None = None

    @property
    def state(self) -> str:
        if self.free_seats >= self.capacity:
            return "free"
        return "full" if self.free_seats <= 0 else "partial"


@dataclass(slots=True)
class _Stretch:
    """Consecutive moments of one day in the same state, while they are being merged."""

    start: datetime
    end: datetime
    state: str
    peak: int
    pending: bool
    opening: bool
    in_use_until: datetime | None


def _opening(rules: Rules, day: date, bounds: tuple[datetime, datetime]) -> list[tuple]:
    """The day's opening hours as instants."""
    if not rules.periods:  # no hours set: open all day, as the engine reads it
        return [bounds]
    return [
        (
            max(instant(day, p.opens_at, rules), bounds[0]),
            min(instant(day, p.closes_at, rules), bounds[1]),
        )
        for p in rules.periods
        if p.weekday == day.weekday()
    ]


def _closed(
    rules: Rules, bounds: tuple[datetime, datetime]
) -> list[tuple[datetime, datetime, str, bool]]:
    """The parts of the day that closures take, as instants with their reason and whether
    it is a followed calendar's busy time.

    A closure by the day (``starts_on``/``ends_on``) takes whole days; one with
    instants (``starts_at``/``ends_at``) takes its own hours: the day is cut there.
    """
    day_start, day_end = bounds
    zone = rules.zone
    spans = []
    for closure in rules.closures:
        start = getattr(closure, "starts_at", None)
        end = getattr(closure, "ends_at", None)
        if start is None or end is None:
            start = local_day_bounds(closure.starts_on, zone)[0]
            end = local_day_bounds(closure.ends_on, zone)[1]
        if start < day_end and day_start < end:
            spans.append(
                (
                    max(start, day_start),
                    min(end, day_end),
                    closure.reason or "",
                    bool(getattr(closure, "busy", False)),
                )
            )
    return spans


def _minus(
    opening: list[tuple[datetime, datetime]], closed: list[tuple[datetime, datetime, str, bool]]
) -> list[tuple[datetime, datetime]]:
    """Opening hours without the closed parts."""
    for start, end, _reason, _busy in closed:
        opening = [
            piece
            for o, c in opening
            for piece in ((o, min(c, start)), (max(o, end), c))
            if piece[0] < piece[1]
        ]
    return opening


def _stretches(
    rules: Rules, meeting: Sequence[Busy], bounds: tuple[datetime, datetime], opening: list
) -> list[_Stretch]:
    """The day cut where anything changes, then merged while the state stays the same.
    ``meeting``: the bookings that meet the day."""
    day_start, day_end = bounds
    cuts = {day_start, day_end}
    for start, end in opening:
        cuts.update((start, end))
    for h in meeting:
        cuts.update((max(h.starts_at, day_start), min(h.blocked_until, day_end)))
    merged: list[_Stretch] = []
    for start, end in itertools.pairwise(sorted(cuts)):
        over = [h for h in meeting if h.starts_at < end and h.blocked_until > start]
        is_open = any(o <= start and end <= c for o, c in opening)
        if not is_open and not over:
            continue
        used = sum(h.seats for h in over)
        state = "free" if not used else "full" if used >= rules.capacity else "partial"
        in_use = max((min(h.ends_at, end) for h in over if h.ends_at > start), default=None)
        pending = bool(over) and all(h.pending for h in over)
        last = merged[-1] if merged else None
        # Free time inside and outside the hours stays apart: only the first can be booked.
        if (
            last is not None
            and last.state == state
            and last.end == start
            and (state == "full" or last.opening == is_open)
        ):
            last.end = end
            last.peak = max(last.peak, used)
            last.pending = last.pending and pending
            last.opening = last.opening and is_open
            last.in_use_until = in_use or last.in_use_until
        else:
            merged.append(_Stretch(start, end, state, used, pending, is_open, in_use))
    return merged


def _ranges(
    rules: Rules, stretches: list[_Stretch], holds: list[Hold], now: datetime
) -> list[Range]:
    """Stretches as members read them; free time carries a slot the engine would accept
    (``Range.pick``, from ``booking.services.availability.candidates.pick``)."""
    zone = rules.zone
    # A seat free from one stretch into the next (a shared space filling up and emptying)
    # can be booked across both: each stretch's slot may run to the end of its run.
    run_ends: list[datetime | None] = [None] * len(stretches)
    following: _Stretch | None = None
    for index in range(len(stretches) - 1, -1, -1):
        stretch = stretches[index]
        if stretch.opening and stretch.peak < rules.capacity:
            joined = following is not None and following.start == stretch.end
            run_ends[index] = run_ends[index + 1] if joined else stretch.end
            following = stretch
        else:
            following = None
    shortest = timedelta(minutes=rules.min_duration_minutes)
    ranges = []
    for stretch, run_end in zip(stretches, run_ends, strict=True):
        free = max(rules.capacity - stretch.peak, 0)
        chosen = None
        # Time too short for any booking is not worth asking the rules about.
        if run_end is not None and run_end - max(stretch.start, now) >= shortest:
            chosen = pick(rules, holds, stretch.start, run_end, now)
        wait = _to_wait_for(rules, stretch, now) if stretch.state != "free" else None
        ranges.append(
            Range(
                stretch.start.astimezone(zone),
                stretch.end.astimezone(zone),
                (stretch.in_use_until or stretch.end).astimezone(zone),
                free,
                rules.capacity,
                stretch.pending,
                stretch.opening,
                (chosen[0].astimezone(zone), chosen[1].astimezone(zone)) if chosen else None,
                (wait[0].astimezone(zone), wait[1].astimezone(zone)) if wait else None,
            )
        )
    return ranges


def _to_wait_for(
    rules: Rules, stretch: _Stretch, now: datetime
) -> tuple[datetime, datetime] | None:
    """The slot to wait for in time that is taken: from its start (or the next time on
    the grid) to the end of what holds it, as long as a booking may be; within the hours
    and on one local day. The member may change it before asking."""
    if not stretch.opening or stretch.end <= now:
        return None
    start = on_grid(max(stretch.start, now), rules, up=True)
    until = min(
        stretch.in_use_until or stretch.end,
        start + timedelta(minutes=rules.max_duration_minutes),
    )
    end = on_grid(until, rules, up=False)
    shortest = start + timedelta(minutes=rules.min_duration_minutes)
    if end < shortest:
        end = on_grid(shortest, rules, up=True)
    zone = rules.zone
    if end <= start or end.astimezone(zone).date() != start.astimezone(zone).date():
        return None
    return start, end


def day_plan(
    rules: Rules,
    held: Sequence[Busy],
    day: date,
    now: datetime,
    bounds: tuple[datetime, datetime] | None = None,
) -> DayPlan:
    """One day of one resource: its hours, whether it is closed, its free and taken ranges
    (every booking that meets the day, even outside the hours: a manager may book there).
    ``bounds``: the day's first and last instants, when the caller has them already."""
    day_start, day_end = bounds = bounds or local_day_bounds(day, rules.zone)
    meeting = [h for h in held if h.starts_at < day_end and h.blocked_until > day_start]
    # What a slot of this day can meet: its bookings, and those just after it that a
    # buffer could reach.
    reach = day_end + rules.buffer
    nearby = [
        Hold(h.starts_at, h.blocked_until, h.seats)
        for h in held
        if h.starts_at < reach and h.blocked_until > day_start
    ]
    hours = _opening(rules, day, bounds)
    closed = _closed(rules, bounds)
    opening = _minus(hours, closed)
    # Closed that day: when closures leave nothing of its hours (a closure of an
    # afternoon only cuts the afternoon out of the free times).
    closed_reason = None
    closed_busy = False
    if closed and hours and not opening:
        closed_reason = next((reason for _, _, reason, _ in closed if reason), "")
        # Busy rather than closed when only followed calendars take the day.
        closed_busy = all(busy for *_, busy in closed)
    zone = rules.zone
    return DayPlan(
        day,
        [(p.opens_at, p.closes_at) for p in rules.periods if p.weekday == day.weekday()],
        closed_reason,
        _ranges(rules, _stretches(rules, meeting, bounds, opening), nearby, now),
        # A closure of part of the day is said too, with its reason, not only cut out.
        []
        if closed_reason is not None
        else [(s.astimezone(zone), e.astimezone(zone), why, busy) for s, e, why, busy in closed],
        closed_busy,
    )


# Weeks kept for the minute: those a busy network's pages show in one minute (each
# version of a week, as bookings come, is one more), about 1 MB at most.
PLAN_WEEKS = 256
_PLANS: MinuteStore[tuple[DayPlan, ...]] = MinuteStore(PLAN_WEEKS)


def _planned_days(
    rules: Rules, held: tuple[Busy, ...], first_day: date, days: int, minute: datetime
) -> tuple[DayPlan, ...]:
    """The days of one resource's week: a pure function of its arguments, kept by them, so
    that a week asked again within the same minute, with the same bookings and rules, is
    not worked out again (the same objects are handed back, which the words and HTML
    made from them are kept by). Every page still reads the bookings from the database."""
    key = (rules, held, first_day, days)
    found = _PLANS.get(minute, key)
    if found is None:
        week = [first_day + timedelta(days=offset) for offset in range(days)]
        found = tuple(day_plan(rules, held, day, minute) for day in week)
        _PLANS.keep(minute, key, found)
    return found


@dataclass
class DayPlan:
    day: date
    hours: list[tuple[time, time]]
    closed_reason: str | None
    ranges: list[Range]
    # Closures over part of the day, local start and end, the reason anyone may read, and
    # whether it is a followed calendar's busy time.
    closed_parts: list[tuple[datetime, datetime, str, bool]] = field(default_factory=list)
    closed_busy: bool = False  # the whole day taken by followed calendars' busy times


@dataclass
class WeekPlan:
    """One resource's week, day by day, as free and taken ranges."""

    resource: Bookable
    days: list[DayPlan]
    minute: datetime  # free times start from it (see ``next_minute``)


def next_minute(now: datetime) -> datetime:
    """The minute free times are counted from: the next whole one, so that a free time is
    never offered a few seconds after the notice or the clock has ruled it out."""
    minute = now.replace(second=0, microsecond=0)
    return minute if minute == now else minute + timedelta(minutes=1)


def week_plan(
    session: Session, resources: Sequence[Bookable], first_day: date, now: datetime, days: int = 7
) -> list[WeekPlan]:
    """The week of each resource (loaded with ``facts.bookables``) in one more query."""
    if not resources:
        return []
    zone = resources[0].zone
    start, _ = local_day_bounds(first_day, zone)
    _, end = local_day_bounds(first_day + timedelta(days=days - 1), zone)
    busy = busy_by_resource(session, [b.id for b in resources], start, end)
    minute = next_minute(now)
    return [
        WeekPlan(
            bookable,
            list(
                _planned_days(
                    bookable.rules, tuple(busy.get(bookable.id, ())), first_day, days, minute
                )
            ),
            minute,
        )
        for bookable in resources
    ]


def plans(
    session: Session,
    first_day: date,
    now: datetime,
    *,
    venue_id: int | None = None,
    slug: str | None = None,
    days: int = 7,
) -> list[WeekPlan]:
    """The weeks of one venue's resources, or of the resource named ``slug``: three queries
    (the resources with their rules, their hours and closures, their bookings)."""
    last_day = first_day + timedelta(days=days - 1)
    found = bookables(session, first_day, last_day, venue_id=venue_id, slug=slug)
    return week_plan(session, found, first_day, now, days)
