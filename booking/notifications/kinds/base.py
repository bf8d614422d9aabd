"""What every kind of message is made of, and what composing one needs.

A kind is one class (CTFd's registry of challenge types is the model), with
everything about that message in one place:

- ``key``: what the outbox row says it is, and the name of its template
  (``templates/emails/<key>.txt``); ``label``: what administrators read;
- ``record``: whom it goes to and what it keeps, in the change's transaction
  (called through ``booking.services.outbox.tell`` by the use case);
- ``compose``: whether it is still true when its turn comes (else ``Obsolete``:
  the sender drops it), and what its words need (names, links, dates);
- ``subject`` and ``attachments``: its own, in the recipient's language.

Adding an e-mail is one class here (decorated with ``@kind``) and one template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from ...extensions import db
from ...models import OutboxMessage, Reservation, Resource, Status, User, Venue
from ...presentation import emails
from ...services import outbox
from ..links import Links


class Obsolete(Exception):
    """The message is no longer true: it is dropped, with this reason."""


@dataclass
class Envelope:
    to_name: str
    to_address: str
    letter: emails.Letter


def sender_address() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1] or "ne-pas-repondre@localhost"


class Composer:
    """One outbox row on its way to becoming an e-mail: the pieces every kind needs."""

    def __init__(self, message: OutboxMessage, now: datetime, links: Links) -> None:
        self.message = message
        self.payload: dict[str, Any] = message.payload
        self.now = now
        self.links = links
        self.config = current_app.config
        self.recipient: User | None = message.recipient

    def url(self, endpoint: str, **values: Any) -> str:
        return self.links.url(endpoint, **values)

    def preferences_url(self) -> str:
        return self.url("profile.index") + "#notifications"

    def reservation_url(self) -> Callable[[Reservation], str]:
        return lambda r: self.url("reservations.show", reservation_id=r.id)

    def envelope(self, name: str, address: str, locale: str, **letter: Any) -> Envelope:
        return Envelope(
            name,
            address,
            emails.Letter(
                kind=self.message.kind,
                locale=locale if locale in self.config["LANGUAGES"] else "fr",
                recipient_name=name,
                site_name=self.config["SITE_NAME"],
                organizer_email=sender_address(),
                reservation_url=self.reservation_url(),
                **letter,
            ),
        )

    def to_account(self, **letter: Any) -> Envelope:
        """To the account the message is for, while it is active."""
        user = self.recipient
        if user is None or not user.active:
            raise Obsolete("the account is gone or suspended")
        return self.envelope(user.display_name, user.email, user.locale, **letter)

    def to_address(self, name: str, **letter: Any) -> Envelope:
        """To the address the message is for (someone without an account)."""
        address = self.message.to_address or ""
        return self.envelope(name, address, self.message.locale or "fr", **letter)

    def account(self) -> User:
        """The account the message is about (and to), if it still exists."""
        if self.recipient is None:
            raise Obsolete("the account is gone")
        return self.recipient

    def venue(self) -> Venue:
        venue_id = self.payload.get("venue_id")
        venue = db.session.get(Venue, venue_id) if venue_id else None
        if venue is None:
            raise Obsolete("the venue no longer exists")
        return venue

    def name_of(self, user_id: int | None) -> str:
        user = db.session.get(User, user_id) if user_id else None
        return user.display_name if user else ""

    def reservations(self) -> tuple[list[Reservation], list[Reservation]]:
        """The reservations the message is about, as they are now and as it reports them
        (status, SEQUENCE and last change when it happened)."""
        snaps = self.payload.get("reservations", [])
        # Those the sender read with its batch are taken as they are; the rest, read here.
        current: dict[int, Reservation] = {}
        for snap in snaps:
            known = db.session.identity_map.get(identity_key(Reservation, snap["id"]))
            if known is not None:
                current[snap["id"]] = known
        missing = [snap["id"] for snap in snaps if snap["id"] not in current]
        if missing:
            current.update(
                (reservation.id, reservation)
                for reservation in db.session.scalars(
                    sa.select(Reservation)
                    .where(Reservation.id.in_(missing))
                    .options(
                        selectinload(Reservation.resource).selectinload(Resource.venue),
                        selectinload(Reservation.user),
                    )
                )
            )
        reported = [_reported(current[s["id"]], s) for s in snaps if s["id"] in current]
        if not reported:
            raise Obsolete("the reservations no longer exist")
        return [current[r.id] for r in reported], reported


def _reported(reservation: Reservation, snap: dict[str, Any]) -> Reservation:
    """The reservation as the message reports it (status, SEQUENCE, last change then),
    a copy that no session knows of."""
    mapper = sa.inspect(Reservation)
    values = {attr.key: getattr(reservation, attr.key) for attr in mapper.column_attrs}
    values.update(
        status=Status(snap["status"]),
        sequence=int(snap["sequence"]),
        updated_at=datetime.fromisoformat(snap["updated_at"]),
    )
    copy = Reservation(**values)
    copy.resource = reservation.resource
    copy.user = reservation.user
    return copy


class MessageKind:
    """A kind of message: subclasses say everything about theirs."""

    key: ClassVar[str]
    label: ClassVar[Any]  # a lazy string: what administrators read in the list

    def record(self, session: Session, now: datetime, **facts: Any) -> int:
        """Add this kind's messages about ``facts`` to the outbox; how many."""
        raise NotImplementedError

    def compose(self, c: Composer) -> Envelope:
        """Who receives the message and what its words need; ``Obsolete`` if no longer
        true (only what is truly gone makes a message obsolete, never its age)."""
        raise NotImplementedError

    def subject(self, letter: emails.Letter) -> str:
        raise NotImplementedError

    def attachments(self, letter: emails.Letter) -> tuple[emails.Attachment, ...]:
        return ()

    def link_life(self) -> timedelta | None:
        """How long a link the message carries works, for links that last a short time:
        a try that comes when less than half of it is left writes the message again
        (same Message-ID) rather than deliver a link about to die."""
        return None

    def render(self, letter: emails.Letter) -> emails.Email:
        return emails.render(letter, self.subject, self.attachments)


def kind(cls: type[MessageKind]) -> type[MessageKind]:
    """Register a kind of message (a class decorator)."""
    outbox.register(cls())
    return cls


def of(message: OutboxMessage) -> MessageKind:
    """The kind of an outbox row."""
    found = outbox.kind_of(message.kind)
    assert isinstance(found, MessageKind)
    return found


class AboutReservations(MessageKind):
    """A message about a member's own reservations, with one calendar entry each."""

    # Whether the message says why (a refusal, a closure): the use case's ``reason``.
    tells_reason: ClassVar[bool] = False

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Any = (),
        reason: str = "",
        **_: Any,
    ) -> int:
        extra = {"reason": reason} if self.tells_reason else {}
        return outbox.to_members(session, self.key, reservations, now, **extra)

    def still_true(self, c: Composer, current: list[Reservation]) -> None:
        """Raise ``Obsolete`` if what the message says no longer holds."""

    def compose(self, c: Composer) -> Envelope:
        current, reported = c.reservations()
        self.still_true(c, current)
        first = reported[0]
        return c.to_account(
            reservations=reported,
            venue=first.resource.venue,
            values={
                "reason": c.payload.get("reason", ""),
                "actor_name": c.name_of(c.payload.get("actor_id")),
                "book_url": c.url("reservations.new", resource=first.resource.slug),
                "bookings_url": c.url("reservations.mine"),
                "preferences_url": c.preferences_url(),
            },
        )

    def attachments(self, letter: emails.Letter) -> tuple[emails.Attachment, ...]:
        return emails.reservation_calendars(letter)
