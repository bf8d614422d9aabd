"""Booking through the browser's forms: messages next to fields, fitting statuses."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation, Status

from .conftest import PARIS
from .support.pages import text_of


def future_day(weekday: int = 1, weeks: int = 1):
    today = datetime.now(PARIS).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7, weeks=weeks)


@pytest.fixture
def setup(make):
    venue = make.venue(slug="fabrique", name="La Fabrique")
    laser = make.resource(venue, slug="laser", name="Découpeuse laser", buffer_minutes=15)
    kitchen = make.resource(venue, slug="cuisine", name="Cuisine", requires_approval=True)
    karim = make.user(venue, email="karim@example.org", display_name="Karim")
    manager = make.manager(venue, email="gestion@example.org", display_name="Nadia")
    return venue, laser, kitchen, karim, manager


def post_booking(client, slug, day, start, end, **extra):
    data = {"day": day.isoformat(), "start": start, "end": end, **extra}
    return client.post(f"/reservations/new?resource={slug}", data=data)


def test_booking_form_renders_with_the_week(client, auth, setup):
    auth.login("karim@example.org")
    page = client.get("/reservations/new?resource=laser")
    assert page.status_code == 200
    html = text_of(page)
    assert "Réserver : Découpeuse laser" in html
    assert 'name="day"' in html and 'name="start"' in html and 'name="end"' in html
    assert "Semaine suivante" in html


def test_booking_redirects_to_the_confirmed_reservation(client, auth, setup):
    auth.login("karim@example.org")
    day = future_day()
    response = post_booking(client, "laser", day, "10:00", "12:00", purpose="Boîtes")
    assert response.status_code == 302
    reservation = db.session.scalar(sa.select(Reservation))
    assert response.headers["Location"].endswith(f"/reservations/{reservation.id}")
    assert reservation.starts_at.astimezone(PARIS).time() == time(10)
    assert reservation.status == Status.CONFIRMED
    page = text_of(client.get(response.headers["Location"]))
    assert "Confirmée" in page and "Boîtes" in page and "10:00" in page


def test_a_request_needing_approval_says_so(client, auth, setup):
    auth.login("karim@example.org")
    response = post_booking(client, "cuisine", future_day(), "10:00", "12:00")
    page = text_of(client.get(response.headers["Location"]))
    assert "En attente de validation" in page


def test_taken_slot_answers_409_with_the_message_next_to_the_field(client, auth, setup, make):
    venue, _laser, _, _, _ = setup
    make.user(venue, email="lea@example.org")
    day = future_day()
    auth.login("karim@example.org")
    assert post_booking(client, "laser", day, "10:00", "12:00").status_code == 302
    auth.logout()
    auth.login("lea@example.org")
    response = post_booking(client, "laser", day, "12:00", "13:00")  # inside the 15-minute buffer
    assert response.status_code == 409
    html = text_of(response)
    start_field = re.search(r'<div class="field has-error">.*?name="start".*?</div>', html, re.S)
    assert start_field is not None, "the message belongs next to the start time"
    assert "déjà pris" in html
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1


def test_rule_violations_answer_422_with_every_message(client, auth, setup):
    auth.login("karim@example.org")
    response = post_booking(client, "laser", future_day(), "10:10", "10:20")
    assert response.status_code == 422
    html = text_of(response)
    assert "pas de 30" in html  # off the grid
    assert "trop court" in html


def test_missing_and_malformed_fields_answer_422_not_500(client, auth, setup):
    auth.login("karim@example.org")
    for data in (
        {},
        {"day": "demain", "start": "dix heures", "end": "25:00"},
        {"day": "2026-02-30", "start": "10:00", "end": "11:00"},
        {"day": "9999-12-31", "start": "10:00", "end": "11:00"},
    ):
        response = client.post("/reservations/new?resource=laser", data=data)
        assert response.status_code == 422, data
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_nonexistent_local_time_is_explained(client, auth, setup):
    _venue, *_ = setup
    auth.login("karim@example.org")
    # Next spring-forward day in Paris: last Sunday of March.
    year = datetime.now(PARIS).year + 1
    day = max(
        datetime(year, 3, d).date() for d in range(25, 32) if datetime(year, 3, d).weekday() == 6
    )
    response = post_booking(client, "laser", day, "02:30", "03:30")
    assert response.status_code == 422
    assert "n’existe pas" in text_of(response)


def test_unknown_or_retired_resource_is_404(client, auth, setup, make):
    venue, *_ = setup
    make.resource(venue, slug="ancienne", is_active=False)
    auth.login("karim@example.org")
    assert client.get("/reservations/new?resource=nope").status_code == 404
    assert client.get("/reservations/new?resource=ancienne").status_code == 404


def test_booking_needs_login(client, setup):
    response = client.get("/reservations/new?resource=laser")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_someone_elses_reservation_is_hidden(client, auth, setup, make):
    venue, *_ = setup
    make.user(venue, email="lea@example.org")
    auth.login("karim@example.org")
    location = post_booking(client, "laser", future_day(), "10:00", "11:00").headers["Location"]
    auth.logout()
    auth.login("lea@example.org")
    assert client.get(location).status_code == 404
    reservation_id = int(location.rsplit("/", 1)[1])
    assert client.post(f"/reservations/{reservation_id}/cancel").status_code == 404


def test_member_cancels_their_booking(client, auth, setup):
    auth.login("karim@example.org")
    location = post_booking(client, "laser", future_day(), "10:00", "11:00").headers["Location"]
    reservation_id = int(location.rsplit("/", 1)[1])
    response = client.post(f"/reservations/{reservation_id}/cancel", data={"reason": ""})
    assert response.status_code == 302
    assert db.session.get(Reservation, reservation_id).status == Status.CANCELLED
    again = client.post(f"/reservations/{reservation_id}/cancel", data={"reason": ""})
    assert again.status_code == 422
    assert "déjà été annulée" in text_of(again)


def test_manager_books_for_a_member_overriding_notice(client, auth, setup):
    _venue, laser, _, karim, _ = setup
    laser.min_notice_minutes = 7 * 24 * 60
    db.session.commit()
    auth.login("gestion@example.org")
    day = future_day(weeks=0) + timedelta(days=1)
    refused = post_booking(client, "laser", day, "10:00", "11:00", member=karim.id)
    assert refused.status_code == 422
    response = post_booking(
        client, "laser", day, "10:00", "11:00", member=karim.id, overrides="notice"
    )
    assert response.status_code == 302
    reservation = db.session.scalar(sa.select(Reservation))
    assert reservation.user_id == karim.id and reservation.overrides == "notice"


def test_member_cannot_slip_in_overrides_or_another_member(client, auth, setup, make):
    _venue, laser, _, _karim, manager = setup
    laser.min_notice_minutes = 7 * 24 * 60
    db.session.commit()
    auth.login("karim@example.org")
    day = future_day(weeks=0) + timedelta(days=1)
    response = post_booking(
        client, "laser", day, "10:00", "11:00", member=manager.id, overrides="notice"
    )
    assert response.status_code == 422  # the fields are ignored: the notice rule still applies
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_manager_approves_and_refuses_with_a_reason(client, auth, setup):
    auth.login("karim@example.org")
    first = post_booking(client, "cuisine", future_day(), "10:00", "11:00").headers["Location"]
    second = post_booking(client, "cuisine", future_day(), "14:00", "15:00").headers["Location"]
    first_id, second_id = (int(x.rsplit("/", 1)[1]) for x in (first, second))
    auth.logout()
    auth.login("gestion@example.org")
    queue = text_of(client.get("/manage/"))
    assert "Karim" in queue and "2 demandes" in queue
    assert client.post(f"/manage/reservations/{first_id}/approve").status_code == 302
    missing_reason = client.post(f"/manage/reservations/{second_id}/refuse", data={})
    assert missing_reason.status_code == 422
    ok = client.post(
        f"/manage/reservations/{second_id}/refuse",
        data={f"r{second_id}-reason": "Fête de quartier"},
    )
    assert ok.status_code == 302
    assert db.session.get(Reservation, first_id).status == Status.CONFIRMED
    refused = db.session.get(Reservation, second_id)
    assert refused.status == Status.REFUSED and refused.decision_reason == "Fête de quartier"


def test_members_cannot_reach_the_manager_pages(client, auth, setup):
    auth.login("karim@example.org")
    assert client.get("/manage/").status_code == 403
    assert client.post("/manage/reservations/1/approve").status_code == 403


def test_series_preview_then_booking(client, auth, setup):
    auth.login("karim@example.org")
    first = future_day(weekday=1)
    data = {
        "starts_on": first.isoformat(),
        "frequency": "weekly",
        "interval": "1",
        "weekdays": ["1"],
        "start": "14:00",
        "end": "16:00",
        "count": "3",
    }
    preview = client.post(
        "/reservations/series/new?resource=laser", data={**data, "action": "preview"}
    )
    assert preview.status_code == 200
    html = text_of(preview)
    assert html.count("libre") >= 3
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0
    booked = client.post("/reservations/series/new?resource=laser", data={**data, "action": "book"})
    assert booked.status_code == 302
    starts = [
        r.starts_at.astimezone(PARIS)
        for r in db.session.scalars(sa.select(Reservation).order_by(Reservation.starts_at))
    ]
    assert [s.date() for s in starts] == [first + timedelta(weeks=k) for k in range(3)]
    assert all(s.time() == time(14) for s in starts)


def test_series_without_end_is_refused_next_to_the_field(client, auth, setup):
    auth.login("karim@example.org")
    data = {
        "starts_on": future_day().isoformat(),
        "frequency": "weekly",
        "interval": "1",
        "start": "14:00",
        "end": "16:00",
        "action": "preview",
    }
    response = client.post("/reservations/series/new?resource=laser", data=data)
    assert response.status_code == 422
    assert "date de fin ou un nombre" in text_of(response)


def test_my_bookings_lists_upcoming_and_past(client, auth, setup):
    _, laser, _, karim, _ = setup
    db.session.add(
        Reservation(
            resource_id=laser.id,
            user_id=karim.id,
            created_by_id=karim.id,
            starts_at=datetime(2026, 1, 6, 9, tzinfo=UTC),
            ends_at=datetime(2026, 1, 6, 10, tzinfo=UTC),
            blocked_until=datetime(2026, 1, 6, 10, tzinfo=UTC),
            status=Status.CONFIRMED,
        )
    )
    db.session.commit()
    auth.login("karim@example.org")
    post_booking(client, "laser", future_day(), "10:00", "11:00")
    html = text_of(client.get("/reservations"))
    upcoming, past = html.split("Passées", 1) if "Passées" in html else (html, "")
    assert "Découpeuse laser" in upcoming and "janvier" in past


def test_venue_week_shows_busy_slots_without_names(app, client, auth, setup):
    auth.login("karim@example.org")
    day = future_day()
    post_booking(client, "laser", day, "10:00", "12:00", purpose="Secret de fabrication")
    client = app.test_client()  # a visitor who never logged in
    page = client.get(f"/venues/fabrique/week?week={day.isoformat()}")
    assert page.status_code == 200
    html = text_of(page)
    assert "10:00–12:00" in html and "12:15" in html  # the buffer, shown as "free again at"
    assert "Karim" not in html and "Secret de fabrication" not in html
    assert client.get("/venues/nowhere/week").status_code == 404
    assert client.get("/venues/fabrique/week?week=n-importe-quoi").status_code == 200


def test_venue_page_links_to_its_week(client, setup):
    html = text_of(client.get("/venues/fabrique"))
    assert "/venues/fabrique/week" in html and "Voir ce qui est libre cette semaine" in html


def test_the_form_warns_upfront_about_a_missing_training(client, auth, make):
    venue = make.venue(slug="labo")
    training = make.qualification()
    make.resource(venue, slug="laser", qualification_id=training.id)
    make.user(venue, email="lea@example.org")
    auth.login("lea@example.org")
    html = text_of(client.get("/reservations/new?resource=laser"))
    assert "Formation sécurité découpe laser" in html and "inscrire" in html


def test_booking_pages_speak_english_on_request(client, auth, setup):
    auth.login("karim@example.org")
    client.get("/lang/en")
    html = text_of(client.get("/reservations/new?resource=laser"))
    assert "Book: Découpeuse laser" in html and "Next week" in html
    assert "Choose a free time" in html and "Réserver" not in html
    assert "My bookings" in text_of(client.get("/reservations"))
    series = text_of(client.get("/reservations/series/new?resource=laser"))
    assert "Check the dates" in series and "Every week" in series


def test_my_bookings_offer_my_calendar_link_and_waiting_list(app, client, auth, setup):
    auth.login("karim@example.org")
    post_booking(client, "laser", future_day(), "10:00", "11:00", purpose="Boîtes")
    response = client.get("/reservations")
    page = response.get_data(as_text=True)
    # The same secret link as the profile's, a tap away from the bookings it shows.
    link = re.search(r'https?://[^"<\s]+/feeds/u/[A-Za-z0-9_-]+\.ics', page)
    assert link is not None
    assert link[0] in client.get("/profile").get_data(as_text=True)
    assert "webcal://" in page and "calendar.google.com" in page
    assert "Mes réservations dans mon agenda" in text_of(response)
    assert 'href="/waitlist"' in page
    # A page that shows a secret link: kept by no cache, sent to no other site.
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # The link works in a calendar app, with no cookie.
    feed = app.test_client().get("/feeds/u/" + link[0].rsplit("/feeds/u/", 1)[1])
    assert feed.status_code == 200 and "Boîtes" in feed.get_data(as_text=True)
