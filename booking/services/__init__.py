"""Use cases. Each one owns its transaction: views call one and commit nothing.

What a request is made of (``LocalMoment``, ``Recurrence``) and what a refusal
says (``Violation``) come from the pure rules, re-exported here so that views
speak to this layer only.
"""

from ..rules import LocalMoment, Recurrence, Violation
from .booking import SeriesRequest, book, book_series, obstacles, preview_series
from .errors import BookingError, ConflictError, NotAllowedError, TransitionError
from .lifecycle import (
    OverdueWatch,
    approve,
    cancel,
    cancel_series_from,
    expire_pending,
    refuse,
)

__all__ = [
    "BookingError",
    "ConflictError",
    "LocalMoment",
    "NotAllowedError",
    "OverdueWatch",
    "Recurrence",
    "SeriesRequest",
    "TransitionError",
    "Violation",
    "approve",
    "book",
    "book_series",
    "cancel",
    "cancel_series_from",
    "expire_pending",
    "obstacles",
    "preview_series",
    "refuse",
]
