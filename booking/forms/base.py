"""What every form shares: text free of control characters.

Nobody types a NUL or an escape character; PostgreSQL refuses NUL in text
(and would answer a 500); a line break in a name or an address breaks the
e-mail headers it goes into. Every form derives from ``Form`` so that such
input is refused next to its field, in words, before anything reaches a
service.
"""

from __future__ import annotations

import re
from typing import Any

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, widgets
from wtforms.i18n import messages_path

# C0 controls but tab, line feed and carriage return; DEL; C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What ends a line: fine in a text area, never in a one-line field (a name that holds a
# line break breaks every e-mail header it goes into).
LINE_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]")


def has_control_characters(value: Any, pattern: re.Pattern[str] = CONTROL_CHARACTERS) -> bool:
    if isinstance(value, str):
        return bool(pattern.search(value))
    if isinstance(value, list | tuple):
        return any(has_control_characters(item, pattern) for item in value)
    return False


def is_one_line(field: Field) -> bool:
    """A field typed on one line: every input but a text area."""
    return isinstance(field.widget, widgets.Input)


# WTForms' own messages ("Not a valid date value."), by language: Flask-WTF reads
# their catalogue from disk on every request that builds a form.
_WTFORMS_MESSAGES: dict[str, support.Translations] = {}


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)  # type: ignore[misc]
            language = str(get_locale())
            messages = _WTFORMS_MESSAGES.get(language)
            if messages is None:
                messages = _WTFORMS_MESSAGES[language] = support.Translations.load(
                    messages_path(), [language], domain="wtforms"
                )
            return messages

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            raw = field.raw_data if field.raw_data is not None else field.data
            if has_control_characters(raw):
                field.errors = [
                    *field.errors,
                    _l("This contains invisible characters that are not allowed: type it again."),
                ]
                valid = False
            elif is_one_line(field) and has_control_characters(raw, LINE_BREAKS):
                field.errors = [
                    *field.errors,
                    _l("This must fit on one line: remove the line breaks and tabs."),
                ]
                valid = False
        return valid
