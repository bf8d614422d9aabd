"""Invitations: a manager invites someone by e-mail (or many people at once); they accept
with the account they have (logged in as it) or a new one, whose password they choose.
Nobody is given a role without accepting it, and the manager's screens say the same words
whether an address has an account or not. A training can be promised to an invitation
("already trained on the laser"): it is granted when the person accepts. Each use case
records its messages and audit lines in its own transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import Invitation, Membership, PromisedTraining, Qualification, Role, User, Venue
from ...rules import Violation
from ...security.links import LinkError, LinkProblem
from .. import outbox
from ..errors import NotAllowedError, SettingsError, TransitionError
from .common import (
    account_of,
    audit_line,
    checked_email,
    known_language,
    manager_at,
    membership_of,
    normal_email,
)
from .grants import record_grant
from .roster import Reviewed, RosterLine, review


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
class TrainingPromise:
    """A training the person already has, to be theirs when they accept."""

    training_id: int
    expires_on: date | None = None
    granted_on: date | None = None  # None: the day of the invitation, at the venue


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
    trainings: Sequence[TrainingPromise] = (),
) -> InviteResult:
    """Invite someone to the venue by e-mail, whether the address has an account or not:
    nobody is given a role without accepting it, and the manager learns nothing about
    accounts beyond their venue (only that someone is already part of it)."""
    address = checked_email(email)
    if address is None:
        raise SettingsError([Violation("invalid_email", "email")])

    def work(session: Session) -> InviteResult:
        actor = manager_at(session, actor_id, venue_id)
        venue = session.get(Venue, venue_id)
        if venue is None:
            raise NotAllowedError("not_found")
        promised = _promises(session, venue, trainings, now, "trainings")
        return invite_in(
            session, venue, actor, address, name, role, locale, now, valid_for, promised
        )

    return run_write(work)


def invite_in(
    session: Session,
    venue: Venue,
    actor: User,
    email: str,
    name: str,
    role: Role,
    locale: str,
    now: datetime,
    valid_for: timedelta,
    promised: Sequence[tuple[Qualification, date, date | None]] = (),
) -> InviteResult:
    """Invite one person inside the caller's transaction (its audit line and its message
    included); an open invitation to the same address is refreshed and sent again."""
    user = account_of(session, email)
    if user is not None and membership_of(session, user.id, venue.id) is not None:
        return InviteResult("already")
    open_one = session.scalar(
        sa.select(Invitation).where(
            Invitation.venue_id == venue.id,
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
        invitation, action = open_one, "invitation_resent"
    else:
        invitation = new_invitation(session, venue.id, actor.id, email, name, role, locale, now)
        action = "invited"
    for training, granted_on, expires_on in promised:
        promise_in(session, invitation, training, granted_on, expires_on, actor.id, now)
    send_invitation(session, invitation, now, valid_for)
    trained = ",".join(str(training.id) for training, _, _ in promised)
    audit_line(
        session,
        action,
        actor.id,
        now,
        f"{email} {role.value} venue={venue.id}" + (f" trainings={trained}" if trained else ""),
    )
    return InviteResult("invited", invitation)


def _promises(
    session: Session,
    venue: Venue,
    trainings: Iterable[TrainingPromise],
    now: datetime,
    field_name: str,
) -> list[tuple[Qualification, date, date | None]]:
    """The trainings asked for, each one of the venue's, with its dates checked."""
    today = now.astimezone(venue.zone).date()
    found: list[tuple[Qualification, date, date | None]] = []
    violations: list[Violation] = []
    for promise in trainings:
        training = session.get(Qualification, promise.training_id)
        if training is None or training.venue_id != venue.id:
            violations.append(Violation("unknown_training", field_name))
            continue
        granted_on = promise.granted_on or today
        if granted_on > today:
            violations.append(Violation("date_in_future", field_name))
        elif promise.expires_on is not None and promise.expires_on < granted_on:
            violations.append(Violation("expiry_before_training", "training_expires_on"))
        else:
            found.append((training, granted_on, promise.expires_on))
    if violations:
        unique = {(v.code, v.field): v for v in violations}
        raise SettingsError(list(unique.values()))
    return found


def promise_in(
    session: Session,
    invitation: Invitation,
    training: Qualification,
    granted_on: date,
    expires_on: date | None,
    actor_id: int | None,
    now: datetime,
) -> PromisedTraining:
    promise = session.scalar(
        sa.select(PromisedTraining).where(
            PromisedTraining.invitation_id == invitation.id,
            PromisedTraining.qualification_id == training.id,
        )
    )
    if promise is None:
        promise = PromisedTraining(invitation_id=invitation.id, qualification_id=training.id)
        session.add(promise)
    promise.granted_on = granted_on
    promise.expires_on = expires_on
    promise.promised_by_id = actor_id
    promise.promised_at = now
    session.flush()
    return promise


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


@dataclass(frozen=True)
class BulkInvited:
    """What sending a list came to: those invited (or invited again), those left out
    (a wrong address, twice in the list, already part of the venue), each as reviewed."""

    sent: list[Reviewed]
    left_out: list[Reviewed]


def invite_many(
    *,
    venue_id: int,
    actor_id: int,
    lines: Sequence[RosterLine],
    trained: Mapping[str, Sequence[TrainingPromise]],
    locale: str,
    now: datetime,
    valid_for: timedelta,
) -> BulkInvited:
    """Invite everyone of the list who can be, in one transaction (one audit line and one
    message each): the lines are reviewed again here, so that what changed since the
    manager's preview (someone joined meanwhile) is left out rather than invited twice.
    ``trained`` names, by address, the trainings each person already has."""

    def work(session: Session) -> BulkInvited:
        actor = manager_at(session, actor_id, venue_id)
        venue = session.get(Venue, venue_id)
        if venue is None:
            raise NotAllowedError("not_found")
        promised = {
            normal_email(email): _promises(session, venue, promises, now, "trained")
            for email, promises in trained.items()
            if promises
        }
        sent: list[Reviewed] = []
        left_out: list[Reviewed] = []
        for line in review(session, venue.id, lines, now):
            if not line.sendable:
                left_out.append(line)
                continue
            result = invite_in(
                session,
                venue,
                actor,
                line.email,
                line.name,
                line.role,
                locale,
                now,
                valid_for,
                promised.get(line.email, ()),
            )
            (sent if result.outcome == "invited" else left_out).append(line)
        return BulkInvited(sent, left_out)

    return run_write(work)


@dataclass(frozen=True)
class BulkDone:
    done: int  # invitations sent again, or withdrawn
    skipped: int  # accepted meanwhile (or already withdrawn): nothing to do


def _ticked(session: Session, venue_id: int, invitation_ids: Iterable[int]) -> list[Invitation]:
    ids = sorted({i for i in invitation_ids if 0 < i < 2**31})
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(Invitation)
            .where(Invitation.venue_id == venue_id, Invitation.id.in_(ids))
            .order_by(Invitation.id)
        )
    )


def resend_many(
    invitation_ids: Iterable[int],
    venue_id: int,
    actor_id: int,
    now: datetime,
    valid_for: timedelta,
) -> BulkDone:
    """Send the ticked invitations again (withdrawn or expired ones too), one transaction."""

    def work(session: Session) -> BulkDone:
        actor = manager_at(session, actor_id, venue_id)
        done = skipped = 0
        for invitation in _ticked(session, venue_id, invitation_ids):
            if invitation.accepted_at is not None:
                skipped += 1
                continue
            invitation.revoked_at = None
            send_invitation(session, invitation, now, valid_for)
            audit_line(session, "invitation_resent", actor.id, now, invitation.email)
            done += 1
        return BulkDone(done, skipped)

    return run_write(work)


def revoke_many(
    invitation_ids: Iterable[int], venue_id: int, actor_id: int, now: datetime
) -> BulkDone:
    """Withdraw the ticked invitations that are still open, one transaction."""

    def work(session: Session) -> BulkDone:
        actor = manager_at(session, actor_id, venue_id)
        done = skipped = 0
        for invitation in _ticked(session, venue_id, invitation_ids):
            if invitation.accepted_at is not None or invitation.revoked_at is not None:
                skipped += 1
                continue
            invitation.revoked_at = now
            audit_line(session, "invitation_revoked", actor.id, now, invitation.email)
            done += 1
        return BulkDone(done, skipped)

    return run_write(work)


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
        for promise in invitation.trainings:
            record_grant(
                session,
                promise.qualification,
                user.id,
                promise.granted_on,
                promise.expires_on,
                promise.promised_by_id,
                now,
            )
        return Accepted(user, invitation.venue, created)

    return run_write(work)
