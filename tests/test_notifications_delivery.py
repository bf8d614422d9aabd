"""Never lost, never twice: a mail server that refuses, disappears mid-send, then comes back.

On SQLite and PostgreSQL: messages wait in the outbox while the server is
down, are tried again with growing delays, and each one arrives exactly once
when it is back; a message refused for good is shown to administrators, who
can send it again; senders that race (threads here, standing for workers or
servers) never send one message twice; a sender that dies mid-batch leaves
its messages to another one.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.database import run_write
from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Role, Venue
from booking.notifications import send_due
from booking.notifications.sender import LEASE, MAX_ATTEMPTS, RETRY_DELAYS, claim
from booking.services import expire_pending, outbox
from booking.services.accounts.passwords import request_password_reset

from .conftest import Factory, book_as, paris
from .support.outbox import link
from .support.smtp import BASE_URL, MailServer, smtp_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)


def record_messages(make: Factory, count: int) -> list[int]:
    """``count`` messages to as many members, as a role change records them."""
    venue = make.venue(name="KPA Moulins")
    people = [make.user(email=f"membre{n}@example.org") for n in range(count)]

    def work(session):
        for person in people:
            outbox.tell(
                session, NOW, "role_granted", user_id=person.id, venue_id=venue.id, role=Role.MEMBER
            )

    run_write(work)
    return [p.id for p in people]


def statuses() -> Counter:
    return Counter(db.session.scalars(sa.select(OutboxMessage.status)))


def message_ids(server: MailServer) -> Counter:
    return Counter(str(m["Message-ID"]) for m in server.messages)


def test_an_outage_delays_messages_and_each_arrives_once(app, make, smtp):
    record_messages(make, 3)

    smtp.mode = "refuse"  # 451: busy, try later
    report = send_due(NOW)
    assert (report.sent, report.retrying) == (0, 3)
    assert smtp.messages == []
    # Not again before the delay: a refusing server is not hammered.
    assert send_due(NOW + timedelta(seconds=30)).handled == 0

    smtp.mode = "drop"  # the connection is cut after the message, before the answer
    later = NOW + RETRY_DELAYS[0]
    report = send_due(later)
    assert report.sent == 0 and report.retrying == 3
    assert smtp.messages == []

    smtp.stop()  # gone altogether: the connection is refused
    later += RETRY_DELAYS[1]
    assert send_due(later).retrying == 3
    problems = db.session.scalars(sa.select(OutboxMessage.last_error)).all()
    assert all("Connection refused" in p or "ConnectionRefusedError" in p for p in problems)

    smtp.mode = "accept"
    smtp.start()  # back, on the same port
    later += RETRY_DELAYS[2]
    report = send_due(later)
    assert report.sent == 3
    assert len(smtp.messages) == 3
    assert set(message_ids(smtp).values()) == {1}  # each exactly once
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in smtp.messages) == [
        f"membre{n}@example.org" for n in range(3)
    ]
    assert statuses() == Counter({MessageStatus.SENT: 3})
    assert db.session.scalars(sa.select(OutboxMessage.attempts)).all() == [4, 4, 4]
    # Nothing more to send, however often the sender looks.
    assert send_due(later + timedelta(days=2)).handled == 0
    assert len(smtp.messages) == 3


def test_a_retry_sends_the_very_same_message(app, make, smtp):
    record_messages(make, 1)
    smtp.mode = "drop"
    send_due(NOW)
    first_try = db.session.scalar(sa.select(OutboxMessage.rendered))
    assert first_try and "Message-ID" in first_try
    smtp.mode = "accept"
    send_due(NOW + RETRY_DELAYS[0])
    (message,) = smtp.messages
    # Same Message-ID and date as the first try: mail servers can tell it is one message.
    assert str(message["Message-ID"]).strip() in first_try
    assert str(message["Date"]) in first_try


def test_a_message_refused_for_good_is_shown_to_administrators_who_can_send_it_again(
    app, make, smtp, client, auth, clock
):
    clock.set(NOW)  # the administrator logs in on the day the message fails
    admin = make.user(is_admin=True, email="admin@example.org")
    record_messages(make, 1)
    smtp.mode = "reject"  # 550: no such mailbox
    report = send_due(NOW)
    assert report.failed == 1
    failed = db.session.scalar(sa.select(OutboxMessage))
    assert failed.status == MessageStatus.FAILED
    assert failed.last_error.startswith("SMTPRecipientsRefused") or "550" in failed.last_error

    auth.login(admin.email)
    page = client.get("/admin/messages").get_data(as_text=True)
    assert "En échec" in page
    detail = client.get(f"/admin/messages/{failed.id}").get_data(as_text=True)
    assert "550" in detail
    assert "Le renvoyer" in detail

    smtp.mode = "accept"
    assert send_due(NOW + timedelta(days=3)).handled == 0  # failed stays failed by itself
    clock.set(NOW + timedelta(days=3))
    auth.login(admin.email)  # a login lasts a day without "stay logged in"
    response = client.post(f"/admin/messages/{failed.id}/retry")
    assert response.headers["Location"].startswith("/admin/messages")
    assert response.status_code == 302
    assert send_due(NOW + timedelta(days=3)).sent == 1
    assert len(smtp.messages) == 1


def test_too_many_failures_end_in_failed(app, make, smtp):
    record_messages(make, 1)
    smtp.mode = "refuse"
    moment = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = send_due(moment)
        assert report.handled == 1, attempt
        if attempt < MAX_ATTEMPTS:
            moment += RETRY_DELAYS[attempt - 1]
    assert report.failed == 1
    assert statuses() == Counter({MessageStatus.FAILED: 1})
    # The delays add up to nearly two days of trying.
    assert moment - NOW == sum(RETRY_DELAYS, timedelta())
    assert timedelta(days=1, hours=12) < moment - NOW < timedelta(days=2)


def test_a_sender_that_died_mid_batch_leaves_its_messages_to_another(app, make, smtp):
    record_messages(make, 2)
    claimed = claim(NOW)  # a sender takes them, then its process dies
    assert len(claimed) == 2
    assert send_due(NOW + timedelta(minutes=1)).handled == 0  # leased: nobody else sends them
    report = send_due(NOW + LEASE + timedelta(seconds=1))
    assert report.sent == 2
    assert set(message_ids(smtp).values()) == {1}


@pytest.mark.slow
def test_racing_senders_send_each_message_once(app, make, smtp):
    """Four senders at once (standing for workers or servers), a slow mail server:
    on PostgreSQL they claim with SKIP LOCKED, on SQLite they queue on the write lock."""
    record_messages(make, 40)
    smtp.delay = 0.02
    db.session.remove()
    reports = []
    errors = []
    start = threading.Barrier(4)

    def sender() -> None:
        with app.app_context():
            try:
                start.wait()
                reports.append(send_due(NOW, limit=5))
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.sent for r in reports) == 40
    assert len(smtp.messages) == 40
    assert set(message_ids(smtp).values()) == {1}
    assert len([r for r in reports if r.sent]) >= 2  # they did share the work
    assert statuses() == Counter({MessageStatus.SENT: 40})


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_claim_takes_other_rows_than_a_claim_in_progress(app, make):
    """SKIP LOCKED: while one sender's claim holds rows, another takes the next ones at once,
    neither waiting for it nor taking the same rows."""
    record_messages(make, 4)
    db.session.remove()
    other = db.engine.connect()
    transaction = other.begin()
    held = (
        other.execute(sa.text("SELECT id FROM outbox_message ORDER BY id LIMIT 2 FOR UPDATE"))
        .scalars()
        .all()
    )
    taken: list[list[tuple[int, int]]] = []

    def second_sender() -> None:
        with app.app_context():
            taken.append(claim(NOW))
            db.session.remove()

    thread = threading.Thread(target=second_sender)
    thread.start()
    thread.join(timeout=5)
    waited = thread.is_alive()
    transaction.rollback()  # lets a waiting claim finish, so the test ends either way
    thread.join(timeout=5)
    other.close()
    assert not waited, "the claim waited for the other sender's rows"
    (claimed,) = taken
    assert {message_id for message_id, _ in claimed}.isdisjoint(held)
    assert len(claimed) == 2


def test_a_password_link_delayed_by_an_outage_still_works_when_it_arrives(
    app, make, smtp, client, clock
):
    """A password link lasts two hours: after a longer outage, the message is written
    again with a fresh link (and the same Message-ID), not sent dead."""
    make.user(email="amina@example.org")
    request_password_reset("amina@example.org", NOW)
    smtp.stop()
    moment = NOW
    for delay in (timedelta(0), *RETRY_DELAYS[:4]):  # at 0, 1, 6, 21 and 81 minutes: down
        moment += delay
        assert send_due(moment).retrying == 1
    first = db.session.scalar(sa.select(OutboxMessage.rendered))
    smtp.start()
    moment += RETRY_DELAYS[4]  # back 4 h 21 after the request
    assert send_due(moment).sent == 1
    (message,) = smtp.messages
    assert str(message["Message-ID"]).strip() in first
    clock.set(moment + timedelta(minutes=5))
    page = client.get(link(message, "/password/reset/"))
    assert page.status_code == 200


def test_a_sender_stalled_after_the_server_took_a_message_is_relieved_with_the_same_bytes(
    app, make, smtp
):
    """The server holds the message but its sender never hears back (as when the sender is
    killed before recording it): once the lease passes, another sender sends the very same
    bytes, with the same Message-ID, and the stalled one records nothing over it."""
    record_messages(make, 1)
    smtp.mode = "stall"
    db.session.remove()
    stalled: list = []

    def first_sender() -> None:
        with app.app_context():
            stalled.append(send_due(NOW))
            db.session.remove()

    thread = threading.Thread(target=first_sender)
    thread.start()
    smtp.wait_for(1)  # taken by the server; no answer yet
    smtp.mode = "accept"
    report = send_due(NOW + LEASE + timedelta(minutes=1))
    smtp.release.set()
    thread.join(timeout=10)
    assert report.sent == 1
    first, second = smtp.raw
    assert first == second  # the same bytes: same Message-ID, same Date, same words
    assert len(message_ids(smtp)) == 1
    assert stalled[0].sent == 0  # its answer came after another sender took the message over
    assert statuses() == Counter({MessageStatus.SENT: 1})


def test_a_request_whose_sender_died_reaches_the_manager_before_it_starts(app, make, smtp):
    """Asked at 8:20 for 8:30. The sender that claimed the manager's e-mail is killed; the
    others look every minute, and the watch expires requests whose start passes. The lease
    is short: the manager hears of the request while it can still be decided (with the old
    quarter of an hour, the request expired first and its e-mail was dropped)."""
    venue = make.venue(name="KPA Moulins")
    kitchen = make.resource(venue, name="Cuisine", requires_approval=True)
    make.manager(venue, email="marie@example.org")
    member = make.user(venue, email="amina@example.org")
    asked = paris(2026, 6, 1, 8, 20)
    book_as(
        kitchen,
        member,
        starts_at=paris(2026, 6, 1, 8, 30),
        ends_at=paris(2026, 6, 1, 9, 30),
        now=asked,
    )
    assert len(claim(asked)) == 1  # taken by a sender whose process is then killed
    moment = asked
    while moment < asked + timedelta(minutes=20):
        moment += timedelta(minutes=1)
        expire_pending(moment)
        send_due(moment)
    (message,) = smtp.to("marie@example.org")
    assert "Cuisine" in str(message["Subject"])
    kinds = dict(db.session.execute(sa.select(OutboxMessage.kind, OutboxMessage.status)).all())
    assert kinds["request_to_decide"] == MessageStatus.SENT


def test_when_the_server_is_back_the_messages_waiting_on_it_go_at_once(app, make, smtp):
    """An outage: the messages wait their delay. The first message the server takes again
    brings them along in the same run, instead of each one waiting out its own delay."""
    record_messages(make, 3)
    smtp.stop()
    assert send_due(NOW).retrying == 3  # unreachable: each would wait a minute, then more
    smtp.start()
    back = NOW + timedelta(seconds=20)
    venue = db.session.scalar(sa.select(Venue))
    newcomer = make.user(email="nouveau@example.org")
    run_write(
        lambda s: outbox.tell(
            s, back, "role_granted", user_id=newcomer.id, venue_id=venue.id, role=Role.MEMBER
        )
    )
    report = send_due(back)
    assert report.sent == 4
    assert len(smtp.messages) == 4
    assert set(message_ids(smtp).values()) == {1}
    assert statuses() == Counter({MessageStatus.SENT: 4})


def test_a_busy_server_keeps_the_delays_of_what_it_refused(app, make, smtp):
    """A server that answers "busy, try later" is up: a message it takes does not send the
    others before their delay, lest they spend every try against a server that limits."""
    record_messages(make, 2)
    smtp.mode = "refuse"
    assert send_due(NOW).retrying == 2
    smtp.mode = "accept"
    back = NOW + timedelta(seconds=20)
    venue = db.session.scalar(sa.select(Venue))
    newcomer = make.user(email="nouveau@example.org")
    run_write(
        lambda s: outbox.tell(
            s, back, "role_granted", user_id=newcomer.id, venue_id=venue.id, role=Role.MEMBER
        )
    )
    assert send_due(back).sent == 1
    assert send_due(NOW + RETRY_DELAYS[0]).sent == 2


def test_send_mail_now_sends_what_waits_for_its_next_try(app, make, smtp, runner, clock):
    record_messages(make, 2)
    smtp.stop()
    assert send_due(NOW).retrying == 2
    smtp.start()
    clock.set(NOW + timedelta(seconds=20))
    waiting = runner.invoke(args=["send-mail"])
    assert (
        "Envois réussis\u00a0: 0," in waiting.output and smtp.messages == []
    )  # each waits its delay
    result = runner.invoke(args=["send-mail", "--now"])
    assert result.exit_code == 0, result.output
    assert "2 messages qui attendaient leur prochain essai partent maintenant." in result.output
    assert "Envois réussis\u00a0: 2," in result.output
    assert len(smtp.messages) == 2


def test_a_batch_reads_its_messages_and_what_they_report_once(app, make, smtp):
    """Ten thousand reminders the evening before: each message costs only what its kind
    reads besides, its row, its recipient and the reservations it reports being read with
    the batch's."""
    from .support.sql import statements

    venue = make.venue(name="KPA Moulins")
    laser = make.resource(venue, name="Découpeuse laser")
    # (Without the confirmation each instant booking sends: the batch is of one kind.)
    people = [
        make.user(venue, email=f"membre{n}@example.org", notify_confirmations=False)
        for n in range(12)
    ]
    booked = [
        book_as(
            laser,
            person,
            starts_at=NOW + timedelta(days=1, hours=n),
            ends_at=NOW + timedelta(days=1, hours=n, minutes=30),
            now=NOW,
        )
        for n, person in enumerate(people)
    ]
    run_write(lambda session: outbox.to_members(session, "accepted", booked, NOW))
    db.session.remove()
    with statements() as sent:
        report = send_due(NOW)
    assert report.sent == 12
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    for table in ("outbox_message", "reservation", '"user"'):
        assert sum(f"FROM {table}" in s for s in reads) <= 2, (table, reads)
