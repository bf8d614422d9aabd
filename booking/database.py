"""Engine set-up that the booking guarantees depend on, write transactions, and where a
request that only reads reads from (the primary, or a replica when one is configured)."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .extensions import READS_FROM, RoutingSession, db

WRITE_LOCK_OPTION = "booking_write_lock"
# PostgreSQL's answers to two transactions waiting on each other: one of them
# is cancelled and may simply run again.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
WRITE_ATTEMPTS = 3

T = TypeVar("T")


# A pooled PostgreSQL connection unused for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0

# The bind of the replica that requests which only read may use: DATABASE_REPLICA_URL,
# made a Flask-SQLAlchemy bind by booking.config (its REPLICA_BIND).
REPLICA = "replica"
# After the replica failed to answer, this process reads from the primary for this long
# before trying it again: a replica that is down costs one attempt, not one per request.
REPLICA_RETRY_SECONDS = 10.0
# Set in Session.info once the request has written, or has left the replica: what it
# reads afterwards comes from the primary.
_ON_PRIMARY = "booking_on_primary"
_replica_down_until: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()


def configure_engine(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT"])
    elif engine.dialect.name == "postgresql":
        _check_connections_before_use(engine)
    with app.app_context():
        replica = db.engines.get(REPLICA)
    if replica is not None:
        _check_connections_before_use(replica)

    # Registered after Flask-SQLAlchemy's, so it runs first: a connection that
    # died during the request (PostgreSQL restarted) cannot even roll back, and
    # that must not turn an answered request into a 500.
    @app.teardown_appcontext
    def _release_session(_error: BaseException | None) -> None:
        try:
            db.session.remove()
        except DBAPIError:
            db.session.registry.clear()


def _configure_sqlite(engine: Engine, busy_timeout: int) -> None:
    # pysqlite opens its transaction lazily at the first write, which is after
    # the availability check: two requests could both see the slot free. We
    # take over BEGIN so that a booking starts with BEGIN IMMEDIATE and holds
    # the database's write lock from its first read.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_LOCK_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _hung_up(dbapi_connection: Any) -> bool:
    """Whether the server closed this idle connection: an idle connection gets nothing
    from PostgreSQL unless it is being shut down (restart, terminated backend), so
    anything to read on its socket means it is gone. No round trip."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _check_connections_before_use(engine: Engine) -> None:
    """What ``pool_pre_ping`` does, without its round trip on every request: a connection
    the server hung up on is replaced before use, and one idle for a while is pinged
    (a server that vanished without closing its sockets), so that after PostgreSQL
    restarts the app recovers by itself."""

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return  # just opened
        if _hung_up(dbapi_connection):
            raise sa.exc.DisconnectionError("PostgreSQL closed the connection")
        if time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                alive = engine.dialect.do_ping(dbapi_connection)
            except Exception as error:  # any failure means: use another connection
                raise sa.exc.DisconnectionError("the ping failed") from error
            if not alive:
                raise sa.exc.DisconnectionError("the ping failed")


def reads_only(replica: bool = False) -> bool:
    """Let this request's statements run outside a transaction, on PostgreSQL, when it
    only reads: each one sees what was committed when it starts, as it would in the
    READ COMMITTED transaction it saves, and the BEGIN and ROLLBACK round trips go.

    For the most visited pages (a week, a resource, the search), called before their
    first statement; nothing changes when the request has already read something (its
    transaction is open) or on SQLite. A write later in the request still gets a
    transaction of its own: ``write_transaction`` ends this one first, and the pool
    hands the connection back in its usual mode.

    With ``replica``, and a replica configured (``DATABASE_REPLICA_URL``), the request
    reads from the replica instead, unless it has written already or the replica did not
    answer a moment ago; a replica that cannot be reached leaves it on the primary.
    Returns whether it reads from the replica. Its first write, and everything after,
    goes to the primary (``leave_replica``)."""
    session = db.session()
    if replica and _read_from_replica(session):
        return True
    if session.in_transaction() or db.engine.dialect.name != "postgresql":
        return False
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return False


def _read_from_replica(session: Session) -> bool:
    engine = db.engines.get(REPLICA)
    if (
        engine is None
        or session.info.get(_ON_PRIMARY)
        or time.monotonic() < _replica_down_until.get(engine, 0.0)
    ):
        return False
    was_open = session.in_transaction()
    try:
        session.connection(
            bind_arguments={"bind": engine}, execution_options={"isolation_level": "AUTOCOMMIT"}
        )
    except DBAPIError as error:
        _mark_down(engine, error)
        if not was_open:
            session.rollback()
        return False
    session.info[READS_FROM] = engine
    return True


def _mark_down(engine: Engine, error: BaseException) -> None:
    logging.getLogger(__name__).warning("replica unavailable, reading from the primary: %s", error)
    _replica_down_until[engine] = time.monotonic() + REPLICA_RETRY_SECONDS


def reading_replica() -> bool:
    """Whether this request reads from the replica."""
    return db.session().info.get(READS_FROM) is not None


def leave_replica(down: bool = False) -> None:
    """Read from the primary for the rest of the request: the replica lags behind what
    the request needs, or it failed (``down``: leave it alone for a while)."""
    session = db.session()
    engine = session.info.pop(READS_FROM, None)
    session.info[_ON_PRIMARY] = True
    if engine is None:
        return
    if down:
        _replica_down_until[engine] = time.monotonic() + REPLICA_RETRY_SECONDS
    # Hands the replica's connection back, and what was read from it is read again.
    try:
        session.rollback()
    except DBAPIError:
        session.invalidate()


@sa.event.listens_for(RoutingSession, "before_flush")
def _flush_to_the_primary(session: Session, _context: Any, _instances: Any) -> None:
    session.info.pop(READS_FROM, None)
    session.info[_ON_PRIMARY] = True


@sa.event.listens_for(RoutingSession, "do_orm_execute")
def _write_to_the_primary(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info.pop(READS_FROM, None)
        state.session.info[_ON_PRIMARY] = True


@contextmanager
def write_transaction() -> Iterator[Session]:
    """A transaction that serialises with every other booking write.

    On SQLite it begins with BEGIN IMMEDIATE; on PostgreSQL callers lock the
    rows they check (``with_for_update``). Whatever the session had open is
    committed first (views only read before calling a service), so the lock is
    taken before anything is checked. Commits on success, rolls back on error.
    """
    session = db.session()
    session.info.pop(READS_FROM, None)
    session.info[_ON_PRIMARY] = True
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_LOCK_OPTION: True})
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def run_write(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction, again if PostgreSQL cancelled it in a deadlock.

    Writers lock in one order (the resource, then its reservations, then the
    feed stamps that triggers update), which keeps deadlocks to bulk changes
    across venues; when one happens anyway, the database cancels one side and
    the work, being a function of the database alone, runs again.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with write_transaction() as session:
                return work(session)
        except DBAPIError as error:
            sqlstate = getattr(error.orig, "sqlstate", None)
            if sqlstate not in RETRY_SQLSTATES or attempt == WRITE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
