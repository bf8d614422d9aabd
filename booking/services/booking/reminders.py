"""Reminders that come from the calendar rather than from a change: the day before a
booking, a training about to expire. Recorded once each, however often this runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import Venue
from .. import outbox

# Tomorrow's bookings are reminded from this local hour on: an evening
# message, whether cron runs at 18:00 or the background sender looks every
# few minutes.
REMINDER_TIME = time(17, 0)


def record_reminders(now: datetime, training_zone: str = "Europe/Paris") -> int:
    """Record the reminders due now; returns how many new messages there are."""

    def work(session: Session) -> int:
        zones = {}
        for name in session.scalars(sa.select(Venue.timezone).distinct()):
            local = now.astimezone(ZoneInfo(name))
            if local.time() >= REMINDER_TIME:
                zones[name] = local.date() + timedelta(days=1)
        count = outbox.tell(session, now, "reminder", zones=zones)
        today = now.astimezone(ZoneInfo(training_zone)).date()
        return count + outbox.tell(session, now, "training_expiring", today=today)

    return run_write(work)
