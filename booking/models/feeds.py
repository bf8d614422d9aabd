"""Feed stamps: what changed, for the iCal feeds that calendar apps poll.

A calendar app asks every few minutes whether a feed changed. Answering must
cost one indexed query, so every change that a feed shows bumps a stamp in
the same transaction, by database triggers (a row written by hand in psql
counts too). A stamp is a row per subject and kind:

- ``r`` a resource's public feed: its reservations, its name, its venue's
  name, address and time zone;
- ``v`` a venue's public feed: the same for every resource of the venue;
- ``m`` a venue as its managers see it: the same, plus the names and e-mail
  addresses of the members who booked there;
- ``u`` a member's own feed: their reservations, and the names of the
  resources and venues these are at.

The triggers are installed by the migration that created this table
(``migrations/versions/*_feed_stamps.py``); a change to what they watch is a
new migration. ``tests/test_feed_stamps.py`` holds them to this list.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class Audience(enum.StrEnum):
    """Who reads a feed, which decides what its events tell."""

    PUBLIC = "public"  # anyone: a slot is taken, nothing about who
    MEMBER = "member"  # the member's own reservations, in full
    MANAGER = "manager"  # a manager's venues: who booked, and what for


RESOURCE = "r"
VENUE = "v"
MANAGED = "m"
MEMBER = "u"


class FeedStamp(db.Model):
    __tablename__ = "feed_stamp"

    kind: Mapped[str] = mapped_column(sa.String(1), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<FeedStamp {self.kind}:{self.subject_id} v{self.version}>"
