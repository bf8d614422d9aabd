"""Venue managers (and administrators, for every venue): the venue's overview and set-up
checklist, the requests to decide, the schedule, closures (recurring ones too), calendars
followed and bookings imported, opening hours, resources and their prices, trainings,
members, invitations (one or a list), requests to join and the log.

One blueprint, one module per screen. Every route is declared ``manager``
(``booking.views.access``); each one then asks ``permissions.can_manage``
about the venue it touches and answers 404 for any other venue.
"""

# The screens register their routes on ``bp``.
from . import (  # noqa: F401
    calendars,
    closures,
    hours,
    invitations,
    invite_list,
    joining,
    log,
    members,
    prices,
    queue,
    resources,
    schedule,
    trainings,
)
from .common import bp

__all__ = ["bp"]
