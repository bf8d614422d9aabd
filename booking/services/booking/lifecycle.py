"""Moves through the reservation lifecycle: approve, refuse, cancel, expire.

Lock order, as in booking: the resource's row first, then its reservations.
Database triggers then bump the feed stamps (``booking.services.booking.feeds``); a
writer that locked a reservation before its resource could wait on a booking
that waits on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

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


def lock_booking(session: Session, reservation_id: int, actor_id: int) -> tuple[Reservation, User]:
    """A reservation and the person acting, its resource locked first (the lock order)."""
    return _lock(session, reservation_id, actor_id)


def _expire_if_overdue(session: Session, reservation: Reservation, now: datetime) -> None:
    if reservation.status == Status.PENDING and reservation.starts_at <= now:
        if reservation.is_change:
            Settled().drop(session, [reservation], None, now, "change_expired").tell(session, now)
            return
        _touch(reservation, Status.EXPIRED, now)
        record(session, "expired", reservation, None, now)
        outbox.tell(session, now, "expired", reservation_ids=[reservation.id])


# --- pending changes: accepted, refused, withdrawn, expired ------------------------------


class Slot(NamedTuple):
    """A slot a booking (or a change) let go of, as the waiting list reads it."""

    resource_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime


def slot_of(row: Mapping[str, Any]) -> Slot:
    return Slot(
        row["resource_id"], row["user_id"], row["starts_at"], row["ends_at"], row["blocked_until"]
    )


# A booking's version as the audit log and messages keep it.
_VERSION = ("starts_at", "ends_at", "blocked_until", "seats", "purpose")


def _row(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "resource_id": reservation.resource_id,
        "user_id": reservation.user_id,
        **{name: getattr(reservation, name) for name in _VERSION},
    }


def _said(reservation: Reservation) -> dict[str, Any]:
    return {
        "starts_at": reservation.starts_at.isoformat(),
        "ends_at": reservation.ends_at.isoformat(),
        "seats": reservation.seats,
    }


def _version(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "seats": row["seats"],
        "purpose": row["purpose"],
    }


def change_detail(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str = "",
    overrides: Iterable[str] = (),
) -> str:
    """The audit detail of a change: from what to what, and why (JSON, which
    ``presentation.manage.detail_text`` words)."""
    detail: dict[str, Any] = {"from": _version(before), "to": _version(after)}
    if reason:
        detail["reason"] = reason
    if overrides:
        detail["overrides"] = sorted(overrides)
    return json.dumps(detail, sort_keys=True, ensure_ascii=False)


@dataclass
class Settled:
    """Pending changes settled in one transaction, and what their members are told, once:
    bookings that took their new time, changes refused or expired (the bookings stay)."""

    moved: list[Reservation] = field(default_factory=list)
    was: dict[int, dict[str, Any]] = field(default_factory=dict)
    refused: list[Reservation] = field(default_factory=list)
    expired: list[Reservation] = field(default_factory=list)
    asked: dict[int, dict[str, Any]] = field(default_factory=dict)
    freed: list[dict[str, Any]] = field(default_factory=list)
    actor_id: int | None = None
    reason: str = ""

    def accept(
        self, session: Session, change: Reservation, actor: User, now: datetime
    ) -> Reservation:
        """The booking takes the version its change asked for: same reservation, same UID,
        SEQUENCE + 1; the change's row goes."""
        booking = change.replaces
        assert booking is not None
        before = _row(booking)
        for name in _VERSION:
            setattr(booking, name, getattr(change, name))
        booking.sequence += 1
        booking.updated_at = now
        after = _row(booking)
        session.delete(change)
        record(session, "change_accepted", booking, actor.id, now, change_detail(before, after))
        self.moved.append(booking)
        self.was[booking.id] = {
            "starts_at": before["starts_at"].isoformat(),
            "ends_at": before["ends_at"].isoformat(),
            "seats": before["seats"],
        }
        if (
            after["starts_at"] > before["starts_at"]
            or after["blocked_until"] < before["blocked_until"]
            or after["seats"] < before["seats"]
        ):
            self.freed.append(before)
        self.actor_id = actor.id
        return booking

    def drop(
        self,
        session: Session,
        changes: Iterable[Reservation],
        actor_id: int | None,
        now: datetime,
        action: str,
        reason: str = "",
        quietly: bool = False,
    ) -> Settled:
        """Changes that will not happen (refused, withdrawn, expired, or overtaken): their
        rows go, their bookings stay as they are, and the log says so on each booking."""
        for change in changes:
            booking = change.replaces
            assert booking is not None
            if not quietly:
                record(
                    session,
                    action,
                    booking,
                    actor_id,
                    now,
                    change_detail(_row(booking), _row(change), reason),
                )
            self.freed.append(_row(change))
            if action == "change_refused" and not quietly:
                self.refused.append(booking)
                self.asked[booking.id] = _said(change)
            elif action == "change_expired" and not quietly:
                self.expired.append(booking)
                self.asked[booking.id] = _said(change)
            session.delete(change)
        self.reason = reason or self.reason
        return self

    def tell(self, session: Session, now: datetime) -> None:
        session.flush()
        if self.moved:
            outbox.tell(
                session,
                now,
                "changed",
                reservations=self.moved,
                actor_id=self.actor_id,
                accepted=True,
                was=self.was,
            )
        if self.refused:
            outbox.tell(
                session,
                now,
                "change_refused",
                reservations=self.refused,
                reason=self.reason,
                asked=self.asked,
            )
        if self.expired:
            outbox.tell(session, now, "change_expired", reservations=self.expired, asked=self.asked)
        if self.freed:
            outbox.tell(session, now, "slot_freed", reservations=[slot_of(f) for f in self.freed])


def _changes_of(session: Session, booking_ids: list[int]) -> list[Reservation]:
    """The pending changes of these bookings (cancelled with them)."""
    if not booking_ids:
        return []
    return list(
        session.scalars(
            sa.select(Reservation).where(Reservation.replaces_id.in_(booking_ids)).with_for_update()
        )
    )


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
        booking = reservation.replaces
        _expire_if_overdue(session, reservation, now)
        if reservation in session.deleted or reservation.status != Status.PENDING:
            status = "expired" if reservation in session.deleted else reservation.status.value
            return booking or reservation, TransitionError(f"{move}_{status}")
        apply(session, reservation, actor)
        if booking is not None:
            return booking, None
        reservation.decided_by_id = actor.id
        reservation.decided_at = now
        return reservation, None

    reservation, refusal = run_write(work)
    if refusal is not None:
        raise refusal
    return reservation


def approve(reservation_id: int, actor_id: int, now: datetime) -> Reservation:
    """Accept a request (or a booking's pending change: the booking then moves). Returns
    the booking."""

    def confirm(session: Session, reservation: Reservation, actor: User) -> None:
        if reservation.is_change:
            settled = Settled()
            settled.accept(session, reservation, actor, now)
            settled.tell(session, now)
            return
        _touch(reservation, Status.CONFIRMED, now)
        record(session, "approved", reservation, actor.id, now)
        outbox.tell(session, now, "accepted", reservations=[reservation])

    return _decide(reservation_id, actor_id, now, "approve", confirm)


def refuse(reservation_id: int, actor_id: int, reason: str, now: datetime) -> Reservation:
    reason = reason.strip()

    def turn_down(session: Session, reservation: Reservation, actor: User) -> None:
        if not reason:
            raise TransitionError("reason_required")
        if reservation.is_change:
            Settled().drop(session, [reservation], actor.id, now, "change_refused", reason).tell(
                session, now
            )
            return
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
    """Cancel one reservation (the caller tells people); whether it was confirmed. A pending
    change cancelled is withdrawn: its booking stays."""
    if not may_cancel(actor, reservation):
        raise NotAllowedError("cancel")
    if reservation.is_change:
        Settled().drop(session, [reservation], actor.id, now, "change_withdrawn").tell(session, now)
        return False
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
    """Cancel these reservations (and the changes they wait for), then tell their member and
    whoever waits, once."""
    confirmed = [r.id for r in reservations if _cancel_one(session, r, actor, reason, now)]
    bookings = [r for r in reservations if not r.is_change]
    Settled().drop(
        session, _changes_of(session, [r.id for r in bookings]), actor.id, now, "", quietly=True
    ).tell(session, now)
    tell_cancelled(session, bookings, actor.id, reason, now, confirmed)


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
                    Reservation.replaces_id.is_(None),
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
        settled = Settled()
        for reservation in reservations:
            _expire_if_overdue(session, reservation, now)
            if reservation in session.deleted or reservation.status != Status.PENDING:
                stale.append(reservation.replaces or reservation)
                continue
            if reservation.is_change:
                booking = reservation.replaces
                if approve:
                    settled.accept(session, reservation, actor, now)
                else:
                    settled.drop(session, [reservation], actor.id, now, "change_refused", reason)
                done.append(booking or reservation)
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
        settled.tell(session, now)
        requests = [r for r in done if r not in settled.moved and r not in settled.refused]
        if approve:
            outbox.tell(session, now, "accepted", reservations=requests)
        else:
            outbox.tell(session, now, "refused", "slot_freed", reservations=requests, reason=reason)
        return Decisions(done, stale)

    return run_write(work)


def _dates_of(series_ids: Iterable[int]) -> sa.Select:
    return sa.select(Reservation.id).where(Reservation.series_id.in_(list(series_ids)))


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
                sa.and_(
                    Reservation.replaces_id.in_(_dates_of(series)),
                    Reservation.status == Status.PENDING,
                ),
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
    """Accept or refuse every date of a series still waiting, as a whole (the changes its
    dates wait for included)."""
    return _decide_all(
        sa.select(Reservation).where(
            sa.or_(
                Reservation.series_id == series_id,
                Reservation.replaces_id.in_(_dates_of([series_id])),
            ),
            Reservation.status == Status.PENDING,
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
    holding = [r for r in reservations if r.status in HOLDING_STATUSES and r.ends_at > now]
    bookings = {r.id for r in holding if not r.is_change}
    # A change whose booking is cancelled too goes with it; one whose booking stays is
    # refused, with the same reason.
    changes = [r for r in holding if r.is_change]
    settled = Settled()
    settled.drop(
        session,
        [c for c in changes if c.replaces_id not in bookings],
        actor_id,
        now,
        "change_refused",
        reason,
    )
    going = {c.id: c for c in changes if c.replaces_id in bookings}
    going.update((c.id, c) for c in _changes_of(session, sorted(bookings)))
    settled.drop(session, list(going.values()), actor_id, now, "", quietly=True)
    settled.tell(session, now)
    for reservation in holding:
        if reservation.is_change:
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
        ).returning(Reservation.id, Reservation.series_id, Reservation.replaces_id),
        # Nothing loaded in this transaction needs refreshing: writers read
        # what they change after taking their locks.
        execution_options={"synchronize_session": False},
    ).all()
    changes = [rid for rid, _, replaces in expired if replaces is not None]
    expired = [(rid, sid) for rid, sid, replaces in expired if replaces is None]
    if changes:
        # A change that expires undecided leaves its booking as it was.
        lapsed = session.scalars(sa.select(Reservation).where(Reservation.id.in_(changes)))
        Settled().drop(session, list(lapsed), None, now, "change_expired").tell(session, now)
    if expired:
        session.execute(
            sa.insert(AuditEvent),
            [audit_row("expired", rid, sid, None, now) for rid, sid in expired],
        )
        outbox.tell(session, now, "expired", reservation_ids=[rid for rid, _ in expired])
    return len(expired) + len(changes)


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
