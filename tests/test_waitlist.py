"""The waiting list: told in order when a taken slot frees, and booked in one step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Status, WaitlistEntry, WaitStatus
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
    assert 'name="day" value="2026-06-03"' in page and 'name="start" value="10:00"' in page

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
