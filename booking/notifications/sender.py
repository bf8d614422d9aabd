"""Sending what is due: claim, render and keep, send, record; again later if it failed.

1. **Claim** a batch of due rows in a short write transaction: they become
   ``sending`` with a short lease. On PostgreSQL the rows are picked with
   ``FOR UPDATE SKIP LOCKED``, so that senders in other processes or on other
   servers take other rows instead of waiting or taking the same ones; SQLite
   serialises claims with its write lock (``BEGIN IMMEDIATE``). No lock is held
   while a mail server is talked to.
2. **Render and keep** each claimed message, and store its bytes with the row in
   one write, before any mail server sees them: its Message-ID and its bytes are
   fixed there, and every later try sends those very bytes. (A password link that
   would arrive nearly dead after a long outage is written again, with the same
   Message-ID.) A message that is no longer true is dropped here, and only then:
   when what it announces is gone (a request decided or expired, a freed slot
   taken again); a request still pending is never dropped, however late.
3. **Send** each one, its lease renewed just before, then record the outcome in
   another short transaction: sent; or retried later with growing delays (a
   server that is down or busy); or failed for good (refused by the server, or
   too many tries), which administrators see on the messages page and may send
   again. When a server that could not be reached accepts a message again, the
   messages waiting on it go at once instead of waiting out their delays.

A sender that dies mid-batch leaves its rows ``sending``: once the lease passes
(two minutes), another sender takes them and sends the kept bytes. So a message
goes twice only when a sender dies between the server's acceptance and the
record of it, and then as the very same bytes with the same Message-ID, which
mail servers and mail programs recognise. After a backup is restored, the
messages it shows being sent are held for an administrator to send or drop
(``hold_interrupted``): they may have arrived already.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from ..database import run_write
from ..extensions import db
from ..models import MessageStatus, OutboxMessage, Reservation, Resource
from .compose import Obsolete, compose, link_life, mime
from .links import Links
from .transport import DeliveryError, FileTransport, Send, SMTPTransport, transport_for

log = logging.getLogger(__name__)

BATCH = 20
# How long a claim lasts without news of its sender. It is renewed before each send,
# so it only has to cover one message's exchange with the mail server; a sender that
# dies leaves its messages to another one this soon.
LEASE = timedelta(minutes=2)
# One send is a few exchanges with the server (MAIL, RCPT, DATA, the message), each
# allowed SMTP_TIMEOUT: a lease never ends in the middle of one that is merely slow.
EXCHANGES_PER_SEND = 6
# Waits after each failed try, nearly two days in all; past the last one, the message
# has failed.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 3 * 60, 6 * 60, 12 * 60, 24 * 60))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_ERROR = 1000

# What administrators may do to a message, by its state.
SENDABLE_BY_HAND = (
    MessageStatus.FAILED,
    MessageStatus.DROPPED,
    MessageStatus.PENDING,
    MessageStatus.HELD,
)
KEEP_BYTES_BY_HAND = (MessageStatus.PENDING, MessageStatus.HELD)
DROPPABLE_BY_HAND = (MessageStatus.FAILED, MessageStatus.PENDING, MessageStatus.HELD)
DROPPED_BY_HAND = "dropped by an administrator"
HELD_AFTER_RESTORE = "being sent when the restored backup was taken: it may have arrived"


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


def lease() -> timedelta:
    timeout = float(current_app.config.get("SMTP_TIMEOUT") or 0)
    return max(LEASE, timedelta(seconds=EXCHANGES_PER_SEND * timeout))


def transport() -> SMTPTransport | FileTransport:
    return transport_for(current_app.config, current_app.instance_path)


class _Run:
    """One call of ``send_due``: its moment, the server it sends through, the lease."""

    def __init__(self, now: datetime, server: str) -> None:
        self.now = now
        self.server = server
        self.lease = lease()
        self.woke = False
        self._started = time.monotonic()

    def lease_end(self) -> datetime:
        """A lease from this very moment: ``now``, moved on by the time the run has taken."""
        return self.now + timedelta(seconds=time.monotonic() - self._started) + self.lease


@dataclass
class _Prepared:
    """A claimed message made ready: its kept text, or why it must not go."""

    message_id: int
    attempt: int
    text: str = ""
    keep: dict[str, str] | None = None  # newly rendered: what to store with the row
    obsolete: str = ""
    broken: str = ""


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
    until = now + lease()

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
                lease_until=until,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.due_at),
            execution_options={"synchronize_session": False},
        ).all()
        return [(i, attempt) for i, attempt, _ in sorted(rows, key=lambda r: (r[2], r[0]))]

    return run_write(work)


def _update(session: Session, message_id: int, attempt: int, **values: object) -> bool:
    """Change the row if this sender still holds it (its lease was not taken over since)."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == MessageStatus.SENDING,
            OutboxMessage.attempts == attempt,
        )
        .values(**values)
    )
    held = result.rowcount == 1
    if not held:
        log.warning("message %s was taken over by another sender", message_id)
    return held


def _record(message_id: int, attempt: int, **values: object) -> bool:
    """Record an outcome, if this sender still holds the message."""
    return run_write(
        lambda session: _update(session, message_id, attempt, lease_until=None, **values)
    )


# --- rendering and keeping ---------------------------------------------------------


def _parsed(text: str) -> EmailMessage:
    parsed = message_from_string(text, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _link_nearly_dead(message: OutboxMessage, kept: EmailMessage, now: datetime) -> bool:
    life = link_life(message)
    if life is None or kept["Date"] is None:
        return False
    return parsedate_to_datetime(str(kept["Date"])) + life / 2 <= now


def _render(message_id: int, attempt: int, now: datetime, links: Links) -> _Prepared | None:
    """The claimed message as it will go: its kept bytes, or new ones (with the kept
    Message-ID, if any); or why it must not go."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        return None
    prepared = _Prepared(message_id, attempt)
    try:
        # Asked at every try: a message whose news is gone is not sent, even again.
        envelope = compose(message, now, links)
        kept = _parsed(message.rendered) if message.rendered else None
        if kept is not None and not _link_nearly_dead(message, kept, now):
            prepared.text = message.rendered or ""
            return prepared
        same_id = str(kept["Message-ID"]).strip() if kept is not None else None
        mail = mime(message, envelope, now, same_id)
    except Obsolete as reason:
        prepared.obsolete = str(reason)
        return prepared
    except Exception as error:  # a bug or bad data: the administrators must see it
        log.exception("message %s could not be rendered", message_id)
        prepared.broken = f"{type(error).__name__}: {error}"
        return prepared
    prepared.text = mail.as_string()
    prepared.keep = {
        "rendered": prepared.text,
        "subject": str(mail["Subject"])[:300],
        "sent_to": envelope.to_address[:254],
    }
    return prepared


def _prepare(
    claimed: list[tuple[int, int]], run: _Run, links: Links
) -> tuple[list[_Prepared], Report]:
    """Render the claimed messages, then keep their bytes in one write before any is
    sent; drop those no longer true, fail those that cannot be written."""
    # The batch's rows and recipients, and the reservations they report with their
    # resources, venues and members, a few queries for the batch (held here, so that the
    # session keeps them): each message then reads only what else its kind needs.
    batch = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.id.in_([message_id for message_id, _ in claimed]))
        .options(selectinload(OutboxMessage.recipient))
    ).all()
    reported = {
        snap["id"]
        for message in batch
        if isinstance(message.payload, dict)
        for snap in message.payload.get("reservations", [])
        if isinstance(snap, dict) and isinstance(snap.get("id"), int)
    }
    held = (
        db.session.scalars(
            sa.select(Reservation)
            .where(Reservation.id.in_(reported))
            .options(
                selectinload(Reservation.resource).selectinload(Resource.venue),
                selectinload(Reservation.user),
            )
        ).all()
        if reported
        else []
    )
    rendered = [_render(message_id, attempt, run.now, links) for message_id, attempt in claimed]
    del batch, held
    db.session.commit()  # end the reads: nothing stays open while the server is slow

    def work(session: Session) -> tuple[list[_Prepared], Report]:
        ready, report = [], Report()
        for item in rendered:
            if item is None:
                continue
            if item.obsolete:
                if _update(
                    session,
                    item.message_id,
                    item.attempt,
                    status=MessageStatus.DROPPED,
                    lease_until=None,
                    last_error=item.obsolete[:MAX_ERROR],
                ):
                    report.dropped += 1
            elif item.broken:
                log.error("message %s failed for good: %s", item.message_id, item.broken)
                if _update(
                    session,
                    item.message_id,
                    item.attempt,
                    status=MessageStatus.FAILED,
                    lease_until=None,
                    last_error=item.broken[:MAX_ERROR],
                ):
                    report.failed += 1
            elif _update(
                session,
                item.message_id,
                item.attempt,
                lease_until=run.lease_end(),
                **(item.keep or {}),
            ):
                ready.append(item)
        return ready, report

    return run_write(work)


# --- sending and recording ---------------------------------------------------------


def _failure(item: _Prepared, error: DeliveryError, run: _Run) -> Report:
    text = str(error)[:MAX_ERROR]
    if error.permanent or item.attempt >= MAX_ATTEMPTS:
        log.error("message %s failed for good: %s", item.message_id, text)
        _record(
            item.message_id,
            item.attempt,
            status=MessageStatus.FAILED,
            last_error=text,
            waiting_on=None,
        )
        return Report(failed=1)
    log.warning("message %s not sent (try %s), will retry: %s", item.message_id, item.attempt, text)
    _record(
        item.message_id,
        item.attempt,
        status=MessageStatus.PENDING,
        due_at=run.now + RETRY_DELAYS[item.attempt - 1],
        last_error=text,
        # The server could not be reached: the first message it takes again wakes this
        # one. A server that answers "busy" is up, and its delays are kept.
        waiting_on=run.server if error.connection else None,
    )
    return Report(retrying=1)


def _renew(item: _Prepared, run: _Run) -> bool:
    """Hold the message for one more send: False if another sender took it over."""
    return run_write(
        lambda session: _update(session, item.message_id, item.attempt, lease_until=run.lease_end())
    )


def _deliver(ready: list[_Prepared], run: _Run, send: Send) -> Report:
    """Send the messages made ready over one connection, recording each outcome."""
    report = Report()
    connection_error: DeliveryError | None = None
    for item in ready:
        if connection_error is not None:  # the rest of the batch would fail alike
            report += _failure(item, connection_error, run)
            continue
        if not _renew(item, run):
            continue
        try:
            send(item.text, f"{run.now:%Y%m%dT%H%M%S}-{item.message_id}")
        except DeliveryError as error:
            if error.connection:
                connection_error = error
            report += _failure(item, error, run)
            continue
        if _record(
            item.message_id,
            item.attempt,
            status=MessageStatus.SENT,
            sent_at=run.now,
            last_error="",
            waiting_on=None,
        ):
            report.sent += 1
        if not run.woke:
            run.woke = True
            _wake(run)
    return report


def _wake(run: _Run) -> None:
    """The server took a message: those that could not reach it go now, not after their
    delay (this very run sends them)."""

    def work(session: Session) -> int:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == MessageStatus.PENDING,
                OutboxMessage.waiting_on == run.server,
                OutboxMessage.due_at > run.now,
            )
            .values(due_at=run.now)
        )
        return result.rowcount or 0

    woken = run_write(work)
    if woken:
        log.info("%s is back: %s messages waiting on it go now", run.server, woken)


def send_due(now: datetime, *, limit: int = BATCH, rounds: int = 50) -> Report:
    """Send every message due at ``now``, batch after batch; what happened to them."""
    report = Report()
    links = Links()
    way = transport()
    run = _Run(now, way.description)
    for _ in range(rounds):
        claimed = claim(now, limit)
        if not claimed:
            break
        ready, prepared = _prepare(claimed, run, links)
        report += prepared
        if not ready:
            continue
        try:
            with way.connect() as send:
                report += _deliver(ready, run, send)
        except DeliveryError as error:
            # The server could not be reached: every message of the batch waits.
            for item in ready:
                report += _failure(item, error, run)
            break
    return report


# --- what administrators and commands ask --------------------------------------------


def send_waiting_now(now: datetime) -> int:
    """Make every message waiting for its next try due at once (``send-mail --now``)."""

    def work(session: Session) -> int:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.due_at > now)
            .values(due_at=now)
        )
        return result.rowcount or 0

    return run_write(work)


def send_again(message_id: int, now: datetime) -> bool:
    """An administrator asks to send a message (failed, dropped, held, or waiting)."""

    def work(session: Session) -> bool:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status not in SENDABLE_BY_HAND:
            return False
        # A held or waiting message goes as kept: if an earlier try did arrive, this is
        # the same message again, with its Message-ID. One that failed or was dropped
        # is written afresh: the account's address or language may have been mended.
        rendered = message.rendered if message.status in KEEP_BYTES_BY_HAND else None
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == message.status)
            .values(
                status=MessageStatus.PENDING,
                due_at=now,
                attempts=0,
                rendered=rendered,
                waiting_on=None,
                lease_until=None,
            )
        )
        return result.rowcount == 1

    return run_write(work)


def drop(message_id: int) -> bool:
    """An administrator decides that a message held, failed or waiting will not go."""

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(DROPPABLE_BY_HAND))
            .values(status=MessageStatus.DROPPED, last_error=DROPPED_BY_HAND, waiting_on=None)
        )
        return result.rowcount == 1

    return run_write(work)


def hold_interrupted(restore_began: datetime) -> int:
    """After a backup is restored: hold the messages it shows being sent.

    Their sender ran before the backup was taken; whether the server accepted them
    is unknown, and sending them again blindly would repeat what may have arrived.
    A claim's lease ends one lease after the moment it was made or renewed, so a
    claim made before the restore began ends by then plus one lease, while a live
    sender's claim, made on the restored database, ends later: only the backup's
    claims are held, even if a sender was left running during the restore.

    A backup taken before the schema knew of held messages (the one taken before an
    upgrade) gets them as failed instead, which no sender sends by itself either.
    """
    limit = restore_began + lease()

    def work(session: Session) -> int:
        inspector = sa.inspect(session.connection())
        if not inspector.has_table(OutboxMessage.__tablename__):
            return 0
        columns = {column["name"] for column in inspector.get_columns(OutboxMessage.__tablename__)}
        values: dict[str, object] = {"lease_until": None, "last_error": HELD_AFTER_RESTORE}
        if "waiting_on" in columns:
            values.update(status=MessageStatus.HELD, waiting_on=None)
        else:
            values.update(status=MessageStatus.FAILED)
        result = session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == MessageStatus.SENDING,
                OutboxMessage.lease_until <= limit,
            )
            .values(**values)
        )
        return result.rowcount or 0

    return run_write(work)
