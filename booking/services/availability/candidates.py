"""Free slots worked out from the engine's own rules, for the week views and the search.

Nothing here decides whether a slot can be booked: candidate times are
proposed from the facts (opening hours, the ends of bookings, the notice) and
each one is put to ``services.booking.slot_violations`` or ``evaluate``, the
checks a booking goes through. A time shown as free can therefore be booked,
and a rule added to the engine is honoured here without a change.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ...localtime import local_day_bounds, to_local, wall_clock_instant
from ...rules import Hold, Request, Rules, Violation, check_shape, peak_seats
from ..booking.engine import evaluate, slot_violations
from ..booking.loading import Context

# What stops this person, not this time: the slot is shown, marked as such.
PERSON_CODES = frozenset({"qualification", "no_role", "account_inactive", "quota"})
# What the request itself asks wrongly of a resource (too long, too many seats…):
# the resource cannot answer it at any time.
UNFIT_CODES = frozenset({"too_short", "too_long", "seats_over_capacity", "off_grid"})
# A code that holds for every later time of the day: no need to try them.
DAY_CODES = frozenset({"horizon"})


def instant(day: date, at: time, rules: Rules) -> datetime:
    """The UTC instant of a wall-clock time at the resource's venue."""
    return wall_clock_instant(day, at, rules.zone)


def on_grid(moment: datetime, rules: Rules, *, up: bool) -> datetime:
    """The nearest time on the resource's slot grid, at or after ``moment`` (or before)."""
    local = moment.astimezone(rules.zone)
    minute = local.hour * 60 + local.minute
    rest = minute % rules.slot_minutes
    if not rest and not local.second and not local.microsecond:
        return moment
    target = minute - rest + (rules.slot_minutes if up else 0)
    return moment + timedelta(
        minutes=target - minute, seconds=-local.second, microseconds=-local.microsecond
    )


def seats_left(rules: Rules, holds: Sequence[Hold], start: datetime, end: datetime) -> int:
    """Seats free at the busiest moment of [start, end), the buffer after it included."""
    return rules.capacity - peak_seats(holds, start, end + rules.buffer)


def pick(
    rules: Rules, holds: Sequence[Hold], start: datetime, end: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """A slot for one seat inside the free time [start, end) that the engine would accept:
    the earliest start, then the latest end up to the longest booking allowed.

    Tried: the start of the free time, or the first time the notice allows; the end of
    the free time, the longest booking, or the end that leaves the buffer before what
    follows. At most a few checks whatever the length of the free time.
    """
    earliest = on_grid(max(start, now), rules, up=True)
    starts = [earliest]
    if rules.min_notice_minutes:
        noticed = now + timedelta(minutes=rules.min_notice_minutes)
        if noticed > earliest:
            starts.append(on_grid(max(start, noticed), rules, up=True))
    for first in starts:
        longest = min(end, first + timedelta(minutes=rules.max_duration_minutes))
        ends = [on_grid(longest, rules, up=False)]
        if rules.buffer_minutes:
            ends.append(on_grid(min(end - rules.buffer, longest), rules, up=False))
        for last in ends:
            if last <= first:
                continue
            violations = slot_violations(rules, Request(first, last), now, holds)
            if not violations:
                return first, last
            if any(v.code in DAY_CODES for v in violations):
                return None
    return None


@dataclass(frozen=True)
class Candidate:
    """A slot of the asked length, and what (if anything) stops this person booking it."""

    starts_at: datetime
    ends_at: datetime
    free_seats: int
    obstacles: tuple[Violation, ...]


def _proposals(
    context: Context,
    holds: Sequence[Hold],
    day: date,
    low: datetime,
    high: datetime,
    now: datetime,
) -> list[datetime]:
    """Times worth trying on ``day``, on the slot grid: the window's start, each opening,
    each moment a booking frees the resource, and the first time the notice allows."""
    rules = context.rules
    proposed = {low, now + timedelta(minutes=rules.min_notice_minutes)}
    proposed.update(
        instant(day, p.opens_at, rules) for p in rules.periods if p.weekday == day.weekday()
    )
    proposed.update(h.blocked_until for h in holds)
    return sorted({on_grid(m, rules, up=True) for m in proposed if low <= m < high})


def candidates(
    context: Context,
    holds: Sequence[Hold],
    day: date,
    window: tuple[time, time],
    length: timedelta,
    seats: int,
    now: datetime,
    minutes_this_week: dict[date, int],
    limit: int,
) -> list[Candidate]:
    """Up to ``limit`` slots of ``length`` on ``day`` within ``window`` (local times; an
    end of 00:00 means midnight), one after the other, earliest first.

    Each is checked by the engine's own evaluation for this person: slots that the
    time itself rules out are left out; slots that only the person cannot book (a
    missing training, no role at the venue, the weekly quota used up) are kept with
    what stops them.
    """
    rules = context.rules
    after, before = window
    day_start, day_end = local_day_bounds(day, rules.zone)
    low = max(instant(day, after, rules), day_start)
    high = instant(day, before, rules) if before != time(0) else day_end
    queue = _proposals(context, holds, day, low, high, now)
    heapq.heapify(queue)
    found: list[Candidate] = []
    free_from = low
    tried: set[datetime] = set()
    while queue and len(found) < limit:
        start = heapq.heappop(queue)
        if start in tried or start < free_from:
            continue
        tried.add(start)
        end = start + length
        if end > high:
            break
        local_day = to_local(start, rules.zone).date()
        monday = local_day - timedelta(days=local_day.weekday())
        request = Request(start, end, seats)
        violations = evaluate(context, request, now, holds, minutes_this_week.get(monday, 0))
        if context.by_manager:
            # As on the booking form: a manager may book here whatever their own grants.
            violations = [v for v in violations if v.code not in PERSON_CODES]
        standing = [v for v in violations if v.code not in PERSON_CODES]
        if any(v.code in DAY_CODES for v in standing):
            break
        if standing:
            continue
        found.append(Candidate(start, end, seats_left(rules, holds, start, end), tuple(violations)))
        free_from = end
        heapq.heappush(queue, end)  # the next slot may follow straight on
    return found


def unfit(
    rules: Rules, day: date, window_start: time, length: timedelta, seats: int
) -> Violation | None:
    """What the request asks wrongly of this resource whatever the time (a length it does
    not allow, more seats than it has, a length off its slot grid), if anything."""
    start = on_grid(instant(day, window_start, rules), rules, up=True)
    shape = check_shape(Request(start, start + length, seats), rules)
    return next((v for v in shape if v.code in UNFIT_CODES), None)


def days_between(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)
