"""Use cases. Each one owns its transaction: views call one and commit nothing."""

from .booking import book, book_series, preview_series
from .errors import BookingError, ConflictError, NotAllowedError, TransitionError
from .lifecycle import approve, cancel, cancel_series_from, expire_pending, refuse

__all__ = [
    "BookingError",
    "ConflictError",
    "NotAllowedError",
    "TransitionError",
    "approve",
    "book",
    "book_series",
    "cancel",
    "cancel_series_from",
    "expire_pending",
    "preview_series",
    "refuse",
]
