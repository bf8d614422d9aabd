"""The outbox: every message to send, written in the transaction of the change it reports.

A service that changes something a person relies on adds a row here in its own
transaction, so that the message exists exactly when the change does. A
sender outside the request (``booking.notifications``) claims due rows, renders
them in the recipient's language, sends them and records the outcome: a mail
server that is down delays messages, never loses them, and never blocks the
change itself.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, str_enum, utcnow
from .users import User


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first try, or for a retry
    SENDING = "sending"  # claimed by a sender until ``lease_until``
    SENT = "sent"
    FAILED = "failed"  # given up: shown to administrators, who may try again
    DROPPED = "dropped"  # no longer true when its turn came (a freed slot taken again)
    # Being sent when the backup that was restored was taken: it may have reached its
    # recipient already, so an administrator sends it or drops it, nobody else.
    HELD = "held"


# Statuses a sender may still act on.
OPEN_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING)


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        sa.CheckConstraint(
            "recipient_id IS NOT NULL OR to_address IS NOT NULL", name="has_recipient"
        ),
        # Senders claim the earliest due rows: a range scan of this index.
        sa.Index("ix_outbox_message_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the message tells: the key of its kind (booking.notifications.kinds), which
    # knows its recipients, words and template. Kinds grow with the code: no CHECK here.
    kind: Mapped[str] = mapped_column(sa.String(20))
    # An account (its address and language are read when the message is
    # rendered), or an address for someone who has no account yet.
    recipient_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str | None] = mapped_column(sa.String(254))
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    # What the message is about, as ids and the values it must report as they
    # were (a reservation's status and SEQUENCE when it changed).
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Messages that must be recorded once only (a reminder) carry a key.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "outbox_message_status"), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed: the hourly purge finds the messages done with long ago by it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # The mail server (as the transport describes it) that could not be reached at
    # the last try: the first message it accepts again sends this one at once,
    # instead of leaving it to wait out its delay.
    waiting_on: Mapped[str | None] = mapped_column(sa.String(200))
    # Rendered when a sender first claims the message, before any server sees it,
    # and kept (RFC 5322 bytes): every later try sends the same bytes, with the same
    # Message-ID, even after a sender died between the server's answer and the record.
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    sent_to: Mapped[str] = mapped_column(sa.String(254), default="")
    rendered: Mapped[str | None] = mapped_column(sa.Text)

    recipient: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status.value}>"
