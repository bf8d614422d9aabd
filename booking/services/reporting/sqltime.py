"""Time arithmetic that reads the same in SQLite and PostgreSQL, for the reports' aggregates.

SQLite keeps instants as fixed-width UTC text and has no interval type;
PostgreSQL has ``timestamptz``. The few operations the reports need are
compiled for each: seconds since the epoch, the earlier or later of two
values, the local day of an instant at a given UTC offset, and a small table of
constants (the periods' slices) to join with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.functions import ReturnTypeFromArgs

from ...models import UTCDateTime


class epoch(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of an instant."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    if compiler.dialect.dbapi.sqlite_version_info >= (3, 38):  # type: ignore[union-attr]
        return f"unixepoch({value})"  # twice as fast as parsing with strftime
    return f"CAST(strftime('%s', {value}) AS INTEGER)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


class local_day(FunctionElement[date]):
    """The calendar day of an instant (first argument) at a UTC offset in seconds (second
    argument): the day in a venue's zone, the offset being the zone's at that instant."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    instant, offset = element.clauses
    seconds = compiler.process(epoch(instant), **kw)
    # The same 'YYYY-MM-DD' text as the Date columns.
    return f"date({seconds} + ({compiler.process(offset, **kw)}), 'unixepoch')"


@compiles(local_day)
def _local_day_default(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    instant, offset = element.clauses
    return (
        f"CAST(timezone('UTC', {compiler.process(instant, **kw)})"
        f" + ({compiler.process(offset, **kw)}) * INTERVAL '1 second' AS DATE)"
    )


class least(ReturnTypeFromArgs[Any]):
    """The smaller of its arguments (``min(a, b)`` in SQLite, ``LEAST`` in PostgreSQL)."""

    inherit_cache = True


class greatest(ReturnTypeFromArgs[Any]):
    """The larger of its arguments (``max(a, b)`` in SQLite, ``GREATEST`` in PostgreSQL)."""

    inherit_cache = True


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least_default(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest_default(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


def constants(name: str, columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]) -> Any:
    """A small table of bound values to join with, as a CTE: one SELECT per row.

    (A VALUES list with column names is not understood by SQLite.) ``rows``
    must not be empty; instants take the ``UTCDateTime`` type so that they
    compare with the stored ones on both databases.
    """
    if not rows:
        raise ValueError("a table of constants needs at least one row")
    selects = [
        sa.select(
            *(
                sa.literal(value, type_).label(column)
                for (column, type_), value in zip(columns, row, strict=True)
            )
        )
        for row in rows
    ]
    union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return union.cte(name)


INSTANT = UTCDateTime()
