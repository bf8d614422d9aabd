"""Free/busy costs a constant number of queries, whatever the history."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.models import Reservation, Resource, Status
from booking.services.availability.week import week_of

from .conftest import PARIS

pytestmark = pytest.mark.postgres


def add_reservations(resources, user, count: int, first: datetime) -> None:
    rows = []
    for n in range(count):
        start = first + timedelta(hours=n)
        rows.append(
            {
                "uid": f"00000000-0000-0000-0000-{n:012d}",
                "resource_id": resources[n % len(resources)].id,
                "user_id": user.id,
                "created_by_id": user.id,
                "starts_at": start,
                "ends_at": start + timedelta(minutes=30),
                "blocked_until": start + timedelta(minutes=30),
                "status": Status.CONFIRMED,
                "created_at": start,
                "updated_at": start,
            }
        )
    db.session.execute(sa.insert(Reservation), rows)
    db.session.commit()


def count_queries(work) -> tuple[int, object]:
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = work()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements), result


def test_venue_week_is_a_constant_number_of_queries(make):
    venue = make.venue()
    resources = [make.resource(venue) for _ in range(5)]
    user = make.user(venue)
    monday = datetime(2026, 6, 1, tzinfo=PARIS)

    def venue_week():
        # What the venue's week page does: resources with their hours, then the week.
        listed = list(
            db.session.scalars(
                sa.select(Resource)
                .where(Resource.venue_id == venue.id)
                .options(selectinload(Resource.own_opening_periods))
            )
        )
        return week_of(db.session, venue, listed, monday.date())

    add_reservations(resources, user, 50, monday.astimezone(UTC))
    few, weeks = count_queries(venue_week)
    db.session.execute(sa.delete(Reservation))
    add_reservations(resources, user, 2000, (monday - timedelta(days=60)).astimezone(UTC))
    many, _ = count_queries(venue_week)
    # resources, their own hours, the venue's hours, closures, reservations
    assert few == many <= 8
    busy = sum(len(day.slots) for week in weeks for day in week.days)
    assert busy == 50
