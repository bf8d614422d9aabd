"""What the whole database holds, read in one SQL statement: to tell that nothing was written.

fingerprint() returns, for every table of the models, its row count and an aggregate of
every value of every row (columns in ``leave_out`` aside), in primary-key order: on
PostgreSQL the md5 of the rows' text, on SQLite the rows' quoted values themselves. Two
fingerprints are equal only if no row was added, removed or changed in any column, an
UPDATE that changes one value in place included. One statement (a UNION ALL of one
SELECT per table), built once per engine, instead of one query per table read row by row
into Python: the hostile-input walk takes one after each of its thousands of requests.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from booking.extensions import db


def _statement(
    dialect: sa.Dialect, tables: list[sa.Table], leave_out: Collection[str]
) -> sa.TextClause:
    quote = dialect.identifier_preparer.quote
    selects = []
    for table in tables:
        columns = [quote(c.name) for c in table.columns if c.name not in leave_out]
        order = ", ".join(quote(c.name) for c in (table.primary_key.columns or table.columns))
        name = dialect.identifier_preparer.format_table(table)
        label = table.name.replace("'", "''")
        if dialect.name == "postgresql":
            row = f"ROW({', '.join(columns)})::text"
            content = f"md5(coalesce(string_agg({row}, E'\\n' ORDER BY {order}), ''))"
            selects.append(f"SELECT '{label}', count(*), {content} FROM {name}")
        else:
            # quote() writes each value as an SQL literal: text quoted, blobs in hex,
            # NULL as NULL, so that no two different rows read the same.
            row = " || ',' || ".join(f"quote({column})" for column in columns)
            selects.append(
                f"SELECT '{label}', count(*), coalesce(group_concat(r, char(10)), '') "
                f"FROM (SELECT {row} AS r FROM {name} ORDER BY {order})"
            )
    return sa.text("\nUNION ALL\n".join(selects))


_statements: dict[tuple[str, frozenset[str]], sa.TextClause] = {}


def fingerprint(
    leave_out: Collection[str] = (), connection: sa.Connection | None = None
) -> tuple[tuple[str, int, str], ...]:
    """Every table's name, row count and content, as the app's engine reads them now (or as
    ``connection`` sees them, its own uncommitted writes included)."""
    engine = db.engine
    key = (engine.dialect.name, frozenset(leave_out))
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = _statement(
            engine.dialect, list(db.metadata.sorted_tables), leave_out
        )
    if connection is not None:
        return tuple(tuple(row) for row in connection.execute(statement))  # type: ignore[misc]
    with engine.connect() as own:
        return tuple(tuple(row) for row in own.execute(statement))  # type: ignore[misc]
