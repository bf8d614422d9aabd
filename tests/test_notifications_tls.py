"""The mail server's settings as a deployment sets them: STARTTLS or TLS, a login, a CA.

A throw-away certificate for 127.0.0.1 is made with openssl; the client
checks it against SMTP_CA_FILE, as it would check a real server's against
the system's authorities.
"""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from email.policy import default as default_policy
from pathlib import Path

import pytest
from flask import Flask

from booking.database import run_write
from booking.models import Role
from booking.notifications import send_due
from booking.services import outbox

from .conftest import Factory, paris
from .support.smtp import MailServer

NOW = paris(2026, 6, 1, 8, 0)
LOGIN = ("reservations@tiers-lieux.test", "mot de passe du relais")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _one_message(make: Factory) -> None:
    venue = make.venue(name="La Cape")
    person = make.user(email="lea@example.org")
    run_write(
        lambda s: outbox.tell(
            s, NOW, "role_granted", user_id=person.id, venue_id=venue.id, role=Role.MEMBER
        )
    )


@pytest.fixture
def starttls(certificate) -> Iterator[MailServer]:
    server = MailServer(tls_context=_server_context(certificate), login=LOGIN).start()
    yield server
    server.stop()


def test_starttls_and_login(app: Flask, make: Factory, starttls: MailServer, certificate) -> None:
    app.config.update(
        starttls.config(),
        SMTP_SECURITY="starttls",
        SMTP_USER=LOGIN[0],
        SMTP_PASSWORD=LOGIN[1],
        SMTP_CA_FILE=str(certificate[0]),
    )
    _one_message(make)
    assert send_due(NOW).sent == 1
    assert starttls.logins == [LOGIN[0]]
    (message,) = starttls.messages
    assert message["To"].addresses[0].addr_spec == "lea@example.org"


def test_a_wrong_password_is_retried_and_said(app, make, starttls, certificate) -> None:
    app.config.update(
        starttls.config(),
        SMTP_SECURITY="starttls",
        SMTP_USER=LOGIN[0],
        SMTP_PASSWORD="wrong",
        SMTP_CA_FILE=str(certificate[0]),
    )
    _one_message(make)
    report = send_due(NOW)
    assert report.retrying == 1 and starttls.messages == []


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(app, make, starttls) -> None:
    app.config.update(starttls.config(), SMTP_SECURITY="starttls", SMTP_USER=LOGIN[0])
    _one_message(make)
    assert send_due(NOW).retrying == 1
    assert starttls.messages == []


def test_tls_from_the_first_byte(app, make, certificate) -> None:
    server = MailServer(tls_context=_server_context(certificate), implicit_tls=True).start()
    try:
        app.config.update(server.config(), SMTP_SECURITY="tls", SMTP_CA_FILE=str(certificate[0]))
        _one_message(make)
        assert send_due(NOW).sent == 1
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_without_a_mail_server_messages_are_files(app, make) -> None:
    assert not app.config["SMTP_HOST"]
    _one_message(make)
    assert send_due(NOW).sent == 1
    (written,) = (Path(app.instance_path) / "mail").glob("*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=default_policy)
    assert message["Subject"] == "Vous êtes maintenant membre de La Cape"
    assert message["To"].addresses[0].addr_spec == "lea@example.org"
