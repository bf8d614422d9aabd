"""Local time at a venue: wall-clock readings to UTC instants and back, days and weeks.

Instants are stored in UTC; people read and type the venue's wall-clock time. A time
inside the spring-forward gap does not exist (``LocalTimeError``); one in the repeated
fall-back hour is read as its first occurrence. Pure functions: no Flask, no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class LocalTimeError(ValueError):
    """A local time that cannot be turned into one instant."""

    def __init__(self, code: str, local: datetime) -> None:
        super().__init__(code)
        self.code = code
        self.local = local


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time in ``zone``.

    A time inside the spring-forward gap does not exist: refused. A time in
    the repeated fall-back hour is read as its first occurrence (summer time,
    ``fold=0``), the reading people mean when they plan ahead; pages show the
    UTC offset next to such times so that nobody is misled.
    """
    if local.tzinfo is not None:
        raise ValueError("expected a naive wall-clock time")
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        raise LocalTimeError("nonexistent_time", local)
    return instant


def is_ambiguous(local: datetime, zone: ZoneInfo) -> bool:
    first = local.replace(tzinfo=zone, fold=0).utcoffset()
    second = local.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second and to_utc_or_none(local, zone) is not None


def to_utc_or_none(local: datetime, zone: ZoneInfo) -> datetime | None:
    try:
        return to_utc(local, zone)
    except LocalTimeError:
        return None


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def local_week_bounds(instant: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The Monday-to-Monday local week that contains ``instant``, as UTC instants."""
    local_day = instant.astimezone(zone).date()
    monday = local_day - timedelta(days=local_day.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def wall_clock_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a venue's wall-clock time, read leniently (a time in the spring
    gap reads as after it): for opening hours and day bounds, not for what a person typed,
    which ``to_utc`` checks."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return wall_clock_instant(day, time(0), zone), wall_clock_instant(
        day + timedelta(days=1), time(0), zone
    )
