"""The audit log: who did what to which reservation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..models import AuditEvent, Reservation


def record(
    session: Session,
    action: str,
    reservation: Reservation | None,
    actor_id: int | None,
    now: datetime,
    detail: str = "",
    series_id: int | None = None,
) -> None:
    session.add(
        AuditEvent(
            reservation=reservation,
            series_id=series_id
            if series_id is not None
            else getattr(reservation, "series_id", None),
            actor_id=actor_id,
            action=action,
            detail=detail,
            created_at=now,
        )
    )
