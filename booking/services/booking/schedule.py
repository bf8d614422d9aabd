"""A venue's schedule for its managers: who has what, when, resource by resource.

For one day or one week: every reservation that holds a slot (member,
purpose, status, seats), the opening hours and the closures, for all the
venue's resources side by side. Reservations that overlap on a shared
resource are spread over lanes so that each one can be read. Four queries,
whatever the number of resources and reservations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from ...localtime import local_day_bounds
from ...models import Closure, Reservation, Resource, Status, Venue
from ...rules import Hold, peak_seats


@dataclass
class Booking:
    reservation: Reservation
    start: datetime  # local, aware
    end: datetime
    held_until: datetime
    lane: int = 0

    @property
    def is_pending(self) -> bool:
        return self.reservation.status == Status.PENDING


@dataclass(frozen=True)
class Closed:
    start: datetime  # local, aware, cut to the day
    end: datetime
    reason: str
    busy: bool = False  # a followed calendar's busy time (its reason is the calendar's label)


@dataclass
class Cell:
    """One resource on one day."""

    day: date
    periods: list[tuple[time, time]]
    bookings: list[Booking] = field(default_factory=list)
    closures: list[Closed] = field(default_factory=list)
    lanes: int = 1
    peak_seats: int = 0


@dataclass
class Row:
    resource: Resource
    cells: list[Cell]


@dataclass
class Schedule:
    venue: Venue
    days: list[date]
    rows: list[Row]

    def axis(self) -> tuple[int, int]:
        """The hours a day view spans: the opening hours and the bookings, whole hours."""
        starts, ends = [], []
        for row in self.rows:
            for cell in row.cells:
                for opens, closes in cell.periods:
                    starts.append(opens.hour)
                    ends.append(closes.hour + (1 if closes.minute else 0))
                for booking in cell.bookings:
                    starts.append(booking.start.hour if booking.start.date() == cell.day else 0)
                    end = booking.end
                    ends.append(
                        24 if end.date() > cell.day else end.hour + (1 if end.minute else 0)
                    )
        if not starts:
            return 8, 20
        return min(starts), max(max(ends), min(starts) + 1)


def _lanes(bookings: list[Booking]) -> int:
    """Give each booking the first lane free at its start; the number of lanes used."""
    lane_ends: list[datetime] = []
    for booking in sorted(bookings, key=lambda b: (b.start, b.end)):
        for lane, end in enumerate(lane_ends):
            if end <= booking.start:
                booking.lane = lane
                lane_ends[lane] = booking.end
                break
        else:
            booking.lane = len(lane_ends)
            lane_ends.append(booking.end)
    return max(len(lane_ends), 1)


def venue_schedule(
    session: Session, venue: Venue, first_day: date, days: int = 1, resource_id: int | None = None
) -> Schedule:
    zone = venue.zone
    day_list = [first_day + timedelta(days=n) for n in range(days)]
    start, _ = local_day_bounds(day_list[0], zone)
    _, end = local_day_bounds(day_list[-1], zone)
    query = (
        sa.select(Resource)
        .where(Resource.venue_id == venue.id, Resource.is_active)
        .options(selectinload(Resource.own_opening_periods))
        .order_by(Resource.name)
    )
    if resource_id is not None:
        query = query.where(Resource.id == resource_id)
    resources = list(session.scalars(query))
    ids = [res.id for res in resources]
    reservations: dict[int, list[Reservation]] = defaultdict(list)
    if ids:
        for reservation in session.scalars(
            sa.select(Reservation)
            .where(
                Reservation.resource_id.in_(ids),
                Reservation.holding(),
                *Reservation.overlapping(start, end, with_buffer=False),
            )
            .options(joinedload(Reservation.user))
            .order_by(Reservation.starts_at)
        ):
            reservations[reservation.resource_id].append(reservation)
    closures = list(
        session.scalars(
            sa.select(Closure).where(Closure.venue_id == venue.id, *Closure.overlapping(start, end))
        )
    )

    rows = []
    for resource in resources:
        periods = resource.opening_periods
        cells = []
        for day in day_list:
            day_start, day_end = local_day_bounds(day, zone)
            cell = Cell(
                day, [(p.opens_at, p.closes_at) for p in periods if p.weekday == day.weekday()]
            )
            for closure in closures:
                if closure.resource_id in (None, resource.id) and closure.meets(day_start, day_end):
                    cell.closures.append(
                        Closed(
                            max(closure.starts_at, day_start).astimezone(zone),
                            min(closure.ends_at, day_end).astimezone(zone),
                            closure.reason,
                            closure.busy,
                        )
                    )
            for reservation in reservations.get(resource.id, []):
                if reservation.starts_at < day_end and reservation.ends_at > day_start:
                    cell.bookings.append(
                        Booking(
                            reservation,
                            reservation.starts_at.astimezone(zone),
                            reservation.ends_at.astimezone(zone),
                            reservation.blocked_until.astimezone(zone),
                        )
                    )
            cell.lanes = _lanes(cell.bookings)
            cell.peak_seats = peak_seats(
                [
                    Hold(b.reservation.starts_at, b.reservation.ends_at, b.reservation.seats)
                    for b in cell.bookings
                ],
                day_start,
                day_end,
            )
            cells.append(cell)
        rows.append(Row(resource, cells))
    return Schedule(venue, day_list, rows)
