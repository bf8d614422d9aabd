"""Whether what a manager asks for makes sense: weekly hours, a resource's rules.

Pure functions over plain values, like the booking rules: each returns the
``Violation``s found, each on the field it concerns, for the use cases to
refuse with and the views to show next to the field. A resource whose rules
contradict each other (a maximum below the minimum, a slot grid that its
hours do not fall on) could never be booked: it is refused, never saved.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from ...models import MAX_HOLD_MINUTES
from ...rules import Period, Violation

MINUTES_PER_DAY = 24 * 60
MAX_CAPACITY = 1000
MAX_HORIZON_DAYS = 730


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def day_field(weekday: int) -> str:
    """The form field holding one weekday's periods."""
    return f"day{weekday}"


def check_periods(periods: Sequence[Period]) -> list[Violation]:
    """Each period closes after it opens; periods of one day do not overlap."""
    violations: list[Violation] = []
    for weekday in range(7):
        day = sorted((p for p in periods if p.weekday == weekday), key=lambda p: p.opens_at)
        field = day_field(weekday)
        for period in day:
            if period.closes_at <= period.opens_at:
                violations.append(
                    Violation(
                        "period_reversed",
                        field,
                        {"opens": period.opens_at, "closes": period.closes_at},
                    )
                )
        for before, after in itertools.pairwise(day):
            if after.opens_at < before.closes_at:
                violations.append(
                    Violation(
                        "periods_overlap",
                        field,
                        {
                            "first": (before.opens_at, before.closes_at),
                            "second": (after.opens_at, after.closes_at),
                        },
                    )
                )
    return violations


def check_grid(periods: Sequence[Period], slot_minutes: int, resource: str) -> list[Violation]:
    """Opening and closing times fall on the resource's slot grid, or the first or last
    part of a period could never be booked."""
    violations = []
    for period in periods:
        off = [t for t in (period.opens_at, period.closes_at) if _minutes(t) % slot_minutes]
        if off:
            violations.append(
                Violation(
                    "hours_off_grid",
                    day_field(period.weekday),
                    {"time": off[0], "slot": slot_minutes, "resource": resource},
                )
            )
    return violations


@dataclass(frozen=True)
class RuleValues:
    """A resource's booking rules, as a manager typed them (minutes, days)."""

    capacity: int
    slot_minutes: int
    min_duration_minutes: int
    max_duration_minutes: int
    min_notice_minutes: int
    horizon_days: int
    buffer_minutes: int
    weekly_quota_minutes: int | None


def check_rules(values: RuleValues, periods: Sequence[Period], name: str) -> list[Violation]:
    """Rules that contradict each other or the resource's hours."""
    v = values
    found: list[Violation] = []
    if not 1 <= v.capacity <= MAX_CAPACITY:
        found.append(Violation("capacity_range", "capacity", {"max": MAX_CAPACITY}))
    if not 5 <= v.slot_minutes <= MINUTES_PER_DAY or MINUTES_PER_DAY % v.slot_minutes:
        found.append(Violation("slot_invalid", "slot_minutes"))
        return found  # everything below is measured in slots
    slot = v.slot_minutes
    if v.min_duration_minutes < slot or v.min_duration_minutes % slot:
        found.append(Violation("duration_off_grid", "min_duration_minutes", {"slot": slot}))
    if v.max_duration_minutes < v.min_duration_minutes:
        found.append(Violation("max_below_min", "max_duration_minutes"))
    elif v.max_duration_minutes % slot:
        found.append(Violation("duration_off_grid", "max_duration_minutes", {"slot": slot}))
    if v.buffer_minutes < 0:
        found.append(Violation("negative", "buffer_minutes"))
    elif v.max_duration_minutes + v.buffer_minutes > MAX_HOLD_MINUTES:
        found.append(
            Violation("hold_too_long", "max_duration_minutes", {"limit": MAX_HOLD_MINUTES})
        )
    if not 1 <= v.horizon_days <= MAX_HORIZON_DAYS:
        found.append(Violation("horizon_range", "horizon_days", {"max": MAX_HORIZON_DAYS}))
    if v.min_notice_minutes < 0:
        found.append(Violation("negative", "min_notice_minutes"))
    elif v.min_notice_minutes >= v.horizon_days * MINUTES_PER_DAY:
        found.append(Violation("notice_beyond_horizon", "min_notice_minutes"))
    if v.weekly_quota_minutes is not None and v.weekly_quota_minutes < v.min_duration_minutes:
        found.append(Violation("quota_below_min", "weekly_quota_minutes"))
    if periods:
        found.extend(
            Violation("hours_off_grid", "slot_minutes", violation.params)
            for violation in check_grid(periods, slot, name)[:1]
        )
        longest = max(_minutes(p.closes_at) - _minutes(p.opens_at) for p in periods)
        if v.min_duration_minutes > longest:
            found.append(
                Violation("min_longer_than_hours", "min_duration_minutes", {"longest": longest})
            )
    return found
