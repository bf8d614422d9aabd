"""Booking rules as pure functions: no Flask, no database, ``now`` passed in.

A rule returns violations, each a code and the form field it concerns, with
the values a message needs. Turning codes into sentences is the job of
``booking.presentation.messages``; deciding what to fetch and when to lock is the
job of ``booking.services``. Wall-clock readings become instants in
``booking.localtime``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .localtime import to_local

# Rules a manager may override for someone, by an explicit choice.
SOFT_RULES = frozenset({"hours", "notice", "horizon", "quota", "qualification"})


@dataclass(frozen=True)
class Violation:
    code: str
    field: str | None = None
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    # The soft rule this violation belongs to, if a manager may override it.
    rule: str | None = None

    @property
    def is_soft(self) -> bool:
        return self.rule in SOFT_RULES


@dataclass(frozen=True)
class LocalMoment:
    """A wall-clock reading at a venue (a day and a time), not yet an instant.

    Forms produce these; the booking service turns them into UTC instants with
    the venue's zone (``to_utc``), so that a time that does not exist is
    reported on the field that holds it.
    """

    day: date
    at: time


@dataclass(frozen=True)
class Grant:
    """A member's training (habilitation), valid until ``expires_on`` included."""

    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.expires_on is None or day <= self.expires_on


@dataclass(frozen=True)
class Period:
    weekday: int
    opens_at: time
    closes_at: time


@dataclass(frozen=True)
class ClosedRange:
    """A closure: the half-open [starts_at, ends_at) of aware instants, and the reason
    that may be told (empty when the manager keeps it private). ``busy``: a time a
    calendar the venue follows holds (its reason is that calendar's label)."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""
    busy: bool = False


@dataclass(frozen=True)
class Rules:
    """A snapshot of one resource's booking rules."""

    zone: ZoneInfo
    capacity: int = 1
    slot_minutes: int = 30
    min_duration_minutes: int = 30
    max_duration_minutes: int = 240
    min_notice_minutes: int = 0
    horizon_days: int = 90
    buffer_minutes: int = 0
    weekly_quota_minutes: int | None = None
    requires_qualification: bool = False
    periods: tuple[Period, ...] = ()
    closures: tuple[ClosedRange, ...] = ()

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)


class Hold(NamedTuple):
    """A reservation that holds seats from its start until its end plus buffer.

    ``own_id`` is the reservation's id when it belongs to the person asking, so
    that a refusal can point them to what they booked already. (A named tuple:
    week pages and the search make hundreds of these.)
    """

    starts_at: datetime
    blocked_until: datetime
    seats: int = 1
    own_id: int | None = None


# --- capacity -----------------------------------------------------------------


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals [start, end): back-to-back intervals do not overlap."""
    return a_start < b_end and b_start < a_end


def peak_seats(holds: Iterable[Hold], start: datetime, end: datetime) -> int:
    """The largest number of seats in use at any single moment of [start, end).

    Summing everything that overlaps would refuse valid bookings: two people
    in the morning and two in the afternoon never use four seats at once.
    """
    events: list[tuple[datetime, int]] = []
    for hold in holds:
        if overlaps(hold.starts_at, hold.blocked_until, start, end):
            events.append((max(hold.starts_at, start), hold.seats))
            events.append((min(hold.blocked_until, end), -hold.seats))
    # At equal instants releases come before takes: half-open intervals.
    events.sort(key=lambda event: (event[0], event[1]))
    in_use = peak = 0
    for _, delta in events:
        in_use += delta
        peak = max(peak, in_use)
    return peak


# --- the rules ----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    seats: int = 1


def check_shape(request: Request, rules: Rules) -> list[Violation]:
    """Rules that need nothing but the request and the resource."""
    violations: list[Violation] = []
    if request.ends_at <= request.starts_at:
        return [Violation("end_before_start", "ends_at")]
    if request.seats < 1:
        violations.append(Violation("seats_positive", "seats"))
    elif request.seats > rules.capacity:
        violations.append(Violation("seats_over_capacity", "seats", {"capacity": rules.capacity}))

    local_start = to_local(request.starts_at, rules.zone)
    local_end = to_local(request.ends_at, rules.zone)
    slot = rules.slot_minutes
    for name, moment in (("starts_at", local_start), ("ends_at", local_end)):
        minutes = moment.hour * 60 + moment.minute
        if moment.second or moment.microsecond or minutes % slot:
            violations.append(Violation("off_grid", name, {"slot": slot}))

    minutes = int((request.ends_at - request.starts_at).total_seconds() // 60)
    if minutes < rules.min_duration_minutes:
        violations.append(
            Violation("too_short", "ends_at", {"minimum": rules.min_duration_minutes})
        )
    if minutes > rules.max_duration_minutes:
        violations.append(Violation("too_long", "ends_at", {"maximum": rules.max_duration_minutes}))

    violations.extend(check_hours(local_start, local_end, rules))
    violations.extend(check_closures(request.starts_at, request.ends_at, rules))
    return violations


def check_hours(local_start: datetime, local_end: datetime, rules: Rules) -> list[Violation]:
    if not rules.periods:
        return []
    same_day = local_end.date() == local_start.date()
    for period in rules.periods:
        if (
            same_day
            and period.weekday == local_start.weekday()
            and period.opens_at <= local_start.time()
            and local_end.time() <= period.closes_at
        ):
            return []
    day_periods = [p for p in rules.periods if p.weekday == local_start.weekday()]
    return [
        Violation(
            "outside_hours",
            "starts_at",
            {
                "weekday": local_start.weekday(),
                "periods": [(p.opens_at, p.closes_at) for p in day_periods],
            },
            rule="hours",
        )
    ]


def check_closures(start: datetime, end: datetime, rules: Rules) -> list[Violation]:
    """The slot [start, end) must not meet a closure (the buffer after it may)."""
    for closure in rules.closures:
        if overlaps(start, end, closure.starts_at, closure.ends_at):
            return [
                Violation(
                    "closed",
                    "starts_at",
                    {
                        "from": to_local(closure.starts_at, rules.zone),
                        "to": to_local(closure.ends_at, rules.zone),
                        "reason": closure.reason,
                        "busy": closure.busy,
                    },
                )
            ]
    return []


def check_timing(request: Request, rules: Rules, now: datetime) -> list[Violation]:
    """Rules that depend on the moment the request is made."""
    if request.starts_at < now:
        return [Violation("in_past", "starts_at")]
    violations: list[Violation] = []
    if request.starts_at < now + timedelta(minutes=rules.min_notice_minutes):
        violations.append(
            Violation("notice", "starts_at", {"minutes": rules.min_notice_minutes}, rule="notice")
        )
    today = to_local(now, rules.zone).date()
    last_day = today + timedelta(days=rules.horizon_days)
    if to_local(request.starts_at, rules.zone).date() > last_day:
        violations.append(
            Violation(
                "horizon",
                "starts_at",
                {"days": rules.horizon_days, "last_day": last_day},
                rule="horizon",
            )
        )
    return violations


def check_capacity(request: Request, rules: Rules, holds: Sequence[Hold]) -> list[Violation]:
    blocked_until = request.ends_at + rules.buffer
    in_use = peak_seats(holds, request.starts_at, blocked_until)
    if in_use + request.seats > rules.capacity:
        own = next(
            (
                hold.own_id
                for hold in holds
                if hold.own_id is not None
                and overlaps(hold.starts_at, hold.blocked_until, request.starts_at, blocked_until)
            ),
            None,
        )
        if own is not None:
            return [Violation("own_overlap", "starts_at", {"reservation_id": own})]
        return [
            Violation(
                "capacity",
                "starts_at",
                {"free": max(rules.capacity - in_use, 0), "capacity": rules.capacity},
            )
        ]
    return []


def check_quota(request: Request, rules: Rules, minutes_this_week: int) -> list[Violation]:
    if rules.weekly_quota_minutes is None:
        return []
    minutes = int((request.ends_at - request.starts_at).total_seconds() // 60)
    if minutes_this_week + minutes > rules.weekly_quota_minutes:
        return [
            Violation(
                "quota",
                "ends_at",
                {
                    "quota": rules.weekly_quota_minutes,
                    "left": max(rules.weekly_quota_minutes - minutes_this_week, 0),
                },
                rule="quota",
            )
        ]
    return []


def check_qualification(rules: Rules, grant: Grant | None, day: date, name: str) -> list[Violation]:
    if rules.requires_qualification and (grant is None or not grant.valid_on(day)):
        return [Violation("qualification", None, {"name": name}, rule="qualification")]
    return []


def blocking(violations: Iterable[Violation], overrides: frozenset[str]) -> list[Violation]:
    """The violations that still stand once the manager's overrides are applied."""
    return [v for v in violations if not (v.is_soft and v.rule in overrides)]


# --- recurring series ---------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    frequency: str  # "daily" or "weekly"
    starts_on: date
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # for weekly; empty means the weekday of starts_on
    until: date | None = None
    count: int | None = None


MAX_OCCURRENCES = 366


def occurrence_dates(recurrence: Recurrence, last_allowed: date) -> list[date]:
    """The dates of a series, capped by ``last_allowed`` (the booking horizon)."""
    if recurrence.until is None and recurrence.count is None:
        raise ValueError("a series needs an end date or a number of occurrences")
    end = last_allowed if recurrence.until is None else min(recurrence.until, last_allowed)
    limit = min(recurrence.count or MAX_OCCURRENCES, MAX_OCCURRENCES)
    dates: list[date] = []
    if recurrence.frequency == "daily":
        day = recurrence.starts_on
        while day <= end and len(dates) < limit:
            dates.append(day)
            day += timedelta(days=recurrence.interval)
        return dates
    weekdays = sorted(set(recurrence.weekdays)) or [recurrence.starts_on.weekday()]
    week_start = recurrence.starts_on - timedelta(days=recurrence.starts_on.weekday())
    while week_start <= end and len(dates) < limit:
        for weekday in weekdays:
            day = week_start + timedelta(days=weekday)
            if recurrence.starts_on <= day <= end and len(dates) < limit:
                dates.append(day)
        week_start += timedelta(weeks=recurrence.interval)
    return dates
