"""Forms of what calendars bring: recurring closures, a calendar to follow, a file of
existing bookings to import and how its events map to resources."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    TimeField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from ..presentation.calendars_words import FREQUENCY_LABELS, REGION_LABELS
from .base import Form
from .manage import IdsField, TickedIdsField, _text
from .reservations import reasonable_date


def _resources(
    field: SelectField, resources: Iterable[tuple[int, str]], whole: object | None
) -> None:
    choices = [SelectChoice(0, whole)] if whole is not None else []
    field.choices = choices + [SelectChoice(rid, name) for rid, name in resources]


class RecurringClosureForm(Form):
    resource = SelectField(_l("What closes"), coerce=int, default=0, validators=[InputRequired()])
    frequency = RadioField(
        _l("Comes back"),
        choices=[SelectChoice(key.value, label) for key, label in FREQUENCY_LABELS.items()],
        default="weekly",
        validators=[InputRequired(_l("Choose how often the closure comes back."))],
    )
    region = SelectField(
        _l("Public holidays of"),
        choices=[SelectChoice(code, label) for code, label in REGION_LABELS.items()],
        default="",
        validate_choice=True,
    )
    first_day = DateField(
        _l("First day"),
        description=_l("Every week: its weekday. Every year: its date. Holidays: from when."),
        validators=[InputRequired(_l("Choose the first day.")), reasonable_date],
    )
    start_time = TimeField(
        _l("From (time)"),
        description=_l("Leave empty to close from the start of the day."),
        validators=[Optional()],
    )
    last_day = DateField(
        _l("Last day"),
        description=_l("Of the first closure; the same as the first day for one day."),
        validators=[Optional(), reasonable_date],
    )
    end_time = TimeField(
        _l("Until (time)"),
        description=_l("Leave empty to stay closed until the end of the last day."),
        validators=[Optional()],
    )
    until = DateField(
        _l("Until"),
        description=_l("The last day it may come back; leave empty for no end."),
        validators=[Optional(), reasonable_date],
    )
    reason = _text(
        _l("Reason"),
        200,
        required=True,
        description=_l(
            "Public holidays, summer closure… Members whose bookings are cancelled read it."
        ),
    )
    reason_public = BooleanField(
        _l("Show the reason to everyone"),
        description=_l("Otherwise visitors and public calendars only see “closed”."),
    )
    seen = IdsField()
    cancel = TickedIdsField(_l("Cancel these bookings, with the reason above"))

    def configure(self, resources: Iterable[tuple[int, str]]) -> None:
        _resources(self.resource, resources, _l("The whole venue"))

    def validate_last_day(self, field: DateField) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The last day comes before the first day."))

    def span(self) -> tuple[date, time | None, date, time | None]:
        first = self.first_day.data
        return first, self.start_time.data, self.last_day.data or first, self.end_time.data


class FollowForm(Form):
    label = _text(
        _l("Name shown on busy times"),
        80,
        required=True,
        description=_l(
            "Everyone reads it, e.g. “agenda du centre social”; the events stay private."
        ),
    )
    url = _text(
        _l("The calendar's iCal address"),
        2000,
        required=True,
        description=_l(
            "Google: Settings › the calendar › “Secret address in iCal format”. Nextcloud: "
            "the calendar's menu › “Copy subscription link”. Outlook: “Publish calendar” › ICS."
        ),
    )
    resource = SelectField(_l("Busy during its events"), coerce=int, default=0)

    def configure(self, resources: Iterable[tuple[int, str]]) -> None:
        _resources(self.resource, resources, _l("The whole venue"))


class ImportUploadForm(Form):
    file = FileField(
        _l("File to import"),
        description=_l(
            "An .ics file (a calendar's export: Google, Nextcloud, Outlook) or a .csv "
            "spreadsheet with a header row (date, début, fin, ressource, e-mail, nom, objet)."
        ),
    )


# The spreadsheet columns a manager may choose, by role.
COLUMN_ROLES = ("day", "start", "end", "email", "name", "purpose")


class ImportMappingForm(Form):
    resource_field = SelectField(_l("The resource is named in"), default="location")
    single_resource = SelectField(_l("Resource"), coerce=int, default=0)
    col_day = SelectField(_l("Day"), default="")
    col_start = SelectField(_l("Start"), default="")
    col_end = SelectField(_l("End"), default="")
    col_email = SelectField(_l("E-mail"), default="")
    col_name = SelectField(_l("Name"), default="")
    col_purpose = SelectField(_l("Purpose"), default="")
    expected = IntegerField(validators=[Optional()])
    action = HiddenField()

    def configure(
        self, resources: Iterable[tuple[int, str]], header: tuple[str, ...], ics: bool
    ) -> None:
        resources = list(resources)
        _resources(self.single_resource, resources, _l("Choose…"))
        fields = (
            [
                SelectChoice("location", _l("the event's location")),
                SelectChoice("summary", _l("the event's title")),
                SelectChoice("categories", _l("the event's categories")),
            ]
            if ics
            else [SelectChoice(name, name) for name in header]
        )
        self.resource_field.choices = [
            *fields,
            SelectChoice("single", _l("nowhere: all go to one resource")),
        ]
        columns = [SelectChoice("", _l("(none)"))] + [SelectChoice(name, name) for name in header]
        for role in COLUMN_ROLES:
            self[f"col_{role}"].choices = columns

    def columns(self) -> dict[str, str]:
        return {role: self[f"col_{role}"].data for role in COLUMN_ROLES if self[f"col_{role}"].data}
