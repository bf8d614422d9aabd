"""Forms for booking, cancelling and deciding."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import Resource, User
from ..permissions import can_act_for_others
from ..presentation.labels import SOFT_RULE_LABELS, WEEKDAY_LABELS
from .base import Form


def reasonable_date(form: Form, field: DateField) -> None:
    """Dates far outside any calendar people use would overflow date arithmetic."""
    if field.data is not None and not (date(2000, 1, 1) <= field.data <= date(2099, 12, 31)):
        raise ValidationError(_l("Choose a date between 2000 and 2099."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _ForSomeone:
    """Fields a manager sees: who the booking is for, and rules to set aside."""

    member = SelectField(_l("For"), coerce=int, validators=[Optional()])
    overrides = MultiCheckboxField(
        _l("Set these rules aside"),
        choices=[SelectChoice(code, label) for code, label in SOFT_RULE_LABELS.items()],
        description=_l("Only for this booking. Capacity can never be set aside."),
        validators=[Optional()],
    )

    def configure(self, resource: Resource, actor: User, members: list[User]) -> None:
        self.is_manager = can_act_for_others(actor, resource.venue)
        if self.is_manager:
            people = members if any(u.id == actor.id for u in members) else [actor, *members]
            choices = [SelectChoice(u.id, f"{u.display_name} ({u.email})") for u in people]
            self.member.choices = choices
            if self.member.data is None:
                self.member.data = actor.id
        else:
            del self.member
            del self.overrides
        if resource.capacity == 1:
            del self.seats
        else:
            self.seats.validators = [
                InputRequired(_l("How many seats?")),
                NumberRange(1, resource.capacity, _l("Between 1 and %(max)d seats.")),
            ]
            self.seats.render_kw = {"min": 1, "max": resource.capacity}


class BookingForm(_ForSomeone, Form):
    day = DateField(_l("Day"), validators=[InputRequired(_l("Choose a day.")), reasonable_date])
    start = TimeField(_l("From"), validators=[InputRequired(_l("Choose a start time."))])
    end = TimeField(_l("To"), validators=[InputRequired(_l("Choose an end time."))])
    seats = IntegerField(_l("Seats"), default=1)
    purpose = TextAreaField(
        _l("What is it for? (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )


class SeriesForm(_ForSomeone, Form):
    starts_on = DateField(
        _l("First day"), validators=[InputRequired(_l("Choose the first day.")), reasonable_date]
    )
    frequency = RadioField(
        _l("Repeat"),
        choices=[SelectChoice("weekly", _l("Every week")), SelectChoice("daily", _l("Every day"))],
        default="weekly",
        validators=[InputRequired()],
    )
    interval = IntegerField(
        _l("Every how many weeks or days"),
        default=1,
        validators=[InputRequired(), NumberRange(1, 52, _l("Between 1 and 52."))],
    )
    weekdays = MultiCheckboxField(
        _l("On"),
        coerce=int,
        choices=[SelectChoice(day, label) for day, label in enumerate(WEEKDAY_LABELS)],
        description=_l("For weekly series. None ticked: the weekday of the first day."),
        validators=[Optional()],
    )
    start = TimeField(_l("From"), validators=[InputRequired(_l("Choose a start time."))])
    end = TimeField(_l("To"), validators=[InputRequired(_l("Choose an end time."))])
    until = DateField(_l("Until (included)"), validators=[Optional(), reasonable_date])
    count = IntegerField(
        _l("Or a number of times"),
        validators=[Optional(), NumberRange(1, 200, _l("Between 1 and 200."))],
    )
    seats = IntegerField(_l("Seats"), default=1)
    purpose = TextAreaField(
        _l("What is it for? (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.until.data is None and self.count.data is None:
            self.until.errors = [*self.until.errors, _l("Give an end date or a number of times.")]
            ok = False
        if self.until.data and self.starts_on.data and self.until.data < self.starts_on.data:
            self.until.errors = [*self.until.errors, _l("The end date comes before the first day.")]
            ok = False
        return ok


class CancelForm(Form):
    reason = StringField(
        _l("Reason"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )
    scope = RadioField(
        _l("Cancel"),
        choices=[
            SelectChoice("one", _l("This date only")),
            SelectChoice("following", _l("This date and all later ones")),
        ],
        default="one",
        validators=[Optional()],
    )


class RefuseForm(Form):
    reason = TextAreaField(
        _l("Why is the request refused?"),
        validators=[
            DataRequired(_l("Please give a reason: the member will read it.")),
            Length(max=500, message=_l("At most 500 characters.")),
        ],
    )
