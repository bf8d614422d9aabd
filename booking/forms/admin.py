"""Forms of the administrators' screens: venues and accounts."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectChoice, SelectField
from wtforms.validators import Email, InputRequired, Length, Optional

from .base import Form
from .manage import IdsField, _area, _text, clean_text


class VenueForm(Form):
    name = _text(_l("Name"), 160, required=True, description=_l("As people know the place."))
    address = _text(_l("Address"), 300, description=_l("Street, postcode and town."))
    phone = _text(_l("Contact phone"), 40)
    email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Length(max=254, message=_l("At most %(max)d characters."))],
        filters=[clean_text],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    timezone = SelectField(
        _l("Time zone"),
        default="Europe/Paris",
        description=_l("Bookings are entered and shown in this time zone."),
        validators=[InputRequired()],
    )
    description = _area(_l("Description"), 2000, description=_l("A few words on the place."))

    def configure(self, zones: Iterable[str]) -> None:
        self.timezone.choices = [SelectChoice(zone, zone) for zone in zones]


class NewVenueForm(VenueForm):
    """A new venue, and the person who will run it: invited in the same step."""

    manager_name = _text(_l("Manager's name"), 120)
    manager_email = EmailField(
        _l("Manager's e-mail"),
        description=_l(
            "They receive an invitation and, once they accept, the venue's set-up checklist."
        ),
        validators=[
            Optional(),
            Length(max=254, message=_l("At most %(max)d characters.")),
            Email(_l("This e-mail address does not look right. Check it and try again.")),
        ],
        filters=[clean_text],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )


class AccountStateForm(Form):
    cancel_bookings = BooleanField(_l("Also cancel their bookings to come"))
    reason = _text(
        _l("Reason"), 500, description=_l("Needed to cancel bookings: the member reads it.")
    )
    seen = IdsField()
