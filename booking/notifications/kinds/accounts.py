"""Joining a venue and choosing a password: invitations, requests to join, password links,
and the word that a password changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ...extensions import db
from ...models import Invitation, SignupRequest, SignupStatus, User
from ...presentation import emails
from ...security.links import LinkPurpose, make_invitation_link, make_password_link
from ...services import outbox
from .base import Composer, Envelope, MessageKind, Obsolete, kind


@kind
class InvitationMessage(MessageKind):
    """The link to accept an invitation; an address that has an account already is told
    to log in with it to accept."""

    key = "invitation"
    label = _l("Invitation")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        invitation_id: int,
        email: str,
        locale: str,
        **_: Any,
    ) -> int:
        return outbox.to_address(session, self.key, email, locale, now, invitation_id=invitation_id)

    def compose(self, c: Composer) -> Envelope:
        invitation = db.session.get(Invitation, c.payload.get("invitation_id"))
        if invitation is None or not invitation.is_open(c.now):
            raise Obsolete("the invitation was accepted, revoked or has expired")
        token = make_invitation_link(invitation.id, invitation.nonce, c.now)
        has_account = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.email == invitation.email)
        )
        return c.to_address(
            invitation.display_name,
            venue=invitation.venue,
            values={
                "inviter_name": invitation.invited_by.display_name if invitation.invited_by else "",
                "role": invitation.role.value,
                "link": c.url("invitations.accept", token=token),
                "has_account": bool(has_account),
                "trainings": sorted(p.qualification.name for p in invitation.trainings),
                "expires_on": (invitation.expires_at - timedelta(seconds=1))
                .astimezone(invitation.venue.zone)
                .date(),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Invitation to join %(venue)s", venue=_venue_name(letter))


@kind
class Welcome(MessageKind):
    """A new account made from an accepted request: the link to choose a password."""

    key = "welcome"
    label = _l("Welcome, choose a password")

    def record(
        self, session: Session, now: datetime, *, user_id: int, venue_id: int, **_: Any
    ) -> int:
        return outbox.to_account(session, self.key, user_id, now, venue_id=venue_id)

    def compose(self, c: Composer) -> Envelope:
        user = c.account()
        venue = c.venue()
        token = make_password_link(user, LinkPurpose.WELCOME, c.now, venue.id)
        return c.to_account(
            venue=venue,
            values={
                "link": c.url("auth.welcome", token=token),
                "days": int(c.config["WELCOME_LINK_DAYS"]),
                "email": user.email,
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Welcome to %(venue)s: choose your password", venue=_venue_name(letter))


def _request(c: Composer) -> SignupRequest:
    request = db.session.get(SignupRequest, c.payload.get("request_id"))
    if request is None:
        raise Obsolete("the request no longer exists")
    return request


def _venue_name(letter: emails.Letter) -> str:
    return letter.venue.name if letter.venue else ""


@kind
class SignupToDecide(MessageKind):
    """To the venue's managers: someone asks to join."""

    key = "signup_to_decide"
    label = _l("Request to join")

    def record(
        self, session: Session, now: datetime, *, request_id: int, venue_id: int, **_: Any
    ) -> int:
        return outbox.to_managers(session, self.key, venue_id, {"request_id": request_id}, now)

    def compose(self, c: Composer) -> Envelope:
        request = _request(c)
        if request.status != SignupStatus.PENDING:
            raise Obsolete("the request was decided before this was sent")
        return c.to_account(
            venue=request.venue,
            values={
                "requester_name": request.display_name,
                "requester_email": request.email,
                "requester_message": request.message,
                "requests_url": c.url("manage.join_requests", slug=request.venue.slug),
                "preferences_url": c.preferences_url(),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Request to join %(venue)s: %(name)s",
            venue=_venue_name(letter),
            name=letter.values["requester_name"],
        )


@kind
class SignupDeclined(MessageKind):
    """To the address that asked to join, with the team's word."""

    key = "signup_declined"
    label = _l("Request to join declined")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        request_id: int,
        email: str,
        locale: str,
        **_: Any,
    ) -> int:
        return outbox.to_address(session, self.key, email, locale, now, request_id=request_id)

    def compose(self, c: Composer) -> Envelope:
        request = _request(c)
        return c.to_address(
            request.display_name, venue=request.venue, values={"reason": request.decision_reason}
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Your request to join %(venue)s", venue=_venue_name(letter))


@kind
class PasswordReset(MessageKind):
    """A link to choose a new password, which works for a few hours."""

    key = "password_reset"
    label = _l("Password reset")

    def record(self, session: Session, now: datetime, *, user_id: int, **_: Any) -> int:
        return outbox.to_account(session, self.key, user_id, now)

    def compose(self, c: Composer) -> Envelope:
        token = make_password_link(c.account(), LinkPurpose.RESET, c.now)
        return c.to_account(
            values={
                "link": c.url("auth.reset_password", token=token),
                "hours": int(c.config["PASSWORD_RESET_HOURS"]),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Choose a new password — %(site)s", site=letter.site_name)

    def link_life(self) -> timedelta | None:
        return timedelta(hours=int(current_app.config["PASSWORD_RESET_HOURS"]))


@kind
class PasswordChanged(MessageKind):
    """The account's password was changed or reset: a change its owner did not make
    shows."""

    key = "password_changed"
    label = _l("Password changed")

    def record(self, session: Session, now: datetime, *, user_id: int, **_: Any) -> int:
        return outbox.to_account(session, self.key, user_id, now)

    def compose(self, c: Composer) -> Envelope:
        user = c.account()
        return c.to_account(
            values={
                "email": user.email,
                "forgot_url": c.url("auth.forgot_password", email=user.email),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Your password was changed — %(site)s", site=letter.site_name)
