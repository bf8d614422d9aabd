"""Booking engine benchmark.

Prints:
  * the time to check and insert one booking with 1,000 and with 100,000
    existing reservations on the same resources, and their ratio (target:
    at most 1.2: the cost must not grow with history), on SQLite and PostgreSQL;
  * in the same interleaved run, the raw floor: the same transaction in plain
    SQL through the driver (the write lock, one indexed overlap query, the
    reservation and its audit row, COMMIT), and ours ÷ floor (target: at most
    4 on PostgreSQL, 10 on SQLite);
  * beside them, the time to change a booking (moved to another hour, same
    reservation), and to move a series' later dates (5 of 10) to other times;
  * the SQL statements of one booking, of a ten-date series, of a change (target: at
    most one more than a booking) and of moving a series' later dates;
  * accepted bookings per second under contention (gunicorn, 4 workers,
    16 clients booking at once), on the same resource and across ten resources of
    one venue, on both databases: with ten resources it should grow (bookings of
    different resources never wait for each other), not stay at one resource's figure;
  * the peak memory of this process.

Run it with `make bench` or `.venv/bin/python benchmarks/booking.py`.
PostgreSQL comes from Debian's package (`make test` installs it).
"""

from __future__ import annotations

import argparse
import random
import resource as os_resource
import statistics
import sys
import tempfile
import time as clock
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
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
    Status,
    User,
    Venue,
)
from booking.services import (  # noqa: E402
    ChangeRequest,
    LocalMoment,
    Recurrence,
    SeriesRequest,
    book,
    book_series,
    change,
    change_following,
)
from tests.support.gunicorn import gunicorn  # noqa: E402
from tests.support.http_clients import all_at_once, csrf_token, logged_in  # noqa: E402
from tests.support.postgres import TempPostgres  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
RESOURCES = 10
PASSWORD = "benchmark-password"
HISTORY_TARGET = 1.2
SERIES_MOVES = 20
FLOOR_TARGETS = {"sqlite": 10.0, "postgresql": 4.0}


def say(text: str) -> None:
    print(text, flush=True)


def make_app(url: str, instance: Path):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark-secret-key",
            "INSTANCE_PATH": str(instance),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def seed(members: int = 20) -> tuple[list[int], list[int]]:
    venue = Venue(slug="bench", name="Banc d'essai", address="Lille")
    venue.opening_periods = [
        OpeningPeriod(weekday=d, opens_at=time(0), closes_at=time(23, 30)) for d in range(7)
    ]
    resources = [
        Resource(
            venue=venue,
            slug=f"r{i}",
            name=f"Ressource {i}",
            kind=ResourceKind.EQUIPMENT,
            horizon_days=400,
            max_duration_minutes=240,
        )
        for i in range(RESOURCES)
    ]
    users = []
    for i in range(members):
        user = User(email=f"m{i}@example.org", display_name=f"M{i}")
        user.set_password(PASSWORD)
        user.memberships = [Membership(venue=venue)]
        users.append(user)
    db.session.add_all([venue, *resources, *users])
    db.session.commit()
    return [r.id for r in resources], [u.id for u in users]


def add_history(resource_ids: list[int], user_ids: list[int], count: int, start_index: int) -> None:
    """Reservations from five years back to two months ahead, in the morning.

    Hours are laid in UTC so that no two land on the same instant across a
    daylight-saving change (PostgreSQL's exclusion constraint would refuse them).
    """
    today = datetime.now(PARIS).date()
    first = today - timedelta(days=5 * 365)
    days = (today + timedelta(days=60) - first).days
    rows = []
    for n in range(start_index, start_index + count):
        day = first + timedelta(days=n // RESOURCES % days)
        slot = n // (RESOURCES * days)  # later laps take later hours of the same day
        start = datetime.combine(day, time(4 + slot % 8), tzinfo=UTC)
        rows.append(
            {
                "uid": f"bench-{n:08d}-0000-0000-0000-000000000000"[:36],
                "resource_id": resource_ids[n % RESOURCES],
                "user_id": user_ids[n % len(user_ids)],
                "created_by_id": user_ids[n % len(user_ids)],
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                "blocked_until": start + timedelta(hours=1),
                "exclusive": True,
                "seats": 1,
                "purpose": "",
                "status": Status.CONFIRMED,
                "decision_reason": "",
                "overrides": "",
                "sequence": 0,
                "created_at": start - timedelta(days=3),
                "updated_at": start - timedelta(days=3),
            }
        )
    for chunk in range(0, len(rows), 5000):
        db.session.execute(sa.insert(Reservation), rows[chunk : chunk + 5000])
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE reservation"))
            conn.commit()


def _slot(lap: int, i: int, per_lap: int) -> datetime:
    """A free evening slot: each lap takes another hour, each booking another day."""
    day = datetime.now(PARIS).date() + timedelta(days=3 + (lap * per_lap + i) // RESOURCES)
    return datetime.combine(day, time(18 + lap % 4), tzinfo=PARIS)


def book_one(resource_ids: list[int], user_ids: list[int], lap: int, i: int, per_lap: int) -> float:
    """Seconds to check and insert one booking, at a free evening slot."""
    start = _slot(lap, i, per_lap)
    user = user_ids[i % len(user_ids)]
    began = clock.perf_counter()
    book(
        resource_id=resource_ids[i % RESOURCES],
        member_id=user,
        actor_id=user,
        starts_at=LocalMoment(start.date(), start.time()),
        ends_at=LocalMoment(start.date(), (start + timedelta(minutes=30)).time()),
        now=datetime.now(UTC),
    )
    return clock.perf_counter() - began


def change_one(
    resource_ids: list[int], user_ids: list[int], lap: int, i: int, per_lap: int
) -> float:
    """Seconds to change a booking: one made (untimed) at a free evening slot, moved to
    22:00 the same day, judged by every rule like a new booking."""
    start = _slot(lap + 8, i, per_lap)
    user = user_ids[i % len(user_ids)]
    booked = book(
        resource_id=resource_ids[i % RESOURCES],
        member_id=user,
        actor_id=user,
        starts_at=LocalMoment(start.date(), start.time()),
        ends_at=LocalMoment(start.date(), (start + timedelta(minutes=30)).time()),
        now=datetime.now(UTC),
    )
    wanted = ChangeRequest(
        booked.id,
        user,
        LocalMoment(start.date(), time(22)),
        LocalMoment(start.date(), time(22, 30)),
    )
    db.session.remove()  # a fresh session, as in a request
    began = clock.perf_counter()
    change(wanted, datetime.now(UTC))
    return clock.perf_counter() - began


def _ten_dates(resource_id: int, user_id: int, first: date) -> list[int]:
    result = book_series(
        SeriesRequest(
            resource_id=resource_id,
            member_id=user_id,
            actor_id=user_id,
            recurrence=Recurrence("daily", first, count=10),
            local_start=time(7),
            local_end=time(8),
        ),
        datetime.now(UTC),
    )
    return [r.id for r in result.booked]


def move_later_dates(resource_ids: list[int], user_ids: list[int], k: int) -> float:
    """Seconds to move the later 5 dates of a ten-date series (booked untimed) from 7:00
    to 9:00: previewed in the page, then moved in one transaction (timed: the move)."""
    first = datetime.now(PARIS).date() + timedelta(days=190 + 8 * k)
    ids = _ten_dates(resource_ids[2 + k % (RESOURCES - 2)], user_ids[k % len(user_ids)], first)
    sixth = first + timedelta(days=5)
    wanted = ChangeRequest(
        ids[5],
        user_ids[k % len(user_ids)],
        LocalMoment(sixth, time(9)),
        LocalMoment(sixth, time(10)),
    )
    db.session.remove()
    began = clock.perf_counter()
    result = change_following(wanted, datetime.now(UTC))
    elapsed = clock.perf_counter() - began
    assert len(result.free) == 5, result
    return elapsed


def floor_one(
    resource_ids: list[int], user_ids: list[int], lap: int, i: int, per_lap: int
) -> float:
    """Seconds for the same booking in plain SQL: the database's own cost, and the driver's.

    The write lock (BEGIN IMMEDIATE on SQLite; the resource's row FOR UPDATE
    on PostgreSQL), one overlap query on the same index, the reservation and
    its audit row, COMMIT. No rule is checked: this is the floor.
    """
    start = _slot(lap, i, per_lap).astimezone(UTC)
    end = start + timedelta(minutes=30)
    resource_id, user = resource_ids[i % RESOURCES], user_ids[i % len(user_ids)]
    sqlite = db.engine.dialect.name == "sqlite"
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        began = clock.perf_counter()
        if sqlite:
            stamp = lambda value: value.replace(tzinfo=None).isoformat(" ")  # noqa: E731
            mark = "?"
            cursor.execute("BEGIN IMMEDIATE")
        else:
            stamp = lambda value: value  # noqa: E731
            mark = "%s"
            cursor.execute(f"SELECT id FROM resource WHERE id = {mark} FOR UPDATE", (resource_id,))
        cursor.execute(
            "SELECT starts_at, blocked_until, seats FROM reservation WHERE resource_id = "
            f"{mark} AND status IN ('pending', 'confirmed') AND starts_at >= {mark} "
            f"AND starts_at < {mark} AND blocked_until > {mark}",
            (resource_id, stamp(start - timedelta(days=14)), stamp(end), stamp(start)),
        )
        cursor.fetchall()
        now = stamp(datetime.now(UTC))
        cursor.execute(
            "INSERT INTO reservation (uid, resource_id, user_id, created_by_id, starts_at, "
            "ends_at, blocked_until, exclusive, seats, purpose, status, decision_reason, "
            "overrides, sequence, created_at, updated_at) VALUES "
            f"({', '.join([mark] * 9)}, '', 'confirmed', '', '', 0, {mark}, {mark}) RETURNING id",
            (
                str(uuid.uuid4()),
                resource_id,
                user,
                user,
                stamp(start),
                stamp(end),
                stamp(end),
                True,
                1,
                now,
                now,
            ),
        )
        (reservation_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO audit_event (reservation_id, actor_id, action, detail, created_at) "
            f"VALUES ({mark}, {mark}, 'created', '', {mark})",
            (reservation_id, user, now),
        )
        connection.commit()
        return clock.perf_counter() - began
    finally:
        connection.close()


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements sent meanwhile, BEGIN and COMMIT aside, from a fresh session."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT"):
            seen.append(statement)

    db.session.remove()
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def statement_counts(resource_ids: list[int], user_ids: list[int]) -> tuple[int, int, int, int]:
    """SQL statements of one booking, of a ten-date series, of a change of one booking
    and of moving a series' later 5 dates."""
    with counting() as single:
        book_one(resource_ids, user_ids, 3, 0, 1)
    first = datetime.now(PARIS).date() + timedelta(days=200)
    with counting() as series:
        book_series(
            SeriesRequest(
                resource_id=resource_ids[1],
                member_id=user_ids[1],
                actor_id=user_ids[1],
                recurrence=Recurrence("daily", first, count=10),
                local_start=time(7),
                local_end=time(8),
                overrides=frozenset(),
            ),
            datetime.now(UTC),
        )
    start = _slot(3 + 8, 2, 1)
    user = user_ids[2 % len(user_ids)]
    booked = book(
        resource_id=resource_ids[2],
        member_id=user,
        actor_id=user,
        starts_at=LocalMoment(start.date(), start.time()),
        ends_at=LocalMoment(start.date(), (start + timedelta(minutes=30)).time()),
        now=datetime.now(UTC),
    ).id
    with counting() as changed:
        change(
            ChangeRequest(
                booked,
                user,
                LocalMoment(start.date(), time(22)),
                LocalMoment(start.date(), time(22, 30)),
            ),
            datetime.now(UTC),
        )
    ids = _ten_dates(resource_ids[1], user_ids[1], first + timedelta(days=12))
    sixth = first + timedelta(days=17)
    with counting() as later:
        change_following(
            ChangeRequest(
                ids[5], user_ids[1], LocalMoment(sixth, time(9)), LocalMoment(sixth, time(10))
            ),
            datetime.now(UTC),
        )
    return len(single), len(series), len(changed), len(later)


def build(url: str, instance: Path, label: str, history: int):
    """A database with ``history`` reservations on the benchmark's resources."""
    app = make_app(url, instance)
    with app.app_context():
        upgrade()
        resource_ids, user_ids = seed()
        for done in range(0, history, 11_000):
            add_history(resource_ids, user_ids, min(11_000, history - done), done)
            say(f"[{label}]   {min(done + 11_000, history):,} reservations")
        db.session.remove()
    return app, resource_ids, user_ids


def history_ratio(
    urls: tuple[str, str], instance: Path, label: str, samples: int
) -> dict[str, float]:
    """Median booking time with 1,000 and with 100,000 reservations, and the raw floor.

    Bookings alternate between the two databases and the floor, so that
    whatever else the machine does at a given moment weighs on every figure
    alike.
    """
    say(f"[{label}] building a database with 1,000 reservations")
    small_db = build(urls[0], instance, label, 1_000)
    say(f"[{label}] building a database with 100,000 reservations (takes a moment)")
    large_db = build(urls[1], instance, label, 100_000)
    runs = (
        (small_db, book_one, "small"),
        (large_db, book_one, "large"),
        (large_db, floor_one, "floor"),
        (large_db, change_one, "change"),
    )
    timings: dict[str, list[float]] = {name: [] for *_, name in runs}
    say(f"[{label}] timing {samples} bookings on each, and the floor, alternately")
    for lap, count in ((0, 20), (1, samples)):  # the first lap warms caches up
        for i in range(count):
            for (app, resource_ids, user_ids), run, name in runs:
                with app.app_context():
                    # The floor books the next day, on the same resource and hour.
                    elapsed = run(resource_ids, user_ids, lap + 4 * (name == "floor"), i, samples)
                    if lap:
                        timings[name].append(elapsed)
                if i % 50 == 49 and lap and name == "floor":
                    say(f"[{label}]   {i + 1} of {samples}")
    app, resource_ids, user_ids = large_db
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count(Reservation.id)))
        single, series, changed, later = statement_counts(resource_ids, user_ids)
        say(f"[{label}] timing {SERIES_MOVES} moves of a series' later dates")
        moves = [move_later_dates(resource_ids, user_ids, k) for k in range(SERIES_MOVES)]
        # Memory apart from timing: tracemalloc slows Python down several times.
        tracemalloc.start()
        for i in range(50):
            book_one(resource_ids, user_ids, 2, i, samples)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    for app, _, _ in (small_db, large_db):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    small, large, floor, moved = (
        statistics.median(timings[k]) for k in ("small", "large", "floor", "change")
    )
    later_median = statistics.median(moves)
    say(
        f"[{label}] one booking: {small * 1000:.2f} ms with 1,000 reservations, "
        f"{large * 1000:.2f} ms with {total:,}; ratio {large / small:.2f}; "
        f"raw floor {floor * 1000:.2f} ms, ours ÷ floor {large / floor:.1f}; "
        f"one change {moved * 1000:.2f} ms; a series' later 5 dates moved "
        f"{later_median * 1000:.2f} ms; "
        f"statements: {single} for a booking, {series} for a ten-date series, "
        f"{changed} for a change, {later} for a series' later dates; "
        f"peak allocations while booking {peak / 2**20:.1f} MiB"
    )
    return {
        "small": small,
        "large": large,
        "ratio": large / small,
        "floor": floor,
        "over_floor": large / floor,
        "change": moved,
        "later": later_median,
        "single": single,
        "series": series,
        "changed": changed,
        "later_statements": later,
        "peak": peak,
    }


def contention(
    url: str, instance: Path, label: str, clients: int, per_client: int, resources: int = 1
) -> float:
    """Accepted bookings per second, ``clients`` booking at once, client i on resource
    i mod ``resources``, each at slots of its own."""
    app = make_app(url, instance)
    with app.app_context():
        upgrade()
        _, _ = seed(members=clients)
        db.session.remove()
        db.engine.dispose()
    with gunicorn(url, workers=4) as base:
        say(f"[{label}] logging in {clients} clients")
        sessions = [logged_in(base, f"m{i}@example.org", PASSWORD) for i in range(clients)]
        token = {
            id(s): csrf_token(s.get(f"{base}/reservations/new?resource=r0").text) for s in sessions
        }
        first_day = datetime.now(PARIS).date() + timedelta(days=2)

        def client_run(index: int) -> int:
            session = sessions[index]
            accepted = 0
            for k in range(per_client):
                slot = index * per_client + k
                day = first_day + timedelta(days=slot // 20)
                hour = 8 + (slot % 20) // 2
                minute = 30 * (slot % 2)
                response = session.post(
                    f"{base}/reservations/new?resource=r{index % resources}",
                    data={
                        "csrf_token": token[id(session)],
                        "day": day.isoformat(),
                        "start": f"{hour:02d}:{minute:02d}",
                        "end": f"{hour + (minute + 30) // 60:02d}:{(minute + 30) % 60:02d}",
                    },
                    allow_redirects=False,
                    timeout=60,
                )
                accepted += response.status_code == 302
            return accepted

        where = "one resource" if resources == 1 else f"{resources} resources of one venue"
        say(f"[{label}] {clients} clients × {per_client} bookings on {where}")
        began = clock.perf_counter()
        results = all_at_once([lambda i=i: client_run(i) for i in range(clients)])
        elapsed = clock.perf_counter() - began
    accepted = sum(results)
    rate = accepted / elapsed
    say(
        f"[{label}] contention: {accepted} of {clients * per_client} accepted in "
        f"{elapsed:.2f} s = {rate:.0f} bookings/s"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200, help="bookings timed per history size")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--contention-only", action="store_true", help="only the bookings under contention"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    results: dict[str, dict[str, float]] = {}
    if not args.contention_only:
        results["sqlite"] = history_ratio(
            (f"sqlite:///{work / 'small.sqlite3'}", f"sqlite:///{work / 'large.sqlite3'}"),
            work,
            "sqlite",
            args.samples,
        )
    rates = {
        "sqlite": contention(f"sqlite:///{work / 'race.sqlite3'}", work, "sqlite", 16, 10),
        "sqlite, 10 resources": contention(
            f"sqlite:///{work / 'race10.sqlite3'}", work, "sqlite", 16, 10, RESOURCES
        ),
    }
    server = None
    if not args.skip_postgres:
        server = TempPostgres()
        say("[postgresql] starting a throw-away cluster")
        server.start()
        try:
            if not args.contention_only:
                results["postgresql"] = history_ratio(
                    (server.create_database("bench_small"), server.create_database("bench_large")),
                    work,
                    "postgresql",
                    args.samples,
                )
            rates["postgresql"] = contention(
                server.create_database("bench_race"), work, "postgresql", 16, 10
            )
            rates["postgresql, 10 resources"] = contention(
                server.create_database("bench_race10"), work, "postgresql", 16, 10, RESOURCES
            )
        finally:
            server.stop()
    rss = os_resource.getrusage(os_resource.RUSAGE_SELF).ru_maxrss / 1024
    say("")
    say("Summary")
    met = True
    for name, figures in results.items():
        target = FLOOR_TARGETS[name]
        ok = (
            figures["ratio"] <= HISTORY_TARGET
            and figures["over_floor"] <= target
            and figures["changed"] <= figures["single"] + 1
        )
        met = met and ok
        say(
            f"  {name:<10} one booking {figures['small'] * 1000:6.2f} ms (1k) "
            f"{figures['large'] * 1000:6.2f} ms (100k)  history ratio {figures['ratio']:.2f} "
            f"(target ≤ {HISTORY_TARGET})"
        )
        say(
            f"  {'':<10} raw floor {figures['floor'] * 1000:6.2f} ms  ours ÷ floor "
            f"{figures['over_floor']:5.1f} (target ≤ {target:.0f})  "
            f"{'OK' if ok else 'MISSED'}"
        )
        say(
            f"  {'':<10} one change {figures['change'] * 1000:6.2f} ms (100k)  "
            f"a series' later 5 of 10 dates moved {figures['later'] * 1000:6.2f} ms"
        )
        say(
            f"  {'':<10} statements: {figures['single']} for one booking, "
            f"{figures['series']} for a ten-date series, {figures['changed']} for a change "
            f"(target ≤ {figures['single'] + 1}), {figures['later_statements']} for a "
            f"series' later dates (BEGIN and COMMIT aside); "
            f"peak allocations {figures['peak'] / 2**20:.1f} MiB"
        )
    for name, rate in rates.items():
        say(
            f"  {name:<24} {rate:6.0f} accepted bookings/s under contention (4 workers, 16 clients)"
        )
    say(f"  peak RSS of the benchmark process {rss:.0f} MiB")
    say("Targets met." if met else "Targets NOT met.")
    return 0 if met else 1


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
