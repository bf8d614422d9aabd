"""A member's own settings: name, language, password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from .base import Form

MIN_PASSWORD_LENGTH = 8


class ProfileForm(Form):
    display_name = StringField(
        _l("Your name"),
        description=_l("Shown to the venue's team with your bookings."),
        validators=[DataRequired(_l("Please enter a name.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    # Language names are written in their own language: someone who cannot
    # read the current one must still recognise theirs.
    locale = RadioField(
        _l("Language"),
        choices=[
            SelectChoice("fr", "Français", render_kw={"lang": "fr"}),
            SelectChoice("en", "English", render_kw={"lang": "en"}),
        ],
        validators=[DataRequired()],
    )


class NewPasswordForm(Form):
    """A new password, typed twice: on the profile, and from a link sent by e-mail."""

    new_password = PasswordField(
        _l("New password"),
        description=_l("At least %(num)d characters.", num=MIN_PASSWORD_LENGTH),
        validators=[
            DataRequired(_l("Please choose a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l(
                    "The password must have at least %(num)d characters.", num=MIN_PASSWORD_LENGTH
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("New password, again"),
        validators=[
            DataRequired(_l("Please type the new password a second time.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class FirstPasswordForm(NewPasswordForm):
    """The password of a new account: nothing is "new" about it for its owner."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.new_password.label.text = _l("Choose a password")
        self.confirm_password.label.text = _l("The same password, again")


class PasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
