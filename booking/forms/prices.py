"""Forms of a resource's prices and of the rate someone pays, for the venue's managers.

Prices are typed as people write them: « 12,50 », « 12.5 », « 12 € ».
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Field, RadioField, SelectChoice
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import TextInput

from ..models import MAX_PRICE_CENTS, PriceUnit, Rate
from .base import Form
from .reservations import reasonable_date

_EUROS = re.compile(r"(\d{1,7})(?:[.,](\d{1,2}))?")


def parse_euros(text: str) -> int | None:
    """Cents in « 12,50 », « 12.5 », « 12 € », « 1 200 »; None if it cannot be read."""
    value = re.sub(r"[\s\u00a0\u202f€]|EUR|eur", "", text or "")
    match = _EUROS.fullmatch(value)
    if match is None:
        return None
    try:
        euros = Decimal(f"{match[1]}.{match[2] or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern allows none
        return None
    return int(euros * 100)


class EurosField(Field):
    """An amount in euros, kept in cents."""

    widget = TextInput()
    data: int | None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data // 100},{self.data % 100:02d}"

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if valuelist and valuelist[0].strip():
            self.data = parse_euros(valuelist[0])
            if self.data is None:
                raise ValueError(_l("Write an amount in euros, such as 12,50."))

    def pre_validate(self, form: Form) -> None:
        if self.data is not None and self.data > MAX_PRICE_CENTS:
            raise ValidationError(
                _l("At most %(max)s €.", max=f"{MAX_PRICE_CENTS // 100:,}".replace(",", " "))
            )


UNIT_CHOICES = [
    SelectChoice(PriceUnit.HOUR.value, _l("Per hour (prorated to the minute)")),
    SelectChoice(PriceUnit.BOOKING.value, _l("Per booking, whatever its length")),
]


class PriceForm(Form):
    valid_from = DateField(
        _l("Starts on"),
        description=_l("Today or a later day: a price never changes what earlier bookings cost."),
        validators=[InputRequired(_l("Give the first day of this price.")), reasonable_date],
    )
    unit = RadioField(
        _l("Charged"),
        choices=UNIT_CHOICES,
        default=PriceUnit.HOUR.value,
        validators=[InputRequired(_l("Choose how it is charged."))],
    )
    member_price = EurosField(
        _l("Member rate (€)"),
        description=_l("0 if it is free for members."),
        validators=[InputRequired(_l("Give the members' price (0 if free)."))],
    )
    outside_price = EurosField(
        _l("Outside rate (€)"),
        description=_l("For the people the venue charges the outside rate (an association…)."),
        validators=[InputRequired(_l("Give the outside price (0 if free)."))],
    )


RATE_CHOICES = [
    SelectChoice(Rate.MEMBER.value, _l("Member rate")),
    SelectChoice(Rate.OUTSIDE.value, _l("Outside rate (an association renting, say)")),
]


class RateForm(Form):
    rate = RadioField(_l("Pays"), choices=RATE_CHOICES, validators=[InputRequired()])
