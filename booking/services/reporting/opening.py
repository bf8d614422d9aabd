"""How long resources were open over a period: their weekly hours, less the closures.

Occupancy is measured against this. Weekly hours are a few rows and closures a
few more, so the time open is worked out here, day by day over the period,
rather than in SQL: nothing here grows with the number of reservations. Hours
are wall-clock times at the venue, so a day of the spring change is an hour
shorter only where the venue is open across the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ...localtime import local_day_bounds, wall_clock_instant
from .periods import Period

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Hours:
    """A resource's weekly hours, as the rules read them: its own, else its venue's;
    none at all means open at any time."""

    zone: str
    periods: tuple[tuple[int, time, time], ...]


def open_intervals(hours: Hours, first: date, end: date) -> list[Interval]:
    """The instants open from ``first`` to the day before ``end``, in order."""
    zone = ZoneInfo(hours.zone)
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in hours.periods:
        by_weekday[weekday].append((opens, closes))
    intervals: list[Interval] = []
    day = first
    while day < end:
        if not hours.periods:
            intervals.append(local_day_bounds(day, zone))
        for opens, closes in sorted(by_weekday.get(day.weekday(), ())):
            intervals.append(
                (wall_clock_instant(day, opens, zone), wall_clock_instant(day, closes, zone))
            )
        day += timedelta(days=1)
    return intervals


def merged(ranges: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching ranges joined, in order."""
    result: list[Interval] = []
    for start, end in sorted(ranges):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def minutes_open(intervals: Sequence[Interval], closed: Sequence[Interval]) -> int:
    """Minutes of ``intervals`` outside ``closed`` (both in order; ``closed`` merged)."""
    total = 0.0
    index = 0
    for start, end in intervals:
        seconds = (end - start).total_seconds()
        while index < len(closed) and closed[index][1] <= start:
            index += 1
        probe = index
        while probe < len(closed) and closed[probe][0] < end:
            seconds -= (min(end, closed[probe][1]) - max(start, closed[probe][0])).total_seconds()
            probe += 1
        total += seconds
    return int(total // 60)


@dataclass(frozen=True)
class Openable:
    """What the time open of one resource depends on."""

    resource_id: int
    venue_id: int
    hours: Hours


def time_open(
    resources: Sequence[Openable],
    closures: Sequence[tuple[int, int | None, datetime, datetime]],
    periods: Sequence[Period],
) -> dict[int, list[int]]:
    """Minutes each resource was open in each of ``periods`` (a list per resource, in the
    order of ``periods``). ``closures`` are (venue id, resource id or None for the whole
    venue, start, end)."""
    by_hours: dict[tuple[Hours, Period], list[Interval]] = {}
    result: dict[int, list[int]] = {}
    for resource in resources:
        closed = merged(
            (start, end)
            for venue_id, resource_id, start, end in closures
            if venue_id == resource.venue_id and resource_id in (None, resource.resource_id)
        )
        counts = []
        for period in periods:
            key = (resource.hours, period)
            if key not in by_hours:
                by_hours[key] = open_intervals(resource.hours, period.first, period.end)
            counts.append(minutes_open(by_hours[key], closed))
        result[resource.resource_id] = counts
    return result
