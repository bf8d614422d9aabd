"""Feed stamps: an unchanged feed costs one query, and every change a feed shows moves it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import Reservation, Resource, Venue
from booking.security import tokens

from .conftest import Factory, feed_token
from .support.icalcheck import FeedClock, read_everywhere
from .test_feeds import ALL_DAY, _book

pytestmark = pytest.mark.postgres


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=ALL_DAY)
    return {
        "venue": venue,
        "laser": make.resource(venue, slug="laser", name="Découpeuse laser"),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        "other": make.user(venue, display_name="Karim Mansouri", email="karim@example.org"),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
    }


def urls(place: dict) -> dict[str, str]:
    return {
        "resource": "/feeds/resources/laser.ics",
        "venue": "/feeds/venues/moulins.ics",
        "member": f"/feeds/u/{feed_token(place['member'], tokens.MEMBER)}.ics",
        "other": f"/feeds/u/{feed_token(place['other'], tokens.MEMBER)}.ics",
        "manager": f"/feeds/m/{feed_token(place['manager'], tokens.MANAGER)}.ics",
    }


@contextmanager
def sql() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def etags(client: FlaskClient, feeds: dict[str, str]) -> dict[str, str]:
    return {name: client.get(url).headers["ETag"] for name, url in feeds.items()}


def changed(client: FlaskClient, feeds: dict[str, str], before: dict[str, str]) -> set[str]:
    """The feeds that no longer answer 304 to their previous ETag."""
    return {
        name
        for name, url in feeds.items()
        if client.get(url, headers={"If-None-Match": before[name]}).status_code != 304
    }


def test_an_unchanged_feed_costs_one_query(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 2, clock.now)
    feeds = urls(place)
    before = etags(client, feeds)
    for name, url in feeds.items():
        with sql() as sent:
            response = client.get(url, headers={"If-None-Match": before[name]})
        assert response.status_code == 304, name
        assert len(sent) == 1, (name, sent)


def test_each_change_moves_exactly_the_feeds_that_show_it(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    feeds = urls(place)
    reservation = _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 2, clock.now)
    before = etags(client, feeds)

    # A booking by someone else: the public feeds, the managers' and theirs.
    _book(place["laser"], place["other"], datetime(2026, 3, 4, 10), 1, clock.now)
    assert changed(client, feeds, before) == {"resource", "venue", "manager", "other"}
    before = etags(client, feeds)

    # The venue renamed: every feed that names it.
    venue = db.session.get(Venue, place["venue"].id)
    venue.name = "KPA Moulins — Maison de quartier"
    db.session.commit()
    assert changed(client, feeds, before) == set(feeds)
    response = client.get(feeds["member"])
    assert "Maison de quartier" in read_everywhere(response.data).events[0].location
    before = etags(client, feeds)

    # The reservation handed to another member (as when an account is erased):
    # both members' feeds change.
    db.session.execute(
        sa.update(Reservation)
        .where(Reservation.id == reservation.id)
        .values(user_id=place["other"].id, updated_at=clock.now + timedelta(minutes=1))
    )
    db.session.commit()
    assert changed(client, feeds, before) == set(feeds)


def test_a_retired_resource_or_an_inactive_venue_publishes_no_feed(
    client: FlaskClient, place: dict
) -> None:
    assert client.get("/feeds/resources/laser.ics").status_code == 200
    db.session.get(Resource, place["laser"].id).is_active = False
    db.session.commit()
    assert client.get("/feeds/resources/laser.ics").status_code == 404
    assert client.get("/feeds/venues/moulins.ics").status_code == 200
    db.session.get(Venue, place["venue"].id).is_active = False
    db.session.commit()
    assert client.get("/feeds/venues/moulins.ics").status_code == 404
