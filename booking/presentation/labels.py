"""Words for the domain's codes: statuses, soft rules, weekdays."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import Status

STATUS_LABELS = {
    Status.PENDING: _l("Awaiting approval"),
    Status.CONFIRMED: _l("Confirmed"),
    Status.REFUSED: _l("Refused"),
    Status.CANCELLED: _l("Cancelled"),
    Status.EXPIRED: _l("Expired (no decision in time)"),
}

STATUS_TONES = {
    Status.PENDING: "warning",
    Status.CONFIRMED: "success",
    Status.REFUSED: "danger",
    Status.CANCELLED: "neutral",
    Status.EXPIRED: "neutral",
}

# Rules a manager may set aside for someone (booking.rules.SOFT_RULES).
SOFT_RULE_LABELS = {
    "hours": _l("Opening hours"),
    "notice": _l("Minimum notice"),
    "horizon": _l("Booking horizon"),
    "quota": _l("Weekly quota"),
    "qualification": _l("Required training"),
}

WEEKDAY_LABELS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


def override_labels(codes: str) -> str:
    """ "hours,quota" → "Opening hours, Weekly quota"."""
    return ", ".join(str(SOFT_RULE_LABELS[c]) for c in codes.split(",") if c)
