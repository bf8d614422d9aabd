"""Finding a place of the network on the home page, by its name or its town.

Read from the query string (GET), like the search for a free slot: a link can be
shared, and the back button brings the same list again.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length, Optional

from .base import Form


class PlaceForm(Form):
    class Meta:
        csrf = False  # it changes nothing: it is a link

    place = StringField(
        _l("Find a place"),
        description=_l("Its name or its town, e.g. Moulins, Roubaix."),
        validators=[Optional(), Length(max=100, message=_l("At most 100 characters."))],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
