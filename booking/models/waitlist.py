"""The waiting list: members who asked to be told when a taken slot frees."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .reservations import Reservation
from .resources import Resource
from .types import UTCDateTime, str_enum, utcnow
from .users import User


class WaitStatus(enum.StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"
    WITHDRAWN = "withdrawn"


class WaitlistEntry(db.Model):
    """One member waiting for one slot of one resource; entries whose time passed just age out."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        # A freed slot asks which entries it may satisfy: a range scan by resource and start.
        sa.Index("ix_waitlist_entry_resource_starts", "resource_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seats: Mapped[int] = mapped_column(default=1)
    # What the member said the slot is for when they asked to wait: the booking made from
    # the "slot freed" e-mail keeps it (at most 500 characters, as a booking's purpose).
    purpose: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    status: Mapped[WaitStatus] = mapped_column(
        str_enum(WaitStatus, "waitlist_status"), default=WaitStatus.WAITING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reservation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reservation.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship()
    resource: Mapped[Resource] = relationship()
    reservation: Mapped[Reservation | None] = relationship()
