"""Every notification arrives at a real SMTP server, in French, with its .ics, once.

The booking lifecycle runs through the services; the outbox is then sent to
aiosmtpd on a loopback port, and each message is read as a mail client would:
its recipient, its French subject and body, and its attached calendar parsed
by icalendar, compared with the reservation and with the member's own feed.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from email.message import EmailMessage

import icalendar
import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Reservation, Role, Status
from booking.notifications import send_due
from booking.security import tokens
from booking.services import (
    Recurrence,
    SeriesRequest,
    approve,
    book_series,
    cancel,
    cancel_series_from,
    expire_pending,
    refuse,
)

from .conftest import Factory, book_as, feed_token, paris
from .support.smtp import BASE_URL, MailServer, smtp_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)
BASE = BASE_URL


@pytest.fixture
def moulins(make: Factory) -> dict:
    venue = make.venue(name="KPA Moulins", slug="kpa-moulins", address="1 rue de Fives, Lille")
    kitchen = make.resource(
        venue, name="Cuisine partagée", slug="cuisine", requires_approval=True, buffer_minutes=30
    )
    return {
        "venue": venue,
        "kitchen": kitchen,
        "manager": make.manager(venue, display_name="Marie Dupont", email="marie@example.org"),
        "amina": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
    }


def plain(text: str) -> str:
    """As a reader sees it: non-breaking spaces as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def subject(message: EmailMessage) -> str:
    return plain(str(message["Subject"]))


def calendars(message: EmailMessage) -> list[tuple[str, icalendar.Calendar]]:
    """Each .ics attached: its Content-Type method parameter, and the parsed calendar."""
    found = []
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            assert part.get_filename().endswith(".ics")
            found.append(
                (str(part.get_param("method")), icalendar.Calendar.from_ical(part.get_content()))
            )
    return found


def only_event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return plain(part.get_content())


def kitchen_request(moulins: dict, day: int = 3) -> Reservation:
    return book_as(
        moulins["kitchen"],
        moulins["amina"],
        starts_at=paris(2026, 6, day, 10),
        ends_at=paris(2026, 6, day, 12),
        now=NOW,
        purpose="Couscous pour la fête des voisins",
    )


def test_a_request_tells_the_managers_and_the_decision_tells_the_member(
    app, client, clock, moulins, smtp, make
):
    quiet = make.manager(moulins["venue"], display_name="Paul", notify_new_requests=False)
    reservation = kitchen_request(moulins)
    assert send_due(NOW).sent == 1
    (request,) = smtp.messages
    assert request["To"].addresses[0].addr_spec == "marie@example.org"
    assert request["From"].addresses[0].addr_spec == "ne-pas-repondre@tiers-lieux.test"
    assert subject(request) == (
        "Demande à traiter : Cuisine partagée, mercredi 3 juin 2026, 10:00 — Amina Haddad"
    )
    text = body(request)
    assert text.startswith("Bonjour Marie Dupont,")
    assert "Amina Haddad demande à réserver Cuisine partagée à KPA Moulins" in text
    assert "mercredi 3 juin 2026, 10:00 – 12:00" in text
    assert "Couscous pour la fête des voisins" in text
    assert f"{BASE}/manage/" in text
    assert calendars(request) == []  # the managers' calendar is their feed
    assert request["Auto-Submitted"] == "auto-generated"
    assert not smtp.to(quiet.email)

    approve(reservation.id, moulins["manager"].id, NOW + timedelta(hours=1))
    assert send_due(NOW + timedelta(hours=1)).sent == 1
    accepted = smtp.messages[1]
    assert accepted["To"].addresses[0].addr_spec == "amina@example.org"
    assert subject(accepted) == "Demande acceptée : Cuisine partagée, mercredi 3 juin 2026, 10:00"
    text = body(accepted)
    assert "Bonne nouvelle : votre demande est acceptée." in text
    assert f"{BASE}/reservations/{reservation.id}" in text
    ((method, calendar),) = calendars(accepted)
    assert method == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    event = only_event(calendar)
    db.session.refresh(reservation)
    assert str(event["UID"]) == reservation.uid
    assert event["SEQUENCE"] == reservation.sequence == 1
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == reservation.starts_at
    assert event.decoded("DTEND") == reservation.ends_at
    assert "mailto:amina@example.org" in str(event["ATTENDEE"])
    assert "mailto:ne-pas-repondre@tiers-lieux.test" in str(event["ORGANIZER"])

    # The member's own feed shows the same event: same UID, same SEQUENCE.
    clock.set(NOW + timedelta(hours=1))
    feed = client.get(f"/feeds/u/{feed_token(moulins['amina'], tokens.MEMBER)}.ics")
    in_feed = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")}[
        reservation.uid
    ]
    assert in_feed["SEQUENCE"] == event["SEQUENCE"]
    assert in_feed.decoded("DTSTART") == event.decoded("DTSTART")

    cancel(
        reservation.id,
        moulins["manager"].id,
        "Fuite d'eau dans la cuisine",
        NOW + timedelta(hours=2),
    )
    assert send_due(NOW + timedelta(hours=2)).sent == 1
    cancelled = smtp.messages[2]
    assert (
        subject(cancelled) == "Réservation annulée : Cuisine partagée, mercredi 3 juin 2026, 10:00"
    )
    text = body(cancelled)
    assert "Marie Dupont, de l’équipe du lieu, a annulé votre réservation." in text
    assert "La raison : Fuite d'eau dans la cuisine" in text
    ((method, calendar),) = calendars(cancelled)
    event = only_event(calendar)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == reservation.uid
    assert event["SEQUENCE"] == 2  # higher: the calendar app replaces its copy
    assert len(smtp.messages) == 3
    assert send_due(NOW + timedelta(days=1)).handled == 0  # nothing is sent twice


def test_refused_and_expired_requests_say_why_and_remove_the_event(app, moulins, smtp):
    refused = kitchen_request(moulins, day=3)
    expiring = kitchen_request(moulins, day=4)
    refuse(refused.id, moulins["manager"].id, "La cuisine est prise pour un atelier", NOW)
    expire_pending(paris(2026, 6, 4, 10, 5))
    send_due(paris(2026, 6, 4, 10, 5))
    to_amina = smtp.to("amina@example.org")
    assert [subject(m) for m in to_amina] == [
        "Demande refusée : Cuisine partagée, mercredi 3 juin 2026, 10:00",
        "Demande expirée sans réponse : Cuisine partagée, jeudi 4 juin 2026, 10:00",
    ]
    assert "La raison donnée par l’équipe : La cuisine est prise pour un atelier" in body(
        to_amina[0]
    )
    assert f"{BASE}/reservations/new?resource=cuisine" in body(to_amina[1])
    for message, reservation in zip(to_amina, (refused, expiring), strict=True):
        ((method, calendar),) = calendars(message)
        event = only_event(calendar)
        assert method == "CANCEL"
        assert str(event["UID"]) == reservation.uid
        assert event["STATUS"] == "CANCELLED"
    # Both requests were decided or expired before the outbox was sent: asking
    # the managers to decide them would mislead, so those messages were dropped.
    assert smtp.to("marie@example.org") == []
    dropped = db.session.execute(
        sa.select(OutboxMessage.status, OutboxMessage.last_error).where(
            OutboxMessage.kind == "request_to_decide"
        )
    ).all()
    assert (
        dropped
        == [(MessageStatus.DROPPED, "the request was decided or withdrawn before this was sent")]
        * 2
    )


def test_a_series_makes_one_message_with_every_date(app, moulins, smtp):
    result = book_series(
        SeriesRequest(
            resource_id=moulins["kitchen"].id,
            member_id=moulins["amina"].id,
            actor_id=moulins["amina"].id,
            recurrence=Recurrence("weekly", date(2026, 6, 2), count=4),
            local_start=time(14),
            local_end=time(17),
            purpose="Atelier cuisine du mardi",
        ),
        NOW,
    )
    assert len(result.booked) == 4
    send_due(NOW)
    (message,) = smtp.messages
    assert subject(message) == (
        "Demande à traiter : Cuisine partagée, 4 dates à partir du mardi 2 juin 2026, 14:00"
        " — Amina Haddad"
    )
    text = body(message)
    assert "4 dates" in text
    for day in ("mardi 2 juin", "mardi 9 juin", "mardi 16 juin", "mardi 23 juin"):
        assert f"{day} 2026, 14:00 – 17:00" in text

    # A manager cancelling the rest of the series: one message, one .ics with every date
    # (a calendar app takes them in one go).
    later = cancel_series_from(
        result.booked[1].id, moulins["manager"].id, "Travaux en juin", NOW + timedelta(hours=1)
    )
    send_due(NOW + timedelta(hours=1))
    (cancelled,) = smtp.to("amina@example.org")
    ((method, calendar),) = calendars(cancelled)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    events = calendar.walk("VEVENT")
    assert len(later) == 3
    assert [str(e["UID"]) for e in events] == [r.uid for r in later]
    assert {str(e["STATUS"]) for e in events} == {"CANCELLED"}


def test_a_booking_made_by_a_manager_is_sent_to_the_member_in_their_language(
    app, moulins, smtp, make
):
    john = make.user(moulins["venue"], display_name="John", email="john@example.org", locale="en")
    reservation = book_as(
        moulins["kitchen"],
        john,
        actor=moulins["manager"],
        starts_at=paris(2026, 6, 5, 9),
        ends_at=paris(2026, 6, 5, 11),
        now=NOW,
    )
    assert reservation.status == Status.CONFIRMED
    send_due(NOW)
    (message,) = smtp.messages
    assert subject(message) == "Booked for you: Cuisine partagée, Friday 5 June 2026, 09:00"
    text = body(message)
    assert text.startswith("Hello John,")
    assert "Marie Dupont booked this for you:" in text
    ((method, calendar),) = calendars(message)
    assert method == "REQUEST"
    assert str(only_event(calendar)["UID"]) == reservation.uid


def test_a_member_cancelling_a_confirmed_booking_gets_the_cancel_for_their_calendar(
    app, moulins, smtp
):
    reservation = kitchen_request(moulins)
    approve(reservation.id, moulins["manager"].id, NOW)
    cancel(reservation.id, moulins["amina"].id, "", NOW + timedelta(minutes=5))
    send_due(NOW + timedelta(minutes=5))
    subjects = [subject(m) for m in smtp.to("amina@example.org")]
    assert subjects == [
        "Demande acceptée : Cuisine partagée, mercredi 3 juin 2026, 10:00",
        "Annulation confirmée : Cuisine partagée, mercredi 3 juin 2026, 10:00",
    ]
    # A request withdrawn before any decision tells nobody.
    withdrawn = kitchen_request(moulins, day=5)
    cancel(withdrawn.id, moulins["amina"].id, "", NOW + timedelta(minutes=10))
    assert send_due(NOW + timedelta(minutes=10)).sent == 0


def test_a_venue_without_managers_sends_its_requests_to_the_administrators(app, make, smtp):
    venue = make.venue(name="Lieu sans équipe")
    machine = make.resource(venue, requires_approval=True, name="Machine")
    admin = make.user(is_admin=True, email="admin@example.org", display_name="Admin")
    member = make.user(venue)
    book_as(
        machine, member, starts_at=paris(2026, 6, 3, 10), ends_at=paris(2026, 6, 3, 11), now=NOW
    )
    send_due(NOW)
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == [admin.email]


def test_roles_and_trainings_are_told(app, moulins, smtp, make):
    """The events that the venue administration raises, called as it will call them."""
    from booking.database import run_write
    from booking.services import outbox

    laser = make.qualification("Sécurité découpe laser")
    make.resource(moulins["venue"], name="Découpeuse laser", qualification_id=laser.id)
    amina = moulins["amina"]

    def record(session):
        place = {"user_id": amina.id, "venue_id": moulins["venue"].id, "role": Role.MANAGER}
        outbox.tell(session, NOW, "role_granted", "role_removed", **place)
        outbox.tell(
            session,
            NOW,
            "training_granted",
            user_id=amina.id,
            qualification_id=laser.id,
            expires_on=date(2026, 12, 31),
        )

    run_write(record)
    send_due(NOW)
    subjects = [subject(m) for m in smtp.to(amina.email)]
    assert subjects == [
        "Vous êtes maintenant gestionnaire de KPA Moulins",
        "Vous n’êtes plus gestionnaire de KPA Moulins",
        "Formation enregistrée : Sécurité découpe laser",
    ]
    training = body(smtp.to(amina.email)[2])
    assert "Elle est valable jusqu’au 31 décembre 2026." in training
    assert "Découpeuse laser" in training


def test_a_closure_cancelling_bookings_tells_each_member_its_reason(app, moulins, smtp):
    from booking.database import run_write
    from booking.services import outbox

    reservation = kitchen_request(moulins)
    approve(reservation.id, moulins["manager"].id, NOW)

    def close(session):
        # What the closure service will do: cancel, then tell.
        booked = session.get(Reservation, reservation.id)
        booked.status = Status.CANCELLED
        booked.sequence += 1
        booked.updated_at = NOW
        booked.decision_reason = "Vacances d'été"
        outbox.tell(
            session, NOW, "cancelled_by_closure", reservations=[booked], reason="Vacances d'été"
        )

    run_write(close)
    send_due(NOW)
    message = smtp.to("amina@example.org")[-1]
    assert subject(message) == (
        "Réservation annulée (fermeture) : Cuisine partagée, mercredi 3 juin 2026, 10:00"
    )
    assert "La raison : Vacances d'été" in body(message)
    ((method, calendar),) = calendars(message)
    assert method == "CANCEL"
    assert only_event(calendar)["SEQUENCE"] == 2


def test_messages_go_out_in_the_order_they_were_written(app, moulins, smtp):
    first = kitchen_request(moulins, day=3)
    approve(first.id, moulins["manager"].id, NOW)
    refuse(kitchen_request(moulins, day=4).id, moulins["manager"].id, "Complet", NOW)
    send_due(NOW)
    assert [subject(m).split(" :")[0] for m in smtp.to("amina@example.org")] == [
        "Demande acceptée",
        "Demande refusée",
    ]
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == len(set(ids))


def test_the_day_before_reminder_is_recorded_once_and_honours_the_preference(
    app, moulins, smtp, make, runner
):
    from booking.services.booking.reminders import record_reminders

    reservation = kitchen_request(moulins, day=3)
    approve(reservation.id, moulins["manager"].id, NOW)
    send_due(NOW)
    sent_before = len(smtp.messages)
    samir = make.user(moulins["venue"], display_name="Samir", remind_day_before=False)
    book_as(
        moulins["kitchen"],
        samir,
        actor=moulins["manager"],
        starts_at=paris(2026, 6, 3, 14),
        ends_at=paris(2026, 6, 3, 15),
        now=NOW,
    )
    send_due(NOW)
    sent_before = len(smtp.messages)

    assert record_reminders(paris(2026, 6, 2, 9)) == 0  # too early in the day
    evening = paris(2026, 6, 2, 18)
    assert record_reminders(evening) == 1  # Amina's, not Samir's (turned off)
    assert record_reminders(evening + timedelta(minutes=10)) == 0  # once
    send_due(evening)
    (reminder,) = smtp.messages[sent_before:]
    assert reminder["To"].addresses[0].addr_spec == "amina@example.org"
    assert subject(reminder) == "Rappel pour demain : Cuisine partagée, mercredi 3 juin 2026, 10:00"
    text = body(reminder)
    assert "Les 30 minutes après votre créneau restent libres" in text
    assert f"{BASE}/profile#notifications" in text
    ((method, calendar),) = calendars(reminder)
    assert method == "REQUEST" and only_event(calendar)["STATUS"] == "CONFIRMED"


def test_the_reminder_command_for_cron(app, moulins, runner, clock):
    reservation = kitchen_request(moulins, day=3)
    approve(reservation.id, moulins["manager"].id, NOW)
    clock.set(paris(2026, 6, 2, 18, 0))
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 rappel à envoyer." in result.output
    assert "0 rappel à envoyer." in runner.invoke(args=["send-reminders"]).output


def test_a_request_found_overdue_when_decided_tells_the_member_it_expired(app, moulins, smtp):
    from booking.services import TransitionError

    reservation = kitchen_request(moulins, day=3)
    late = paris(2026, 6, 3, 10, 30)
    with pytest.raises(TransitionError):
        approve(reservation.id, moulins["manager"].id, late)
    send_due(late)
    (message,) = smtp.to("amina@example.org")
    assert subject(message).startswith("Demande expirée sans réponse : Cuisine partagée")
