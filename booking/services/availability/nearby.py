"""The free times nearest to a taken one: of the same resource, and of those like it.

When a member finds the time they wanted taken (the booking form refuses it, or
they tap a taken time on a week), they are offered, in one place, to wait for it
and the nearest times they can book instead: the same day around that time, then
the days after; on the same resource, and on the resources of the venue that are
like it (the same kind, and the same training, or none). Each time is put to the
engine's own evaluation (``candidates``), for this person, in a fixed number of
queries whatever the number of reservations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ...localtime import local_day_bounds, local_week_bounds
from ...rules import Hold
from ..booking.loading import Context
from .bookables import Bookable, bookables, context_for, minutes_by_resource_week, viewer
from .candidates import candidates, unfit
from .search import FreeSlot
from .week import busy_by_resource

# How many times each list offers, how far after the day asked it looks, how long before
# the time asked it starts on that day, and how many resources like it are tried.
SHOWN = 3
DAYS_AFTER = 7
HOURS_BEFORE = 4
MAX_SIMILAR = 6
MAX_PER_DAY = 40


@dataclass
class Nearby:
    """The nearest free times of the resource itself, then of the resources like it."""

    same: list[FreeSlot] = field(default_factory=list)
    similar: list[FreeSlot] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.same or self.similar)


def is_like(one: Bookable, other: Bookable) -> bool:
    """Whether ``other`` could stand in for ``one``: another resource of the same venue, of
    the same kind, asking for the same training (or none)."""
    return (
        other.id != one.id
        and other.venue_id == one.venue_id
        and other.kind == one.kind
        and other.qualification_id == one.qualification_id
    )


def nearest_free(
    session: Session,
    *,
    resource_id: int,
    venue_id: int,
    starts_at: datetime,
    ends_at: datetime,
    seats: int,
    user_id: int,
    now: datetime,
) -> Nearby:
    """The free times nearest to [starts_at, ends_at) that ``user_id`` may book, of the
    same length and seats: at most ``SHOWN`` of the resource, and ``SHOWN`` of those like
    it. Queries: the venue's resources (two), the person, their bookings over the days
    looked at, and the quota minutes when a resource has a quota."""
    result = Nearby()
    length = ends_at - starts_at
    if length <= timedelta(0) or ends_at <= now:
        return result
    # The resources with the closures of every day looked at, whatever the venue's zone.
    utc_day = starts_at.astimezone(UTC).date()
    found = bookables(
        session,
        utc_day - timedelta(days=1),
        utc_day + timedelta(days=DAYS_AFTER + 1),
        venue_id=venue_id,
    )
    asked = next((b for b in found if b.id == resource_id), None)
    if asked is None:
        return result
    zone = asked.zone
    day = starts_at.astimezone(zone).date()
    last_day = day + timedelta(days=DAYS_AFTER)
    similar = [b for b in found if is_like(asked, b)][:MAX_SIMILAR]
    looked_at = [
        b for b in [asked, *similar] if unfit(b.rules, day, time(0), length, seats) is None
    ]
    if not looked_at:
        return result
    start, _ = local_day_bounds(day, zone)
    _, end = local_day_bounds(last_day, zone)
    busy = busy_by_resource(session, [b.id for b in looked_at], start, end + timedelta(days=1))
    who = viewer(session, user_id)
    with_quota = {b.id: b.zone for b in looked_at if b.rules.weekly_quota_minutes is not None}
    used: dict[tuple[int, date], int] = {}
    if with_quota:
        week_start, _ = local_week_bounds(start, zone)
        _, week_end = local_week_bounds(end, zone)
        used = minutes_by_resource_week(session, user_id, with_quota, week_start, week_end)
    for bookable in looked_at:
        holds = [Hold(h.starts_at, h.blocked_until, h.seats) for h in busy.get(bookable.id, [])]
        weeks = {monday: m for (rid, monday), m in used.items() if rid == bookable.id}
        asked_for = Asked(starts_at, length, seats, day)
        slots = _nearest(context_for(bookable, who), bookable, holds, weeks, asked_for, now)
        (result.same if bookable.id == resource_id else result.similar).extend(slots)
    result.same = _ordered(result.same, starts_at, day)[:SHOWN]
    result.similar = _ordered(result.similar, starts_at, day)[:SHOWN]
    return result


@dataclass(frozen=True)
class Asked:
    """The time found taken: its start, length, seats and local day."""

    starts_at: datetime
    length: timedelta
    seats: int
    day: date


def _nearest(
    context: Context,
    bookable: Bookable,
    holds: Sequence[Hold],
    weeks: dict[date, int],
    asked: Asked,
    now: datetime,
) -> list[FreeSlot]:
    """The times the person may book on ``bookable``: on the day asked, from the time asked
    on and in the few hours before it; then the first ones of each day after, until there
    are enough."""
    zone = bookable.zone
    local_start = asked.starts_at.astimezone(zone)
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    from_hour = max(local_start - timedelta(hours=HOURS_BEFORE), midnight)
    # On the day asked: from the time asked (the very time, on another resource), and
    # back-to-back times from a few hours before that end by it.
    windows = [((local_start.time(), time(0)), SHOWN)]
    if local_start > midnight:
        before = min(MAX_PER_DAY, int(timedelta(hours=HOURS_BEFORE) / asked.length) + 1)
        windows.append(((from_hour.time(), local_start.time()), before))
    found: list[FreeSlot] = []
    for offset in range(DAYS_AFTER + 1):
        if sum(1 for slot in found if slot.starts_at.date() > asked.day) >= SHOWN:
            break
        on = asked.day + timedelta(days=offset)
        day_start, day_end = local_day_bounds(on, zone)
        reach = day_end + asked.length + bookable.rules.buffer
        nearby = [h for h in holds if h.starts_at < reach and h.blocked_until > day_start]
        for window, limit in windows if offset == 0 else [((time(0), time(0)), SHOWN)]:
            for candidate in candidates(
                context, nearby, on, window, asked.length, asked.seats, now, weeks, limit
            ):
                if candidate.obstacles:
                    continue  # only what this person can book
                begins = candidate.starts_at.astimezone(zone)
                ends = candidate.ends_at.astimezone(zone)
                if ends.date() != begins.date():
                    continue  # a time ending at midnight would read "until 00:00" on a form
                found.append(FreeSlot(bookable, begins, ends, candidate.free_seats, ()))
    return found


def _ordered(slots: list[FreeSlot], starts_at: datetime, day: date) -> list[FreeSlot]:
    """The day asked first, nearest to the time asked; then the days after, soonest first."""

    def key(slot: FreeSlot) -> tuple:
        if slot.starts_at.date() == day:
            return (0, abs(slot.starts_at - starts_at), slot.starts_at, slot.resource.name)
        return (1, timedelta(0), slot.starts_at, slot.resource.name)

    return sorted(slots, key=key)
