"""Moves through the reservation lifecycle: approve, refuse, cancel, expire.

Lock order, as in booking: the resource's row first, then its reservations.
Database triggers then bump the feed stamps (``booking.services.booking.feeds``); a
writer that locked a reservation before its resource could wait on a booking
that waits on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import HOLDING_STATUSES, AuditEvent, Reservation, Resource, Status, User
from ...permissions import can_manage, is_own, may_cancel
from .. import outbox
from ..audit import audit_row, record
from ..errors import NotAllowedError, TransitionError


def _touch(reservation: Reservation, status: Status, now: datetime) -> None:
    """Change the status and tell calendars: a new SEQUENCE and LAST-MODIFIED."""
    reservation.status = status
    reservation.sequence += 1
    reservation.updated_at = now


def _lock_resources(session: Session, reservations: sa.Select) -> None:
    """Lock, in id order, the resources of the reservations that ``reservations`` selects."""
    session.execute(
        sa.select(Resource.id)
        .where(Resource.id.in_(reservations.with_only_columns(Reservation.resource_id)))
        .order_by(Resource.id)
        .with_for_update()
    )


def _lock(session: Session, reservation_id: int, actor_id: int) -> tuple[Reservation, User]:
    _lock_resources(session, sa.select(Reservation).where(Reservation.id == reservation_id))
    reservation = session.scalar(
        sa.select(Reservation).where(Reservation.id == reservation_id).with_for_update()
    )
    actor = session.get(User, actor_id)
    if reservation is None or actor is None:
        raise NotAllowedError("not_found")
    return reservation, actor


def _expire_if_overdue(session: Session, reservation: Reservation, now: datetime) -> None:
    if reservation.status == Status.PENDING and reservation.starts_at <= now:
        _touch(reservation, Status.EXPIRED, now)
        record(session, "expired", reservation, None, now)
        outbox.tell(session, now, "expired", reservation_ids=[reservation.id])


def _decide(
    reservation_id: int,
    actor_id: int,
    now: datetime,
    move: str,
    apply: Callable[[Session, Reservation, User], None],
) -> Reservation:
    """The shared path of approving and refusing: a manager of the venue, a pending request.

    A request found overdue expires, and the expiry is kept even though the
    decision is then refused.
    """

    def work(session: Session) -> tuple[Reservation, TransitionError | None]:
        reservation, actor = _lock(session, reservation_id, actor_id)
        if not can_manage(actor, reservation.resource.venue_id):
            raise NotAllowedError("decide")
        _expire_if_overdue(session, reservation, now)
        if reservation.status != Status.PENDING:
            return reservation, TransitionError(f"{move}_{reservation.status.value}")
        apply(session, reservation, actor)
        reservation.decided_by_id = actor.id
        reservation.decided_at = now
        return reservation, None

    reservation, refusal = run_write(work)
    if refusal is not None:
        raise refusal
    return reservation


def approve(reservation_id: int, actor_id: int, now: datetime) -> Reservation:
    def confirm(session: Session, reservation: Reservation, actor: User) -> None:
        _touch(reservation, Status.CONFIRMED, now)
        record(session, "approved", reservation, actor.id, now)
        outbox.tell(session, now, "accepted", reservations=[reservation])

    return _decide(reservation_id, actor_id, now, "approve", confirm)


def refuse(reservation_id: int, actor_id: int, reason: str, now: datetime) -> Reservation:
    reason = reason.strip()

    def turn_down(session: Session, reservation: Reservation, actor: User) -> None:
        if not reason:
            raise TransitionError("reason_required")
        _touch(reservation, Status.REFUSED, now)
        reservation.decision_reason = reason
        record(session, "refused", reservation, actor.id, now, reason)
        outbox.tell(
            session, now, "refused", "slot_freed", reservations=[reservation], reason=reason
        )

    return _decide(reservation_id, actor_id, now, "refuse", turn_down)


def _cancel_one(
    session: Session, reservation: Reservation, actor: User, reason: str, now: datetime
) -> bool:
    """Cancel one reservation (the caller tells people); whether it was confirmed."""
    if not may_cancel(actor, reservation):
        raise NotAllowedError("cancel")
    if reservation.status not in (Status.PENDING, Status.CONFIRMED):
        raise TransitionError(f"cancel_{reservation.status.value}")
    if reservation.ends_at <= now:
        raise TransitionError("cancel_ended")
    if not is_own(actor, reservation) and not reason:
        # The member deserves to know why a manager cancelled their booking.
        raise TransitionError("reason_required")
    was_confirmed = reservation.status == Status.CONFIRMED
    action = "cancelled" if was_confirmed else "withdrawn"
    _touch(reservation, Status.CANCELLED, now)
    reservation.decided_by_id = actor.id
    reservation.decided_at = now
    reservation.decision_reason = reason
    record(session, action, reservation, actor.id, now, reason)
    return was_confirmed


def tell_cancelled(
    session: Session,
    reservations: list[Reservation],
    actor_id: int,
    reason: str,
    now: datetime,
    were_confirmed: list[int],
) -> None:
    """Cancelled by the member or by a manager: a manager's cancellation is explained to
    the member, with the reason; the member's own is confirmed only for bookings that
    were confirmed; the slots go to whoever waits for them."""
    outbox.tell(
        session,
        now,
        "cancelled_by_you",
        "cancelled_by_manager",
        "slot_freed",
        reservations=reservations,
        actor_id=actor_id,
        reason=reason,
        were_confirmed=were_confirmed,
    )


def _cancel_all(
    session: Session, reservations: list[Reservation], actor: User, reason: str, now: datetime
) -> None:
    """Cancel these reservations, then tell their member and whoever waits, once."""
    confirmed = [r.id for r in reservations if _cancel_one(session, r, actor, reason, now)]
    tell_cancelled(session, reservations, actor.id, reason, now, confirmed)


def cancel(reservation_id: int, actor_id: int, reason: str, now: datetime) -> Reservation:
    """Cancel a confirmed reservation or withdraw a pending request."""

    def work(session: Session) -> Reservation:
        reservation, actor = _lock(session, reservation_id, actor_id)
        _cancel_all(session, [reservation], actor, reason.strip(), now)
        return reservation

    return run_write(work)


def cancel_series_from(
    reservation_id: int, actor_id: int, reason: str, now: datetime
) -> list[Reservation]:
    """Cancel this occurrence and every later one of its series that still holds a slot."""
    reason = reason.strip()

    def work(session: Session) -> list[Reservation]:
        reservation, actor = _lock(session, reservation_id, actor_id)
        if reservation.series_id is None:
            _cancel_all(session, [reservation], actor, reason, now)
            return [reservation]
        later = list(
            session.scalars(
                sa.select(Reservation)
                .where(
                    Reservation.series_id == reservation.series_id,
                    Reservation.starts_at >= reservation.starts_at,
                    Reservation.holding(),
                    Reservation.ends_at > now,
                )
                .order_by(Reservation.starts_at)
                .with_for_update()
            )
        )
        if reservation not in later:
            _cancel_one(session, reservation, actor, reason, now)  # raises the precise error
        _cancel_all(session, later, actor, reason, now)
        return later

    return run_write(work)


# --- in bulk: a manager's decisions, and cancellations with one reason --------------


@dataclass
class Decisions:
    """What a decision over several requests did: those decided, and those that had
    moved on meanwhile (decided by someone else, withdrawn, expired)."""

    done: list[Reservation]
    stale: list[Reservation]


def lock_resources(session: Session, resource_ids: Iterable[int]) -> None:
    """Lock resources by id, in id order (the first step of every writer's lock order)."""
    ids = sorted(set(resource_ids))
    if ids:
        session.execute(
            sa.select(Resource.id)
            .where(Resource.id.in_(ids))
            .order_by(Resource.id)
            .with_for_update()
        )


def _decide_all(
    selection: sa.Select, actor_id: int, now: datetime, approve: bool, reason: str
) -> Decisions:
    reason = reason.strip()
    if not approve and not reason:
        raise TransitionError("reason_required")

    def work(session: Session) -> Decisions:
        _lock_resources(session, selection)
        reservations = list(
            session.scalars(
                sa.select(Reservation)
                .where(Reservation.id.in_(selection.with_only_columns(Reservation.id)))
                .order_by(Reservation.starts_at, Reservation.id)
                .with_for_update()
            )
        )
        actor = session.get(User, actor_id)
        if actor is None or not reservations:
            raise NotAllowedError("not_found")
        if not all(can_manage(actor, r.resource.venue_id) for r in reservations):
            raise NotAllowedError("decide")
        done: list[Reservation] = []
        stale: list[Reservation] = []
        for reservation in reservations:
            _expire_if_overdue(session, reservation, now)
            if reservation.status != Status.PENDING:
                stale.append(reservation)
                continue
            if approve:
                _touch(reservation, Status.CONFIRMED, now)
                record(session, "approved", reservation, actor.id, now)
            else:
                _touch(reservation, Status.REFUSED, now)
                reservation.decision_reason = reason
                record(session, "refused", reservation, actor.id, now, reason)
            reservation.decided_by_id = actor.id
            reservation.decided_at = now
            done.append(reservation)
        if approve:
            outbox.tell(session, now, "accepted", reservations=done)
        else:
            outbox.tell(session, now, "refused", "slot_freed", reservations=done, reason=reason)
        return Decisions(done, stale)

    return run_write(work)


def decide_many(
    reservation_ids: Iterable[int],
    actor_id: int,
    now: datetime,
    *,
    approve: bool,
    reason: str = "",
    series_ids: Iterable[int] = (),
) -> Decisions:
    """Accept (or refuse with one reason) several requests, and every waiting date of
    several series, in one transaction."""
    ids, series = sorted(set(reservation_ids)), sorted(set(series_ids))
    if not ids and not series:
        raise NotAllowedError("not_found")
    return _decide_all(
        sa.select(Reservation).where(
            sa.or_(
                Reservation.id.in_(ids),
                sa.and_(Reservation.series_id.in_(series), Reservation.status == Status.PENDING),
            )
        ),
        actor_id,
        now,
        approve,
        reason,
    )


def decide_series(
    series_id: int, actor_id: int, now: datetime, *, approve: bool, reason: str = ""
) -> Decisions:
    """Accept or refuse every date of a series still waiting, as a whole."""
    return _decide_all(
        sa.select(Reservation).where(
            Reservation.series_id == series_id, Reservation.status == Status.PENDING
        ),
        actor_id,
        now,
        approve,
        reason,
    )


def cancel_held(
    session: Session,
    reservations: Iterable[Reservation],
    actor_id: int,
    reason: str,
    now: datetime,
    action: str = "cancelled",
) -> list[Reservation]:
    """Within the caller's transaction, which holds the resources' locks: cancel those of
    ``reservations`` that still hold a slot to come, each with the reason its member
    will read (``decision_reason``), who cancelled and when."""
    cancelled = []
    confirmed = []
    for reservation in reservations:
        if reservation.status not in HOLDING_STATUSES or reservation.ends_at <= now:
            continue
        if reservation.status == Status.CONFIRMED:
            confirmed.append(reservation.id)
        _touch(reservation, Status.CANCELLED, now)
        reservation.decided_by_id = actor_id
        reservation.decided_at = now
        reservation.decision_reason = reason
        record(session, action, reservation, actor_id, now, reason)
        cancelled.append(reservation)
    # Each member is told why, in the same transaction (the outbox).
    if action == "cancelled_by_closure":
        outbox.tell(session, now, "cancelled_by_closure", reservations=cancelled, reason=reason)
    else:
        tell_cancelled(session, cancelled, actor_id, reason, now, confirmed)
    return cancelled


# --- expiry ------------------------------------------------------------------------


def _overdue() -> sa.Select:
    return sa.select(Reservation).where(
        Reservation.status == Status.PENDING, Reservation.starts_at <= sa.bindparam("now")
    )


def expire_rows(session: Session, now: datetime, ids: list[int] | None = None) -> int:
    """Within the caller's transaction, which holds the resources' locks: pending requests
    whose start has passed expire, in one statement, and the audit log says so."""
    statement = sa.update(Reservation).where(
        Reservation.status == Status.PENDING, Reservation.starts_at <= now
    )
    if ids is not None:
        statement = statement.where(Reservation.id.in_(ids))
    expired = session.execute(
        statement.values(
            status=Status.EXPIRED, sequence=Reservation.sequence + 1, updated_at=now
        ).returning(Reservation.id, Reservation.series_id),
        # Nothing loaded in this transaction needs refreshing: writers read
        # what they change after taking their locks.
        execution_options={"synchronize_session": False},
    ).all()
    if expired:
        session.execute(
            sa.insert(AuditEvent),
            [audit_row("expired", rid, sid, None, now) for rid, sid in expired],
        )
        outbox.tell(session, now, "expired", reservation_ids=[rid for rid, _ in expired])
    return len(expired)


def expire_pending(now: datetime) -> int:
    """Expire every overdue request, in a transaction of its own (cron, the watch below)."""

    def work(session: Session) -> int:
        _lock_resources(session, _overdue().params(now=now))
        return expire_rows(session, now)

    return run_write(work)


class OverdueWatch:
    """Expires undecided requests whose start has passed: the one place that does it.

    Pages and feeds must never show such a request as still waiting, yet a
    query on every request would cost calendar polls their one-query answer.
    The watch looks at most once a minute, and again as soon as the earliest
    pending request it knows of starts. A request made in another process
    meanwhile is seen at the next look; the booking engine expires any that
    stand in the way of a booking itself.
    """

    RECHECK = timedelta(minutes=1)

    def __init__(self) -> None:
        self._checked_at: datetime | None = None
        self._next: datetime | None = None

    def run(self, now: datetime) -> None:
        if (
            self._checked_at is not None
            and self._next is not None
            and self._checked_at <= now < self._next
        ):
            return
        earliest = self._earliest_pending()
        if earliest is not None and earliest <= now:
            expire_pending(now)
            earliest = self._earliest_pending()
        self._checked_at = now
        self._next = now + self.RECHECK
        if earliest is not None:
            self._next = min(self._next, earliest)

    @staticmethod
    def _earliest_pending() -> datetime | None:
        return db.session.scalar(
            sa.select(sa.func.min(Reservation.starts_at)).where(
                Reservation.status == Status.PENDING
            )
        )
