"""Asking to be told when a taken slot frees, and booking it then."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ..models import Resource
from .accounts import clean_text
from .base import Form
from .reservations import reasonable_date


def _purpose() -> TextAreaField:
    """What the slot is for, as on the booking form: kept until the slot is booked."""
    return TextAreaField(
        _l("What is it for? (optional)"),
        filters=[clean_text],
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )


class WaitlistForm(Form):
    """The slot a booking form found taken, posted by that form (with what it is for)."""

    resource = StringField(
        widget=HiddenInput(), filters=[clean_text], validators=[InputRequired(), Length(max=80)]
    )
    day = DateField(widget=HiddenInput(), validators=[InputRequired(), reasonable_date])
    start = TimeField(widget=HiddenInput(), validators=[InputRequired()])
    end = TimeField(widget=HiddenInput(), validators=[InputRequired()])
    seats = IntegerField(widget=HiddenInput(), default=1, validators=[NumberRange(1, 1000)])
    purpose = _purpose()


class WaitForm(Form):
    """A taken time tapped on a week: the slot to wait for, filled in, and what it is for."""

    day = DateField(_l("Day"), validators=[InputRequired(_l("Choose a day.")), reasonable_date])
    start = TimeField(_l("From"), validators=[InputRequired(_l("Choose a start time."))])
    end = TimeField(_l("To"), validators=[InputRequired(_l("Choose an end time."))])
    seats = IntegerField(_l("Seats"), default=1)
    purpose = _purpose()

    def configure(self, resource: Resource) -> None:
        if resource.capacity == 1:
            del self.seats
        else:
            self.seats.validators = [
                InputRequired(_l("How many seats?")),
                NumberRange(1, resource.capacity, _l("Between 1 and %(max)d seats.")),
            ]
            self.seats.render_kw = {"min": 1, "max": resource.capacity}


class WaitlistBookForm(Form):
    purpose = _purpose()
