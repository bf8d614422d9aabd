"""Activity reports and monthly statements, for managers (their venues) and administrators
(every venue, or one), with their exports.

One blueprint; every route is declared ``manager`` (``booking.views.access``),
then ``booking.services.reporting.activity.report_venues`` answers 404 for a venue the
person does not manage.
"""

# The screens register their routes on ``bp``.
from . import activity, statements  # noqa: F401
from .common import bp

__all__ = ["bp"]
