"""Tables as files that open right in LibreOffice and Excel: CSV and OpenDocument (.ods).

CSV, as French spreadsheets expect it: UTF-8 with a byte-order mark (so that
Excel reads the accents), semicolons between fields, decimal commas, no
thousands separator, one line per row ending in CRLF. Hours, money and
percentages are plain numbers whose unit is in the column's title, so that
they can be added up.

The .ods has one sheet per table; numbers, amounts, percentages and dates are
typed cells with a display format, not text. It is written by ``ods.py``, loaded with
odfpy by the first export a process makes rather than by every process.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from .numbers import cents_to_euros, minutes_to_hours
from .tables import Column, Kind, Table

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
# odfpy holds the whole document in memory: beyond this many rows, the CSV.
MAX_ODS_ROWS = 20_000


# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(text: str) -> str:
    """Text a spreadsheet shows as typed, never runs: a cell that would start a formula
    (a member named ``=HYPERLINK(…)``) is prefixed with an apostrophe, which spreadsheets
    hide and read as "this is text"."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: Decimal | float | int) -> str:
    text = f"{value}" if not isinstance(value, float) else f"{value:.4f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def csv_value(kind: Kind, value: Any) -> str:
    """A value as a French spreadsheet reads it from a CSV."""
    if value is None:
        return ""
    match kind:
        case Kind.COUNT:
            return str(int(value))
        case Kind.HOURS:
            return _number(minutes_to_hours(value))
        case Kind.SHARE | Kind.CHANGE:
            return _number(round(float(value) * 100, 1))
        case Kind.MONEY:
            return _number(cents_to_euros(int(value)))
        case Kind.DATETIME:
            return f"{value:%Y-%m-%d %H:%M}"
        case Kind.DATE:
            return value.isoformat()
    return as_text(str(value))


def column_title(column: Column) -> str:
    """The title a spreadsheet shows, with the unit the numbers are in."""
    from flask_babel import gettext

    units = {
        Kind.HOURS: gettext("hours"),
        Kind.SHARE: "%",
        Kind.CHANGE: "%",
        Kind.MONEY: "€",
    }
    unit = units.get(column.kind)
    return as_text(f"{column.title} ({unit})" if unit else column.title)


def csv_lines(table: Table, rows: Iterable[Sequence[Any]] | None = None) -> Iterator[str]:
    """The CSV of a table, line by line (the first with the byte-order mark); ``rows``
    replaces the table's own (a long export streamed from the database)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def line(values: Sequence[str]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield BOM + line([column_title(c) for c in table.columns])
    for row in rows if rows is not None else [*table.rows, *table.footer]:
        yield line([csv_value(c.kind, v) for c, v in zip(table.columns, row, strict=True)])


def csv_bytes(table: Table) -> bytes:
    return "".join(csv_lines(table)).encode("utf-8")


# --- OpenDocument ---------------------------------------------------------------------------


def sheet_name(title: str) -> str:
    """A sheet name spreadsheets accept: no []*?:/\\ and at most 31 characters, cut
    between words, without the short words ("de la", "and") a cut leaves dangling."""
    name = re.sub(r"[\[\]*?:/\\']", " ", title).strip()
    if len(name) > 31:
        words = name[:32].split(" ")[:-1]
        while words and len(words[-1]) <= 3:
            words.pop()
        name = " ".join(words) if len(" ".join(words)) >= 12 else name[:31]
    return name.rstrip(" ,") or "Feuille"


def ods_bytes(
    tables: Sequence[Table], rows: dict[str, Iterable[Sequence[Any]]] | None = None
) -> bytes:
    """A workbook with one sheet per table (``rows`` may replace a table's own rows)."""
    from .ods import workbook

    return workbook(tables, rows)
