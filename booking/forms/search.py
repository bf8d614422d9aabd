"""The form that finds a free slot: what, when, for how long, how many seats.

It is read from the query string (GET), so that a search is a link: it can
be bookmarked, shared, and opened again with the back button.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..models import User
from ..permissions import can_administer
from ..presentation.formatting import format_duration
from .base import Form
from .reservations import reasonable_date

# How far a search may reach, in days (the service refuses more).
MAX_DAYS = 14
DURATIONS = (30, 60, 90, 120, 180, 240, 300, 360, 480, 600)
# Parts of the day, as local times: from, until (00:00 meaning midnight).
PARTS = {
    "any": (time(0), time(0)),
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(18)),
    "evening": (time(18), time(0)),
}


def _whole_number(value: object) -> int | None:
    """A number of minutes from the query string; None (then refused) for anything else."""
    try:
        return int(str(value))
    except ValueError:
        return None


class SearchForm(Form):
    class Meta:
        csrf = False  # a search changes nothing: it is a link

    q = StringField(
        _l("What are you looking for?"),
        description=_l("A word is enough: co-working, 3D printer, kitchen… Empty: anything."),
        validators=[Optional(), Length(max=100, message=_l("At most 100 characters."))],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    venue = SelectField(_l("Where?"), choices=[], validate_choice=False, default="")
    resource = HiddenField(validators=[Optional(), Length(max=80)])
    when = RadioField(
        _l("When?"),
        choices=[
            SelectChoice("today", _l("Today")),
            SelectChoice("tomorrow", _l("Tomorrow")),
            SelectChoice("week", _l("In the next 7 days")),
            SelectChoice("dates", _l("On these dates")),
        ],
        default="today",
        validators=[InputRequired()],
    )
    first = DateField(_l("From"), validators=[Optional(), reasonable_date])
    last = DateField(_l("To (included)"), validators=[Optional(), reasonable_date])
    part = RadioField(
        _l("What time of day?"),
        choices=[
            SelectChoice("any", _l("Any time")),
            SelectChoice("morning", _l("Morning")),
            SelectChoice("afternoon", _l("Afternoon")),
            SelectChoice("evening", _l("Evening")),
            SelectChoice("hours", _l("Between these hours")),
        ],
        default="any",
        validators=[InputRequired()],
    )
    after = TimeField(_l("From"), validators=[Optional()])
    before = TimeField(_l("Until"), validators=[Optional()])
    minutes = SelectField(
        _l("For how long?"),
        coerce=_whole_number,
        choices=[],
        default=60,
        validate_choice=False,
        validators=[InputRequired(_l("Choose a length from the list."))],
    )
    seats = IntegerField(
        _l("How many seats?"),
        description=_l("For shared spaces such as the co-working."),
        default=1,
        validators=[
            InputRequired(_l("How many seats?")),
            NumberRange(1, 50, _l("Between 1 and 50 seats.")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minutes.choices = [SelectChoice(m, format_duration(m)) for m in DURATIONS]

    @classmethod
    def for_viewer(cls, venues: Sequence[Any], user: User, **kwargs: Any) -> SearchForm:
        """The form with the venues to choose from, as (slug, name) pairs or anything with a
        slug and a name: a member's own venues by default."""
        form = cls(**kwargs)
        own = bool(user.is_authenticated and user.memberships and not can_administer(user))
        everywhere = _l("All my places") if own else _l("All places")
        pairs = [v if isinstance(v, tuple) else (v.slug, v.name) for v in venues]
        form.venue.choices = [SelectChoice("", everywhere)] + [
            SelectChoice(slug, name) for slug, name in pairs
        ]
        return form

    def validate_minutes(self, field: SelectField) -> None:
        if field.data not in DURATIONS:
            raise ValidationError(_l("Choose a length from the list."))

    def validate_venue(self, field: SelectField) -> None:
        if field.data and field.data not in {c[0] for c in field.iter_choices()}:
            raise ValidationError(_l("Choose a place from the list."))

    def days(self, today: date) -> tuple[date, date]:
        """The first and last day asked for."""
        if self.when.data == "tomorrow":
            return today + timedelta(days=1), today + timedelta(days=1)
        if self.when.data == "week":
            return today, today + timedelta(days=6)
        if self.when.data == "dates":
            first = self.first.data or today
            return first, self.last.data or first
        return today, today

    def window(self) -> tuple[time, time]:
        if self.part.data == "hours":
            return self.after.data or time(0), self.before.data or time(0)
        return PARTS.get(self.part.data or "any", PARTS["any"])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        problems: list[tuple[Any, Any]] = []
        if self.when.data == "dates":
            first, last = self.first.data, self.last.data
            if first is None:
                problems.append((self.first, _l("Choose the first day.")))
            elif last is not None and last < first:
                problems.append((self.last, _l("The last day comes before the first.")))
            elif last is not None and (last - first).days >= MAX_DAYS:
                message = _l("Search at most %(num)d days at a time.", num=MAX_DAYS)
                problems.append((self.last, message))
        if self.part.data == "hours":
            after, before = self.after.data, self.before.data
            if after is None and before is None:
                problems.append((self.after, _l("Give a time, or choose a part of the day.")))
            elif after is not None and before not in (None, time(0)) and before <= after:
                problems.append((self.before, _l("The end comes before the start.")))
        for field, message in problems:
            field.errors = [*field.errors, message]
        return ok and not problems
