"""What the iCal feeds remember between two requests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class FeedState(db.Model):
    """The last content fingerprint served for one feed, and since when.

    A feed's Last-Modified must never go backwards, yet the newest change
    that a feed shows can disappear from it (a cancellation leaves a public
    feed, a reservation is deleted, the window moves on). Remembering the
    fingerprint lets a changed feed move its date forward even then.
    """

    __tablename__ = "feed_state"

    # "resource:12", "venue:3", "member:5", "manager:5"
    scope: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<FeedState {self.scope} {self.last_modified:%Y-%m-%d %H:%M:%S}>"
