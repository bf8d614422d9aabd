"""The calendars' periodic work, outside any request: followed calendars read again, the
occurrences of recurring closures written as they come within reach, forgotten uploads
dropped. Run by the background worker (``worker.Cycle``) and by ``flask
refresh-calendars`` (cron).

A process remembers when it last read each calendar (``Watch``), so that an unchanged
calendar costs it one conditional request every ``CALENDAR_REFRESH_MINUTES`` and no
write; the command, run by cron, reads every calendar each time it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..security.fetching import FetchPolicy
from ..services.venues.following import Outcome, refresh_all
from ..services.venues.imports import forget_imports
from ..services.venues.recurring import extend_rules

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = timedelta(hours=1)


@dataclass
class Summary:
    calendars: list[Outcome] = field(default_factory=list)
    occurrences: int = 0
    forgotten: int = 0

    @property
    def failed(self) -> int:
        return sum(1 for outcome in self.calendars if outcome.error)


def run_calendars(
    now: datetime,
    config: Any,
    *,
    due: Callable[[int], bool] = lambda _id: True,
    report: Callable[[int, Outcome], None] | None = None,
) -> Summary:
    """Everything at once: the command's work."""
    summary = Summary()
    summary.occurrences = extend_rules(now)
    summary.calendars = refresh_all(now, FetchPolicy.from_config(config), due=due, report=report)
    summary.forgotten = forget_imports(now)
    return summary


class Watch:
    """The worker's share: each calendar read when its turn comes, the rest hourly."""

    def __init__(self) -> None:
        self._read_at: dict[int, datetime] = {}
        self._kept_at: datetime | None = None

    def run(self, now: datetime, config: Any) -> None:
        every = timedelta(minutes=float(config.get("CALENDAR_REFRESH_MINUTES", 15)))

        def due(calendar_id: int) -> bool:
            last = self._read_at.get(calendar_id)
            if last is not None and now - last < every:
                return False
            self._read_at[calendar_id] = now
            return True

        if self._kept_at is None or now - self._kept_at >= HOUSEKEEPING_EVERY:
            extend_rules(now)
            forget_imports(now)
            self._kept_at = now
        for outcome in refresh_all(now, FetchPolicy.from_config(config), due=due):
            if outcome.error:
                log.warning("a followed calendar could not be read: %s", outcome.error)
