"""Joining a venue and choosing a password: invitations, requests to join, password links.

People join a venue by a manager's invitation, or by a request from the
venue's page that a manager accepts; either way they choose their own
password from a signed link sent by e-mail (``booking.security.links``), and
can get a new one when they forget it. Requests and password links answer the
same whether the address has an account or not, so that nobody learns who
has one. Each use case records its messages (``notify``) and its audit line
in its own transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..database import run_write
from ..extensions import db
from ..models import (
    AuditEvent,
    Invitation,
    Membership,
    Role,
    SignupRequest,
    SignupStatus,
    User,
    Venue,
)
from ..permissions import can_manage, managed_venue_ids_query
from ..security.links import LinkError, LinkProblem, PasswordClaim, still_unused
from . import outbox
from .audit import audit_row
from .errors import NotAllowedError, TransitionError

LANGUAGES = ("fr", "en")


def normal_email(email: str) -> str:
    return email.strip().lower()


def _language(locale: str) -> str:
    return locale if locale in LANGUAGES else "fr"


def _audit(session: Session, action: str, actor_id: int | None, now: datetime, detail: str) -> None:
    session.execute(sa.insert(AuditEvent), [audit_row(action, None, None, actor_id, now, detail)])


def _manager_at(session: Session, actor_id: int, venue_id: int) -> User:
    actor = session.get(User, actor_id)
    if actor is None or not can_manage(actor, venue_id):
        raise NotAllowedError("manage")
    return actor


def _account(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normal_email(email)))


def _membership(session: Session, user_id: int, venue_id: int) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.user_id == user_id, Membership.venue_id == venue_id)
    )


def grant_role(session: Session, user: User, venue_id: int, role: Role, now: datetime) -> bool:
    """Give ``user`` this role at the venue (a manager stays a manager); whether it changed.
    The person is told."""
    membership = _membership(session, user.id, venue_id)
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


# --- invitations -------------------------------------------------------------------


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
        actor = _manager_at(session, actor_id, venue_id)
        user = _account(session, email)
        if user is not None and _membership(session, user.id, venue_id) is not None:
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
            _send(session, open_one, now, valid_for)
            return InviteResult("invited", open_one)
        invitation = _new_invitation(session, venue_id, actor.id, email, name, role, locale, now)
        _send(session, invitation, now, valid_for)
        _audit(session, "invited", actor.id, now, f"{email} {role.value} venue={venue_id}")
        return InviteResult("invited", invitation)

    return run_write(work)


def _new_invitation(
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
        locale=_language(locale),
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


def _send(session: Session, invitation: Invitation, now: datetime, valid_for: timedelta) -> None:
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
        actor = _manager_at(session, actor_id, venue_id)
        invitation = _invitation_at(session, invitation_id, venue_id)
        if invitation.accepted_at is not None:
            raise TransitionError("invitation_accepted")
        invitation.revoked_at = None
        _send(session, invitation, now, valid_for)
        _audit(session, "invitation_resent", actor.id, now, invitation.email)
        return invitation

    return run_write(work)


def revoke_invitation(invitation_id: int, venue_id: int, actor_id: int, now: datetime) -> None:
    def work(session: Session) -> None:
        actor = _manager_at(session, actor_id, venue_id)
        invitation = _invitation_at(session, invitation_id, venue_id)
        if invitation.accepted_at is not None:
            raise TransitionError("invitation_accepted")
        if invitation.revoked_at is None:
            invitation.revoked_at = now
            _audit(session, "invitation_revoked", actor.id, now, invitation.email)

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
    return _account(session, invitation.email)


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
        user = _account(session, invitation.email)
        created = user is None
        if user is None:
            user = User(
                email=invitation.email,
                display_name=name.strip() or invitation.display_name,
                locale=_language(locale),
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
        _audit(session, "invitation_accepted", user.id, now, invitation.email)
        return Accepted(user, invitation.venue, created)

    return run_write(work)


# --- requests to join ------------------------------------------------------------------


def request_to_join(
    *, venue_id: int, email: str, name: str, message: str, locale: str, now: datetime
) -> None:
    """A visitor asks to join. Nothing tells them whether the address has an account:
    a request for someone already at the venue is quietly left out, and a second
    request from the same address updates the first."""
    email = normal_email(email)

    def work(session: Session) -> None:
        venue = session.get(Venue, venue_id)
        if venue is None or not venue.is_active:
            raise NotAllowedError("not_found")
        user = _account(session, email)
        if user is not None and _membership(session, user.id, venue_id) is not None:
            return
        waiting = session.scalar(
            sa.select(SignupRequest).where(
                SignupRequest.venue_id == venue_id,
                SignupRequest.email == email,
                SignupRequest.status == SignupStatus.PENDING,
            )
        )
        if waiting is not None:
            waiting.display_name = name.strip()
            waiting.message = message.strip()
            return
        request = SignupRequest(
            venue_id=venue_id,
            email=email,
            display_name=name.strip(),
            message=message.strip(),
            locale=_language(locale),
            status=SignupStatus.PENDING,
            created_at=now,
        )
        session.add(request)
        session.flush()
        outbox.tell(session, now, "signup_to_decide", request_id=request.id, venue_id=venue_id)

    run_write(work)


def _decide_request(
    session: Session,
    request_id: int,
    venue_id: int,
    actor_id: int,
    status: SignupStatus,
    now: datetime,
) -> tuple[User, SignupRequest]:
    """A manager of the venue answers a request still waiting: who, and which request."""
    actor = _manager_at(session, actor_id, venue_id)
    request = session.get(SignupRequest, request_id)
    if request is None or request.venue_id != venue_id:
        raise NotAllowedError("not_found")
    if request.status != SignupStatus.PENDING:
        raise TransitionError(f"signup_{request.status.value}")
    request.status = status
    request.decided_by_id = actor.id
    request.decided_at = now
    return actor, request


def accept_request(
    request_id: int, venue_id: int, actor_id: int, now: datetime, valid_for: timedelta
) -> SignupRequest:
    """Make the account (its owner chooses a password from the link sent); an address that
    has an account already gets an invitation to accept, valid for ``valid_for``."""

    def work(session: Session) -> SignupRequest:
        actor, request = _decide_request(
            session, request_id, venue_id, actor_id, SignupStatus.ACCEPTED, now
        )
        user = _account(session, request.email)
        if user is None:
            user = User(
                email=request.email,
                display_name=request.display_name,
                locale=request.locale,
                created_at=now,
            )
            unusable_password(user)
            user.memberships = [Membership(venue_id=venue_id, role=Role.MEMBER)]
            session.add(user)
            session.flush()
            outbox.tell(session, now, "welcome", user_id=user.id, venue_id=venue_id)
            request.user_id = user.id
        elif _membership(session, user.id, venue_id) is None:
            # Anyone can type an address into the venue's form: the owner of an existing
            # account is asked (an invitation they accept logged in), never added silently.
            invitation = _new_invitation(
                session,
                venue_id,
                actor.id,
                request.email,
                request.display_name,
                Role.MEMBER,
                request.locale,
                now,
            )
            _send(session, invitation, now, valid_for)
        _audit(session, "signup_accepted", actor.id, now, request.email)
        return request

    return run_write(work)


def decline_request(
    request_id: int, venue_id: int, actor_id: int, reason: str, now: datetime
) -> SignupRequest:
    def work(session: Session) -> SignupRequest:
        actor, request = _decide_request(
            session, request_id, venue_id, actor_id, SignupStatus.DECLINED, now
        )
        request.decision_reason = reason.strip()
        outbox.tell(
            session,
            now,
            "signup_declined",
            request_id=request.id,
            email=request.email,
            locale=request.locale,
        )
        _audit(session, "signup_declined", actor.id, now, request.email)
        return request

    return run_write(work)


# --- passwords ---------------------------------------------------------------------


def request_password_reset(email: str, now: datetime) -> None:
    """Send a password link to the account of this address, if there is an active one.
    The caller answers the same either way."""
    email = normal_email(email)

    def work(session: Session) -> None:
        user = _account(session, email)
        if user is not None and user.active:
            outbox.tell(session, now, "password_reset", user_id=user.id)

    run_write(work)


def set_password_from_link(
    claim: PasswordClaim, password: str, now: datetime, *, is_reset: bool
) -> User:
    """Set the password a link allows, once: the check and the change happen under the
    write lock, so two uses of one link cannot both succeed. A reset (not the first
    password of a new account) is told to the person by e-mail."""

    def work(session: Session) -> User:
        user = session.scalar(sa.select(User).where(User.id == claim.user_id).with_for_update())
        if not still_unused(claim, user):
            raise LinkError(LinkProblem.USED)
        assert user is not None
        user.set_password(password)
        _audit(session, "password_set", user.id, now, "link")
        if is_reset:
            outbox.tell(session, now, "password_changed", user_id=user.id)
        return user

    return run_write(work)


def change_password(user_id: int, password: str, now: datetime) -> None:
    """The person changes their own password (they gave the current one); they are told by
    e-mail, so that a change they did not make does not go unnoticed."""

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotAllowedError("not_found")
        user.set_password(password)
        _audit(session, "password_set", user.id, now, "profile")
        outbox.tell(session, now, "password_changed", user_id=user.id)

    run_write(work)


def save_email_choices(
    user_id: int,
    *,
    remind_day_before: bool,
    remind_training_expiry: bool,
    notify_new_requests: bool | None,
) -> None:
    """The e-mails a person chose to receive (``None``: the choice is not theirs to make)."""

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotAllowedError("not_found")
        user.remind_day_before = remind_day_before
        user.remind_training_expiry = remind_training_expiry
        if notify_new_requests is not None:
            user.notify_new_requests = notify_new_requests

    run_write(work)


def joining_summary(user: User) -> list[tuple[Venue, int]]:
    """The venues ``user`` manages, each with its number of requests to join waiting."""
    waiting = (
        sa.select(sa.func.count(SignupRequest.id))
        .where(SignupRequest.venue_id == Venue.id, SignupRequest.status == SignupStatus.PENDING)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Venue, waiting)
        .where(Venue.id.in_(managed_venue_ids_query(user)))
        .order_by(Venue.name)
    ).all()
    return [(venue, count) for venue, count in rows]
