"""Invitations: a manager invites someone by e-mail; they accept with the account they have
(logged in as it) or a new one, whose password they choose. Nobody is given a role
without accepting it, and the manager's screens say the same words whether an address
has an account or not. Each use case records its messages and audit line in its own
transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import Invitation, Membership, Role, User, Venue
from ...security.links import LinkError, LinkProblem
from .. import outbox
from ..errors import NotAllowedError, TransitionError
from .common import account_of, audit_line, known_language, manager_at, membership_of, normal_email


def grant_role(session: Session, user: User, venue_id: int, role: Role, now: datetime) -> bool:
    """Give ``user`` this role at the venue (a manager stays a manager); whether it changed.
    The person is told."""
    membership = membership_of(session, user.id, venue_id)
    if membership is not None and (membership.role == role or membership.role == Role.MANAGER):
        return False
    if membership is None:
        session.add(Membership(user_id=user.id, venue_id=venue_id, role=role))
    else:
        membership.role = role
    outbox.tell(session, now, "role_granted", user_id=user.id, venue_id=venue_id, role=role)
    return True


def unusable_password(user: User) -> None:
    """A password nobody knows, for an account whose owner will choose theirs from a link."""
    user.set_password(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class InviteResult:
    outcome: str  # "invited", or "already" (the address has a role at the venue already)
    invitation: Invitation | None = None


def invite(
    *,
    venue_id: int,
    actor_id: int,
    email: str,
    name: str,
    role: Role,
    locale: str,
    now: datetime,
    valid_for: timedelta,
) -> InviteResult:
    """Invite someone to the venue by e-mail, whether the address has an account or not:
    nobody is given a role without accepting it, and the manager learns nothing about
    accounts beyond their venue (only that someone is already part of it)."""
    email = normal_email(email)

    def work(session: Session) -> InviteResult:
        actor = manager_at(session, actor_id, venue_id)
        user = account_of(session, email)
        if user is not None and membership_of(session, user.id, venue_id) is not None:
            return InviteResult("already")
        open_one = session.scalar(
            sa.select(Invitation).where(
                Invitation.venue_id == venue_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
        )
        if open_one is not None:
            # The same person invited again: the one invitation, refreshed and resent.
            open_one.display_name = name.strip()
            open_one.role = role
            send_invitation(session, open_one, now, valid_for)
            return InviteResult("invited", open_one)
        invitation = new_invitation(session, venue_id, actor.id, email, name, role, locale, now)
        send_invitation(session, invitation, now, valid_for)
        audit_line(session, "invited", actor.id, now, f"{email} {role.value} venue={venue_id}")
        return InviteResult("invited", invitation)

    return run_write(work)


def new_invitation(
    session: Session,
    venue_id: int,
    actor_id: int | None,
    email: str,
    name: str,
    role: Role,
    locale: str,
    now: datetime,
) -> Invitation:
    invitation = Invitation(
        venue_id=venue_id,
        email=email,
        display_name=name.strip(),
        role=role,
        locale=known_language(locale),
        nonce=secrets.token_hex(16),
        invited_by_id=actor_id,
        created_at=now,
        sent_at=now,
        times_sent=0,
        expires_at=now,
    )
    session.add(invitation)
    session.flush()
    return invitation


def send_invitation(
    session: Session, invitation: Invitation, now: datetime, valid_for: timedelta
) -> None:
    """(Re)send: a new nonce makes any earlier link stop working."""
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at = now
    invitation.expires_at = now + valid_for
    invitation.times_sent += 1
    outbox.tell(
        session,
        now,
        "invitation",
        invitation_id=invitation.id,
        email=invitation.email,
        locale=invitation.locale,
    )


def _invitation_at(session: Session, invitation_id: int, venue_id: int) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.venue_id != venue_id:
        raise NotAllowedError("not_found")
    return invitation


def resend_invitation(
    invitation_id: int, venue_id: int, actor_id: int, now: datetime, valid_for: timedelta
) -> Invitation:
    def work(session: Session) -> Invitation:
        actor = manager_at(session, actor_id, venue_id)
        invitation = _invitation_at(session, invitation_id, venue_id)
        if invitation.accepted_at is not None:
            raise TransitionError("invitation_accepted")
        invitation.revoked_at = None
        send_invitation(session, invitation, now, valid_for)
        audit_line(session, "invitation_resent", actor.id, now, invitation.email)
        return invitation

    return run_write(work)


def revoke_invitation(invitation_id: int, venue_id: int, actor_id: int, now: datetime) -> None:
    def work(session: Session) -> None:
        actor = manager_at(session, actor_id, venue_id)
        invitation = _invitation_at(session, invitation_id, venue_id)
        if invitation.accepted_at is not None:
            raise TransitionError("invitation_accepted")
        if invitation.revoked_at is None:
            invitation.revoked_at = now
            audit_line(session, "invitation_revoked", actor.id, now, invitation.email)

    run_write(work)


def open_invitation(session: Session, invitation_id: int, nonce: str, now: datetime) -> Invitation:
    """The invitation a link names, if it can still be accepted; else why not."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise LinkError(LinkProblem.INVALID)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise LinkError(LinkProblem.USED)
    if not secrets.compare_digest(invitation.nonce, nonce):
        raise LinkError(LinkProblem.USED)  # sent again since: a newer link replaced it
    if now >= invitation.expires_at:
        raise LinkError(LinkProblem.EXPIRED)
    return invitation


@dataclass(frozen=True)
class Accepted:
    user: User
    venue: Venue
    created: bool  # False: an account that existed joined, logged in as itself


def invited_account(session: Session, invitation: Invitation) -> User | None:
    """The account the invitation's address already has, if any: its owner accepts by
    logging in, instead of choosing a password."""
    return account_of(session, invitation.email)


def accept_invitation(
    *,
    invitation_id: int,
    nonce: str,
    name: str,
    password: str,
    locale: str,
    now: datetime,
    as_user_id: int | None = None,
) -> Accepted:
    """Accept an invitation: create the account with its chosen password and role; or,
    when the address has an account already, give it the role, provided its owner is the
    one accepting (``as_user_id``, logged in). Raises LinkError if the link no longer
    works, NotAllowedError if an existing account is not the one accepting."""

    def work(session: Session) -> Accepted:
        invitation = open_invitation(session, invitation_id, nonce, now)
        user = account_of(session, invitation.email)
        created = user is None
        if user is None:
            user = User(
                email=invitation.email,
                display_name=name.strip() or invitation.display_name,
                locale=known_language(locale),
                created_at=now,
            )
            user.set_password(password)
            user.memberships = [Membership(venue_id=invitation.venue_id, role=invitation.role)]
            session.add(user)
            session.flush()
        elif user.id != as_user_id or not user.active:
            raise NotAllowedError("invitation_account")
        else:
            grant_role(session, user, invitation.venue_id, invitation.role, now)
        invitation.accepted_at = now
        invitation.user_id = user.id
        audit_line(session, "invitation_accepted", user.id, now, invitation.email)
        return Accepted(user, invitation.venue, created)

    return run_write(work)
