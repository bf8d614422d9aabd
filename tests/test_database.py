"""What the booking guarantee relies on in SQLite's set-up, and the overlap query's plan."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from booking.database import write_transaction
from booking.extensions import db
from booking.services.availability import holds


def pragma(name: str):
    return db.session.execute(sa.text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app):
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == app.config["SQLITE_BUSY_TIMEOUT"] * 1000


def test_a_write_transaction_holds_the_write_lock_from_its_first_statement(app, tmp_path):
    # Another connection cannot even begin a write while ours has only read.
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], connect_args={"timeout": 0})
    with write_transaction() as session:
        session.execute(sa.text("SELECT 1"))
        with other.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except sa.exc.OperationalError as error:
                assert "locked" in str(error)
            else:  # pragma: no cover - the assertion explains the failure
                raise AssertionError("a second writer got in during our check")
    other.dispose()


def test_the_overlap_query_is_a_range_scan_of_its_index(make):
    venue = make.venue()
    resource = make.resource(venue)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    start = datetime(2026, 6, 2, 8, tzinfo=UTC)
    holds(db.session, resource.id, start, start + timedelta(hours=2))
    sa.event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = next(s for s in statements if "FROM reservation" in s[0])
    plan = " ".join(
        row[-1]
        for row in db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters
        )
    )
    assert "USING INDEX ix_reservation_resource_starts" in plan
    assert "starts_at>" in plan.replace(" ", "") and "starts_at<" in plan.replace(" ", "")
