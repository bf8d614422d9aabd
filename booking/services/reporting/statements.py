"""Monthly usage statements, per member and per venue, for the cooperatives' accounting.

A statement lists the reservations a member used in a month at a venue:
confirmed and not cancelled, starting in the month (in the venue's time
zone), with their length and their amount at the price of the day they
started, at the member's rate or the outside rate as the venue decided for
them. No payment is handled here: the statement is what the accounting needs.

Amounts are worked out by the database, in integer cents: per hour, prorated
to the minute and rounded to the nearest cent for each booking; per booking,
once. A shared resource is priced per seat. Four queries, whatever the number
of reservations: the lines, and the totals by member, by resource, by venue;
each reads the prices from their table, so that what it sends (its text and its
bound values) does not grow with the prices of the network either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...models import (
    Membership,
    PriceUnit,
    Rate,
    Reservation,
    Resource,
    Status,
    Tariff,
    User,
    Venue,
)
from .periods import Period, offsets
from .sqltime import INSTANT, constants, epoch, local_day


@dataclass(frozen=True)
class StatementLine:
    venue_id: int
    user_id: int
    reservation_id: int
    resource_name: str
    starts_at: datetime
    ends_at: datetime
    minutes: int
    seats: int
    unit: PriceUnit | None  # None: the resource had no price that day
    unit_cents: int | None
    amount_cents: int


@dataclass(frozen=True)
class MemberTotal:
    venue_id: int
    user_id: int
    name: str
    email: str
    rate: Rate
    bookings: int
    minutes: int
    amount_cents: int


@dataclass(frozen=True)
class ResourceTotal:
    venue_id: int
    resource_id: int
    name: str
    bookings: int
    minutes: int
    amount_cents: int


@dataclass(frozen=True)
class VenueTotal:
    venue_id: int
    name: str
    members: int
    bookings: int
    minutes: int
    amount_cents: int


@dataclass(frozen=True)
class Statements:
    venues: list[Venue]
    period: Period
    lines: list[StatementLine]
    members: list[MemberTotal]
    resources: list[ResourceTotal]
    totals: list[VenueTotal]

    @cached_property
    def _lines_by_member(self) -> dict[tuple[int, int], list[StatementLine]]:
        found: dict[tuple[int, int], list[StatementLine]] = defaultdict(list)
        for line in self.lines:
            found[line.venue_id, line.user_id].append(line)
        return found

    def member_lines(self, venue_id: int, user_id: int) -> list[StatementLine]:
        return self._lines_by_member.get((venue_id, user_id), [])

    def members_of(self, venue_id: int) -> list[MemberTotal]:
        return [m for m in self.members if m.venue_id == venue_id]

    def resources_of(self, venue_id: int) -> list[ResourceTotal]:
        return [r for r in self.resources if r.venue_id == venue_id]

    def total_of(self, venue_id: int) -> VenueTotal | None:
        return next((t for t in self.totals if t.venue_id == venue_id), None)


# --- prices, read where they are -------------------------------------------------------------

OFFSET_COLUMNS = (
    ("zone", sa.String()),
    ("starts_at", INSTANT),
    ("ends_at", INSTANT),
    ("offset_s", sa.Integer()),
)

# Stands for "no later price" at the end of the last price's window.
FOREVER = date(9999, 12, 31)


def _price_windows(venue_ids: list[int]) -> sa.Subquery:
    """Each price of the venues' resources with the days it applies: from its own day
    until the day of the resource's next price (FOREVER for the last one)."""
    return (
        sa.select(
            Tariff.resource_id,
            Tariff.valid_from,
            sa.func.lead(Tariff.valid_from, 1, sa.literal(FOREVER, sa.Date()))
            .over(partition_by=Tariff.resource_id, order_by=Tariff.valid_from)
            .label("valid_until"),
            Tariff.unit,
            Tariff.member_cents,
            Tariff.outside_cents,
        )
        .join(Resource, Resource.id == Tariff.resource_id)
        .where(Resource.venue_id.in_(venue_ids))
        .subquery("prices")
    )


def _priced(venues: Sequence[Venue], period: Period) -> sa.Subquery:
    """Every reservation used in the month, with its member's rate, length and amount.

    The month of each of the venues' zones, cut where its UTC offset changes, is a small
    table of constants (SQLite has no time zones): with the offset, SQL tells the local
    day a booking starts on, and prices it at the price of that day, read from the
    tariffs in the same query. (The prices were once sent as constants too, a row
    each: every query of a month of the whole network carried thousands of values,
    and PostgreSQL took longer to plan it than to run it.)"""
    ranges = [o for zone in sorted({v.timezone for v in venues}) for o in offsets(zone, period)]
    months = constants(
        "months",
        OFFSET_COLUMNS,
        [(o.zone, o.starts_at, o.ends_at, o.offset_seconds) for o in ranges],
    )
    minutes = ((epoch(Reservation.ends_at) - epoch(Reservation.starts_at)) // 60).label("minutes")
    rate = sa.func.coalesce(Membership.rate, Rate.MEMBER.value)
    venue_ids = [v.id for v in venues]
    day = local_day(Reservation.starts_at, months.c.offset_s)
    prices = _price_windows(venue_ids)
    unit_cents = sa.case(
        (rate == Rate.OUTSIDE.value, prices.c.outside_cents), else_=prices.c.member_cents
    )
    amount = sa.case(
        (
            prices.c.unit == PriceUnit.HOUR.value,
            (unit_cents * Reservation.seats * minutes + 30) // 60,
        ),
        (prices.c.unit == PriceUnit.BOOKING.value, unit_cents * Reservation.seats),
        else_=0,
    )
    return (
        sa.select(
            Venue.id.label("venue_id"),
            Reservation.user_id.label("user_id"),
            Reservation.id.label("reservation_id"),
            Reservation.resource_id.label("resource_id"),
            Reservation.starts_at.label("starts_at"),
            Reservation.ends_at.label("ends_at"),
            Reservation.seats.label("seats"),
            minutes,
            rate.label("rate"),
            prices.c.unit.label("unit"),
            unit_cents.label("unit_cents"),
            amount.label("amount"),
        )
        .select_from(months)
        .join(
            Reservation,
            sa.and_(
                Reservation.starts_at >= months.c.starts_at,
                Reservation.starts_at < months.c.ends_at,
            ),
        )
        .join(Resource, Resource.id == Reservation.resource_id)
        .join(Venue, sa.and_(Venue.id == Resource.venue_id, Venue.timezone == months.c.zone))
        .outerjoin(
            Membership,
            sa.and_(
                Membership.user_id == Reservation.user_id,
                Membership.venue_id == Venue.id,
                Membership.venue_id.in_(venue_ids),
            ),
        )
        .outerjoin(
            prices,
            sa.and_(
                prices.c.resource_id == Reservation.resource_id,
                prices.c.valid_from <= day,
                prices.c.valid_until > day,
            ),
        )
        .where(
            Venue.id.in_(venue_ids),
            # The venues' own bookings of the month (a range of the index on resource and
            # start for each of their resources), not the whole network's month...
            Reservation.resource_id.in_(
                sa.select(Resource.id).where(Resource.venue_id.in_(venue_ids))
            ),
            # ...nor each resource's whole history: on a large network PostgreSQL read each
            # resource's range of that index by the resource alone, every year of it, and
            # threw all but the month away; these bounds (the month in every zone at once)
            # are constants it always puts in the range.
            Reservation.starts_at >= min(o.starts_at for o in ranges),
            Reservation.starts_at < max(o.ends_at for o in ranges),
            Reservation.status == Status.CONFIRMED,
        )
        .subquery("priced")
    )


def monthly_statements(
    session: Session,
    venues: Sequence[Venue],
    month: Period,
    *,
    people: tuple[int, int] | None = None,
) -> Statements:
    """The statements of ``venues`` for ``month`` (any period works; a month is the use).

    With ``people`` (offset, limit), the people are a page of them (by venue and name),
    and the lines only theirs: a page of the statements of a venue of any size. The
    totals by resource and by venue are always whole."""
    priced = _priced(venues, month)
    totals = (
        sa.func.count().label("bookings"),
        sa.func.sum(priced.c.minutes).label("minutes"),
        sa.func.sum(priced.c.amount).label("amount"),
    )
    members_query = (
        sa.select(priced.c.venue_id, User.id, User.display_name, User.email, priced.c.rate, *totals)
        .join(User, User.id == priced.c.user_id)
        .group_by(priced.c.venue_id, User.id, User.display_name, User.email, priced.c.rate)
        .order_by(priced.c.venue_id, sa.func.lower(User.display_name), User.id)
    )
    if people is not None:
        members_query = members_query.offset(people[0]).limit(people[1])
    members = [
        MemberTotal(
            row.venue_id,
            row.id,
            row.display_name,
            row.email,
            Rate(row.rate),
            row.bookings,
            int(row.minutes or 0),
            int(row.amount or 0),
        )
        for row in session.execute(members_query)
    ]
    lines_query = (
        sa.select(priced, Resource.name.label("resource_name"))
        .join(Resource, Resource.id == priced.c.resource_id)
        .join(User, User.id == priced.c.user_id)
        .order_by(
            priced.c.venue_id,
            sa.func.lower(User.display_name),
            priced.c.user_id,
            priced.c.starts_at,
            priced.c.reservation_id,
        )
    )
    if people is not None:
        lines_query = lines_query.where(
            priced.c.user_id.in_({m.user_id for m in members}),
            priced.c.venue_id.in_({m.venue_id for m in members}),
        )
    lines = [
        StatementLine(
            venue_id=row.venue_id,
            user_id=row.user_id,
            reservation_id=row.reservation_id,
            resource_name=row.resource_name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            minutes=int(row.minutes),
            seats=row.seats,
            unit=PriceUnit(row.unit) if row.unit else None,
            unit_cents=row.unit_cents if row.unit else None,
            amount_cents=int(row.amount or 0),
        )
        for row in session.execute(lines_query)
    ]
    resources = [
        ResourceTotal(
            row.venue_id,
            row.id,
            row.name,
            row.bookings,
            int(row.minutes or 0),
            int(row.amount or 0),
        )
        for row in session.execute(
            sa.select(priced.c.venue_id, Resource.id, Resource.name, *totals)
            .join(Resource, Resource.id == priced.c.resource_id)
            .group_by(priced.c.venue_id, Resource.id, Resource.name)
            .order_by(priced.c.venue_id, Resource.name)
        )
    ]
    venue_totals = _venue_totals(session, priced, venues)
    return Statements(list(venues), month, lines, members, resources, venue_totals)


def monthly_totals(session: Session, venues: Sequence[Venue], month: Period) -> list[VenueTotal]:
    """Each venue's total for ``month``, in the order of ``venues`` (those with nothing
    used left out): the network's page lists them a page of venues at a time."""
    return _venue_totals(session, _priced(venues, month), venues)


def _venue_totals(
    session: Session, priced: sa.Subquery, venues: Sequence[Venue]
) -> list[VenueTotal]:
    names = {v.id: v.name for v in venues}
    found = [
        VenueTotal(
            row.venue_id,
            names[row.venue_id],
            row.members,
            row.bookings,
            int(row.minutes or 0),
            int(row.amount or 0),
        )
        for row in session.execute(
            sa.select(
                priced.c.venue_id,
                sa.func.count(sa.distinct(priced.c.user_id)).label("members"),
                sa.func.count().label("bookings"),
                sa.func.sum(priced.c.minutes).label("minutes"),
                sa.func.sum(priced.c.amount).label("amount"),
            ).group_by(priced.c.venue_id)
        )
    ]
    order = {v.id: index for index, v in enumerate(venues)}
    found.sort(key=lambda total: order[total.venue_id])
    return found
