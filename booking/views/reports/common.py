"""What the report and the statements share: the blueprint, the venues and the period asked
for (in the address), and files to download."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ... import clock
from ...extensions import db
from ...forms.base import has_control_characters
from ...forms.reports import RANGE, ReportForm, StatementsForm
from ...models import Venue
from ...permissions import can_administer
from ...presentation.exports import CSV_TYPE, ODS_TYPE
from ...presentation.reports import period_label
from ...services import NotAllowedError
from ...services.booking.queue import managed_venues
from ...services.reporting.activity import report_venues
from ...services.reporting.periods import Period, parse_period, range_problem
from ..kit import today_at

bp = Blueprint("reports", __name__, url_prefix="/reports")

RANGE_MESSAGES = {
    "range_reversed": lambda: _("The last day comes before the first one."),
    "range_too_long": lambda: _("At most three years at a time."),
    "range_out_of_bounds": lambda: _("Choose days between 2000 and 2100."),
}


@dataclass
class Asked:
    """The venues and period a page was asked for, or the form with its errors."""

    form: ReportForm | StatementsForm
    venues: list[Venue] = field(default_factory=list)
    period: Period | None = None

    @property
    def valid(self) -> bool:
        return self.period is not None

    @property
    def venue(self) -> Venue | None:
        """The one venue asked for; None for several."""
        return self.venues[0] if len(self.venues) == 1 else None

    @property
    def venue_slug(self) -> str | None:
        return self.venue.slug if self.venue else None

    def args(self, period_args: Any) -> dict[str, str]:
        """The address of what was asked, for the links that download it."""
        if self.period is None:
            return {}
        return {"venue": self.venue_slug or "", **period_args(self.period)}


def local_today(venues: list[Venue]) -> date:
    """Today at the first of the venues a report is about (the server's zone for none)."""
    return today_at(venues[0].zone) if venues else clock.now().astimezone().date()


def _venues(form: ReportForm | StatementsForm) -> list[Venue]:
    """The venues asked for (404 for one the person does not manage); the form's choices."""
    mine = managed_venues(db.session, current_user)
    everyone = None
    if len(mine) > 1:
        everyone = _("The whole network") if can_administer(current_user) else _("All my venues")
    form.configure_venues([(v.slug, v.name) for v in mine], everyone)
    slug = request.args.get("venue", "")
    if not slug and len(mine) == 1:
        slug = mine[0].slug
    form.venue.data = slug
    if has_control_characters(slug):
        abort(404)  # no venue is named so (and PostgreSQL refuses NUL)
    try:
        return report_venues(db.session, current_user, slug or None)
    except NotAllowedError:
        abort(404)


def period_args(period: Period) -> dict[str, str]:
    """The address of a period, for links."""
    if period.code == RANGE:
        return {"period": RANGE, "first": period.first.isoformat(), "last": period.last.isoformat()}
    return {"period": period.code}


def report_asked(choices: Any, default: Period | None = None) -> Asked:
    """The report's venues and period from the address; ``choices(today)`` gives the
    periods offered. A period that cannot be read is an error next to its field."""
    form = ReportForm(request.args)
    venues = _venues(form)
    today = local_today(venues)
    form.configure_periods(choices(today))
    asked = Asked(form, venues)
    code = request.args.get("period") or ""
    if not form.validate():
        return asked
    if code == RANGE:
        first, last = form.first.data, form.last.data
        if first is None:
            form.first.errors = [*form.first.errors, _("Give the first day.")]
        if last is None:
            form.last.errors = [*form.last.errors, _("Give the last day.")]
        if first is None or last is None:
            return asked
        problem = range_problem(first, last)
        if problem:
            form.last.errors = [*form.last.errors, RANGE_MESSAGES[problem]()]
            return asked
        asked.period = Period.between(first, last)
    elif code:
        asked.period = parse_period(code)
        if asked.period is None:
            form.period.errors = [_("Choose a period from the list.")]
            return asked
    else:
        month = Period.month(today.year, today.month)
        asked.period = default or month.previous()
    _offer(form, asked.period)
    return asked


def statements_asked(choices: Any) -> Asked:
    form = StatementsForm(request.args)
    venues = _venues(form)
    today = local_today(venues)
    form.configure_months(choices(today))
    asked = Asked(form, venues)
    code = request.args.get("month") or ""
    if not form.validate():
        return asked
    if code:
        period = parse_period(code)
        if period is None or period.kind != "month":
            form.month.errors = [_("Choose a month from the list.")]
            return asked
    else:
        period = Period.month(today.year, today.month).previous()
    asked.period = period
    if period.code not in [choice.value for choice in form.month.iter_choices()]:
        form.month.choices = [
            SelectChoice(period.code, period_label(period)),
            *form.month.choices,
        ]
    form.month.data = period.code
    return asked


def _offer(form: ReportForm, period: Period) -> None:
    """Select the period in the form, adding it to the list when it is older than offered."""
    form.period.data = period.code
    if period.code == RANGE:
        form.first.data, form.last.data = period.first, period.last
        return
    if period.code not in [choice.value for choice in form.period.iter_choices()]:
        groups = form.period.choices
        assert isinstance(groups, dict)
        next(iter(groups.values())).insert(0, SelectChoice(period.code, period_label(period)))


def download(body: bytes | Iterable[bytes], filename: str, kind: str) -> Response:
    """A file to save, named after what it holds."""
    response = Response(body, mimetype=CSV_TYPE if kind == "csv" else ODS_TYPE)
    if kind == "csv":
        response.headers["Content-Type"] = CSV_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{kind}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
