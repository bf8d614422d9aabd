"""From an outbox row to an e-mail: who receives it, what it is about, in which language.

Each kind of message gathers what its words need (the reservations as they
were when it happened, names, links with their signed tokens) into a
``Letter`` that ``booking.presentation.emails`` turns into words. A message
that is no longer true when its turn comes (a request already decided or
expired, a freed slot taken again, an invitation revoked) is ``Obsolete``: the
sender drops it rather than send something misleading. Only what is truly gone
makes a message obsolete, never its age: a request still pending is announced
however late its message goes (a sender that died, a long outage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Invitation,
    MessageKind,
    OutboxMessage,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    SignupRequest,
    SignupStatus,
    Status,
    User,
    Venue,
    WaitlistEntry,
    WaitStatus,
)
from ..presentation import emails
from ..security.links import LinkPurpose, make_invitation_link, make_password_link
from ..services import waitlist
from .links import Links


class Obsolete(Exception):
    """The message is no longer true: it is dropped, with this reason."""


@dataclass
class Envelope:
    to_name: str
    to_address: str
    letter: emails.Letter


def sender_address() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1] or "ne-pas-repondre@localhost"


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


def _reservations(message: OutboxMessage) -> tuple[list[Reservation], list[Reservation]]:
    """The reservations now, and as the message reports them."""
    snaps = message.payload.get("reservations", [])
    ids = [snap["id"] for snap in snaps]
    current = {
        reservation.id: reservation
        for reservation in db.session.scalars(
            sa.select(Reservation)
            .where(Reservation.id.in_(ids))
            .options(
                selectinload(Reservation.resource).selectinload(Resource.venue),
                selectinload(Reservation.user),
            )
        )
    }
    reported = [_reported(current[s["id"]], s) for s in snaps if s["id"] in current]
    if not reported:
        raise Obsolete("the reservations no longer exist")
    return [current[r.id] for r in reported], reported


def _name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def _venue(venue_id: int | None) -> Venue:
    venue = db.session.get(Venue, venue_id) if venue_id else None
    if venue is None:
        raise Obsolete("the venue no longer exists")
    return venue


class _Composer:
    def __init__(self, message: OutboxMessage, now: datetime, links: Links) -> None:
        self.message = message
        self.now = now
        self.links = links
        self.config = current_app.config
        self.recipient = message.recipient

    # --- the pieces every kind needs ---------------------------------------------------

    def preferences_url(self) -> str:
        return self.links.url("profile.index") + "#notifications"

    def reservation_url(self) -> Callable[[Reservation], str]:
        return lambda r: self.links.url("reservations.show", reservation_id=r.id)

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
        user = self.recipient
        if user is None or not user.active:
            raise Obsolete("the account is gone or suspended")
        return self.envelope(user.display_name, user.email, user.locale, **letter)

    def to_address(self, name: str, **letter: Any) -> Envelope:
        address = self.message.to_address or ""
        return self.envelope(name, address, self.message.locale or "fr", **letter)

    # --- kinds -----------------------------------------------------------------------

    def compose(self) -> Envelope:
        kind = self.message.kind
        if kind == MessageKind.REQUEST_TO_DECIDE:
            return self.request_to_decide()
        if kind in emails.MEMBER_RESERVATION_KINDS:
            return self.about_reservations()
        handler = {
            MessageKind.SLOT_FREED: self.slot_freed,
            MessageKind.SIGNUP_TO_DECIDE: self.signup_to_decide,
            MessageKind.SIGNUP_DECLINED: self.signup_declined,
            MessageKind.INVITATION: self.invitation,
            MessageKind.WELCOME: self.welcome,
            MessageKind.PASSWORD_RESET: self.password_reset,
            MessageKind.PASSWORD_CHANGED: self.password_changed,
            MessageKind.ROLE_GRANTED: self.role,
            MessageKind.ROLE_REMOVED: self.role,
            MessageKind.TRAINING_GRANTED: self.training,
            MessageKind.TRAINING_EXPIRING: self.training,
        }[kind]
        return handler()

    def request_to_decide(self) -> Envelope:
        current, reported = _reservations(self.message)
        if not any(r.status == Status.PENDING for r in current):
            raise Obsolete("the request was decided or withdrawn before this was sent")
        return self.to_account(
            reservations=reported,
            venue=reported[0].resource.venue,
            values={
                "member_name": _name(self.message.payload.get("member_id")),
                "queue_url": self.links.url("manage.index"),
                "preferences_url": self.preferences_url(),
            },
        )

    def about_reservations(self) -> Envelope:
        current, reported = _reservations(self.message)
        gone = current[0].status != Status.CONFIRMED or current[0].starts_at <= self.now
        if self.message.kind == MessageKind.REMINDER and gone:
            raise Obsolete("the booking was cancelled or has started")
        payload = self.message.payload
        first = reported[0]
        return self.to_account(
            reservations=reported,
            venue=first.resource.venue,
            values={
                "reason": payload.get("reason", ""),
                "actor_name": _name(payload.get("actor_id")),
                "book_url": self.links.url("reservations.new", resource=first.resource.slug),
                "bookings_url": self.links.url("reservations.mine"),
                "preferences_url": self.preferences_url(),
            },
        )

    def slot_freed(self) -> Envelope:
        entry = db.session.get(WaitlistEntry, self.message.payload.get("entry_id"))
        if entry is None or entry.status != WaitStatus.WAITING or entry.starts_at <= self.now:
            raise Obsolete("the member no longer waits for this slot")
        if not waitlist.is_free(db.session, entry):
            raise Obsolete("the slot was taken again before this was sent")
        resource = entry.resource
        return self.to_account(
            venue=resource.venue,
            values={
                "resource_name": resource.name,
                "venue_name": resource.venue.name,
                "zone": resource.venue.zone,
                "starts_at": entry.starts_at,
                "ends_at": entry.ends_at,
                "book_url": self.links.url("waitlist.book", entry_id=entry.id),
                "waitlist_url": self.links.url("waitlist.index"),
            },
        )

    def _signup(self) -> SignupRequest:
        request = db.session.get(SignupRequest, self.message.payload.get("request_id"))
        if request is None:
            raise Obsolete("the request no longer exists")
        return request

    def signup_to_decide(self) -> Envelope:
        request = self._signup()
        if request.status != SignupStatus.PENDING:
            raise Obsolete("the request was decided before this was sent")
        return self.to_account(
            venue=request.venue,
            values={
                "requester_name": request.display_name,
                "requester_email": request.email,
                "requester_message": request.message,
                "requests_url": self.links.url("signups.requests", slug=request.venue.slug),
                "preferences_url": self.preferences_url(),
            },
        )

    def signup_declined(self) -> Envelope:
        request = self._signup()
        return self.to_address(
            request.display_name,
            venue=request.venue,
            values={"reason": request.decision_reason},
        )

    def invitation(self) -> Envelope:
        invitation = db.session.get(Invitation, self.message.payload.get("invitation_id"))
        if invitation is None or not invitation.is_open(self.now):
            raise Obsolete("the invitation was accepted, revoked or has expired")
        token = make_invitation_link(invitation.id, invitation.nonce, self.now)
        zone = invitation.venue.zone
        return self.to_address(
            invitation.display_name,
            venue=invitation.venue,
            values={
                "inviter_name": invitation.invited_by.display_name if invitation.invited_by else "",
                "role": invitation.role.value,
                "link": self.links.url("invitations.accept", token=token),
                "has_account": db.session.scalar(
                    sa.select(sa.func.count(User.id)).where(User.email == invitation.email)
                )
                > 0,
                "expires_on": (invitation.expires_at - timedelta(seconds=1))
                .astimezone(zone)
                .date(),
            },
        )

    def welcome(self) -> Envelope:
        user = self.recipient
        if user is None:
            raise Obsolete("the account is gone")
        venue = _venue(self.message.payload.get("venue_id"))
        token = make_password_link(user, LinkPurpose.WELCOME, self.now, venue.id)
        return self.to_account(
            venue=venue,
            values={
                "link": self.links.url("auth.welcome", token=token),
                "days": int(self.config["WELCOME_LINK_DAYS"]),
                "email": user.email,
            },
        )

    def password_reset(self) -> Envelope:
        user = self.recipient
        if user is None:
            raise Obsolete("the account is gone")
        token = make_password_link(user, LinkPurpose.RESET, self.now)
        return self.to_account(
            values={
                "link": self.links.url("auth.reset_password", token=token),
                "hours": int(self.config["PASSWORD_RESET_HOURS"]),
            },
        )

    def password_changed(self) -> Envelope:
        user = self.recipient
        if user is None:
            raise Obsolete("the account is gone")
        return self.to_account(
            values={
                "email": user.email,
                "forgot_url": self.links.url("auth.forgot_password", email=user.email),
            },
        )

    def role(self) -> Envelope:
        payload = self.message.payload
        venue = _venue(payload.get("venue_id"))
        return self.to_account(
            venue=venue,
            values={
                "role": payload.get("role", "member"),
                "venue_url": self.links.url("public.venue", slug=venue.slug),
                "queue_url": self.links.url("manage.index"),
            },
        )

    def training(self) -> Envelope:
        payload = self.message.payload
        qualification = db.session.get(Qualification, payload.get("qualification_id"))
        if qualification is None:
            raise Obsolete("the training no longer exists")
        expires_on = date.fromisoformat(payload["expires_on"]) if payload["expires_on"] else None
        if self.message.kind == MessageKind.TRAINING_EXPIRING:
            grant = db.session.scalar(
                sa.select(QualificationGrant).where(
                    QualificationGrant.user_id == self.message.recipient_id,
                    QualificationGrant.qualification_id == qualification.id,
                )
            )
            if grant is None or grant.expires_on != expires_on:
                raise Obsolete("the training was renewed or removed")
        resources = db.session.scalars(
            sa.select(Resource.name)
            .where(Resource.qualification_id == qualification.id, Resource.is_active)
            .order_by(Resource.name)
        ).all()
        return self.to_account(
            values={
                "training_name": qualification.name,
                "expires_on": expires_on,
                "resource_names": list(resources),
                "preferences_url": self.preferences_url(),
            },
        )


def one_line(text: str) -> str:
    """``text`` with its line breaks, tabs and runs of spaces made single spaces."""
    return " ".join(text.split())


def compose(message: OutboxMessage, now: datetime, links: Links) -> Envelope:
    """Who receives ``message`` and what it says; raises Obsolete if it should not go."""
    return _Composer(message, now, links).compose()


def link_life(message: OutboxMessage) -> timedelta | None:
    """How long the link a message carries works, for links that last a short time.

    Such a message keeps its bytes like any other, but a try that comes when its link
    has less than half its life left (after a long outage) writes it again with a new
    link and the same Message-ID, rather than deliver a link about to die.
    """
    if message.kind == MessageKind.PASSWORD_RESET:
        return timedelta(hours=int(current_app.config["PASSWORD_RESET_HOURS"]))
    return None


def mime(
    message: OutboxMessage, envelope: Envelope, now: datetime, message_id: str | None = None
) -> EmailMessage:
    """The e-mail as it travels: headers, a plain-text body, and the .ics attachments."""
    email = emails.render(envelope.letter)
    mail = EmailMessage()
    # A name written before line breaks were refused must not break the headers.
    mail["Subject"] = one_line(email.subject)
    mail["From"] = current_app.config["MAIL_FROM"]
    mail["To"] = Address(display_name=one_line(envelope.to_name), addr_spec=envelope.to_address)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id or make_msgid(
        idstring=f"outbox.{message.id}", domain=sender_address().rpartition("@")[2] or None
    )
    mail["Content-Language"] = envelope.letter.locale
    # No out-of-office replies to a robot (RFC 3834; Outlook's own header too).
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(email.body, cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, _, parameter = rest.partition(";")
        params = dict([parameter.strip().split("=", 1)]) if parameter.strip() else {}
        params["charset"] = "utf-8"
        mail.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype.strip(),
            filename=attachment.filename,
            params=params,
        )
    return mail
