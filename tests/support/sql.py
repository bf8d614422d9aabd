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
