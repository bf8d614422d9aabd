"""Forms of the managers' screens: decisions, closures, hours, resources, trainings, members, log.

Text fields drop NUL characters (PostgreSQL refuses them) and surrounding
spaces; durations are typed the way people say them ("1 h 30", "90 min",
"2 jours") and shown the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, time, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
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
from wtforms.widgets import TextInput

from ..models import ResourceKind, Role
from ..presentation.formatting import format_duration
from .base import Form
from .reservations import MultiCheckboxField, reasonable_date

# Steps a resource's bookings move by (minutes): each divides a day.
SLOT_CHOICES = (5, 10, 15, 20, 30, 60, 120, 240)
PERIODS_PER_DAY = 3


def clean_text(value: str | None) -> str | None:
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def _text(label: object, max_length: int, required: bool = False, **kwargs: object) -> StringField:
    validators: list[object] = [Length(max=max_length, message=_l("At most %(max)d characters."))]
    validators.insert(0, DataRequired(_l("Please fill this in.")) if required else Optional())
    return StringField(label, validators=validators, filters=[clean_text], **kwargs)


def _area(label: object, max_length: int, **kwargs: object) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=max_length, message=_l("At most %(max)d characters."))],
        filters=[clean_text],
        **kwargs,
    )


# --- durations -------------------------------------------------------------------------

_UNITS = {
    "min": 1,
    "mn": 1,
    "minute": 1,
    "minutes": 1,
    "h": 60,
    "heure": 60,
    "heures": 60,
    "hour": 60,
    "hours": 60,
    "j": 1440,
    "jour": 1440,
    "jours": 1440,
    "d": 1440,
    "day": 1440,
    "days": 1440,
}
_PART = re.compile(r"(\d+)\s*([a-z]*)")


def parse_duration(text: str) -> int | None:
    """Minutes in "90", "90 min", "1 h 30", "1h30", "1:30", "2 heures", "3 jours";
    None if it cannot be read."""
    value = text.strip().lower().replace("\u00a0", " ").replace(",", " ")
    if not value:
        return None
    clock = re.fullmatch(r"(\d{1,3}):(\d{2})", value)
    if clock:
        return int(clock[1]) * 60 + int(clock[2]) if int(clock[2]) < 60 else None
    if value.isdigit():
        return int(value) if len(value) <= 6 else None
    total, last_unit, position = 0, None, 0
    for match in _PART.finditer(value):
        if value[position : match.start()].strip():
            return None
        number, unit = int(match[1]), match[2]
        if len(match[1]) > 6:
            return None
        if unit:
            if unit not in _UNITS:
                return None
            last_unit = _UNITS[unit]
            total += number * last_unit
        elif last_unit == 60:  # "1 h 30": minutes after hours
            total += number
            last_unit = 1
        else:
            return None
        position = match.end()
    return total if position and not value[position:].strip() else None


class DurationField(Field):
    """A duration in minutes, typed as people say it."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return clean_text(self.raw_data[0]) or ""
        return format_duration(self.data) if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        text = clean_text(valuelist[0]) or ""
        if not text:
            self.data = None
            return
        minutes = parse_duration(text)
        if minutes is None:
            self.data = None
            raise ValueError(_l("Write a duration such as 30 min, 1 h 30 or 2 jours."))
        self.data = minutes


class IdsField(HiddenField):
    """The ids a manager was shown ("3,8,12"), sent back with the confirmation."""

    def _value(self) -> str:
        return ",".join(str(i) for i in sorted(self.data or ()))

    def process_formdata(self, valuelist: list[str]) -> None:
        ids: set[int] = set()
        for part in (valuelist[0] if valuelist else "").split(","):
            part = part.strip()
            if part.isdigit() and len(part) < 10:
                ids.add(int(part))
        self.data = frozenset(ids)


class TickedIdsField(MultiCheckboxField):
    """Ids ticked among those shown; any choice is accepted and checked by the service."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("choices", [])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [int(v) for v in valuelist if v.isdigit() and len(v) < 10]

    def pre_validate(self, form: Form) -> None:
        pass


# --- the queue ------------------------------------------------------------------------


class BulkApproveForm(Form):
    ids = TickedIdsField(_l("Requests to accept"))
    series = TickedIdsField(_l("Series to accept as a whole"))

    def validate_ids(self, field: TickedIdsField) -> None:
        if not field.data and not self.series.data:
            raise ValidationError(_l("Tick at least one request to accept."))


# --- closures ------------------------------------------------------------------------


class ClosureForm(Form):
    resource = SelectField(_l("What closes"), coerce=int, default=0, validators=[InputRequired()])
    first_day = DateField(
        _l("First day"), validators=[InputRequired(_l("Choose the first day.")), reasonable_date]
    )
    start_time = TimeField(
        _l("From (time)"),
        description=_l("Leave empty to close from the start of the day."),
        validators=[Optional()],
    )
    last_day = DateField(
        _l("Last day"),
        description=_l("Included. The same as the first day for a closure of one day."),
        validators=[InputRequired(_l("Choose the last day.")), reasonable_date],
    )
    end_time = TimeField(
        _l("Until (time)"),
        description=_l("Leave empty to stay closed until the end of the last day."),
        validators=[Optional()],
    )
    reason = _text(
        _l("Reason"),
        200,
        required=True,
        description=_l("Holidays, maintenance… Members whose bookings are cancelled read it."),
    )
    reason_public = BooleanField(
        _l("Show the reason to everyone"),
        description=_l("Otherwise visitors and public calendars only see “closed”."),
    )
    seen = IdsField()
    cancel = TickedIdsField(_l("Cancel these bookings, with the reason above"))

    def configure(self, resources: Iterable[tuple[int, str]]) -> None:
        self.resource.choices = [SelectChoice(0, _l("The whole venue"))] + [
            SelectChoice(rid, name) for rid, name in resources
        ]

    def validate_last_day(self, field: DateField) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The last day comes before the first day."))

    def moments(self) -> tuple[tuple[date, time], tuple[date, time]]:
        """The first closed moment and the first open one again, as (day, time) pairs."""
        start = (self.first_day.data, self.start_time.data or time(0))
        if self.end_time.data is not None:
            end = (self.last_day.data, self.end_time.data)
        else:
            end = (self.last_day.data + timedelta(days=1), time(0))
        return start, end


# --- opening hours --------------------------------------------------------------------


def _day_fields() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for weekday in range(7):
        for n in range(PERIODS_PER_DAY):
            fields[f"d{weekday}_{n}_opens"] = TimeField(_l("Opens at"), validators=[Optional()])
            fields[f"d{weekday}_{n}_closes"] = TimeField(_l("Closes at"), validators=[Optional()])
    return fields


class _HoursBase(Form):
    copy_from = SelectField(_l("Copy"), coerce=int, default=0, validators=[Optional()])
    copy_to = MultiCheckboxField(_l("to"), coerce=int, choices=[], validators=[Optional()])

    def configure(self, days: Iterable[tuple[int, str]]) -> None:
        days = list(days)
        self.copy_from.choices = [SelectChoice(d, name) for d, name in days]
        self.copy_to.choices = [SelectChoice(d, name) for d, name in days]

    def copy_day(self) -> bool:
        """The day chosen copied onto the days ticked (then unticked); whether any was."""
        source = self.copy_from.data or 0
        targets = [d for d in (self.copy_to.data or []) if d != source and 0 <= d < 7]
        if not 0 <= source < 7 or not targets:
            return False
        spans = [(o.data, c.data) for o, c in self.day_pairs(source)]
        for target in targets:
            for (opens, closes), (o, c) in zip(spans, self.day_pairs(target), strict=True):
                o.data, c.data = opens, closes
                o.raw_data = c.raw_data = None
        self.copy_to.data = []
        return True

    def day_pairs(self, weekday: int) -> list[tuple[Field, Field]]:
        return [
            (self[f"d{weekday}_{n}_opens"], self[f"d{weekday}_{n}_closes"])
            for n in range(PERIODS_PER_DAY)
        ]

    def day_errors(self, weekday: int) -> list[str]:
        return [e for pair in self.day_pairs(weekday) for f in pair for e in f.errors] + list(
            self.extra_errors.get(weekday, [])
        )

    @property
    def extra_errors(self) -> dict[int, list[str]]:
        if not hasattr(self, "_extra_errors"):
            self._extra_errors: dict[int, list[str]] = {}
        return self._extra_errors

    def add_day_error(self, weekday: int, message: str) -> None:
        self.extra_errors.setdefault(weekday, []).append(message)

    def fill(self, periods: Iterable[tuple[int, time, time]]) -> None:
        by_day: dict[int, list[tuple[time, time]]] = {}
        for weekday, opens, closes in periods:
            by_day.setdefault(weekday, []).append((opens, closes))
        for weekday in range(7):
            spans = sorted(by_day.get(weekday, []))[:PERIODS_PER_DAY]
            for n, (opens_field, closes_field) in enumerate(self.day_pairs(weekday)):
                opens_field.data, closes_field.data = spans[n] if n < len(spans) else (None, None)
                opens_field.raw_data = closes_field.raw_data = None

    def periods(self) -> list[tuple[int, time, time]]:
        found = []
        for weekday in range(7):
            for opens, closes in self.day_pairs(weekday):
                if opens.data is not None and closes.data is not None:
                    found.append((weekday, opens.data, closes.data))
        return found

    def validate(self, extra_validators: object = None) -> bool:
        ok = super().validate(extra_validators)
        for weekday in range(7):
            for opens, closes in self.day_pairs(weekday):
                if (opens.data is None) != (closes.data is None) and not (
                    opens.errors or closes.errors
                ):
                    self.add_day_error(
                        weekday, str(_l("Give both the opening and the closing time, or neither."))
                    )
                    ok = False
        return ok


HoursForm = type("HoursForm", (_HoursBase,), _day_fields())


# --- resources ------------------------------------------------------------------------


class ResourceForm(Form):
    name = _text(
        _l("Name"), 160, required=True, description=_l("As members call it: “Découpeuse laser”.")
    )
    kind = RadioField(
        _l("Kind"),
        choices=[
            SelectChoice(ResourceKind.SPACE.value, _l("A space (a room, a kitchen, desks)")),
            SelectChoice(ResourceKind.EQUIPMENT.value, _l("Equipment (a machine, tools)")),
        ],
        default=ResourceKind.SPACE.value,
        validators=[InputRequired()],
    )
    description = _area(
        _l("Description"), 2000, description=_l("What it is, what it is for, what to bring.")
    )
    capacity = IntegerField(
        _l("People at a time"),
        default=1,
        description=_l(
            "1: one booking at a time. More: that many people can book seats at the same time "
            "(desks of a co-working space)."
        ),
        validators=[InputRequired(_l("How many people at a time?")), NumberRange(1, 1000)],
    )
    requires_approval = BooleanField(
        _l("A manager approves each request"),
        description=_l("Otherwise a free slot is booked at once."),
    )
    qualification_id = SelectField(
        _l("Training required"),
        coerce=int,
        default=0,
        description=_l("Only members who hold this training can book."),
        validators=[Optional()],
    )
    new_training = _text(
        _l("Or a new training"),
        160,
        description=_l(
            "Its name, such as “Sécurité découpe laser”: it is created with the resource."
        ),
    )
    slot_minutes = SelectField(
        _l("Steps"),
        coerce=int,
        default=30,
        description=_l(
            "Bookings start and end on these steps (every 30 min: 9 h, 9 h 30…). "
            "The opening hours must fall on them."
        ),
        validators=[InputRequired()],
    )
    min_duration_minutes = DurationField(
        _l("Shortest booking"),
        default=30,
        description=_l("For example 30 min or 1 h. A multiple of the steps."),
        validators=[InputRequired(_l("How long at least?"))],
    )
    max_duration_minutes = DurationField(
        _l("Longest booking"),
        default=240,
        description=_l("For example 4 h or 1 jour. At least the shortest booking."),
        validators=[InputRequired(_l("How long at most?"))],
    )
    min_notice_minutes = DurationField(
        _l("Notice"),
        default=0,
        description=_l("How long before it starts a booking must be made: 0, 2 h, 1 jour…"),
        validators=[InputRequired(_l("How much notice? Write 0 for none."))],
    )
    horizon_days = IntegerField(
        _l("Days ahead"),
        default=60,
        description=_l("How many days ahead members can book."),
        validators=[InputRequired(_l("How many days ahead?")), NumberRange(1, 730)],
    )
    buffer_minutes = DurationField(
        _l("Break after each booking"),
        default=0,
        description=_l(
            "The slot stays blocked this long after each booking (cleaning, cooling down). "
            "0 for none."
        ),
        validators=[InputRequired(_l("How long a break? Write 0 for none."))],
    )
    buffer_reason = _text(
        _l("What the break is for"),
        120,
        description=_l(
            "Members read: “the slot is blocked 30 min after each booking, for …”. "
            "For example “le nettoyage de la cuisine”. Empty: the usual words."
        ),
    )
    weekly_quota_minutes = DurationField(
        _l("Weekly limit per member"),
        description=_l(
            "At most this much per member and per week, for example 6 h. Empty: no limit."
        ),
        validators=[Optional()],
    )
    show_purpose = BooleanField(
        _l("Show what each booking is for in the public calendar"),
        description=_l("Names are never shown publicly; only the purpose the member wrote."),
    )

    def configure(self, trainings: Iterable[tuple[int, str]]) -> None:
        self.qualification_id.choices = [SelectChoice(0, _l("None"))] + [
            SelectChoice(tid, name) for tid, name in trainings
        ]
        self.slot_minutes.choices = [SelectChoice(m, format_duration(m)) for m in SLOT_CHOICES]


class RetireForm(Form):
    reason = _text(
        _l("Reason"),
        500,
        description=_l("Needed if bookings are still to come: their members read it."),
    )
    seen = IdsField()


# --- trainings ------------------------------------------------------------------------


class TrainingForm(Form):
    name = _text(
        _l("Name"), 160, required=True, description=_l("For example “Sécurité découpe laser”.")
    )
    description = _area(_l("Description"), 2000, description=_l("What it covers, how to take it."))


INVITED = "i"  # before an invitation's id among the people a training can be granted to


class GrantForm(Form):
    member = SelectField(
        _l("Member, or person invited"),
        coerce=str,
        validators=[InputRequired(_l("Choose a member."))],
    )
    granted_on = DateField(
        _l("Training taken on"),
        validators=[InputRequired(_l("Give the day of the training.")), reasonable_date],
    )
    expires_on = DateField(
        _l("Valid until (included)"),
        description=_l("Leave empty if it does not expire."),
        validators=[Optional(), reasonable_date],
    )

    def configure(
        self, members: Iterable[tuple[int, str]], invited: Iterable[tuple[int, str]] = ()
    ) -> None:
        people = [SelectChoice(str(uid), name) for uid, name in members]
        waiting = [SelectChoice(f"{INVITED}{iid}", name) for iid, name in invited]
        if waiting:
            self.member.choices = {
                str(_l("Members")): people,
                str(_l("Invited, not joined yet")): waiting,
            }
        else:
            self.member.choices = people

    def person(self) -> tuple[str, int]:
        """("member", a user's id) or ("invitation", an invitation's id)."""
        value = self.member.data or ""
        if value.startswith(INVITED):
            return "invitation", int(value[len(INVITED) :])
        return "member", int(value)


# --- members ---------------------------------------------------------------------------

ROLE_CHOICES = [
    SelectChoice(Role.MEMBER.value, _l("Member: books for themselves")),
    SelectChoice(
        Role.MANAGER.value, _l("Manager: also runs the venue (requests, closures, rules)")
    ),
]


class RoleForm(Form):
    role = RadioField(_l("Role"), choices=ROLE_CHOICES, validators=[InputRequired()])


class RemoveMemberForm(Form):
    cancel_bookings = BooleanField(_l("Also cancel their bookings to come at this venue"))
    reason = _text(
        _l("Reason"), 500, description=_l("Needed to cancel bookings: the member reads it.")
    )
    seen = IdsField()


# --- the log ----------------------------------------------------------------------------


class LogFilterForm(Form):
    """Filters of the venue's log, in the address (GET): no CSRF token needed to read."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional(), reasonable_date])
    until = DateField(_l("To (included)"), validators=[Optional(), reasonable_date])
    member = SelectField(_l("Member"), coerce=int, default=0, validators=[Optional()])
    resource = SelectField(_l("Resource"), coerce=int, default=0, validators=[Optional()])
    action = SelectField(_l("What"), default="", validators=[Optional()])

    def configure(
        self,
        members: Iterable[tuple[int, str]],
        resources: Iterable[tuple[int, str]],
        groups: Iterable[tuple[str, str]],
    ) -> None:
        self.member.choices = [SelectChoice(0, _l("Everyone"))] + [
            SelectChoice(uid, name) for uid, name in members
        ]
        self.resource.choices = [SelectChoice(0, _l("Every resource"))] + [
            SelectChoice(rid, name) for rid, name in resources
        ]
        self.action.choices = [SelectChoice("", _l("Everything"))] + [
            SelectChoice(code, label) for code, label in groups
        ]


class ScheduleForm(Form):
    """The schedule's day and view, in the address (GET)."""

    class Meta:
        csrf = False

    day = DateField(_l("Go to"), validators=[Optional(), reasonable_date])
    view = RadioField(
        _l("Show"),
        choices=[SelectChoice("day", _l("Day")), SelectChoice("week", _l("Week"))],
        default="day",
        validators=[Optional()],
    )
