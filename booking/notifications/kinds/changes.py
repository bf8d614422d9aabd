"""Messages about changed bookings: the new version for the member's calendar, the changes
a manager decides, and the changes that will not happen (the booking stays as it was)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ...models import HOLDING_STATUSES, Reservation, Status, User
from ...presentation import emails
from ...services import outbox
from .base import AboutReservations, Composer, Envelope, MessageKind, Obsolete, kind


def _versions(said: Mapping[str, Any] | None) -> dict[int, tuple[datetime, datetime]]:
    """Versions kept in a payload (by reservation id, as JSON keeps keys: text), read back."""
    return {
        int(key): (datetime.fromisoformat(v["starts_at"]), datetime.fromisoformat(v["ends_at"]))
        for key, v in (said or {}).items()
    }


def _only(said: Mapping[Any, Any] | None, ids: Iterable[int]) -> dict[str, Any]:
    said = {str(key): value for key, value in (said or {}).items()}
    return {str(i): said[str(i)] for i in ids if str(i) in said}


@kind
class Changed(AboutReservations):
    """The booking's new version: changed by its member (a confirmation they may turn off),
    by a manager (with the reason), or a change a manager accepted. The .ics updates the
    event in their calendar (same UID, higher SEQUENCE)."""

    key = "changed"
    label = _l("Booking changed")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[outbox.ReservationLike] = (),
        actor_id: int | None = None,
        reason: str = "",
        accepted: bool = False,
        was: Mapping[Any, Any] | None = None,
        **_: Any,
    ) -> int:
        count = 0
        for (member_id, _series), group in outbox.by_member_and_series(reservations).items():
            extra = {
                "actor_id": actor_id,
                "reason": reason,
                "accepted": accepted,
                "was": _only(was, (outbox.get(r, "id") for r in group)),
            }
            if accepted or member_id != actor_id:
                count += outbox.to_members(session, self.key, group, now, **extra)
            else:
                count += outbox.to_members_choosing(
                    session, self.key, group, now, User.notify_confirmations, **extra
                )
        return count

    def compose(self, c: Composer) -> Envelope:
        envelope = super().compose(c)
        recipient = c.recipient.id if c.recipient else None
        accepted = bool(c.payload.get("accepted"))
        envelope.letter.values.update(
            was=_versions(c.payload.get("was")),
            accepted=accepted,
            by_manager=not accepted and c.payload.get("actor_id") not in (None, recipient),
        )
        return envelope

    def subject(self, letter: emails.Letter) -> str:
        if letter.values.get("accepted"):
            return gettext("Change accepted: %(resource)s, %(when)s", **emails.about(letter))
        return gettext("Booking changed: %(resource)s, %(when)s", **emails.about(letter))


@kind
class ChangeToDecide(MessageKind):
    """To the venue's managers: a member asks to change a confirmed booking (the new slot
    is held meanwhile); several dates of a series in one message."""

    key = "change_to_decide"
    label = _l("Change to decide")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        changes: Iterable[outbox.ReservationLike] = (),
        venue_id: int,
        was: Mapping[Any, Any] | None = None,
        **_: Any,
    ) -> int:
        # The versions before, by the id of the change that would replace each.
        before = {str(key): value for key, value in (was or {}).items()}
        count = 0
        for (member_id, _series), group in outbox.by_member_and_series(changes).items():
            payload = {
                "reservations": [outbox.snapshot(r) for r in group],
                "member_id": member_id,
                "was": {
                    str(outbox.get(r, "id")): before[str(outbox.get(r, "replaces_id"))]
                    for r in group
                    if str(outbox.get(r, "replaces_id")) in before
                },
            }
            count += outbox.to_managers(session, self.key, venue_id, payload, now)
        return count

    def compose(self, c: Composer) -> Envelope:
        current, reported = c.reservations()
        if not any(r.status == Status.PENDING for r in current):
            raise Obsolete("the change was decided or withdrawn before this was sent")
        return c.to_account(
            reservations=reported,
            venue=reported[0].resource.venue,
            values={
                "member_name": c.name_of(c.payload.get("member_id")),
                "was": _versions(c.payload.get("was")),
                "queue_url": c.url("manage.index"),
                "preferences_url": c.preferences_url(),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Change to decide: %(resource)s, %(when)s — %(member)s",
            member=letter.values.get("member_name", ""),
            **emails.about(letter),
        )


class _ChangeNotMade(AboutReservations):
    """A change that will not happen: the booking stays as it was (and its .ics says so)."""

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[outbox.ReservationLike] = (),
        reason: str = "",
        asked: Mapping[Any, Any] | None = None,
        **_: Any,
    ) -> int:
        count = 0
        for _key, group in outbox.by_member_and_series(reservations).items():
            extra = {"asked": _only(asked, (outbox.get(r, "id") for r in group))}
            if self.tells_reason:
                extra["reason"] = reason
            count += outbox.to_members(session, self.key, group, now, **extra)
        return count

    def still_true(self, c: Composer, current: list[Reservation]) -> None:
        if not any(r.status in HOLDING_STATUSES for r in current):
            raise Obsolete("the booking no longer holds its slot")

    def compose(self, c: Composer) -> Envelope:
        envelope = super().compose(c)
        envelope.letter.values["asked"] = _versions(c.payload.get("asked"))
        return envelope


@kind
class ChangeRefused(_ChangeNotMade):
    """A manager refused the change (with the reason), or a closure took its new slot."""

    key = "change_refused"
    label = _l("Change refused")
    tells_reason = True

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Change refused: %(resource)s, %(when)s", **emails.about(letter))


@kind
class ChangeExpired(_ChangeNotMade):
    """Nobody decided the change before its new time came."""

    key = "change_expired"
    label = _l("Change expired")

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Change expired without an answer: %(resource)s, %(when)s", **emails.about(letter)
        )
