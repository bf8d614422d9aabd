"""Use cases. Each one owns its transaction: views call one and commit nothing.

A view that only reads says so with ``reads_only`` (from ``booking.database``)
before its first statement; a public one may read from a replica (``leave_replica``
and ``reading_replica`` go with it).

What a request is made of (``LocalMoment``, ``Recurrence``) and what a refusal
says (``Violation``) come from the pure rules, re-exported here so that views
speak to this layer only.
"""

from ..database import leave_replica, reading_replica, reads_only
from ..rules import LocalMoment, Recurrence, Violation
from .booking.changes import (
    Changed,
    ChangeRequest,
    Following,
    Move,
    Outcome,
    change,
    change_following,
    preview_following,
    withdraw_change,
)
from .booking.engine import book, obstacles
from .booking.lifecycle import (
    OverdueWatch,
    approve,
    cancel,
    cancel_series_from,
    expire_pending,
    refuse,
)
from .booking.series import Occurrence, SeriesRequest, SeriesResult, book_series, preview_series
from .errors import BookingError, ConflictError, NotAllowedError, TransitionError

__all__ = [
    "BookingError",
    "ChangeRequest",
    "Changed",
    "ConflictError",
    "Following",
    "LocalMoment",
    "Move",
    "NotAllowedError",
    "Occurrence",
    "Outcome",
    "OverdueWatch",
    "Recurrence",
    "SeriesRequest",
    "SeriesResult",
    "TransitionError",
    "Violation",
    "approve",
    "book",
    "book_series",
    "cancel",
    "cancel_series_from",
    "change",
    "change_following",
    "expire_pending",
    "leave_replica",
    "obstacles",
    "preview_following",
    "preview_series",
    "reading_replica",
    "reads_only",
    "refuse",
    "withdraw_change",
]
