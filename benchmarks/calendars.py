"""How fast a venue's existing bookings come in, and what following calendars costs.

    .venv/bin/python benchmarks/calendars.py [--events 5000] [--calendars 50]

On a fresh SQLite database in a temporary folder, with a venue of 10 resources and
200 members:

- imports an .ics of ``--events`` events (two people in three members found by e-mail,
  the others held by the venue for someone outside the app) through
  the screens' own use cases: upload, preview, import in one transaction; prints the
  time and the statements of each step (target: the import under 10 s);
- follows ``--calendars`` calendars served by a local HTTP server (127.0.0.1 allowed),
  then refreshes them all twice: unchanged (target: one request each, answered 304,
  and no statement that writes), then with one calendar changed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import (  # noqa: E402
    Membership,
    OpeningPeriod,
    Reservation,
    Resource,
    ResourceKind,
    Role,
    User,
    Venue,
)
from booking.security.fetching import FetchPolicy  # noqa: E402
from booking.services.venues.following import FollowRequest, follow, refresh_all  # noqa: E402
from booking.services.venues.imports import preview_import, run_import, upload  # noqa: E402
from tests.support.calendar_server import calendar_server  # noqa: E402
from tests.support.sql import statements  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
TARGET_SECONDS = 10.0
RESOURCES = 10
MEMBERS = 200
POLICY = FetchPolicy(frozenset({"127.0.0.1"}), 5 * 1024 * 1024, 10.0)


def say(line: str) -> None:
    print(line, flush=True)


def _writes(seen: list[str]) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")))


def world(now: datetime) -> tuple[Venue, User, list[Resource]]:
    venue = Venue(slug="moulins", name="KPA Moulins", timezone="Europe/Paris")
    venue.opening_periods = [
        OpeningPeriod(weekday=d, opens_at=time(0), closes_at=time(23, 30)) for d in range(7)
    ]
    resources = [
        Resource(
            venue=venue,
            slug=f"ressource-{n}",
            name=f"Ressource {n}",
            kind=ResourceKind.SPACE,
            slot_minutes=30,
            min_duration_minutes=30,
            max_duration_minutes=480,
            horizon_days=400,
        )
        for n in range(RESOURCES)
    ]
    manager = User(email="nadia@example.org", display_name="Nadia")
    manager.set_password("not used here")
    manager.memberships = [Membership(venue=venue, role=Role.MANAGER)]
    db.session.add_all([venue, *resources, manager])
    for n in range(MEMBERS):
        member = User(email=f"membre{n}@example.org", display_name=f"Membre {n}", password_hash="x")
        member.memberships = [Membership(venue=venue, role=Role.MEMBER)]
        db.session.add(member)
    db.session.commit()
    return venue, manager, resources


def ics(events: int, start: datetime) -> bytes:
    """An export with ``events`` events over the months to come: each resource booked six
    times a day, never twice at once; two people in three are members (by e-mail)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Bench//FR", "X-WR-TIMEZONE:Europe/Paris"]
    written = 0
    n = 0
    while written < events:
        resource = n % RESOURCES
        slot = n // RESOURCES
        day = start + timedelta(days=1 + slot // 6)
        begin = day.replace(hour=8) + timedelta(hours=2 * (slot % 6))
        who = f"membre{n % MEMBERS}@example.org" if n % 3 else f"Personne {n}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:bench-{n}@example.org",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=Europe/Paris:{begin:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Paris:{begin + timedelta(hours=1, minutes=30):%Y%m%dT%H%M%S}",
            f"SUMMARY:Atelier {n}",
            f"LOCATION:Ressource {resource}",
            f"ATTENDEE;CN={who}:mailto:{who if '@' in who else f'inconnu{n}@ailleurs.org'}",
        ]
        lines.append("END:VEVENT")
        written += 1
        n += 1
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--calendars", type=int, default=50)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-calendars-"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark-secret-key-long-enough",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "MAIL_SEND_IN_BACKGROUND": False,
        }
    )
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with app.app_context():
        say("migrating a fresh SQLite database…")
        upgrade()
        venue, manager, resources = world(now)
        data = ics(options.events, now.astimezone(PARIS))
        say(f"an .ics of {options.events} events, {len(data) // 1024} kB")

        started = clock.perf_counter()
        with statements() as seen:
            kept = upload(venue.id, manager.id, "agenda.ics", data, now, 10 * 1024 * 1024)
        say(f"upload: {clock.perf_counter() - started:.2f} s, {len(seen)} statements")
        started = clock.perf_counter()
        with statements() as seen:
            shown = preview_import(kept.id, manager.id, now)
        counts = dict(shown.counts)
        say(f"preview: {clock.perf_counter() - started:.2f} s, {len(seen)} statements, {counts}")
        started = clock.perf_counter()
        with statements() as seen:
            result = run_import(kept.id, manager.id, now, shown.mapping, expected=len(shown.free))
        took = clock.perf_counter() - started
        say(
            f"import: {took:.2f} s, {len(seen)} statements, {result.imported} bookings "
            f"({'within' if took < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s target)"
        )
        assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == result.imported

        with calendar_server() as server:
            for n in range(options.calendars):
                server.routes[f"/c{n}.ics"] = ics(40, now.astimezone(PARIS)).replace(
                    b"bench-", f"cal{n}-".encode()
                )
            started = clock.perf_counter()
            for n in range(options.calendars):
                follow(
                    FollowRequest(
                        venue.id,
                        resources[n % RESOURCES].id,
                        f"Agenda {n}",
                        server.url(f"/c{n}.ics"),
                    ),
                    manager.id,
                    now,
                    POLICY,
                )
            say(f"followed {options.calendars} calendars: {clock.perf_counter() - started:.2f} s")
            server.requests.clear()
            server.answers.clear()
            started = clock.perf_counter()
            with statements() as seen:
                outcomes = refresh_all(now + timedelta(minutes=15), POLICY)
            say(
                f"refresh, unchanged: {clock.perf_counter() - started:.2f} s, "
                f"{len(server.requests)} requests ({server.answers.count(304)} answered 304), "
                f"{len(seen)} statements, {_writes(seen)} that write"
            )
            assert all(o.requests == 1 and not o.wrote for o in outcomes)
            # The first calendar's mornings start half an hour earlier.
            server.routes["/c0.ics"] = server.routes["/c0.ics"].replace(b"T080000", b"T073000")
            server.requests.clear()
            server.answers.clear()
            started = clock.perf_counter()
            with statements() as seen:
                outcomes = refresh_all(now + timedelta(minutes=30), POLICY)
            changed = [o for o in outcomes if o.wrote]
            say(
                f"refresh, one changed: {clock.perf_counter() - started:.2f} s, "
                f"{len(server.requests)} requests, {_writes(seen)} statements that write, "
                f"{sum(o.added for o in changed)} busy times added, "
                f"{sum(o.removed for o in changed)} removed"
            )
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
