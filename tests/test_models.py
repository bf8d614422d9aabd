"""Constraints that the database itself enforces, whatever the Python code does."""

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from booking.extensions import db
from booking.models import OpeningPeriod, Reservation, Resource, ResourceKind, User, Venue

pytestmark = pytest.mark.postgres

START = datetime(2026, 6, 2, 8, tzinfo=UTC)


def refused(*rows) -> None:
    db.session.add_all(rows)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def reservation(resource, user, **fields):
    values = {
        "resource_id": resource.id,
        "user_id": user.id,
        "created_by_id": user.id,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "blocked_until": START + timedelta(hours=1),
        "status": "confirmed",
        **fields,
    }
    return Reservation(**values)


def test_end_must_follow_start(make):
    venue = make.venue()
    resource, user = make.resource(venue), make.user(venue)
    refused(reservation(resource, user, ends_at=START, blocked_until=START))


def test_buffer_cannot_end_before_the_slot(make):
    venue = make.venue()
    resource, user = make.resource(venue), make.user(venue)
    refused(reservation(resource, user, blocked_until=START + timedelta(minutes=30)))


def test_status_must_be_one_of_the_lifecycle(make):
    venue = make.venue()
    resource, user = make.resource(venue), make.user(venue)
    db.session.add(reservation(resource, user))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE reservation SET status = 'maybe'"))
        db.session.commit()
    db.session.rollback()


def test_capacity_at_least_one(make):
    venue = make.venue()
    refused(Resource(venue=venue, slug="x", name="X", kind=ResourceKind.SPACE, capacity=0))


def test_kind_within_its_set(make):
    venue = make.venue()
    db.session.add(Resource(venue=venue, slug="x", name="X", kind=ResourceKind.SPACE))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE resource SET kind = 'spaceship'"))
        db.session.commit()
    db.session.rollback()


def test_rules_are_consistent(make):
    venue = make.venue()
    refused(
        Resource(
            venue=venue,
            slug="x",
            name="X",
            kind=ResourceKind.SPACE,
            min_duration_minutes=120,
            max_duration_minutes=60,
        )
    )
    refused(
        Resource(
            venue=venue, slug="y", name="Y", kind=ResourceKind.SPACE, max_duration_minutes=30000
        )
    )


def test_slugs_and_emails_are_unique(make):
    make.venue(slug="moulins")
    refused(Venue(slug="moulins", name="Autre"))
    make.user(email="amina@example.org")
    refused(User(email="amina@example.org", display_name="Autre", password_hash="x"))


def test_emails_are_stored_lowercase(make):
    refused(User(email="Amina@Example.org", display_name="A", password_hash="x"))


def test_opening_period_belongs_to_one_owner_and_closes_after_opening(make):
    venue = make.venue()
    refused(OpeningPeriod(venue_id=venue.id, weekday=7, opens_at=time(9), closes_at=time(10)))
    refused(OpeningPeriod(venue_id=venue.id, weekday=1, opens_at=time(10), closes_at=time(9)))
    refused(OpeningPeriod(weekday=1, opens_at=time(9), closes_at=time(10)))


def test_naive_datetimes_never_reach_the_database(make):
    venue = make.venue()
    resource, user = make.resource(venue), make.user(venue)
    naive = datetime(2026, 6, 2, 8)
    db.session.add(reservation(resource, user, starts_at=naive))
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_instants_come_back_aware_and_in_utc(make):
    venue = make.venue()
    resource, user = make.resource(venue), make.user(venue)
    paris_time = START.astimezone(venue.zone)
    db.session.add(reservation(resource, user, starts_at=paris_time))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Reservation))
    assert stored.starts_at == START and stored.starts_at.utcoffset() == timedelta(0)


def test_foreign_keys_are_enforced(make):
    refused(Resource(venue_id=9999, slug="x", name="X", kind=ResourceKind.SPACE))
