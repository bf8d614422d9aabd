"""The administrators' e-mails page, the sending commands and the background sender."""

from __future__ import annotations

import email
import re
import threading
import time
from datetime import timedelta
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa

from booking.database import run_write
from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Role
from booking.notifications import BackgroundSender, hold_interrupted, send_due
from booking.services import outbox
from booking.services.accounts.invitations import invite

from .conftest import paris
from .support.outbox import link, sent_mail
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
    run_write(lambda s: outbox.tell(s, NOW, "password_reset", user_id=amina.id))
    return db.session.scalar(sa.select(OutboxMessage.id))


def test_the_page_shows_what_was_sent_with_its_words_and_links(client, admin, make):
    venue = make.venue(name="Illicoop", slug="illicoop")
    samir = make.user(email="samir@example.org", display_name="Samir")
    run_write(
        lambda s: outbox.tell(
            s, NOW, "role_granted", user_id=samir.id, venue_id=venue.id, role=Role.MEMBER
        )
    )
    message_id = db.session.scalar(sa.select(OutboxMessage.id))
    waiting = text_of(client.get(f"/admin/messages/{message_id}"))
    assert "Ce message n’est pas encore rédigé" in waiting
    sent_mail(NOW)
    listing = text_of(client.get("/admin/messages"))
    assert "Aucun serveur de messagerie n’est configuré" in listing
    assert "samir@example.org" in listing and "Envoyé" in listing
    page = client.get(f"/admin/messages/{message_id}").get_data(as_text=True)
    assert "Bonjour Samir," in page
    assert re.search(r'<a href="http://[^"]+/venues/illicoop">', page)  # links to follow
    download = client.get(f"/admin/messages/{message_id}.eml")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "message/rfc822"
    assert b"Subject:" in download.data


def stored_link(message_id: int, path: str) -> str:
    """The path of the link in the message as it was sent (its kept bytes, decoded)."""
    rendered = db.session.get(OutboxMessage, message_id).rendered
    return link(email.message_from_string(rendered, policy=default_policy), path)


def test_a_link_that_lets_someone_in_is_hidden_until_it_is_used(client, admin, reset_message):
    """Even without a mail server: the page says a link was sent, not the link, while it
    works; the .eml that holds it is not offered. Once used, it opens nothing: shown."""
    sent_mail(NOW)
    reset_link = stored_link(reset_message, "/password/reset/")
    token = reset_link.rsplit("/", 1)[1]
    page = client.get(f"/admin/messages/{reset_message}").get_data(as_text=True)
    assert token not in page
    detail = text_of(client.get(f"/admin/messages/{reset_message}"))
    assert "/password/reset/…" in detail
    assert "Envoyé au destinataire, et masqué ici tant qu’il fonctionne." in detail
    assert "ouvrez-le là pour suivre son lien" in detail
    assert client.get(f"/admin/messages/{reset_message}.eml").status_code == 404

    # Amina uses it (in a browser of her own).
    other = client.application.test_client()
    new = "un mot de passe neuf"
    chosen = other.post(reset_link, data={"new_password": new, "confirm_password": new})
    assert chosen.status_code == 302, chosen.get_data(as_text=True)
    detail = text_of(client.get(f"/admin/messages/{reset_message}"))
    assert token in detail
    assert "utilisé ou expiré depuis, il n’ouvre plus rien" in detail


def test_with_a_mail_server_an_invitation_link_is_hidden_until_it_expires(
    client, admin, app, make, clock, auth
):
    server = MailServer().start()
    try:
        app.config.update(server.config())
        venue = make.venue(name="La Cape")
        manager = make.manager(venue)
        invite(
            venue_id=venue.id,
            actor_id=manager.id,
            email="lea@example.org",
            name="Léa",
            role=Role.MEMBER,
            locale="fr",
            now=NOW,
            valid_for=timedelta(days=14),
        )
        sent_mail(NOW)
        assert len(server.messages) == 1
        message_id = db.session.scalar(sa.select(OutboxMessage.id))
        token = stored_link(message_id, "/invitations/").rsplit("/", 1)[1]
        detail = text_of(client.get(f"/admin/messages/{message_id}"))
        assert token not in detail and "/invitations/…" in detail
        clock.set(NOW + timedelta(days=15))
        auth.login(admin.email)  # a login lasts a day without "stay logged in"
        detail = text_of(client.get(f"/admin/messages/{message_id}"))
        assert token in detail
        assert "utilisé ou expiré depuis, il n’ouvre plus rien" in detail
    finally:
        server.stop()


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


def test_messages_held_after_a_restore_wait_for_an_administrator(client, admin, app, make):
    """Two messages were being sent when the restored backup was taken (here: a sender
    stalled mid-send, as the backup caught it). They wait on the page; the administrator
    sends one, which goes as the very same message, and drops the other."""
    server = MailServer().start()
    try:
        app.config.update(server.config())
        venue = make.venue(name="Illicoop")
        people = [make.user(email=f"membre{n}@example.org") for n in range(2)]
        run_write(
            lambda s: [
                outbox.tell(
                    s, NOW, "role_granted", user_id=p.id, venue_id=venue.id, role=Role.MEMBER
                )
                for p in people
            ]
        )
        first_id, second_id = db.session.scalars(sa.select(OutboxMessage.id)).all()
        server.mode = "stall"
        db.session.remove()
        stalled = threading.Thread(target=lambda: _send_in_context(app, NOW))
        stalled.start()
        server.wait_for(1)
        assert hold_interrupted(NOW + timedelta(hours=5)) == 2  # what `flask restore` does
        server.mode = "accept"
        server.release.set()
        stalled.join(timeout=10)
        assert len(server.messages) == 1  # the second was not sent: its claim was held

        listing = text_of(client.get("/admin/messages"))
        assert "À vérifier : 2" in listing.replace("\u00a0", " ")
        assert "2 messages étaient en cours d’envoi" in listing
        detail = text_of(client.get(f"/admin/messages/{first_id}"))
        assert "le serveur de messagerie l’a peut-être déjà accepté" in detail
        assert "L’envoyer" in detail and "L’abandonner" in detail
        assert send_due(NOW + timedelta(days=1)).handled == 0  # never by itself

        assert client.post(f"/admin/messages/{first_id}/retry").status_code == 302
        assert client.post(f"/admin/messages/{second_id}/drop").status_code == 302
        assert send_due(NOW + timedelta(days=1)).sent == 1
        assert len(server.raw) == 2 and server.raw[0] == server.raw[1]  # the same message
        statuses = dict(db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.status)).all())
        assert statuses == {first_id: MessageStatus.SENT, second_id: MessageStatus.DROPPED}
        assert "Ce message ne sera pas envoyé" not in text_of(
            client.get(f"/admin/messages/{second_id}")
        )
    finally:
        server.stop()


def _send_in_context(app, now) -> None:
    with app.app_context():
        send_due(now)
        db.session.remove()


def test_the_send_mail_command(runner, make, reset_message, clock):
    clock.set(NOW)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert (
        "Envois réussis\u00a0: 1, à réessayer plus tard\u00a0: 0, en échec\u00a0: 0, "
        "devenus inutiles\u00a0: 0." in result.output
    )
    assert db.session.scalar(sa.select(OutboxMessage.status)) == MessageStatus.SENT


def test_the_background_sender_sends_without_being_asked(app, make):
    server = MailServer().start()
    app.config.update(server.config(), MAIL_POLL_SECONDS=0.1)
    sender = BackgroundSender(app)
    try:
        venue = make.venue(name="Illicoop")
        person = make.user(email="samir@example.org")
        run_write(
            lambda s: outbox.tell(
                s, NOW, "role_granted", user_id=person.id, venue_id=venue.id, role=Role.MEMBER
            )
        )
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
