"""The waiting list: a slot someone waited for is free again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ...extensions import db
from ...models import MAX_HOLD, Reservation, Resource, WaitlistEntry, WaitStatus
from ...presentation import emails
from ...presentation.formatting import venue_datetime
from ...services import outbox
from ...services.booking import waitlist
from .base import Composer, Envelope, MessageKind, Obsolete, kind

# The first member waiting for a freed slot hears of it first; the next one
# this much later, if the slot is still free then, and so on.
HEAD_START = timedelta(minutes=15)


@kind
class SlotFreed(MessageKind):
    """To the members waiting for a slot that a cancellation or a refusal freed, in the
    order they asked; dropped if the slot is taken again before their turn."""

    key = "slot_freed"
    label = _l("Slot freed (waiting list)")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[Reservation] = (),
        **_: Any,
    ) -> int:
        """The first hears of it at once, each next one ``HEAD_START`` later (compressed
        when the slot is close)."""
        freed = [r for r in reservations if r.ends_at > now]
        if not freed:
            return 0
        low = min(r.starts_at for r in freed) - MAX_HOLD
        high = max(r.blocked_until for r in freed)
        candidates = session.execute(
            sa.select(WaitlistEntry, Resource.buffer_minutes)
            .join(Resource, Resource.id == WaitlistEntry.resource_id)
            .where(
                WaitlistEntry.resource_id.in_({r.resource_id for r in freed}),
                WaitlistEntry.status == WaitStatus.WAITING,
                WaitlistEntry.starts_at > now,
                WaitlistEntry.starts_at >= low,
                WaitlistEntry.starts_at < high,
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        ).all()
        waiting = [
            entry
            for entry, buffer in candidates
            if any(
                r.resource_id == entry.resource_id
                and entry.starts_at < r.blocked_until
                and entry.ends_at + timedelta(minutes=buffer) > r.starts_at
                and entry.user_id != r.user_id
                for r in freed
            )
        ]
        if not waiting:
            return 0
        soonest = min(entry.starts_at for entry in waiting)
        step = min(HEAD_START, (soonest - now) / (len(waiting) + 1))
        rows = []
        for place, entry in enumerate(waiting):
            entry.notified_at = now
            rows.append(
                outbox.row(
                    self.key,
                    now,
                    {"entry_id": entry.id},
                    recipient_id=entry.user_id,
                    due_at=now + step * place,
                )
            )
        return outbox.add(session, rows)

    def compose(self, c: Composer) -> Envelope:
        entry = db.session.get(WaitlistEntry, c.payload.get("entry_id"))
        if entry is None or entry.status != WaitStatus.WAITING or entry.starts_at <= c.now:
            raise Obsolete("the member no longer waits for this slot")
        if not waitlist.is_free(db.session, entry):
            raise Obsolete("the slot was taken again before this was sent")
        resource = entry.resource
        return c.to_account(
            venue=resource.venue,
            values={
                "resource_name": resource.name,
                "venue_name": resource.venue.name,
                "zone": resource.venue.zone,
                "starts_at": entry.starts_at,
                "ends_at": entry.ends_at,
                "book_url": c.url("waitlist.book", entry_id=entry.id),
                "waitlist_url": c.url("waitlist.index"),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        v = letter.values
        return gettext(
            "A slot is free: %(resource)s, %(when)s",
            resource=v["resource_name"],
            when=venue_datetime(v["starts_at"], v["zone"]),
        )
