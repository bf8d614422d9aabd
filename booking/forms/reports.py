"""Forms of the reports and statements: which venues and which period, in the address.

Reading a report changes nothing, so these are GET forms without a CSRF token.
Which venue and which period a value means is the view's question (the choices
are not checked here: an unknown venue is a 404, an unknown period a message).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from .base import Form
from .reservations import reasonable_date

RANGE = "range"


class _Venues(Form):
    class Meta:
        csrf = False

    venue = SelectField(_l("Venue"), default="", validators=[Optional()], validate_choice=False)

    def configure_venues(self, venues: Iterable[tuple[str, str]], everyone: str | None) -> None:
        """``venues`` as (slug, name); ``everyone`` labels the choice of all of them."""
        choices = [SelectChoice(slug, name) for slug, name in venues]
        if everyone is not None:
            choices.insert(0, SelectChoice("", everyone))
        self.venue.choices = choices


class ReportForm(_Venues):
    period = SelectField(_l("Period"), validators=[Optional()], validate_choice=False)
    first = DateField(_l("From"), validators=[Optional(), reasonable_date])
    last = DateField(_l("To (included)"), validators=[Optional(), reasonable_date])

    def configure_periods(self, groups: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """Periods offered, in groups (months, quarters, years), then a range of days."""
        choices: dict[str, list[SelectChoice]] = {
            label: [SelectChoice(code, text) for code, text in options] for label, options in groups
        }
        choices[str(_l("Other"))] = [SelectChoice(RANGE, _l("Days of my choice (below)"))]
        self.period.choices = choices


class StatementsForm(_Venues):
    month = SelectField(_l("Month"), validators=[Optional()], validate_choice=False)

    def configure_months(self, months: Iterable[tuple[str, str]]) -> None:
        self.month.choices = [SelectChoice(code, text) for code, text in months]
