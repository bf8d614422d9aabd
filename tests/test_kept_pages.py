"""The week and resource pages are kept between views, and never show anything out of date.

booking.presentation.fragments keeps their content while the venue's or the
resource's stamp and the minute stay the same. Each test here looks at a page,
changes one thing the page shows (as a manager or the booking engine would, or
by hand in the database: the triggers see every write), then looks again in the
same minute: the change shows at once. On both databases, whose triggers differ.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import OpeningPeriod, Qualification, Resource, ResourceKind, Venue
from booking.presentation import fragments, weeks
from booking.services.availability import week as availability
from booking.services.keeping import MinuteStore

from .conftest import book_as, paris
from .support.pages import text_of

pytestmark = pytest.mark.postgres

WEEK = "/venues/fabrique/week"
PAGE = "/resources/coworking"


@pytest.fixture
def place(make, clock):
    venue = make.venue(
        slug="fabrique", name="La Fabrique", hours=[(d, time(9), time(18)) for d in range(7)]
    )
    cowork = make.resource(
        venue, slug="coworking", name="Co-working", kind=ResourceKind.SPACE, capacity=8
    )
    member = make.user(venue, email="membre@example.org")
    return {"venue": venue, "cowork": cowork, "member": member, "clock": clock}


def seen(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return text_of(response)


def both(client) -> tuple[str, str]:
    return seen(client, WEEK), seen(client, PAGE)


def test_seen_twice_the_pages_are_the_same_and_kept(client, place):
    assert both(client) == both(client)
    kept = client.application.extensions[fragments.EXTENSION]
    assert len(kept.items) == 2


def test_a_booking_shows_at_once(client, place):
    before_week, before_page = both(client)
    assert "8 places libres sur 8" in before_page
    clock = place["clock"]
    book_as(
        place["cowork"],
        place["member"],
        starts_at=paris(2026, 3, 2, 10),
        ends_at=paris(2026, 3, 2, 12),
        now=clock.now,
        seats=3,
    )
    week, page = both(client)
    assert "5 places libres sur 8" in page
    assert "5 places libres sur 8" in week
    assert "5 places libres sur 8" not in before_week


def test_a_time_taken_shows_at_once_with_its_waiting_list_link(client, place):
    """The link is the same for everyone (a visitor's leads to the login first), so the
    kept content stays the same for all who look in that minute."""
    link = "/waitlist/new?resource=coworking&day=2026-03-02&start=10:00&end=12:00&seats=1"
    assert link not in both(client)[1]
    clock = place["clock"]
    book_as(
        place["cowork"],
        place["member"],
        starts_at=paris(2026, 3, 2, 10),
        ends_at=paris(2026, 3, 2, 12),
        now=clock.now,
        seats=8,
    )
    week, page = both(client)
    assert link in week and link in page


def test_a_closure_shows_at_once(client, make, place):
    both(client)
    make.closure(place["venue"], paris(2026, 3, 4, 0), paris(2026, 3, 5, 0), "Inventaire")
    week, page = both(client)
    assert "Inventaire" in week
    assert "Inventaire" in page


def test_a_rule_changed_shows_at_once(client, place):
    both(client)
    db.session.execute(sa.update(Resource).where(Resource.slug == "coworking").values(capacity=10))
    db.session.commit()
    week, page = both(client)
    assert "10 places libres sur 10" in week
    assert "Jusqu’à 10 personnes peuvent l’utiliser en même temps." in page


def test_the_venue_hours_changed_show_at_once(client, place):
    assert "de 9 h à 18 h" in seen(client, PAGE)
    seen(client, WEEK)
    db.session.execute(
        sa.update(OpeningPeriod)
        .where(OpeningPeriod.venue_id == place["venue"].id)
        .values(opens_at=time(7))
    )
    db.session.commit()
    week, page = both(client)
    assert "de 7 h à 18 h" in page
    assert "07:00–18:00" in week


def test_hours_of_its_own_show_at_once(client, place):
    both(client)
    db.session.add(
        OpeningPeriod(
            resource_id=place["cowork"].id, weekday=0, opens_at=time(14), closes_at=time(16)
        )
    )
    db.session.commit()
    week, page = both(client)
    assert "Cette ressource a ses propres horaires." in page
    assert "14:00–16:00" in week


def test_a_training_renamed_shows_at_once(client, make, place):
    training = make.qualification("Accueil co-working", venue=place["venue"])
    place["cowork"].qualification = training
    db.session.commit()
    assert "« Accueil co-working »" in seen(client, PAGE)
    db.session.execute(
        sa.update(Qualification).where(Qualification.id == training.id).values(name="Visite")
    )
    db.session.commit()
    assert "« Visite »" in seen(client, PAGE)


def test_the_venue_renamed_shows_at_once(client, place):
    both(client)
    db.session.execute(sa.update(Venue).where(Venue.slug == "fabrique").values(name="La Forge"))
    db.session.commit()
    week, page = both(client)
    assert "La Forge" in week and "La Fabrique" not in week
    assert "La Forge" in page and "La Fabrique" not in page


def test_the_venues_phone_changed_shows_at_once_on_the_resource_page(client, place):
    seen(client, PAGE)
    db.session.execute(
        sa.update(Venue).where(Venue.slug == "fabrique").values(phone="03 20 11 22 33")
    )
    db.session.commit()
    assert 'href="tel:0320112233"' in client.get(PAGE).get_data(as_text=True)


def test_a_resource_added_or_retired_shows_at_once(client, make, place):
    seen(client, WEEK)
    make.resource(place["venue"], slug="laser", name="Découpeuse laser")
    assert "Découpeuse laser" in seen(client, WEEK)
    db.session.execute(sa.update(Resource).where(Resource.slug == "laser").values(is_active=False))
    db.session.commit()
    assert "Découpeuse laser" not in seen(client, WEEK)


def test_time_passing_moves_the_free_times(client, place):
    clock = place["clock"]
    # 9:00: the day's free time is offered from its start; at 10:30, from 10:30.
    assert "day=2026-03-02&amp;start=09:00&amp;" in client.get(PAGE).get_data(as_text=True)
    clock.set(clock.now + timedelta(minutes=90))
    page = client.get(PAGE).get_data(as_text=True)
    assert "day=2026-03-02&amp;start=10:30&amp;" in page
    assert "day=2026-03-02&amp;start=09:00&amp;" not in page


def test_visitors_members_and_languages_each_see_their_own(client, auth, place):
    visitor = seen(client, PAGE)
    assert "On vous demandera d’abord de vous connecter." in visitor
    auth.login("membre@example.org")
    member = seen(client, PAGE)
    assert "On vous demandera d’abord de vous connecter." not in member
    client.get("/lang/en")
    english = seen(client, PAGE)
    assert "The rules, in plain words" in english
    auth.logout()
    assert "You will be asked to log in first." in seen(client, PAGE)


# --- what a process keeps, and for how long -------------------------------------------------


def kept_stores(client) -> dict[str, MinuteStore]:
    return {
        "page parts": client.application.extensions[fragments.EXTENSION],
        "weeks worked out": availability._PLANS,
        "days worded": weeks._WORDED,
        "weeks in HTML": weeks._RENDERED,
    }


def test_what_is_kept_goes_when_its_minute_has_passed(client, place):
    """Each booking makes a new version of the week, kept for the minute; none of them is
    of any use once the minute has passed, and none is left (a busy site would otherwise
    fill every worker's memory with weeks that nobody can see any more)."""
    stores = kept_stores(client)
    for store in stores.values():
        store.clear()
    clock = place["clock"]
    both(client)
    one_view = {name: len(store.items) for name, store in stores.items()}
    assert all(one_view.values()), one_view
    for hour in range(10, 16):
        book_as(
            place["cowork"],
            place["member"],
            starts_at=paris(2026, 3, 3, hour),
            ends_at=paris(2026, 3, 3, hour, 30),
            now=clock.now,
        )
        both(client)
    busy_minute = {name: len(store.items) for name, store in stores.items()}
    assert all(busy_minute[name] > one_view[name] for name in stores), busy_minute
    clock.set(clock.now + timedelta(minutes=1))
    both(client)
    assert {name: len(store.items) for name, store in stores.items()} == one_view


def test_a_store_keeps_within_its_budget() -> None:
    minute = paris(2026, 3, 2, 9, 0)
    store: MinuteStore[bytes] = MinuteStore(max_items=3, max_bytes=1000, size=len)
    for n in range(5):
        store.keep(minute, n, b"x" * 100)
    assert list(store.items) == [2, 3, 4]  # the least recently used went first
    assert store.get(minute, 2) == b"x" * 100
    store.keep(minute, "large", b"x" * 900)  # 2 was just used: 3 and 4 go
    assert list(store.items) == [2, "large"] and store.bytes == 1000
    store.keep(minute, "too large", b"x" * 1001)  # larger than the budget: not kept
    assert list(store.items) == [2, "large"]
    assert store.get(minute + timedelta(minutes=1), "large") is None
    store.keep(minute + timedelta(minutes=1), "next", b"y")
    assert list(store.items) == ["next"] and store.bytes == 1
