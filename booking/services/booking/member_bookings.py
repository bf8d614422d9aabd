"""A member's own reservations, as their pages list them: what is coming (a series under one
heading), what was cancelled or refused, what is past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import ENDED_STATUSES, Reservation, Resource, Series

UPCOMING_LIMIT = 200
PAST_LIMIT = 50


@dataclass
class SeriesGroup:
    """The coming dates of one recurring booking, shown together."""

    series: Series
    reservations: list[Reservation]

    @property
    def first(self) -> Reservation:
        return self.reservations[0]


@dataclass
class MyReservations:
    upcoming: list[Reservation | SeriesGroup]
    ended: list[Reservation]  # cancelled, refused or expired, whose time is still to come
    past: list[Reservation]


def _mine(user_id: int) -> sa.Select:
    """The member's bookings (a change waiting for a manager is shown with its booking)."""
    return (
        sa.select(Reservation)
        .where(Reservation.user_id == user_id, Reservation.replaces_id.is_(None))
        .options(
            selectinload(Reservation.resource).selectinload(Resource.venue),
            selectinload(Reservation.series),
            selectinload(Reservation.pending_change),
        )
    )


def next_reservations(user_id: int, now: datetime, limit: int = 3) -> list[Reservation]:
    """The member's next reservations that hold their slot (confirmed or awaiting a decision)."""
    query = (
        _mine(user_id)
        .where(Reservation.ends_at > now, Reservation.holding())
        .order_by(Reservation.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def my_reservations(user_id: int, now: datetime) -> MyReservations:
    """Coming reservations (each series grouped under its first coming date), those
    cancelled, refused or expired that were still to come, and past ones, latest first."""
    coming = next_reservations(user_id, now, UPCOMING_LIMIT)
    upcoming: list[Reservation | SeriesGroup] = []
    groups: dict[int, SeriesGroup] = {}
    for reservation in coming:
        if reservation.series_id is None or reservation.series is None:
            upcoming.append(reservation)
        elif reservation.series_id in groups:
            groups[reservation.series_id].reservations.append(reservation)
        else:
            group = SeriesGroup(reservation.series, [reservation])
            groups[reservation.series_id] = group
            upcoming.append(group)
    ended = list(
        db.session.scalars(
            _mine(user_id)
            .where(Reservation.starts_at > now, Reservation.status.in_(ENDED_STATUSES))
            .order_by(Reservation.starts_at)
            .limit(PAST_LIMIT)
        )
    )
    past = list(
        db.session.scalars(
            _mine(user_id)
            .where(Reservation.ends_at <= now)
            .order_by(Reservation.starts_at.desc())
            .limit(PAST_LIMIT)
        )
    )
    return MyReservations(upcoming, ended, past)
