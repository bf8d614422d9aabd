"""How people join a venue: invitations from its managers, and requests from its page."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .resources import Qualification
from .types import UTCDateTime, str_enum, utcnow
from .users import Role, User
from .venues import Venue


class Invitation(db.Model):
    """A manager's invitation to join a venue, answered with a signed link.

    The link carries the invitation's id and ``nonce``; sending it again draws
    a new nonce (the older link stops working) and a new expiry. Accepting or
    revoking closes it for good.
    """

    __tablename__ = "invitation"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, "invitation_role"), default=Role.MEMBER)
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    nonce: Mapped[str] = mapped_column(sa.String(32))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    times_sent: Mapped[int] = mapped_column(default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    venue: Mapped[Venue] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    trainings: Mapped[list[PromisedTraining]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan", passive_deletes=True
    )

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at

    def state(self, now: datetime) -> str:
        """accepted, revoked, expired or waiting: what the managers' list says."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "waiting" if now < self.expires_at else "expired"


class PromisedTraining(db.Model):
    """A training a manager records for someone invited but not joined yet ("already
    trained on the laser"): it becomes theirs, with these dates, when they accept."""

    __tablename__ = "promised_training"
    __table_args__ = (sa.UniqueConstraint("invitation_id", "qualification_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="CASCADE"), index=True
    )
    qualification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("qualification.id", ondelete="CASCADE"), index=True
    )
    granted_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)  # last valid day, inclusive
    promised_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    promised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship(back_populates="trainings")
    qualification: Mapped[Qualification] = relationship()


class SignupStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class SignupRequest(db.Model):
    """A visitor's request to join a venue, for its managers to accept or decline."""

    __tablename__ = "signup_request"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.Index("ix_signup_request_venue_status", "venue_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    display_name: Mapped[str] = mapped_column(sa.String(120))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    status: Mapped[SignupStatus] = mapped_column(
        str_enum(SignupStatus, "signup_status"), default=SignupStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    venue: Mapped[Venue] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
