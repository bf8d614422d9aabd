"""Periods of a report (a month, a quarter, a year, any range of days) and their local time.

A period is a range of days in a venue's time zone. SQLite knows nothing of
time zones, so the local time that a report needs (a month's first instant,
the hour of the day a booking falls in) is worked out here, for the period as
a whole, and handed to SQL as a handful of *slices*: ranges of instants that
each lie in one period, one bucket of the timeline (a day or a month) and one
UTC offset. A booking across a daylight-saving change or across midnight
meets two slices, and each part counts where it happened.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from ...localtime import wall_clock_instant

MIDNIGHT = time(0)

# The longest range a report covers: three years (and the three before, to compare).
MAX_RANGE_DAYS = 3 * 366
FIRST_YEAR = 2000
LAST_YEAR = 2100
# Ranges up to this many days show their timeline day by day, longer ones month by month.
DAILY_TIMELINE_DAYS = 31


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Days from ``first`` to ``last``, both included, in the venue's local calendar."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(
            PeriodKind.MONTH,
            date(year, month, 1),
            _month_start(year, month + 1) - timedelta(days=1),
        )

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = date(year, 3 * quarter - 2, 1)
        return cls(
            PeriodKind.QUARTER, first, _month_start(year, 3 * quarter + 1) - timedelta(days=1)
        )

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        return cls(PeriodKind.RANGE, first, last)

    @property
    def end(self) -> date:
        """The day after the last one: periods are half-open, like every range here."""
        return self.last + timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    @property
    def code(self) -> str:
        """How the period reads in an address: 2026-03, 2026-Q1, 2026; ranges have none."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month + 2) // 3}"
        if self.kind == PeriodKind.YEAR:
            return str(self.first.year)
        return "range"

    @property
    def quarter_number(self) -> int:
        return (self.first.month + 2) // 3

    def previous(self) -> Period:
        """The period just before, to compare with: the month, quarter or year before,
        or as many days just before a range."""
        return self._shifted(-1)

    def following(self) -> Period:
        return self._shifted(1)

    def _shifted(self, step: int) -> Period:
        if self.kind == PeriodKind.MONTH:
            start = _month_start(self.first.year, self.first.month + step)
            return Period.month(start.year, start.month)
        if self.kind == PeriodKind.QUARTER:
            start = _month_start(self.first.year, self.first.month + 3 * step)
            return Period.quarter(start.year, (start.month + 2) // 3)
        if self.kind == PeriodKind.YEAR:
            return Period.year(self.first.year + step)
        shift = timedelta(days=self.days * step)
        return Period.between(self.first + shift, self.last + shift)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The first instant of the first day and the first instant after the last, in UTC."""
        return wall_clock_instant(self.first, MIDNIGHT, zone), wall_clock_instant(
            self.end, MIDNIGHT, zone
        )

    def buckets(self) -> list[date]:
        """The first day of each bar of the timeline: days for a month or a short range,
        months (the first one possibly partial) for anything longer."""
        if self.days <= DAILY_TIMELINE_DAYS:
            return [self.first + timedelta(days=n) for n in range(self.days)]
        starts = [self.first]
        month = _month_start(self.first.year, self.first.month + 1)
        while month < self.end:
            starts.append(month)
            month = _month_start(month.year, month.month + 1)
        return starts

    @property
    def daily(self) -> bool:
        return self.days <= DAILY_TIMELINE_DAYS


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[QT]([1-4])")
_YEAR = re.compile(r"(\d{4})")


def parse_period(code: str) -> Period | None:
    """2026-03, 2026-Q1 (or 2026-T1), 2026; None for anything else or out of range."""
    code = code.strip().upper()
    month = _MONTH.fullmatch(code)
    quarter = _QUARTER.fullmatch(code)
    year = _YEAR.fullmatch(code)
    found = month or quarter or year
    if found is None or not FIRST_YEAR <= int(found[1]) <= LAST_YEAR:
        return None
    if month:
        number = int(month[2])
        return Period.month(int(month[1]), number) if 1 <= number <= 12 else None
    if quarter:
        return Period.quarter(int(quarter[1]), int(quarter[2]))
    return Period.year(int(found[1]))


def range_problem(first: date, last: date) -> str | None:
    """Why a range of days cannot be reported on, as a code; None when it can."""
    if last < first:
        return "range_reversed"
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return "range_too_long"
    if first.year < FIRST_YEAR or last.year > LAST_YEAR:
        return "range_out_of_bounds"
    return None


# --- local time --------------------------------------------------------------------------


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end) at which the zone's UTC offset changes (a handful a year).

    Looks day by day, then narrows each change down to the second.
    """
    found = []
    moment = start
    while moment < end:
        following = min(moment + timedelta(days=1), end)
        before = _offset(moment, zone)
        if before != _offset(following, zone):
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(middle, zone) == before:
                    low = middle
                else:
                    high = middle
            if high < end:
                found.append(high.replace(microsecond=0))
        moment = following
    return found


@dataclass(frozen=True)
class Slice:
    """A range of instants in one period (0: the one reported, 1: the one before), one
    bucket of the timeline (its index; -1 in the period before) and one UTC offset."""

    zone: str
    starts_at: datetime
    ends_at: datetime
    period: int
    bucket: int
    offset_seconds: int


def slices(zone_name: str, period: Period, before: Period) -> list[Slice]:
    """The period and the one before it (adjacent), cut at every bucket of the timeline
    and at every change of UTC offset."""
    zone = ZoneInfo(zone_name)
    start, end = before.bounds(zone)[0], period.bounds(zone)[1]
    # Where each (period, bucket) begins; the period before is one bucket.
    marks = [(start, 1, -1)] + [
        (wall_clock_instant(day, MIDNIGHT, zone), 0, index)
        for index, day in enumerate(period.buckets())
    ]
    points = sorted({mark[0] for mark in marks} | set(transitions(zone, start, end)))
    result = []
    for index, moment in enumerate(points):
        following = points[index + 1] if index + 1 < len(points) else end
        _, in_period, bucket = max(mark for mark in marks if mark[0] <= moment)
        result.append(
            Slice(
                zone_name,
                moment,
                following,
                in_period,
                bucket,
                int(_offset(moment, zone).total_seconds()),
            )
        )
    return result


@dataclass(frozen=True)
class Offset:
    """A range of instants of a period in one zone, all at one UTC offset."""

    zone: str
    starts_at: datetime
    ends_at: datetime
    offset_seconds: int


def offsets(zone_name: str, period: Period) -> list[Offset]:
    """The period cut at each change of UTC offset (one range, or two across a
    daylight-saving change): what SQL needs to tell the local day of an instant."""
    zone = ZoneInfo(zone_name)
    start, end = period.bounds(zone)
    points = [start, *transitions(zone, start, end), end]
    return [
        Offset(zone_name, begins, ends, int(_offset(begins, zone).total_seconds()))
        for begins, ends in pairwise(points)
    ]
