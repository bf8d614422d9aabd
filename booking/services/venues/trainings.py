"""A venue's trainings (habilitations), and who holds them until when.

Granting records who granted it, the day the member took the training and
its expiry; granting again renews. Someone invited but not joined yet can be
promised a training: it is granted when they accept. Every change is in the
venue's log, with the member concerned, so that they can be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...models import (
    Invitation,
    Membership,
    PromisedTraining,
    Qualification,
    QualificationGrant,
    Resource,
    User,
    Venue,
)
from ...rules import Violation
from ..accounts.grants import record_grant
from ..accounts.invitations import promise_in
from ..audit import record_admin
from ..errors import NotAllowedError, SettingsError
from .managing import manager_of

MAX_NAME = 160
EXPIRING_DAYS = 30


def _log(
    session: Session,
    action: str,
    training: Qualification,
    actor: User,
    now: datetime,
    changes: list[list[object]],
    member_id: int | None = None,
) -> None:
    record_admin(
        session,
        action,
        venue_id=training.venue_id,
        actor_id=actor.id,
        now=now,
        label=training.name,
        subject_id=training.id,
        member_id=member_id,
        changes=changes,
    )


def _grant(session: Session, training_id: int, member_id: int) -> QualificationGrant | None:
    return session.scalar(
        sa.select(QualificationGrant).where(
            QualificationGrant.user_id == member_id,
            QualificationGrant.qualification_id == training_id,
        )
    )


def _check_name(
    session: Session, venue_id: int, name: str, training_id: int | None, field: str = "name"
) -> None:
    if not name:
        raise SettingsError([Violation("required", field)])
    if len(name) > MAX_NAME:
        raise SettingsError([Violation("too_long_text", field, {"max": MAX_NAME})])
    clash = session.scalar(
        sa.select(Qualification.id).where(
            Qualification.venue_id == venue_id,
            sa.func.lower(Qualification.name) == name.lower(),
            Qualification.id != (training_id or -1),
        )
    )
    if clash is not None:
        raise SettingsError([Violation("name_taken", field)])


def create_in(
    session: Session,
    venue_id: int,
    name: str,
    description: str,
    actor: User,
    now: datetime,
    field: str = "name",
) -> Qualification:
    """A new training, in the caller's transaction (a resource's form creates the training
    it requires with it); its refusals name ``field``."""
    name, description = name.strip(), description.strip()
    _check_name(session, venue_id, name, None, field)
    training = Qualification(venue_id=venue_id, name=name, description=description, created_at=now)
    session.add(training)
    session.flush()
    _log(
        session,
        "training.created",
        training,
        actor,
        now,
        [["name", None, name], ["description", None, description]],
    )
    return training


def create_training(
    venue_id: int, name: str, description: str, actor_id: int, now: datetime
) -> Qualification:
    def work(session: Session) -> Qualification:
        if session.get(Venue, venue_id) is None:
            raise NotAllowedError("not_found")
        actor = manager_of(session, venue_id, actor_id)
        return create_in(session, venue_id, name, description, actor, now)

    return run_write(work)


def _training(session: Session, training_id: int) -> Qualification:
    training = session.get(Qualification, training_id)
    if training is None:
        raise NotAllowedError("not_found")
    return training


def update_training(
    training_id: int, name: str, description: str, actor_id: int, now: datetime
) -> Qualification:
    name, description = name.strip(), description.strip()

    def work(session: Session) -> Qualification:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        _check_name(session, training.venue_id, name, training.id)
        changes = [
            [field, getattr(training, field), value]
            for field, value in (("name", name), ("description", description))
            if getattr(training, field) != value
        ]
        training.name, training.description = name, description
        if changes:
            _log(session, "training.updated", training, actor, now, changes)
        return training

    return run_write(work)


def remove_training(training_id: int, actor_id: int, now: datetime) -> None:
    """Delete a training nobody holds and no resource requires (a mistake, a duplicate)."""

    def work(session: Session) -> None:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        required = session.scalar(
            sa.select(sa.func.count(Resource.id)).where(Resource.qualification_id == training.id)
        )
        held = session.scalar(
            sa.select(sa.func.count(QualificationGrant.id)).where(
                QualificationGrant.qualification_id == training.id
            )
        )
        held += len(promised(session, training.id, now))
        if required or held:
            raise SettingsError(
                [Violation("training_in_use", None, {"resources": required, "holders": held})]
            )
        _log(session, "training.removed", training, actor, now, [["name", training.name, None]])
        session.delete(training)

    run_write(work)


def grant_training(
    training_id: int,
    member_id: int,
    granted_on: date,
    expires_on: date | None,
    actor_id: int,
    now: datetime,
) -> QualificationGrant:
    """Grant a training to a member of the venue, or renew it (new dates)."""

    def work(session: Session) -> QualificationGrant:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        member = session.get(User, member_id)
        role = session.scalar(
            sa.select(Membership.role).where(
                Membership.user_id == member_id, Membership.venue_id == training.venue_id
            )
        )
        violations = []
        if member is None or role is None:
            violations.append(Violation("not_a_member", "member"))
        today = now.astimezone(training.venue.zone).date()
        if granted_on > today:
            violations.append(Violation("date_in_future", "granted_on"))
        if expires_on is not None and expires_on < granted_on:
            violations.append(Violation("expiry_before_training", "expires_on"))
        if violations:
            raise SettingsError(violations)
        return record_grant(session, training, member_id, granted_on, expires_on, actor.id, now)

    return run_write(work)


def promise_training(
    training_id: int,
    invitation_id: int,
    granted_on: date,
    expires_on: date | None,
    actor_id: int,
    now: datetime,
) -> PromisedTraining:
    """Record that someone invited, not joined yet, holds the training: it is granted
    with these dates when they accept (again: new dates)."""

    def work(session: Session) -> PromisedTraining:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        invitation = session.get(Invitation, invitation_id)
        violations = []
        if (
            invitation is None
            or invitation.venue_id != training.venue_id
            or not invitation.is_open(now)
        ):
            violations.append(Violation("not_a_member", "member"))
        today = now.astimezone(training.venue.zone).date()
        if granted_on > today:
            violations.append(Violation("date_in_future", "granted_on"))
        if expires_on is not None and expires_on < granted_on:
            violations.append(Violation("expiry_before_training", "expires_on"))
        if violations:
            raise SettingsError(violations)
        assert invitation is not None
        promise = promise_in(session, invitation, training, granted_on, expires_on, actor.id, now)
        _log(
            session,
            "training.promised",
            training,
            actor,
            now,
            # No address in the log: the person is named there once they join (the grant
            # their acceptance makes), and erasing an account finds them by that.
            [
                ["granted_on", None, granted_on.isoformat()],
                ["expires_on", None, expires_on.isoformat() if expires_on else None],
            ],
        )
        return promise

    return run_write(work)


def withdraw_promise(training_id: int, invitation_id: int, actor_id: int, now: datetime) -> None:
    """The training will not be granted when this invitation is accepted."""

    def work(session: Session) -> None:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        promise = session.scalar(
            sa.select(PromisedTraining).where(
                PromisedTraining.qualification_id == training.id,
                PromisedTraining.invitation_id == invitation_id,
            )
        )
        if promise is None:
            return
        _log(
            session,
            "training.unpromised",
            training,
            actor,
            now,
            [["granted_on", promise.granted_on.isoformat(), None]],
        )
        session.delete(promise)

    run_write(work)


def revoke_training(training_id: int, member_id: int, actor_id: int, now: datetime) -> None:
    def work(session: Session) -> None:
        training = _training(session, training_id)
        actor = manager_of(session, training.venue_id, actor_id)
        grant = _grant(session, training.id, member_id)
        if grant is None:
            return
        _log(
            session,
            "training.revoked",
            training,
            actor,
            now,
            [
                ["granted_on", grant.granted_on.isoformat(), None],
                ["expires_on", grant.expires_on.isoformat() if grant.expires_on else None, None],
            ],
            member_id=member_id,
        )
        session.delete(grant)

    run_write(work)


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSummary:
    training: Qualification
    holders: int
    expired: int
    resources: list[str]


def venue_trainings(session: Session, venue_id: int, today: date) -> list[TrainingSummary]:
    """The venue's trainings with how many hold them (still valid, expired) and what needs them."""
    trainings = list(
        session.scalars(
            sa.select(Qualification)
            .where(Qualification.venue_id == venue_id)
            .order_by(sa.func.lower(Qualification.name))
        )
    )
    counts = {
        tid: (valid, expired)
        for tid, valid, expired in session.execute(
            sa.select(
                QualificationGrant.qualification_id,
                sa.func.count().filter(
                    sa.or_(
                        QualificationGrant.expires_on.is_(None),
                        QualificationGrant.expires_on >= today,
                    )
                ),
                sa.func.count().filter(QualificationGrant.expires_on < today),
            )
            .where(QualificationGrant.qualification_id.in_([t.id for t in trainings]))
            .group_by(QualificationGrant.qualification_id)
        )
    }
    needs: dict[int, list[str]] = {}
    for tid, name in session.execute(
        sa.select(Resource.qualification_id, Resource.name)
        .where(
            Resource.venue_id == venue_id,
            Resource.is_active,
            Resource.qualification_id.is_not(None),
        )
        .order_by(Resource.name)
    ):
        needs.setdefault(tid, []).append(name)
    return [TrainingSummary(t, *counts.get(t.id, (0, 0)), needs.get(t.id, [])) for t in trainings]


def holders(session: Session, training_id: int) -> list[QualificationGrant]:
    return list(
        session.scalars(
            sa.select(QualificationGrant)
            .join(User, User.id == QualificationGrant.user_id)
            .where(QualificationGrant.qualification_id == training_id)
            .options(joinedload(QualificationGrant.user), joinedload(QualificationGrant.granted_by))
            .order_by(sa.func.lower(User.display_name))
        )
    )


def expiring(
    session: Session, venue_id: int, today: date, days: int = EXPIRING_DAYS
) -> list[QualificationGrant]:
    """Trainings of the venue that expire between today and ``days`` from now, soonest first."""
    return list(
        session.scalars(
            sa.select(QualificationGrant)
            .join(Qualification, Qualification.id == QualificationGrant.qualification_id)
            .where(
                Qualification.venue_id == venue_id,
                QualificationGrant.expires_on >= today,
                QualificationGrant.expires_on <= today + timedelta(days=days),
            )
            .options(
                joinedload(QualificationGrant.user), joinedload(QualificationGrant.qualification)
            )
            .order_by(QualificationGrant.expires_on)
        )
    )


def promised(session: Session, training_id: int, now: datetime) -> list[PromisedTraining]:
    """The training promised to people invited who have not answered yet (open invitations)."""
    return list(
        session.scalars(
            sa.select(PromisedTraining)
            .join(Invitation, Invitation.id == PromisedTraining.invitation_id)
            .where(
                PromisedTraining.qualification_id == training_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .options(joinedload(PromisedTraining.invitation))
            .order_by(sa.func.lower(Invitation.display_name), Invitation.id)
        )
    )


def open_invitations(session: Session, venue_id: int, now: datetime) -> list[Invitation]:
    """People invited to the venue who have not answered yet: a training can be promised
    to them."""
    return list(
        session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.venue_id == venue_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(sa.func.lower(Invitation.display_name), Invitation.id)
            .limit(500)
        )
    )


def member_grants(session: Session, venue_id: int, member_id: int) -> list[QualificationGrant]:
    return list(
        session.scalars(
            sa.select(QualificationGrant)
            .join(Qualification, Qualification.id == QualificationGrant.qualification_id)
            .where(Qualification.venue_id == venue_id, QualificationGrant.user_id == member_id)
            .options(joinedload(QualificationGrant.qualification))
            .order_by(Qualification.name)
        )
    )
