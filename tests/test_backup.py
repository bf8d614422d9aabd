"""A backup, restored, gives back exactly the data it was taken from, on both databases;
only its owner may read it, and the database password never shows on a command line."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from booking import create_app
from booking.database import run_write
from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage, Reservation, Role, Venue
from booking.notifications import hold_interrupted, send_due
from booking.services import outbox

from .conftest import base_config, paris
from .support.postgres import TempPostgres
from .support.smtp import smtp_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    data = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            data[table.name] = [
                tuple(row) for row in connection.execute(sa.select(table).order_by(*order))
            ]
    return data


def test_a_backup_restores_every_row(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = snapshot()
    assert before["reservation"] and before["feed_stamp"]

    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (copy,) = (tmp_path / "backups").iterdir()

    # Life goes on after the backup, then something goes wrong.
    db.session.execute(sa.delete(Reservation).where(Reservation.id > 3))
    db.session.add(Venue(slug="apres", name="Après la sauvegarde"))
    db.session.commit()
    db.session.remove()
    assert snapshot() != before

    refused = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert refused.exit_code != 0 and snapshot() != before  # asked first, said no
    result = runner.invoke(args=["restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before

    # The restored database works as before, its triggers included.
    reservation = db.session.scalar(sa.select(Reservation).limit(1))
    reservation.sequence += 1
    db.session.commit()
    stamps = db.session.execute(sa.text("SELECT sum(version) FROM feed_stamp")).scalar()
    assert stamps > sum(row[2] for row in before["feed_stamp"])


def test_e_mails_being_sent_at_backup_time_are_held_after_a_restore(
    app, make, runner: FlaskCliRunner, smtp, clock, tmp_path: Path
) -> None:
    """The nightly backup runs while a sender is sending two messages; they go out after
    it. Restoring that backup must not send them again ("Demande acceptée" twice): they
    wait for an administrator, who can tell whether they arrived."""
    now = paris(2026, 6, 1, 3, 15)
    venue = make.venue(name="KPA Moulins")
    people = [make.user(email=f"membre{n}@example.org") for n in range(2)]
    run_write(
        lambda session: [
            outbox.tell(
                session, now, "role_granted", user_id=person.id, venue_id=venue.id, role=Role.MEMBER
            )
            for person in people
        ]
    )
    smtp.mode = "stall"  # the server has the first message, the sender awaits its answer
    db.session.remove()

    def sender() -> None:
        with app.app_context():
            send_due(now)
            db.session.remove()

    sending = threading.Thread(target=sender)
    sending.start()
    smtp.wait_for(1)
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    smtp.mode = "accept"
    smtp.release.set()
    sending.join(timeout=10)
    assert len(smtp.messages) == 2  # both went out after the backup
    (copy,) = (tmp_path / "backups").iterdir()

    clock.set(now + timedelta(hours=5))
    result = runner.invoke(args=["restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 e-mails étaient en cours d’envoi quand la sauvegarde a été faite" in result.output

    assert send_due(now + timedelta(days=1)).handled == 0
    assert len(smtp.messages) == 2  # nobody got them again
    statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)))
    assert statuses == Counter({MessageStatus.HELD: 2})


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_a_backup_older_than_held_messages_gets_them_as_failed(app, runner: FlaskCliRunner) -> None:
    """A backup taken before an upgrade, restored after it failed: its schema has no
    "held" yet. What it shows being sent is marked failed, which no sender sends by
    itself either, and administrators see and decide as well."""
    result = runner.invoke(args=["db", "downgrade", "9eeb11ee391e"])
    assert result.exit_code == 0, result.output
    db.session.execute(
        sa.text(
            "INSERT INTO outbox_message (kind, to_address, payload, status, attempts, "
            "due_at, lease_until, created_at, last_error, subject, sent_to) VALUES "
            "('invitation', 'lea@example.org', '{}', 'sending', 1, '2026-06-01 01:00:00', "
            "'2026-06-01 01:02:00', '2026-06-01 01:00:00', '', '', '')"
        )
    )
    db.session.commit()
    assert hold_interrupted(paris(2026, 6, 1, 9)) == 1
    status = db.session.execute(sa.text("SELECT status FROM outbox_message")).scalar_one()
    assert status == "failed"


def test_backups_are_readable_by_their_owner_only(runner: FlaskCliRunner, app: Flask) -> None:
    """A backup holds every e-mail address and password hash: nobody else on the server
    may read it, even in a folder that an earlier version made open to all."""
    folder = Path(app.instance_path) / "backups"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    (copy,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    elsewhere = Path(app.instance_path) / "new" / "backups"
    assert runner.invoke(args=["backup", "--to", str(elsewhere)]).exit_code == 0
    (copy,) = elsewhere.iterdir()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600


SPY = """#!/bin/sh
printf '%s\\n' "$0" "$@" >> "{log}"
exec "{real}" "$@"
"""


def test_the_database_password_stays_off_the_command_line(
    postgres_server: TempPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a password in DATABASE_URL, pg_dump and pg_restore get it through their
    environment: a command line can be read by every account on the server (ps)."""
    password = "backup-password-9f3c"
    admin = f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS booking_pw")
        connection.execute("DROP ROLE IF EXISTS booking_pw")
        connection.execute(f"CREATE ROLE booking_pw LOGIN PASSWORD '{password}'")
        connection.execute("CREATE DATABASE booking_pw OWNER booking_pw")
        hba = postgres_server.data / "pg_hba.conf"
        rule = "host all booking_pw 127.0.0.1/32 scram-sha-256\n"
        if rule not in hba.read_text():
            hba.write_text(rule + hba.read_text())
        connection.execute("SELECT pg_reload_conf()")
    where = f"host=127.0.0.1 port={postgres_server.port} dbname=booking_pw user=booking_pw"
    with pytest.raises(psycopg.OperationalError):  # the password is needed
        psycopg.connect(where).close()
    with psycopg.connect(f"{where} password={password}", autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (n integer)")
        connection.execute("INSERT INTO kept VALUES (42)")

    # What any account would see of the two commands: their command lines, kept by a
    # program of the same name ahead on PATH that then runs the real one.
    spies, log = tmp_path / "bin", tmp_path / "command-lines.txt"
    spies.mkdir()
    for name in ("pg_dump", "pg_restore"):
        real = shutil.which(name)
        assert real, f"{name} is not installed"
        spy = spies / name
        spy.write_text(SPY.format(log=log, real=real))
        spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spies}:{os.environ['PATH']}")
    monkeypatch.delenv("PGPASSWORD", raising=False)

    url = f"postgresql+psycopg://booking_pw:{password}@127.0.0.1:{postgres_server.port}/booking_pw"
    app = create_app(base_config(tmp_path / "instance", url))
    runner = app.test_cli_runner()
    with app.app_context():
        result = runner.invoke(args=["backup"])
        assert result.exit_code == 0, result.output
        (copy,) = (tmp_path / "instance" / "backups").iterdir()
        with psycopg.connect(f"{where} password={password}", autocommit=True) as connection:
            connection.execute("DELETE FROM kept")
        result = runner.invoke(args=["restore", str(copy), "--yes"])
        assert result.exit_code == 0, result.output
    with psycopg.connect(f"{where} password={password}") as connection:
        assert connection.execute("SELECT n FROM kept").fetchall() == [(42,)]

    command_lines = log.read_text()
    assert "pg_dump" in command_lines and "pg_restore" in command_lines
    assert password not in command_lines
