"""Reservations in, iCalendar bytes out.

No request, no database: the caller chooses the reservations (with their
resource, venue and member loaded) and says how to link back to each one.
What an event tells depends on who reads the feed (the audience): the public
sees that a slot is taken, the member sees their own reservation in full, a
manager also sees who booked.

Every value comes from the reservation itself, never from the clock, so that
a feed whose reservations did not change is the same, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Timezone

from ..models import Audience, Closure, Reservation, Status

PRODID = "-//Tiers-lieux//Réservations//FR"
# Feeds have no reader whose language we know: they speak the venues' language.
FEED_LOCALE = "fr"
DEFAULT_REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class Scheduling:
    """An e-mailed event that updates the copy in the recipient's calendar (iTIP, RFC 5546).

    ``REQUEST`` adds or updates the event, ``CANCEL`` marks it cancelled; a
    calendar app matches it by UID and keeps the highest SEQUENCE, so that the
    same event as the feeds' is updated, never duplicated. iTIP wants an
    organizer (the venue, writing from the site's address) and the attendee.
    """

    method: str  # REQUEST or CANCEL
    organizer_name: str
    organizer_email: str


@dataclass(frozen=True)
class CalendarInfo:
    name: str
    timezone: str  # X-WR-TIMEZONE: how clients that honour it lay the day out
    refresh: timedelta = DEFAULT_REFRESH
    description: str = ""


ICAL_STATUS = {
    Status.PENDING: "TENTATIVE",
    Status.CONFIRMED: "CONFIRMED",
    Status.CANCELLED: "CANCELLED",
    Status.REFUSED: "CANCELLED",
    Status.EXPIRED: "CANCELLED",
}


@dataclass(frozen=True)
class _Labels:
    """Every translated string a feed needs, looked up once per calendar."""

    status: dict[Status, str]
    summary_prefix: dict[Status, str]
    booked: str
    status_line: str
    purpose_line: str
    member_line: str
    seats_line: str
    reason_line: str
    details_line: str
    closed: str
    closed_because: str
    busy_because: str

    @classmethod
    def load(cls) -> _Labels:
        return cls(
            status={
                Status.PENDING: _("pending approval"),
                Status.CONFIRMED: _("confirmed"),
                Status.CANCELLED: _("cancelled"),
                Status.REFUSED: _("refused"),
                Status.EXPIRED: _("expired without a decision"),
            },
            # Google and Outlook show cancelled and tentative events like any
            # other: the summary has to say it.
            summary_prefix={
                Status.PENDING: _("[Pending]") + " ",
                Status.CONFIRMED: "",
                Status.CANCELLED: _("[Cancelled]") + " ",
                Status.REFUSED: _("[Refused]") + " ",
                Status.EXPIRED: _("[Expired]") + " ",
            },
            booked=_("Booked"),
            status_line=_("Status: %(status)s"),
            purpose_line=_("Purpose: %(purpose)s"),
            member_line=_("Member: %(name)s (%(email)s)"),
            seats_line=_("Seats: %(seats)s"),
            reason_line=_("Reason: %(reason)s"),
            details_line=_("Details: %(url)s"),
            closed=_("Closed"),
            closed_because=_("Closed (%(reason)s)"),
            busy_because=_("Busy — %(calendar)s"),
        )


def _utc(value: datetime) -> datetime:
    # HTTP and iCalendar both stop at the second; microseconds would only make
    # two serialisations of the same instant differ.
    return value.astimezone(UTC).replace(microsecond=0)


def _shows_purpose(reservation: Reservation, audience: Audience) -> bool:
    return audience != Audience.PUBLIC or reservation.resource.show_purpose


def _summary(reservation: Reservation, audience: Audience, labels: _Labels) -> str:
    resource = reservation.resource.name
    purpose = reservation.purpose.strip() if _shows_purpose(reservation, audience) else ""
    if audience == Audience.MANAGER:
        detail = reservation.user.display_name
    elif audience == Audience.PUBLIC:
        detail = purpose or labels.booked
    else:
        detail = purpose
    title = f"{resource} — {detail}" if detail else resource
    return labels.summary_prefix[reservation.status] + title


def _description(reservation: Reservation, audience: Audience, url: str, labels: _Labels) -> str:
    lines = [labels.status_line % {"status": labels.status[reservation.status]}]
    if audience == Audience.MANAGER:
        user = reservation.user
        lines.append(labels.member_line % {"name": user.display_name, "email": user.email})
    purpose = reservation.purpose.strip()
    if purpose and _shows_purpose(reservation, audience):
        lines.append(labels.purpose_line % {"purpose": purpose})
    if reservation.seats > 1:
        lines.append(labels.seats_line % {"seats": reservation.seats})
    reason = reservation.decision_reason.strip()
    if reason and audience != Audience.PUBLIC and not reservation.is_holding:
        lines.append(labels.reason_line % {"reason": reason})
    lines.append(labels.details_line % {"url": url})
    return "\n".join(lines)


def _location(reservation: Reservation) -> str:
    venue = reservation.resource.venue
    return f"{venue.name}, {venue.address}" if venue.address else venue.name


# --- writing RFC 5545 -----------------------------------------------------------------
#
# A feed uses five value types only (TEXT, UTC DATE-TIME, INTEGER, URI,
# DURATION), so it is written directly: ten times faster than building
# icalendar objects, which matters for a manager feed of thousands of events
# polled by every subscriber. The tests read every feed back with icalendar,
# vobject and ical.js.

# TEXT escapes; control characters are not allowed in TEXT (RFC 5545 §3.3.11),
# tabs excepted, so they go.
_TEXT = str.maketrans(
    {
        **{c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)},
        "\\": "\\\\",
        ";": "\\;",
        ",": "\\,",
        "\n": "\\n",
    }
)
_FOLD = 75  # octets per line, CRLF excluded


def _text(value: str) -> str:
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.translate(_TEXT)


def _instant(value: datetime) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds <= 0:
        raise ValueError("a refresh interval must be positive")
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return "PT" + "".join(
        f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n
    )


def _fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, never inside a character."""
    if len(line) <= _FOLD // 4:  # short enough whatever its characters
        return line
    data = line.encode()
    if len(data) <= _FOLD:
        return line
    parts, start, limit = [], 0, _FOLD
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back up
            end -= 1
        parts.append(data[start:end])
        start, limit = end, _FOLD - 1  # the leading space counts
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode()


def _parameter(value: str) -> str:
    """A quoted parameter value (RFC 5545 §3.2): no double quote nor control character."""
    return '"' + "".join(c for c in value if c != '"' and (c == "\t" or ord(c) >= 0x20)) + '"'


def _party_lines(reservation: Reservation, scheduling: Scheduling) -> list[str]:
    member = reservation.user
    return [
        _fold(
            f"ORGANIZER;CN={_parameter(scheduling.organizer_name)}:"
            f"mailto:{scheduling.organizer_email}"
        ),
        _fold(
            f"ATTENDEE;CN={_parameter(member.display_name)};ROLE=REQ-PARTICIPANT;"
            f"PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{member.email}"
        ),
    ]


def _event_lines(
    reservation: Reservation,
    audience: Audience,
    url: str,
    labels: _Labels,
    scheduling: Scheduling | None = None,
) -> list[str]:
    modified = _instant(reservation.updated_at)
    parties = _party_lines(reservation, scheduling) if scheduling else []
    return [
        "BEGIN:VEVENT",
        _fold("UID:" + _text(reservation.uid)),
        "DTSTAMP:" + modified,
        "LAST-MODIFIED:" + modified,
        "CREATED:" + _instant(reservation.created_at),
        "DTSTART:" + _instant(reservation.starts_at),
        "DTEND:" + _instant(reservation.ends_at),
        _fold("SUMMARY:" + _text(_summary(reservation, audience, labels))),
        _fold("LOCATION:" + _text(_location(reservation))),
        _fold("DESCRIPTION:" + _text(_description(reservation, audience, url, labels))),
        "STATUS:" + ICAL_STATUS[reservation.status],
        f"SEQUENCE:{int(reservation.sequence)}",
        "TRANSP:" + ("OPAQUE" if reservation.is_holding else "TRANSPARENT"),
        # URI values are not escaped; a URL has no raw line breaks or controls.
        _fold("URL:" + url),
        *parties,
        "END:VEVENT",
    ]


def _closure_lines(closure: Closure, audience: Audience, labels: _Labels) -> list[str]:
    """A closure as a busy event: its reason only where the manager made it public
    (managers' feeds always show it)."""
    reason = (
        closure.reason.strip() if audience == Audience.MANAGER else closure.public_reason.strip()
    )
    if closure.busy:
        # A followed calendar's busy time: its label, never what the event was.
        what = labels.busy_because % {"calendar": closure.reason.strip()}
    else:
        what = labels.closed_because % {"reason": reason} if reason else labels.closed
    where = closure.resource.name if closure.resource is not None else closure.venue.name
    modified = _instant(closure.updated_at)
    venue = closure.venue
    return [
        "BEGIN:VEVENT",
        _fold("UID:" + _text(closure.uid)),
        "DTSTAMP:" + modified,
        "LAST-MODIFIED:" + modified,
        "CREATED:" + _instant(closure.created_at),
        "DTSTART:" + _instant(closure.starts_at),
        "DTEND:" + _instant(closure.ends_at),
        _fold("SUMMARY:" + _text(f"{where} — {what}")),
        _fold(
            "LOCATION:" + _text(f"{venue.name}, {venue.address}" if venue.address else venue.name)
        ),
        "STATUS:CONFIRMED",
        f"SEQUENCE:{int(closure.sequence)}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]


def _timezone_lines(tzid: str, around: date) -> list[str]:
    """A VTIMEZONE for ``tzid``, written by icalendar (only empty feeds need one)."""
    component = Timezone.from_tzid(
        tzid, first_date=date(around.year - 1, 1, 1), last_date=date(around.year + 2, 1, 1)
    )
    return component.to_ical().decode().rstrip("\r\n").split("\r\n")


def calendar(
    info: CalendarInfo,
    reservations: Iterable[Reservation],
    audience: Audience,
    url_for: Callable[[Reservation], str],
    empty_as_of: date | None = None,
    scheduling: Scheduling | None = None,
    locale: str = FEED_LOCALE,
    closures: Iterable[Closure] = (),
) -> bytes:
    """The calendar of ``reservations`` (and ``closures``, as busy times) as seen by
    ``audience``, serialised.

    ``url_for`` gives the address of each reservation's page. ``empty_as_of``
    dates the time zone description that stands in for events in an empty
    feed (RFC 5545 wants at least one component, and some clients do too).
    With ``scheduling``, the calendar is an iTIP message for e-mail (a
    reservation, or every date of a series, each event with its own UID), whose
    words can be in its reader's ``locale``.
    """
    with force_locale(locale):
        labels = _Labels.load()
    refresh = _duration(info.refresh)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        _fold("PRODID:" + _text(PRODID)),
        "CALSCALE:GREGORIAN",
        "METHOD:" + (scheduling.method if scheduling else "PUBLISH"),
        _fold("NAME:" + _text(info.name)),
        _fold("X-WR-CALNAME:" + _text(info.name)),
    ]
    if info.description:
        lines.append(_fold("DESCRIPTION:" + _text(info.description)))
        lines.append(_fold("X-WR-CALDESC:" + _text(info.description)))
    lines += [
        _fold("X-WR-TIMEZONE:" + _text(info.timezone)),
        "REFRESH-INTERVAL;VALUE=DURATION:" + refresh,
        "X-PUBLISHED-TTL:" + refresh,
    ]
    ordered = sorted(reservations, key=lambda r: (r.starts_at, r.id))
    for reservation in ordered:
        lines += _event_lines(reservation, audience, url_for(reservation), labels, scheduling)
    closed = sorted(closures, key=lambda c: (c.starts_at, c.id))
    for closure in closed:
        lines += _closure_lines(closure, audience, labels)
    if not ordered and not closed:
        lines += _timezone_lines(info.timezone, empty_as_of or date(2026, 1, 1))
    lines.append("END:VCALENDAR")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8")
