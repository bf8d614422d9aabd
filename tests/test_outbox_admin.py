"""The administrators' e-mails page, the sending commands and the background sender."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from booking.database import run_write
from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Role
from booking.notifications import BackgroundSender
from booking.services import notify

from .conftest import paris
from .support.outbox import sent_mail
from .support.pages import text_of
from .support.smtp import MailServer

NOW = paris(2026, 6, 1, 9, 0)


@pytest.fixture
def admin(make, clock, auth):
    clock.set(NOW)
    person = make.user(is_admin=True, email="admin@example.org")
    auth.login(person.email)
    return person


@pytest.fixture
def reset_message(make):
    amina = make.user(email="amina@example.org", display_name="Amina")
    run_write(lambda s: notify.password_reset(s, amina.id, NOW))
    return db.session.scalar(sa.select(OutboxMessage.id))


def test_the_page_shows_what_was_sent_with_its_words_and_links(client, admin, reset_message):
    waiting = text_of(client.get(f"/admin/messages/{reset_message}"))
    assert "Ce message n’est pas encore rédigé" in waiting
    sent_mail(NOW)
    listing = text_of(client.get("/admin/messages"))
    assert "Aucun serveur de messagerie n’est configuré" in listing
    assert "Choisir un nouveau mot de passe — Tiers-lieux" in listing
    assert "amina@example.org" in listing and "Envoyé" in listing
    detail = text_of(client.get(f"/admin/messages/{reset_message}"))
    assert "Bonjour Amina," in detail
    assert "/password/reset/" in detail  # someone trying the site follows it from here
    download = client.get(f"/admin/messages/{reset_message}.eml")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "message/rfc822"
    assert b"Subject:" in download.data


def test_with_a_mail_server_the_secret_links_stay_the_recipients(client, admin, reset_message, app):
    server = MailServer().start()
    try:
        app.config.update(server.config())
        sent_mail(NOW)
        assert len(server.messages) == 1
        detail = text_of(client.get(f"/admin/messages/{reset_message}"))
        assert "/password/reset/…" in detail
        assert "Les liens qui ouvrent un accès" in detail
        assert client.get(f"/admin/messages/{reset_message}.eml").status_code == 404
        listing = text_of(client.get("/admin/messages"))
        assert f"Envoyés par le serveur de messagerie SMTP 127.0.0.1:{server.port}" in listing
        assert "EXTERNAL_URL n’est pas réglé" in listing
    finally:
        server.stop()


def test_the_send_mail_command(runner, make, reset_message, clock):
    clock.set(NOW)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "1 envoyés, 0 à réessayer plus tard, 0 en échec, 0 devenus inutiles." in result.output
    assert db.session.scalar(sa.select(OutboxMessage.status)) == MessageStatus.SENT


def test_the_background_sender_sends_without_being_asked(app, make):
    server = MailServer().start()
    app.config.update(server.config(), MAIL_POLL_SECONDS=0.1)
    sender = BackgroundSender(app)
    try:
        venue = make.venue(name="Illicoop")
        person = make.user(email="samir@example.org")
        run_write(lambda s: notify.role_granted(s, person.id, venue.id, Role.MEMBER, NOW))
        sender.start()
        (message,) = server.wait_for(1)
        assert message["To"].addresses[0].addr_spec == "samir@example.org"
        time.sleep(0.3)
        assert len(server.messages) == 1  # and only once, however often it looks
    finally:
        sender.stop()
        server.stop()


def test_demo_data_e_mails_nobody(runner):
    """The demo's bookings are history, not news: loading them leaves the outbox empty."""
    from booking.models import Reservation, Status

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    pending = db.session.scalar(
        sa.select(sa.func.count(Reservation.id)).where(Reservation.status == Status.PENDING)
    )
    assert pending > 0  # requests a manager would have been told of
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
