"""What a booking costs the database: a fixed, small number of statements, whatever the history."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, Resource
from booking.services import LocalMoment, Recurrence, SeriesRequest, book, book_series

from .conftest import Factory, paris
from .support.sql import statements

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 2, 8)
MONDAY = date(2026, 3, 9)


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue()
    training = make.qualification()
    laser = make.resource(
        venue, buffer_minutes=30, requires_approval=True, qualification_id=training.id
    )
    member = make.user(venue)
    make.grant(member, training)
    # History, so that nothing is cheap because the table is empty.
    for day in range(20):
        book(
            resource_id=laser.id,
            member_id=member.id,
            actor_id=member.id,
            starts_at=LocalMoment(MONDAY + timedelta(days=day), time(9)),
            ends_at=LocalMoment(MONDAY + timedelta(days=day), time(10)),
            now=NOW,
        )
    ids = {"laser": laser.id, "member": member.id}
    db.session.remove()  # a fresh session, as in a request
    return ids


def book_monday_afternoon(place: dict) -> None:
    book(
        resource_id=place["laser"],
        member_id=place["member"],
        actor_id=place["member"],
        starts_at=LocalMoment(MONDAY, time(14)),
        ends_at=LocalMoment(MONDAY, time(16)),
        now=NOW,
    )


def test_a_booking_costs_at_most_seven_statements(place: dict) -> None:
    with statements() as sent:
        book_monday_afternoon(place)
    assert len(sent) <= 7, "\n".join(sent)
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 21


def test_a_ten_date_series_costs_the_same_as_one_date_plus_its_rows(place: dict) -> None:
    spec = SeriesRequest(
        resource_id=place["laser"],
        member_id=place["member"],
        actor_id=place["member"],
        recurrence=Recurrence("daily", MONDAY, count=10),
        local_start=time(14),
        local_end=time(16),
    )
    with statements() as sent:
        result = book_series(spec, NOW)
    assert len(result.booked) == 10
    # The single booking's statements, plus the series row: the ten
    # reservations and their audit rows go in one statement each.
    assert len(sent) <= 8, "\n".join(sent)


def test_a_quota_costs_one_more_statement(place: dict, make: Factory) -> None:
    resource = db.session.get(Resource, place["laser"])
    resource.weekly_quota_minutes = 600
    db.session.commit()
    db.session.remove()
    with statements() as sent:
        book_monday_afternoon(place)
    assert len(sent) <= 8, "\n".join(sent)


@pytest.mark.parametrize("approval", [False, True], ids=["at-once", "needs-approval"])
def test_a_change_costs_at_most_one_statement_more_than_a_booking(
    make: Factory, approval: bool
) -> None:
    """Moving a booking (at once; or asked of a confirmed booking that needs approval)
    reads the booking with the people, after the resource's lock: one statement more."""
    from booking.services import ChangeRequest, approve, change

    venue = make.venue()
    resource = make.resource(venue, buffer_minutes=30, requires_approval=approval)
    member, manager = make.user(venue), make.manager(venue)
    for day in range(20):  # history
        book(
            resource_id=resource.id,
            member_id=member.id,
            actor_id=manager.id,
            starts_at=LocalMoment(MONDAY + timedelta(days=day), time(9)),
            ends_at=LocalMoment(MONDAY + timedelta(days=day), time(10)),
            now=NOW,
        )
    ids = (resource.id, member.id, manager.id)
    db.session.remove()
    with statements() as booking:
        booked = book(
            resource_id=ids[0],
            member_id=ids[1],
            actor_id=ids[1],
            starts_at=LocalMoment(MONDAY, time(14)),
            ends_at=LocalMoment(MONDAY, time(16)),
            now=NOW,
        )
    booked_id = booked.id
    if approval:
        approve(booked_id, ids[2], NOW)
    db.session.remove()
    with statements() as changing:
        change(
            ChangeRequest(
                booked_id,
                ids[1],
                LocalMoment(MONDAY + timedelta(days=1), time(14)),
                LocalMoment(MONDAY + timedelta(days=1), time(16)),
            ),
            NOW,
        )
    assert len(changing) <= len(booking) + 1, "\n".join(changing)
    assert len(changing) <= 8, "\n".join(changing)
