"""The models and the migrations describe one schema, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from booking import create_app
from booking.extensions import db
from booking.models import Reservation
from booking.models.feeds import TRIGGER_NAMES

from .conftest import _migrate, base_config
from .support.postgres import TempPostgres

pytestmark = pytest.mark.postgres


def test_models_and_migrations_agree(runner: FlaskCliRunner) -> None:
    """``flask db check``: Alembic compares the models with the migrated database."""
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.exception


def _drifted_app(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Flask:
    """An app on a database of its own, migrated, then altered by hand."""
    if db_backend == "postgresql":
        server: TempPostgres = request.getfixturevalue("postgres_server")
        url = server.create_database("booking_drift")
    else:
        url = f"sqlite:///{tmp_path / 'drift.sqlite3'}"
    _migrate(url, tmp_path)
    return create_app(base_config(tmp_path, url))


def test_the_check_fails_on_drift(
    db_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The check above can fail: an index dropped by hand is found missing."""
    app = _drifted_app(db_backend, tmp_path, request)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP INDEX ix_reservation_user_starts"))
        result = app.test_cli_runner().invoke(args=["db", "check"])
        db.engine.dispose()
    assert result.exit_code != 0
    assert "ix_reservation_user_starts" in str(result.exception) + result.output


def test_the_exclusion_constraint_is_the_models(
    postgres_server: TempPostgres, tmp_path: Path
) -> None:
    """The migrations' constraint is the one the model declares, so that no later
    migration generated from the models can lose it: a database built by the
    migrations and one built from the models alone have the same."""
    declared = next(
        c for c in Reservation.__table__.constraints if c.name == "ex_reservation_no_overlap"
    )
    query = sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name")
    migrated_url = postgres_server.create_database("booking_from_migrations")
    _migrate(migrated_url, tmp_path)
    models_url = postgres_server.create_database("booking_from_models")
    definitions = []
    for url, build in ((migrated_url, None), (models_url, db.metadata.create_all)):
        engine = sa.create_engine(url)
        try:
            if build is not None:
                build(engine)
            with engine.connect() as connection:
                definitions.append(connection.scalar(query, {"name": declared.name}))
        finally:
            engine.dispose()
    migrated, built = definitions
    assert migrated.startswith(
        "EXCLUDE USING gist (resource_id WITH =, "
        "tstzrange(starts_at, blocked_until, '[)'::text) WITH &&, "
        "COALESCE(replaces_id, id) WITH <>) WHERE"
    )
    assert "exclusive" in migrated
    assert "'pending'" in migrated and "'confirmed'" in migrated
    assert built == migrated


def test_a_migrated_database_has_every_feed_trigger(app: Flask, db_backend: str) -> None:
    """Including on tables that a later migration rebuilt (SQLite drops their triggers)."""
    if db_backend == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    found = set(db.session.scalars(sa.text(query)))
    assert set(TRIGGER_NAMES) <= found
