"""The form that changes a booking: its day, times, seats and purpose; for a date of a
series, this date alone or every later one too; for a manager, the rules set aside and
the reason the member reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..models import Reservation, User
from ..permissions import can_act_for_others, is_own
from ..presentation.labels import SOFT_RULE_LABELS
from .base import Form
from .reservations import MultiCheckboxField, reasonable_date


class ChangeForm(Form):
    day = DateField(_l("Day"), validators=[InputRequired(_l("Choose a day.")), reasonable_date])
    start = TimeField(_l("From"), validators=[InputRequired(_l("Choose a start time."))])
    end = TimeField(_l("To"), validators=[InputRequired(_l("Choose an end time."))])
    seats = IntegerField(_l("Seats"), default=1)
    purpose = TextAreaField(
        _l("What is it for? (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )
    scope = RadioField(
        _l("Which dates?"),
        choices=[
            SelectChoice("one", _l("This date only")),
            SelectChoice("following", _l("This date and all later ones")),
        ],
        default="one",
        validators=[Optional()],
    )
    reason = TextAreaField(
        _l("Why is it changed?"),
        description=_l("The member reads it in their e-mail."),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )
    overrides = MultiCheckboxField(
        _l("Set these rules aside"),
        choices=[SelectChoice(code, label) for code, label in SOFT_RULE_LABELS.items()],
        description=_l("Only for this change. Capacity can never be set aside."),
        validators=[Optional()],
    )

    def configure(self, reservation: Reservation, actor: User, later: int) -> None:
        """Fields for this booking and this person: seats for shared resources, the scope
        for a date with later ones in its series, a manager's rules and reason."""
        resource = reservation.resource
        self.is_manager = can_act_for_others(actor, resource.venue_id)
        self.for_someone = not is_own(actor, reservation)
        if resource.capacity == 1:
            del self.seats
        else:
            self.seats.validators = [
                InputRequired(_l("How many seats?")),
                NumberRange(1, resource.capacity, _l("Between 1 and %(max)d seats.")),
            ]
            self.seats.render_kw = {"min": 1, "max": resource.capacity}
        if later < 1:
            del self.scope
        if not self.is_manager:
            del self.overrides
        if not self.for_someone:
            del self.reason
        else:
            self.reason.validators = [
                InputRequired(_l("Please give a reason: the member will read it.")),
                Length(max=500, message=_l("At most 500 characters.")),
            ]
