"""A sender killed between the mail server's acceptance and its own record of it.

A real ``flask --app booking send-mail`` process sends a batch to a real SMTP
server, which takes the second message and then kills the process (SIGKILL)
before answering. A second ``send-mail`` run, once the dead sender's lease has
passed, sends what is left. Each message arrives, and a message that arrives
twice is the very same bytes with the same Message-ID, never a different one.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.database import run_write
from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Role
from booking.services import outbox

from .conftest import book_as
from .support.smtp import BASE_URL, MailServer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[1]
PARIS = ZoneInfo("Europe/Paris")


def send_mail(database_url: str, server: MailServer) -> subprocess.Popen[str]:
    """``flask --app booking send-mail`` in a process of its own, as cron runs it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-of-sufficient-length",
        "EXTERNAL_URL": BASE_URL,
        "MAIL_FROM": "Tiers-lieux <ne-pas-repondre@tiers-lieux.test>",
        **{key: str(value) for key, value in server.config().items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "booking", "send-mail"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sender_killed_after_the_server_took_a_message_loses_nothing_and_changes_nothing(
    app, make, database_url
):
    # The sender runs on the real clock: the batch is recorded now, about tomorrow.
    now = datetime.now(UTC)
    tomorrow = (now.astimezone(PARIS) + timedelta(days=1)).date()
    venue = make.venue(name="KPA Moulins")
    kitchen = make.resource(venue, name="Cuisine partagée", requires_approval=True)
    managers = [
        make.manager(venue, email="marie@example.org"),
        make.manager(venue, email="karim@example.org"),
    ]
    amina = make.user(venue, email="amina@example.org")
    for day in (tomorrow, tomorrow + timedelta(days=1)):
        book_as(
            kitchen,
            amina,
            starts_at=datetime(day.year, day.month, day.day, 10, tzinfo=PARIS),
            ends_at=datetime(day.year, day.month, day.day, 11, tzinfo=PARIS),
            now=now,
        )
    newcomers = [make.user(email=f"nouveau{n}@example.org") for n in range(3)]
    run_write(
        lambda session: [
            outbox.tell(
                session, now, "role_granted", user_id=person.id, venue_id=venue.id, role=Role.MEMBER
            )
            for person in newcomers
        ]
    )
    manager_emails = [manager.email for manager in managers]
    newcomer_emails = [person.email for person in newcomers]
    batch = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    assert batch == 7  # two requests for each of two managers, three welcomes to a role
    db.session.remove()

    server = MailServer().start()
    try:
        first = send_mail(database_url, server)
        server.kill(first.pid, after=2)  # takes the 2nd message, kills, then answers
        first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL
        assert len(server.messages) == 2

        # The dead sender's lease passes (two minutes, moved here rather than waited).
        left = db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.SENDING)
            .values(lease_until=now - timedelta(seconds=1))
        ).rowcount
        db.session.commit()
        assert left == batch - 1

        second = send_mail(database_url, server)
        _, errors = second.communicate(timeout=60)
        assert second.returncode == 0, errors
    finally:
        server.stop()

    # Nothing lost: every message of the batch arrived, the managers' requests included.
    assert db.session.scalars(sa.select(OutboxMessage.status)).all() == [MessageStatus.SENT] * 7

    def received(address: str) -> set[str]:
        return {str(message["Message-ID"]) for message in server.to(address)}

    assert [len(received(address)) for address in manager_emails] == [2, 2]
    assert [len(received(address)) for address in newcomer_emails] == [1, 1, 1]
    # Nothing different: one Message-ID per message, and its copies byte for byte alike.
    copies: dict[str, set[bytes]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for message, raw in zip(server.messages, server.raw, strict=True):
        copies[str(message["Message-ID"])].add(raw)
        counts[str(message["Message-ID"])] += 1
    assert len(copies) == batch
    assert all(len(versions) == 1 for versions in copies.values())
    assert sorted(counts.values()) == [1] * (batch - 1) + [2]  # the killed one, twice at most
    kept = db.session.scalars(sa.select(OutboxMessage.rendered)).all()
    assert {message_id.strip() for message_id in copies} == {
        str(email.message_from_string(text, policy=default_policy)["Message-ID"]).strip()
        for text in kept
    }
