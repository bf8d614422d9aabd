"""Venue managers (and administrators, for every venue): the requests to decide, the
schedule, closures, opening hours, resources, trainings, members and the log.

One blueprint, one module per screen. Every route is declared ``manager``
(``booking.views.access``); each one then asks ``permissions.can_manage``
about the venue it touches and answers 404 for any other venue.
"""

# The screens register their routes on ``bp``.
from . import closures, hours, log, members, queue, resources, schedule, trainings  # noqa: F401
from .common import bp

__all__ = ["bp"]
