"""Joining a venue, invitations, passwords chosen from a link, e-mail preferences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from .base import Form
from .profile import FirstPasswordForm


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


class InviteForm(Form):
    display_name = _name_field(_l("Name"))
    email = _email_field()
    role = RadioField(
        _l("Role"),
        choices=[
            SelectChoice("member", _l("Member: books the spaces and equipment")),
            SelectChoice("manager", _l("Manager: also decides requests and books for others")),
        ],
        default="member",
        validators=[DataRequired(_l("Choose a role."))],
    )


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
