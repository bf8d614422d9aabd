"""Bookable resources (spaces and equipment) and the qualifications they may require."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import db
from .names import search_key, search_key_default
from .types import UTCDateTime, str_enum, utcnow
from .venues import OpeningPeriod, Venue

if TYPE_CHECKING:
    from .users import User

# Longest time one reservation may hold a resource, buffer included. The
# overlap query relies on it to stay a bounded range scan however long the
# history grows, so it is enforced on the resource's rules by the database.
MAX_HOLD_MINUTES = 14 * 24 * 60


class ResourceKind(enum.StrEnum):
    SPACE = "space"
    EQUIPMENT = "equipment"


class Resource(db.Model):
    __tablename__ = "resource"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("slot_minutes >= 5 AND slot_minutes <= 1440", name="slot_range"),
        sa.CheckConstraint("min_duration_minutes >= 5", name="min_duration_positive"),
        sa.CheckConstraint("max_duration_minutes >= min_duration_minutes", name="max_ge_min"),
        sa.CheckConstraint(
            f"max_duration_minutes + buffer_minutes <= {MAX_HOLD_MINUTES}", name="hold_bounded"
        ),
        sa.CheckConstraint("min_notice_minutes >= 0", name="notice_nonnegative"),
        sa.CheckConstraint("horizon_days >= 1", name="horizon_positive"),
        sa.CheckConstraint("buffer_minutes >= 0", name="buffer_nonnegative"),
        sa.CheckConstraint(
            "weekly_quota_minutes IS NULL OR weekly_quota_minutes > 0", name="quota_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    # The name as the search matches words against it (booking.models.names), kept with it.
    search_key: Mapped[str] = mapped_column(
        sa.String(160), default=search_key_default, server_default=""
    )
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind, "resource_kind"))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    capacity: Mapped[int] = mapped_column(default=1)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    qualification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qualification.id"))
    slot_minutes: Mapped[int] = mapped_column(default=30)
    min_duration_minutes: Mapped[int] = mapped_column(default=30)
    max_duration_minutes: Mapped[int] = mapped_column(default=240)
    min_notice_minutes: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=90)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    # What the break after each booking is for, in the venue's words ("le
    # nettoyage de la cuisine"); empty: the usual wording for the kind.
    buffer_reason: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    weekly_quota_minutes: Mapped[int | None] = mapped_column(default=None)
    show_purpose: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship(back_populates="resources")
    qualification: Mapped[Qualification | None] = relationship()
    own_opening_periods: Mapped[list[OpeningPeriod]] = relationship(
        primaryjoin="Resource.id == OpeningPeriod.resource_id",
        order_by="(OpeningPeriod.weekday, OpeningPeriod.opens_at)",
        cascade="all, delete-orphan",
    )

    @validates("name")
    def _keep_search_key(self, _key: str, name: str) -> str:
        self.search_key = search_key(name or "")
        return name

    @property
    def opening_periods(self) -> list[OpeningPeriod]:
        """The resource's own hours when it has some, else its venue's."""
        return self.own_opening_periods or self.venue.opening_periods

    @property
    def is_exclusive(self) -> bool:
        return self.capacity == 1

    def __repr__(self) -> str:
        return f"<Resource {self.slug}>"


class Qualification(db.Model):
    """A training (habilitation) of one venue, that some of its resources require."""

    __tablename__ = "qualification"
    __table_args__ = (sa.UniqueConstraint("venue_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(160))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship()


class QualificationGrant(db.Model):
    __tablename__ = "qualification_grant"
    __table_args__ = (sa.UniqueConstraint("user_id", "qualification_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    qualification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("qualification.id", ondelete="CASCADE")
    )
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The day the member took the training (the record is made when granted_at).
    granted_on: Mapped[date] = mapped_column(sa.Date, default=lambda: utcnow().date())
    # The last valid day, inclusive; indexed for the nightly reminders of those ending.
    expires_on: Mapped[date | None] = mapped_column(sa.Date, index=True)

    qualification: Mapped[Qualification] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="qualification_grants")
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
