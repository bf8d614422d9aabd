"""The domain model, one module per aggregate."""

from . import states  # noqa: F401  (a crash of CPython 3.11: see states.py)
from .accounts import Invitation, PromisedTraining, SignupRequest, SignupStatus
from .audit import AdminEvent
from .calendars import CalendarImport, FollowedCalendar, ImportedEvent, ImportFormat
from .feeds import Audience, FeedStamp
from .outbox import OPEN_STATUSES, MessageStatus, OutboxMessage
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
from .tariffs import MAX_PRICE_CENTS, PriceUnit, Tariff
from .types import UTCDateTime, meets, utcnow
from .users import LoginSession, Membership, Rate, Role, User
from .venues import Closure, ClosureFrequency, ClosureRule, OpeningPeriod, Venue
from .waitlist import WaitlistEntry, WaitStatus

__all__ = [
    "ENDED_STATUSES",
    "HOLDING_STATUSES",
    "MAX_HOLD",
    "MAX_HOLD_MINUTES",
    "MAX_PRICE_CENTS",
    "OPEN_STATUSES",
    "AdminEvent",
    "Audience",
    "AuditEvent",
    "CalendarImport",
    "Closure",
    "ClosureFrequency",
    "ClosureRule",
    "FeedStamp",
    "FollowedCalendar",
    "Frequency",
    "ImportFormat",
    "ImportedEvent",
    "Invitation",
    "LoginSession",
    "Membership",
    "MessageStatus",
    "OpeningPeriod",
    "OutboxMessage",
    "PriceUnit",
    "PromisedTraining",
    "Qualification",
    "QualificationGrant",
    "Rate",
    "Reservation",
    "Resource",
    "ResourceKind",
    "Role",
    "Series",
    "SignupRequest",
    "SignupStatus",
    "Status",
    "Tariff",
    "UTCDateTime",
    "User",
    "Venue",
    "WaitStatus",
    "WaitlistEntry",
    "meets",
    "utcnow",
]
