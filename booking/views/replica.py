"""Public pages and feeds that a replica may answer, when one is configured
(``DATABASE_REPLICA_URL``).

Visitors who are not logged in and calendar apps polling public feeds are most of the
traffic, and they only read: the replica takes it off the primary. A person logged in
reads the primary, so that what they just booked or changed shows at once on every
page; so do secret-link feeds (a new link works, and the old one stops, at once) and
every write (``booking.database``).

What a replica holds may be a moment behind the primary. A view wrapped here runs
again on the primary when the replica does not know what was asked (a 404 for a
resource created a moment ago), fails mid-way, or holds an older copy than the client
already has (``ReplicaBehindError``, from the feeds' conditional answers): a replica that
lags or stops makes pages a moment late, never wrong, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import NotFound

from ..services import leave_replica, reads_only

F = TypeVar("F", bound=Callable[..., Any])


class ReplicaBehindError(Exception):
    """The replica holds an older state than the one the client has already seen."""


def from_replica(view: F) -> F:
    """Run ``view`` on the replica for visitors, and on the primary whenever the replica
    cannot give the right answer."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_authenticated or not reads_only(replica=True):
            return view(*args, **kwargs)
        try:
            return view(*args, **kwargs)
        except (NotFound, ReplicaBehindError):
            leave_replica()
        except OperationalError as error:
            logging.getLogger(__name__).warning(
                "the replica failed, reading the primary: %s", error.orig
            )
            leave_replica(down=error.connection_invalidated)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
