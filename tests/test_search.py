"""Finding a free slot across resources and venues: every rule of the engine honoured, slots
that only the person cannot book shown as such, and a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation
from booking.services.availability.search import SearchQuery, find_free_slots, folded

from .conftest import book_as, paris, whole_day
from .support.network import two_cooperatives
from .support.sql import booking_row, statements

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 2, 9)  # Monday 2 March 2026, 9:00
TUESDAY = date(2026, 3, 3)
AFTERNOON = (time(12), time(18))


@pytest.fixture
def network(make) -> dict:
    return two_cooperatives(make)


def search(who, **fields):
    query = SearchQuery(**{"first_day": TUESDAY, "last_day": TUESDAY, **fields})
    user_id = who if isinstance(who, int) or who is None else who.id
    return find_free_slots(db.session, query, user_id, NOW)


def times(result) -> list[tuple[str, str, str]]:
    return [
        (s.resource.slug, f"{s.starts_at:%a %H:%M}", f"{s.ends_at:%H:%M}") for s in result.slots
    ]


def test_a_coworking_seat_for_tomorrow_afternoon(network):
    samir = network["samir"]
    book_as(
        network["cowork"],
        network["lea"],
        starts_at=paris(2026, 3, 3, 12),
        ends_at=paris(2026, 3, 3, 15),
        seats=3,
        now=NOW,
    )
    result = search(samir, words="coworking", after=AFTERNOON[0], before=AFTERNOON[1])
    assert times(result)[:3] == [
        ("coworking", "Tue 12:00", "13:00"),
        ("coworking", "Tue 13:00", "14:00"),
        ("coworking", "Tue 14:00", "15:00"),
    ]
    assert [s.free_seats for s in result.slots[:4]] == [5, 5, 5, 8]
    assert all(s.bookable for s in result.slots)
    # What is offered, the engine accepts.
    first = result.slots[0]
    book_as(network["cowork"], samir, starts_at=first.starts_at, ends_at=first.ends_at, now=NOW)


def test_words_match_names_whatever_the_accents_case_and_hyphens(network):
    samir = network["samir"]
    for words in ("co-working", "Co Working", "COWORKING", "espace", "mons fabrica cowork"):
        assert {s.resource.slug for s in search(samir, words=words).slots} == {"coworking"}, words
    assert folded("Découpeuse — labo140") == "decoupeuse labo140"
    assert search(network["lea"], words="imprimante 3d").slots[0].resource.slug == "imprimante"
    assert not search(samir, words="piscine").slots


def test_a_member_searches_their_own_venues_unless_they_name_another(network):
    samir = network["samir"]
    assert {s.resource.venue_id for s in search(samir).slots} == {network["illicoop"].id}
    named = search(samir, venue_slug="la-cape")
    assert {s.resource.slug for s in named.slots} == {"laser", "imprimante"}
    # Not a member there: each slot says so, none is hidden.
    assert all({v.code for v in s.obstacles} >= {"no_role"} for s in named.slots)
    assert [name for name, _ in named.contacts[network["cape"].id]] == ["Thomas Leroy"]


def test_a_missing_training_is_shown_with_whom_to_ask(network):
    result = search(network["lea"], words="laser")
    assert result.slots
    assert all([v.code for v in s.obstacles] == ["qualification"] for s in result.slots)
    assert result.contacts == {network["cape"].id: [("Thomas Leroy", "thomas@example.org")]}
    network["laser"].qualification_id = network["training"].id
    make_grant = __import__("booking.models", fromlist=["QualificationGrant"]).QualificationGrant
    db.session.add(make_grant(user_id=network["lea"].id, qualification_id=network["training"].id))
    db.session.commit()
    trained = search(network["lea"], words="laser")
    assert trained.slots and all(s.bookable for s in trained.slots)
    assert trained.contacts == {}


def test_visitors_see_public_slots_without_names(network):
    result = search(None, words="laser")
    assert result.slots
    assert all({v.code for v in s.obstacles} == {"no_role", "qualification"} for s in result.slots)
    assert result.contacts == {}


def test_every_rule_of_the_engine_is_honoured(network, make):
    samir, room = network["samir"], network["room"]
    # Capacity and buffer: the room is taken 13:00-14:00, then held 15 minutes.
    book_as(
        room,
        network["lea"],
        starts_at=paris(2026, 3, 3, 13),
        ends_at=paris(2026, 3, 3, 14),
        now=NOW,
    )
    slots = search(samir, words="reunion", after=time(12), before=time(16)).slots
    # 12:00-13:00 would need the room until 13:15: only after 14:15, on the half hour.
    assert [(f"{s.starts_at:%H:%M}", f"{s.ends_at:%H:%M}") for s in slots] == [("14:30", "15:30")]
    earlier = search(samir, words="reunion", after=time(11), before=time(13)).slots
    assert [(f"{s.starts_at:%H:%M}", f"{s.ends_at:%H:%M}") for s in earlier] == [("11:00", "12:00")]
    # Hours: nothing after 19:00; the last slot ends at closing time.
    evening = search(samir, words="reunion", after=time(17)).slots
    assert [f"{s.ends_at:%H:%M}" for s in evening][-1] == "19:00"
    # Notice (two hours) and the past: today from 11:00 only.
    today = search(samir, words="reunion", first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    assert f"{today.slots[0].starts_at:%H:%M}" == "11:00"
    # Closures.
    make.closure(network["illicoop"], *whole_day(TUESDAY), "Travaux")
    assert not search(samir).slots
    # Horizon: 90 days by default in these resources? The factory gives 365; a short one:
    room.horizon_days = 2
    db.session.commit()
    later = search(samir, words="reunion", first_day=date(2026, 3, 4), last_day=date(2026, 3, 6))
    assert {s.starts_at.date() for s in later.slots} == {date(2026, 3, 4)}


def test_a_request_a_resource_cannot_answer_is_said(network):
    result = search(network["samir"], minutes=30)  # the co-working takes an hour at least
    assert [(b.slug, v.code) for b, v in result.unfit] == [("coworking", "too_short")]
    assert {s.resource.slug for s in result.slots} == {"reunion"}
    seats = search(network["samir"], seats=3)
    assert [(b.slug, v.code) for b, v in seats.unfit] == [("reunion", "seats_over_capacity")]


def test_the_weekly_quota_used_up_is_shown(network, make):
    cowork = network["cowork"]
    cowork.weekly_quota_minutes = 120
    db.session.commit()
    samir = network["samir"]
    book_as(cowork, samir, starts_at=paris(2026, 3, 2, 14), ends_at=paris(2026, 3, 2, 16), now=NOW)
    result = search(samir, words="coworking")
    assert result.slots and all([v.code for v in s.obstacles] == ["quota"] for s in result.slots)
    next_week = search(
        samir, words="coworking", first_day=date(2026, 3, 9), last_day=date(2026, 3, 9)
    )
    assert all(s.bookable for s in next_week.slots)


def test_nearest_first_and_at_most_thirty(network):
    result = search(network["lea"], first_day=TUESDAY, last_day=date(2026, 3, 13))
    starts = [s.starts_at for s in result.slots]
    assert starts == sorted(starts)
    assert len(result.slots) == 30 and result.truncated


def test_managers_and_administrators_see_slots_they_may_book(network, make):
    admin = make.user(is_admin=True)
    slots = search(admin, words="laser").slots
    assert slots and all(s.bookable for s in slots)


def add_history(resources: list[tuple[int, int]], user_id: int, count: int) -> None:
    """``count`` bookings of the (id, capacity) resources, back from Tuesday 3 March."""
    rows = []
    for n in range(count):
        start = (paris(2026, 3, 3, 9) - timedelta(days=n // 4)).astimezone(UTC)
        resource_id, capacity = resources[n % len(resources)]
        rows.append(
            booking_row(
                n,
                resource_id,
                user_id,
                start + timedelta(hours=2 * (n % 4)),
                timedelta(hours=1),
                exclusive=capacity == 1,
            )
        )
    db.session.execute(sa.insert(Reservation), rows)
    db.session.commit()


def test_a_search_costs_the_same_queries_however_many_bookings_exist(network):
    network["cowork"].weekly_quota_minutes = 600
    db.session.commit()
    resources = [(network["cowork"].id, 8), (network["room"].id, 1)]
    lea_id, samir_id = network["lea"].id, network["samir"].id
    week = {"first_day": TUESDAY, "last_day": date(2026, 3, 9)}

    def count() -> int:
        db.session.remove()
        with statements() as sent:
            result = search(lea_id, **week)
        assert result.slots
        return len(sent)

    add_history(resources, samir_id, 800)
    many = count()
    db.session.execute(sa.delete(Reservation))
    db.session.commit()
    add_history(resources, lea_id, 8)
    few = count()
    # The viewer, the resources, their hours and closures, their bookings, the quota
    # minutes, the managers to ask.
    assert few == many <= 7
