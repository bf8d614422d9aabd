"""The pages that find a free slot cost the same SQL statements with ten bookings or thousands.

benchmarks/pages.py prints their speed; here, on both databases, the number of
statements of the venue week, the resource page and the search (for a visitor
and for a member) must not grow with the reservations.
"""

from __future__ import annotations

import re
from datetime import UTC, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, ResourceKind
from booking.presentation import fragments

from .conftest import paris
from .support.sql import booking_row, statements

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("clock")]

PAGES = [
    "/venues/fabrique/week",
    "/resources/coworking",
    "/search?when=week",
    "/reservations/new?resource=coworking",
]


def without_tokens(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def add_bookings(resources: list[tuple[int, int]], user_id: int, count: int) -> None:
    """``count`` bookings of the (id, capacity) resources, around the clock's week, one per
    hour and resource so that none overlaps."""
    first = paris(2026, 3, 2, 9).astimezone(UTC) - timedelta(days=count // 20)
    rows = []
    for n in range(count):
        resource_id, capacity = resources[n % len(resources)]
        start = first + timedelta(hours=n // len(resources))
        rows.append(
            booking_row(
                n, resource_id, user_id, start, timedelta(minutes=30), exclusive=capacity == 1
            )
        )
    db.session.execute(sa.insert(Reservation), rows)
    db.session.commit()


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_pages_cost_the_same_statements_with_ten_or_two_thousand_bookings(client, auth, make, who):
    venue = make.venue(slug="fabrique", hours=[(d, time(8), time(20)) for d in range(7)])
    cowork = make.resource(
        venue, slug="coworking", kind=ResourceKind.SPACE, capacity=8, weekly_quota_minutes=600
    )
    laser = make.resource(venue, slug="laser", buffer_minutes=15)
    member = make.user(venue, email="membre@example.org")
    resources = [(cowork.id, 8), (laser.id, 1)]
    member_id = member.id
    if who == "member":
        auth.login("membre@example.org")

    def cost() -> dict[str, tuple[int, int]]:
        """Statements of each page when its content is rendered, and when it is kept."""
        counts = {}
        kept = client.application.extensions[fragments.EXTENSION]
        for path in PAGES if who == "member" else PAGES[:3]:
            client.get(path)  # the first view of a page loads more than the next ones
            kept.clear()
            with statements() as rendering:
                response = client.get(path)
            assert response.status_code == 200, path
            with statements() as again:
                repeated = client.get(path)
            # The same page (a member's logout form signs a fresh token each second).
            assert without_tokens(repeated) == without_tokens(response), path
            counts[path] = (len(rendering), len(again))
        return counts

    add_bookings(resources, member_id, 10)
    few = cost()
    db.session.execute(sa.delete(Reservation))
    db.session.commit()
    add_bookings(resources, member_id, 2000)
    many = cost()
    assert few == many
    assert max(rendered for rendered, _ in many.values()) <= 12, many
    # The week and the resource page are kept until something they show changes: seen
    # again in the same minute, they cost one statement (their subject and its stamp),
    # besides a member's own (their account and session, for the menu).
    for path in PAGES[:2]:
        assert many[path][1] == (1 if who == "visitor" else 3), many
