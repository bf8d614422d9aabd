"""Every booking lands in the member's calendar: what a real SMTP server receives when a
booking is confirmed at once, changed, or its change decided, each .ics read back by
icalendar, vobject and ical.js (the parsers behind Python tools, Radicale and Thunderbird)."""

from __future__ import annotations

from datetime import date, time, timedelta
from email.message import EmailMessage

import pytest

from booking.extensions import db
from booking.models import Reservation, User
from booking.notifications import send_due
from booking.services import (
    ChangeRequest,
    LocalMoment,
    Recurrence,
    SeriesRequest,
    approve,
    book_series,
    change,
    change_following,
    refuse,
)
from booking.services.booking.lifecycle import decide_series

from .conftest import Factory, book_as, paris
from .support.icalcheck import read_everywhere_many
from .support.smtp import BASE_URL, MailServer, smtp_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)


@pytest.fixture
def moulins(make: Factory) -> dict:
    venue = make.venue(name="KPA Moulins", slug="kpa-moulins", address="1 rue de Fives, Lille")
    return {
        "venue": venue,
        "kitchen": make.resource(venue, name="Cuisine partagée", requires_approval=True),
        "laser": make.resource(venue, name="Découpeuse laser", slug="laser"),
        "manager": make.manager(venue, display_name="Marie Dupont", email="marie@example.org"),
        "amina": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
    }


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def subject(message: EmailMessage) -> str:
    return plain(str(message["Subject"]))


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return plain(part.get_content())


def ics_of(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [
        (str(part.get_param("method")), part.get_payload(decode=True))
        for part in message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]


def test_an_instant_booking_is_confirmed_by_e_mail_with_its_event(app, moulins, smtp):
    booked = book_as(
        moulins["laser"],
        moulins["amina"],
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
        purpose="Boîtes en bois",
    )
    send_due(NOW)
    (message,) = smtp.to("amina@example.org")
    assert (
        subject(message) == "Réservation confirmée : Découpeuse laser, mercredi 3 juin 2026, 10:00"
    )
    text = body(message)
    assert "Votre réservation est confirmée." in text
    assert "mercredi 3 juin 2026, 10:00 – 12:00" in text
    assert f"{BASE_URL}/profile#notifications" in text  # how to turn it off
    ((method, data),) = ics_of(message)
    (calendar,) = read_everywhere_many([data])
    (event,) = calendar.events
    assert method == "REQUEST" and calendar.properties["METHOD"] == "REQUEST"
    assert (event.uid, event.sequence, event.status) == (booked.uid, 0, "CONFIRMED")
    assert event.start == booked.starts_at


def test_a_member_who_turned_confirmations_off_gets_none(app, moulins, smtp):
    amina = db.session.get(User, moulins["amina"].id)
    amina.notify_confirmations = False
    db.session.commit()
    booked = book_as(
        moulins["laser"],
        amina,
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
    )
    change(
        ChangeRequest(
            booked.id,
            amina.id,
            LocalMoment(date(2026, 6, 4), time(10)),
            LocalMoment(date(2026, 6, 4), time(12)),
        ),
        NOW,
    )
    assert send_due(NOW).sent == 0
    # What a manager changes still reaches her: it changes what she relies on.
    change(
        ChangeRequest(
            booked.id,
            moulins["manager"].id,
            LocalMoment(date(2026, 6, 5), time(10)),
            LocalMoment(date(2026, 6, 5), time(12)),
            reason="Atelier du jeudi",
        ),
        NOW,
    )
    send_due(NOW)
    (message,) = smtp.to("amina@example.org")
    assert (
        subject(message) == "Réservation modifiée : Découpeuse laser, vendredi 5 juin 2026, 10:00"
    )
    text = body(message)
    assert "Marie Dupont, de l’équipe du lieu, a modifié votre réservation." in text
    assert "La raison : Atelier du jeudi" in text
    assert "(avant : jeudi 4 juin 2026, 10:00 – 12:00)" in text


def test_a_change_moves_the_event_in_the_calendar_instead_of_adding_one(app, moulins, smtp):
    amina = moulins["amina"]
    booked = book_as(
        moulins["laser"],
        amina,
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
    )
    change(
        ChangeRequest(
            booked.id,
            amina.id,
            LocalMoment(date(2026, 6, 4), time(14)),
            LocalMoment(date(2026, 6, 4), time(15)),
        ),
        NOW + timedelta(minutes=3),
    )
    send_due(NOW + timedelta(minutes=3))
    first, second = smtp.to("amina@example.org")
    assert subject(second) == "Réservation modifiée : Découpeuse laser, jeudi 4 juin 2026, 14:00"
    assert "Votre réservation est modifiée. Elle est maintenant :" in body(second)
    assert "(avant : mercredi 3 juin 2026, 10:00 – 12:00)" in body(second)
    readings = read_everywhere_many([ics_of(m)[0][1] for m in (first, second)])
    (before,), (after,) = (r.events for r in readings)
    assert after.uid == before.uid == booked.uid
    assert after.sequence == before.sequence + 1
    assert after.start == paris(2026, 6, 4, 14) and after.end == paris(2026, 6, 4, 15)
    assert readings[1].properties["METHOD"] == "REQUEST"


def test_a_change_asked_then_accepted_or_refused(app, moulins, smtp):
    amina, manager = moulins["amina"], moulins["manager"]
    booked = book_as(
        moulins["kitchen"],
        amina,
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
    )
    approve(booked.id, manager.id, NOW)
    asked = change(
        ChangeRequest(
            booked.id,
            amina.id,
            LocalMoment(date(2026, 6, 4), time(14)),
            LocalMoment(date(2026, 6, 4), time(16)),
        ),
        NOW,
    )
    send_due(NOW)
    (to_decide,) = [m for m in smtp.to("marie@example.org") if "Changement" in subject(m)]
    assert subject(to_decide) == (
        "Changement à traiter : Cuisine partagée, jeudi 4 juin 2026, 14:00 — Amina Haddad"
    )
    text = body(to_decide)
    assert "Amina Haddad demande à modifier une réservation de Cuisine partagée" in text
    assert "jeudi 4 juin 2026, 14:00 – 16:00" in text
    assert "(au lieu de : mercredi 3 juin 2026, 10:00 – 12:00)" in text
    assert ics_of(to_decide) == []

    approve(asked.change_id, manager.id, NOW + timedelta(hours=1))
    send_due(NOW + timedelta(hours=1))
    accepted = smtp.to("amina@example.org")[-1]
    assert subject(accepted) == ("Changement accepté : Cuisine partagée, jeudi 4 juin 2026, 14:00")
    ((method, data),) = ics_of(accepted)
    (event,) = read_everywhere_many([data])[0].events
    db.session.expire_all()
    moved = db.session.get(Reservation, booked.id)
    assert (event.uid, event.sequence) == (booked.uid, moved.sequence) == (booked.uid, 2)
    assert event.start == paris(2026, 6, 4, 14) and method == "REQUEST"

    again = change(
        ChangeRequest(
            booked.id,
            amina.id,
            LocalMoment(date(2026, 6, 5), time(9)),
            LocalMoment(date(2026, 6, 5), time(10)),
        ),
        NOW + timedelta(hours=2),
    )
    refuse(again.change_id, manager.id, "Fermé pour inventaire", NOW + timedelta(hours=2))
    send_due(NOW + timedelta(hours=2))
    refused = smtp.to("amina@example.org")[-1]
    assert subject(refused) == "Changement refusé : Cuisine partagée, jeudi 4 juin 2026, 14:00"
    text = body(refused)
    assert (
        "Votre changement n’a pas pu être accepté : votre réservation reste comme elle était."
        in text
    )
    assert "(changement demandé : vendredi 5 juin 2026, 09:00 – 10:00)" in text
    assert "La raison donnée par l’équipe : Fermé pour inventaire" in text


def test_a_series_arrives_as_one_calendar_file_with_all_its_dates(app, moulins, smtp):
    amina = moulins["amina"]
    result = book_series(
        SeriesRequest(
            resource_id=moulins["laser"].id,
            member_id=amina.id,
            actor_id=amina.id,
            recurrence=Recurrence("weekly", date(2026, 6, 2), count=8),
            local_start=time(14),
            local_end=time(16),
        ),
        NOW,
    )
    change_following(
        ChangeRequest(
            result.booked[4].id,
            amina.id,
            LocalMoment(date(2026, 7, 2), time(9)),
            LocalMoment(date(2026, 7, 2), time(11)),
        ),
        NOW,
    )
    send_due(NOW)
    booked, moved = smtp.to("amina@example.org")
    assert subject(booked) == (
        "Réservation confirmée : Découpeuse laser, 8 dates à partir du mardi 2 juin 2026, 14:00"
    )
    assert "Vos 8 réservations sont confirmées." in body(booked)
    assert subject(moved).startswith("Réservation modifiée : Découpeuse laser, 4 dates")
    files = [ics_of(m) for m in (booked, moved)]
    assert [len(f) for f in files] == [1, 1]
    readings = read_everywhere_many([f[0][1] for f in files])
    assert [len(r.events) for r in readings] == [8, 4]
    assert [e.uid for e in readings[0].events] == [r.uid for r in result.booked]
    assert [e.uid for e in readings[1].events] == [r.uid for r in result.booked[4:]]
    assert {e.sequence for e in readings[1].events} == {1}
    assert [e.start.date() for e in readings[1].events] == [
        date(2026, 7, 2),
        date(2026, 7, 9),
        date(2026, 7, 16),
        date(2026, 7, 23),
    ]


def test_an_accepted_series_arrives_as_one_calendar_file_with_all_its_dates(app, moulins, smtp):
    amina = moulins["amina"]
    result = book_series(
        SeriesRequest(
            resource_id=moulins["kitchen"].id,
            member_id=amina.id,
            actor_id=amina.id,
            recurrence=Recurrence("weekly", date(2026, 6, 2), count=8),
            local_start=time(14),
            local_end=time(16),
        ),
        NOW,
    )
    decide_series(result.series.id, moulins["manager"].id, NOW, approve=True)
    send_due(NOW)
    (accepted,) = smtp.to("amina@example.org")
    assert subject(accepted) == (
        "Demande acceptée : Cuisine partagée, 8 dates à partir du mardi 2 juin 2026, 14:00"
    )
    ((method, data),) = ics_of(accepted)
    (reading,) = read_everywhere_many([data])
    assert method == "REQUEST"
    assert [e.uid for e in reading.events] == [r.uid for r in result.booked]
    assert [e.start for e in reading.events] == [
        paris(2026, 6, 2, 14) + timedelta(weeks=i) for i in range(8)
    ]
