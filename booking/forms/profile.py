"""A member's own settings: name, language, password."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..security.passwords import MAX_LENGTH, MIN_LENGTH, Weakness, weakness
from .base import Form

WEAKNESS_MESSAGES = {
    Weakness.TOO_SHORT: _l(
        "Choose at least %(num)d characters. A few words in a row are easy to remember "
        "and hard to guess, such as “green tea on the terrace”.",
        num=MIN_LENGTH,
    ),
    Weakness.PERSONAL: _l(
        "This password is built from your name or e-mail address, the first things someone "
        "would try. Choose words that have nothing to do with you."
    ),
    Weakness.COMMON: _l(
        "This password is among those tried first (common words, names, dates, keyboard "
        "rows). Add one or two unexpected words."
    ),
}


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
    """A new password, typed twice: on the profile, and from a link sent by e-mail.

    The view says whose password it is (``about_person``), so that a password built
    from the person's own name or address is refused next to the field."""

    new_password = PasswordField(
        _l("New password"),
        description=_l(
            "At least %(num)d characters. A short phrase of words you will remember is best.",
            num=MIN_LENGTH,
        ),
        validators=[
            DataRequired(_l("Please choose a new password.")),
            Length(max=MAX_LENGTH, message=_l("At most %(num)d characters.", num=MAX_LENGTH)),
        ],
        render_kw={"autocomplete": "new-password", "minlength": MIN_LENGTH},
    )
    confirm_password = PasswordField(
        _l("New password, again"),
        validators=[
            DataRequired(_l("Please type the new password a second time.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._about: list[str] = []

    def about_person(self, *facts: str) -> None:
        """Whose password this is: their name and e-mail address."""
        self._about = [fact for fact in facts if fact]

    def validate_new_password(self, field: Field) -> None:
        about = list(self._about)
        name_field = getattr(self, "display_name", None)
        if name_field is not None and isinstance(name_field.data, str):
            about.append(name_field.data)
        found = weakness(field.data or "", about)
        if found is not None:
            raise ValidationError(WEAKNESS_MESSAGES[found])


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
