"""Venues (tiers-lieux), their weekly opening hours and their closures."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, meets, str_enum, utcnow

if TYPE_CHECKING:
    from .resources import Resource
    from .users import Membership


class Venue(db.Model):
    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Paris")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resources: Mapped[list[Resource]] = relationship(
        back_populates="venue", order_by="Resource.name"
    )
    opening_periods: Mapped[list[OpeningPeriod]] = relationship(
        primaryjoin="and_(Venue.id == OpeningPeriod.venue_id)",
        order_by="(OpeningPeriod.weekday, OpeningPeriod.opens_at)",
        cascade="all, delete-orphan",
        overlaps="venue",
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="venue", order_by="Closure.starts_at", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(back_populates="venue")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def active_resources(self) -> list[Resource]:
        return [r for r in self.resources if r.is_active]

    def __repr__(self) -> str:
        return f"<Venue {self.slug}>"


class OpeningPeriod(db.Model):
    """One opening interval on one weekday, in the venue's local time.

    Belongs either to a venue (its general hours) or to a resource that has
    hours of its own, never to both.
    """

    __tablename__ = "opening_period"
    __table_args__ = (
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        sa.CheckConstraint("(venue_id IS NULL) <> (resource_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True
    )
    resource_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)  # 0 = Monday, as datetime.weekday()
    opens_at: Mapped[time] = mapped_column(sa.Time)
    closes_at: Mapped[time] = mapped_column(sa.Time)

    venue: Mapped[Venue | None] = relationship(overlaps="opening_periods")


class ClosureFrequency(enum.StrEnum):
    WEEKLY = "weekly"  # every week: every Monday morning
    YEARLY = "yearly"  # every year: the August closure
    HOLIDAYS = "holidays"  # the country's public holidays


class ClosureRule(db.Model):
    """A closure that comes back: every week, every year, or on each public holiday.

    Its occurrences are written as ``Closure`` rows (``rule_id``) up to
    ``expanded_until``, a local day some two years ahead that a periodic job moves on
    (``booking.services.venues.recurring``): "what is closed then?" stays one indexed
    range query on ``closure``, and the feeds' triggers see each occurrence as they see
    any closure. The first occurrence is [first_day start_time, last_day end_time) in
    the venue's local time (no time: the whole day); the rule repeats it until
    ``until`` (included) or for ever.
    """

    __tablename__ = "closure_rule"
    __table_args__ = (
        sa.CheckConstraint("last_day >= first_day", name="last_after_first"),
        sa.Index("ix_closure_rule_expanded", "expanded_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE")
    )
    frequency: Mapped[ClosureFrequency] = mapped_column(
        str_enum(ClosureFrequency, "closure_frequency")
    )
    first_day: Mapped[date] = mapped_column(sa.Date)
    start_time: Mapped[time | None] = mapped_column(sa.Time)
    last_day: Mapped[date] = mapped_column(sa.Date)
    end_time: Mapped[time | None] = mapped_column(sa.Time)
    until: Mapped[date | None] = mapped_column(sa.Date)
    # Public holidays: the country and its part (holidays' codes: "FR", "57" for Moselle).
    country: Mapped[str] = mapped_column(sa.String(2), default="", server_default="")
    subdivision: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    reason_public: Mapped[bool] = mapped_column(default=False)
    expanded_until: Mapped[date] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship()
    resource: Mapped[Resource | None] = relationship()

    def __repr__(self) -> str:
        return f"<ClosureRule {self.frequency} {self.venue_id}/{self.resource_id}>"


class Closure(db.Model):
    """A time when a venue, or one of its resources, cannot be booked: holidays, maintenance,
    an occurrence of a recurring closure (``rule_id``), or a busy time of a calendar the
    venue follows (``calendar_id``: its reason is the calendar's label, never the event's
    details; shown as "busy" rather than "closed").

    A half-open range of instants [starts_at, ends_at), entered and shown in
    the venue's local time. Public feeds show it as busy, with its reason only
    when the manager chose to make the reason public.
    """

    __tablename__ = "closure"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.CheckConstraint("sequence >= 0", name="sequence_nonnegative"),
        # "What is closed then?" at a venue: a range scan from the venue's id.
        sa.Index("ix_closure_venue_ends", "venue_id", "ends_at"),
        # A rule's occurrences and a followed calendar's busy times, in order.
        sa.Index("ix_closure_rule_starts", "rule_id", "starts_at"),
        sa.Index("ix_closure_calendar_starts", "calendar_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The UID of its event in calendar feeds, for its whole life.
    uid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=lambda: str(uuid.uuid4()))
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"))
    resource_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    # Whether visitors and public feeds may read the reason (else only "closed").
    reason_public: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sequence: Mapped[int] = mapped_column(default=0)
    # An occurrence of a recurring closure (kept, detached, when the rule goes: the past
    # stays as it was).
    rule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("closure_rule.id", ondelete="SET NULL")
    )
    # A busy time of a followed calendar (gone with it).
    calendar_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("followed_calendar.id", ondelete="CASCADE")
    )

    venue: Mapped[Venue] = relationship(back_populates="closures")
    resource: Mapped[Resource | None] = relationship()

    @property
    def busy(self) -> bool:
        """A busy time of a followed calendar, rather than a closure."""
        return self.calendar_id is not None

    @property
    def public_reason(self) -> str:
        return self.reason if self.reason_public else ""

    def meets(self, start: datetime, end: datetime) -> bool:
        """Whether the closure meets the half-open [start, end)."""
        return self.starts_at < end and start < self.ends_at

    @classmethod
    def overlapping(cls, start: Any, end: Any) -> list[sa.ColumnElement[bool]]:
        """The closures that meet the half-open [start, end), in SQL (values, bound
        parameters or columns)."""
        return meets(cls.starts_at, cls.ends_at, start, end)

    def __repr__(self) -> str:
        return f"<Closure {self.venue_id}/{self.resource_id} {self.starts_at:%Y-%m-%d %H:%M}>"
