"""A search's answer as a member reads it: slots by day, what stops them, whom to ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext, ngettext

from ..services.search import FreeSlot, SearchResult
from .formatting import format_day, venue_time
from .messages import violation_message


@dataclass(frozen=True)
class FoundDay:
    day: date
    name: str
    slots: list[FreeSlot]


@dataclass(frozen=True)
class Note:
    """Something to know about one resource of the answer: why its slots cannot be booked
    by this person (and whom to ask), or why it cannot answer the request at all."""

    resource_name: str
    resource_slug: str
    text: str
    contacts: list[tuple[str, str]]


def by_day(slots: list[FreeSlot]) -> list[FoundDay]:
    days: list[FoundDay] = []
    for slot in slots:
        day = slot.starts_at.date()
        if not days or days[-1].day != day:
            days.append(FoundDay(day, format_day(day), []))
        days[-1].slots.append(slot)
    return days


def slot_times(slot: FreeSlot) -> str:
    zone = slot.starts_at.tzinfo
    return f"{venue_time(slot.starts_at, zone)}–{venue_time(slot.ends_at, zone)}"  # type: ignore[arg-type]


def seats_text(slot: FreeSlot) -> str:
    return ngettext(
        "%(num)d seat free out of %(capacity)d",
        "%(num)d seats free out of %(capacity)d",
        slot.free_seats,
        capacity=slot.resource.capacity,
    )


def obstacle_label(slot: FreeSlot) -> str:
    """A few words on a slot that this person cannot book (the notes above say more)."""
    codes = {v.code for v in slot.obstacles}
    if "account_inactive" in codes:
        return gettext("Account suspended")
    if "no_role" in codes:
        return gettext("Not a member of this place")
    if "qualification" in codes:
        return gettext("Training required")
    if "quota" in codes:
        return gettext("Weekly limit reached")
    return ""


def notes(result: SearchResult, member: bool) -> list[Note]:
    """One note per resource whose slots this person cannot book, then one per resource
    that cannot answer the request; visitors are told to log in instead (no names)."""
    found: list[Note] = []
    seen: set[int] = set()
    for slot in result.slots:
        if not slot.obstacles or slot.resource.id in seen or not member:
            continue
        seen.add(slot.resource.id)
        text = " ".join(violation_message(v) for v in slot.obstacles)
        contacts = result.contacts.get(slot.resource.venue_id, [])
        found.append(Note(slot.resource.name, slot.resource.slug, text, contacts))
    for bookable, violation in result.unfit:
        found.append(Note(bookable.name, bookable.slug, violation_message(violation), []))
    return found
