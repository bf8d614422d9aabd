"""Reservations, recurring series and the statuses of the reservation lifecycle."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .resources import MAX_HOLD_MINUTES, Resource
from .types import UTCDateTime, meets, str_enum, utcnow
from .users import User


class Status(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Statuses that hold a slot: someone is using it or waiting for an answer.
HOLDING_STATUSES = (Status.PENDING, Status.CONFIRMED)
# Statuses of reservations that no longer hold anything, for one reason or another.
ENDED_STATUSES = (Status.CANCELLED, Status.REFUSED, Status.EXPIRED)

# Nothing holds a resource longer than this (the resource's rules are bounded
# by the database), which bounds every overlap query from below.
MAX_HOLD = timedelta(minutes=MAX_HOLD_MINUTES)


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


def new_uid() -> str:
    return str(uuid.uuid4())


class Series(db.Model):
    """A recurring booking. Each occurrence is a reservation of its own."""

    __tablename__ = "series"
    __table_args__ = (
        sa.CheckConstraint("interval_count >= 1", name="interval_positive"),
        sa.CheckConstraint("local_end > local_start", name="end_after_start"),
        sa.CheckConstraint("until IS NOT NULL OR occurrences IS NOT NULL", name="bounded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency, "series_frequency"))
    interval_count: Mapped[int] = mapped_column(default=1)
    weekdays: Mapped[str] = mapped_column(sa.String(20), default="")  # "0,2" = Monday, Wednesday
    starts_on: Mapped[date] = mapped_column(sa.Date)
    until: Mapped[date | None] = mapped_column(sa.Date)
    occurrences: Mapped[int | None] = mapped_column()
    local_start: Mapped[time] = mapped_column(sa.Time)
    local_end: Mapped[time] = mapped_column(sa.Time)
    purpose: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource: Mapped[Resource] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    # The series' own dates: a pending change of one of them (``Reservation.replaces_id``)
    # is not a date of its own.
    reservations: Mapped[list[Reservation]] = relationship(
        primaryjoin="and_(Series.id == Reservation.series_id, Reservation.replaces_id.is_(None))",
        order_by="Reservation.starts_at",
        viewonly=True,
    )


class Reservation(db.Model):
    __tablename__ = "reservation"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.CheckConstraint("blocked_until >= ends_at", name="buffer_after_end"),
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        sa.CheckConstraint("sequence >= 0", name="sequence_nonnegative"),
        # The overlap query is a range scan on this index: bounded below by
        # MAX_HOLD_MINUTES, above by the end of the requested slot.
        sa.Index("ix_reservation_resource_starts", "resource_id", "starts_at"),
        sa.Index("ix_reservation_user_starts", "user_id", "starts_at"),
        sa.Index("ix_reservation_updated", "updated_at"),
        sa.Index("ix_reservation_status_starts", "status", "starts_at"),
        # The requests waiting for a manager, by resource: a few among millions of
        # bookings, found without reading a venue's history (Reservation.waiting).
        sa.Index(
            "ix_reservation_pending",
            "resource_id",
            "starts_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        # At most one pending change per booking. Partial: nearly every row has none, and
        # a planner must not take "replaces_id IS NULL" for a selective condition.
        sa.Index(
            "ix_reservation_replaces_id",
            "replaces_id",
            unique=True,
            sqlite_where=sa.text("replaces_id IS NOT NULL"),
            postgresql_where=sa.text("replaces_id IS NOT NULL"),
        ),
        # No double booking, held by PostgreSQL itself: two holding reservations
        # of an exclusive resource cannot overlap, buffer included ("[)" ranges
        # let back-to-back bookings fit), unless one is the pending change of the
        # other (they are one booking: its slot now, and the slot it asks for).
        # Shared resources are counted under a row lock on the resource instead
        # (booking.services.booking.engine); SQLite relies on BEGIN IMMEDIATE
        # (booking.database).
        ExcludeConstraint(
            ("resource_id", "="),
            (sa.literal_column("tstzrange(starts_at, blocked_until, '[)')"), "&&"),
            (sa.literal_column("COALESCE(replaces_id, id)"), "<>"),
            name="ex_reservation_no_overlap",
            using="gist",
            where=sa.text("exclusive AND status IN ('pending', 'confirmed')"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uid)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("series.id", ondelete="SET NULL"), index=True
    )
    # A change asked of a confirmed booking on a resource that needs approval: this
    # row holds the new slot while a manager decides, and exists only meanwhile (it is
    # deleted once accepted, refused, withdrawn or expired); the booking it replaces
    # keeps its own slot until then. At most one per booking.
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservation.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # End of the slot plus the resource's buffer (cleaning, cooling down): the
    # resource is held until then.
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    # Copied from the resource (capacity 1) when booked: the PostgreSQL exclusion
    # constraint applies to exclusive reservations only.
    exclusive: Mapped[bool] = mapped_column(default=True)
    seats: Mapped[int] = mapped_column(default=1)
    purpose: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[Status] = mapped_column(str_enum(Status, "reservation_status"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Soft rules a manager chose to override, comma-separated rule codes.
    overrides: Mapped[str] = mapped_column(sa.String(200), default="")
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource: Mapped[Resource] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    series: Mapped[Series | None] = relationship()
    # The booking this pending change would move (None for a booking itself), and the
    # other way round, the change a booking waits for (None most of the time).
    replaces: Mapped[Reservation | None] = relationship(
        remote_side=[id], foreign_keys=[replaces_id], back_populates="pending_change"
    )
    pending_change: Mapped[Reservation | None] = relationship(
        foreign_keys=[replaces_id], back_populates="replaces", uselist=False
    )

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING_STATUSES

    @property
    def is_change(self) -> bool:
        """Whether this row is a pending change of another booking, not a booking."""
        return self.replaces_id is not None

    @classmethod
    def overlapping(
        cls,
        start: datetime | sa.ColumnElement[datetime],
        end: datetime | sa.ColumnElement[datetime],
        *,
        with_buffer: bool = True,
        earliest: datetime | sa.ColumnElement[datetime] | None = None,
    ) -> list[sa.ColumnElement[bool]]:
        """The one overlap predicate: reservations that meet the half-open [start, end).

        With the buffer (the default) a reservation reaches until ``blocked_until``,
        as the slot is held; without, until ``ends_at``, as calendars show it.
        The lower bound on ``starts_at`` keeps every caller a range scan of
        ``ix_reservation_resource_starts``: nothing holds longer than MAX_HOLD.
        A statement built once with bound parameters, or a join on columns, passes that
        bound as ``earliest`` (``start - MAX_HOLD``, computed by the caller).
        """
        until = cls.blocked_until if with_buffer else cls.ends_at
        if earliest is None:
            assert isinstance(start, datetime)
            earliest = start - MAX_HOLD
        return [cls.starts_at >= earliest, *meets(cls.starts_at, until, start, end)]

    @classmethod
    def waiting(cls) -> sa.ColumnElement[bool]:
        """Requests waiting for a manager's decision, as ``ix_reservation_pending`` is
        defined: the status written out in the statement, so that both databases use it."""
        pending = sa.bindparam(None, Status.PENDING, type_=cls.status.type, literal_execute=True)
        return cls.status == pending

    @classmethod
    def holding(cls) -> sa.ColumnElement[bool]:
        """Reservations that hold their slot: confirmed, or waiting for a decision."""
        return cls.status.in_(HOLDING_STATUSES)

    def __repr__(self) -> str:
        return f"<Reservation {self.id} {self.resource_id} {self.starts_at:%Y-%m-%d %H:%M}>"


class AuditEvent(db.Model):
    """Who did what to which reservation, and when."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # A venue's log, newest first: a range of this index, however large the network.
        sa.Index("ix_audit_event_venue_created", "venue_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reservation.id", ondelete="SET NULL"), index=True
    )
    # The venue of the reservation's resource when it happened, written by the database
    # itself (AUDIT_VENUE_TRIGGER): every writer of the log gets it without knowing.
    venue_id: Mapped[int | None] = mapped_column()
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("series.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    reservation: Mapped[Reservation | None] = relationship()
    actor: Mapped[User | None] = relationship()


AUDIT_VENUE_TRIGGER = "audit_event_venue"


def audit_venue_ddl(dialect: str) -> list[str]:
    """Statements that (re)create the trigger giving each new audit row its venue."""
    venue_of = (
        "SELECT resource.venue_id FROM reservation JOIN resource ON resource.id = "
        "reservation.resource_id WHERE reservation.id = NEW.reservation_id"
    )
    name = AUDIT_VENUE_TRIGGER
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER INSERT ON audit_event FOR EACH ROW "
            "WHEN NEW.venue_id IS NULL AND NEW.reservation_id IS NOT NULL BEGIN "
            f"UPDATE audit_event SET venue_id = ({venue_of}) WHERE id = NEW.id; END",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {name} ON audit_event",
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.venue_id IS NULL AND NEW.reservation_id IS NOT NULL THEN "
        f"NEW.venue_id := ({venue_of}); END IF; RETURN NEW; END $$",
        f"CREATE TRIGGER {name} BEFORE INSERT ON audit_event FOR EACH ROW "
        f"EXECUTE FUNCTION {name}()",
    ]


# The exclusion constraint compares resource ids with a GiST index, which needs
# btree_gist (the migration creates it too).
sa.event.listen(
    Reservation.__table__,
    "before_create",
    sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"),
)
