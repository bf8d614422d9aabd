"""What views share: today at a venue, and a refusal's reasons put next to their fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from zoneinfo import ZoneInfo

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
