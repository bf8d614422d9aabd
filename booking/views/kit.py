"""What views share: today at a venue, a refusal's reasons put next to their fields, and the
pages of a list that grows with the network."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_wtf import FlaskForm

from .. import clock
from ..services import Violation


def today_at(zone: ZoneInfo | str) -> date:
    """Today's date at a venue (its wall clock), by the application's clock."""
    return clock.now().astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone).date()


def errors_to_fields(
    form: FlaskForm,
    violations: list[Violation],
    message: Callable[[Violation], str],
    fields: Mapping[str | None, str] | None = None,
    *,
    only_named: bool = False,
) -> list[str]:
    """Put each violation's sentence under its field (renamed through ``fields``; with
    ``only_named``, a field ``fields`` does not name belongs to no field); return the
    sentences that belong to no field of the form."""
    general = []
    for violation in violations:
        named = (fields or {}).get(violation.field)
        name = named if only_named else named or violation.field
        field = form[name] if name and name in form else None
        text = message(violation)
        if field is None:
            general.append(text)
        else:
            field.errors = [*field.errors, text]
    return general


# --- pages of a list ---------------------------------------------------------------------

PAGE_SIZE = 50
# Far enough for any list a person pages through; a search finds the rest. (Each page
# skips the rows before it: the last ones cost the most.)
MAX_PAGES = 200


@dataclass(frozen=True)
class Paging:
    """The page of a list asked for (``?page=``), and the links to the pages around it.

    A list that grows with the network is read a page at a time: its query takes
    ``size + 1`` rows from ``offset`` (``window``), the extra one saying whether
    another page follows.
    """

    number: int
    size: int

    @classmethod
    def asked(cls, size: int = PAGE_SIZE) -> Paging:
        text = request.args.get("page", "1")
        number = int(text) if text.isdigit() and len(text) < 5 else 1
        return cls(min(max(number, 1), MAX_PAGES), size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def window(self) -> tuple[int, int]:
        """(offset, limit) of the rows to read: one more than the page holds."""
        return self.offset, self.size + 1

    def cut(self, rows: list[Any]) -> tuple[list[Any], bool]:
        """The rows of the page, and whether another page follows."""
        return rows[: self.size], len(rows) > self.size and self.number < MAX_PAGES

    def links(self, endpoint: str, more: bool, **values: Any) -> dict[str, str | None]:
        """The previous and next pages' addresses, the rest of the query string kept."""
        kept = {**request.args.to_dict(), **values}

        def to(number: int) -> str:
            return url_for(endpoint, **{**kept, "page": number})

        return {
            "previous": to(self.number - 1) if self.number > 1 else None,
            "next": to(self.number + 1) if more else None,
        }
