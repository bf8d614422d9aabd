"""A training recorded as held by an account: the one write that a manager's grant (or
renewal) and an accepted invitation's promised trainings share, with its line in the
venue's log and the word to the person."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...models import Qualification, QualificationGrant
from .. import outbox
from ..audit import record_admin


def held(session: Session, training_id: int, member_id: int) -> QualificationGrant | None:
    return session.scalar(
        sa.select(QualificationGrant).where(
            QualificationGrant.user_id == member_id,
            QualificationGrant.qualification_id == training_id,
        )
    )


def record_grant(
    session: Session,
    training: Qualification,
    member_id: int,
    granted_on: date,
    expires_on: date | None,
    actor_id: int | None,
    now: datetime,
) -> QualificationGrant:
    """Grant ``training`` to the account, or renew it with these dates; logged, and the
    person is told."""
    grant = held(session, training.id, member_id)
    before: dict[str, str | None] = {"granted_on": None, "expires_on": None}
    if grant is None:
        grant = QualificationGrant(user_id=member_id, qualification_id=training.id)
        session.add(grant)
    else:
        before = {
            "granted_on": grant.granted_on.isoformat(),
            "expires_on": grant.expires_on.isoformat() if grant.expires_on else None,
        }
    grant.granted_on = granted_on
    grant.expires_on = expires_on
    grant.granted_by_id = actor_id
    grant.granted_at = now
    after = {
        "granted_on": granted_on.isoformat(),
        "expires_on": expires_on.isoformat() if expires_on else None,
    }
    record_admin(
        session,
        "training.granted",
        venue_id=training.venue_id,
        actor_id=actor_id,
        now=now,
        label=training.name,
        subject_id=training.id,
        member_id=member_id,
        changes=[[k, before[k], after[k]] for k in after if before[k] != after[k]],
    )
    session.flush()
    outbox.tell(
        session,
        now,
        "training_granted",
        user_id=member_id,
        qualification_id=training.id,
        expires_on=expires_on,
    )
    return grant
