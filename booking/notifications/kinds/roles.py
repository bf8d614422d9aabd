"""Someone's place at a venue: roles granted or taken away, trainings granted or about to
expire."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ...extensions import db
from ...models import Qualification, QualificationGrant, Resource, Role, User
from ...presentation import emails
from ...presentation.formatting import format_day
from ...services import outbox
from .base import Composer, Envelope, MessageKind, Obsolete, kind

# A training expiring within this many days is worth a reminder.
TRAINING_WARNING_DAYS = 14


class _RoleMessage(MessageKind):
    def record(
        self, session: Session, now: datetime, *, user_id: int, venue_id: int, role: Role, **_: Any
    ) -> int:
        return outbox.to_account(
            session, self.key, user_id, now, venue_id=venue_id, role=Role(role).value
        )

    def compose(self, c: Composer) -> Envelope:
        venue = c.venue()
        return c.to_account(
            venue=venue,
            values={
                "role": c.payload.get("role", "member"),
                "venue_url": c.url("public.venue", slug=venue.slug),
                "queue_url": c.url("manage.index"),
            },
        )


@kind
class RoleGranted(_RoleMessage):
    """Someone became a member or a manager of a venue."""

    key = "role_granted"
    label = _l("Role granted")

    def subject(self, letter: emails.Letter) -> str:
        venue = letter.venue.name if letter.venue else ""
        if letter.values["role"] == "manager":
            return gettext("You are now a manager of %(venue)s", venue=venue)
        return gettext("You are now a member of %(venue)s", venue=venue)


@kind
class RoleRemoved(_RoleMessage):
    """Someone is no longer a member (or no longer a manager) of a venue."""

    key = "role_removed"
    label = _l("Role removed")

    def subject(self, letter: emails.Letter) -> str:
        venue = letter.venue.name if letter.venue else ""
        if letter.values["role"] == "manager":
            return gettext("You are no longer a manager of %(venue)s", venue=venue)
        return gettext("You are no longer a member of %(venue)s", venue=venue)


class _TrainingMessage(MessageKind):
    def still_true(
        self, c: Composer, qualification: Qualification, expires_on: date | None
    ) -> None:
        """Raise ``Obsolete`` if what the message says no longer holds."""

    def compose(self, c: Composer) -> Envelope:
        qualification = db.session.get(Qualification, c.payload.get("qualification_id"))
        if qualification is None:
            raise Obsolete("the training no longer exists")
        expires = c.payload["expires_on"]
        expires_on = date.fromisoformat(expires) if expires else None
        self.still_true(c, qualification, expires_on)
        resources = db.session.scalars(
            sa.select(Resource.name)
            .where(Resource.qualification_id == qualification.id, Resource.is_active)
            .order_by(Resource.name)
        ).all()
        return c.to_account(
            values={
                "training_name": qualification.name,
                "expires_on": expires_on,
                "resource_names": list(resources),
                "preferences_url": c.preferences_url(),
            },
        )


@kind
class TrainingGranted(_TrainingMessage):
    key = "training_granted"
    label = _l("Training granted")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        user_id: int,
        qualification_id: int,
        expires_on: date | None = None,
        **_: Any,
    ) -> int:
        return outbox.to_account(
            session,
            self.key,
            user_id,
            now,
            qualification_id=qualification_id,
            expires_on=expires_on.isoformat() if expires_on else None,
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Training recorded: %(name)s", name=letter.values["training_name"])


@kind
class TrainingExpiring(_TrainingMessage):
    """A training that expires within ``TRAINING_WARNING_DAYS``, once per grant and expiry
    date, for those who want it."""

    key = "training_expiring"
    label = _l("Training about to expire")

    def record(self, session: Session, now: datetime, *, today: date, **_: Any) -> int:
        grants = session.execute(
            sa.select(
                QualificationGrant.id,
                QualificationGrant.user_id,
                QualificationGrant.qualification_id,
                QualificationGrant.expires_on,
            )
            .join(User, User.id == QualificationGrant.user_id)
            .where(
                QualificationGrant.expires_on >= today,
                QualificationGrant.expires_on <= today + timedelta(days=TRAINING_WARNING_DAYS),
                User.active,
                User.remind_training_expiry,
            )
        ).all()
        rows = [
            outbox.row(
                self.key,
                now,
                {"qualification_id": qualification_id, "expires_on": expires_on.isoformat()},
                recipient_id=user_id,
                dedupe_key=f"training-expiring:{grant_id}:{expires_on:%Y%m%d}",
            )
            for grant_id, user_id, qualification_id, expires_on in grants
        ]
        return outbox.add(session, rows)

    def still_true(
        self, c: Composer, qualification: Qualification, expires_on: date | None
    ) -> None:
        grant = db.session.scalar(
            sa.select(QualificationGrant).where(
                QualificationGrant.user_id == c.message.recipient_id,
                QualificationGrant.qualification_id == qualification.id,
            )
        )
        if grant is None or grant.expires_on != expires_on:
            raise Obsolete("the training was renewed or removed")

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Your training “%(name)s” expires on %(day)s",
            name=letter.values["training_name"],
            day=format_day(letter.values["expires_on"], with_weekday=False),
        )
