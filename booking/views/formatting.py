"""Jinja filters for reservations: times in the venue's zone, statuses in words."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .. import rules as r
from ..forms.reservations import SOFT_RULE_LABELS
from ..models import Status

STATUS_LABELS = {
    Status.PENDING: _l("Awaiting approval"),
    Status.CONFIRMED: _l("Confirmed"),
    Status.REFUSED: _l("Refused"),
    Status.CANCELLED: _l("Cancelled"),
    Status.EXPIRED: _l("Expired (no decision in time)"),
}

STATUS_TONES = {
    Status.PENDING: "warning",
    Status.CONFIRMED: "success",
    Status.REFUSED: "danger",
    Status.CANCELLED: "neutral",
    Status.EXPIRED: "neutral",
}


def _offset_note(local: datetime, zone: ZoneInfo) -> str:
    """The UTC offset, shown only where the wall-clock time happens twice."""
    if r.is_ambiguous(local.replace(tzinfo=None), zone):
        offset = int(local.utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]
        return f" (UTC{offset:+d})"
    return ""


def venue_datetime(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    text = babel_format_datetime(local, "EEEE d MMMM y, HH:mm", tzinfo=zone, locale=get_locale())
    return text + _offset_note(local, zone)


def venue_time(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return local.strftime("%H:%M") + _offset_note(local, zone)


def venue_day(day: date) -> str:
    return babel_format_date(day, "EEEE d MMMM", locale=get_locale())


def init_app(app: Flask) -> None:
    app.add_template_filter(venue_datetime)
    app.add_template_filter(venue_time)
    app.add_template_filter(venue_day)
    app.add_template_filter(lambda s: STATUS_LABELS[Status(s)], "status_label")
    app.add_template_filter(lambda s: STATUS_TONES[Status(s)], "status_tone")
    app.add_template_filter(
        lambda codes: ", ".join(str(SOFT_RULE_LABELS[c]) for c in codes.split(",") if c),
        "override_labels",
    )
    app.add_template_global(timedelta)
