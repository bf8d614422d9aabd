"""Asking to be told when a taken slot frees, and booking it then."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from .accounts import clean_text
from .base import Form
from .reservations import reasonable_date


class WaitlistForm(Form):
    """The slot a booking form found taken, carried in hidden fields."""

    resource = StringField(
        widget=HiddenInput(), filters=[clean_text], validators=[InputRequired(), Length(max=80)]
    )
    day = DateField(widget=HiddenInput(), validators=[InputRequired(), reasonable_date])
    start = TimeField(widget=HiddenInput(), validators=[InputRequired()])
    end = TimeField(widget=HiddenInput(), validators=[InputRequired()])
    seats = IntegerField(widget=HiddenInput(), default=1, validators=[NumberRange(1, 1000)])


class WaitlistBookForm(Form):
    purpose = TextAreaField(
        _l("What is it for? (optional)"),
        filters=[clean_text],
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )
