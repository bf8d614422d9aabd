"""A week as free and taken ranges: seats counted at the busiest moment (buffer included),
bookings shown even outside the hours, and free times that the engine accepts."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from booking.extensions import db
from booking.models import ResourceKind
from booking.services import BookingError, cancel
from booking.services.availability.week import plans

from .conftest import book_as, paris, whole_day

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 2, 9)  # Monday 2 March 2026, 9:00
TUESDAY = date(2026, 3, 3)
COWORKING_HOURS = [(d, time(8, 30), time(19)) for d in range(5)]


def day_of(resource, day: date, now=NOW):
    (plan,) = plans(db.session, day, now, slug=resource.slug, days=1)
    return plan.days[0]


def summary(day_plan) -> list[tuple[str, str, int]]:
    return [
        (f"{r.starts_at:%H:%M}-{r.ends_at:%H:%M}", r.state, r.free_seats) for r in day_plan.ranges
    ]


def test_seats_left_are_counted_at_the_busiest_moment(make):
    venue = make.venue(hours=COWORKING_HOURS)
    cowork = make.resource(venue, kind=ResourceKind.SPACE, capacity=8, min_duration_minutes=60)
    people = [make.user(venue) for _ in range(4)]
    for who, (start, end), seats in zip(
        people,
        [((9, 0), (12, 0)), ((10, 0), (11, 0)), ((11, 30), (14, 0)), ((16, 0), (17, 0))],
        [2, 3, 1, 8],
        strict=True,
    ):
        book_as(
            cowork,
            who,
            starts_at=paris(2026, 3, 3, *start),
            ends_at=paris(2026, 3, 3, *end),
            seats=seats,
            now=NOW,
        )
    # By hand: 2 seats from 9:00, 5 from 10:00 to 11:00, 2 again, 3 from 11:30 to 12:00,
    # 1 until 14:00: the busiest moment of 9:00-14:00 uses 5 of the 8 seats.
    assert summary(day_of(cowork, TUESDAY)) == [
        ("08:30-09:00", "free", 8),
        ("09:00-14:00", "partial", 3),
        ("14:00-16:00", "free", 8),
        ("16:00-17:00", "full", 0),
        ("17:00-19:00", "free", 8),
    ]


def test_the_buffer_counts_in_the_seats(make):
    venue = make.venue(hours=COWORKING_HOURS)
    room = make.resource(
        venue, kind=ResourceKind.SPACE, capacity=8, buffer_minutes=30, slot_minutes=15
    )
    amina, samir = make.user(venue), make.user(venue)
    book_as(
        room, amina, starts_at=paris(2026, 3, 3, 9), ends_at=paris(2026, 3, 3, 10), seats=2, now=NOW
    )
    book_as(
        room,
        samir,
        starts_at=paris(2026, 3, 3, 10, 15),
        ends_at=paris(2026, 3, 3, 11),
        seats=3,
        now=NOW,
    )
    # Amina's seats are held until 10:30 (cleaning), Samir's from 10:15: five at once.
    assert summary(day_of(room, TUESDAY))[1] == ("09:00-11:30", "partial", 3)


def test_a_taken_range_says_when_it_is_free_again(make):
    venue = make.venue(hours=COWORKING_HOURS)
    kitchen = make.resource(venue, kind=ResourceKind.SPACE, buffer_minutes=30)
    amina = make.user(venue)
    book_as(kitchen, amina, starts_at=paris(2026, 3, 3, 10), ends_at=paris(2026, 3, 3, 12), now=NOW)
    taken = day_of(kitchen, TUESDAY).ranges[1]
    assert (taken.state, f"{taken.starts_at:%H:%M}", f"{taken.ends_at:%H:%M}") == (
        "full",
        "10:00",
        "12:30",
    )
    assert f"{taken.in_use_until:%H:%M}" == "12:00"
    assert taken.pick is None


def test_a_booking_outside_the_hours_still_shows(make):
    venue = make.venue(hours=COWORKING_HOURS)  # closed at the weekend
    room = make.resource(venue)
    manager, member = make.manager(venue), make.user(venue)
    sunday = date(2026, 3, 8)
    book_as(
        room,
        member,
        actor=manager,
        starts_at=paris(2026, 3, 8, 10),
        ends_at=paris(2026, 3, 8, 12),
        overrides=frozenset({"hours"}),
        now=NOW,
    )
    ranges = day_of(room, sunday).ranges
    assert [(f"{r.starts_at:%H:%M}", r.state, r.opening) for r in ranges] == [
        ("10:00", "full", False)
    ]


def test_a_closed_day_shows_its_reason_and_its_bookings_but_no_free_time(make):
    venue = make.venue(hours=COWORKING_HOURS)
    room = make.resource(venue)
    member = make.user(venue)
    book_as(room, member, starts_at=paris(2026, 3, 3, 10), ends_at=paris(2026, 3, 3, 11), now=NOW)
    make.closure(venue, *whole_day(TUESDAY), "Inventaire")
    day = day_of(room, TUESDAY)
    assert day.closed_reason == "Inventaire"
    assert [(r.state, r.pick) for r in day.ranges] == [("full", None)]


def test_free_times_honour_notice_horizon_and_length(make):
    venue = make.venue(hours=COWORKING_HOURS)
    room = make.resource(
        venue, min_notice_minutes=60, horizon_days=3, min_duration_minutes=60, slot_minutes=30
    )
    member = make.user(venue)
    # A half-hour gap between two bookings: too short to book.
    book_as(
        room, member, starts_at=paris(2026, 3, 3, 8, 30), ends_at=paris(2026, 3, 3, 12), now=NOW
    )
    book_as(
        room, member, starts_at=paris(2026, 3, 3, 12, 30), ends_at=paris(2026, 3, 3, 19), now=NOW
    )
    (plan,) = plans(db.session, date(2026, 3, 2), NOW, slug=room.slug)
    monday, tuesday = plan.days[0], plan.days[1]
    # Notice: an hour from 9:00.
    assert monday.ranges[0].pick is not None
    assert f"{monday.ranges[0].pick[0]:%H:%M}" == "10:00"
    assert [r.pick for r in tuesday.ranges if r.state == "free"] == [None]
    # The horizon ends on Thursday 5 March: nothing to pick from Friday.
    assert any(r.pick for r in plan.days[3].ranges)
    assert not any(r.pick for d in plan.days[4:] for r in d.ranges)


def test_every_free_time_offered_is_accepted_by_the_engine(make):
    venue = make.venue(
        hours=[(d, time(9), time(12, 30)) for d in range(6)]
        + [(d, time(13, 30), time(19)) for d in range(5)]
    )
    kitchen = make.resource(
        venue,
        kind=ResourceKind.SPACE,
        buffer_minutes=30,
        min_duration_minutes=60,
        max_duration_minutes=240,
        min_notice_minutes=24 * 60,
        horizon_days=5,
    )
    amina, karim = make.user(venue), make.user(venue)
    for day, start, end in [(3, 10, 12), (4, 14, 15), (5, 9, 11), (6, 16, 18)]:
        book_as(
            kitchen,
            karim,
            starts_at=paris(2026, 3, day, start),
            ends_at=paris(2026, 3, day, end),
            now=NOW,
        )
    (plan,) = plans(db.session, date(2026, 3, 2), NOW, slug=kitchen.slug)
    picks = [r.pick for d in plan.days for r in d.ranges if r.pick]
    assert len(picks) >= 8
    for start, end in picks:
        reservation = book_as(kitchen, amina, starts_at=start, ends_at=end, now=NOW)
        cancel(reservation.id, amina.id, "", NOW)
    # And what is not offered is refused: right after a booking, in its cleaning time.
    with pytest.raises(BookingError):
        book_as(
            kitchen, amina, starts_at=paris(2026, 3, 3, 12), ends_at=paris(2026, 3, 3, 13), now=NOW
        )


def test_a_shared_free_time_runs_on_while_a_seat_stays_free(make):
    venue = make.venue(hours=COWORKING_HOURS)
    cowork = make.resource(
        venue,
        kind=ResourceKind.SPACE,
        capacity=8,
        min_duration_minutes=60,
        max_duration_minutes=630,
    )
    member = make.user(venue)
    book_as(cowork, member, starts_at=paris(2026, 3, 3, 9), ends_at=paris(2026, 3, 3, 17), now=NOW)
    first = day_of(cowork, TUESDAY).ranges[0]
    # Free 8:30-9:00 alone is too short, but a seat stays free all day long.
    assert (f"{first.pick[0]:%H:%M}", f"{first.pick[1]:%H:%M}") == ("08:30", "19:00")
    assert first.pick[1] - first.pick[0] == timedelta(hours=10, minutes=30)
