"""Joining a venue, invitations, passwords chosen from a link, e-mail preferences."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from .base import Form
from .manage import TickedIdsField
from .profile import FirstPasswordForm
from .reservations import MultiCheckboxField, reasonable_date


def clean_text(value: str | None) -> str | None:
    """Trimmed (control characters are refused by the base Form, next to the field)."""
    return value.strip() if isinstance(value, str) else value


def _email_field() -> EmailField:
    return EmailField(
        _l("E-mail address"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please enter an e-mail address.")),
            Length(max=254, message=_l("At most 254 characters.")),
            Email(_l("This e-mail address does not look right. Check it and try again.")),
        ],
        render_kw={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"},
    )


def _name_field(label: str, description: str | None = None) -> StringField:
    return StringField(
        label,
        description=description,
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please enter a name.")),
            Length(max=120, message=_l("At most 120 characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )


class JoinForm(Form):
    display_name = _name_field(_l("Your name"), _l("As the team will know you."))
    email = _email_field()
    message = TextAreaField(
        _l("A few words for the team (optional)"),
        description=_l("What you would like to do here, who you know at the place…"),
        filters=[clean_text],
        validators=[Optional(), Length(max=1000, message=_l("At most 1000 characters."))],
    )


ROLE_CHOICES = [
    SelectChoice("member", _l("Member: books the spaces and equipment")),
    SelectChoice("manager", _l("Manager: also decides requests and books for others")),
]


class _Trained:
    """The venue's trainings a person already has, granted when they accept."""

    training_expires_on = DateField(
        _l("Trainings valid until (included)"),
        description=_l("Leave empty if they do not expire."),
        validators=[Optional(), reasonable_date],
    )


class InviteForm(_Trained, Form):
    display_name = _name_field(_l("Name"))
    email = _email_field()
    role = RadioField(
        _l("Role"),
        choices=ROLE_CHOICES,
        default="member",
        validators=[DataRequired(_l("Choose a role."))],
    )
    trainings = MultiCheckboxField(
        _l("Already trained on"),
        coerce=int,
        choices=[],
        description=_l("Ticked trainings become theirs when they accept."),
        validators=[Optional()],
    )

    def configure(self, trainings: Iterable[tuple[int, str]]) -> None:
        self.trainings.choices = [SelectChoice(tid, name) for tid, name in trainings]


class TickedValuesField(MultiCheckboxField):
    """Texts ticked among those shown ("3:nadia@example.org"); checked by the service."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("choices", [])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [v for v in valuelist if len(v) <= 300]

    def pre_validate(self, form: Form) -> None:
        pass


class InviteManyForm(_Trained, Form):
    """A list of people, pasted or in a file, checked then sent."""

    people = TextAreaField(
        _l("The people to invite, one a line"),
        description=_l(
            "Name, e-mail and, if they will run the venue, “gestionnaire”, separated by "
            "tabs (copied from a spreadsheet), semicolons or commas; addresses copied from "
            "an e-mail work too."
        ),
        filters=[lambda v: v.replace("\r\n", "\n") if isinstance(v, str) else v],
        validators=[Length(max=60000, message=_l("At most %(max)d characters."))],
    )
    upload = FileField(
        _l("Or a file"),
        description=_l("The .ods or .csv file your spreadsheet saves, one person a row."),
    )
    trained = TickedValuesField(_l("Already trained on"))

    def validate_people(self, field: TextAreaField) -> None:
        if not (field.data or "").strip() and not self.upload.data:
            raise ValidationError(_l("Paste the list, or choose a file."))


class InvitationsTickedForm(Form):
    """Invitations ticked on the list, to send again or withdraw together."""

    ids = TickedIdsField(_l("Invitations"))

    def validate_ids(self, field: TickedIdsField) -> None:
        if not field.data:
            raise ValidationError(_l("Tick at least one invitation."))


class DeclineForm(Form):
    reason = TextAreaField(
        _l("A word for the person (optional)"),
        filters=[clean_text],
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )


class ForgotPasswordForm(Form):
    email = _email_field()


class AcceptInvitationForm(FirstPasswordForm):
    display_name = _name_field(_l("Your name"), _l("Shown to the venue's team with your bookings."))


class AcceptWithAccountForm(Form):
    """Joining a venue with the account one has: a button (and its CSRF token)."""


class NotificationsForm(Form):
    notify_confirmations = BooleanField(
        _l("A confirmation of each booking I make or change myself"),
        description=_l(
            "With the booking attached, so that it lands in your calendar, or moves there."
        ),
    )
    remind_day_before = BooleanField(
        _l("A reminder the day before each booking"),
        description=_l("With the booking attached, for your calendar."),
    )
    remind_training_expiry = BooleanField(
        _l("A reminder two weeks before a training expires"),
    )
    notify_new_requests = BooleanField(
        _l("An e-mail for each request waiting for my decision"),
        description=_l("For the venues you manage: bookings to accept, people asking to join."),
    )
