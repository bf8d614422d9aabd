"""Tables as files that open right in LibreOffice and Excel: CSV and OpenDocument (.ods).

CSV, as French spreadsheets expect it: UTF-8 with a byte-order mark (so that
Excel reads the accents), semicolons between fields, decimal commas, no
thousands separator, one line per row ending in CRLF. Hours, money and
percentages are plain numbers whose unit is in the column's title, so that
they can be added up.

The .ods (odfpy) has one sheet per table; numbers, amounts, percentages and
dates are typed cells with a display format, not text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from odf.number import (
    CurrencyStyle,
    CurrencySymbol,
    DateStyle,
    Day,
    Hours,
    Minutes,
    Month,
    Number,
    NumberStyle,
    PercentageStyle,
    Year,
)
from odf.number import Text as NumberText
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableColumnProperties, TextProperties
from odf.table import Table as Sheet
from odf.table import TableCell, TableColumn, TableRow
from odf.text import P

from .numbers import cents_to_euros, minutes_to_hours
from .tables import Column, Kind, Table, cell_text

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


# --- OpenDocument --------------------------------------------------------------------------


def _date_style(name: str, with_time: bool) -> DateStyle:
    """31/12/2026, and 14:30 after it ``with_time``."""
    style = DateStyle(name=name)
    parts = [Day(style="long"), NumberText(text="/"), Month(style="long")]
    parts += [NumberText(text="/"), Year(style="long")]
    if with_time:
        parts += [NumberText(text=" "), Hours(style="long"), NumberText(text=":")]
        parts += [Minutes(style="long")]
    for part in parts:
        style.addElement(part)
    return style


class _Styles:
    """The number formats and cell styles of a workbook, created once."""

    def __init__(self, document: OpenDocumentSpreadsheet) -> None:
        self.document = document
        self.cells: dict[str, Style] = {}
        decimal2 = NumberStyle(name="N2")
        decimal2.addElement(Number(decimalplaces=2, minintegerdigits=1, grouping="true"))
        whole = NumberStyle(name="N0")
        whole.addElement(Number(decimalplaces=0, minintegerdigits=1, grouping="true"))
        share = PercentageStyle(name="P1")
        share.addElement(Number(decimalplaces=1, minintegerdigits=1))
        share.addElement(NumberText(text="\u00a0%"))
        euros = CurrencyStyle(name="EUR")
        euros.addElement(Number(decimalplaces=2, minintegerdigits=1, grouping="true"))
        euros.addElement(NumberText(text="\u00a0"))
        euros.addElement(CurrencySymbol(language="fr", country="FR", text="€"))
        moment = _date_style("DT", with_time=True)
        day = _date_style("D", with_time=False)
        for style in (decimal2, whole, share, euros, moment, day):
            document.automaticstyles.addElement(style)
        for name, data in (
            ("c-count", "N0"),
            ("c-hours", "N2"),
            ("c-share", "P1"),
            ("c-money", "EUR"),
            ("c-datetime", "DT"),
            ("c-date", "D"),
        ):
            style = Style(name=name, family="table-cell", datastylename=data)
            document.automaticstyles.addElement(style)
            self.cells[name] = style
        header = Style(name="c-head", family="table-cell")
        header.addElement(TextProperties(fontweight="bold"))
        document.automaticstyles.addElement(header)
        self.cells["c-head"] = header
        wide = Style(name="col-wide", family="table-column")
        wide.addElement(TableColumnProperties(columnwidth="4.5cm"))
        narrow = Style(name="col-narrow", family="table-column")
        narrow.addElement(TableColumnProperties(columnwidth="2.8cm"))
        document.automaticstyles.addElement(wide)
        document.automaticstyles.addElement(narrow)
        self.columns = {"wide": wide, "narrow": narrow}

    def cell(self, kind: Kind, value: Any) -> TableCell:
        if value is None:
            return TableCell()
        shown = cell_text(kind, value)
        match kind:
            case Kind.COUNT:
                cell = TableCell(
                    valuetype="float", value=int(value), stylename=self.cells["c-count"]
                )
            case Kind.HOURS:
                cell = TableCell(
                    valuetype="float",
                    value=str(minutes_to_hours(value)),
                    stylename=self.cells["c-hours"],
                )
            case Kind.SHARE | Kind.CHANGE:
                cell = TableCell(
                    valuetype="percentage",
                    value=f"{float(value):.6f}",
                    stylename=self.cells["c-share"],
                )
            case Kind.MONEY:
                cell = TableCell(
                    valuetype="currency",
                    currency="EUR",
                    value=str(cents_to_euros(int(value))),
                    stylename=self.cells["c-money"],
                )
            case Kind.DATETIME:
                assert isinstance(value, datetime)
                cell = TableCell(
                    valuetype="date",
                    datevalue=value.strftime("%Y-%m-%dT%H:%M:%S"),
                    stylename=self.cells["c-datetime"],
                )
            case Kind.DATE:
                assert isinstance(value, date)
                cell = TableCell(
                    valuetype="date", datevalue=value.isoformat(), stylename=self.cells["c-date"]
                )
            case _:
                cell = TableCell(valuetype="string")
        cell.addElement(P(text=shown))
        return cell


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
    document = OpenDocumentSpreadsheet()
    styles = _Styles(document)
    used: set[str] = set()
    for table in tables:
        name = sheet_name(table.title)
        while name in used:
            name = sheet_name(f"{name[:28]} {len(used) + 1}")
        used.add(name)
        sheet = Sheet(name=name)
        for column in table.columns:
            width = "wide" if column.kind in (Kind.TEXT, Kind.DATETIME) else "narrow"
            sheet.addElement(TableColumn(stylename=styles.columns[width]))
        head = TableRow()
        for column in table.columns:
            cell = TableCell(valuetype="string", stylename=styles.cells["c-head"])
            cell.addElement(P(text=column_title(column)))
            head.addElement(cell)
        sheet.addElement(head)
        body = (rows or {}).get(table.key)
        for values in body if body is not None else [*table.rows, *table.footer]:
            row = TableRow()
            for column, value in zip(table.columns, values, strict=True):
                row.addElement(styles.cell(column.kind, value))
            sheet.addElement(row)
        document.spreadsheet.addElement(sheet)
    output = io.BytesIO()
    document.write(output)
    return output.getvalue()
