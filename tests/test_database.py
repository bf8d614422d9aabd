"""What the booking guarantee relies on in SQLite's set-up, and the overlap query's plan."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.database import write_transaction
from booking.extensions import db
from booking.services.availability.week import holds


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


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_connection_the_server_closed_is_replaced_before_use(app, client, make):
    """The pool keeps connections between requests; PostgreSQL may close one (a restart,
    an administrator ending its backend). The next request gets a fresh one, and no
    round trip is spent checking the others."""
    make.venue(slug="fabrique")
    assert client.get("/venues/fabrique/week").status_code == 200
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    db.session.remove()  # back to the pool, idle
    outside = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with outside.connect() as other:
        ended = other.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    outside.dispose()
    assert ended >= 1
    time.sleep(0.2)  # the server's goodbye reaches the sockets

    pings = []
    original = db.engine.dialect.do_ping
    db.engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
    try:
        for _ in range(3):
            assert client.get("/venues/fabrique/week").status_code == 200
    finally:
        del db.engine.dialect.do_ping
    assert db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
    assert not pings  # recently used connections are not pinged


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_connection_idle_for_a_while_is_pinged_before_use(app, client, make, monkeypatch):
    import booking.database

    make.venue(slug="fabrique")
    db.session.remove()
    monkeypatch.setattr(booking.database, "PING_AFTER_IDLE_SECONDS", 0.0)
    pings = []
    original = db.engine.dialect.do_ping
    db.engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
    try:
        assert client.get("/venues/fabrique/week").status_code == 200
    finally:
        del db.engine.dialect.do_ping
    assert pings


def _autocommit() -> bool:
    """Whether the session's PostgreSQL connection sends statements without a transaction."""
    return db.session.connection().connection.dbapi_connection.autocommit


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_request_that_reads_only_runs_outside_a_transaction_and_writes_stay_whole(app, make):
    from booking.database import run_write
    from booking.models import Venue
    from booking.services import reads_only

    venue_id = make.venue(slug="fabrique", name="La Fabrique").id
    db.session.remove()
    reads_only()
    assert _autocommit()
    assert db.session.scalar(sa.select(Venue.name)) == "La Fabrique"

    def rename_then_fail(session):
        session.execute(sa.update(Venue).values(name="La Forge"))
        session.flush()
        raise RuntimeError("halfway")

    with pytest.raises(RuntimeError):
        run_write(rename_then_fail)
    db.session.remove()
    # The write had its own transaction: rolled back whole. And the connection went
    # back to the pool in its usual mode.
    assert not _autocommit()
    assert db.session.get(Venue, venue_id).name == "La Fabrique"


def test_reading_only_changes_nothing_on_sqlite(app):
    from booking.services import reads_only

    reads_only()
    assert not db.session.connection().get_execution_options().get("isolation_level")


@pytest.fixture
def with_replica(app, database_url, tmp_path):
    """An app that names a replica: the test database itself, reached by a second engine,
    so that where each statement goes shows in the engine that runs it."""
    from booking import create_app

    from .conftest import base_config

    def make(replica_url: str = database_url):
        return create_app(
            {**base_config(tmp_path, database_url), "DATABASE_REPLICA_URL": replica_url}
        )

    return make


def _engine_in_use():
    return db.session.connection().engine


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_request_that_only_reads_may_read_the_replica_until_it_writes(with_replica):
    from booking.database import REPLICA, run_write
    from booking.models import Venue
    from booking.services import reading_replica, reads_only

    replica_app = with_replica()
    with replica_app.app_context():
        assert reads_only(replica=True)
        assert reading_replica() and _engine_in_use() is db.engines[REPLICA]
        assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == 0

        run_write(lambda session: session.add(Venue(slug="quai", name="Le Quai", address="Lille")))
        # The write went to the primary, and so does everything after it.
        assert not reading_replica() and _engine_in_use() is db.engine
        assert not reads_only(replica=True)
        assert db.session.scalar(sa.select(Venue.name)) == "Le Quai"

    with replica_app.app_context():  # the next request: a flush leaves the replica too
        assert reads_only(replica=True)
        db.session.add(Venue(slug="forge", name="La Forge", address="Roubaix"))
        db.session.flush()
        assert not reading_replica() and _engine_in_use() is db.engine
        db.session.rollback()
        db.engines[REPLICA].dispose()
        db.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_replica_that_does_not_answer_leaves_reads_on_the_primary(with_replica):
    from booking.config import normalise_database_url
    from booking.database import REPLICA
    from booking.models import Venue
    from booking.services import reading_replica, reads_only

    from .support.postgres import free_port

    replica_app = with_replica(
        normalise_database_url(f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    )
    attempts = []
    with replica_app.app_context():
        sa.event.listen(db.engines[REPLICA], "do_connect", lambda *args: attempts.append(1))
    for _ in range(3):
        with replica_app.app_context():
            assert not reads_only(replica=True)
            assert not reading_replica()
            assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == 0
    # Tried once, then left alone for a while: a replica that is down costs one attempt.
    assert len(attempts) == 1
    with replica_app.app_context():
        db.engine.dispose()
