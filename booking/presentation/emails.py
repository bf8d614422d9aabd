"""The words of each e-mail, in its recipient's language, and its .ics attachments.

A sender (``booking.notifications``) gathers what a message is about into a
``Letter`` (the recipient, the reservations as they were when it happened,
links) and asks ``render`` for the e-mail: a subject, a short plain-text body
from ``templates/emails/<kind>.txt``, and for a member's reservations one
iTIP calendar per reservation (``METHOD:REQUEST`` while it holds,
``METHOD:CANCEL`` once it does not), with the same UID and SEQUENCE as the
feeds so that a calendar app updates its event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from jinja2 import Environment

from ..models import Audience, MessageKind, Reservation, Status, Venue
from . import calendars, ical
from .formatting import format_day, venue_datetime, venue_time

# Kinds whose message is about a member's own reservations: they carry the .ics.
MEMBER_RESERVATION_KINDS = frozenset(
    {
        MessageKind.BOOKED_FOR_YOU,
        MessageKind.ACCEPTED,
        MessageKind.REFUSED,
        MessageKind.CANCELLED_BY_MANAGER,
        MessageKind.CANCELLED_BY_CLOSURE,
        MessageKind.CANCELLED_BY_YOU,
        MessageKind.EXPIRED,
        MessageKind.REMINDER,
    }
)
RESERVATION_KINDS = MEMBER_RESERVATION_KINDS | {MessageKind.REQUEST_TO_DECIDE}
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
    """What one message is about, gathered by the sender for ``render``."""

    kind: MessageKind
    locale: str
    recipient_name: str
    site_name: str
    organizer_email: str
    # Reservations as the message reports them, with resource, venue and member.
    reservations: Sequence[Reservation] = ()
    reservation_url: Callable[[Reservation], str] = lambda _: ""
    venue: Venue | None = None
    values: dict[str, Any] = field(default_factory=dict)  # reason, names, links, dates


def _when(reservation: Reservation) -> str:
    zone = reservation.resource.venue.zone
    return venue_datetime(reservation.starts_at, zone)


def _span(reservation: Reservation) -> str:
    """ "mardi 3 mars 2026, 14:00 – 17:00", in the venue's zone."""
    zone = reservation.resource.venue.zone
    start, end = reservation.starts_at, reservation.ends_at
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    until = venue_time(end, zone) if same_day else venue_datetime(end, zone)
    return f"{venue_datetime(start, zone)} – {until}"


def _about(letter: Letter) -> dict[str, Any]:
    """The resource and "when" a reservation subject names: a date, or a count of dates."""
    first = letter.reservations[0]
    count = len(letter.reservations)
    when = (
        _when(first)
        if count == 1
        else ngettext(
            "%(num)d date from %(day)s", "%(num)d dates from %(day)s", count, day=_when(first)
        )
    )
    return {"resource": first.resource.name, "when": when, "num": count}


def _subject(letter: Letter) -> str:
    v = letter.values
    kind = letter.kind
    if kind in RESERVATION_KINDS:
        about = _about(letter)
        subjects = {
            MessageKind.REQUEST_TO_DECIDE: gettext(
                "Request to decide: %(resource)s, %(when)s — %(member)s",
                member=v.get("member_name", ""),
                **about,
            ),
            MessageKind.BOOKED_FOR_YOU: gettext("Booked for you: %(resource)s, %(when)s", **about),
            MessageKind.ACCEPTED: gettext("Request accepted: %(resource)s, %(when)s", **about),
            MessageKind.REFUSED: gettext("Request refused: %(resource)s, %(when)s", **about),
            MessageKind.CANCELLED_BY_MANAGER: gettext(
                "Booking cancelled: %(resource)s, %(when)s", **about
            ),
            MessageKind.CANCELLED_BY_CLOSURE: gettext(
                "Booking cancelled (closure): %(resource)s, %(when)s", **about
            ),
            MessageKind.CANCELLED_BY_YOU: gettext(
                "Cancellation confirmed: %(resource)s, %(when)s", **about
            ),
            MessageKind.EXPIRED: gettext(
                "Request expired without an answer: %(resource)s, %(when)s", **about
            ),
            MessageKind.REMINDER: gettext("Reminder for tomorrow: %(resource)s, %(when)s", **about),
        }
        return subjects[kind]
    venue = letter.venue.name if letter.venue else ""
    match kind:
        case MessageKind.SLOT_FREED:
            return gettext(
                "A slot is free: %(resource)s, %(when)s",
                resource=v["resource_name"],
                when=venue_datetime(v["starts_at"], v["zone"]),
            )
        case MessageKind.SIGNUP_TO_DECIDE:
            return gettext(
                "Request to join %(venue)s: %(name)s", venue=venue, name=v["requester_name"]
            )
        case MessageKind.INVITATION:
            return gettext("Invitation to join %(venue)s", venue=venue)
        case MessageKind.WELCOME:
            return gettext("Welcome to %(venue)s: choose your password", venue=venue)
        case MessageKind.SIGNUP_DECLINED:
            return gettext("Your request to join %(venue)s", venue=venue)
        case MessageKind.PASSWORD_RESET:
            return gettext("Choose a new password — %(site)s", site=letter.site_name)
        case MessageKind.PASSWORD_CHANGED:
            return gettext("Your password was changed — %(site)s", site=letter.site_name)
        case MessageKind.ROLE_GRANTED:
            if v["role"] == "manager":
                return gettext("You are now a manager of %(venue)s", venue=venue)
            return gettext("You are now a member of %(venue)s", venue=venue)
        case MessageKind.ROLE_REMOVED:
            if v["role"] == "manager":
                return gettext("You are no longer a manager of %(venue)s", venue=venue)
            return gettext("You are no longer a member of %(venue)s", venue=venue)
        case MessageKind.TRAINING_GRANTED:
            return gettext("Training recorded: %(name)s", name=v["training_name"])
        case MessageKind.TRAINING_EXPIRING:
            return gettext(
                "Your training “%(name)s” expires on %(day)s",
                name=v["training_name"],
                day=format_day(v["expires_on"], with_weekday=False),
            )
    raise ValueError(f"no subject for {kind}")


def _attachments(letter: Letter) -> tuple[Attachment, ...]:
    if letter.kind not in MEMBER_RESERVATION_KINDS:
        return ()
    attachments = []
    for reservation in letter.reservations:
        method = "REQUEST" if reservation.status == Status.CONFIRMED else "CANCEL"
        scheduling = ical.Scheduling(
            method=method,
            organizer_name=reservation.resource.venue.name,
            organizer_email=letter.organizer_email,
        )
        data = ical.calendar(
            calendars.reservation_info(reservation),
            [reservation],
            Audience.MEMBER,
            letter.reservation_url,
            scheduling=scheduling,
            locale=letter.locale,
        )
        attachments.append(
            Attachment(
                filename=f"reservation-{reservation.id}.ics",
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


def render(letter: Letter) -> Email:
    """The e-mail for ``letter``, in its recipient's language."""
    with force_locale(letter.locale):
        subject = _subject(letter)
        listed = list(letter.reservations[:MAX_LISTED])
        body = (
            _templates()
            .get_template(f"emails/{letter.kind.value}.txt")
            .render(
                letter=letter,
                v=letter.values,
                reservations=listed,
                more=len(letter.reservations) - len(listed),
                first=letter.reservations[0] if letter.reservations else None,
                span=_span,
                url=letter.reservation_url,
            )
        )
        attachments = _attachments(letter)
    # One line, whatever the names in it hold; non-breaking spaces stay.
    subject = re.sub(r"[ \t\r\n]+", " ", subject).strip()
    return Email(subject=subject, body=_tidy(body), attachments=attachments)


def _tidy(body: str) -> str:
    """Template whitespace out: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in body.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"


def kind_label(kind: MessageKind) -> str:
    """What a message is, for the administrators' list."""
    labels: Mapping[MessageKind, str] = {
        MessageKind.REQUEST_TO_DECIDE: gettext("Request to decide"),
        MessageKind.SIGNUP_TO_DECIDE: gettext("Request to join"),
        MessageKind.BOOKED_FOR_YOU: gettext("Booked for a member"),
        MessageKind.ACCEPTED: gettext("Request accepted"),
        MessageKind.REFUSED: gettext("Request refused"),
        MessageKind.CANCELLED_BY_MANAGER: gettext("Cancelled by a manager"),
        MessageKind.CANCELLED_BY_CLOSURE: gettext("Cancelled by a closure"),
        MessageKind.CANCELLED_BY_YOU: gettext("Cancellation confirmed"),
        MessageKind.EXPIRED: gettext("Request expired"),
        MessageKind.REMINDER: gettext("Reminder"),
        MessageKind.SLOT_FREED: gettext("Slot freed (waiting list)"),
        MessageKind.INVITATION: gettext("Invitation"),
        MessageKind.WELCOME: gettext("Welcome, choose a password"),
        MessageKind.SIGNUP_DECLINED: gettext("Request to join declined"),
        MessageKind.PASSWORD_RESET: gettext("Password reset"),
        MessageKind.PASSWORD_CHANGED: gettext("Password changed"),
        MessageKind.ROLE_GRANTED: gettext("Role granted"),
        MessageKind.ROLE_REMOVED: gettext("Role removed"),
        MessageKind.TRAINING_GRANTED: gettext("Training granted"),
        MessageKind.TRAINING_EXPIRING: gettext("Training about to expire"),
    }
    return labels[kind]
