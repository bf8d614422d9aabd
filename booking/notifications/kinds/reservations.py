"""Messages about reservations: requests for the managers to decide, and what members are
told of their own bookings (with the calendar entries that keep their phone up to date)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ...models import Reservation, Resource, Status, User, Venue
from ...presentation import emails
from ...services import outbox
from .base import AboutReservations, Composer, Envelope, MessageKind, Obsolete, kind


@kind
class RequestToDecide(MessageKind):
    """To the venue's managers: a request waits for their decision (a series in one)."""

    key = "request_to_decide"
    label = _l("Request to decide")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[outbox.ReservationLike] = (),
        venue_id: int,
        **_: Any,
    ) -> int:
        pending = [r for r in reservations if Status(outbox.get(r, "status")) == Status.PENDING]
        count = 0
        for (user_id, series_id), group in outbox.by_member_and_series(pending).items():
            payload = {
                "reservations": [outbox.snapshot(r) for r in group],
                "member_id": user_id,
                "series_id": series_id,
            }
            count += outbox.to_managers(session, self.key, venue_id, payload, now)
        return count

    def compose(self, c: Composer) -> Envelope:
        current, reported = c.reservations()
        if not any(r.status == Status.PENDING for r in current):
            raise Obsolete("the request was decided or withdrawn before this was sent")
        return c.to_account(
            reservations=reported,
            venue=reported[0].resource.venue,
            values={
                "member_name": c.name_of(c.payload.get("member_id")),
                "queue_url": c.url("manage.index"),
                "preferences_url": c.preferences_url(),
            },
        )

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Request to decide: %(resource)s, %(when)s — %(member)s",
            member=letter.values.get("member_name", ""),
            **emails.about(letter),
        )


def _confirmed(
    reservations: Iterable[outbox.ReservationLike], actor_id: int, *, own: bool
) -> list[outbox.ReservationLike]:
    """The confirmed ones among ``reservations``: those the actor booked for themself
    (``own``), or those they booked for someone else."""
    return [
        r
        for r in reservations
        if Status(outbox.get(r, "status")) == Status.CONFIRMED
        and (outbox.get(r, "user_id") == actor_id) == own
    ]


@kind
class BookedForYou(AboutReservations):
    """To a member for whom a manager booked."""

    key = "booked_for_you"
    label = _l("Booked for a member")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[outbox.ReservationLike] = (),
        actor_id: int,
        **_: Any,
    ) -> int:
        for_others = _confirmed(reservations, actor_id, own=False)
        return outbox.to_members(session, self.key, for_others, now, actor_id=actor_id)

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Booked for you: %(resource)s, %(when)s", **emails.about(letter))


@kind
class Booked(AboutReservations):
    """To a member who booked for themself and was confirmed at once, with the booking for
    their calendar (a series in one file); they may turn it off on their profile."""

    key = "booked"
    label = _l("Booking confirmed")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[outbox.ReservationLike] = (),
        actor_id: int,
        **_: Any,
    ) -> int:
        own = _confirmed(reservations, actor_id, own=True)
        return outbox.to_members_choosing(session, self.key, own, now, User.notify_confirmations)

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Booking confirmed: %(resource)s, %(when)s", **emails.about(letter))


@kind
class Accepted(AboutReservations):
    key = "accepted"
    label = _l("Request accepted")

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Request accepted: %(resource)s, %(when)s", **emails.about(letter))


@kind
class Refused(AboutReservations):
    """With the manager's reason."""

    key = "refused"
    label = _l("Request refused")

    tells_reason = True

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Request refused: %(resource)s, %(when)s", **emails.about(letter))


@kind
class CancelledByManager(AboutReservations):
    """A manager cancelled a member's booking: explained, with the reason."""

    key = "cancelled_by_manager"
    label = _l("Cancelled by a manager")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[Reservation] = (),
        actor_id: int,
        reason: str = "",
        **_: Any,
    ) -> int:
        others = [r for r in reservations if r.user_id != actor_id]
        return outbox.to_members(session, self.key, others, now, reason=reason, actor_id=actor_id)

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Booking cancelled: %(resource)s, %(when)s", **emails.about(letter))


@kind
class CancelledByYou(AboutReservations):
    """The member's own cancellation, confirmed for bookings that were confirmed (their
    calendar may hold them); a request they withdrew tells nobody."""

    key = "cancelled_by_you"
    label = _l("Cancellation confirmed")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        reservations: Iterable[Reservation] = (),
        actor_id: int,
        were_confirmed: Iterable[int] = (),
        **_: Any,
    ) -> int:
        confirmed = set(were_confirmed)
        theirs = [r for r in reservations if r.user_id == actor_id and r.id in confirmed]
        return outbox.to_members(session, self.key, theirs, now)

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Cancellation confirmed: %(resource)s, %(when)s", **emails.about(letter))


@kind
class CancelledByClosure(AboutReservations):
    """A closure cancelled the booking: each member is told why (nobody waiting is told of
    a slot inside a closure)."""

    key = "cancelled_by_closure"
    label = _l("Cancelled by a closure")
    tells_reason = True

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Booking cancelled (closure): %(resource)s, %(when)s", **emails.about(letter)
        )


@kind
class Expired(AboutReservations):
    """Requests whose start passed undecided: one message per member and series."""

    key = "expired"
    label = _l("Request expired")

    def record(
        self, session: Session, now: datetime, *, reservation_ids: Iterable[int] = (), **_: Any
    ) -> int:
        ids = list(reservation_ids)
        if not ids:
            return 0
        rows = session.execute(sa.select(*outbox.REPORTED).where(Reservation.id.in_(ids)))
        return outbox.to_members(session, self.key, list(rows.mappings()), now)

    def subject(self, letter: emails.Letter) -> str:
        return gettext(
            "Request expired without an answer: %(resource)s, %(when)s", **emails.about(letter)
        )


@kind
class Reminder(AboutReservations):
    """The day before a confirmed booking, for those who want it; once per booking and
    start, however often the job runs."""

    key = "reminder"
    label = _l("Reminder")

    def record(
        self,
        session: Session,
        now: datetime,
        *,
        zones: Mapping[str, date] | None = None,
        **_: Any,
    ) -> int:
        """``zones`` maps each venue time zone to the local date whose reservations are
        reminded there ("tomorrow" in that zone)."""
        if not zones:
            return 0
        # Only the days reminded of, whatever the zone: the bookings of a day of the
        # network, not of three.
        bounds = [
            (
                datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)),
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)),
            )
            for zone, day in zones.items()
        ]
        candidates = session.execute(
            sa.select(*outbox.REPORTED, Venue.timezone)
            .join(Resource, Resource.id == Reservation.resource_id)
            .join(Venue, Venue.id == Resource.venue_id)
            .join(User, User.id == Reservation.user_id)
            .where(
                Reservation.status == Status.CONFIRMED,
                Reservation.starts_at > now,
                Reservation.starts_at >= min(start for start, _ in bounds),
                Reservation.starts_at < max(end for _, end in bounds),
                User.active,
                User.remind_day_before,
            )
        ).mappings()
        rows = []
        for reservation in candidates:
            zone = reservation["timezone"]
            day = zones.get(zone)
            if day is None or reservation["starts_at"].astimezone(ZoneInfo(zone)).date() != day:
                continue
            rows.append(
                outbox.row(
                    self.key,
                    now,
                    {"reservations": [outbox.snapshot(reservation)]},
                    recipient_id=reservation["user_id"],
                    dedupe_key=f"reminder:{reservation['id']}:{reservation['starts_at']:%Y%m%dT%H%M}",
                )
            )
        return outbox.add(session, rows)

    def still_true(self, c: Composer, current: list[Reservation]) -> None:
        if current[0].status != Status.CONFIRMED or current[0].starts_at <= c.now:
            raise Obsolete("the booking was cancelled or has started")

    def subject(self, letter: emails.Letter) -> str:
        return gettext("Reminder for tomorrow: %(resource)s, %(when)s", **emails.about(letter))
