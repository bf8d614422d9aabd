"""The domain model, one module per aggregate."""

from .audit import AdminEvent
from .feeds import Audience, FeedStamp
from .reservations import (
    ENDED_STATUSES,
    HOLDING_STATUSES,
    MAX_HOLD,
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
    "ENDED_STATUSES",
    "HOLDING_STATUSES",
    "MAX_HOLD",
    "MAX_HOLD_MINUTES",
    "AdminEvent",
    "Audience",
    "AuditEvent",
    "Closure",
    "FeedStamp",
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
