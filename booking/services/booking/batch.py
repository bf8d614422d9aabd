"""Many bookings judged, and made, in one transaction: the engine's evaluation for a batch
(an import of existing bookings), in a few queries however many there are.

Each booking is put to the engine's own ``evaluate`` with the context of its resource and
member (``loading.load``, once per pair, with the closures of the batch's whole span),
against what holds the resource then: the bookings already there and those of the batch
accepted before it, so that two entries of one file that overlap are judged like two
people booking. A manager may set the soft rules aside (``rules.SOFT_RULES``): never the
capacity, a closure, the past or the slot's shape. ``judge`` only says; ``write_batch``
writes the bookable ones, with one "created" audit row each, under the resources' locks.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...localtime import to_local
from ...models import MAX_HOLD, AuditEvent, Reservation
from ...rules import Hold, Request, Violation, blocking
from ..audit import audit_row
from ..errors import NotAllowedError
from .engine import evaluate, reservation_row
from .lifecycle import lock_resources
from .loading import Context, load

_INSERT = sa.insert(Reservation).returning(Reservation.uid, Reservation.id)


@dataclass(frozen=True)
class Planned:
    """One booking of a batch."""

    resource_id: int
    member_id: int
    starts_at: datetime
    ends_at: datetime
    purpose: str = ""
    seats: int = 1


@dataclass
class Verdict:
    """What the engine says of one booking of the batch; ``id`` once it is written."""

    planned: Planned
    violations: list[Violation]
    id: int | None = None

    @property
    def bookable(self) -> bool:
        return not self.violations


class _Holds:
    """What holds one resource, sorted by start, growing as the batch is accepted."""

    def __init__(self, rows: Sequence[tuple[datetime, datetime, int]]) -> None:
        self.items = sorted(rows)
        self.starts = [item[0] for item in self.items]

    def during(self, start: datetime, end: datetime) -> list[Hold]:
        low = bisect.bisect_left(self.starts, start - MAX_HOLD)
        high = bisect.bisect_left(self.starts, end)
        return [Hold(s, b, n) for s, b, n in self.items[low:high] if s < end and b > start]

    def add(self, start: datetime, blocked_until: datetime, seats: int) -> None:
        position = bisect.bisect_left(self.starts, start)
        self.starts.insert(position, start)
        self.items.insert(position, (start, blocked_until, seats))


def _holds(session: Session, resource_ids: list[int], start: datetime, end: datetime) -> dict:
    rows: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    if resource_ids:
        for rid, s, b, n in session.execute(
            sa.select(
                Reservation.resource_id,
                Reservation.starts_at,
                Reservation.blocked_until,
                Reservation.seats,
            ).where(
                Reservation.resource_id.in_(resource_ids),
                Reservation.holding(),
                *Reservation.overlapping(start, end, earliest=start - MAX_HOLD),
            )
        ):
            rows[rid].append((s, b, n))
    return {rid: _Holds(rows.get(rid, [])) for rid in resource_ids}


def _judge(
    session: Session,
    planned: Sequence[Planned],
    actor_id: int,
    now: datetime,
    overrides: frozenset[str],
) -> tuple[list[Verdict], dict[tuple[int, int], Context]]:
    verdicts: list[Verdict] = []
    contexts: dict[tuple[int, int], Context] = {}
    if not planned:
        return verdicts, contexts
    first = min(p.starts_at for p in planned)
    last = max(p.ends_at for p in planned)
    resource_ids = sorted({p.resource_id for p in planned})

    def days(zone: ZoneInfo) -> tuple[date, date]:
        return to_local(first, zone).date(), to_local(last, zone).date()

    holds = _holds(session, resource_ids, first, last + MAX_HOLD)
    for item in planned:
        key = (item.resource_id, item.member_id)
        context = contexts.get(key)
        if context is None:
            context = load(
                session,
                item.resource_id,
                item.member_id,
                actor_id,
                overrides,
                lock=False,
                days=days,
            )
            if not context.by_manager:
                raise NotAllowedError("book_for_others")
            contexts[key] = context
        request = Request(item.starts_at, item.ends_at, item.seats)
        blocked_until = item.ends_at + context.rules.buffer
        held = holds[item.resource_id].during(item.starts_at, max(blocked_until, item.starts_at))
        standing = blocking(evaluate(context, request, now, held, 0), context.overrides)
        if not standing:
            holds[item.resource_id].add(item.starts_at, blocked_until, item.seats)
        verdicts.append(Verdict(item, standing))
    return verdicts, contexts


def judge(
    session: Session,
    planned: Sequence[Planned],
    actor_id: int,
    now: datetime,
    overrides: frozenset[str],
) -> list[Verdict]:
    """What the engine would say of each booking, in order: nothing is written."""
    return _judge(session, planned, actor_id, now, overrides)[0]


def write_batch(
    session: Session,
    planned: Sequence[Planned],
    actor_id: int,
    now: datetime,
    overrides: frozenset[str],
    *,
    detail: str,
) -> list[Verdict]:
    """In the caller's write transaction (run by ``engine.guarded``, so that a race lost
    to PostgreSQL's constraint is a ConflictError): lock the resources, judge every
    booking again, and write the bookable ones, one statement for all of them and one
    for their audit rows. Returns the verdicts, ``id`` set on those written."""
    lock_resources(session, {p.resource_id for p in planned})
    verdicts, contexts = _judge(session, planned, actor_id, now, overrides)
    rows = []
    for verdict in verdicts:
        if verdict.bookable:
            item = verdict.planned
            context = contexts[(item.resource_id, item.member_id)]
            request = Request(item.starts_at, item.ends_at, item.seats)
            rows.append((verdict, reservation_row(context, request, item.purpose, now)))
    if rows:
        connection = session.connection()
        ids = dict(connection.execute(_INSERT, [row for _, row in rows]).tuples().all())
        for verdict, row in rows:
            verdict.id = ids[row["uid"]]
        connection.execute(
            sa.insert(AuditEvent),
            [audit_row("created", verdict.id, None, actor_id, now, detail) for verdict, _ in rows],
        )
    return verdicts
