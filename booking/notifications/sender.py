"""Sending what is due: claim, render, send, record; again later if it failed.

1. **Claim** a batch of due rows in a short write transaction: they become
   ``sending`` with a lease. On PostgreSQL the rows are picked with
   ``FOR UPDATE SKIP LOCKED``, so that senders in other processes or on other
   servers take other rows instead of waiting or taking the same ones; SQLite
   serialises claims with its write lock (``BEGIN IMMEDIATE``). No lock is held
   while a mail server is talked to.
2. **Render** each message (once: the bytes are kept, so that a retry sends the
   very same message, with the same Message-ID), unless it is no longer true.
3. **Send**, then record the outcome in another short transaction: sent; or
   retried later with growing delays (a server that is down or busy); or
   failed for good (refused by the server, or too many tries), which
   administrators see on the messages page and may send again.

A sender that dies mid-batch leaves its rows ``sending``: once the lease
passes, another sender takes them. A message is sent once, except when a
sender dies between the server's acceptance and the record of it: then the
same message (same Message-ID) goes again, which mail servers recognise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..database import run_write
from ..extensions import db
from ..models import MessageStatus, OutboxMessage
from .compose import FRESH_KINDS, Obsolete, compose, mime
from .links import Links
from .transport import DeliveryError, FileTransport, Send, SMTPTransport, transport_for

log = logging.getLogger(__name__)

BATCH = 20
# Longer than a batch can take with every server exchange timing out.
LEASE = timedelta(minutes=15)
# Waits after each failed try, nearly two days in all; past the last one, the message
# has failed.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 3 * 60, 6 * 60, 12 * 60, 24 * 60))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_ERROR = 1000


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0

    def __iadd__(self, other: Report) -> Report:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.dropped += other.dropped
        return self

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.dropped


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.due_at <= now),
        sa.and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.lease_until <= now),
    )


def next_due() -> datetime | None:
    """When the earliest message waiting is due (or its sender's lease ends)."""
    return db.session.scalar(
        sa.select(
            sa.func.min(
                sa.case(
                    (OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.due_at),
                    else_=OutboxMessage.lease_until,
                )
            )
        ).where(OutboxMessage.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)))
    )


def claim(now: datetime, limit: int = BATCH) -> list[tuple[int, int]]:
    """Take up to ``limit`` due messages: (id, attempt) pairs, earliest due first."""

    def work(session: Session) -> list[tuple[int, int]]:
        chosen = (
            sa.select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(chosen.scalar_subquery()))
            .values(
                status=MessageStatus.SENDING,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.due_at),
            execution_options={"synchronize_session": False},
        ).all()
        return [(i, attempt) for i, attempt, _ in sorted(rows, key=lambda r: (r[2], r[0]))]

    return run_write(work)


def _record(message_id: int, attempt: int, **values: object) -> bool:
    """Record an outcome, if this sender still holds the message (its lease was not taken over)."""

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == MessageStatus.SENDING,
                OutboxMessage.attempts == attempt,
            )
            .values(lease_until=None, **values)
        )
        return result.rowcount == 1

    held = run_write(work)
    if not held:
        log.warning("message %s was taken over by another sender", message_id)
    return held


def _failure(
    message_id: int, attempt: int, error: str, permanent: bool, now: datetime, rendered: dict
) -> Report:
    error = error[:MAX_ERROR]
    if permanent or attempt >= MAX_ATTEMPTS:
        log.error("message %s failed for good: %s", message_id, error)
        _record(message_id, attempt, status=MessageStatus.FAILED, last_error=error, **rendered)
        return Report(failed=1)
    log.warning("message %s not sent (try %s), will retry: %s", message_id, attempt, error)
    _record(
        message_id,
        attempt,
        status=MessageStatus.PENDING,
        due_at=now + RETRY_DELAYS[attempt - 1],
        last_error=error,
        **rendered,
    )
    return Report(retrying=1)


def _prepare(
    message_id: int, now: datetime, links: Links
) -> tuple[EmailMessage, dict] | Report | str:
    """The message to send and what to keep of it; a Report if it was dropped; an error
    text if it could not be rendered."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        return Report()
    try:
        envelope = compose(message, now, links)
        kept = (
            message_from_string(message.rendered, policy=default_policy)
            if message.rendered
            else None
        )
        if kept is not None and message.kind not in FRESH_KINDS:
            mail = kept
        else:
            same_id = str(kept["Message-ID"]).strip() if kept is not None else None
            mail = mime(message, envelope, now, same_id)
    except Obsolete as reason:
        return Report(dropped=1) if _drop(message, str(reason)) else Report()
    except Exception as error:  # a bug or bad data: the administrators must see it
        log.exception("message %s could not be rendered", message_id)
        return f"{type(error).__name__}: {error}"
    assert isinstance(mail, EmailMessage)
    record = {
        "rendered": mail.as_string(),
        "subject": str(mail["Subject"])[:300],
        "sent_to": envelope.to_address[:254],
    }
    return mail, record


def _drop(message: OutboxMessage, reason: str) -> bool:
    return _record(
        message.id, message.attempts, status=MessageStatus.DROPPED, last_error=reason[:MAX_ERROR]
    )


def _deliver(
    claimed: list[tuple[int, int]], now: datetime, send: Send | None, links: Links
) -> Report:
    """Send the claimed messages over one connection; ``send`` is None when it failed."""
    report = Report()
    connection_error: str | None = None
    for message_id, attempt in claimed:
        prepared = _prepare(message_id, now, links)
        db.session.commit()  # end the read: nothing stays open while the server is slow
        if isinstance(prepared, Report):
            report += prepared
            continue
        if isinstance(prepared, str):
            report += _failure(message_id, attempt, prepared, True, now, {})
            continue
        mail, kept = prepared
        if send is None or connection_error is not None:
            report += _failure(
                message_id, attempt, connection_error or "no connection", False, now, kept
            )
            continue
        try:
            send(mail, f"{now:%Y%m%dT%H%M%S}-{message_id}")
        except DeliveryError as error:
            if error.connection:
                connection_error = str(error)
            report += _failure(message_id, attempt, str(error), error.permanent, now, kept)
            continue
        if _record(
            message_id,
            attempt,
            status=MessageStatus.SENT,
            sent_at=now,
            last_error="",
            **kept,
        ):
            report.sent += 1
    return report


def transport() -> SMTPTransport | FileTransport:
    return transport_for(current_app.config, current_app.instance_path)


def send_due(now: datetime, *, limit: int = BATCH, rounds: int = 50) -> Report:
    """Send every message due at ``now``, batch after batch; what happened to them."""
    report = Report()
    links = Links()
    for _ in range(rounds):
        claimed = claim(now, limit)
        if not claimed:
            break
        try:
            with transport().connect() as send:
                report += _deliver(claimed, now, send, links)
        except DeliveryError as error:
            # The server could not be reached: every message of the batch waits.
            report += _deliver_without(claimed, now, links, str(error))
            break
    return report


def _deliver_without(
    claimed: Iterable[tuple[int, int]], now: datetime, links: Links, error: str
) -> Report:
    def unreachable(_mail: EmailMessage, _name: str) -> None:
        raise DeliveryError(error, connection=True)

    return _deliver(list(claimed), now, unreachable, links)


def send_again(message_id: int, now: datetime) -> bool:
    """An administrator asks to send a message again (failed, dropped, or waiting)."""

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status.in_(
                    (MessageStatus.FAILED, MessageStatus.DROPPED, MessageStatus.PENDING)
                ),
            )
            # Rendered afresh: the account's address or language may have been mended.
            .values(status=MessageStatus.PENDING, due_at=now, attempts=0, rendered=None)
        )
        return result.rowcount == 1

    return run_write(work)
