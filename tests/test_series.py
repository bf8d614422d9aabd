"""Recurring series and time zones, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, Status
from booking.rules import Recurrence
from booking.services import (
    BookingError,
    SeriesRequest,
    book_series,
    cancel_series_from,
    preview_series,
)

from .conftest import PARIS, book_as, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 1, 9)


def weekly(resource, member, starts_on, weekdays, start, end, count=None, until=None, **kw):
    return SeriesRequest(
        resource_id=resource.id,
        member_id=member.id,
        actor_id=kw.pop("actor", member).id,
        recurrence=Recurrence("weekly", starts_on, weekdays=weekdays, count=count, until=until),
        local_start=start,
        local_end=end,
        **kw,
    )


def test_weekly_series_keeps_wall_clock_time_across_spring_forward(make):
    venue = make.venue()
    kitchen = make.resource(venue)
    amina = make.user(venue)
    # Tuesdays 14:00–17:00 from 17 March to 7 April 2026: DST starts on 29 March.
    result = book_series(
        weekly(kitchen, amina, date(2026, 3, 17), (1,), time(14), time(17), count=4), NOW
    )
    local = [(r.starts_at.astimezone(PARIS), r.ends_at.astimezone(PARIS)) for r in result.booked]
    assert [(s.date(), s.time(), e.time()) for s, e in local] == [
        (date(2026, 3, 17), time(14), time(17)),
        (date(2026, 3, 24), time(14), time(17)),
        (date(2026, 3, 31), time(14), time(17)),
        (date(2026, 4, 7), time(14), time(17)),
    ]
    # In UTC the start moves by an hour: 13:00Z before the change, 12:00Z after.
    assert [r.starts_at.astimezone(UTC).hour for r in result.booked] == [13, 13, 12, 12]
    assert len({r.uid for r in result.booked}) == 4
    assert all(r.series_id == result.series.id for r in result.booked)


def test_weekly_series_keeps_wall_clock_time_across_fall_back(make):
    venue = make.venue()
    room = make.resource(venue)
    lea = make.user(venue)
    now = paris(2026, 10, 1, 9)
    result = book_series(
        weekly(room, lea, date(2026, 10, 20), (1, 3), time(9), time(10, 30), count=4), now
    )
    starts = [r.starts_at.astimezone(PARIS) for r in result.booked]
    assert [s.strftime("%a %d %H:%M") for s in starts] == [
        "Tue 20 09:00",
        "Thu 22 09:00",
        "Tue 27 09:00",
        "Thu 29 09:00",
    ]
    assert [s.utcoffset().total_seconds() / 3600 for s in starts] == [2, 2, 1, 1]


def test_a_start_in_the_missing_hour_is_refused(make):
    venue = make.venue(hours=[(d, time(0, 30), time(23)) for d in range(7)])
    printer = make.resource(venue)
    lea = make.user(venue)
    occurrences = preview_series(
        SeriesRequest(
            resource_id=printer.id,
            member_id=lea.id,
            actor_id=lea.id,
            recurrence=Recurrence("daily", date(2026, 3, 28), count=3),
            local_start=time(2, 30),
            local_end=time(3, 30),
        ),
        NOW,
    )
    by_day = {o.day: [v.code for v in o.violations] for o in occurrences}
    assert by_day == {
        date(2026, 3, 28): [],
        date(2026, 3, 29): ["nonexistent_time"],
        date(2026, 3, 30): [],
    }


def test_the_repeated_hour_is_read_as_summer_time_and_blocks_correctly(make):
    venue = make.venue(hours=[(d, time(0, 30), time(23)) for d in range(7)])
    printer = make.resource(venue)
    lea, karim = make.user(venue), make.user(venue)
    now = paris(2026, 10, 20, 9)
    # 02:00–03:00 local happens twice on 25 October; "02:30" means the first one (CEST).
    first = book_as(
        printer,
        lea,
        starts_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST
        ends_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET: a real hour
        now=now,
    )
    assert first.ends_at - first.starts_at == datetime(2026, 1, 1, 1) - datetime(2026, 1, 1)
    # The second 02:30 (CET, 01:30Z) follows back to back and is free.
    book_as(
        printer,
        karim,
        starts_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        ends_at=datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
        now=now,
    )
    with pytest.raises(BookingError):
        book_as(
            printer,
            karim,
            starts_at=datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
            ends_at=datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
            now=now,
        )


def test_opening_hours_use_local_days_on_the_change_day(make):
    venue = make.venue(hours=[(6, time(9), time(12))])  # Sundays only
    room = make.resource(venue)
    lea = make.user(venue)
    # 09:00–12:00 local on 29 March is 07:00–10:00Z (CEST), not 08:00–11:00Z.
    book_as(
        room,
        lea,
        starts_at=datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
        now=NOW,
    )
    with pytest.raises(BookingError) as caught:
        book_as(
            room,
            lea,
            starts_at=datetime(2026, 3, 29, 10, 0, tzinfo=UTC),  # 12:00 local: closed
            ends_at=datetime(2026, 3, 29, 10, 30, tzinfo=UTC),
            now=NOW,
        )
    assert [v.code for v in caught.value.violations] == ["outside_hours"]


def test_quota_week_is_the_local_week_across_the_change(make):
    venue = make.venue()
    laser = make.resource(venue, weekly_quota_minutes=120)
    karim = make.user(venue)
    # Monday 30 March 00:30 CEST is Sunday 29 March 22:30Z: a new local week.
    book_as(
        laser,
        karim,
        starts_at=paris(2026, 3, 29, 8),
        ends_at=paris(2026, 3, 29, 10),
        now=NOW,
    )
    with pytest.raises(BookingError):
        book_as(
            laser,
            karim,
            starts_at=paris(2026, 3, 29, 18),
            ends_at=paris(2026, 3, 29, 18, 30),
            now=NOW,
        )
    book_as(
        laser,
        karim,
        starts_at=paris(2026, 3, 30, 8),
        ends_at=paris(2026, 3, 30, 10),
        now=NOW,
    )


def test_preview_shows_free_and_conflicting_dates_then_books_the_free_ones(make):
    venue = make.venue()
    kitchen = make.resource(venue)
    amina, samir = make.user(venue), make.user(venue)
    book_as(
        kitchen,
        samir,
        starts_at=paris(2026, 3, 17, 15),
        ends_at=paris(2026, 3, 17, 16),
        now=NOW,
    )
    spec = weekly(kitchen, amina, date(2026, 3, 10), (1,), time(14), time(17), count=3)
    preview = preview_series(spec, NOW)
    assert [(o.day, o.is_free) for o in preview] == [
        (date(2026, 3, 10), True),
        (date(2026, 3, 17), False),
        (date(2026, 3, 24), True),
    ]
    assert [v.code for v in preview[1].violations] == ["capacity"]
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1  # preview wrote nothing
    result = book_series(spec, NOW)
    assert [r.starts_at.astimezone(PARIS).date() for r in result.booked] == [
        date(2026, 3, 10),
        date(2026, 3, 24),
    ]
    assert [o.day for o in result.skipped] == [date(2026, 3, 17)]


def test_occurrences_of_one_series_count_against_each_other(make):
    venue = make.venue()
    laser = make.resource(venue, weekly_quota_minutes=180)
    karim = make.user(venue)
    spec = SeriesRequest(
        resource_id=laser.id,
        member_id=karim.id,
        actor_id=karim.id,
        recurrence=Recurrence("daily", date(2026, 3, 2), count=3),  # Mon, Tue, Wed
        local_start=time(10),
        local_end=time(11, 30),
    )
    assert [o.is_free for o in preview_series(spec, NOW)] == [True, True, False]


def test_dates_past_the_horizon_are_left_aside_with_the_reason(make):
    venue = make.venue()
    room = make.resource(venue, horizon_days=20)
    lea = make.user(venue)
    spec = weekly(room, lea, date(2026, 3, 2), (0,), time(10), time(11), until=date(2026, 4, 6))
    preview = preview_series(spec, NOW)
    assert [(o.day, o.is_free) for o in preview] == [
        (date(2026, 3, 2), True),
        (date(2026, 3, 9), True),
        (date(2026, 3, 16), True),
        (date(2026, 3, 23), False),
        (date(2026, 3, 30), False),
        (date(2026, 4, 6), False),
    ]
    assert {v.code for o in preview[3:] for v in o.violations} == {"horizon"}
    assert preview[3].violations[0].params["last_day"] == date(2026, 3, 21)

    result = book_series(spec, NOW)
    assert len(result.booked) == 3
    assert [o.day for o in result.skipped] == [
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 4, 6),
    ]


def test_cancel_one_occurrence_or_this_and_all_later(make):
    venue = make.venue()
    kitchen = make.resource(venue)
    amina = make.user(venue)
    result = book_series(
        weekly(kitchen, amina, date(2026, 3, 3), (1,), time(14), time(17), count=5), NOW
    )
    ids = [r.id for r in result.booked]
    from booking.services import cancel

    cancel(ids[1], amina.id, "", NOW)
    cancelled = cancel_series_from(ids[3], amina.id, "Fin de l'atelier", NOW)
    assert [r.id for r in cancelled] == ids[3:]
    statuses = [db.session.get(Reservation, i).status for i in ids]
    assert statuses == [
        Status.CONFIRMED,
        Status.CANCELLED,
        Status.CONFIRMED,
        Status.CANCELLED,
        Status.CANCELLED,
    ]


def test_a_series_with_no_free_date_books_nothing(make):
    venue = make.venue(hours=[(0, time(9), time(12))])
    room = make.resource(venue)
    lea = make.user(venue)
    spec = weekly(room, lea, date(2026, 3, 3), (1,), time(9), time(10), count=2)  # Tuesdays: closed
    with pytest.raises(BookingError) as caught:
        book_series(spec, NOW)
    assert [v.code for v in caught.value.violations] == ["series_empty"]
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_a_series_whose_every_date_is_taken_is_a_conflict(make):
    venue = make.venue()
    room = make.resource(venue)
    lea, karim = make.user(venue), make.user(venue)
    for day in (3, 10):
        book_as(
            room, karim, starts_at=paris(2026, 3, day, 9), ends_at=paris(2026, 3, day, 11), now=NOW
        )
    spec = weekly(room, lea, date(2026, 3, 3), (1,), time(10), time(11), count=2)
    with pytest.raises(BookingError) as caught:
        book_series(spec, NOW)
    assert [v.code for v in caught.value.violations] == ["series_taken"]
    assert caught.value.is_conflict
