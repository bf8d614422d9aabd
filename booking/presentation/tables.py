"""Tables of figures, as a page shows them and as spreadsheets receive them.

A report or a statement is turned into ``Table``s once (``booking.presentation.
reports``); the page, the CSV and the OpenDocument spreadsheet all read the
same tables, so the three never disagree. Each column has a kind that says
what its values are: minutes become hours, cents become euros, ratios become
percentages, each written as the reader's language and the file need.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .formatting import format_day
from .numbers import format_change, format_count, format_hours, format_money, format_share


class Kind(enum.StrEnum):
    TEXT = "text"
    COUNT = "count"  # a whole number
    HOURS = "hours"  # minutes, shown and exported as hours
    SHARE = "share"  # a ratio (0.42), shown and exported as a percentage
    CHANGE = "change"  # a relative change (+0.25), as a percentage with its sign
    MONEY = "money"  # integer cents, shown and exported as euros
    DATETIME = "datetime"  # a naive local date and time (already in the venue's zone)
    DATE = "date"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Table:
    key: str  # names the file and the sheet: "resources", "statements", ...
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    footer: list[list[Any]] = field(default_factory=list)  # totals, set apart

    @property
    def is_empty(self) -> bool:
        return not self.rows


def cell_text(kind: Kind, value: Any) -> str:
    """A value as the page shows it."""
    if value is None:
        return "—"
    match kind:
        case Kind.COUNT:
            return format_count(value)
        case Kind.HOURS:
            return format_hours(value)
        case Kind.SHARE:
            return format_share(value)
        case Kind.CHANGE:
            return format_change(value)
        case Kind.MONEY:
            return format_money(value)
        case Kind.DATETIME:
            assert isinstance(value, datetime)
            return f"{format_day(value.date(), False)}, {value:%H:%M}"
        case Kind.DATE:
            assert isinstance(value, date)
            return format_day(value, False)
    return str(value)
