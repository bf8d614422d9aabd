"""A resource's week as a member reads it: each day's hours, then its free and taken times.

The data comes from ``booking.services.availability.week_plan``; this module
only words it, once per page (week pages are the most visited, so their
sentences are made here rather than by many template filters).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import get_locale, gettext, ngettext
from markupsafe import Markup

from ..services.availability.week import PLAN_WEEKS, DayPlan, Range, WeekPlan
from ..services.keeping import MinuteStore
from .descriptions import buffer_purpose
from .formatting import venue_day, venue_time

DASH = "–"


@dataclass(slots=True)
class Line:
    """One range of a day: its times, what it is, and a slot to book there if any."""

    state: str  # free, partial, full: a class in static/css/find.css
    times: str
    text: str
    note: str
    pick: str  # "2026-03-03T09:00/12:30" for the booking form's buttons, or ""
    query: str  # "day=2026-03-03&start=09:00&end=12:30" for links, or ""
    # Time taken or partly taken: the slot to wait for, as ``pick`` and ``query`` (with the
    # seats to wait for when there are several), or "".
    wait_pick: str = ""
    wait_query: str = ""


@dataclass(slots=True)
class DayView:
    day: date
    name: str
    hours: str
    closed: str | None  # the closure's reason ("" if none given), None when not closed
    lines: list[Line]
    is_today: bool
    closed_parts: list[str]  # "Closed from 14:00 to 16:00 — Inventory"

    @property
    def has_pick(self) -> bool:
        return any(line.pick for line in self.lines)


class Words:
    """The sentences of one page, each translated once (a page shows many weeks)."""

    def __init__(self) -> None:
        self.cache: dict[object, str] = {}

    def seats(self, free: int, capacity: int) -> str:
        key = (free, capacity)
        if key not in self.cache:
            self.cache[key] = ngettext(
                "%(num)d seat free out of %(capacity)d",
                "%(num)d seats free out of %(capacity)d",
                free,
                capacity=capacity,
            )
        return self.cache[key]

    def word(self, key: str) -> str:
        if key not in self.cache:
            self.cache[key] = _WORDS[key]()
        return self.cache[key]

    def then_blocked(self, time_: str, purpose: str) -> str:
        """ "then blocked until 12:30 for cleaning": the break after a booking, worded."""
        key = ("then_blocked", purpose)
        if key not in self.cache:
            self.cache[key] = gettext(
                "then blocked until %(time)s for %(purpose)s", time="%(time)s", purpose=purpose
            )
        return self.cache[key] % {"time": time_}

    def day(self, day: date) -> str:
        if day not in self.cache:
            self.cache[day] = venue_day(day)
        return self.cache[day]


_WORDS = {
    "free": lambda: gettext("Free"),
    "booked": lambda: gettext("Booked"),
    "full": lambda: gettext("Full"),
    "pending": lambda: gettext("Awaiting approval"),
    "outside": lambda: gettext("outside opening hours"),
    "closed": lambda: gettext("Closed"),
    "busy": lambda: gettext("Busy"),
    "open": lambda: gettext("Open"),
}


def _plain_clock(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _clock_with_offset(moment: datetime) -> str:
    return venue_time(moment, moment.tzinfo)  # type: ignore[arg-type]


def _line(
    item: Range, capacity: int, purpose: str, words: Words, _clock: Callable[[datetime], str]
) -> Line:
    state = item.state
    if capacity > 1 and state != "full":
        text = words.seats(item.free_seats, capacity)
    elif state == "free":
        text = words.word("free")
    elif item.pending:
        text = words.word("pending")
    else:
        text = words.word("full" if capacity > 1 else "booked")
    notes = []
    if state != "free" and item.in_use_until < item.ends_at:
        times = f"{_clock(item.starts_at)}{DASH}{_clock(item.in_use_until)}"
        notes.append(words.then_blocked(_clock(item.ends_at), purpose))
    else:
        times = f"{_clock(item.starts_at)}{DASH}{_clock(item.ends_at)}"
    if not item.opening:
        notes.append(words.word("outside"))
    pick, query = _slot(item.pick)
    wait_pick, wait_query = _slot(item.wait)
    if wait_query and capacity > 1:
        # Partly taken: more seats than are free now; taken: one.
        wait_query += f"&seats={min(capacity, item.free_seats + 1)}"
    return Line(state, times, text, ", ".join(notes), pick, query, wait_pick, wait_query)


def _slot(times: tuple[datetime, datetime] | None) -> tuple[str, str]:
    """A slot as a form button's value and as a link's query, or empty."""
    if times is None:
        return "", ""
    start, end = times
    day = start.date().isoformat()
    start_text = f"{start.hour:02d}:{start.minute:02d}"
    end_text = f"{end.hour:02d}:{end.minute:02d}"
    return f"{day}T{start_text}/{end_text}", f"day={day}&start={start_text}&end={end_text}"


# Days worded, by their plan: ``availability`` hands back the same plan objects while the
# facts of a week stay the same within the minute, so their words are kept by them (the
# plan is kept with its words: its id names no other object meanwhile). For the minute,
# as many days as the weeks it keeps.
WORDED_DAYS = 7 * PLAN_WEEKS
_WORDED: MinuteStore[tuple[DayPlan, DayView]] = MinuteStore(WORDED_DAYS)


def week_view(plan: WeekPlan, today: date, words: Words | None = None) -> list[DayView]:
    """The days of one resource's week, worded (pass one ``Words`` for a page of several)."""
    words = words or Words()
    capacity = plan.resource.capacity
    purpose = buffer_purpose(plan.resource)
    language = str(get_locale())
    views = []
    for day in plan.days:
        key = (id(day), capacity, purpose, today, language)
        found = _WORDED.get(plan.minute, key)
        if found is not None and found[0] is day:
            view = found[1]
        else:
            view = _day(day, capacity, purpose, today, words)
            _WORDED.keep(plan.minute, key, (day, view))
        views.append(view)
    return views


def _day(day: DayPlan, capacity: int, purpose: str, today: date, words: Words) -> DayView:
    if day.closed_reason is not None:
        hours = words.word("busy" if day.closed_busy else "closed")
    elif day.hours:
        spans = ", ".join(f"{o:%H:%M}{DASH}{c:%H:%M}" for o, c in day.hours)
        hours = f"{words.word('open')} {spans}"
    else:
        hours = words.word("closed")
    # Only a day when the clocks change has times that happen twice (shown with their
    # UTC offset): on the others, the plain wall-clock time says it all.
    clock = _plain_clock
    if day.ranges:
        zone = day.ranges[0].starts_at.tzinfo
        midnight = datetime.combine(day.day, time(0), tzinfo=zone)
        if midnight.utcoffset() != (midnight + timedelta(days=1)).utcoffset():
            clock = _clock_with_offset
    return DayView(
        day.day,
        words.day(day.day),
        hours,
        day.closed_reason,
        [_line(item, capacity, purpose, words, clock) for item in day.ranges],
        day.day == today,
        [
            (
                gettext("Busy from %(start)s to %(end)s", start=clock(start), end=clock(end))
                if busy
                else gettext("Closed from %(start)s to %(end)s", start=clock(start), end=clock(end))
            )
            + (f" — {reason}" if reason else "")
            for start, end, reason, busy in day.closed_parts
        ],
    )


# Weeks laid out in HTML, by the worded days they show (the same objects while the facts
# stay the same, see ``_WORDED``) and the rest of what the macro is given; kept for the
# minute of those words, within a budget of bytes (a week is 5 to 20 kB of HTML).
RENDERED_WEEKS = PLAN_WEEKS
RENDERED_BYTES = 4 * 1024 * 1024
_RENDERED: MinuteStore[tuple[tuple[DayView, ...], Markup]] = MinuteStore(
    RENDERED_WEEKS, RENDERED_BYTES, size=lambda kept: sys.getsizeof(kept[1])
)


def week_html(days: list[DayView], title: str, **options: object) -> Markup:
    """The ``week_plan`` macro of templates/reservations/_plan.html, kept by what it shows:
    week pages show the same weeks to everyone until a booking or a rule changes."""
    shown = tuple(days)
    key = (tuple(map(id, shown)), title, tuple(sorted(options.items())), str(get_locale()))
    minute = _WORDED.minute  # the minute the days were worded in
    found = _RENDERED.get(minute, key) if minute is not None else None
    if found is not None and all(a is b for a, b in zip(found[0], shown, strict=True)):
        return found[1]
    macro = current_app.jinja_env.get_template("reservations/_plan.html").module.week_plan
    html = Markup(macro(days, title, **options))
    if minute is not None:
        _RENDERED.keep(minute, key, (shown, html))
    return html
