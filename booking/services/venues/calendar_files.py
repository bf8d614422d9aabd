"""Reading other people's calendars: an iCal file or feed, or a spreadsheet of bookings,
into plain events with UTC instants (pure: no database, no Flask).

iCal is read with maintained libraries rather than by hand: ``icalendar`` parses,
``x-wr-timezone`` turns Google's calendar-wide ``X-WR-TIMEZONE`` into real time zones,
and ``recurring-ical-events`` expands ``RRULE``/``RDATE``, removes ``EXDATE`` and puts
each ``RECURRENCE-ID`` exception in its occurrence's place. All-day events take the
venue's whole local days; floating times are the venue's wall clock. A time zone that
neither the file describes nor the zone database knows is refused by name, rather than
guessed (a wrong guess would block the wrong hours).

A spreadsheet is CSV (commas, semicolons or tabs; UTF-8 or Windows' Western encoding,
as French spreadsheets save it) with a header row; its columns are recognised by name
and can be chosen otherwise by the manager.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ...localtime import LocalTimeError, local_day_bounds, to_utc

# More events than this in one file or feed is refused (a benchmark imports 5,000).
MAX_EVENTS = 20_000
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


class CalendarFileError(Exception):
    """Why a calendar or a spreadsheet cannot be read: a code and what it is about."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Event:
    """One booking or busy time read from a file: its identity, its instants, what it says."""

    key: str  # identity, stable across exports: UID and occurrence, or a row's content
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    summary: str = ""
    location: str = ""
    categories: tuple[str, ...] = ()
    description: str = ""
    emails: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    all_day: bool = False
    busy: bool = True  # not marked free (TRANSP:TRANSPARENT) nor cancelled
    # For spreadsheets: the row's cells by column name; why a row cannot be read.
    cells: tuple[tuple[str, str], ...] = ()
    problem: str = ""

    def field(self, name: str) -> str:
        """The text of a field an import maps to a resource or a person."""
        if name == "summary":
            return self.summary
        if name == "location":
            return self.location
        if name == "categories":
            return ", ".join(self.categories)
        return dict(self.cells).get(name, "")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def decode(data: bytes) -> str:
    """Text of an uploaded or fetched file: UTF-8 (with or without its mark), else the
    Windows Western encoding French spreadsheets are often saved in."""
    if b"\x00" in data[:4096]:
        raise CalendarFileError("binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# --- iCal ---------------------------------------------------------------------------


def _text(component: object, name: str) -> str:
    value = component.get(name)  # type: ignore[attr-defined]
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return " ".join(str(value).split())[:500]


def _people(component: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """E-mail addresses (attendees, then organiser, then any in the text) and names."""
    emails: list[str] = []
    names: list[str] = []
    for prop in ("ATTENDEE", "ORGANIZER"):
        values = component.get(prop)  # type: ignore[attr-defined]
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            address = str(value)
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if EMAIL.fullmatch(address.strip()):
                emails.append(address.strip().lower())
            name = getattr(value, "params", {}).get("CN")
            if name:
                names.append(" ".join(str(name).split())[:120])
    for prop in ("SUMMARY", "DESCRIPTION"):
        emails += [found.lower() for found in EMAIL.findall(_text(component, prop))]
    return tuple(dict.fromkeys(emails)), tuple(dict.fromkeys(names))


_ZONED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "DUE")


def _unknown_zones(calendar: object) -> list[str]:
    """TZIDs that neither a VTIMEZONE of the file nor the zone database knows: icalendar
    leaves such times naive, which would silently read them in another zone."""
    unknown = []
    for event in calendar.walk("VEVENT"):  # type: ignore[attr-defined]
        for name in _ZONED:
            values = event.get(name)
            for value in values if isinstance(values, list) else [values]:
                if value is None:
                    continue
                tzid = getattr(value, "params", {}).get("TZID")
                moments = getattr(value, "dts", None) or [value]
                for moment in moments:
                    dt = getattr(moment, "dt", None)
                    if tzid and isinstance(dt, datetime) and dt.tzinfo is None:
                        unknown.append(str(tzid))
    return list(dict.fromkeys(unknown))


def _instant(value: date | datetime, zone: ZoneInfo, end: bool = False) -> datetime:
    """A DTSTART or DTEND as a UTC instant: a date is the venue's local midnight, a
    floating time the venue's wall clock (a time in the spring gap read as after it)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=zone).astimezone(UTC)
        return value.astimezone(UTC)
    return local_day_bounds(value, zone)[0]


def parse_calendar(data: bytes | str) -> object:
    """The VCALENDAR of an iCal text, in standard form, or CalendarFileError."""
    import icalendar
    import x_wr_timezone

    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if b"\x00" in raw[:4096]:
        raise CalendarFileError("binary")
    if b"BEGIN:VCALENDAR" not in raw[:65536].upper():
        raise CalendarFileError("not_ical")
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception:  # the parser's errors are many kinds of ValueError and worse
        raise CalendarFileError("not_ical") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise CalendarFileError("not_ical")
    for event in calendar.walk("VEVENT"):
        for name, _error in getattr(event, "errors", []) or []:
            raise CalendarFileError("broken_event", f"{_text(event, 'SUMMARY')} ({name})")
    unknown = _unknown_zones(calendar)
    if unknown:
        raise CalendarFileError("unknown_zone", ", ".join(unknown[:3]))
    zone_name = str(calendar.get("X-WR-TIMEZONE", "") or "").strip()
    if zone_name:
        try:
            ZoneInfo(zone_name)
        except (ValueError, KeyError, OSError):
            raise CalendarFileError("unknown_zone", zone_name[:60]) from None
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception:
            raise CalendarFileError("unknown_zone", zone_name[:60]) from None
    return calendar


def read_calendar(
    data: bytes | str,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    max_events: int = MAX_EVENTS,
) -> list[Event]:
    """The occurrences of a calendar's events that meet [start, end), recurrences
    expanded, in order."""
    import recurring_ical_events

    calendar = parse_calendar(data)
    events: list[Event] = []
    try:
        occurrences = recurring_ical_events.of(calendar).between(start, end)
        for occurrence in occurrences:
            found = _event(occurrence, zone)
            if found is not None:
                events.append(found)
            if len(events) > max_events:
                raise CalendarFileError("too_many_events", str(max_events))
    except CalendarFileError:
        raise
    except Exception:  # a rule the library cannot expand, a value of the wrong type
        raise CalendarFileError("not_ical") from None
    events.sort(key=lambda e: (e.starts_at, e.ends_at, e.key))
    return events


def _event(component: object, zone: ZoneInfo) -> Event | None:
    start_prop = component.get("DTSTART")  # type: ignore[attr-defined]
    if start_prop is None:
        return None
    first = start_prop.dt
    end_prop = component.get("DTEND")  # type: ignore[attr-defined]
    all_day = not isinstance(first, datetime)
    starts_at = _instant(first, zone)
    if end_prop is not None:
        ends_at = _instant(end_prop.dt, zone, end=True)
    elif component.get("DURATION") is not None:  # type: ignore[attr-defined]
        ends_at = starts_at + component["DURATION"].dt  # type: ignore[index]
    elif all_day:
        ends_at = local_day_bounds(first, zone)[1]
    else:
        return None  # an instant, not a span: it holds no time
    if ends_at <= starts_at:
        return None
    uid = _text(component, "UID")
    recurrence = component.get("RECURRENCE-ID")  # type: ignore[attr-defined]
    original = recurrence.dt if recurrence is not None else first
    moment = (
        _instant(original, zone).isoformat()
        if isinstance(original, datetime)
        else original.isoformat()
    )
    summary = _text(component, "SUMMARY")
    location = _text(component, "LOCATION")
    if uid:
        key = f"uid:{uid}:{moment}"
    else:
        key = f"event:{summary}|{location}|{starts_at.isoformat()}|{ends_at.isoformat()}"
    categories: list[str] = []
    values = component.get("CATEGORIES")  # type: ignore[attr-defined]
    for value in values if isinstance(values, list) else [values] if values else []:
        categories += [str(c).strip() for c in getattr(value, "cats", [value]) if str(c).strip()]
    emails, names = _people(component)
    status = _text(component, "STATUS").upper()
    transparent = _text(component, "TRANSP").upper() == "TRANSPARENT"
    return Event(
        key=key,
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
        location=location,
        categories=tuple(categories),
        description=_text(component, "DESCRIPTION"),
        emails=emails,
        names=names,
        all_day=all_day,
        busy=status != "CANCELLED" and not transparent,
    )


def busy_spans(events: Iterable[Event]) -> list[tuple[datetime, datetime]]:
    """The times the events hold, overlapping and touching ones merged: what a followed
    calendar blocks, with nothing left that tells one event from another."""
    spans: list[tuple[datetime, datetime]] = []
    for event in sorted((e for e in events if e.busy), key=lambda e: e.starts_at):
        if spans and event.starts_at <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], event.ends_at))
        else:
            spans.append((event.starts_at, event.ends_at))
    return spans


# --- spreadsheets -------------------------------------------------------------------

# What each column of a bookings spreadsheet may be called (compared without accents).
COLUMNS = {
    "day": ("date", "jour", "day"),
    "start": ("debut", "heure de debut", "start", "starts", "de", "depuis", "from"),
    "end": ("fin", "heure de fin", "end", "ends", "a", "jusqu'a", "to", "until"),
    "resource": (
        "ressource",
        "resource",
        "salle",
        "espace",
        "equipement",
        "machine",
        "lieu",
        "room",
    ),
    "email": ("e-mail", "email", "courriel", "mail", "adresse e-mail", "adresse"),
    "name": ("nom", "name", "membre", "personne", "pour", "qui", "reserve par"),
    "purpose": ("objet", "motif", "purpose", "titre", "activite", "description", "summary"),
}
_ACCENTS = str.maketrans("àâäéèêëîïôöùûüç", "aaaeeeeiioouuuc")


def _plain(text: str) -> str:
    return " ".join(text.lower().translate(_ACCENTS).split())


@dataclass(frozen=True)
class Sheet:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def guess(self) -> dict[str, str]:
        """The column of each role, by its name."""
        found: dict[str, str] = {}
        for role, names in COLUMNS.items():
            for column in self.header:
                if _plain(column) in names and column not in found.values():
                    found[role] = column
                    break
        return found


def read_sheet(text: str, max_rows: int = MAX_EVENTS) -> Sheet:
    """A CSV text's header and rows (blank rows left out)."""
    if "\x00" in text[:4096]:
        raise CalendarFileError("binary")
    sample = text[:8192]
    first_line = sample.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise CalendarFileError("not_csv")
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = tuple(" ".join(cell.split())[:80] for cell in next(reader))
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append(tuple(cell.strip()[:500] for cell in row))
            if len(rows) > max_rows:
                raise CalendarFileError("too_many_events", str(max_rows))
    except (csv.Error, StopIteration):
        raise CalendarFileError("not_csv") from None
    if not any(header) or len(set(header)) != len(header):
        raise CalendarFileError("not_csv")
    return Sheet(header, tuple(rows))


_DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y")
_TIME = re.compile(r"^(\d{1,2})\s*(?:[:hH]\s*(\d{2})?)?(?::\d{2})?$")


def _day(text: str) -> date | None:
    for pattern in _DAY_FORMATS:
        try:
            found = datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
        if date(2000, 1, 1) <= found <= date(2099, 12, 31):
            return found
    return None


def _clock(text: str) -> time | None:
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour == 24 and minute == 0:
        return time(0)  # read by the caller as the next midnight
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _moment(text: str, day: date | None) -> tuple[date, time] | None:
    """ "14:00" on ``day``, or a whole "05/03/2026 14:00" / "2026-03-05T14:00"."""
    text = text.strip()
    for separator in ("T", " "):
        if separator in text:
            head, _, tail = text.partition(separator)
            found_day, found_time = _day(head), _clock(tail)
            if found_day is not None and found_time is not None:
                return found_day, found_time
    found_time = _clock(text)
    if found_time is not None and day is not None:
        return day, found_time
    return None


def sheet_events(sheet: Sheet, columns: dict[str, str], zone: ZoneInfo) -> Iterator[Event]:
    """Each row as an event, by the columns chosen for each role; a row that cannot be
    read comes with its ``problem`` ("day", "start", "end", "order", "gap")."""
    index = {name: position for position, name in enumerate(sheet.header)}

    def cell(row: tuple[str, ...], role: str) -> str:
        column = columns.get(role)
        position = index.get(column) if column else None
        return row[position] if position is not None and position < len(row) else ""

    for row in sheet.rows:
        cells = tuple(zip(sheet.header, row, strict=False))
        key = "row:" + "\x1f".join(row)
        day = _day(cell(row, "day")) if columns.get("day") else None
        start = _moment(cell(row, "start"), day)
        end = _moment(cell(row, "end"), day or (start[0] if start else None))
        problem = ""
        if columns.get("day") and day is None and start is None:
            problem = "day"
        elif start is None:
            problem = "start"
        elif end is None:
            problem = "end"
        starts_at = ends_at = datetime(2000, 1, 1, tzinfo=UTC)
        if not problem:
            assert start is not None and end is not None
            end_day = end[0]
            if end[1] == time(0) and re.match(r"^\s*24", cell(row, "end")):
                end_day += timedelta(days=1)
            try:
                starts_at = to_utc(datetime.combine(start[0], start[1]), zone)
                ends_at = to_utc(datetime.combine(end_day, end[1]), zone)
            except LocalTimeError:
                problem = "gap"
            else:
                if ends_at <= starts_at:
                    problem = "order"
        email = cell(row, "email").strip().lower()
        yield Event(
            key=key,
            starts_at=starts_at,
            ends_at=ends_at,
            summary=cell(row, "purpose"),
            location=cell(row, "resource"),
            emails=(email,) if EMAIL.fullmatch(email) else (),
            names=(cell(row, "name"),) if cell(row, "name") else (),
            cells=cells,
            problem=problem,
        )
