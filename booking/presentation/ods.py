"""The OpenDocument spreadsheet (.ods) of ``exports.ods_bytes``, written with odfpy.

Apart from ``exports`` because odfpy and its grammar weigh some 2 MB in a process:
the reports' downloads load it when first asked, the other pages never do.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
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

from .exports import column_title, sheet_name
from .numbers import cents_to_euros, minutes_to_hours
from .tables import Kind, Table, cell_text


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


def workbook(
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
