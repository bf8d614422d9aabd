"""What a calendar app shows as a feed's name, in the venues' language."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..models import Audience, Reservation
from ..services.booking.feeds import Feed
from .ical import FEED_LOCALE, CalendarInfo


def _default_timezone() -> str:
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris"


def feed_info(feed: Feed) -> CalendarInfo:
    subject = feed.subject
    site = current_app.config["SITE_NAME"]
    with force_locale(FEED_LOCALE):
        if feed.audience == Audience.MANAGER:
            return CalendarInfo(
                name=_("Reservations to manage — %(site)s", site=site),
                timezone=_default_timezone(),
            )
        if feed.audience == Audience.MEMBER:
            return CalendarInfo(
                name=_("My reservations — %(site)s", site=site), timezone=_default_timezone()
            )
        if "resource" in subject:
            name = _(
                "%(resource)s — %(venue)s", resource=subject["resource"], venue=subject["venue"]
            )
        else:
            name = _("%(venue)s — reservations", venue=subject["venue"])
    return CalendarInfo(name=name, timezone=subject["timezone"])


def reservation_info(reservation: Reservation) -> CalendarInfo:
    venue = reservation.resource.venue
    with force_locale(FEED_LOCALE):
        name = _("%(resource)s — %(venue)s", resource=reservation.resource.name, venue=venue.name)
    return CalendarInfo(name=name, timezone=venue.timezone)
