"""Numbers as people read them in their language: money, hours, shares, changes.

Money is kept in integer cents and shown the French way, « 12,50 € » (« €12.50 »
in English); hours booked as decimal hours, « 12,5 h »; shares as « 42 % ».
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import get_locale, gettext

from ..models import PriceUnit, Rate
from .formatting import format_duration

CURRENCY = "EUR"


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "fr"


def cents_to_euros(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def format_money(cents: int | None) -> str:
    """1250 → « 12,50 € »; None → « — »."""
    if cents is None:
        return "—"
    return format_currency(cents_to_euros(cents), CURRENCY, locale=_locale())


def minutes_to_hours(minutes: float | None) -> Decimal:
    return (Decimal(minutes or 0) / 60).quantize(Decimal("0.01"))


def format_hours(minutes: float | None) -> str:
    """750 → « 12,5 h » (hours with at most one decimal, for totals and tables)."""
    value = format_decimal(
        (Decimal(minutes or 0) / 60).quantize(Decimal("0.1")), "#,##0.#", locale=_locale()
    )
    return gettext("%(hours)s h", hours=value)


def format_count(value: float | None) -> str:
    return format_decimal(value or 0, "#,##0", locale=_locale())


def format_share(ratio: float | None) -> str:
    """0.423 → « 42 % »; None (nothing to divide by) → « — »."""
    if ratio is None:
        return "—"
    return format_percent(ratio, "#,##0 %", locale=_locale())


def format_change(ratio: float | None) -> str:
    """0.25 → « +25 % », -0.1 → « −10 % », None → « — »."""
    if ratio is None:
        return "—"
    text = format_percent(abs(ratio), "#,##0 %", locale=_locale())
    if round(ratio * 100) == 0:
        return text
    return ("+" if ratio > 0 else "\u2212") + text


def format_minutes_median(minutes: float | None) -> str:
    """How long a decision took: « 35 min », « 5 h 10 », « 2,5 jours » (from two days on)."""
    if minutes is None:
        return "—"
    if minutes < 48 * 60:
        return format_duration(round(minutes))
    days = format_decimal(
        Decimal(minutes / 1440).quantize(Decimal("0.1")), "#,##0.#", locale=_locale()
    )
    return gettext("%(days)s days", days=days)


UNIT_LABELS = {
    PriceUnit.HOUR: lambda: gettext("per hour"),
    PriceUnit.BOOKING: lambda: gettext("per booking"),
}

RATE_LABELS = {
    Rate.MEMBER: lambda: gettext("Member rate"),
    Rate.OUTSIDE: lambda: gettext("Outside rate"),
}


def unit_label(unit: PriceUnit | str | None) -> str:
    return UNIT_LABELS[PriceUnit(unit)]() if unit else "—"


def rate_label(rate: Rate | str) -> str:
    return RATE_LABELS[Rate(rate)]()


def price_text(cents: int, unit: PriceUnit | str) -> str:
    """« 8,00 € de l’heure », « 3,00 € la réservation », « gratuit »."""
    if cents == 0:
        return gettext("free")
    if PriceUnit(unit) == PriceUnit.HOUR:
        return gettext("%(price)s an hour", price=format_money(cents))
    return gettext("%(price)s a booking", price=format_money(cents))
