"""Moves through the reservation lifecycle: approve, refuse, cancel, expire."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..models import HOLDING_STATUSES, Reservation, Status, User
from .audit import record
from .errors import NotAllowedError, TransitionError


def _touch(reservation: Reservation, status: Status, now: datetime) -> None:
    """Change the status and tell calendars: a new SEQUENCE and LAST-MODIFIED."""
    reservation.status = status
    reservation.sequence += 1
    reservation.updated_at = now


def _load(session: Session, reservation_id: int, actor_id: int) -> tuple[Reservation, User]:
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


def approve(reservation_id: int, actor_id: int, now: datetime) -> Reservation:
    with write_transaction() as session:
        reservation, actor = _load(session, reservation_id, actor_id)
        if not actor.is_manager_of(reservation.resource.venue):
            raise NotAllowedError("decide")
        _expire_if_overdue(session, reservation, now)
        if reservation.status != Status.PENDING:
            # The expiry above must be kept even though the approval is refused.
            session.commit()
            raise TransitionError(f"approve_{reservation.status.value}")
        _touch(reservation, Status.CONFIRMED, now)
        reservation.decided_by_id = actor.id
        reservation.decided_at = now
        record(session, "approved", reservation, actor.id, now)
    return reservation


def refuse(reservation_id: int, actor_id: int, reason: str, now: datetime) -> Reservation:
    reason = reason.strip()
    with write_transaction() as session:
        reservation, actor = _load(session, reservation_id, actor_id)
        if not actor.is_manager_of(reservation.resource.venue):
            raise NotAllowedError("decide")
        _expire_if_overdue(session, reservation, now)
        if reservation.status != Status.PENDING:
            session.commit()
            raise TransitionError(f"refuse_{reservation.status.value}")
        if not reason:
            raise TransitionError("reason_required")
        _touch(reservation, Status.REFUSED, now)
        reservation.decided_by_id = actor.id
        reservation.decided_at = now
        reservation.decision_reason = reason
        record(session, "refused", reservation, actor.id, now, reason)
    return reservation


def _cancel_one(
    session: Session, reservation: Reservation, actor: User, reason: str, now: datetime
) -> None:
    is_owner = actor.id == reservation.user_id
    is_manager = actor.is_manager_of(reservation.resource.venue)
    if not (is_owner or is_manager):
        raise NotAllowedError("cancel")
    if reservation.status not in HOLDING_STATUSES:
        raise TransitionError(f"cancel_{reservation.status.value}")
    if reservation.ends_at <= now:
        raise TransitionError("cancel_ended")
    if not is_owner and not reason:
        # The member deserves to know why a manager cancelled their booking.
        raise TransitionError("reason_required")
    action = "withdrawn" if reservation.status == Status.PENDING else "cancelled"
    _touch(reservation, Status.CANCELLED, now)
    reservation.decided_by_id = actor.id
    reservation.decided_at = now
    reservation.decision_reason = reason
    record(session, action, reservation, actor.id, now, reason)


def cancel(reservation_id: int, actor_id: int, reason: str, now: datetime) -> Reservation:
    """Cancel a confirmed reservation or withdraw a pending request."""
    with write_transaction() as session:
        reservation, actor = _load(session, reservation_id, actor_id)
        _cancel_one(session, reservation, actor, reason.strip(), now)
    return reservation


def cancel_series_from(
    reservation_id: int, actor_id: int, reason: str, now: datetime
) -> list[Reservation]:
    """Cancel this occurrence and every later one of its series that still holds a slot."""
    reason = reason.strip()
    with write_transaction() as session:
        reservation, actor = _load(session, reservation_id, actor_id)
        if reservation.series_id is None:
            _cancel_one(session, reservation, actor, reason, now)
            return [reservation]
        later = list(
            session.scalars(
                sa.select(Reservation)
                .where(
                    Reservation.series_id == reservation.series_id,
                    Reservation.starts_at >= reservation.starts_at,
                    Reservation.status.in_(HOLDING_STATUSES),
                    Reservation.ends_at > now,
                )
                .order_by(Reservation.starts_at)
                .with_for_update()
            )
        )
        if reservation not in later:
            _cancel_one(session, reservation, actor, reason, now)  # raises the precise error
        for occurrence in later:
            _cancel_one(session, occurrence, actor, reason, now)
    return later


def expire_overdue(session: Session, now: datetime, resource_id: int | None = None) -> int:
    """Within the caller's transaction: pending requests whose start has passed expire."""
    query = sa.select(Reservation).where(
        Reservation.status == Status.PENDING, Reservation.starts_at <= now
    )
    if resource_id is not None:
        query = query.where(Reservation.resource_id == resource_id)
    overdue = list(session.scalars(query))
    for reservation in overdue:
        _touch(reservation, Status.EXPIRED, now)
        record(session, "expired", reservation, None, now)
    return len(overdue)


def expire_pending(now: datetime) -> int:
    """Expire every overdue request, in a transaction of its own (cron, page reads)."""
    from ..extensions import db

    # A read first, so that pages showing reservations only take the write
    # lock when there is something to expire.
    if not db.session.scalar(
        sa.select(
            sa.exists().where(Reservation.status == Status.PENDING, Reservation.starts_at <= now)
        )
    ):
        return 0
    with write_transaction() as session:
        return expire_overdue(session, now)
