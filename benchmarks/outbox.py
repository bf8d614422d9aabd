"""Outbox benchmark: what telling people costs a use case, and how fast messages go out.

Prints, on SQLite and PostgreSQL:
  * the time of one decision (approve) with its outbox row, the same with the
    recording turned off, and their ratio: the price of "never lost";
  * messages per second rendered and sent (an "accepted" e-mail with its .ics)
    to a real SMTP server on a loopback port (aiosmtpd), by one sender and by
    four racing senders (each message still sent once), and to files.

Run it with `make bench` or `.venv/bin/python benchmarks/outbox.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import (  # noqa: E402
    Membership,
    OpeningPeriod,
    OutboxMessage,
    Resource,
    ResourceKind,
    Role,
    User,
    Venue,
)
from booking.notifications import send_due  # noqa: E402
from booking.services import approve, book, outbox  # noqa: E402
from tests.support.i18n import compile_stale_catalogues  # noqa: E402
from tests.support.postgres import TempPostgres  # noqa: E402
from tests.support.smtp import MailServer  # noqa: E402

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def make_app(url: str, folder: Path):
    app = create_app(
        {
            "SECRET_KEY": "benchmark-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(folder),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "MAIL_SEND_IN_BACKGROUND": False,
            "BASE_URL": "https://reservations.example.org",
        }
    )
    with app.app_context():
        upgrade()
    return app


def requests(count: int) -> list[int]:
    """``count`` pending requests on a kitchen, from as many members, and its manager."""
    venue = Venue(slug="lieu", name="KPA Moulins", address="1 rue de Fives, Lille")
    venue.opening_periods = [
        OpeningPeriod(weekday=d, opens_at=time(0), closes_at=time(23, 59)) for d in range(7)
    ]
    kitchen = Resource(
        venue=venue,
        slug="cuisine",
        name="Cuisine partagée",
        kind=ResourceKind.SPACE,
        requires_approval=True,
        slot_minutes=30,
        min_duration_minutes=30,
        max_duration_minutes=240,
        horizon_days=3650,
    )
    manager = User(email="marie@example.org", display_name="Marie")
    manager.set_password("x" * 12)
    manager.memberships = [Membership(venue=venue, role=Role.MANAGER)]
    members = []
    for n in range(count):
        member = User(email=f"membre{n}@example.org", display_name=f"Membre {n}")
        member.set_password("x" * 12)
        member.memberships = [Membership(venue=venue, role=Role.MEMBER)]
        members.append(member)
    db.session.add_all([venue, kitchen, manager, *members])
    db.session.commit()
    ids = []
    for n, member in enumerate(members):
        start = NOW + timedelta(days=2, hours=n)
        reservation = book(
            resource_id=kitchen.id,
            member_id=member.id,
            actor_id=member.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            now=NOW,
        )
        ids.append(reservation.id)
    db.session.execute(sa.delete(OutboxMessage))  # the managers' requests: not measured
    db.session.commit()
    return [manager.id, *ids]


def decisions(ids: list[int], recording: bool) -> list[float]:
    manager, *reservations = ids
    accepted = outbox.kind_of("accepted")
    original = accepted.record
    if not recording:
        accepted.record = lambda *args, **kwargs: 0  # type: ignore[method-assign]
    times = []
    try:
        for reservation in reservations:
            started = clock.perf_counter()
            approve(reservation, manager, NOW)
            times.append(clock.perf_counter() - started)
    finally:
        accepted.record = original  # type: ignore[method-assign]
    return times


def send(app, server: MailServer | None, senders: int) -> tuple[float, int]:
    if server is not None:
        app.config.update(server.config())
    else:
        app.config["SMTP_HOST"] = ""
    db.session.remove()
    started = clock.perf_counter()
    sent = []

    def sender() -> None:
        with app.app_context():
            sent.append(send_due(NOW + timedelta(minutes=1)).sent)
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clock.perf_counter() - started, sum(sent)


def run(name: str, url: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(url, Path(folder))
        with app.app_context():
            ids = requests(2 * count)
            half = [ids[0], *ids[1 : count + 1]]
            rest = [ids[0], *ids[count + 1 :]]
            without = decisions(rest, recording=False)
            with_row = decisions(half, recording=True)
            print(f"{name}: one decision, median of {count}")
            a, b = statistics.median(with_row) * 1000, statistics.median(without) * 1000
            print(f"  with its outbox row {a:6.2f} ms, without {b:6.2f} ms, ratio {a / b:.2f}")

            server = MailServer().start()
            try:
                seconds, sent = send(app, server, 1)
                print(
                    f"  one sender, SMTP: {sent} e-mails in {seconds:.2f} s, {sent / seconds:.0f}/s"
                )
                assert sent == count and len(server.messages) == count
                db.session.execute(sa.update(OutboxMessage).values(status="pending", rendered=None))
                db.session.commit()
                server.messages.clear()
                seconds, sent = send(app, server, 4)
                duplicates = sum(
                    n - 1 for n in Counter(str(m["Message-ID"]) for m in server.messages).values()
                )
                print(
                    f"  four racing senders, SMTP: {sent} e-mails in {seconds:.2f} s, "
                    f"{sent / seconds:.0f}/s, {duplicates} sent twice"
                )
            finally:
                server.stop()
            db.session.execute(sa.update(OutboxMessage).values(status="pending", rendered=None))
            db.session.commit()
            seconds, sent = send(app, None, 1)
            print(f"  one sender, files: {sent} e-mails in {seconds:.2f} s, {sent / seconds:.0f}/s")
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    compile_stale_catalogues()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/outbox.sqlite3", args.count)
    server = TempPostgres()
    server.start()
    try:
        run("PostgreSQL", server.create_database("outbox_bench"), args.count)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
