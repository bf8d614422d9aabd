"""Calendars a venue brings along: files of existing bookings imported once, and calendars
it keeps elsewhere that it follows as busy time.

- ``CalendarImport``: an uploaded .ics or .csv, kept between its preview and its import
  (and purged soon after: it may hold names and e-mail addresses);
- ``ImportedEvent``: what an import already brought in, by a digest of its identity (an
  iCal event's UID and occurrence, a CSV row's content), so that importing the same file
  again adds nothing;
- ``FollowedCalendar``: an iCal address a venue (or one resource) follows; its events are
  written as ``Closure`` rows (``calendar_id``) holding no detail but the calendar's label.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from .resources import Resource
    from .venues import Venue


class ImportFormat(enum.StrEnum):
    ICS = "ics"
    CSV = "csv"


class CalendarImport(db.Model):
    __tablename__ = "calendar_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    format: Mapped[ImportFormat] = mapped_column(str_enum(ImportFormat, "import_format"))
    # A spreadsheet as text, or a calendar's events as read at upload (JSON: parsing iCal
    # is the slow part); emptied once the import is done.
    content: Mapped[str] = mapped_column(sa.Text, default="")
    # The manager's choices at the last preview (which field names the resource...).
    mapping: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the import did: {"imported": n, "skipped": n, ...}.
    outcome: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    venue: Mapped[Venue] = relationship()

    def __repr__(self) -> str:
        return f"<CalendarImport {self.id} {self.filename!r}>"


class ImportedEvent(db.Model):
    __tablename__ = "imported_event"
    __table_args__ = (sa.Index("ix_imported_event_venue_key", "venue_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"))
    # sha256 of the identity (hex): "uid:<UID>:<occurrence>" or "row:<content>".
    key: Mapped[str] = mapped_column(sa.String(64))
    reservation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reservation.id", ondelete="SET NULL"), index=True
    )
    import_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calendar_import.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowedCalendar(db.Model):
    __tablename__ = "followed_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    # None: the whole venue is busy during its events.
    resource_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    # What everyone reads on a busy time: "agenda du centre social".
    label: Mapped[str] = mapped_column(sa.String(80))
    url: Mapped[str] = mapped_column(sa.String(2000))
    # The validators of the last answer read, for a conditional request next time.
    etag: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    last_modified: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    # sha256 of the last body applied: a server without validators that sends the same
    # calendar again changes nothing.
    digest: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    busy_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The last local day its events were expanded to: a calendar that stays the same
    # (answered 304) is read in full again once the days it should cover have moved on.
    expanded_until: Mapped[date | None] = mapped_column(sa.Date)
    # When its content was last read and applied (a 304 writes nothing).
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last try failed (a code the manager's screen words), and since when.
    last_error: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    last_error_detail: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship()
    resource: Mapped[Resource | None] = relationship()

    def __repr__(self) -> str:
        return f"<FollowedCalendar {self.id} {self.label!r}>"
