"""Changing a booking through the pages: the form as the booking is, refusals next to their
fields with the fitting status, a manager's reason, the approval path, a series' later
dates; and the series form that starts from the booking form's day and times."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, Status
from booking.services import approve

from .conftest import PARIS, book_as, paris
from .support.pages import flashes_of, text_of

pytestmark = pytest.mark.usefixtures("clock")

NOW = paris(2026, 3, 2, 9)  # the clock fixture's Monday
WEDNESDAY, THURSDAY = date(2026, 3, 4), date(2026, 3, 5)


@pytest.fixture
def place(make):
    venue = make.venue(slug="fabrique", name="La Fabrique")
    laser = make.resource(venue, slug="laser", name="Découpeuse laser", buffer_minutes=15)
    kitchen = make.resource(venue, slug="cuisine", name="Cuisine", requires_approval=True)
    karim = make.user(venue, email="karim@example.org", display_name="Karim")
    lea = make.user(venue, email="lea@example.org", display_name="Léa")
    manager = make.manager(venue, email="gestion@example.org", display_name="Nadia")
    booked = book_as(
        laser,
        karim,
        starts_at=paris(2026, 3, 4, 10),
        ends_at=paris(2026, 3, 4, 12),
        now=NOW,
        purpose="Boîtes",
    )
    return {
        "laser": laser,
        "kitchen": kitchen,
        "karim": karim,
        "lea": lea,
        "manager": manager,
        "booked": booked.id,
    }


def told(response) -> list[str]:
    """The messages flashed about what was done (logging in and out left out)."""
    return [f for f in flashes_of(response) if not f.startswith(("Bonjour", "Vous êtes déco"))]


def local_start(reservation_id: int):
    db.session.expire_all()
    return db.session.get(Reservation, reservation_id).starts_at.astimezone(PARIS)


def post_change(client, reservation_id, day, start, end, **extra):
    data = {"day": day.isoformat(), "start": start, "end": end, "action": "save", **extra}
    return client.post(f"/reservations/{reservation_id}/change", data=data)


def test_the_form_shows_the_booking_as_it_is_and_is_offered_where_it_lives(client, auth, place):
    auth.login("karim@example.org")
    booked = place["booked"]
    page = client.get(f"/reservations/{booked}/change")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="2026-03-04"' in html and 'value="10:00"' in html and 'value="12:00"' in html
    assert "Boîtes" in html
    text = text_of(page)
    assert "Modifier la réservation" in text and "Actuellement" in text
    assert f'href="/reservations/{booked}/change"' in client.get(
        f"/reservations/{booked}"
    ).get_data(as_text=True)
    assert f'href="/reservations/{booked}/change"' in client.get("/reservations").get_data(
        as_text=True
    )


def test_a_member_moves_their_booking(client, auth, place):
    auth.login("karim@example.org")
    booked = place["booked"]
    response = post_change(client, booked, THURSDAY, "14:00", "15:30", purpose="Gravure")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/reservations/{booked}")
    page = client.get(response.headers["Location"])
    assert told(page) == [
        "Réservation modifiée. Le nouvel horaire arrive dans votre agenda par e-mail."
    ]
    assert local_start(booked) == paris(2026, 3, 5, 14)
    history = text_of(page)
    assert "Réservation modifiée" in history
    assert (
        "Déplacée du mercredi 4 mars 2026, 10:00 – 12:00 au jeudi 5 mars 2026, 14:00 – 15:30."
        in history
    )


def test_a_taken_slot_answers_409_and_a_broken_rule_422_and_nothing_moves(client, auth, place):
    book_as(
        place["laser"],
        place["lea"],
        starts_at=paris(2026, 3, 5, 10),
        ends_at=paris(2026, 3, 5, 11),
        now=NOW,
    )
    auth.login("karim@example.org")
    booked = place["booked"]
    taken = post_change(client, booked, THURSDAY, "10:00", "11:00")
    assert taken.status_code == 409
    text = text_of(taken)
    assert "Rien n’a été modifié" in text
    assert re.search(
        r'id="start-error"><span>Ce créneau est déjà pris', taken.get_data(as_text=True)
    )
    closed = post_change(client, booked, THURSDAY, "21:00", "22:00")
    assert closed.status_code == 422
    assert "C’est en dehors des horaires d’ouverture" in text_of(closed)
    same = post_change(client, booked, WEDNESDAY, "10:00", "12:00", purpose="Boîtes")
    assert same.status_code == 422
    assert "C’est la réservation telle qu’elle est déjà" in text_of(same)
    for broken in ({"day": "2026-02-30"}, {"start": "25:61"}, {"end": ""}, {"day": "9999-12-31"}):
        data = {"day": "2026-03-05", "start": "10:00", "end": "11:00", "action": "save", **broken}
        assert client.post(f"/reservations/{booked}/change", data=data).status_code == 422
    assert local_start(booked) == paris(2026, 3, 4, 10)


def test_someone_elses_booking_cannot_be_changed_or_even_seen(client, auth, place):
    auth.login("lea@example.org")
    booked = place["booked"]
    assert client.get(f"/reservations/{booked}/change").status_code == 404
    assert post_change(client, booked, THURSDAY, "14:00", "15:00").status_code == 404
    assert client.post(f"/reservations/{booked}/change/withdraw").status_code == 404
    assert local_start(booked) == paris(2026, 3, 4, 10)


def test_a_booking_that_has_started_is_no_longer_offered_to_change(client, auth, place, clock):
    clock.set(paris(2026, 3, 4, 10, 30))
    auth.login("karim@example.org")
    booked = place["booked"]
    response = client.get(f"/reservations/{booked}/change")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/reservations/{booked}")


def test_a_manager_changes_it_with_a_reason_the_member_reads(client, auth, place):
    auth.login("gestion@example.org")
    booked = place["booked"]
    form = text_of(client.get(f"/reservations/{booked}/change"))
    assert "Pourquoi la modifier" in form and "Passer outre ces règles" in form
    missing = post_change(client, booked, THURSDAY, "14:00", "15:00")
    assert missing.status_code == 422
    assert "Indiquez un motif : la personne le lira." in text_of(missing)
    done = post_change(
        client,
        booked,
        THURSDAY,
        "20:00",
        "21:00",
        reason="La salle est prise le mercredi",
        overrides="hours",
    )
    assert done.status_code == 302
    assert told(client.get(done.headers["Location"])) == [
        "Réservation modifiée. La personne lira votre motif."
    ]
    assert local_start(booked) == paris(2026, 3, 5, 20)


def test_a_change_waiting_for_approval_is_shown_decided_and_withdrawn(client, auth, place):
    confirmed = book_as(
        place["kitchen"],
        place["karim"],
        starts_at=paris(2026, 3, 4, 10),
        ends_at=paris(2026, 3, 4, 12),
        now=NOW,
    )
    approve(confirmed.id, place["manager"].id, NOW)
    auth.login("karim@example.org")
    form = text_of(client.get(f"/reservations/{confirmed.id}/change"))
    assert "L’équipe du lieu valide chaque changement" in form
    sent = post_change(client, confirmed.id, THURSDAY, "14:00", "16:00")
    assert sent.status_code == 302
    page = client.get(sent.headers["Location"])
    assert told(page) == [
        "Changement envoyé. L’équipe du lieu va le valider ; votre réservation garde son "
        "créneau en attendant."
    ]
    text = text_of(page)
    assert "Changement demandé" in text and "jeudi 5 mars 2026, 14:00 – 16:00" in text
    assert "Confirmée" in text  # the booking itself, where it was
    assert "Changement en attente de validation" in text_of(client.get("/reservations"))
    # The form shows what is asked; the change's own page is the booking's.
    asked = db.session.scalar(sa.select(Reservation).where(Reservation.replaces_id.is_not(None)))
    assert 'value="14:00"' in client.get(f"/reservations/{confirmed.id}/change").get_data(
        as_text=True
    )
    assert (
        client.get(f"/reservations/{asked.id}")
        .headers["Location"]
        .endswith(f"/reservations/{confirmed.id}")
    )
    auth.logout()
    auth.login("gestion@example.org")
    queue = " ".join(re.sub(r"<[^>]+>", " ", text_of(client.get("/manage/"))).split())
    assert "Changement d’une réservation" in queue
    assert "Demandé : jeudi 5 mars 2026, 14:00 – 16:00" in queue
    assert "Réservé actuellement : mercredi 4 mars 2026, 10:00 – 12:00" in queue
    auth.logout()
    auth.login("karim@example.org")
    withdrawn = client.post(f"/reservations/{confirmed.id}/change/withdraw")
    assert told(client.get(withdrawn.headers["Location"])) == [
        "Changement retiré. Votre réservation reste comme elle était."
    ]
    again = client.post(f"/reservations/{confirmed.id}/change/withdraw")
    assert told(client.get(again.headers["Location"])) == [
        "Aucun changement de cette réservation n’est en attente : il n’y a rien à retirer."
    ]
    assert db.session.get(Reservation, confirmed.id).status == Status.CONFIRMED


def test_a_series_date_and_the_later_ones_are_checked_then_moved(client, auth, place):
    auth.login("karim@example.org")
    series = {
        "starts_on": "2026-03-10",
        "frequency": "weekly",
        "interval": "1",
        "weekdays": ["1"],
        "start": "14:00",
        "end": "16:00",
        "count": "4",
        "action": "book",
    }
    assert client.post("/reservations/series/new?resource=laser", data=series).status_code == 302
    dates = db.session.scalars(
        sa.select(Reservation)
        .where(Reservation.series_id.is_not(None))
        .order_by(Reservation.starts_at)
    ).all()
    book_as(
        place["laser"],
        place["lea"],
        starts_at=paris(2026, 3, 26, 9),
        ends_at=paris(2026, 3, 26, 10),
        now=NOW,
    )
    form = client.get(f"/reservations/{dates[1].id}/change")
    assert "Cette date et toutes les suivantes" in text_of(form)
    data = {"day": "2026-03-19", "start": "09:00", "end": "11:00", "scope": "following"}
    preview = client.post(f"/reservations/{dates[1].id}/change", data={**data, "action": "preview"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    # The button that moves them takes the focus (a phone shows it, and the dates, at once).
    assert re.search(r'<section class="card preview" id="dates"', html)
    assert re.search(r'form="change-form" name="action" value="save"[^>]*autofocus', html)
    text = text_of(preview)
    assert "2 dates peuvent être déplacées, 1 reste telle quelle" in text
    assert "Déplacer les 2 dates" in text
    assert local_start(dates[1].id) == paris(2026, 3, 17, 14)  # nothing moved yet
    moved = client.post(f"/reservations/{dates[1].id}/change", data={**data, "action": "save"})
    assert moved.status_code == 302
    flashes = told(client.get(moved.headers["Location"]))
    assert flashes[0] == "2 dates modifiées."
    assert flashes[1].startswith(
        "Laissée comme elle était : mardi 24 mars. Ce créneau est déjà pris"
    )
    assert [local_start(r.id) for r in dates] == [
        paris(2026, 3, 10, 14),
        paris(2026, 3, 19, 9),
        paris(2026, 3, 24, 14),
        paris(2026, 4, 2, 9),
    ]


def test_the_series_form_starts_from_the_day_and_times_chosen_on_the_booking_form(
    client, auth, place
):
    auth.login("karim@example.org")
    booking = client.get("/reservations/new?resource=cuisine").get_data(as_text=True)
    assert re.search(
        r'<button type="submit" name="action" value="series" '
        r'formaction="/reservations/series/new\?resource=cuisine" formnovalidate',
        booking,
    )
    carried = client.post(
        "/reservations/series/new?resource=cuisine",
        data={
            "day": "2026-03-10",
            "start": "14:00",
            "end": "16:30",
            "action": "series",
            "purpose": "Atelier",
        },
    )
    assert carried.status_code == 200
    html = carried.get_data(as_text=True)
    assert 'value="2026-03-10"' in html and 'value="14:00"' in html and 'value="16:30"' in html
    assert "Atelier" in html
    assert 'id="result"' not in html  # nothing checked yet
    data = {
        "starts_on": "2026-03-10",
        "frequency": "weekly",
        "interval": "1",
        "start": "14:00",
        "end": "16:30",
        "count": "3",
    }
    preview = client.post(
        "/reservations/series/new?resource=cuisine", data={**data, "action": "preview"}
    )
    html = preview.get_data(as_text=True)
    # The page opens on the answer, above the form, the button that sends them focused.
    assert html.index('id="result"') < html.index('id="series-form"')
    assert re.search(r'form="series-form" name="action" value="book"[^>]*autofocus', html)
    assert "Envoyer les demandes pour les 3 dates libres" in text_of(preview)
    sent = client.post("/reservations/series/new?resource=cuisine", data={**data, "action": "book"})
    assert told(client.get(sent.headers["Location"])) == [
        "3 demandes envoyées. L’équipe du lieu va les valider."
    ]


def test_members_choose_on_their_profile_whether_their_bookings_are_confirmed(client, auth, place):
    from booking.models import User

    auth.login("karim@example.org")
    profile = text_of(client.get("/profile"))
    assert "Une confirmation de chaque réservation que je fais ou modifie moi-même" in profile
    (box,) = re.findall(
        r'<input[^>]*id="notify_confirmations"[^>]*>', client.get("/profile").get_data(as_text=True)
    )
    assert "checked" in box  # on unless turned off
    saved = client.post("/profile/notifications", data={"remind_day_before": "y"})
    assert saved.status_code == 302
    karim = db.session.get(User, place["karim"].id)
    assert karim.notify_confirmations is False and karim.remind_day_before is True
    client.post("/profile/notifications", data={"notify_confirmations": "y"})
    db.session.expire_all()
    assert db.session.get(User, place["karim"].id).notify_confirmations is True
