"""How fast a year's activity report and a month's statements are, on 100,000 reservations.

    .venv/bin/python benchmarks/reports.py [--reservations 100000] [--repeat 3] [--skip-postgres]

Builds, on SQLite and on a throw-away PostgreSQL cluster, the demo venues
with more resources and members, and ``--reservations`` reservations over the
two years before today (bookings, cancellations, refusals, expiries, answers
to requests, some across midnight, prices that change in the middle of a
month), inserted in bulk. Then it times, in one run:

- the activity report of the whole network for the last complete year (the
  year before it beside: every reservation is read); target under 1 second;
- the statements of every venue for a month (the November of that year);
  target under 1 second;
- the number of SQL statements each one sends, with the same figure on a
  tenth of the reservations (it must not grow with them);
- the peak memory of each (tracemalloc).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time as clock
import tracemalloc
from collections.abc import Callable
from contextlib import redirect_stderr
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from booking import create_app  # noqa: E402
from booking.demo import seed_reference_data  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import (  # noqa: E402
    AuditEvent,
    Membership,
    PriceUnit,
    Rate,
    Reservation,
    Resource,
    ResourceKind,
    Role,
    Status,
    Tariff,
    User,
    Venue,
)
from booking.services.reporting.activity import activity_report  # noqa: E402
from booking.services.reporting.periods import Period  # noqa: E402
from booking.services.reporting.statements import monthly_statements  # noqa: E402
from tests.support.sql import statements  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
TARGET_SECONDS = 1.0
EXTRA_RESOURCES = 12  # per venue, on top of the demo's
MEMBERS = 600
DAYS = 730
SLOTS = ((8, 0), (10, 0), (12, 30), (14, 30), (16, 30))  # UTC starts, 90 minutes each


def say(text: str) -> None:
    print(text, flush=True)


def reported_year() -> int:
    return datetime.now(PARIS).year - 1


def populate(reservations: int) -> None:
    """The demo network, grown, and ``reservations`` reservations in bulk."""
    seed_reference_data(today=date(reported_year() + 1, 1, 1))
    venues = list(db.session.scalars(sa.select(Venue).order_by(Venue.id)))
    for venue in venues:
        for n in range(EXTRA_RESOURCES):
            db.session.add(
                Resource(
                    venue=venue,
                    slug=f"{venue.slug}-poste-{n}",
                    name=f"Poste {n + 1}",
                    kind=ResourceKind.EQUIPMENT,
                )
            )
    members = []
    for n in range(MEMBERS):
        member = User(email=f"habitant{n}@example.org", display_name=f"Habitant·e {n}")
        member.password_hash = "-"
        member.memberships = [
            Membership(venue=venues[n % len(venues)], role=Role.MEMBER, rate=Rate.OUTSIDE)
            if n % 25 == 0
            else Membership(venue=venues[n % len(venues)], role=Role.MEMBER)
        ]
        members.append(member)
    db.session.add_all(members)
    db.session.commit()
    resources = list(db.session.scalars(sa.select(Resource).order_by(Resource.id)))
    first = date(reported_year() - 1, 1, 1)
    middle = date(reported_year(), 6, 15)
    for resource in resources[::2]:
        for valid_from, cents in ((first, 400), (middle, 450)):
            db.session.add(
                Tariff(
                    resource_id=resource.id,
                    valid_from=valid_from,
                    unit=PriceUnit.HOUR if resource.id % 3 else PriceUnit.BOOKING,
                    member_cents=cents,
                    outside_cents=cents * 2,
                )
            )
    db.session.commit()
    member_ids = [m.id for m in members]
    add_reservations(resources, member_ids, reservations, first)


def _row(n: int, resource: Resource, member_id: int, start: datetime, minutes: int) -> dict:
    status = {0: Status.CANCELLED, 1: Status.REFUSED, 2: Status.EXPIRED}.get(
        n % 20, Status.CONFIRMED
    )
    created = start - timedelta(days=3, hours=n % 7)
    return {
        "uid": f"bench-{n:012d}-0000-0000-000000000000"[:36],
        "resource_id": resource.id,
        "user_id": member_id,
        "created_by_id": member_id,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=minutes),
        "blocked_until": start + timedelta(minutes=minutes),
        "exclusive": resource.capacity == 1,
        "seats": 1 + n % 3 if resource.capacity > 1 else 1,
        "purpose": "",
        "status": status,
        "decided_at": created + timedelta(hours=1 + n % 30) if n % 10 < 3 else None,
        "decision_reason": "",
        "overrides": "",
        "sequence": 0,
        "created_at": created,
        "updated_at": created,
    }


def add_reservations(
    resources: list[Resource], member_ids: list[int], count: int, first: date
) -> None:
    """``count`` reservations over two years from ``first``: each resource's next free
    slot in turn (laid in UTC, so that none collide across a daylight-saving change),
    one in 97 across midnight; a tenth answered by a manager."""
    per_day = len(SLOTS) + 1
    per_resource = -(-count // len(resources))
    if per_resource > DAYS * per_day:
        raise ValueError(f"at most {DAYS * per_day * len(resources)} reservations fit")
    rows: list[dict] = []
    for n in range(count):
        resource = resources[n % len(resources)]
        # The k-th of its resource, spread evenly over the two years.
        position = (n // len(resources)) * DAYS * per_day // per_resource
        day = first + timedelta(days=position // per_day)
        slot = position % per_day
        if slot == len(SLOTS):  # the night slot, across midnight
            start = datetime.combine(day, time(22, 30), tzinfo=UTC)
            minutes = 180
        else:
            hour, minute = SLOTS[slot]
            start = datetime.combine(day, time(hour, minute), tzinfo=UTC)
            minutes = 90
        rows.append(_row(n, resource, member_ids[(n * 7) % len(member_ids)], start, minutes))
        if len(rows) == 5000 or n == count - 1:
            ids = _insert(rows)
            decided = [
                {
                    "reservation_id": ids[row["uid"]],
                    "series_id": None,
                    "actor_id": None,
                    "action": "approved" if row["status"] == Status.CONFIRMED else "refused",
                    "detail": "",
                    "created_at": row["decided_at"],
                }
                for row in rows
                if row["decided_at"] is not None
                and row["status"] in (Status.CONFIRMED, Status.REFUSED)
            ]
            if decided:
                db.session.execute(sa.insert(AuditEvent), decided)
            db.session.commit()
            rows = []
            if (n + 1) % 20_000 == 0 or n == count - 1:
                say(f"    {n + 1:>9,} / {count:,} reservations".replace(",", " "))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def _insert(rows: list[dict]) -> dict[str, int]:
    result = db.session.execute(
        sa.insert(Reservation).returning(Reservation.uid, Reservation.id), rows
    )
    return dict(result.tuples().all())


def measure(work: Callable[[], object], repeat: int) -> tuple[float, int, int]:
    """Best wall time (s), SQL statements and peak traced memory (bytes) of ``work``."""
    times = []
    for _ in range(repeat):
        db.session.remove()
        began = clock.perf_counter()
        work()
        times.append(clock.perf_counter() - began)
    db.session.remove()
    with statements() as sent:
        work()
    db.session.remove()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    db.session.remove()
    return min(times), len(sent), peak


def the_report() -> object:
    venues = list(db.session.scalars(sa.select(Venue).order_by(Venue.name)))
    return activity_report(db.session, venues, Period.year(reported_year()))


def the_statements() -> object:
    venues = list(db.session.scalars(sa.select(Venue).order_by(Venue.name)))
    return monthly_statements(db.session, venues, Period.month(reported_year(), 11))


def run(label: str, url: str, instance: Path, reservations: int, repeat: int) -> dict[str, Any]:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark-secret-key",
            "INSTANCE_PATH": str(instance),
        }
    )
    with app.app_context():
        with redirect_stderr(io.StringIO()):  # Alembic's log of each migration
            upgrade()
        say(f"[{label}] inserting {reservations:,} reservations".replace(",", " "))
        began = clock.perf_counter()
        populate(reservations)
        say(f"[{label}]   done in {clock.perf_counter() - began:.1f} s")
        report = measure(the_report, repeat)
        statements = measure(the_statements, repeat)
        lines = len(the_statements().lines)  # type: ignore[attr-defined]
        db.engine.dispose()
    say(
        f"[{label}] year's report {report[0] * 1000:.0f} ms, {report[1]} statements, "
        f"peak {report[2] / 2**20:.1f} MiB"
    )
    say(
        f"[{label}] month's statements ({lines} lines) {statements[0] * 1000:.0f} ms, "
        f"{statements[1]} statements, peak {statements[2] / 2**20:.1f} MiB"
    )
    return {"report": report, "statements": statements}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reservations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reports-bench-"))
    results: dict[str, dict[str, Any]] = {}
    small = max(args.reservations // 10, 1)
    for label, size in (("sqlite", args.reservations), ("sqlite-small", small)):
        results[label] = run(
            label, f"sqlite:///{work / f'{label}.sqlite3'}", work, size, args.repeat
        )
    if not args.skip_postgres:
        from tests.support.postgres import TempPostgres

        server = TempPostgres()
        say("[postgresql] starting a throw-away cluster")
        server.start()
        try:
            for label, size in (("postgresql", args.reservations), ("postgresql-small", small)):
                results[label] = run(
                    label, server.create_database(label.replace("-", "_")), work, size, args.repeat
                )
        finally:
            server.stop()
    say("")
    count = f"{args.reservations:,}".replace(",", " ")
    say(f"Summary ({count} reservations; target under {TARGET_SECONDS:.0f} s)")
    met = True
    for label in ("sqlite", "postgresql"):
        if label not in results:
            continue
        figures, smaller = results[label], results[f"{label}-small"]
        for name, title in (
            ("report", "year's report, whole network"),
            ("statements", "month's statements"),
        ):
            seconds, statements, peak = figures[name]
            constant = statements == smaller[name][1]
            ok = seconds < TARGET_SECONDS and constant
            met = met and ok
            say(
                f"  {label:<10} {title:<30} {seconds * 1000:6.0f} ms  "
                f"{statements:2d} statements ({smaller[name][1]} on a tenth)  "
                f"peak {peak / 2**20:5.1f} MiB  {'OK' if ok else 'MISSED'}"
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
