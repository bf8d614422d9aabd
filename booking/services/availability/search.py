"""Find a free slot: what, when, for how long and how many seats, across resources and venues.

The answer comes from the facts a booking loads (``facts.bookables``: every
matching resource's rules, hours and closures) and the engine's own
evaluation of each candidate (``slots.candidates``), in a fixed number of
queries whatever the number of reservations or resources. Slots that only
the person cannot book (a missing training, no role at the venue, the weekly
quota used up) are shown with what stops them, never hidden.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...localtime import local_day_bounds, local_week_bounds
from ...models import Venue
from ...rules import Hold, Violation
from ..venues.contacts import managers_of
from .bookables import (
    Bookable,
    Viewer,
    bookables,
    context_for,
    minutes_by_resource_week,
    viewer,
)
from .candidates import candidates, days_between, unfit
from .week import busy_by_resource

# How far a search may reach, and how much it answers.
MAX_DAYS = 14
LIMIT = 30
PER_RESOURCE_DAY = 3


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


def folded(text: str) -> str:
    """Lower case, without accents or punctuation: "Co-working" and "coworking" meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(kept.split())


def matches(bookable: Bookable, words: str) -> bool:
    """Every word asked appears in the resource's or its venue's name."""
    haystack = folded(f"{bookable.name} {bookable.venue_name}").replace(" ", "")
    return all(word in haystack for word in folded(words).split())


def _scope(session: Session, query: SearchQuery, who: Viewer) -> list[Bookable]:
    """The resources searched: the one named, or those of one venue, or of the person's
    venues (every venue for visitors, administrators and people without one yet)."""
    if query.resource_slug:
        found = bookables(session, query.first_day, query.last_day, slug=query.resource_slug)
    elif query.venue_slug:
        venue_id = session.scalar(sa.select(Venue.id).where(Venue.slug == query.venue_slug))
        if venue_id is None:
            return []
        found = bookables(session, query.first_day, query.last_day, venue_id=venue_id)
    elif who.venue_ids and not who.is_admin:
        found = bookables(session, query.first_day, query.last_day, venue_ids=who.venue_ids)
    else:
        found = bookables(session, query.first_day, query.last_day)
    return [b for b in found if matches(b, query.words)] if query.words.strip() else found


def find_free_slots(
    session: Session, query: SearchQuery, user_id: int | None, now: datetime
) -> SearchResult:
    """The free slots that answer ``query``, nearest first, for ``user_id`` (None: a visitor).

    At most ``LIMIT`` slots, a few per resource and day so that one resource
    does not fill the page. Queries: the viewer, the resources (two), their
    bookings over the days asked, and, for members, the quota minutes and the
    venues' managers: the same number however many bookings exist.
    """
    who = viewer(session, user_id)
    result = SearchResult()
    found = _scope(session, query, who)
    if not found:
        return result
    last_day = min(query.last_day, query.first_day + timedelta(days=MAX_DAYS - 1))
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
    zone = searched[0].zone
    start, _ = local_day_bounds(query.first_day, zone)
    _, end = local_day_bounds(last_day, zone)
    busy = busy_by_resource(session, [b.id for b in searched], start, end + timedelta(days=1))
    used: dict[tuple[int, date], int] = {}
    with_quota = {b.id: b.zone for b in searched if b.rules.weekly_quota_minutes is not None}
    if user_id is not None and with_quota:
        week_start, _ = local_week_bounds(start, zone)
        _, week_end = local_week_bounds(end, zone)
        used = minutes_by_resource_week(session, user_id, with_quota, week_start, week_end)
    contexts = [(b, context_for(b, who)) for b in searched]
    holds = {
        b.id: [Hold(h.starts_at, h.blocked_until, h.seats) for h in busy.get(b.id, [])]
        for b in searched
    }
    # A few slots per resource and day when there are many resources; more for one alone.
    per_resource_day = max(PER_RESOURCE_DAY, LIMIT // len(searched))
    for day in days_between(query.first_day, last_day):
        today: list[FreeSlot] = []
        day_start, day_end = local_day_bounds(day, zone)
        for bookable, context in contexts:
            weeks = {monday: m for (rid, monday), m in used.items() if rid == bookable.id}
            # Only what a slot of this day can meet (its end and buffer may pass midnight).
            reach = day_end + length + bookable.rules.buffer
            nearby = [
                h for h in holds[bookable.id] if h.starts_at < reach and h.blocked_until > day_start
            ]
            for candidate in candidates(
                context,
                nearby,
                day,
                (query.after, query.before),
                length,
                query.seats,
                now,
                weeks,
                per_resource_day,
            ):
                today.append(
                    FreeSlot(
                        bookable,
                        candidate.starts_at.astimezone(bookable.zone),
                        candidate.ends_at.astimezone(bookable.zone),
                        candidate.free_seats,
                        candidate.obstacles,
                    )
                )
        today.sort(key=lambda s: (s.starts_at, not s.bookable, s.resource.name))
        result.slots.extend(today)
        if len(result.slots) >= LIMIT:
            result.truncated = len(result.slots) > LIMIT or day < last_day
            del result.slots[LIMIT:]
            break
    if user_id is not None and any(s.obstacles for s in result.slots):
        venues = sorted({s.resource.venue_id for s in result.slots if s.obstacles})
        result.contacts = managers_of(venues)
    return result
