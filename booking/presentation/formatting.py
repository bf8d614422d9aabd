"""Times, dates and durations as people read them, in the venue's zone and the reader's language.

Durations read "1 h 30", times "9 h 30" in French and "9:30" in English (24-hour
both), days "lundi 2 mars 2026". Instants of reservations are shown in the
venue's time zone, with their UTC offset where the wall-clock time happens
twice (the autumn change).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_day_names
from flask_babel import get_locale, gettext, ngettext

from ..localtime import is_ambiguous

NBSP = "\u00a0"


MINUTES_PER_DAY = 24 * 60


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "fr"


def format_duration(minutes: int) -> str:
    """30 → "30 min", 60 → "1 heure", 90 → "1 h 30", 2880 → "2 jours"."""
    if minutes >= MINUTES_PER_DAY and minutes % MINUTES_PER_DAY == 0:
        days = minutes // MINUTES_PER_DAY
        return ngettext("%(num)d day", "%(num)d days", days)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return gettext("%(hours)d h %(minutes)02d", hours=hours, minutes=rest)
    if hours:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return gettext("%(num)d min", num=rest)


def format_clock(value: time | datetime) -> str:
    """A time of day as people write it, on 24 hours: "9 h", "12 h 30" in French;
    "9:00", "12:30" in English (the venues' country: no AM or PM)."""
    if _lang() == "fr":
        if value.minute:
            return f"{value.hour}{NBSP}h{NBSP}{value.minute:02d}"
        return f"{value.hour}{NBSP}h"
    return f"{value.hour}:{value.minute:02d}"


def format_day(value: date, with_weekday: bool = True) -> str:
    """ "lundi 2 mars 2026" / "Monday, March 2, 2026"."""
    return babel_format_date(value, "full" if with_weekday else "long", locale=get_locale())


def weekday_name(weekday: int) -> str:
    """0 → "Lundi" (capitalised: it starts a line in the hours list)."""
    name = get_day_names("wide", locale=get_locale())[weekday]
    return name[:1].upper() + name[1:]


def format_period(opens_at: time, closes_at: time) -> str:
    return gettext(
        "from %(opens)s to %(closes)s", opens=format_clock(opens_at), closes=format_clock(closes_at)
    )


def format_date_range(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return gettext("on %(day)s", day=format_day(starts_on))
    return gettext(
        "from %(first)s to %(last)s (included)",
        first=format_day(starts_on),
        last=format_day(ends_on),
    )


def format_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """A closure's range in the venue's local time, as short as it can be said:
    whole days as days ("from Monday 6 April to Friday 10 April (included)"),
    part of one day with its hours, anything else from one moment to another."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.time() == time(0) and last.time() == time(0):
        return format_date_range(first.date(), (last - timedelta(days=1)).date())
    if first.date() == last.date():
        return gettext(
            "on %(day)s from %(start)s to %(end)s",
            day=format_day(first.date()),
            start=format_clock(first),
            end=format_clock(last),
        )
    return gettext(
        "from %(start_day)s, %(start)s to %(end_day)s, %(end)s",
        start_day=format_day(first.date()),
        start=format_clock(first),
        end_day=format_day(last.date()),
        end=format_clock(last),
    )


def _offset_note(local: datetime, zone: ZoneInfo) -> str:
    """The UTC offset, shown only where the wall-clock time happens twice."""
    # Week pages show many times: most are far from a clock change, which the other
    # reading of the same wall-clock time (fold) tells at once.
    if local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset():
        return ""
    if is_ambiguous(local.replace(tzinfo=None), zone):
        offset = int(local.utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]
        return f" (UTC{offset:+d})"
    return ""


def venue_datetime(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    text = babel_format_datetime(local, "EEEE d MMMM y, HH:mm", tzinfo=zone, locale=get_locale())
    return text + _offset_note(local, zone)


def venue_time(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d}{_offset_note(local, zone)}"


def span_between(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """ "mardi 3 mars 2026, 14:00 – 17:00": a booking's times in the venue's zone (its end
    with its day when it ends another day)."""
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    until = venue_time(end, zone) if same_day else venue_datetime(end, zone)
    return f"{venue_datetime(start, zone)} – {until}"


def venue_day(day: date) -> str:
    return babel_format_date(day, "EEEE d MMMM", locale=get_locale())


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str) -> str:
    """ "Firefox sur Android": enough for someone to recognise their own devices."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return gettext("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or gettext("Unknown browser")


def venue_short_day(instant: datetime, zone: ZoneInfo) -> str:
    """ "mar. 3 mars" / "Tue 3 Mar": one date of a series, where many sit side by side."""
    return babel_format_date(instant.astimezone(zone).date(), "EEE d MMM", locale=get_locale())
