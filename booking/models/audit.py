"""The administrative log of a venue: what its managers and administrators changed.

Reservation moves are in ``AuditEvent`` (``booking.models.reservations``);
this table holds everything else a manager may want to trace back: hours,
a resource's rules, closures, trainings and who holds them, roles, the venue
itself, accounts. Each row keeps what the change was from and to, field by
field, as the values stood then (names included), so that the log still
reads right after the thing was renamed or removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .resources import Resource
    from .users import User
    from .venues import Venue


class AdminEvent(db.Model):
    __tablename__ = "admin_event"
    __table_args__ = (sa.Index("ix_admin_event_venue_created", "venue_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for changes that belong to no venue (an account deactivated).
    venue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # "closure.created", "hours.changed", "resource.updated", "role.granted", ...
    action: Mapped[str] = mapped_column(sa.String(40))
    # The thing changed, by id, and its name when it changed.
    subject_id: Mapped[int | None] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(300), default="")
    # For filtering: the resource concerned, and the person concerned (a
    # role, a training granted) who may need to be told.
    resource_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="SET NULL")
    )
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # [[field, before, after], ...]: plain JSON values (numbers, text, true/false, null).
    changes: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    venue: Mapped[Venue | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    member: Mapped[User | None] = relationship(foreign_keys=[member_id])
    resource: Mapped[Resource | None] = relationship()

    def __repr__(self) -> str:
        return f"<AdminEvent {self.action} {self.label!r}>"
