"""Find a free slot: what, when, for how long and how many seats, across resources and venues.

The answer is the nearest free slots first, found without evaluating every resource
of the network:

1. the resources that match are found by the database (the words against each name
   folded: ``booking.models.names``), with their rules, hours and closures
   (``bookables.matching``), in two queries;
2. each resource's earliest possible start on each day is worked out from its hours
   alone (``opening``): a bound that no free slot of that day comes before;
3. the resource-days are evaluated nearest bound first, a batch at a time (their
   bookings in one query, the quota minutes of members in another: ``candidates``,
   the engine's own evaluation), and a slot found is final as soon as no bound left
   comes before it. The search stops once a page of slots is final: the resources
   beyond it are never read.

Slots that only the person cannot book (a missing training, no role at the venue,
the weekly quota used up) are shown with what stops them, never hidden.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ...localtime import local_day_bounds, local_week_bounds, to_local, wall_clock_instant
from ...models.names import folded
from ...rules import Hold, Violation
from ..booking.engine import person_violations
from ..venues.contacts import managers_of
from .bookables import (
    Bookable,
    Viewer,
    context_for,
    matching,
    minutes_by_resource_week,
    viewer,
)
from .candidates import candidates, unfit
from .week import busy_by_resource

__all__ = ["FreeSlot", "SearchQuery", "SearchResult", "find_free_slots", "folded"]

# How far a search may reach, and how much it answers.
MAX_DAYS = 14
LIMIT = 30
PER_RESOURCE_DAY = 3
# Resource-days evaluated together (one query for their bookings), at first; each batch
# that leaves the page unfinished doubles the next, so that a search where most resources
# are full still sends few queries.
FIRST_BATCH = 16


@dataclass(frozen=True)
class SearchQuery:
    """What someone looks for. ``before`` of 00:00 means until midnight."""

    first_day: date
    last_day: date
    after: time = time(0)
    before: time = time(0)
    minutes: int = 60
    seats: int = 1
    words: str = ""
    venue_slug: str = ""
    resource_slug: str = ""


@dataclass(frozen=True)
class FreeSlot:
    resource: Bookable
    starts_at: datetime  # aware, in the venue's zone
    ends_at: datetime
    free_seats: int  # at the busiest moment, buffer included, before this booking
    obstacles: tuple[Violation, ...]  # what stops this person, if anything

    @property
    def bookable(self) -> bool:
        return not self.obstacles


@dataclass
class SearchResult:
    slots: list[FreeSlot] = field(default_factory=list)
    # Resources that match the words but cannot take this request at any time, and why.
    unfit: list[tuple[Bookable, Violation]] = field(default_factory=list)
    searched: list[Bookable] = field(default_factory=list)
    # Whom to ask at each venue (its managers' names and e-mail addresses), for members.
    contacts: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    truncated: bool = False


def _scope(session: Session, query: SearchQuery, who: Viewer) -> list[Bookable]:
    """The resources searched: the one named, or those of one venue, or of the person's
    venues (every venue for visitors, administrators and people without one yet), whose
    names hold every word asked."""
    words = folded(query.words).split()
    first, last = query.first_day, query.last_day
    if query.resource_slug or query.venue_slug:
        return matching(
            session,
            first,
            last,
            words,
            resource_slug=query.resource_slug,
            venue_slug=query.venue_slug,
        )
    if who.venue_ids and not who.is_admin:
        return matching(session, first, last, words, venue_ids=who.venue_ids)
    return matching(session, first, last, words)


class _Instants:
    """Wall-clock times at venues as instants, each worked out once per search (most
    venues open at the same few times)."""

    def __init__(self) -> None:
        self.known: dict[tuple[ZoneInfo, date, time], datetime] = {}

    def __call__(self, day: date, at: time, zone: ZoneInfo) -> datetime:
        key = (zone, day, at)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = wall_clock_instant(day, at, zone)
        return found


def opening(
    bookable: Bookable,
    day: date,
    window: tuple[time, time],
    now: datetime,
    instant: _Instants,
) -> datetime | None:
    """The earliest instant a slot of ``day`` could start, from the resource's hours, the
    window asked, the present and the notice alone: no free slot of that day starts
    before it. None when the hours leave nothing that day."""
    rules = bookable.rules
    zone = rules.zone
    if day > to_local(now, zone).date() + timedelta(days=rules.horizon_days):
        return None
    after, before = window
    day_start, day_end = local_day_bounds(day, zone)
    low = max(
        instant(day, after, zone), day_start, now + timedelta(minutes=rules.min_notice_minutes)
    )
    high = instant(day, before, zone) if before != time(0) else day_end
    best: datetime | None = None
    for period in rules.periods:
        if period.weekday != day.weekday():
            continue
        start = max(instant(day, period.opens_at, zone), low)
        if start < min(instant(day, period.closes_at, zone), high) and (
            best is None or start < best
        ):
            best = start
    return best


@dataclass(order=True)
class _Waiting:
    """A resource-day not yet evaluated, by the least key a slot of it could have: the
    earliest start it could offer, whether the person cannot book there whatever the
    time (no role, no training), its name and place."""

    bound: datetime
    blocked: bool
    name: str
    order: int
    day: date = field(compare=False)


@dataclass(order=True)
class _Found:
    """A slot found, in the order the answer shows them: nearest first, then those the
    person may book, then by name. Final once no resource-day left could come before."""

    starts_at: datetime
    blocked: bool
    name: str
    order: int
    slot: FreeSlot = field(compare=False)

    def before(self, waiting: _Waiting) -> bool:
        return (self.starts_at, self.blocked, self.name, self.order) < (
            waiting.bound,
            waiting.blocked,
            waiting.name,
            waiting.order,
        )


class _Search:
    """The resource-days of a search, evaluated nearest first and a batch at a time."""

    def __init__(
        self,
        session: Session,
        query: SearchQuery,
        who: Viewer,
        searched: list[Bookable],
        now: datetime,
    ) -> None:
        self.session = session
        self.query = query
        self.who = who
        self.searched = searched
        self.now = now
        self.window = (query.after, query.before)
        self.length = timedelta(minutes=query.minutes)
        self.last_day = min(query.last_day, query.first_day + timedelta(days=MAX_DAYS - 1))
        # A few slots per resource and day when there are many resources; more for one.
        self.per_resource_day = max(PER_RESOURCE_DAY, LIMIT // len(searched))
        self.contexts = [context_for(b, who) for b in searched]
        self.instant = _Instants()
        self.found: list[_Found] = []
        # What was read of each resource evaluated: its bookings, the member's minutes
        # by week (its Monday) on it.
        self.busy: dict[int, list[Hold]] = {}
        self.used: dict[int, dict[date, int]] = {}
        first = (self._next_day(order, query.first_day) for order in range(len(searched)))
        self.waiting = [waiting for waiting in first if waiting is not None]
        heapq.heapify(self.waiting)

    def _next_day(self, order: int, day: date) -> _Waiting | None:
        """The resource's first day from ``day`` on whose hours leave something."""
        bookable = self.searched[order]
        while day <= self.last_day:
            bound = opening(bookable, day, self.window, self.now, self.instant)
            if bound is not None:
                context = self.contexts[order]
                # What stops this person whatever the time (the quota, known only from
                # the bookings, can only add to it).
                blocked = not context.by_manager and bool(person_violations(context, day))
                return _Waiting(bound, blocked, bookable.name, order, day)
            day += timedelta(days=1)
        return None

    def run(self) -> tuple[list[FreeSlot], bool]:
        """Up to ``LIMIT`` slots, nearest first, and whether more may follow."""
        slots: list[FreeSlot] = []
        batch = FIRST_BATCH
        while len(slots) < LIMIT and (self.found or self.waiting):
            if self.found and (not self.waiting or self.found[0].before(self.waiting[0])):
                slots.append(heapq.heappop(self.found).slot)
                continue
            taken = [heapq.heappop(self.waiting) for _ in range(min(batch, len(self.waiting)))]
            before = len(self.found)
            self._evaluate(taken)
            if len(self.found) - before < LIMIT - len(slots):
                batch *= 2
        return slots, bool(self.found or self.waiting)

    def _load(self, orders: list[int], first_day: date) -> None:
        """The bookings of these resources from ``first_day`` to the last day asked, in one
        query, and the member's minutes on those with a quota, in another: their later
        days are evaluated without asking again."""
        zones = {self.searched[order].zone for order in orders}
        start = min(local_day_bounds(first_day, zone)[0] for zone in zones)
        end = max(local_day_bounds(self.last_day, zone)[1] for zone in zones)
        ids = [self.searched[order].id for order in orders]
        found = busy_by_resource(self.session, ids, start, end + timedelta(days=1))
        for resource_id in ids:
            self.busy[resource_id] = [
                Hold(h.starts_at, h.blocked_until, h.seats) for h in found.get(resource_id, [])
            ]
        with_quota = {
            self.searched[order].id: self.searched[order].zone
            for order in orders
            if self.searched[order].rules.weekly_quota_minutes is not None
        }
        if self.who.id and with_quota:
            # The weeks of every zone: a day more on each side; each booking counts in
            # its own resource's week.
            zone = next(iter(with_quota.values()))
            week_start, _ = local_week_bounds(start - timedelta(days=1), zone)
            _, week_end = local_week_bounds(end + timedelta(days=1), zone)
            used = minutes_by_resource_week(
                self.session, self.who.id, with_quota, week_start, week_end
            )
            for (resource_id, monday), minutes in used.items():
                self.used.setdefault(resource_id, {})[monday] = minutes

    def _evaluate(self, taken: list[_Waiting]) -> None:
        """The slots of these resource-days; the bookings of the resources not read yet are
        read together."""
        new = [w for w in taken if self.searched[w.order].id not in self.busy]
        if new:
            self._load([w.order for w in new], min(w.day for w in new))
        for waiting in taken:
            bookable = self.searched[waiting.order]
            rules = bookable.rules
            day_start, day_end = local_day_bounds(waiting.day, bookable.zone)
            # Only what a slot of this day can meet (its end and buffer may pass midnight).
            reach = day_end + self.length + rules.buffer
            holds = [
                h
                for h in self.busy[bookable.id]
                if h.starts_at < reach and h.blocked_until > day_start
            ]
            weeks = self.used.get(bookable.id, {})
            for candidate in candidates(
                self.contexts[waiting.order],
                holds,
                waiting.day,
                self.window,
                self.length,
                self.query.seats,
                self.now,
                weeks,
                self.per_resource_day,
            ):
                slot = FreeSlot(
                    bookable,
                    candidate.starts_at.astimezone(bookable.zone),
                    candidate.ends_at.astimezone(bookable.zone),
                    candidate.free_seats,
                    candidate.obstacles,
                )
                heapq.heappush(
                    self.found,
                    _Found(
                        candidate.starts_at, not slot.bookable, bookable.name, waiting.order, slot
                    ),
                )
            following = self._next_day(waiting.order, waiting.day + timedelta(days=1))
            if following is not None:
                heapq.heappush(self.waiting, following)


def find_free_slots(
    session: Session, query: SearchQuery, user_id: int | None, now: datetime
) -> SearchResult:
    """The free slots that answer ``query``, nearest first, for ``user_id`` (None: a visitor).

    At most ``LIMIT`` slots, a few per resource and day so that one resource does not
    fill the page. Queries: the viewer, the resources and their calendars (two), the
    bookings of each batch of resource-days evaluated (and, for members, the quota
    minutes of those with a quota), and the venues' managers: however many bookings
    exist, and however many resources match beyond those a page needs.
    """
    who = viewer(session, user_id)
    result = SearchResult()
    found = _scope(session, query, who)
    if not found:
        return result
    length = timedelta(minutes=query.minutes)
    searched = []
    for bookable in found:
        wrong = unfit(bookable.rules, query.first_day, query.after, length, query.seats)
        if wrong is None:
            searched.append(bookable)
        else:
            result.unfit.append((bookable, wrong))
    result.searched = searched
    if not searched:
        return result
    result.slots, more = _Search(session, query, who, searched, now).run()
    result.truncated = len(result.slots) >= LIMIT and more
    if user_id is not None and any(s.obstacles for s in result.slots):
        venues = sorted({s.resource.venue_id for s in result.slots if s.obstacles})
        result.contacts = managers_of(venues)
    return result
