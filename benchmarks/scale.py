"""A network of three hundred venues on one PostgreSQL: what grows with the network, and what
must not.

    make bench-scale        (or .venv/bin/python benchmarks/scale.py [--venues 300])

Builds two networks of the same shape on a throw-away PostgreSQL cluster
(tests/support/postgres.py), both with ten resources and a hundred members per
venue and as many reservations per resource:

  * the small network: 6 venues, 60 resources, 600 members, 100,000 reservations;
  * the large one: 300 venues in two time zones (Paris and La Réunion), 3,000
    resources (a tenth shared with 4 to 12 seats, a fifth needing approval, a tenth
    a training), 30,000 members, 5,000,000 reservations from five years back to one
    ahead, 20,000 requests waiting for a manager, 3,000 closures, an audit row for
    every move, 150,000 e-mails already sent and 10,000 waiting.

Venues, resources, people, closures, prices, sessions and e-mails are loaded with
COPY; the reservations, the log and the e-mails waiting are written by the database
itself (INSERT … SELECT from generate_series). The large tables are loaded without
their keys, indexes, constraints, feed-stamp triggers and foreign keys; these are
created after the load (the exclusion constraint then checks that no two holding
bookings of a resource overlap, the foreign keys that every row points somewhere:
the data is valid).
Venue 0 holds the same bookings in both networks, so that a figure measured on it
differs between them only by what the rest of the network holds.

Then it times, in the same run, each measure on both networks in turn (the median
of several runs; once for the jobs, which change what they work on) and prints
each figure, its SQL statements, and the large network's figure ÷ the small one's:

  * a booking, and ours ÷ the raw floor (benchmarks/booking.py's plain-SQL booking);
  * a venue's week, a resource's page, a manager's schedule and requests, the members
    page and the log;
  * the free-slot search in one venue, and across the network (a word that matches
    300 resources, tomorrow afternoon, one hour; and any resource over a week);
  * a venue's feed, in full and its 304;
  * a venue's yearly report and statements page; the network's statements page and
    its month of statements (every line, as the downloads hold them);
  * the administrators' venues, accounts and messages pages;
  * the nightly jobs (expiry, reminders, purge) and the sender on 10,000 messages.

Targets: every per-venue figure within 1.5× of the small network's; the network-wide
search under 0.3 s; each job under a minute; and no statement reads a large table
whole: each statement measured is EXPLAINed, and a sequential scan of a large
table is reported beside its measure.

Keep it out of `make test`: it takes a quarter of an hour on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Venue  # noqa: E402
from booking.models.names import search_key  # noqa: E402
from booking.notifications import send_due  # noqa: E402
from booking.presentation import fragments  # noqa: E402
from booking.presentation import weeks as worded_weeks  # noqa: E402
from booking.services import LocalMoment, book  # noqa: E402
from booking.services.accounts.privacy import purge_expired  # noqa: E402
from booking.services.availability import week as planned_weeks  # noqa: E402
from booking.services.booking.lifecycle import expire_pending  # noqa: E402
from booking.services.booking.reminders import record_reminders  # noqa: E402
from booking.services.reporting.activity import activity_report  # noqa: E402
from booking.services.reporting.periods import Period  # noqa: E402
from booking.services.reporting.statements import monthly_statements  # noqa: E402
from tests.support.i18n import compile_stale_catalogues  # noqa: E402
from tests.support.postgres import TempPostgres  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
PASSWORD = "benchmark-password"
RESOURCES_PER_VENUE = 10
MEMBERS_PER_VENUE = 100
RESERVATIONS_PER_RESOURCE = 5_000_000 // 3_000
PENDING_PER_APPROVAL_RESOURCE = 20_000 // 600
CLOSURES_PER_VENUE = 10
SENT_PER_VENUE = 500
QUEUED = 10_000
YEARS_BACK = 5
DAYS_AHEAD = 365

PER_VENUE_TARGET = 1.5
SEARCH_TARGET = 0.3
JOB_TARGET = 60.0
# A sequential scan of one of these is a statement that reads the network whole.
LARGE_TABLES = frozenset(
    {
        "reservation",
        "audit_event",
        "user",
        "membership",
        "outbox_message",
        "feed_stamp",
        "admin_event",
        "login_session",
        "qualification_grant",
    }
)

# The resources every venue has, by their place in the venue: (slug, name, kind, what
# sets them apart). A tenth shared, a fifth needing approval, a tenth a training.
KINDS = (
    ("cuisine", "Cuisine partagée", "space", {"approval": True, "buffer": 30}),
    ("laser", "Découpeuse laser", "equipment", {"training": True, "buffer": 15}),
    ("imprimante", "Imprimante 3D", "equipment", {"own_hours": True}),
    ("coworking", "Espace co-working", "space", {"shared": True, "quota": 600}),
    ("reunion", "Salle de réunion", "space", {"approval": True}),
    ("bois", "Atelier bois", "equipment", {}),
    ("couture", "Machine à coudre", "equipment", {}),
    ("studio", "Studio son", "space", {}),
    ("serigraphie", "Presse à sérigraphie", "equipment", {}),
    ("jardin", "Parcelle du jardin partagé", "space", {}),
)
CITIES = (
    "Lille-Moulins",
    "Roubaix",
    "Mons-en-Barœul",
    "Dunkerque",
    "Poitiers",
    "Arras",
    "Lens",
    "Calais",
    "Niort",
    "La Rochelle",
    "Tourcoing",
    "Béthune",
)
ISLAND = ("Saint-Denis", "Saint-Pierre", "Le Port", "Saint-Paul")
FIRST_NAMES = ("Amina", "Karim", "Nadia", "Samir", "Léa", "Thomas", "Fatou", "Jules", "Inès")
LAST_NAMES = ("Haddad", "Mansouri", "Benali", "Leroy", "Diallo", "Martin", "Nguyen", "Petit")


def say(text: str) -> None:
    print(text, flush=True)


# --- the shape of a network ----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    label: str
    venues: int

    @property
    def resources(self) -> int:
        return self.venues * RESOURCES_PER_VENUE

    @property
    def members(self) -> int:
        return self.venues * MEMBERS_PER_VENUE


def zone_of(venue: int) -> ZoneInfo:
    """A quarter of the venues are in La Réunion (UTC+4, no daylight saving)."""
    return REUNION if venue % 4 == 3 else PARIS


def venue_slug(venue: int) -> str:
    return f"tiers-lieu-{venue:03d}"


def resource_slug(venue: int, place: int) -> str:
    return f"{KINDS[place][0]}-{venue:03d}"


def resource_id(venue: int, place: int) -> int:
    return venue * RESOURCES_PER_VENUE + place + 1


def first_member(venue: int) -> int:
    """Ids of a venue's people: two managers, then its members; the administrator is 1."""
    return 2 + venue * MEMBERS_PER_VENUE


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")


# --- writing a network with COPY -----------------------------------------------------------


class Loader:
    """Rows as COPY text, sent in chunks."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def copy(self, table: str, columns: str, rows: Iterator[str], chunk: int = 20_000) -> int:
        count = 0
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy,
        ):
            buffer: list[str] = []
            for row in rows:
                buffer.append(row)
                count += 1
                if len(buffer) == chunk:
                    copy.write("".join(buffer))
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))
        return count


def _line(*values: Any) -> str:
    out = []
    for value in values:
        if value is None:
            out.append("\\N")
        elif value is True:
            out.append("t")
        elif value is False:
            out.append("f")
        else:
            out.append(str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " "))
    return "\t".join(out) + "\n"


@dataclass
class Built:
    """What the measures need to know of a network built."""

    shape: Shape
    url: str
    today: date
    reservations: int = 0
    pending: int = 0


def _venues(shape: Shape, now: str) -> Iterator[str]:
    for v in range(shape.venues):
        island = zone_of(v) is REUNION
        city = ISLAND[v % len(ISLAND)] if island else CITIES[v % len(CITIES)]
        name = f"Tiers-lieu {city} n°{v:03d}"
        yield _line(
            v + 1,
            venue_slug(v),
            name,
            search_key(name),
            f"{v + 1} rue de la Coopération, {city}",
            "",
            zone_of(v).key,
            True,
            now,
            "",
            "",
        )


def _opening_periods(shape: Shape) -> Iterator[str]:
    n = 0
    for v in range(shape.venues):
        if v % 2 == 0:
            hours = [(d, "09:00", "19:00") for d in range(6)]
        else:
            hours = [(d, "08:30", "20:00") for d in range(5)] + [(5, "10:00", "17:00")]
        for weekday, opens, closes in hours:
            n += 1
            yield _line(n, v + 1, None, weekday, opens, closes)
        # The 3D printer keeps its own hours, weekdays only.
        for weekday in range(5):
            n += 1
            yield _line(n, None, resource_id(v, 2), weekday, "10:00", "18:00")


def _resources(shape: Shape, now: str) -> Iterator[str]:
    for v in range(shape.venues):
        for place, (slug, name, kind, traits) in enumerate(KINDS):
            yield _line(
                resource_id(v, place),
                v + 1,
                resource_slug(v, place),
                name,
                search_key(name),
                kind,
                "",
                4 + v % 9 if traits.get("shared") else 1,
                bool(traits.get("approval")),
                v + 1 if traits.get("training") else None,
                30,
                60 if traits.get("shared") else 30,
                360 if slug == "cuisine" else 240,
                0,
                90,
                traits.get("buffer", 0),
                traits.get("quota"),
                False,
                True,
                now,
                "le nettoyage de la cuisine" if slug == "cuisine" else "",
            )


def _users(shape: Shape, password_hash: str, now: str) -> Iterator[str]:
    yield _line(
        1, "admin@example.org", "Administratrice du réseau", password_hash, "fr", True, True, 1, now
    )
    for v in range(shape.venues):
        for j in range(MEMBERS_PER_VENUE):
            uid = first_member(v) + j
            name = (
                f"{FIRST_NAMES[uid % len(FIRST_NAMES)]} {LAST_NAMES[uid % len(LAST_NAMES)]} {uid}"
            )
            yield _line(uid, f"p{uid}@example.org", name, password_hash, "fr", False, True, 1, now)


def _memberships(shape: Shape) -> Iterator[str]:
    n = 0
    for v in range(shape.venues):
        for j in range(MEMBERS_PER_VENUE):
            n += 1
            role = "manager" if j < 2 else "member"
            rate = "outside" if j % 25 == 24 else "member"
            yield _line(n, first_member(v) + j, v + 1, role, rate)
            if j % 10 == 5:  # one member in ten also belongs to the next venue
                n += 1
                yield _line(n, first_member(v) + j, (v + 1) % shape.venues + 1, "member", "member")


def _grants(shape: Shape, today: date, now: str) -> Iterator[str]:
    n = 0
    for v in range(shape.venues):
        for j in range(2, 32):
            n += 1
            expires = today + timedelta(days=j % 20) if j % 10 == 0 else None
            yield _line(n, first_member(v) + j, v + 1, first_member(v), now, expires, today)


def _closures(shape: Shape, today: date, now: str) -> Iterator[str]:
    n = 0
    for v in range(shape.venues):
        zone = zone_of(v)
        for c in range(CLOSURES_PER_VENUE):
            n += 1
            if c < 8:
                first = today - timedelta(days=YEARS_BACK * 365) + timedelta(days=c * 220 + v % 30)
            else:
                first = today + timedelta(days=20 if c == 8 else 100)
            length = 1 + c % 3
            starts = datetime.combine(first, time(0), tzinfo=zone)
            ends = datetime.combine(first + timedelta(days=length), time(0), tzinfo=zone)
            yield _line(
                n,
                f"{v:08d}-{c:04d}-4000-8000-000000000000",
                v + 1,
                None if c % 2 == 0 else resource_id(v, c),
                utc_text(starts),
                utc_text(ends),
                "Vacances" if c % 2 == 0 else "Maintenance",
                c % 2 == 0,
                first_member(v),
                now,
                now,
                0,
            )


def _tariffs(shape: Shape, today: date, now: str) -> Iterator[str]:
    n = 0
    first = today - timedelta(days=YEARS_BACK * 365 + 1)
    for v in range(shape.venues):
        for place in range(0, RESOURCES_PER_VENUE, 2):
            n += 1
            unit = "booking" if place == 4 else "hour"
            yield _line(n, resource_id(v, place), first, unit, 400 + 50 * place, 800, None, now)


# Each resource's bookings spread evenly from five years back to a year ahead, one a day
# at most (a Sunday's on the Saturday, at another hour), at 10:00, 12:00 or 14:00 local
# time for an hour or an hour and a half, so that none overlaps, buffer included; a
# twentieth cancelled in the past; refusals and decisions where approval is needed;
# PENDING_PER_APPROVAL_RESOURCE requests waiting among the bookings to come, and a third
# of those of the last three days left undecided (the expiry job's work). Written by the
# database itself from generate_series: five million rows go faster than through COPY
# from Python.
RESERVATIONS_SQL = """
WITH spread AS (
    SELECT r.id AS rid, r.requires_approval AS approval, r.capacity > 1 AS shared,
           r.buffer_minutes AS buffer, v.timezone, (r.id - 1) %% 10 AS place,
           2 + (r.venue_id - 1) * %(members)s AS manager, k,
           %(first)s::date + k * %(days)s / %(per)s AS day,
           ((%(today)s::date - %(first)s::date) * %(per)s + %(days)s - 1) / %(days)s AS kf
    FROM resource r JOIN venue v ON v.id = r.venue_id,
         generate_series(0, %(per)s - 1) AS k
), days AS (
    SELECT *, CASE WHEN extract(isodow FROM day) = 7 THEN day - 1 ELSE day END AS on_day
    FROM spread
), shaped AS (
    SELECT *,
        (on_day + make_time(10 + (k %% 3) * 2, 0, 0)) AT TIME ZONE timezone AS starts_at,
        CASE WHEN k %% 2 = 1 THEN 60 ELSE 90 END AS minutes,
        CASE
            WHEN on_day < %(today)s::date - 3 THEN CASE
                WHEN k %% 20 = 0 THEN 'cancelled'
                WHEN approval AND k %% 20 = 1 THEN 'refused'
                ELSE 'confirmed' END
            WHEN on_day < %(today)s::date THEN CASE
                WHEN approval AND k %% 3 = 0 THEN 'pending' ELSE 'confirmed' END
            WHEN approval AND (k - kf) * %(wanted)s / (%(per)s - kf)
                <> (k - kf + 1) * %(wanted)s / (%(per)s - kf) THEN 'pending'
            ELSE 'confirmed'
        END AS status,
        CASE WHEN on_day >= %(today)s::date THEN %(now)s::timestamptz
             ELSE (on_day - (3 + k %% 10) + time '09:00') AT TIME ZONE 'UTC' END AS created
    FROM days
)
INSERT INTO reservation (id, uid, resource_id, user_id, created_by_id, starts_at, ends_at,
    blocked_until, exclusive, seats, purpose, status, decided_by_id, decided_at,
    decision_reason, overrides, sequence, created_at, updated_at)
SELECT (rid - 1) * %(per)s + k + 1,
    lpad(rid::text, 8, '0') || '-' || lpad((k %% 10000)::text, 4, '0') || '-4000-8000-'
        || lpad(((rid - 1) * %(per)s + k + 1)::text, 12, '0'),
    rid, manager + 2 + (k * 7 + place * 13) %% (%(members)s - 2),
    manager + 2 + (k * 7 + place * 13) %% (%(members)s - 2),
    starts_at, starts_at + minutes * interval '1 minute',
    starts_at + (minutes + buffer) * interval '1 minute',
    NOT shared, CASE WHEN shared THEN 1 + k %% 3 ELSE 1 END, '', status,
    CASE WHEN approval AND status IN ('confirmed', 'refused') THEN manager END,
    CASE WHEN approval AND status IN ('confirmed', 'refused') THEN created END,
    '', '', 0, created,
    CASE WHEN status = 'cancelled' THEN (on_day + time '05:00') AT TIME ZONE 'UTC'
         ELSE created END
FROM shaped
"""

# QUEUED reminders waiting to be sent, each about a booking to come (of a resource that
# needs no approval) to its member, picked evenly among them.
QUEUED_SQL = """
WITH coming AS (
    SELECT r.id, r.user_id, row_number() OVER (ORDER BY r.id) AS n, count(*) OVER () AS total
    FROM reservation r JOIN resource s ON s.id = r.resource_id
    WHERE r.status = 'confirmed' AND r.starts_at > %(now)s AND NOT s.requires_approval
)
INSERT INTO outbox_message (kind, recipient_id, payload, status, attempts, due_at,
    created_at, last_error, subject, sent_to)
SELECT 'reminder', user_id, json_build_object('reservations', json_build_array(
        json_build_object('id', id, 'status', 'confirmed', 'sequence', 0,
                          'updated_at', %(now_text)s::text))),
    'pending', 0, %(now)s, %(now)s, '', '', ''
FROM coming
WHERE n %% greatest(total / %(queued)s::int, 1) = 0
ORDER BY id
LIMIT %(queued)s
"""


def _sessions(shape: Shape, now: datetime) -> Iterator[str]:
    for uid in range(1, shape.members + 2):
        seen = now - timedelta(days=uid % 60)
        digest = hashlib.sha256(f"session-{uid}".encode()).hexdigest()
        yield _line(uid, uid, digest, utc_text(seen), utc_text(seen), "", False)


def _sent_messages(shape: Shape, now: datetime) -> Iterator[str]:
    """E-mails sent over the last half-year, half of them old enough to be purged."""
    n = 0
    for v in range(shape.venues):
        for m in range(SENT_PER_VENUE):
            n += 1
            created = now - timedelta(days=m * 180 // SENT_PER_VENUE, hours=v % 24)
            uid = first_member(v) + m % MEMBERS_PER_VENUE
            yield _line(
                n,
                "accepted",
                uid,
                None,
                None,
                '{"reservations": []}',
                None,
                "sent",
                1,
                utc_text(created),
                None,
                utc_text(created),
                utc_text(created),
                "",
                "Réservation acceptée",
                f"p{uid}@example.org",
                None,
                None,
            )


# Tables loaded without their indexes and constraints (CHECKs aside), created after.
BULK_TABLES = ("reservation", "audit_event")
# Constraints are created in this order (and dropped in the other): keys first, so that
# the foreign keys that point at them come last.
_ORDER = {"p": 0, "u": 1, "x": 3, "f": 4}


def _definitions(connection: Any) -> tuple[list[str], list[str]]:
    """The statements that drop the bulk tables' constraints (CHECKs aside, foreign keys
    that point at them included) and other indexes before the load, and that create
    them again after it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype IN ('p', 'u', 'x', 'f') AND "
            "(conrelid = ANY(%(tables)s::regclass[]) OR confrelid = ANY(%(tables)s::regclass[]))",
            {"tables": list(BULK_TABLES)},
        )
        constraints = sorted(cursor.fetchall(), key=lambda row: (_ORDER[row[2]], row[1]))
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(names)s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            {"names": list(BULK_TABLES)},
        )
        indexes = cursor.fetchall()
    keys = [row for row in constraints if row[2] in "pu"]
    later = [row for row in constraints if row[2] in "xf"]
    create = [f"ALTER TABLE {table} ADD CONSTRAINT {name} {sql}" for table, name, _, sql in keys]
    create += [definition for _, definition in indexes]
    create += [f"ALTER TABLE {table} ADD CONSTRAINT {name} {sql}" for table, name, _, sql in later]
    drop = [
        f"ALTER TABLE {table} DROP CONSTRAINT {name}" for table, name, *_ in reversed(constraints)
    ]
    drop += [f"DROP INDEX {name}" for name, _ in indexes]
    return drop, create


def _recreate(
    server: TempPostgres, shape: Shape, statements: list[str], progress: Callable[[str], None]
) -> None:
    """Create the keys, indexes and constraints dropped for the load: keys and indexes, the
    exclusion constraint (a GiST index, the longest to build: it checks that no two holding
    bookings of a resource overlap), the foreign keys last."""
    import psycopg

    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=network_{shape.label}"

    def first(statement: str) -> int:
        return 2 if "FOREIGN KEY" in statement else 1 if " EXCLUDE " in statement else 0

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '1GB'")
        for statement in sorted(statements, key=first):
            connection.execute(statement)
            words = statement.split()
            name = words[5] if statement.startswith("ALTER") else words[2]
            if not name.startswith("fk_"):
                progress(f"created {name}")
    progress("foreign keys checked")


def build(server: TempPostgres, shape: Shape, instance: Path, now: datetime) -> Built:
    import psycopg

    began = clock.perf_counter()
    url = server.create_database(f"network_{shape.label}")
    app = make_app(url, instance)
    with app.app_context():
        with redirect_stderr(io.StringIO()):  # Alembic's log of each migration
            upgrade()
        db.engine.dispose()
    today = now.astimezone(PARIS).date()
    built = Built(shape, url, today)
    stamp = utc_text(now)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

    def progress(text: str) -> None:
        say(f"[{shape.label}]   {text} ({clock.perf_counter() - began:.0f} s)")

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=network_{shape.label}"
    ) as connection:
        drop, recreate = _definitions(connection)
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)
            # No trigger fires during the load: neither the feed stamps' nor the foreign
            # keys' (the data is made valid; the constraints created after check it).
            cursor.execute("SET session_replication_role = replica")
        load = Loader(connection)
        load.copy(
            "venue",
            "id, slug, name, search_key, address, description, timezone, is_active, created_at, "
            "phone, email",
            _venues(shape, stamp),
        )
        load.copy(
            "opening_period",
            "id, venue_id, resource_id, weekday, opens_at, closes_at",
            _opening_periods(shape),
        )
        load.copy(
            "qualification",
            "id, name, description, venue_id, created_at",
            (
                _line(v + 1, "Formation sécurité découpe laser", "", v + 1, stamp)
                for v in range(shape.venues)
            ),
        )
        load.copy(
            "resource",
            "id, venue_id, slug, name, search_key, kind, description, capacity, requires_approval, "
            "qualification_id, slot_minutes, min_duration_minutes, max_duration_minutes, "
            "min_notice_minutes, horizon_days, buffer_minutes, weekly_quota_minutes, "
            "show_purpose, is_active, created_at, buffer_reason",
            _resources(shape, stamp),
        )
        load.copy(
            "user",
            "id, email, display_name, password_hash, locale, is_admin, active, "
            "feed_token_version, created_at",
            _users(shape, password_hash, stamp),
        )
        load.copy("membership", "id, user_id, venue_id, role, rate", _memberships(shape))
        load.copy(
            "qualification_grant",
            "id, user_id, qualification_id, granted_by_id, granted_at, expires_on, granted_on",
            _grants(shape, today, stamp),
        )
        load.copy(
            "closure",
            "id, uid, venue_id, resource_id, starts_at, ends_at, reason, reason_public, "
            "created_by_id, created_at, updated_at, sequence",
            _closures(shape, today, stamp),
        )
        load.copy(
            "tariff",
            "id, resource_id, valid_from, unit, member_cents, outside_cents, created_by_id, "
            "created_at",
            _tariffs(shape, today, stamp),
        )
        progress(f"{shape.venues} venues, {shape.resources:,} resources, {shape.members:,} members")
        first = today - timedelta(days=YEARS_BACK * 365)
        with connection.cursor() as cursor:
            cursor.execute(
                RESERVATIONS_SQL,
                {
                    "first": first,
                    "days": YEARS_BACK * 365 + DAYS_AHEAD,
                    "per": RESERVATIONS_PER_RESOURCE,
                    "today": today,
                    "wanted": PENDING_PER_APPROVAL_RESOURCE,
                    "members": MEMBERS_PER_VENUE,
                    "now": now,
                },
            )
            built.reservations = cursor.rowcount
            cursor.execute("SELECT count(*) FROM reservation WHERE status = 'pending'")
            (built.pending,) = cursor.fetchone()
        progress(
            f"{built.reservations:,} reservations written, {built.pending:,} of them waiting "
            "for a manager"
        )
        with connection.cursor() as cursor:
            # Every move in the log: its request, then its decision or cancellation.
            cursor.execute(
                "INSERT INTO audit_event (reservation_id, venue_id, actor_id, action, detail, "
                "created_at) SELECT r.id, s.venue_id, r.created_by_id, 'created', '', "
                "r.created_at FROM reservation r JOIN resource s ON s.id = r.resource_id"
            )
            cursor.execute(
                "INSERT INTO audit_event (reservation_id, venue_id, actor_id, action, detail, "
                "created_at) SELECT r.id, s.venue_id, coalesce(r.decided_by_id, r.user_id), "
                "CASE r.status WHEN 'confirmed' THEN 'approved' WHEN 'refused' THEN 'refused' "
                "ELSE 'cancelled' END, '', coalesce(r.decided_at, r.updated_at) "
                "FROM reservation r JOIN resource s ON s.id = r.resource_id "
                "WHERE r.decided_by_id IS NOT NULL OR r.status = 'cancelled'"
            )
            cursor.execute(
                "INSERT INTO admin_event (venue_id, actor_id, action, label, changes, detail, "
                "created_at) SELECT v.id, 2 + (v.id - 1) * %s, 'hours.changed', 'Horaires', "
                "'[]', '', now() - make_interval(days => g * 30) "
                "FROM venue v, generate_series(1, 50) g",
                (MEMBERS_PER_VENUE,),
            )
        progress("the log written")
        load.copy(
            "login_session",
            "id, user_id, token_digest, created_at, last_seen_at, user_agent, remembered",
            _sessions(shape, now),
        )
        load.copy(
            "outbox_message",
            "id, kind, recipient_id, to_address, locale, payload, dedupe_key, status, "
            "attempts, due_at, lease_until, created_at, sent_at, last_error, subject, "
            "sent_to, rendered, waiting_on",
            _sent_messages(shape, now),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('outbox_message', 'id'), "
                "(SELECT max(id) FROM outbox_message))"
            )
            cursor.execute(
                QUEUED_SQL,
                {"now": now, "now_text": now.isoformat(), "queued": QUEUED},
            )
            cursor.execute(
                "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
                "SELECT 'r', id, 1, now() FROM resource UNION ALL "
                "SELECT 'v', id, 1, now() FROM venue UNION ALL "
                "SELECT 'm', id, 1, now() FROM venue UNION ALL "
                "SELECT 'u', id, 1, now() FROM \"user\""
            )
            cursor.execute("SET session_replication_role = origin")
            connection.commit()
            progress("sessions, e-mails and feed stamps")
        _recreate(server, shape, recreate, progress)
        with connection.cursor() as cursor:
            for table in (
                "venue",
                "opening_period",
                "qualification",
                "resource",
                "user",
                "membership",
                "qualification_grant",
                "closure",
                "tariff",
                "reservation",
                "audit_event",
                "admin_event",
                "login_session",
                "outbox_message",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        progress("analysed")
    return built


# --- measuring ----------------------------------------------------------------------------


def make_app(url: str, instance: Path) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark-secret-key-of-sufficient-length",
            "INSTANCE_PATH": str(instance),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "WTF_CSRF_ENABLED": False,
            "MAIL_SEND_IN_BACKGROUND": False,
            "SMTP_HOST": "",
            "EXTERNAL_URL": "https://reservations.example.org",
        }
    )


def forget_kept_work() -> None:
    """Every page rendered as after a change: nothing kept from the request before."""
    from flask import current_app

    current_app.extensions[fragments.EXTENSION].clear()
    worded_weeks._WORDED.clear()
    worded_weeks._RENDERED.clear()
    planned_weeks._PLANS.clear()


@dataclass
class Recorded:
    statements: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def recording() -> Iterator[Recorded]:
    seen = Recorded()

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
            return
        if executemany and isinstance(parameters, list | tuple):
            parameters = parameters[0] if parameters else None
        seen.statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _plan_nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def whole_reads(statements: list[tuple[str, Any]]) -> list[str]:
    """The large tables that a statement's plan reads whole (a sequential scan)."""
    found = []
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            head = statement.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
                continue
            try:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters or None)
                plan = cursor.fetchone()[0]
            except Exception:  # a statement that needs what its transaction made
                raw.rollback()
                continue
            raw.rollback()
            plan = plan if isinstance(plan, list) else json.loads(plan)
            for node in _plan_nodes(plan[0]["Plan"]):
                if (
                    node.get("Node Type") == "Seq Scan"
                    and node.get("Relation Name") in LARGE_TABLES
                ):
                    found.append(f"{node['Relation Name']} ({node.get('Plan Rows', 0):,.0f} rows)")
    finally:
        raw.close()
    return sorted(set(found))


@dataclass
class Figure:
    seconds: float
    statements: int
    whole: list[str]
    note: str = ""


@dataclass
class Measure:
    name: str
    kind: str  # "venue": must not grow with the network; "network"; "search"; "job"
    run: Callable[[Built, dict], Any]  # the work; returns a note, or None
    repeat: bool = True


def timed(measure: Measure, app: Flask, built: Built, state: dict) -> tuple[float, str]:
    with app.app_context():
        if measure.kind != "job":
            forget_kept_work()
        db.session.remove()
        began = clock.perf_counter()
        note = measure.run(built, state)
        elapsed = clock.perf_counter() - began
        db.session.remove()
    return elapsed, note or ""


def counted(
    measure: Measure, app: Flask, built: Built, state: dict
) -> tuple[int, list[str], float, str]:
    with app.app_context():
        if measure.kind != "job":
            forget_kept_work()
        db.session.remove()
        with recording() as seen:
            began = clock.perf_counter()
            note = measure.run(built, state)
            elapsed = clock.perf_counter() - began
        db.session.remove()
        whole = whole_reads(seen.statements)
    return len(seen.statements), whole, elapsed, note or ""


def get(state: dict, path: str, who: str = "visitor", status: int = 200, **headers: str) -> Any:
    client = state[who]
    response = client.get(path, headers=headers)
    if response.status_code != status:
        raise AssertionError(f"{path} answered {response.status_code}")
    return response


def _booking_slot(built: Built, state: dict, key: str) -> tuple[date, int]:
    """A day of its own for each booking, within the resources' horizon."""
    state[key] = state.get(key, 0) + 1
    turn = state[key]
    return built.today + timedelta(days=2 + turn % 80), turn


def one_booking(built: Built, state: dict) -> str:
    """Atelier bois of venue 0, a free evening hour (bookings end by 16:00)."""
    day, turn = _booking_slot(built, state, "booked")
    hour = 16
    if day.weekday() == 6:  # closed on Sundays: the Monday, an hour later
        day, hour = day + timedelta(days=1), 17
    member = first_member(0) + 2 + turn % 90
    book(
        resource_id=resource_id(0, 5),
        member_id=member,
        actor_id=member,
        starts_at=LocalMoment(day, time(hour)),
        ends_at=LocalMoment(day, time(hour, 30)),
        now=datetime.now(UTC),
    )
    return ""


def floor_booking(built: Built, state: dict) -> str:
    """benchmarks/booking.py's raw floor, on the machine à coudre of venue 0."""
    day, _ = _booking_slot(built, state, "floored")
    hour = 16
    start = datetime.combine(day, time(hour), tzinfo=PARIS).astimezone(UTC)
    end = start + timedelta(minutes=30)
    rid, user = resource_id(0, 6), first_member(0) + 2
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT id FROM resource WHERE id = %s FOR UPDATE", (rid,))
        cursor.execute(
            "SELECT starts_at, blocked_until, seats FROM reservation WHERE resource_id = %s "
            "AND status IN ('pending', 'confirmed') AND starts_at >= %s AND starts_at < %s "
            "AND blocked_until > %s",
            (rid, start - timedelta(days=14), end, start),
        )
        cursor.fetchall()
        now = datetime.now(UTC)
        cursor.execute(
            "INSERT INTO reservation (uid, resource_id, user_id, created_by_id, starts_at, "
            "ends_at, blocked_until, exclusive, seats, purpose, status, decision_reason, "
            "overrides, sequence, created_at, updated_at) VALUES (gen_random_uuid()::text, "
            "%s, %s, %s, %s, %s, %s, true, 1, '', 'confirmed', '', '', 0, %s, %s) RETURNING id",
            (rid, user, user, start, end, end, now, now),
        )
        (reservation,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO audit_event (reservation_id, actor_id, action, detail, created_at) "
            "VALUES (%s, %s, 'created', '', %s)",
            (reservation, user, now),
        )
        connection.commit()
    finally:
        connection.close()
    return ""


def page(path: str, who: str = "visitor") -> Callable[[Built, dict], str]:
    def run(built: Built, state: dict) -> str:
        get(state, path, who)
        return ""

    return run


def feed_full(built: Built, state: dict) -> str:
    response = get(state, f"/feeds/venues/{venue_slug(0)}.ics")
    state["etag"] = response.headers["ETag"]
    return f"{len(response.data) // 1024} KiB"


def feed_unchanged(built: Built, state: dict) -> str:
    get(state, f"/feeds/venues/{venue_slug(0)}.ics", status=304, **{"If-None-Match": state["etag"]})
    return ""


def yearly_report(built: Built, state: dict) -> str:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == venue_slug(0)))
    activity_report(db.session, [venue], Period.year(built.today.year - 1))
    return ""


def last_month(built: Built) -> str:
    first = built.today.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


def statements_page(built: Built, state: dict) -> str:
    response = get(state, f"/reports/statements?month={last_month(built)}", "admin")
    return f"{len(response.data) // 1024} KiB"


def network_statements(built: Built, state: dict) -> str:
    """Every line of the month, priced, for every venue: what the downloads hold."""
    venues = list(db.session.scalars(sa.select(Venue).order_by(Venue.name)))
    year, month = map(int, last_month(built).split("-"))
    made = monthly_statements(db.session, venues, Period.month(year, month))
    return f"{len(made.lines):,} lines"


def expiry(built: Built, state: dict) -> str:
    return f"{expire_pending(datetime.now(UTC))} expired"


def reminders(built: Built, state: dict) -> str:
    evening = datetime.combine(built.today, time(18), tzinfo=PARIS)
    return f"{record_reminders(evening)} recorded"


def purge(built: Built, state: dict) -> str:
    gone = purge_expired(datetime.now(UTC))
    return ", ".join(f"{count:,} {name}" for name, count in gone.items() if count)


def sender(built: Built, state: dict) -> str:
    sent = 0
    while True:
        report = send_due(datetime.now(UTC))
        sent += report.sent
        if not report.handled:
            break
    return f"{sent:,} sent"


def measures() -> list[Measure]:
    v0 = venue_slug(0)
    tomorrow = "when=tomorrow&part=afternoon&minutes=60"
    return [
        # The jobs first: the first page asked would otherwise expire yesterday's requests.
        Measure("sender", "job", sender, repeat=False),
        Measure("expiry job", "job", expiry, repeat=False),
        Measure("reminders job", "job", reminders, repeat=False),
        Measure("purge job", "job", purge, repeat=False),
        Measure("booking", "venue", one_booking),
        Measure("booking, raw floor", "venue", floor_booking),
        Measure("venue week", "venue", page(f"/venues/{v0}/week")),
        Measure("resource page", "venue", page(f"/resources/{resource_slug(0, 1)}")),
        Measure("schedule (manager)", "venue", page(f"/manage/venues/{v0}/schedule", "manager")),
        Measure("requests (manager)", "venue", page("/manage/", "manager")),
        Measure("members page", "venue", page(f"/manage/venues/{v0}/members", "manager")),
        Measure("log page", "venue", page(f"/manage/venues/{v0}/log", "manager")),
        Measure("search, one venue", "venue", page(f"/search?venue={v0}&{tomorrow}")),
        Measure("search, network, a word", "search", page(f"/search?q=cuisine&{tomorrow}")),
        Measure("search, network, a week", "search", page("/search?when=week&part=any&minutes=60")),
        Measure("venue feed, full", "venue", feed_full),
        Measure("venue feed, 304", "venue", feed_unchanged),
        Measure("venue's yearly report", "venue", yearly_report),
        Measure(
            "venue's statements page",
            "venue",
            lambda built, state: page(
                f"/reports/statements?venue={v0}&month={last_month(built)}", "manager"
            )(built, state),
        ),
        Measure("network's statements page", "network", statements_page),
        Measure("network's month of statements", "network", network_statements),
        Measure("venues (admin)", "network", page("/admin/", "admin")),
        Measure("accounts (admin)", "network", page("/admin/accounts", "admin")),
        Measure("messages (admin)", "network", page("/admin/messages", "admin")),
    ]


def clients(app: Flask) -> dict:
    state: dict[str, Any] = {"visitor": app.test_client()}
    for who, email in (
        ("manager", f"p{first_member(0)}@example.org"),
        ("admin", "admin@example.org"),
    ):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        if response.status_code != 302:
            raise AssertionError(f"{who} could not log in: {response.status_code}")
        state[who] = client
    return state


def run_measures(networks: list[tuple[Built, Flask]], rounds: int) -> dict[str, dict[str, Figure]]:
    states: dict[str, dict] = {built.shape.label: {} for built, _ in networks}
    figures: dict[str, dict[str, Figure]] = {built.shape.label: {} for built, _ in networks}
    for measure in measures():
        for built, app in networks:
            label = built.shape.label
            state = states[label]
            if measure.kind != "job" and "visitor" not in state:
                state.update(clients(app))
            if measure.repeat:
                timed(measure, app, built, state)  # warm up
            statements, whole, elapsed, note = counted(measure, app, built, state)
            times = [elapsed] if not measure.repeat else []
            figures[label][measure.name] = Figure(0.0, statements, whole, note)
            state.setdefault("times", {})[measure.name] = times
        if measure.repeat:
            for _ in range(rounds):
                for built, app in networks:  # in turn: the machine's load weighs on both alike
                    elapsed, _ = timed(measure, app, built, states[built.shape.label])
                    states[built.shape.label]["times"][measure.name].append(elapsed)
        for built, _ in networks:
            label = built.shape.label
            figure = figures[label][measure.name]
            figure.seconds = statistics.median(states[label]["times"][measure.name])
        small, large = (figures[b.shape.label][measure.name] for b, _ in networks)
        say(
            f"  {measure.name:<28} {small.seconds * 1000:9.1f} ms {large.seconds * 1000:9.1f} ms"
            f"  ×{large.seconds / small.seconds:5.2f}"
            f"  {small.statements:3d}/{large.statements:<3d} statements"
            f"{'  reads whole: ' + ', '.join(large.whole) if large.whole else ''}"
            f"{'  (' + large.note + ')' if large.note else ''}"
        )
    return figures


def verdict(measure: Measure, small: Figure, large: Figure) -> tuple[str, bool]:
    ratio = large.seconds / small.seconds if small.seconds else 0.0
    if large.whole:
        return "reads a large table whole", False
    if measure.kind == "venue":
        return f"≤ {PER_VENUE_TARGET}×", ratio <= PER_VENUE_TARGET
    if measure.kind == "search":
        return f"< {SEARCH_TARGET * 1000:.0f} ms", large.seconds < SEARCH_TARGET
    if measure.kind == "job":
        return f"< {JOB_TARGET:.0f} s", large.seconds < JOB_TARGET
    return "no whole read", True


def summary(figures: dict[str, dict[str, Figure]], labels: tuple[str, str]) -> bool:
    small_label, large_label = labels
    say("")
    say(f"| measure | {small_label} | statements | {large_label} | statements | ratio | target | |")
    say("|---|---:|---:|---:|---:|---:|---|---|")
    met = True
    for measure in measures():
        small, large = figures[small_label][measure.name], figures[large_label][measure.name]
        target, ok = verdict(measure, small, large)
        met = met and ok
        note = f" ({large.note})" if large.note else ""
        say(
            f"| {measure.name}{note} | {small.seconds * 1000:.1f} ms | {small.statements} "
            f"| {large.seconds * 1000:.1f} ms | {large.statements} "
            f"| {large.seconds / small.seconds:.2f} | {target} | {'OK' if ok else 'MISSED'} |"
        )
    ours = (
        figures[large_label]["booking"].seconds / figures[large_label]["booking, raw floor"].seconds
    )
    ours_small = (
        figures[small_label]["booking"].seconds / figures[small_label]["booking, raw floor"].seconds
    )
    say("")
    say(f"A booking ÷ the raw floor: {ours_small:.1f} ({small_label}), {ours:.1f} ({large_label}).")
    return met


def tune(server: TempPostgres) -> None:
    """Settings a server of this size would have: more memory for the cache and for
    building indexes, checkpoints spaced out during the load."""
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as connection:
        for setting, value in (
            ("shared_buffers", "2GB"),
            ("effective_cache_size", "12GB"),
            ("maintenance_work_mem", "1GB"),
            ("work_mem", "16MB"),
            ("max_wal_size", "16GB"),
            ("checkpoint_timeout", "30min"),
            ("random_page_cost", "1.1"),
        ):
            connection.execute(f"ALTER SYSTEM SET {setting} = '{value}'")
    server.restart()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=300, help="of the large network")
    parser.add_argument("--small-venues", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=7, help="timed runs of each measure")
    parser.add_argument("--queued", type=int, default=QUEUED, help="e-mails for the sender")
    args = parser.parse_args()
    globals()["QUEUED"] = args.queued
    compile_stale_catalogues()
    work = Path(tempfile.mkdtemp(prefix="booking-scale-"))
    server = TempPostgres()
    say("starting a throw-away PostgreSQL cluster")
    server.start()
    began = clock.perf_counter()
    try:
        tune(server)
        now = datetime.now(UTC)
        networks = []
        for shape in (Shape("small", args.small_venues), Shape("large", args.venues)):
            say(
                f"[{shape.label}] building {shape.venues} venues, {shape.resources:,} resources, "
                f"{shape.resources * RESERVATIONS_PER_RESOURCE:,} reservations"
            )
            instance = work / shape.label
            instance.mkdir()
            built = build(server, shape, instance, now)
            networks.append((built, make_app(built.url, instance)))
        say(f"built in {clock.perf_counter() - began:.0f} s; measuring (small, large, ratio)")
        figures = run_measures(networks, args.rounds)
        met = summary(figures, ("small", "large"))
        for _, app in networks:
            with app.app_context():
                db.engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    say(f"done in {clock.perf_counter() - began:.0f} s")
    say("Targets met." if met else "Targets NOT met.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
