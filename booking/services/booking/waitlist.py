"""The waiting list: a member asks to be told when a taken slot frees, and books it in one step.

When a reservation is cancelled or refused, the "slot_freed" message tells the
members waiting for that time, in the order they asked. The link they get
opens a page that books the slot with one button, if it is still free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import Reservation, Resource, User, WaitlistEntry, WaitStatus
from ...permissions import can_book_at
from ...rules import Hold, Rules, Violation, peak_seats
from ..errors import BookingError, NotAllowedError
from .engine import When, book, instant


class WaitlistError(Exception):
    """Why a member cannot wait for this slot: ``free`` (book it instead), ``past``,
    or a violation of the slot's shape (times that do not exist, end before start)."""

    def __init__(self, code: str, violation: Violation | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.violation = violation


@dataclass(frozen=True)
class Joined:
    entry: WaitlistEntry
    already: bool  # the member was already waiting for this slot


def seats_in_use(session: Session, resource: Resource, start: datetime, end: datetime) -> int:
    """Seats held at the busiest moment of [start, end + buffer), as the booking engine counts."""
    until = end + Rules(resource.venue.zone, buffer_minutes=resource.buffer_minutes).buffer
    rows = session.execute(
        sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats).where(
            Reservation.resource_id == resource.id,
            Reservation.holding(),
            *Reservation.overlapping(start, until),
        )
    ).all()
    return peak_seats([Hold(s, b, n) for s, b, n in rows], start, until)


def is_free(session: Session, entry: WaitlistEntry) -> bool:
    """Whether the entry's slot has room for its seats now."""
    resource = entry.resource
    return (
        seats_in_use(session, resource, entry.starts_at, entry.ends_at) + entry.seats
        <= resource.capacity
    )


def join(
    *,
    user_id: int,
    resource_id: int,
    starts_at: When,
    ends_at: When,
    seats: int,
    now: datetime,
    purpose: str = "",
) -> Joined:
    """Put the member on the waiting list of a taken slot, with what it is for (kept for
    the booking made when it frees; asked again, the newer purpose replaces it)."""

    def work(session: Session) -> Joined:
        user = session.get(User, user_id)
        resource = session.get(Resource, resource_id)
        if user is None or resource is None or not resource.is_active:
            raise NotAllowedError("not_found")
        if not can_book_at(user, resource.venue_id):
            raise NotAllowedError("waitlist")
        zone = resource.venue.zone
        start = instant(starts_at, zone, "starts_at")
        end = instant(ends_at, zone, "ends_at")
        for value in (start, end):
            if isinstance(value, Violation):
                raise WaitlistError(value.code, value)
        assert isinstance(start, datetime) and isinstance(end, datetime)
        if end <= start:
            raise WaitlistError("end_before_start", Violation("end_before_start", "ends_at"))
        if start <= now:
            raise WaitlistError("past")
        seats_wanted = max(1, min(seats, resource.capacity))
        existing = session.scalar(
            sa.select(WaitlistEntry).where(
                WaitlistEntry.user_id == user_id,
                WaitlistEntry.resource_id == resource_id,
                WaitlistEntry.starts_at == start,
                WaitlistEntry.ends_at == end,
                WaitlistEntry.status == WaitStatus.WAITING,
            )
        )
        if existing is not None:
            if purpose:
                existing.purpose = purpose
            return Joined(existing, already=True)
        if seats_in_use(session, resource, start, end) + seats_wanted <= resource.capacity:
            raise WaitlistError("free")
        entry = WaitlistEntry(
            user_id=user_id,
            resource_id=resource_id,
            starts_at=start,
            ends_at=end,
            seats=seats_wanted,
            purpose=purpose,
            status=WaitStatus.WAITING,
            created_at=now,
        )
        session.add(entry)
        session.flush()
        return Joined(entry, already=False)

    return run_write(work)


def _own_entry(session: Session, entry_id: int, user_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        raise NotAllowedError("not_found")
    return entry


def withdraw(entry_id: int, user_id: int) -> None:
    def work(session: Session) -> None:
        entry = _own_entry(session, entry_id, user_id)
        if entry.status == WaitStatus.WAITING:
            entry.status = WaitStatus.WITHDRAWN

    run_write(work)


def book_entry(entry_id: int, user_id: int, purpose: str, now: datetime) -> Reservation:
    """Book the slot the member waited for, under every rule of a booking.

    Raises BookingError (the slot was taken again, or a rule stands in the
    way) or NotAllowedError; the entry stays on the list until it is booked.
    """
    entry = _own_entry(db.session, entry_id, user_id)
    if entry.status != WaitStatus.WAITING:
        raise BookingError([Violation("waitlist_closed")])
    reservation = book(
        resource_id=entry.resource_id,
        member_id=user_id,
        actor_id=user_id,
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        seats=entry.seats,
        purpose=purpose,
        now=now,
    )

    def close(session: Session) -> None:
        booked = session.get(WaitlistEntry, entry_id)
        if booked is not None:
            booked.status = WaitStatus.BOOKED
            booked.reservation_id = reservation.id

    run_write(close)
    return reservation


def waiting_for(user_id: int, now: datetime) -> list[WaitlistEntry]:
    """The member's entries still to come, soonest first."""
    return list(
        db.session.scalars(
            sa.select(WaitlistEntry)
            .where(
                WaitlistEntry.user_id == user_id,
                WaitlistEntry.status == WaitStatus.WAITING,
                WaitlistEntry.ends_at > now,
            )
            .order_by(WaitlistEntry.starts_at)
        )
    )
