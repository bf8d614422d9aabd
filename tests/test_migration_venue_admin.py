"""The venue-administration migration keeps what existing databases hold: whole-day closures
become local-midnight ranges, trainings find their venue, grants their day; and back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from booking import create_app
from booking.extensions import db

from .conftest import base_config
from .support.postgres import TempPostgres

pytestmark = pytest.mark.postgres

BEFORE = "a7c3e1f09b52"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        server: TempPostgres = request.getfixturevalue("postgres_server")
        return server.create_database("booking_migration")
    return f"sqlite:///{tmp_path / 'migration.sqlite3'}"


def _utc(value: str | datetime) -> datetime:
    """An instant as read back raw: SQLite's naive UTC text, PostgreSQL's aware value."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _rows(statement: str) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(sa.text(statement))]


def test_existing_closures_trainings_and_grants_are_carried_over(url: str, tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        upgrade(revision=BEFORE)
        stamp = datetime(2026, 1, 1, tzinfo=UTC)
        with db.engine.begin() as conn:
            for slug in ("moulins", "la-cape"):
                conn.execute(
                    sa.text(
                        "INSERT INTO venue (slug, name, address, description, timezone, is_active, "
                        "created_at) VALUES (:slug, :slug, '', '', 'Europe/Paris', true, :at)"
                    ),
                    {"slug": slug, "at": stamp},
                )
            conn.execute(
                sa.text("INSERT INTO qualification (name, description) VALUES ('Laser', '')")
            )
            conn.execute(
                sa.text("INSERT INTO qualification (name, description) VALUES ('Autre', '')")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO resource (venue_id, slug, name, kind, description, capacity, "
                    "requires_approval, qualification_id, slot_minutes, min_duration_minutes, "
                    "max_duration_minutes, min_notice_minutes, horizon_days, buffer_minutes, "
                    "show_purpose, is_active, created_at) VALUES (1, 'laser', 'Laser', "
                    "'equipment', '', 1, false, 1, 30, 30, 60, 0, 30, 0, false, true, :at)"
                ),
                {"at": stamp},
            )
            conn.execute(
                sa.text(
                    'INSERT INTO "user" (email, display_name, password_hash, locale, is_admin, '
                    "active, feed_token_version, created_at) VALUES ('a@example.org', 'A', 'x', "
                    "'fr', false, true, 1, :at)"
                ),
                {"at": stamp},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO qualification_grant (user_id, qualification_id, granted_at) "
                    "VALUES (1, 1, :at)"
                ),
                {"at": datetime(2026, 3, 1, 23, 30, tzinfo=UTC)},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO closure (venue_id, resource_id, starts_on, ends_on, reason) "
                    "VALUES (1, 1, '2026-08-01', '2026-08-15', 'Congés')"
                )
            )

        upgrade()
        db.session.remove()
        # Whole days in Paris: from midnight on the first day to midnight after the last.
        (closure,) = _rows("SELECT starts_at, ends_at, reason, reason_public, uid FROM closure")
        starts_at, ends_at = (_utc(value) for value in closure[:2])
        assert (starts_at, ends_at) == (datetime(2026, 7, 31, 22), datetime(2026, 8, 15, 22))
        assert closure[2] == "Congés" and closure[3] and len(closure[4]) == 36
        # The laser training belongs to the laser's venue; the unused one to La Cape.
        assert _rows("SELECT name, venue_id FROM qualification ORDER BY id") == [
            ("Laser", 1),
            ("Autre", 2),
        ]
        granted_on = _rows("SELECT granted_on FROM qualification_grant")[0][0]
        assert str(granted_on)[:10] == "2026-03-02"  # 23:30 UTC is the next day in Paris
        # The ORM reads it all, and names are now unique per venue only.
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO qualification (venue_id, name, description, created_at) "
                    "VALUES (2, 'Laser', '', :at)"
                ),
                {"at": stamp},
            )

        db.session.remove()  # its open transaction would hold PostgreSQL's locks
        downgrade(revision=BEFORE)
        db.session.remove()
        assert _rows("SELECT starts_on, ends_on, reason FROM closure") in (
            [(date(2026, 8, 1), date(2026, 8, 15), "Congés")],
            [("2026-08-01", "2026-08-15", "Congés")],
        )
        assert sorted(name for (name,) in _rows("SELECT name FROM qualification")) == [
            "Autre",
            "Laser",
            "Laser (2)",
        ]
        assert _rows("SELECT count(*) FROM qualification_grant") == [(1,)]
        db.session.remove()
        db.engine.dispose()
