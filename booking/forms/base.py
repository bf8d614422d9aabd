"""What every form shares: text free of control characters.

Nobody types a NUL or an escape character; PostgreSQL refuses NUL in text
(and would answer a 500). Every form derives from ``Form`` so that such input
is refused next to its field, in words, before anything reaches a service.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# C0 controls but tab, line feed and carriage return; DEL; C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: Any) -> bool:
    if isinstance(value, str):
        return bool(CONTROL_CHARACTERS.search(value))
    if isinstance(value, list | tuple):
        return any(has_control_characters(item) for item in value)
    return False


class Form(FlaskForm):
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
        return valid
