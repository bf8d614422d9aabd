"""Demo data: the three KPA-Cité cooperatives of the seed document, a year of history and a
lived-in fortnight."""

from .bookings import seed_demo_bookings
from .history import RESIDENTS, seed_demo_history
from .no_messages import without_messages
from .reference import (
    ACCOUNTS,
    DEMO_PASSWORD,
    KITCHEN_QUALIFICATION,
    LASER_QUALIFICATION,
    RETIRED_RESOURCE,
    VENUES,
    seed_reference_data,
)

__all__ = [
    "ACCOUNTS",
    "DEMO_PASSWORD",
    "KITCHEN_QUALIFICATION",
    "LASER_QUALIFICATION",
    "RESIDENTS",
    "RETIRED_RESOURCE",
    "VENUES",
    "seed_demo_bookings",
    "seed_demo_history",
    "seed_reference_data",
    "without_messages",
]
