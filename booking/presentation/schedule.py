"""Where things sit in the day view of the managers' schedule: percentages of the day's axis."""

from __future__ import annotations

from datetime import date, datetime, time

HOUR = 60
DAY = 24 * HOUR


def _minutes(moment: datetime | time, day: date | None = None) -> int:
    """Minutes since midnight; a moment on another day than ``day`` sticks to its edge."""
    if isinstance(moment, datetime) and day is not None:
        if moment.date() < day:
            return 0
        if moment.date() > day:
            return DAY
    return moment.hour * HOUR + moment.minute


def _span(start: int, end: int, axis: tuple[int, int]) -> str:
    first, last = axis[0] * HOUR, axis[1] * HOUR
    length = max(last - first, 1)
    top = min(max(start, first), last) - first
    bottom = min(max(end, first), last) - first
    return f"top:{top / length * 100:.3f}%;height:{max(bottom - top, 0) / length * 100:.3f}%"


def box(
    start: datetime | time, end: datetime | time, axis: tuple[int, int], day: date | None = None
) -> str:
    """The CSS ``top`` and ``height`` of [start, end) on an axis of whole hours."""
    return _span(_minutes(start, day), _minutes(end, day), axis)


def lane(index: int, lanes: int) -> str:
    """The CSS ``left`` and ``width`` of one lane of a shared resource's column."""
    width = 100 / max(lanes, 1)
    return f"left:{index * width:.3f}%;width:{width:.3f}%"


def closed_bands(periods: list[tuple[time, time]], axis: tuple[int, int]) -> list[str]:
    """Boxes for the hours of the axis outside the opening periods (a closed day is one band)."""
    bands, cursor = [], axis[0] * HOUR
    for opens, closes in sorted(periods):
        if _minutes(opens) > cursor:
            bands.append(_span(cursor, _minutes(opens), axis))
        cursor = max(cursor, _minutes(closes))
    if cursor < axis[1] * HOUR:
        bands.append(_span(cursor, axis[1] * HOUR, axis))
    return bands
