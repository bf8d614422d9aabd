"""The activity report and the statements on a hand-built month, on SQLite and PostgreSQL.

Every figure is worked out by hand in tests/support/reports_data.py: a
booking across midnight, one across the autumn change, cancelled, refused and
expired requests, a closed day, a shared resource booked by the seat, a price
that changes in the middle of the month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import PriceUnit, Reservation, Status, Tariff, Venue
from booking.services.reporting.activity import activity_report
from booking.services.reporting.periods import Period
from booking.services.reporting.statements import monthly_statements

from .conftest import Factory
from .support import reports_data as data
from .support.reports_data import paris
from .support.sql import booking_row, sent_with_parameters
from .support.sql import statements as sent_meanwhile

pytestmark = pytest.mark.postgres

OCTOBER = Period.month(2026, 10)


@pytest.fixture
def month(make: Factory) -> data.Month:
    return data.build(make)


def _venue(month: data.Month) -> list[Venue]:
    return [db.session.get(Venue, month.venue)]


def _use(report, name: str):  # type: ignore[no-untyped-def]
    return next(use for use in report.resources if use.name == name)


def test_hours_booked_and_occupancy_count_what_happened_in_the_month(month: data.Month) -> None:
    report = activity_report(db.session, _venue(month), OCTOBER)
    oven, desks = _use(report, "Four"), _use(report, "Postes de travail")
    # a1 3 h, a2 only until midnight (2 h), b 5 real hours across the change, c 2 h, g 1 h 30.
    assert oven.booked_minutes.current == data.OVEN_BOOKED == 810
    assert oven.booked_minutes.previous == data.SEPTEMBER_OVEN_BOOKED
    # Seats count: 2 seats × 8 h + 4 h + 3 seats × 2 h.
    assert desks.booked_minutes.current == data.DESKS_BOOKED == 1560
    assert desks.booked_minutes.previous == data.SEPTEMBER_DESKS_BOOKED
    # 31 days of 12 hours, less the closed Monday; four seats for the desks.
    assert oven.open_minutes.current == data.OVEN_OPEN == 360 * 60
    assert desks.open_minutes.current == 4 * data.OVEN_OPEN
    assert oven.open_minutes.previous == data.SEPTEMBER_OPEN
    assert oven.occupancy.current == pytest.approx(810 / 21600)
    assert desks.occupancy.current == pytest.approx(1560 / 86400)
    assert report.occupancy.current == pytest.approx(2370 / 108000)
    assert report.occupancy.previous == pytest.approx(480 / (5 * data.SEPTEMBER_OPEN))
    assert report.booked_minutes.current == 2370
    assert oven.bookings.current == 5 and desks.bookings.current == 3
    assert oven.bookings.previous == 2 and desks.bookings.previous == 1


def test_statuses_people_and_decisions(month: data.Month) -> None:
    report = activity_report(db.session, _venue(month), OCTOBER)
    statuses = {status: (f.current, f.previous) for status, f in report.statuses.items()}
    assert statuses == {
        Status.CONFIRMED: (8, 3),
        Status.CANCELLED: (1, 1),
        Status.REFUSED: (1, 0),
        Status.EXPIRED: (1, 0),
        Status.PENDING: (0, 0),
    }
    assert (report.people.current, report.people.previous) == (3, 2)
    # Bob's first booking is in October; Alice and Carol came in September.
    assert (report.newcomers.current, report.newcomers.previous) == (1, 2)
    # Answers given: October 2 h (g) and 30 min (e); September 6 h (l).
    assert (report.decisions.current, report.decisions.previous) == (2, 1)
    assert report.median_decision_minutes.current == pytest.approx(75)
    assert report.median_decision_minutes.previous == pytest.approx(360)
    assert [(t.name, t.granted.current, t.granted.previous) for t in report.trainings] == [
        ("Hygiène", 1, 1)
    ]


def test_each_hour_counts_where_it_happened_across_midnight_and_the_autumn_change(
    month: data.Month,
) -> None:
    report = activity_report(db.session, _venue(month), OCTOBER)
    grid = report.heatmap
    mon, tue, wed, _thu, fri, sat, sun = range(7)  # Thursday: only f, which expired
    expected = {
        (mon, 10): 60, (mon, 11): 60,  # c
        (fri, 22): 60, (fri, 23): 60, (sat, 0): 60,  # a1, across midnight
        (sat, 22): 60, (sat, 23): 60,  # a2 until the month's end
        # b: the hour from 2:00 happened twice on 25 October
        (sun, 0): 60, (sun, 1): 60, (sun, 2): 120, (sun, 3): 60,
        (wed, 9): 60, (wed, 10): 30 + 180, (wed, 11): 180,  # g, and j's three seats
        **{(tue, h): 180 for h in (9, 10, 11, 12)},  # h's two seats and i
        **{(tue, h): 120 for h in (13, 14, 15, 16)},  # h alone
    }  # fmt: skip
    found = {(d, h): grid[d][h] for d in range(7) for h in range(24) if grid[d][h]}
    assert found == expected
    assert sum(expected.values()) == report.booked_minutes.current


def test_the_timeline_puts_each_part_on_its_local_day(month: data.Month) -> None:
    report = activity_report(db.session, _venue(month), OCTOBER)
    days = {day: minutes for day, minutes in report.timeline if minutes}
    assert days == {
        date(2026, 10, 5): 120,
        date(2026, 10, 9): 120,
        date(2026, 10, 10): 60,
        date(2026, 10, 14): 90,
        date(2026, 10, 20): 1200,
        date(2026, 10, 21): 360,
        date(2026, 10, 25): 300,
        date(2026, 10, 31): 120,
    }
    assert len(report.timeline) == 31


def test_a_quarter_is_compared_with_the_one_before(month: data.Month) -> None:
    report = activity_report(db.session, _venue(month), Period.quarter(2026, 4))
    assert report.before == Period.quarter(2026, 3)
    # October's bookings, plus a2's hours after midnight on 1 November.
    assert report.booked_minutes.current == 2370 + 120
    assert report.booked_minutes.previous == 480
    assert [minutes for _, minutes in report.timeline] == [2370, 120, 0]


def test_statements_of_october(month: data.Month) -> None:
    statements = monthly_statements(db.session, _venue(month), OCTOBER)
    people = {
        m.name: (m.rate.value, m.bookings, m.minutes, m.amount_cents) for m in statements.members
    }
    assert people == {
        # a1 3 h × 10 €, c 2 h × 10 €, g 1 h 30 × 10 € (the day before the new price),
        # a2 4 h × 12 € (whole, it starts in October), h 2 seats × 5 €
        "Alice Martin": ("member", 5, 180 + 120 + 90 + 240 + 480, 3000 + 2000 + 1500 + 4800 + 1000),
        # b: 5 real hours across the change at the new outside price 24 €; j 3 seats × 8 €
        "Bob Durand": ("outside", 2, 300 + 120, 12000 + 2400),
        "Carol Petit": ("member", 1, 240, 500),
    }  # fmt: skip
    (total,) = statements.totals
    assert (total.members, total.bookings, total.minutes, total.amount_cents) == (3, 8, 1770, 27200)
    resources = {r.name: (r.bookings, r.minutes, r.amount_cents) for r in statements.resources}
    assert resources == {"Four": (5, 930, 23300), "Postes de travail": (3, 840, 3900)}
    bob_b = next(
        line
        for line in statements.lines
        if line.starts_at == paris(2026, 10, 25, 0).astimezone(line.starts_at.tzinfo)
    )
    assert (bob_b.unit_cents, bob_b.minutes, bob_b.amount_cents) == (2400, 300, 12000)
    assert len(statements.lines) == 8


def test_september_statements_are_not_rewritten_by_the_october_price(month: data.Month) -> None:
    statements = monthly_statements(db.session, _venue(month), Period.month(2026, 9))
    people = {m.name: m.amount_cents for m in statements.members}
    # k 4 h × 10 €; l 1 h × 10 € and m one seat × 5 €; the cancelled n is not there.
    assert people == {"Alice Martin": 4000, "Carol Petit": 1000 + 500}


def test_the_number_of_queries_does_not_grow_with_the_reservations(
    month: data.Month, make: Factory
) -> None:
    venues = _venue(month)
    with sent_meanwhile() as before_report:
        activity_report(db.session, venues, OCTOBER)
    with sent_meanwhile() as before_statements:
        monthly_statements(db.session, venues, OCTOBER)
    # Sixty more bookings over the month, by more people, on more resources.
    from booking.services import book

    extra = [make.resource(db.session.get(Venue, month.venue)) for _ in range(3)]
    people = [make.user(db.session.get(Venue, month.venue)).id for _ in range(4)]
    for n in range(60):
        offset = n % 29
        day = paris(2026, 10, 1, 9) + timedelta(days=offset + (offset >= 11))  # not the 12th
        book(
            resource_id=extra[n % 3].id,
            member_id=people[n % 4],
            actor_id=people[n % 4],
            starts_at=day + timedelta(hours=n % 3),
            ends_at=day + timedelta(hours=n % 3, minutes=30),
            now=paris(2026, 9, 1, 8),
        )
    db.session.remove()
    venues = _venue(month)
    with sent_meanwhile() as after_report:
        report = activity_report(db.session, venues, OCTOBER)
    with sent_meanwhile() as after_statements:
        statements = monthly_statements(db.session, venues, OCTOBER)
    assert report.bookings.current == 8 + 60
    assert len(statements.lines) == 8 + 60
    assert len(after_report) == len(before_report) <= 12, "\n".join(after_report)
    assert len(after_statements) == len(before_statements) <= 6


def test_the_statements_send_the_same_sql_with_three_priced_resources_or_thirty(
    month: data.Month, make: Factory
) -> None:
    """What an administrator's month of the whole network sends to the database, its
    statements and their bound values, does not grow with the prices of the network:
    each price was a row of constants sent with every query, planned again each time."""
    venue = db.session.get(Venue, month.venue)
    alice = month.alice
    added: list[int] = []

    def priced(count: int) -> None:
        """``count`` more resources, each with two prices and an hour booked by Alice on
        Tuesday 20 October, after the second price."""
        for _ in range(count):
            resource = make.resource(venue)
            added.append(resource.id)
            for valid_from, cents in ((date(2026, 9, 1), 1000), (date(2026, 10, 15), 1200)):
                db.session.add(
                    Tariff(
                        resource_id=resource.id,
                        valid_from=valid_from,
                        unit=PriceUnit.HOUR,
                        member_cents=cents,
                        outside_cents=2 * cents,
                    )
                )
            start = paris(2026, 10, 20, 18).astimezone(UTC)
            db.session.execute(
                sa.insert(Reservation).values(
                    booking_row(len(added), resource.id, alice, start, timedelta(hours=1))
                )
            )
        db.session.commit()

    def sent() -> tuple[list[str], list[tuple[str, int]], list[int]]:
        db.session.remove()
        venues = _venue(month)
        with sent_meanwhile() as every, sent_with_parameters() as queries:
            statements = monthly_statements(db.session, venues, OCTOBER)
        lines = sorted(
            line.amount_cents
            for line in statements.lines
            if line.resource_name.startswith("Ressource")
        )
        return every, [(sql, len(values or ())) for sql, values in queries], lines

    priced(1)  # the oven, the desks and one more
    few, few_queries, few_lines = sent()
    priced(27)
    many, many_queries, many_lines = sent()
    assert few_lines == [1200] and many_lines == [1200] * 28
    # The same statements, with the same number of bound values.
    assert len(many) == len(few)
    assert [values for _, values in many_queries] == [values for _, values in few_queries]
    assert many_queries == few_queries
    # The lines, the totals by member, by resource and by venue.
    assert len(many) == 4, "\n".join(many)


def test_a_booking_is_priced_by_the_local_day_it_starts_on_in_its_venues_zone(
    make: Factory,
) -> None:
    """A new price begins at midnight of its day where the venue is, whatever the day in
    UTC: in Paris on the night of the autumn change (UTC+2, then +1), and in Martinique
    (UTC−4), both in the same statements."""
    martinique = ZoneInfo("America/Martinique")
    in_paris = make.venue(slug="paris")
    overseas = make.venue(slug="fort-de-france", timezone="America/Martinique")
    oven, press = make.resource(in_paris, name="Four"), make.resource(overseas, name="Presse")
    person = make.user(in_paris, display_name="Alice Martin")
    prices = ((oven.id, date(2026, 10, 25)), (press.id, date(2026, 10, 15)))
    for resource_id, second in prices:
        for valid_from, cents in ((date(2026, 9, 1), 1000), (second, 2000)):
            db.session.add(
                Tariff(
                    resource_id=resource_id,
                    valid_from=valid_from,
                    unit=PriceUnit.HOUR,
                    member_cents=cents,
                    outside_cents=cents,
                )
            )

    def there(*args: int) -> datetime:
        return datetime(*args, tzinfo=martinique)  # type: ignore[misc]

    booked = [
        (oven.id, paris(2026, 9, 30, 23, 30)),  # September where the venue is
        (oven.id, paris(2026, 10, 1, 0, 30)),  # 30 September in UTC
        (oven.id, paris(2026, 10, 24, 23, 30)),
        (oven.id, paris(2026, 10, 25, 0, 30)),  # 24 October in UTC: the new price
        (press.id, there(2026, 10, 14, 21, 0)),  # 15 October in UTC: the old price
        (press.id, there(2026, 10, 15, 0, 30)),
        (press.id, there(2026, 10, 31, 22, 0)),  # 1 November in UTC
        (press.id, there(2026, 11, 1, 0, 30)),  # November where the venue is
    ]
    db.session.execute(
        sa.insert(Reservation),
        [
            booking_row(n, resource_id, person.id, start.astimezone(UTC), timedelta(hours=1))
            for n, (resource_id, start) in enumerate(booked)
        ],
    )
    db.session.commit()
    venues = [db.session.get(Venue, in_paris.id), db.session.get(Venue, overseas.id)]
    statements = monthly_statements(db.session, venues, OCTOBER)
    found = sorted(
        (line.resource_name, line.starts_at, line.amount_cents) for line in statements.lines
    )
    assert found == [
        ("Four", paris(2026, 10, 1, 0, 30), 1000),
        ("Four", paris(2026, 10, 24, 23, 30), 1000),
        ("Four", paris(2026, 10, 25, 0, 30), 2000),
        ("Presse", there(2026, 10, 14, 21, 0), 1000),
        ("Presse", there(2026, 10, 15, 0, 30), 2000),
        ("Presse", there(2026, 10, 31, 22, 0), 2000),
    ]
    assert [t.amount_cents for t in statements.totals] == [4000, 5000]
