"""The words of each e-mail, in its recipient's language, and its .ics attachments.

Each kind of message (``booking.notifications.kinds``) gathers what it is
about into a ``Letter`` (the recipient, the reservations as they were when it
happened, links) and asks ``render`` for the e-mail: its own subject, a short
plain-text body from its template (``templates/emails/<kind>.txt``), and its
attachments; for a member's reservations, one iTIP calendar holding them all
(``reservation_calendars``: ``METHOD:REQUEST`` while they hold, ``METHOD:CANCEL``
once they do not), with the same UID and SEQUENCE as the feeds so that a
calendar app updates its events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale, ngettext
from jinja2 import Environment

from ..models import Audience, Reservation, Status, Venue
from . import calendars, ical
from .formatting import span_between, venue_datetime

# Dates listed in one message; a longer series says how many more there are.
MAX_LISTED = 12


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


@dataclass
class Letter:
    """What one message is about, gathered by its kind for ``render``."""

    kind: str  # the kind's key, which names its template
    locale: str
    recipient_name: str
    site_name: str
    organizer_email: str
    # Reservations as the message reports them, with resource, venue and member.
    reservations: Sequence[Reservation] = ()
    reservation_url: Callable[[Reservation], str] = lambda _: ""
    venue: Venue | None = None
    values: dict[str, Any] = field(default_factory=dict)  # reason, names, links, dates


def when(reservation: Reservation) -> str:
    zone = reservation.resource.venue.zone
    return venue_datetime(reservation.starts_at, zone)


def span(reservation: Reservation) -> str:
    """ "mardi 3 mars 2026, 14:00 – 17:00", in the venue's zone."""
    return span_between(reservation.starts_at, reservation.ends_at, reservation.resource.venue.zone)


def about(letter: Letter) -> dict[str, Any]:
    """The resource and "when" a reservation subject names: a date, or a count of dates."""
    first = letter.reservations[0]
    count = len(letter.reservations)
    day = when(first)
    said = (
        day
        if count == 1
        else ngettext("%(num)d date from %(day)s", "%(num)d dates from %(day)s", count, day=day)
    )
    return {"resource": first.resource.name, "when": said, "num": count}


def reservation_calendars(letter: Letter) -> tuple[Attachment, ...]:
    """The reservations the letter reports, as their state then, in one iTIP calendar: a
    series arrives as one file holding all its dates (one event each, with its own UID),
    which a calendar app imports in one go. Dates that no longer hold (``CANCEL``) and
    those that do (``REQUEST``) cannot share a file: a letter mixing both has one of each."""
    by_method: dict[str, list[Reservation]] = {}
    for reservation in letter.reservations:
        method = "REQUEST" if reservation.status == Status.CONFIRMED else "CANCEL"
        by_method.setdefault(method, []).append(reservation)
    attachments = []
    for method, reservations in by_method.items():
        first = reservations[0]
        scheduling = ical.Scheduling(
            method=method,
            organizer_name=first.resource.venue.name,
            organizer_email=letter.organizer_email,
        )
        data = ical.calendar(
            calendars.reservation_info(first),
            reservations,
            Audience.MEMBER,
            letter.reservation_url,
            scheduling=scheduling,
            locale=letter.locale,
        )
        name = (
            f"reservation-{first.id}"
            if len(reservations) == 1
            else f"series-{first.series_id}"
            if first.series_id is not None
            and all(r.series_id == first.series_id for r in reservations)
            else f"reservations-{first.id}"
        )
        suffix = "-cancel" if method == "CANCEL" and len(by_method) > 1 else ""
        attachments.append(
            Attachment(
                filename=f"{name}{suffix}.ics",
                content_type=f"text/calendar; method={method}",
                data=data,
            )
        )
    return tuple(attachments)


def _templates() -> Environment:
    """The application's templates, with block tags that leave no blank line (plain text)."""
    environment = current_app.extensions.get("booking.email_templates")
    if environment is None:
        environment = current_app.jinja_env.overlay(
            trim_blocks=True, lstrip_blocks=True, autoescape=False
        )
        current_app.extensions["booking.email_templates"] = environment
    return environment


def render(
    letter: Letter,
    subject: Callable[[Letter], str],
    attachments: Callable[[Letter], tuple[Attachment, ...]],
) -> Email:
    """The e-mail for ``letter``, in its recipient's language, with its kind's own subject
    and attachments."""
    with force_locale(letter.locale):
        title = subject(letter)
        listed = list(letter.reservations[:MAX_LISTED])
        body = (
            _templates()
            .get_template(f"emails/{letter.kind}.txt")
            .render(
                letter=letter,
                v=letter.values,
                reservations=listed,
                more=len(letter.reservations) - len(listed),
                first=letter.reservations[0] if letter.reservations else None,
                span=span,
                span_between=span_between,
                url=letter.reservation_url,
            )
        )
        files = attachments(letter)
    # One line, whatever the names in it hold; non-breaking spaces stay.
    title = re.sub(r"[ \t\r\n]+", " ", title).strip()
    return Email(subject=title, body=_tidy(body), attachments=files)


def _tidy(body: str) -> str:
    """Template whitespace out: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in body.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"
