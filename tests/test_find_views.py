"""Finding and booking a free slot through the pages: the search, the weeks with seats left,
free times to tap, the booking form's rough edges, the cancel step, My bookings and home."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, Status

from .conftest import book_as, paris
from .support.network import two_cooperatives
from .support.pages import text_of

pytestmark = pytest.mark.usefixtures("clock")

NOW = paris(2026, 3, 2, 9)  # the clock fixture's Monday 2 March 2026, 9:00


@pytest.fixture
def place(make) -> dict:
    return two_cooperatives(make)


def samirs_tuesday_afternoon(place: dict):  # type: ignore[no-untyped-def]
    """Samir's co-working seat on Tuesday 3 March, 14:00 to 17:00."""
    return book_as(
        place["cowork"],
        place["samir"],
        starts_at=paris(2026, 3, 3, 14),
        ends_at=paris(2026, 3, 3, 17),
        now=NOW,
    )


def links_to_the_form(html: str) -> list[str]:
    return re.findall(r'href="(/reservations/new\?[^"]+)"', html)


# --- the search ---------------------------------------------------------------------


def test_visitors_search_public_slots_and_are_asked_to_log_in(client, place):
    response = client.get("/search?q=cowork&when=tomorrow&part=afternoon")
    assert response.status_code == 200
    page = text_of(response)
    assert "Espace de co-working" in page and "8 places libres sur 8" in page
    assert "Se connecter pour réserver" in page
    assert "/login?next=%2Freservations%2Fnew%3Fresource%3Dcoworking" in page
    assert "Samir" not in page and "Claire" not in page  # no names for visitors
    laser = text_of(client.get("/search?q=laser&when=week"))
    assert "Formation requise" in laser and "Thomas" not in laser


def test_a_member_finds_a_seat_and_its_link_opens_the_form_filled_in(client, auth, place):
    book_as(
        place["cowork"],
        place["lea"],
        starts_at=paris(2026, 3, 3, 12),
        ends_at=paris(2026, 3, 3, 14),
        seats=3,
        now=NOW,
    )
    auth.login("samir@example.org")
    page = text_of(client.get("/search?q=co-working&when=tomorrow&part=afternoon&seats=2"))
    assert "mardi 3 mars 2026" in page
    assert "12:00–13:00" in page and "5 places libres sur 8" in page
    first = links_to_the_form(page)[0]
    assert "day=2026-03-03" in first and "start=12:00" in first and "end=13:00" in first
    assert "seats=2" in first
    form = text_of(client.get(first.replace("&amp;", "&")))
    assert 'value="2026-03-03"' in form and 'value="12:00"' in form and 'value="13:00"' in form
    assert re.search(r'name="seats"[^>]*value="2"', form)


def test_the_search_tells_whom_to_ask_for_a_missing_training(client, auth, place):
    auth.login("lea@example.org")
    page = text_of(client.get("/search?q=laser&when=week"))
    assert "Formation sécurité découpe laser" in page
    assert "Thomas Leroy" in page and "mailto:thomas@example.org" in page
    assert "Formation requise" in page
    assert not links_to_the_form(page)  # nothing offered that cannot succeed


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("when=dates&first=2026-03-10&last=2026-03-05", "last", "avant le premier"),
        ("when=dates&first=2026-03-10&last=2026-04-10", "last", "14 jours au plus"),
        ("when=dates", "first", "Choisissez le premier jour"),
        ("part=hours&after=15:00&before=10:00", "before", "avant le début"),
        ("part=hours", "after", "Indiquez une heure"),
        ("q=%00", "q", "caractères invisibles"),
        ("venue=nowhere", "venue", "dans la liste"),
        ("seats=0", "seats", "Entre 1 et 50"),
        ("minutes=7", "minutes", "Choisissez une durée dans la liste"),
        ("minutes=soixante", "minutes", "Choisissez une durée dans la liste"),
    ],
)
def test_a_wrong_search_is_told_next_to_its_field(client, place, query, field, message):
    response = client.get(f"/search?{query}")
    assert response.status_code == 422
    page = text_of(response)
    assert f'id="{field}-error"' in page
    assert message in page


def test_a_link_may_name_only_what_matters(client, place):
    response = client.get("/search?q=laser")
    assert response.status_code == 200
    assert "Découpeuse laser" in text_of(response)


# --- weeks with seats left and free times to tap --------------------------------------


def test_the_resource_page_shows_its_week_with_free_times_to_tap(client, place):
    page = text_of(client.get("/resources/coworking"))
    assert "Créneaux libres et pris" in page
    assert "lundi 2 mars" in page and "Ouvert 08:30–19:00" in page
    link = next(
        link for link in links_to_the_form(page) if "day=2026-03-03" in link.replace("&amp;", "&")
    )
    assert "start=08:30" in link and "end=19:00" in link


def test_the_venue_week_counts_seats_at_the_busiest_moment(client, place):
    cowork, samir, lea = place["cowork"], place["samir"], place["lea"]
    for who, start, end, seats in [(samir, 9, 12, 2), (lea, 10, 11, 3)]:
        book_as(
            cowork,
            who,
            starts_at=paris(2026, 3, 4, start),
            ends_at=paris(2026, 3, 4, end),
            seats=seats,
            now=NOW,
        )
    page = text_of(client.get("/venues/illicoop/week"))
    # 2 seats from 9:00 to 12:00 and 3 more from 10:00 to 11:00: 5 at the busiest moment.
    assert re.search(r"09:00–12:00\s*</span>\s*<span[^>]*>\s*3 places libres sur 8", page)
    assert "Samir" not in page and "Léa" not in page


def test_a_booking_outside_the_hours_and_an_autumn_time_show_in_the_week(client, place, clock):
    clock.set(paris(2026, 10, 20, 9))
    laser, thomas, karim = place["laser"], place["thomas"], place["lea"]
    # Sunday 25 October 2026: the clocks go back from 3:00 to 2:00, and the venue is closed.
    book_as(
        laser,
        karim,
        actor=thomas,
        starts_at=paris(2026, 10, 25, 1, 30),
        ends_at=paris(2026, 10, 25, 2, 30),
        overrides=frozenset({"hours", "qualification"}),
        now=paris(2026, 10, 20, 9),
    )
    page = text_of(client.get("/venues/la-cape/week?week=2026-10-19"))
    assert "dimanche 25 octobre" in page
    assert "01:30–02:30 (UTC+2)" in page  # the first of the two 2:30, summer time
    assert "hors des horaires d’ouverture" in page


# --- the booking form ---------------------------------------------------------------------


def test_the_form_does_not_start_on_a_closed_day(client, auth, place, clock, make):
    clock.set(paris(2026, 3, 7, 9))  # a Saturday: closed at the weekend
    make.closure(place["illicoop"], paris(2026, 3, 9, 0), paris(2026, 3, 10, 0))
    auth.login("samir@example.org")
    page = text_of(client.get("/reservations/new?resource=coworking"))
    assert re.search(r'name="day"[^>]*value="2026-03-10"', page)  # Tuesday: the first open day


def test_no_form_for_a_resource_of_a_venue_no_longer_open_to_bookings(client, auth, place):
    place["illicoop"].is_active = False
    db.session.commit()
    auth.login("samir@example.org")
    assert client.get("/reservations/new?resource=coworking").status_code == 404


def test_moving_to_another_week_keeps_what_was_typed(client, auth, place):
    auth.login("samir@example.org")
    typed = {"day": "2026-03-03", "start": "10:00", "end": "12:00", "purpose": "Dossier FSE"}
    response = client.post(
        "/reservations/new?resource=coworking", data={**typed, "week": "2026-03-09"}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Dossier FSE" in page and 'value="10:00"' in page
    assert "lundi 9 mars" in page and "lundi 2 mars" not in page
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_tapping_a_free_time_in_the_form_fills_it_in(client, auth, place):
    auth.login("samir@example.org")
    response = client.post(
        "/reservations/new?resource=coworking",
        data={
            "day": "",
            "start": "",
            "end": "",
            "purpose": "Dossier",
            "pick": "2026-03-04T14:00/16:30",
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    assert 'value="2026-03-04"' in page and 'value="14:00"' in page and 'value="16:30"' in page
    assert "Dossier" in page
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_without_the_training_the_form_says_whom_to_ask_and_asks_nothing(client, auth, place):
    auth.login("lea@example.org")
    page = text_of(client.get("/reservations/new?resource=laser"))
    assert "Vous ne pouvez pas encore réserver ici" in page
    assert "Thomas Leroy" in page and "mailto:thomas@example.org" in page
    assert 'name="start"' not in page and 'name="day"' not in page
    assert "Créneaux libres et pris" in page  # the week stays in view


def test_a_conflict_with_ones_own_booking_says_so_and_links_to_it(client, auth, place):
    mine = book_as(
        place["cowork"],
        place["samir"],
        starts_at=paris(2026, 3, 3, 10),
        ends_at=paris(2026, 3, 3, 12),
        seats=8,
        now=NOW,
    )
    auth.login("samir@example.org")
    response = client.post(
        "/reservations/new?resource=coworking",
        data={"day": "2026-03-03", "start": "11:00", "end": "13:00", "seats": "1"},
    )
    assert response.status_code == 409
    page = text_of(response)
    assert "Vous avez déjà réservé ce créneau" in page
    assert f'href="/reservations/{mine.id}"' in page


# --- cancelling, My bookings, home ----------------------------------------------------------


def test_cancelling_asks_first_and_says_what_will_be_cancelled(client, auth, place):
    booking = samirs_tuesday_afternoon(place)
    auth.login("samir@example.org")
    show = text_of(client.get(f"/reservations/{booking.id}"))
    assert f'href="/reservations/{booking.id}/cancel"' in show
    step = client.get(f"/reservations/{booking.id}/cancel")
    assert step.status_code == 200
    page = text_of(step)
    assert "Vous allez annuler" in page
    assert "Espace de co-working" in page and "mardi 3 mars 2026, 14:00 – 17:00" in page
    assert "Oui, annuler" in page and "Non, garder ma réservation" in page
    assert db.session.get(Reservation, booking.id).status == Status.CONFIRMED
    done = client.post(f"/reservations/{booking.id}/cancel", data={"reason": ""})
    assert done.status_code == 302
    assert db.session.get(Reservation, booking.id).status == Status.CANCELLED
    mine = text_of(client.get("/reservations"))
    coming, cancelled = mine.split("Annulées ou refusées")[0], mine.split("Annulées ou refusées")[1]
    assert "Espace de co-working" not in coming.split("À venir")[1]
    assert "Espace de co-working" in cancelled
    # Asking again for a booking already cancelled goes back to it.
    assert client.get(f"/reservations/{booking.id}/cancel").status_code == 302


def test_my_bookings_group_a_series_and_keep_past_ones_apart(client, auth, place):
    from booking.services import Recurrence, SeriesRequest, book_series

    samir, cowork = place["samir"], place["cowork"]
    book_series(
        SeriesRequest(
            resource_id=cowork.id,
            member_id=samir.id,
            actor_id=samir.id,
            recurrence=Recurrence("weekly", date(2026, 3, 3), weekdays=(1,), count=3),
            local_start=time(14),
            local_end=time(17),
        ),
        NOW,
    )
    book_as(cowork, samir, starts_at=paris(2026, 3, 5, 9), ends_at=paris(2026, 3, 5, 10), now=NOW)
    book_as(
        cowork,
        samir,
        starts_at=paris(2026, 2, 24, 9),
        ends_at=paris(2026, 2, 24, 10),
        now=paris(2026, 2, 20, 9),
    )
    auth.login("samir@example.org")
    page = text_of(client.get("/reservations"))
    coming = page.split('id="upcoming-title"')[1].split('id="past-title"')[0]
    assert "Espace de co-working — chaque mardi, 14:00–17:00" in coming
    assert "3 dates à venir" in coming
    assert coming.count("mar. 3 mars") + coming.count("mar. 10 mars") == 2
    assert "jeudi 5 mars 2026, 09:00" in coming
    assert "24 février" not in coming
    assert "mardi 24 février 2026" in page.split('id="past-title"')[1]


def test_home_for_a_member_starts_with_their_bookings_and_their_places(client, auth, place):
    samirs_tuesday_afternoon(place)
    auth.login("samir@example.org")
    page = text_of(client.get("/"))
    position = 0
    for text in [
        "Bonjour Samir Bouzid",
        "Vos prochaines réservations",
        "mardi 3 mars 2026, 14:00",
        "Trouver un créneau libre",
        "Votre lieu",
        "Espace de co-working",
        "Les autres lieux du réseau",
        "La Cape — labo140",
    ]:
        position = page.index(text, position)  # each after the one before


def test_home_for_visitors_says_where_each_place_is(client, place):
    page = text_of(client.get("/"))
    assert "1 rue de la Coopération" in page or "rue de la Coopération" in page
    assert "https://www.openstreetmap.org/search?query=" in page
    assert "<iframe" not in page  # no map served by a third party


# --- series ---------------------------------------------------------------------------------


def series_data(**extra) -> dict:
    return {
        "starts_on": "2026-03-03",
        "frequency": "weekly",
        "interval": "1",
        "weekdays": ["1"],
        "start": "10:00",
        "end": "11:00",
        "count": "2",
        "seats": "1",
        **extra,
    }


def test_a_series_whose_every_date_is_taken_answers_409(client, auth, place):
    for day in (3, 10):
        book_as(
            place["cowork"],
            place["lea"],
            starts_at=paris(2026, 3, day, 9),
            ends_at=paris(2026, 3, day, 12),
            seats=8,
            now=NOW,
        )
    auth.login("samir@example.org")
    response = client.post(
        "/reservations/series/new?resource=coworking", data={**series_data(), "action": "book"}
    )
    assert response.status_code == 409
    assert "Toutes ces dates sont déjà prises" in text_of(response)


def test_series_dates_past_the_horizon_are_left_aside_with_the_reason(client, auth, place):
    place["cowork"].horizon_days = 10
    db.session.commit()
    auth.login("samir@example.org")
    data = series_data(count="3")
    preview = text_of(
        client.post(
            "/reservations/series/new?resource=coworking", data={**data, "action": "preview"}
        )
    )
    assert "mardi 17 mars" in preview and "mise de côté" in preview
    assert "jusqu’au 12 mars 2026" in preview or "12 mars 2026" in preview
    booked = client.post(
        "/reservations/series/new?resource=coworking", data={**data, "action": "book"}
    )
    assert booked.status_code == 302
    mine = text_of(client.get("/reservations"))
    assert "Mise de côté" in mine and "mardi 17 mars" in mine


# --- who may open the new screens -------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "samir", "thomas", "claire", "admin"])
def test_each_kind_of_person_gets_the_new_screens_they_may_see(client, auth, place, who):
    """Samir is a member of Illicoop; Thomas manages another venue; Claire manages Illicoop."""
    booking = samirs_tuesday_afternoon(place)
    if who != "visitor":
        auth.login(f"{who}@example.org")
    public = [
        "/search",
        "/search?q=cowork&when=week",
        "/resources/coworking",
        "/venues/illicoop/week",
    ]
    for path in public:
        assert client.get(path).status_code == 200, path
    form = client.get("/reservations/new?resource=coworking")
    cancel = client.get(f"/reservations/{booking.id}/cancel")
    if who == "visitor":
        assert form.status_code == 302 and "/login" in form.headers["Location"]
        assert cancel.status_code == 302 and "/login" in cancel.headers["Location"]
    elif who == "thomas":
        assert form.status_code == 200
        assert "Vous ne pouvez pas encore réserver ici" in text_of(form)  # not a member there
        assert cancel.status_code == 404  # another venue's booking
    else:
        assert form.status_code == 200
        assert cancel.status_code == 200
        assert "Vous allez annuler" in text_of(cancel)


# --- hostile input ---------------------------------------------------------------------------

SEARCH_FIELDS = ["q", "venue", "resource", "when", "first", "last", "part", "after", "before"]
SEARCH_FIELDS += ["minutes", "seats"]
FORM_FIELDS = ["day", "start", "end", "seats", "pick", "week"]


@pytest.mark.postgres
@pytest.mark.parametrize("who", [None, "samir@example.org"])
def test_no_value_sent_to_the_search_or_the_form_breaks_them(client, auth, place, who):
    from booking.forms.base import has_control_characters

    from .test_robustness import HOSTILE

    if who:
        auth.login(who)
    for value in HOSTILE:
        for field in SEARCH_FIELDS:
            response = client.get("/search", query_string={"when": "dates", field: value})
            assert response.status_code in (200, 422), (field, value)
        everything = {field: value for field in SEARCH_FIELDS}
        assert client.get("/search", query_string=everything).status_code in (200, 422), value
        if who:
            for field in FORM_FIELDS:
                query = {"resource": "coworking", field: value}
                # An address with a control character names nothing: refused before the page.
                expected = 400 if has_control_characters(value) else 200
                assert client.get("/reservations/new", query_string=query).status_code == expected
                posted = client.post(
                    "/reservations/new?resource=coworking", data={field: value, "purpose": "x"}
                )
                assert posted.status_code in (200, 409, 422), (field, value)
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0
