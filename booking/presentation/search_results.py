"""A search's answer as a member reads it: slots by day, what stops them, whom to ask.

Rows are worded here once, each sentence translated once per page (an answer
holds up to thirty slots), so that the template only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from flask import url_for
from flask_babel import gettext, ngettext

from ..services.availability.search import SearchResult
from .formatting import format_day, venue_time
from .messages import violation_message


@dataclass(slots=True)
class Row:
    """One free slot: its time, where, what to know, and where a tap leads."""

    times: str
    resource_name: str
    resource_url: str  # the resource's page
    venue_name: str
    seats: str  # "3 seats free out of 8", or "" for a resource of one
    approval: bool
    why: str  # what stops this person, or ""
    book: str  # the booking form filled in, for a member who may book it
    login: str  # the login page, then that form, for a visitor
    label: str  # what the button says to a screen reader, after its visible word


@dataclass(slots=True)
class FoundDay:
    day: date
    name: str
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Note:
    """Something to know about one resource of the answer: why its slots cannot be booked
    by this person (and whom to ask), or why it cannot answer the request at all."""

    resource_name: str
    resource_slug: str
    text: str
    contacts: list[tuple[str, str]]


def _why(codes: frozenset[str]) -> str:
    """A few words on a slot that this person cannot book (the notes above say more)."""
    if "account_inactive" in codes:
        return gettext("Account suspended")
    if "no_role" in codes:
        return gettext("Not a member of this place")
    if "qualification" in codes:
        return gettext("Training required")
    if "quota" in codes:
        return gettext("Weekly limit reached")
    return ""


def by_day(
    result: SearchResult, member: bool, book_url: str, login_url: str, seats: int
) -> list[FoundDay]:
    """The slots grouped by day, each row worded and linked."""
    days: list[FoundDay] = []
    words: dict[object, str] = {}
    # Per resource, its page and the start of its booking links (its slug quoted once).
    links: dict[int, tuple[str, str]] = {}
    for slot in result.slots:
        day = slot.starts_at.date()
        if not days or days[-1].day != day:
            days.append(FoundDay(day, format_day(day)))
        resource = slot.resource
        zone = slot.starts_at.tzinfo
        times = f"{venue_time(slot.starts_at, zone)}–{venue_time(slot.ends_at, zone)}"  # type: ignore[arg-type]
        seats_text = ""
        if resource.capacity > 1:
            key = (slot.free_seats, resource.capacity)
            if key not in words:
                words[key] = ngettext(
                    "%(num)d seat free out of %(capacity)d",
                    "%(num)d seats free out of %(capacity)d",
                    slot.free_seats,
                    capacity=resource.capacity,
                )
            seats_text = words[key]
        why = ""
        codes = frozenset(v.code for v in slot.obstacles)
        if not member:
            # Visitors are asked to log in; a training the resource requires is no secret.
            codes &= {"qualification"}
        if codes:
            if codes not in words:
                words[codes] = _why(codes)
            why = words[codes]
        if resource.id not in links:
            links[resource.id] = (
                url_for("public.resource", slug=resource.slug),
                f"{book_url}?resource={quote(resource.slug, safe='')}",
            )
        page, booking = links[resource.id]
        # The rest of the query is digits, dashes and colons: nothing to quote.
        book = (
            f"{booking}&day={day.isoformat()}&start={slot.starts_at:%H:%M}"
            f"&end={slot.ends_at:%H:%M}&seats={int(seats)}#your-slot"
        )
        days[-1].rows.append(
            Row(
                times,
                resource.name,
                page,
                resource.venue_name,
                seats_text,
                resource.requires_approval,
                why,
                book if member and not slot.obstacles else "",
                "" if member else f"{login_url}?next={quote(book, safe='')}",
                f"{resource.name}, {days[-1].name}, {times}",
            )
        )
    return days


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
