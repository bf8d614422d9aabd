"""The queue of requests: oldest first, what a decision needs on each card, a series decided
as a whole or date by date, several accepted at once, a refusal needing its reason."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, ResourceKind, Status
from booking.services import Recurrence, SeriesRequest, book_series, refuse
from booking.services.booking.lifecycle import decide_many, decide_series
from booking.services.booking.queue import cards, pending_count

from .conftest import Factory, book_as, paris
from .support.pages import text_of

NOW = paris(2026, 3, 2, 9, 0)


@pytest.fixture
def place(make: Factory, clock) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins")
    training = make.qualification("Hygiène en cuisine", venue=venue)
    kitchen = make.resource(
        venue, slug="cuisine", name="Cuisine", kind=ResourceKind.SPACE, requires_approval=True
    )
    kitchen.qualification = training
    cowork = make.resource(
        venue, slug="cowork", name="Co-working", capacity=8, requires_approval=True
    )
    db.session.commit()
    amina = make.user(venue, display_name="Amina Haddad", email="amina@example.org")
    karim = make.user(venue, display_name="Karim Mansouri", email="karim@example.org")
    make.grant(karim, training, expires_on=date(2026, 3, 31))
    return {
        "venue": venue,
        "kitchen": kitchen,
        "cowork": cowork,
        "training": training,
        "amina": amina,
        "karim": karim,
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
    }


def request(place: dict, who: str, resource: str, start, hours: int = 2, now=NOW, **fields):
    return book_as(
        place[resource],
        place[who],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        now=now,
        **fields,
    )


def series(place: dict, who: str = "karim", count: int = 3):
    return book_series(
        SeriesRequest(
            resource_id=place["kitchen"].id,
            member_id=place[who].id,
            actor_id=place[who].id,
            recurrence=Recurrence("weekly", date(2026, 3, 9), weekdays=(0,), count=count),
            local_start=time(14),
            local_end=time(17),
            purpose="Cours de pâtisserie",
        ),
        NOW,
    )


def test_cards_come_oldest_first_with_what_a_decision_needs(place: dict) -> None:
    later = request(place, "karim", "kitchen", paris(2026, 3, 4, 10), now=NOW)
    first = request(
        place, "amina", "cowork", paris(2026, 3, 5, 10), now=NOW - timedelta(hours=1), seats=2
    )
    overlapping = request(place, "karim", "cowork", paris(2026, 3, 5, 11), now=NOW, seats=3)
    refused = request(place, "karim", "kitchen", paris(2026, 3, 6, 10), now=NOW)
    refuse(refused.id, place["manager"].id, "Déjà pris", NOW)
    found = cards(db.session, place["manager"], NOW)
    assert [card.first.id for card in found] == [first.id, later.id, overlapping.id]
    by_id = {card.first.id: card for card in found}
    # Other bookings on the same slot, both ways.
    assert [o.id for o in by_id[first.id].others[first.id]] == [overlapping.id]
    assert [o.id for o in by_id[overlapping.id].others[overlapping.id]] == [first.id]
    # The member's year at the venue; the training they hold until when.
    assert by_id[later.id].history.refused == 1
    assert by_id[first.id].history.is_new
    training = by_id[later.id].training
    assert training is not None and training.held and training.expires_on == date(2026, 3, 31)
    assert by_id[first.id].training is None  # the co-working needs none
    assert pending_count(db.session, place["manager"]) == 3


def test_a_series_is_one_card_decided_as_a_whole(place: dict) -> None:
    result = series(place)
    one = request(place, "karim", "kitchen", paris(2026, 3, 4, 10))
    found = cards(db.session, place["manager"], NOW)
    assert [len(card.reservations) for card in found] == [3, 1]
    assert found[0].series.id == result.series.id
    decided = decide_series(result.series.id, place["manager"].id, NOW, approve=True)
    assert len(decided.done) == 3 and decided.stale == []
    statuses = db.session.scalars(
        sa.select(Reservation.status).where(Reservation.series_id == result.series.id)
    ).all()
    assert set(statuses) == {Status.CONFIRMED}
    assert db.session.get(Reservation, one.id).status == Status.PENDING


def test_several_requests_are_accepted_at_once_and_stale_ones_left(place: dict) -> None:
    result = series(place, count=2)
    a = request(place, "karim", "cowork", paris(2026, 3, 5, 10))
    b = request(place, "amina", "cowork", paris(2026, 3, 6, 10))
    refuse(b.id, place["manager"].id, "Complet", NOW)
    decided = decide_many(
        [a.id, b.id], place["manager"].id, NOW, approve=True, series_ids=[result.series.id]
    )
    assert sorted(r.id for r in decided.done) == sorted([a.id, *(r.id for r in result.booked)])
    assert [r.id for r in decided.stale] == [b.id]
    assert db.session.get(Reservation, b.id).status == Status.REFUSED


def test_the_queue_page_and_the_count_in_the_menu(client, auth, place: dict) -> None:
    series(place)
    request(place, "karim", "cowork", paris(2026, 3, 5, 10))
    auth.login("nadia@example.org")
    page = text_of(client.get("/manage/"))
    assert "4 demandes attendent votre réponse" in page
    assert "Une série de 3 dates" in page
    assert "Accepter toute la série" in page and "Décider date par date" in page
    assert "A « Hygiène en cuisine »" in page
    assert "valable jusqu’au 31 mars 2026" in page
    # The menu shows the count on every page, one query for it.
    home = client.get("/").get_data(as_text=True)
    assert 'class="nav-count">4<' in home
    auth.logout()
    auth.login("karim@example.org")
    assert "nav-count" not in client.get("/").get_data(as_text=True)


def test_a_missing_reason_is_shown_at_its_request_without_losing_the_place(
    client, auth, place: dict
) -> None:
    first = request(place, "karim", "cowork", paris(2026, 3, 5, 10))
    second = request(place, "karim", "cowork", paris(2026, 3, 6, 10))
    auth.login("nadia@example.org")
    response = client.post(f"/manage/reservations/{second.id}/refuse", data={})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The message sits under that request's reason field, which takes the focus.
    card = page[page.index(f'id="request-{second.id}"') :]
    assert "Indiquez un motif : la personne le lira." in text_of(response)
    assert f'id="r{second.id}-reason-error"' in card
    textarea = card[card.index("<textarea") : card.index(">", card.index("<textarea"))]
    assert "autofocus" in textarea and 'aria-invalid="true"' in textarea
    other = page[page.index(f'id="request-{first.id}"') : page.index(f'id="request-{second.id}"')]
    assert "autofocus" not in other
    # Its form posts back to itself, at its card.
    assert f'/manage/reservations/{second.id}/refuse#request-{second.id}"' in page
    assert db.session.get(Reservation, second.id).status == Status.PENDING


def test_accepting_and_refusing_through_the_pages(client, auth, place: dict) -> None:
    result = series(place)
    one = request(place, "karim", "cowork", paris(2026, 3, 5, 10))
    two = request(place, "karim", "cowork", paris(2026, 3, 6, 10))
    auth.login("nadia@example.org")
    nothing = client.post("/manage/approve", data={})
    assert nothing.status_code == 422
    assert "Cochez au moins une demande" in text_of(nothing)
    accepted = client.post("/manage/approve", data={"ids": [str(one.id), str(two.id)]})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("#queue")
    assert db.session.get(Reservation, two.id).status == Status.CONFIRMED
    no_reason = client.post(f"/manage/series/{result.series.id}/refuse", data={})
    assert no_reason.status_code == 422
    refused = client.post(
        f"/manage/series/{result.series.id}/refuse",
        data={f"s{result.series.id}-reason": "La cuisine est en travaux en mars", "after": "queue"},
    )
    assert refused.status_code == 302
    reasons = db.session.scalars(
        sa.select(Reservation.decision_reason).where(Reservation.series_id == result.series.id)
    ).all()
    assert reasons == ["La cuisine est en travaux en mars"] * 3
    flashed = text_of(client.get("/manage/"))
    assert "3 dates de la série refusées" in flashed


def test_a_members_year_is_counted_in_words_that_agree(client, auth, place: dict) -> None:
    refused = request(place, "karim", "kitchen", paris(2026, 3, 6, 10))
    refuse(refused.id, place["manager"].id, "Déjà pris", NOW)
    request(place, "karim", "kitchen", paris(2026, 3, 4, 10))
    auth.login("nadia@example.org")
    page = text_of(client.get("/manage/"))
    # Not « 0 réservations, 0 annulées, 1 refusées »: each count agrees with its number.
    assert "0 réservation, 0 annulée, 1 refusée, 0 expirée sans décision" in page
