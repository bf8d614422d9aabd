"""Counting what a piece of work asks the database, and writing a history of bookings fast."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Status


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements this thread sends meanwhile, BEGIN and COMMIT left out (the
    app's background mail sender, in a thread of its own, is not counted)."""
    seen: list[str] = []
    me = threading.get_ident()

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if threading.get_ident() != me:
            return
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


@contextmanager
def sent_with_parameters() -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements this thread sends meanwhile, with their parameters as the
    driver receives them (to EXPLAIN them again: ``rows_read``)."""
    seen: list[tuple[str, Any]] = []
    me = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if threading.get_ident() == me and statement.lstrip().upper().startswith(
            ("SELECT", "WITH")
        ):
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def rows_read(statements: list[tuple[str, Any]], table: str) -> int:
    """How many rows of ``table`` PostgreSQL reads to answer these statements again
    (EXPLAIN ANALYZE): those its scans return and those their filters throw away."""
    total = 0
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters or None)
            (plan,) = cursor.fetchone()
            for node in _scans(plan[0]["Plan"]):
                if node.get("Relation Name") == table:
                    loops = node.get("Actual Loops", 1)
                    total += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
        raw.rollback()
    finally:
        raw.close()
    return total


def booking_row(
    n: int,
    resource_id: int,
    user_id: int,
    start: datetime,
    length: timedelta,
    *,
    exclusive: bool = True,
    seats: int = 1,
    buffer: timedelta = timedelta(0),
    status: Status = Status.CONFIRMED,
) -> dict[str, Any]:
    """A reservation row to insert in bulk (a history, past the booking engine)."""
    return {
        "uid": f"{n:08d}-0000-0000-0000-000000000000",
        "resource_id": resource_id,
        "user_id": user_id,
        "created_by_id": user_id,
        "starts_at": start,
        "ends_at": start + length,
        "blocked_until": start + length + buffer,
        "exclusive": exclusive,
        "seats": seats,
        "purpose": "",
        "status": status,
        "decision_reason": "",
        "overrides": "",
        "sequence": 0,
        "created_at": start - timedelta(days=3),
        "updated_at": start - timedelta(days=3),
    }
