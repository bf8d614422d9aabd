"""The pages that find a free slot cost the same SQL statements with ten bookings or thousands.

benchmarks/pages.py prints their speed; here, on both databases, the number of
statements of the venue week, the resource page and the search (for a visitor
and for a member) must not grow with the reservations.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

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


def test_the_managers_pages_read_the_same_rows_however_long_the_history_and_large_the_network(
    client, auth, make, db_backend
):
    """The requests page reads the bookings around each request, not the resource's whole
    history; the log reads its venue's newest rows, not the network's; the members page
    each person's last booking and those to come, not their whole history."""
    if db_backend != "postgresql":
        pytest.skip("PostgreSQL says how many rows it reads (EXPLAIN ANALYZE)")
    from booking.models import AuditEvent, Resource
    from booking.services import LocalMoment, book

    from .support.sql import rows_read, sent_with_parameters

    venue = make.venue(slug="fabrique", hours=[(d, time(8), time(20)) for d in range(7)])
    kitchen = make.resource(venue, slug="cuisine", requires_approval=True)
    member = make.user(venue, email="membre@example.org")
    make.manager(venue, email="gestion@example.org")
    regular = make.user(venue)
    elsewhere = make.resource(make.venue(slug="ailleurs"), slug="laser")
    book(
        resource_id=kitchen.id,
        member_id=member.id,
        actor_id=member.id,
        starts_at=LocalMoment(date(2026, 3, 4), time(10)),
        ends_at=LocalMoment(date(2026, 3, 4), time(12)),
        now=paris(2026, 3, 2, 9),
    )
    ids = {"kitchen": kitchen.id, "elsewhere": elsewhere.id, "member": regular.id}
    auth.login("gestion@example.org")

    def history(count: int, offset: int, last: datetime) -> None:
        """``count`` past bookings of the kitchen, and as many moves in another venue's log,
        newer than the kitchen's."""
        rows = [
            booking_row(
                offset + n,
                ids["kitchen"],
                ids["member"],
                last.astimezone(UTC) - timedelta(hours=2 * n),
                timedelta(hours=1),
            )
            for n in range(count)
        ]
        db.session.execute(sa.insert(Reservation), rows)
        other = db.session.scalar(
            sa.insert(Reservation)
            .values(
                booking_row(
                    offset + count,
                    ids["elsewhere"],
                    ids["member"],
                    (last - timedelta(days=60)).astimezone(UTC),
                    timedelta(hours=1),
                )
            )
            .returning(Reservation.id)
        )
        db.session.execute(
            sa.insert(AuditEvent),
            [
                {
                    "reservation_id": other,
                    "action": "created",
                    "detail": "",
                    "created_at": paris(2026, 3, 2, 8),
                }
                for _ in range(count)
            ],
        )
        db.session.commit()

    def read() -> dict[str, tuple[int, int]]:
        db.session.execute(sa.text("ANALYZE"))  # the plans of a database that has lived
        db.session.commit()
        read = {}
        for path in ("/manage/", "/manage/venues/fabrique/log", "/manage/venues/fabrique/members"):
            client.get(path)
            with sent_with_parameters() as sent:
                assert client.get(path).status_code == 200
            read[path] = (rows_read(sent, "reservation"), rows_read(sent, "audit_event"))
        return read

    history(10, 0, paris(2026, 2, 28, 10))
    short = read()
    # Older than anything that could still hold the requested slot (MAX_HOLD).
    history(2000, 100, paris(2026, 2, 10, 10))
    long = read()
    assert all(long[path][table] <= short[path][table] for path in short for table in (0, 1)), (
        short,
        long,
    )
    assert db.session.scalar(sa.select(sa.func.count(Resource.id))) == 2


# --- lists that grow with the network: a page at a time ------------------------------------

LISTS = {
    "members": "/manage/venues/fabrique/members",
    "log": "/manage/venues/fabrique/log",
    "venues": "/admin/",
    "accounts": "/admin/accounts",
    "messages": "/admin/messages",
    "statements": "/reports/statements?venue=fabrique&month=2026-02",
    "network statements": "/reports/statements?month=2026-02",
}


def test_lists_that_grow_with_the_network_are_paged_at_a_flat_cost(client, auth, make):
    """Whether a venue has three people or a hundred and twenty, and the network three
    venues or a hundred and twenty, each list shows a page of fifty, links to the next,
    and costs the same statements."""
    from booking.models import Membership, OutboxMessage, Role, User, Venue

    venue = make.venue(slug="fabrique", hours=[(d, time(0), time(23, 30)) for d in range(7)])
    resource_id = make.resource(venue, slug="atelier").id
    make.user(email="admin@example.org", is_admin=True)
    auth.login("admin@example.org")
    counter = iter(range(10_000))

    def grow(count: int) -> None:
        """``count`` more people at the venue, each with a booking in February and a
        message; ``count`` more venues."""
        for _ in range(count):
            n = next(counter)
            person = User(email=f"membre{n}@example.org", display_name=f"Membre {n:04d}")
            person.password_hash = "-"
            person.memberships = [Membership(venue_id=venue.id, role=Role.MEMBER)]
            db.session.add(person)
            db.session.add(Venue(slug=f"lieu-{n}", name=f"Lieu {n:04d}", address="Lille"))
            db.session.flush()
            start = paris(2026, 2, 1, 0).astimezone(UTC) + timedelta(hours=3 * n)
            db.session.execute(
                sa.insert(Reservation).values(
                    booking_row(n, resource_id, person.id, start, timedelta(hours=1))
                )
            )
            db.session.add(
                OutboxMessage(
                    kind="accepted",
                    recipient_id=person.id,
                    payload={"reservations": []},
                    status="sent",
                    attempts=1,
                    due_at=start,
                    created_at=start,
                    subject="Réservation acceptée",
                )
            )
        db.session.commit()

    def cost() -> dict[str, int]:
        counts = {}
        for name, path in LISTS.items():
            client.get(path)
            with statements() as sent:
                response = client.get(path)
            assert response.status_code == 200, path
            counts[name] = len(sent)
        return counts

    grow(3)
    few = cost()
    grow(117)
    many = cost()
    assert few == many
    # A page of fifty, and the next one.
    members = client.get(LISTS["members"]).get_data(as_text=True)
    assert "Membre 0049" in members and "Membre 0050" not in members
    assert 'rel="next"' in members
    following = client.get(LISTS["members"] + "?page=2").get_data(as_text=True)
    assert "Membre 0050" in following and "Membre 0049" not in following
    assert 'rel="prev"' in following
    for name in ("venues", "accounts", "messages", "statements", "network statements"):
        assert 'rel="next"' in client.get(LISTS[name]).get_data(as_text=True), name


def test_the_reminders_read_the_day_they_remind_of(make, db_backend):
    """The evening job reads tomorrow's bookings, not those of the days after."""
    if db_backend != "postgresql":
        pytest.skip("PostgreSQL says how many rows it reads (EXPLAIN ANALYZE)")
    from booking.services.booking.reminders import record_reminders

    from .support.sql import rows_read, sent_with_parameters

    venue = make.venue(slug="fabrique", hours=[(d, time(0), time(23, 30)) for d in range(7)])
    laser = make.resource(venue, slug="laser")
    member = make.user(venue)
    evening = paris(2026, 3, 2, 18)
    tomorrow = paris(2026, 3, 3, 10).astimezone(UTC)
    db.session.execute(
        sa.insert(Reservation).values(
            booking_row(0, laser.id, member.id, tomorrow, timedelta(hours=1))
        )
    )
    db.session.commit()

    def read() -> int:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        with sent_with_parameters() as sent:
            record_reminders(evening)
        return rows_read(sent, "reservation")

    alone = read()
    later = paris(2026, 3, 4, 8).astimezone(UTC)  # the day after tomorrow, and on
    db.session.execute(
        sa.insert(Reservation),
        [
            booking_row(
                n, laser.id, member.id, later + timedelta(minutes=30 * n), timedelta(minutes=30)
            )
            for n in range(1, 200)
        ],
    )
    db.session.commit()
    assert read() <= alone
