"""Column types shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _as_utc(value: datetime) -> datetime:
    """A value read back: naive (SQLite's text) is UTC; aware is put in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC instant on every backend.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no time zone type, so the
    value is stored as naive UTC text (fixed width, so it sorts and compares
    correctly) and made aware again when read. Naive datetimes are refused:
    they are the bug this type exists to prevent.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given where a UTC instant is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """``process_result_value`` after the backend's own conversion, in one function:
        week pages and the search read hundreds of instants, and the generic chaining of
        the two cost more than the reading itself. SQLite's fixed-width text is read
        with its offset added, in one call (anything else goes the long way)."""
        inner = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            return _as_utc(value if inner is None else inner(value))

        if dialect.name != "sqlite":
            return process
        read = datetime.fromisoformat

        def process_text(value: Any) -> datetime | None:
            try:
                return read(value + "+00:00")
            except (TypeError, ValueError):
                return process(value)

        return process_text


def meets(starts: Any, ends: Any, start: Any, end: Any) -> list[sa.ColumnElement[bool]]:
    """The one half-open overlap test, in SQL: [starts, ends) meets [start, end). Each side
    may be columns or values; ``Reservation.overlapping`` and ``Closure.overlapping`` are
    this test on their own columns."""
    return [starts < end, ends > start]


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(cls: type[enum.Enum], name: str) -> SAEnum:
    """A string column holding an enum's values, with a CHECK constraint on both databases."""
    return SAEnum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        name=name,
    )
