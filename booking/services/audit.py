"""The audit log: who did what to which reservation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, Reservation


def audit_row(
    action: str,
    reservation_id: int | None,
    series_id: int | None,
    actor_id: int | None,
    now: datetime,
    detail: str = "",
) -> dict[str, Any]:
    """One audit event as a row, for services that write many in one statement."""
    return {
        "reservation_id": reservation_id,
        "series_id": series_id,
        "actor_id": actor_id,
        "action": action,
        "detail": detail,
        "created_at": now,
    }


def record(
    session: Session,
    action: str,
    reservation: Reservation,
    actor_id: int | None,
    now: datetime,
    detail: str = "",
) -> None:
    session.add(
        AuditEvent(
            **audit_row(action, reservation.id, reservation.series_id, actor_id, now, detail)
        )
    )
