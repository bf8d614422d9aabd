"""The application's clock. Views and commands ask it for "now" and hand that to services.

Tests that live on another day (the weeks of a daylight-saving change) replace
``now`` here, and every page and feed follows.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
