"""The waiting list: told in order when a taken slot frees, and booked in one step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    MessageStatus,
    OutboxMessage,
    Reservation,
    Status,
    WaitlistEntry,
    WaitStatus,
)
from booking.services import cancel, refuse

from .conftest import book_as, paris
from .support.outbox import link, sent_mail, subject, text, to
from .support.pages import text_of

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 9, 0)
SLOT = {"day": "2026-06-03", "start": "10:00", "end": "11:00"}


@pytest.fixture
def laser(make, clock):
    clock.set(NOW)
    venue = make.venue(slug="cape", name="La Cape")
    resource = make.resource(venue, slug="laser", name="Découpeuse laser", buffer_minutes=30)
    people = {
        "karim": make.user(venue, email="karim@example.org", display_name="Karim"),
        "amina": make.user(venue, email="amina@example.org", display_name="Amina"),
        "lea": make.user(venue, email="lea@example.org", display_name="Léa"),
        "manager": make.manager(venue, email="cape@example.org", display_name="Hugo"),
    }
    taken = book_as(
        resource,
        people["karim"],
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
    )
    return {"resource": resource, "taken": taken, **people}


def wait_for_slot(client, auth, person, slot=SLOT):
    auth.login(person.email)
    return client.post("/waitlist", data={"resource": "laser", **slot, "seats": "1"})


def test_a_taken_slot_offers_to_wait_for_it(client, auth, laser):
    auth.login(laser["amina"].email)
    refused = client.post("/reservations/new?resource=laser", data=SLOT)
    assert refused.status_code == 409
    page = text_of(refused)
    assert "Me prévenir s’il se libère" in page
    # A button of the booking form itself: what was typed goes to the waiting list too.
    assert 'formaction="/waitlist"' in page and 'name="resource" value="laser"' in page

    joined = client.post("/waitlist", data={"resource": "laser", **SLOT, "seats": "1"})
    assert joined.headers["Location"] == "/waitlist"
    listing = text_of(client.get("/waitlist"))
    assert "C’est noté : nous vous écrirons si ce créneau se libère." in listing
    assert "Découpeuse laser — La Cape" in listing
    assert "mercredi 3 juin 2026, 10:00 – 11:00" in listing
    client.post("/waitlist", data={"resource": "laser", **SLOT, "seats": "1"})
    assert "Vous êtes déjà sur la liste d’attente de ce créneau." in text_of(
        client.get("/waitlist")
    )
    assert db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 1


def test_a_free_or_past_slot_is_not_waited_for(client, auth, laser):
    free = wait_for_slot(client, auth, laser["amina"], {**SLOT, "start": "14:00", "end": "15:00"})
    assert free.headers["Location"].startswith("/reservations/new?resource=laser")
    assert "ce créneau est libre maintenant" in text_of(client.get(free.headers["Location"]))
    past = client.post(
        "/waitlist",
        data={"resource": "laser", "day": "2026-05-01", "start": "10:00", "end": "11:00"},
    )
    assert "Cette heure est déjà passée." in text_of(client.get(past.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 0


def test_the_waiting_are_told_in_order_and_the_first_books_in_one_step(client, auth, laser, clock):
    wait_for_slot(client, auth, laser["amina"])
    client.post("/logout")
    wait_for_slot(client, auth, laser["lea"])
    client.post("/logout")
    sent_mail(NOW)  # nothing yet

    cancel(laser["taken"].id, laser["karim"].id, "", NOW + timedelta(minutes=5))
    first = NOW + timedelta(minutes=5)
    mail = sent_mail(first)
    (to_amina,) = to(mail, "amina@example.org")
    assert to(mail, "lea@example.org") == []  # Amina asked first: she hears first
    assert (
        subject(to_amina)
        == "Un créneau s’est libéré : Découpeuse laser, mercredi 3 juin 2026, 10:00"
    )
    assert "Réservez-le en une étape, tant qu’il est libre" in text(to_amina)

    auth.login(laser["amina"].email)
    book = link(to_amina, "/waitlist/")
    page = text_of(client.get(book))
    assert "Il est libre en ce moment." in page
    booked = client.post(book, data={"purpose": "Prototype"})
    assert booked.status_code == 302
    reservation_page = text_of(client.get(booked.headers["Location"]))
    assert "C’est réservé ! Le créneau est à vous." in reservation_page
    entry = db.session.scalar(
        sa.select(WaitlistEntry).where(WaitlistEntry.user_id == laser["amina"].id)
    )
    assert entry.status == WaitStatus.BOOKED and entry.reservation.status == Status.CONFIRMED

    # Léa's turn comes, but the slot is taken again: she is not told a false hope.
    later = sent_mail(first + timedelta(minutes=16))
    assert to(later, "lea@example.org") == []
    dropped = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.recipient_id == laser["lea"].id)
    )
    assert dropped.status == MessageStatus.DROPPED
    assert dropped.last_error == "the slot was taken again before this was sent"


def test_the_next_in_line_is_told_when_the_first_does_not_book(client, auth, laser):
    wait_for_slot(client, auth, laser["amina"])
    client.post("/logout")
    wait_for_slot(client, auth, laser["lea"])
    cancel(laser["taken"].id, laser["karim"].id, "", NOW)
    assert to(sent_mail(NOW), "lea@example.org") == []
    (to_lea,) = to(sent_mail(NOW + timedelta(minutes=15)), "lea@example.org")
    assert text_of(client.get(link(to_lea, "/waitlist/"))).count("Il est libre en ce moment.") == 1


def test_a_refused_request_frees_its_slot_too(client, auth, laser, make):
    laser["resource"].requires_approval = True
    db.session.commit()
    request = book_as(
        laser["resource"],
        laser["lea"],
        starts_at=paris(2026, 6, 4, 10),
        ends_at=paris(2026, 6, 4, 11),
        now=NOW,
    )
    wait_for_slot(client, auth, laser["amina"], {**SLOT, "day": "2026-06-04"})
    refuse(request.id, laser["manager"].id, "Machine en maintenance ce matin-là", NOW)
    assert [subject(m) for m in to(sent_mail(NOW), "amina@example.org")] == [
        "Un créneau s’est libéré : Découpeuse laser, jeudi 4 juin 2026, 10:00"
    ]


def test_the_book_page_says_when_the_slot_is_taken_and_waiting_can_stop(client, auth, laser):
    wait_for_slot(client, auth, laser["amina"])
    entry = db.session.scalar(sa.select(WaitlistEntry))
    page = text_of(client.get(f"/waitlist/{entry.id}/book"))
    assert "Quelqu’un occupe ce créneau en ce moment." in page
    forced = client.post(f"/waitlist/{entry.id}/book", data={})
    assert forced.status_code == 409
    assert "déjà pris" in text_of(forced)
    client.post(f"/waitlist/{entry.id}/withdraw")
    assert "Vous n’attendez aucun créneau." in text_of(client.get("/waitlist"))
    client.post("/logout")
    auth.login(laser["lea"].email)
    assert client.get(f"/waitlist/{entry.id}/book").status_code == 404  # not hers
    assert client.post(f"/waitlist/{entry.id}/withdraw").status_code == 404


# --- within reach: from the weeks, with the nearest free times, what it is for kept ---------

WAIT_LINK = "/waitlist/new?resource=laser&day=2026-06-03&start=10:00&end=12:00"


def test_a_taken_time_on_the_weeks_leads_to_the_waiting_list(app, client, auth, laser):
    # The same link for everyone (the weeks are kept pages): a visitor is asked to log in.
    for page in ("/venues/cape/week?week=2026-06-01", "/resources/laser?week=2026-06-01"):
        html = client.get(page).get_data(as_text=True)
        assert WAIT_LINK.replace("&", "&amp;") in html, page
        assert "un créneau pris pour être prévenu·e s’il se libère" in html, page
    visitor = client.get(WAIT_LINK)
    assert visitor.status_code == 302 and "/login?next=" in visitor.headers["Location"]

    auth.login(laser["amina"].email)
    form = client.get(WAIT_LINK)
    assert form.status_code == 200
    page = text_of(form)
    assert "Me prévenir si ce créneau se libère" in page
    assert 'value="2026-06-03"' in page and 'value="10:00"' in page and 'value="12:00"' in page
    joined = client.post(
        "/waitlist/new?resource=laser",
        data={"day": "2026-06-03", "start": "10:00", "end": "12:00", "purpose": "Maquette"},
    )
    assert joined.status_code == 302 and joined.headers["Location"] == "/waitlist"
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert (entry.user_id, entry.purpose, entry.seats) == (laser["amina"].id, "Maquette", 1)
    assert entry.starts_at == paris(2026, 6, 3, 10) and entry.ends_at == paris(2026, 6, 3, 12)
    assert "C’est noté : nous vous écrirons si ce créneau se libère." in text_of(
        client.get("/waitlist")
    )


def test_the_booking_forms_taken_time_brings_what_was_typed(client, auth, laser):
    auth.login(laser["amina"].email)
    form = text_of(client.get("/reservations/new?resource=laser&day=2026-06-03"))
    assert (
        'name="wait" value="2026-06-03T10:00/12:00" formaction="/waitlist/new?resource=laser"'
        in form
    )
    # The booking form, posted to the waiting-list page by that button.
    page = client.post(
        "/waitlist/new?resource=laser",
        data={**SLOT, "purpose": "Boîtes à bijoux", "wait": "2026-06-03T10:00/12:00"},
    )
    assert page.status_code == 200
    text = text_of(page)
    assert "\nBoîtes à bijoux</textarea>" in text and 'value="12:00"' in text
    assert db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 0  # not yet


def test_a_partly_taken_time_waits_for_more_seats(client, auth, make, laser):
    cowork = make.resource(
        laser["resource"].venue, slug="cowork", name="Co-working", capacity=4, kind="space"
    )
    book_as(
        cowork,
        laser["karim"],
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
        seats=3,
    )
    html = client.get("/resources/cowork?week=2026-06-01").get_data(as_text=True)
    # Still bookable for one seat, and a second link to wait for more.
    assert "1 place libre sur 4" in text_of(client.get("/resources/cowork?week=2026-06-01"))
    more = (
        "/waitlist/new?resource=cowork&amp;day=2026-06-03&amp;start=10:00&amp;end=12:00&amp;seats=2"
    )
    assert more in html and "Plus de places ? Me prévenir" in text_of(
        client.get("/resources/cowork?week=2026-06-01")
    )
    auth.login(laser["amina"].email)
    page = text_of(client.get(more.replace("&amp;", "&")))
    assert 'name="seats"' in page and 'value="2"' in page
    one = {"day": "2026-06-03", "start": "10:00", "end": "12:00", "seats": "1"}
    free = client.post("/waitlist/new?resource=cowork", data=one)
    assert (
        free.status_code == 302 and "/reservations/new?resource=cowork" in free.headers["Location"]
    )
    assert (
        client.post("/waitlist/new?resource=cowork", data={**one, "seats": "2"}).status_code == 302
    )
    assert db.session.scalar(sa.select(WaitlistEntry.seats)) == 2


def test_mistakes_on_the_waiting_page_are_said_next_to_their_fields(client, auth, laser):
    auth.login(laser["amina"].email)
    backwards = client.post(
        "/waitlist/new?resource=laser", data={"day": "2026-06-03", "start": "12:00", "end": "10:00"}
    )
    assert backwards.status_code == 422 and 'id="end-error"' in backwards.get_data(as_text=True)
    past = client.post(
        "/waitlist/new?resource=laser", data={"day": "2026-05-01", "start": "10:00", "end": "11:00"}
    )
    assert past.status_code == 422
    assert "Cette heure est déjà passée." in text_of(past)
    # The hour the clocks skip in spring does not exist: said next to the start.
    gap = client.post(
        "/waitlist/new?resource=laser", data={"day": "2027-03-28", "start": "02:30", "end": "04:00"}
    )
    assert gap.status_code == 422 and 'id="start-error"' in gap.get_data(as_text=True)
    empty = client.post("/waitlist/new?resource=laser", data={"purpose": "x" * 501})
    assert empty.status_code == 422 and "500 caractères au plus" in text_of(empty)
    assert client.get("/waitlist/new?resource=nowhere").status_code == 404
    # Whatever the address holds, the page opens with what it could read.
    assert client.get("/waitlist/new?resource=laser&day=demain&start=25:99").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 0


def test_a_refusal_offers_the_nearest_free_times_here_and_on_similar_resources(
    client, auth, make, laser
):
    venue = laser["resource"].venue
    make.resource(venue, slug="graveuse", name="Graveuse laser")  # equipment, no training
    make.resource(venue, slug="salle", name="Salle de réunion", kind="space")
    training = make.qualification("Formation découpe", venue=venue)
    make.resource(venue, slug="plasma", name="Découpe plasma", qualification_id=training.id)
    auth.login(laser["amina"].email)
    refused = client.post("/reservations/new?resource=laser", data={**SLOT, "purpose": "Lampe"})
    assert refused.status_code == 409
    page = text_of(refused)
    assert "Créneaux libres proches" in page
    # The laser itself: the day asked, nearest first (the morning before, then after the
    # booking and its 30 minutes of cooling).
    same = page.split("Créneaux libres proches", 1)[1].split("Ou une ressource semblable", 1)[0]
    assert same.index("mercredi 3 juin, 08:00–09:00") < same.index("mercredi 3 juin, 12:30–13:30")
    # The same kind and training: the engraver, free at that very time; not the room (a
    # space) nor the plasma cutter (a training of its own).
    similar = page.split("Ou une ressource semblable du même lieu :", 1)[1].split("</section>")[0]
    assert "Graveuse laser" in similar and "mercredi 3 juin, 10:00–11:00" in similar
    assert "Salle de réunion" not in similar and "Découpe plasma" not in similar
    assert (
        'name="pick" value="2026-06-03T10:00/11:00" '
        'formaction="/reservations/new?resource=graveuse#your-slot"' in page
    )
    # Tapped, the other resource's form opens with the time and what was typed.
    moved = client.post(
        "/reservations/new?resource=graveuse",
        data={**SLOT, "purpose": "Lampe", "pick": "2026-06-03T10:00/11:00"},
    )
    assert moved.status_code == 200
    assert "\nLampe</textarea>" in text_of(moved)
    booked = client.post("/reservations/new?resource=graveuse", data={**SLOT, "purpose": "Lampe"})
    assert booked.status_code == 302
    reservation = db.session.scalar(
        sa.select(Reservation).where(Reservation.user_id == laser["amina"].id)
    )
    assert reservation.purpose == "Lampe" and reservation.resource.slug == "graveuse"


def test_the_one_step_booking_keeps_what_it_was_for(client, auth, laser):
    auth.login(laser["amina"].email)
    # As the booking form's button posts it: its fields, purpose included.
    client.post("/waitlist", data={"resource": "laser", **SLOT, "purpose": "Prototype de lampe"})
    client.post("/logout")
    cancel(laser["taken"].id, laser["karim"].id, "", NOW)
    (to_amina,) = to(sent_mail(NOW), "amina@example.org")
    auth.login(laser["amina"].email)
    book = link(to_amina, "/waitlist/")
    page = text_of(client.get(book))
    assert "\nPrototype de lampe</textarea>" in page
    assert client.post(book, data={"purpose": "Prototype de lampe"}).status_code == 302
    booked = db.session.scalar(sa.select(WaitlistEntry)).reservation
    assert booked.purpose == "Prototype de lampe"
