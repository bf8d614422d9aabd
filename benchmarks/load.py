"""A minute of load: 50 members at once against gunicorn on PostgreSQL.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--workers 4]

Sets up a throw-away PostgreSQL cluster (Debian's package, as `make test`
installs it), the demo venues with one member account per client and a year of
history (10,000 reservations), then serves the app with gunicorn. Each client
logs in, then for the whole run does what members and calendar apps do, in
these proportions: page views (home, a venue, a resource, a venue's week, my
bookings) 60 %, feed fetches (public and private, half of them conditional)
25 %, bookings of a free-looking slot 15 % (a slot someone took first is a
normal 409, not an error). Prints the throughput, the 95th-percentile latency
of each kind, the errors (target: 0) and each gunicorn worker's peak memory
(target: at most 120 MB).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time as clock
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from booking import create_app  # noqa: E402
from booking.demo import seed_reference_data  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Membership, Reservation, Resource, Status, User, Venue  # noqa: E402
from booking.security import tokens  # noqa: E402
from tests.support.gunicorn import gunicorn  # noqa: E402
from tests.support.http_clients import csrf_token, logged_in  # noqa: E402
from tests.support.postgres import TempPostgres  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "load-test-password"
MEMORY_TARGET_MB = 120
HISTORY = 10_000
# Resources members book in this run: instant, no training, long opening hours.
BOOKABLE = ("imprimante-3d", "coworking-mons-fabrica", "salle-mediation-numerique")


def say(text: str) -> None:
    print(text, flush=True)


def populate(clients: int) -> dict[str, list[str]]:
    seed_reference_data()
    venues = list(db.session.scalars(sa.select(Venue).where(Venue.is_active)))
    members = []
    for i in range(clients):
        user = User(email=f"charge{i}@example.org", display_name=f"Membre {i}")
        user.set_password(PASSWORD)
        user.memberships = [Membership(venue=v) for v in venues]
        members.append(user)
    db.session.add_all(members)
    db.session.commit()
    # What members see: a retired resource's page and feed rightly answer 404.
    resources = list(db.session.scalars(sa.select(Resource).where(Resource.is_active)))
    # A year of history, in bulk (the engine's own cost is measured elsewhere).
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=330)
    rows = []
    for n in range(HISTORY):
        resource = resources[n % len(resources)]
        start = first + timedelta(hours=2 * (n // len(resources)))
        member = members[n % len(members)]
        rows.append(
            {
                "uid": f"load-{n:08d}-0000-0000-0000-000000000000"[:36],
                "resource_id": resource.id,
                "user_id": member.id,
                "created_by_id": member.id,
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                "blocked_until": start + timedelta(hours=1),
                "exclusive": resource.capacity == 1,
                "seats": 1,
                "purpose": "",
                "status": Status.CONFIRMED,
                "decision_reason": "",
                "overrides": "",
                "sequence": 0,
                "created_at": start - timedelta(days=2),
                "updated_at": start - timedelta(days=2),
            }
        )
    db.session.execute(sa.insert(Reservation), rows)
    feeds = [tokens.make_token(user, tokens.MEMBER) for user in members]
    db.session.commit()
    return {
        "emails": [user.email for user in members],
        "feeds": [f"/feeds/u/{token}.ics" for token in feeds],
        "venues": [venue.slug for venue in venues],
        "resources": [resource.slug for resource in resources],
    }


class Client:
    def __init__(self, base: str, index: int, world: dict[str, list[str]], rng: random.Random):
        self.base, self.index, self.world, self.rng = base, index, world, rng
        self.session = logged_in(base, world["emails"][index], PASSWORD)
        self.etags: dict[str, str] = {}

    def page(self) -> requests.Response:
        venue = self.rng.choice(self.world["venues"])
        resource = self.rng.choice(self.world["resources"])
        path = self.rng.choice(
            [
                "/",
                f"/venues/{venue}",
                f"/resources/{resource}",
                f"/venues/{venue}/week",
                "/reservations",
            ]
        )
        return self.session.get(self.base + path, timeout=60)

    def feed(self) -> requests.Response:
        if self.rng.random() < 0.5:
            path = f"/feeds/venues/{self.rng.choice(self.world['venues'])}.ics"
        elif self.rng.random() < 0.5:
            path = f"/feeds/resources/{self.rng.choice(self.world['resources'])}.ics"
        else:
            path = self.world["feeds"][self.index]
        headers = {}
        if path in self.etags and self.rng.random() < 0.5:
            headers["If-None-Match"] = self.etags[path]
        response = requests.get(self.base + path, headers=headers, timeout=60)
        if "ETag" in response.headers:
            self.etags[path] = response.headers["ETag"]
        return response

    def booking(self) -> requests.Response:
        slug = self.rng.choice(BOOKABLE)
        page = self.session.get(f"{self.base}/reservations/new?resource={slug}", timeout=60)
        if page.status_code != 200:
            return page
        day = datetime.now(PARIS).date() + timedelta(days=self.rng.randrange(1, 28))
        while day.weekday() not in (1, 2, 3, 4):  # the three venues all open Tuesday to Friday
            day += timedelta(days=1)
        hour = self.rng.choice((10, 14, 15, 16))  # outside the Moulins' lunch break
        return self.session.post(
            f"{self.base}/reservations/new?resource={slug}",
            data={
                "csrf_token": csrf_token(page.text),
                "day": day.isoformat(),
                "start": f"{hour:02d}:00",
                "end": f"{hour + 1:02d}:00",
                "seats": "1",
            },
            allow_redirects=False,
            timeout=60,
        )


EXPECTED = {"page": {200}, "feed": {200, 304}, "booking": {302, 409}}


def run(base: str, world: dict[str, list[str]], clients: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    unexpected: dict[str, set[int]] = defaultdict(set)
    say(f"Logging in {clients} clients")
    people = [Client(base, i, world, random.Random(i)) for i in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work(client: Client) -> None:
        start.wait()
        while clock.monotonic() < deadline[0]:
            draw = client.rng.random()
            kind = "page" if draw < 0.60 else "feed" if draw < 0.85 else "booking"
            began = clock.perf_counter()
            try:
                status = getattr(client, kind)().status_code
            except requests.RequestException:
                status = 0
            latencies[kind].append(clock.perf_counter() - began)
            if status not in EXPECTED[kind]:
                errors[kind] += 1
                unexpected[kind].add(status)

    threads = [threading.Thread(target=work, args=(c,)) for c in people]
    for thread in threads:
        thread.start()
    say(f"Running {clients} clients for {seconds:.0f} s")
    deadline[0] = clock.monotonic() + seconds
    began = clock.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    return {
        "elapsed": clock.monotonic() - began,
        "latencies": latencies,
        "errors": errors,
        "unexpected": unexpected,
    }


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="booking-load-"))
    server = TempPostgres()
    say("Starting a throw-away PostgreSQL cluster")
    server.start()
    try:
        url = server.create_database("booking_load")
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "load-benchmark-secret-key",
                "INSTANCE_PATH": str(folder),
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            say("Migrating and loading the demo venues, members and a year of history")
            upgrade()
            world = populate(args.clients)
            db.session.remove()
            db.engine.dispose()
        env = {"SECRET_KEY": "load-benchmark-secret-key"}
        with gunicorn(url, workers=args.workers, env=env) as base:
            result = run(base, world, args.clients, args.seconds)
            workers = base.worker_pids()
            memory = [peak_memory_mb(pid) for pid in workers]
    finally:
        server.stop()

    total = sum(len(v) for v in result["latencies"].values())
    errors = sum(result["errors"].values())
    say("")
    say(f"{args.clients} clients, {result['elapsed']:.0f} s, gunicorn with {args.workers} workers")
    say(f"  throughput              {total / result['elapsed']:8.1f} requests/s ({total} in all)")
    for kind in ("page", "feed", "booking"):
        times = sorted(result["latencies"][kind])
        if not times:
            continue
        p95 = times[int(0.95 * (len(times) - 1))]
        median = statistics.median(times) * 1000
        wrong = result["errors"][kind]
        statuses = f" (statuses {sorted(result['unexpected'][kind])})" if wrong else ""
        say(
            f"  {kind:<8} {len(times):6d} requests  median {median:7.1f} ms"
            f"  p95 {p95 * 1000:7.1f} ms  errors {wrong}{statuses}"
        )
    say(f"  errors                  {errors:8d}   (target 0)")
    say(f"  peak memory of each gunicorn worker (VmHWM; target ≤ {MEMORY_TARGET_MB} MB)")
    for pid, peak in zip(workers, memory, strict=True):
        verdict = "within target" if peak <= MEMORY_TARGET_MB else "OVER TARGET"
        say(f"    worker {pid:<8d} {peak:8.1f} MB   {verdict}")
    met = errors == 0 and bool(memory) and max(memory) <= MEMORY_TARGET_MB
    say("Targets met." if met else "Targets NOT met.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
