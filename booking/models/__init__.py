"""The domain model, one module per aggregate."""

from .feeds import FeedState
from .reservations import (
    HOLDING_STATUSES,
    AuditEvent,
    Frequency,
    Reservation,
    Series,
    Status,
)
from .resources import (
    MAX_HOLD_MINUTES,
    Qualification,
    QualificationGrant,
    Resource,
    ResourceKind,
)
from .types import UTCDateTime, utcnow
from .users import Membership, Role, User
from .venues import Closure, OpeningPeriod, Venue

__all__ = [
    "HOLDING_STATUSES",
    "MAX_HOLD_MINUTES",
    "AuditEvent",
    "Closure",
    "FeedState",
    "Frequency",
    "Membership",
    "OpeningPeriod",
    "Qualification",
    "QualificationGrant",
    "Reservation",
    "Resource",
    "ResourceKind",
    "Role",
    "Series",
    "Status",
    "UTCDateTime",
    "User",
    "Venue",
    "utcnow",
]
