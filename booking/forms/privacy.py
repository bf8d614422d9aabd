"""Deleting an account: the person confirms with their password; a manager ticks a box."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired

from .base import Form


class DeleteOwnAccountForm(Form):
    password = PasswordField(
        _l("Your password, to confirm"),
        validators=[DataRequired(_l("Please enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class EraseAccountForm(Form):
    confirm = BooleanField(
        _l("The person asked for their account to be deleted, and I checked it was them."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
