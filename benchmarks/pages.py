"""Page speed benchmark: the pages members use to find a free slot, under gunicorn.

Builds a database with the demo venues and 10,000 reservations across the
network (a year back, a month ahead, inside opening hours), serves it with
gunicorn as in production (tests/support/gunicorn.py), and prints in one run:

  * requests per second of the venue week, the resource page and the search,
    each as a ratio to a trivial endpoint of the same app on the same server
    (``/robots.txt``: no database, no template), asked one after the other by
    one client as a person's browser would, in rounds where the pages take turns (targets: at
    least 0.3 for the week and the resource page, 0.1 for the search; measured
    this way the commit before this work gave 0.15 and 0.16 with the demo data);
  * the SQL statements of each page, when its content is rendered and when it is
    kept: the week and the resource page keep theirs while nothing they show changes
    (booking.presentation.fragments), so that a repeated view costs one statement; the
    rendering, which the first view after any change pays, must not grow with
    reservations either (tests/test_pages_cost.py holds them to that);
  * the peak memory (resident set) of a gunicorn worker.

Run it with `make bench` or `.venv/bin/python benchmarks/pages.py [--postgres]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from booking import create_app  # noqa: E402
from booking.demo import seed_reference_data  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import OpeningPeriod, Reservation, Resource, Status, User  # noqa: E402
from booking.presentation import fragments  # noqa: E402
from tests.support.gunicorn import gunicorn  # noqa: E402
from tests.support.postgres import TempPostgres  # noqa: E402
from tests.support.sql import booking_row  # noqa: E402
from tests.support.sql import statements as sql_statements  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
RESERVATIONS = 10_000
TRIVIAL = "/robots.txt"
PAGES = {
    "venue week": ("/venues/la-cape/week", 0.3),
    "resource page": ("/resources/coworking-mons-fabrica", 0.3),
    "search": ("/search?when=week&part=any&minutes=60", 0.1),
}


def say(text: str) -> None:
    print(text, flush=True)


def make_app(url: str, instance: Path):  # type: ignore[no-untyped-def]
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark-secret-key",
            "INSTANCE_PATH": str(instance),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def add_reservations(count: int) -> int:
    """``count`` reservations inside each resource's opening hours, from a year back to a
    month ahead, spread over the network's resources; shared spaces get several at once."""
    resources = list(db.session.scalars(sa.select(Resource).order_by(Resource.id)))
    users = [u.id for u in db.session.scalars(sa.select(User).order_by(User.id))]
    periods = list(db.session.scalars(sa.select(OpeningPeriod)))
    today = datetime.now(PARIS).date()
    first_day = today - timedelta(days=335)
    slots = []
    for resource in resources:
        own = [p for p in periods if p.resource_id == resource.id]
        hours = own or [p for p in periods if p.venue_id == resource.venue_id]
        for offset in range(365):
            day = first_day + timedelta(days=offset)
            for period in (p for p in hours if p.weekday == day.weekday()):
                start = datetime.combine(day, period.opens_at, tzinfo=PARIS)
                close = datetime.combine(day, period.closes_at, tzinfo=PARIS)
                length = timedelta(minutes=max(resource.min_duration_minutes, 60))
                step = length + timedelta(minutes=resource.buffer_minutes + 30)
                while start + length <= close:
                    slots.append((resource, start, start + length))
                    start += step
    # Evenly picked among the possible slots: every resource, the whole year.
    picked = [slots[n * len(slots) // count] for n in range(min(count, len(slots)))]
    rows = [
        booking_row(
            n,
            resource.id,
            users[n % len(users)],
            start.astimezone(UTC),
            end - start,
            exclusive=resource.capacity == 1,
            seats=1 + n % min(resource.capacity, 3),
            buffer=timedelta(minutes=resource.buffer_minutes),
            status=Status.PENDING if n % 9 == 0 else Status.CONFIRMED,
        )
        for n, (resource, start, end) in enumerate(picked)
    ]
    for chunk in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Reservation), rows[chunk : chunk + 2000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
    return len(rows)


def build(url: str, instance: Path) -> int:
    app = make_app(url, instance)
    with app.app_context():
        upgrade()
        seed_reference_data()
        made = add_reservations(RESERVATIONS)
        db.session.remove()
        db.engine.dispose()
    return made


def statements(url: str, instance: Path) -> dict[str, tuple[int, int]]:
    """SQL statements of one view of each page, in the app itself: when its content is
    rendered, and when it is kept (booking.presentation.fragments)."""
    app = make_app(url, instance)
    counts = {}
    with app.app_context():
        client = app.test_client()
        kept = app.extensions[fragments.EXTENSION]
        for name, (path, _) in PAGES.items():
            client.get(path)  # warm up: the first request loads more than the others
            kept.clear()
            with sql_statements() as rendering:
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            with sql_statements() as again:
                client.get(path)
            counts[name] = (len(rendering), len(again))
        db.engine.dispose()
    return counts


def requests_per_second(base: str, path: str, seconds: float) -> float:
    """Requests per second for ``path``, asked one after the other as one person's browser
    would, each on a new connection with the requests library (the HTTP client of the
    concurrency tests)."""
    done = 0
    began = clock.monotonic()
    while clock.monotonic() - began < seconds:
        response = requests.get(base + path, timeout=30)
        if response.status_code != 200:
            raise AssertionError(f"{path} answered {response.status_code}")
        done += 1
    return done / (clock.monotonic() - began)


def worker_peak_memory(port: int) -> float:
    """The largest peak resident set (VmHWM) among the gunicorn processes on ``port``, MiB."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "gunicorn" in command and f"127.0.0.1:{port}" in command:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def run(url: str, instance: Path, label: str, rounds: int, seconds: float) -> bool:
    say(f"[{label}] building the database: demo venues and {RESERVATIONS:,} reservations")
    made = build(url, instance)
    counts = statements(url, instance)
    paths = [TRIVIAL, *(path for path, _ in PAGES.values())]
    measured: dict[str, list[float]] = {path: [] for path in paths}
    with gunicorn(url, workers=2) as base:
        port = urlsplit(base).port or 0
        for path in paths:
            requests_per_second(base, path, 0.5)  # every worker warmed up
        # Rounds in which each page takes its turn: whatever else the machine does at a
        # given moment weighs on every figure alike; the median round counts.
        for number in range(rounds):
            for path in paths:
                measured[path].append(requests_per_second(base, path, seconds))
            say(f"[{label}]   round {number + 1} of {rounds}")
        memory = worker_peak_memory(port)
    rates = {path: statistics.median(values) for path, values in measured.items()}
    trivial = rates[TRIVIAL]
    say("")
    say(f"[{label}] {made:,} reservations; gunicorn, 2 workers; one client; {rounds} rounds")
    say(f"  {'trivial endpoint':<15} {trivial:7.0f} req/s  ({TRIVIAL})")
    met = True
    for name, (path, target) in PAGES.items():
        ratio = rates[path] / trivial
        ok = ratio >= target
        met = met and ok
        rendered, kept = counts[name]
        statements_text = (
            f"{rendered:2d} SQL statements ({kept} when kept)"
            if kept != rendered
            else f"{rendered:2d} SQL statements"
        )
        say(
            f"  {name:<15} {rates[path]:7.0f} req/s  ratio {ratio:4.2f} (target ≥ {target})  "
            f"{statements_text}  {'OK' if ok else 'MISSED'}  ({path})"
        )
    say(f"  peak memory of a gunicorn worker {memory:.0f} MiB")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL, not SQLite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="of each page in a round")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="booking-pages-"))
    try:
        return measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    if not args.postgres:
        met = run(f"sqlite:///{work / 'pages.sqlite3'}", work, "sqlite", args.rounds, args.seconds)
    else:
        server = TempPostgres()
        say("[postgresql] starting a throw-away cluster")
        server.start()
        try:
            url = server.create_database("bench_pages")
            met = run(url, work, "postgresql", args.rounds, args.seconds)
        finally:
            server.stop()
    say("Targets met." if met else "Targets NOT met.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
