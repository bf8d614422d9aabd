"""A realistic fortnight of bookings around today, made through the booking engine.

Slots before today are booked "as of" a few days before they happen (the
engine takes ``now`` as an argument), so every demo reservation has passed
the same rules as a real one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import rules as r
from ..extensions import db
from ..models import Reservation, Resource, User
from ..services import BookingError, SeriesRequest, approve, book, book_series

PARIS = ZoneInfo("Europe/Paris")


def _on_weekday(start: date, weekday: int, weeks: int = 0) -> date:
    """The first ``weekday`` on or after ``start``, plus ``weeks`` weeks."""
    return start + timedelta(days=(weekday - start.weekday()) % 7, weeks=weeks)


def _ids() -> tuple[dict[str, int], dict[str, int]]:
    users = {u.email.split("@")[0]: u.id for u in db.session.scalars(sa.select(User))}
    resources = {res.slug: res.id for res in db.session.scalars(sa.select(Resource))}
    return users, resources


def seed_demo_bookings(
    report: Callable[[str], None] = lambda _: None, today: date | None = None
) -> int:
    """Book the demo fortnight unless reservations already exist. Returns how many were made."""
    if db.session.scalar(sa.select(sa.func.count(Reservation.id))):
        return 0
    today = today or datetime.now(PARIS).date()
    users, resources = _ids()
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=1)
    made = 0

    def at(day: date, hhmm: str) -> datetime:
        return r.to_utc(datetime.combine(day, time.fromisoformat(hhmm)), PARIS)

    real_now = datetime.now(UTC)

    def as_of(day: date) -> datetime:
        # Booked three days ahead of the slot (enough notice for every
        # resource), or now for later slots: no timestamp lies in the future.
        return min(at(day - timedelta(days=3), "09:00"), real_now)

    def one(
        slug: str,
        who: str,
        day: date,
        start: str,
        end: str,
        purpose: str,
        *,
        by: str | None = None,
        seats: int = 1,
        decide: str | None = None,
    ) -> None:
        nonlocal made
        try:
            reservation = book(
                resource_id=resources[slug],
                member_id=users[who],
                actor_id=users[by or who],
                starts_at=at(day, start),
                ends_at=at(day, end),
                seats=seats,
                purpose=purpose,
                now=as_of(day),
            )
        except BookingError as error:
            report(
                _("booking skipped (%(slug)s, %(day)s): %(error)s", slug=slug, day=day, error=error)
            )
            return
        made += 1
        if decide:
            approve(reservation.id, users[decide], min(as_of(day) + timedelta(hours=2), real_now))

    # KPA Moulins: the weekly cooking workshop, booked by the manager for Amina.
    first_tuesday = _on_weekday(monday, 1)
    result = book_series(
        SeriesRequest(
            resource_id=resources["cuisine-centre-social"],
            member_id=users["amina"],
            actor_id=users["manager.moulins"],
            recurrence=r.Recurrence("weekly", first_tuesday, weekdays=(1,), count=6),
            local_start=time(14, 0),
            local_end=time(17, 0),
            purpose="Atelier cuisine du monde",
        ),
        now=as_of(first_tuesday),
    )
    made += len(result.booked)
    report(_("series created: %(count)d cooking workshops", count=len(result.booked)))

    for week in range(3):
        one(
            "cuisine-centre-social",
            "samir",
            _on_weekday(monday, 3, week),
            "09:00",
            "12:00",
            "Préparation traiteur",
            decide="manager.moulins" if week < 2 else None,
        )
        one(
            "salle-mediation-numerique",
            "samir",
            _on_weekday(monday, 0, week),
            "14:00",
            "16:00",
            "Atelier découverte du smartphone",
        )
        one(
            "salle-mediation-numerique",
            "amina",
            _on_weekday(monday, 2, week),
            "10:00",
            "12:00",
            "Mise en page des menus",
        )
        one(
            "outils-jardinage",
            "samir",
            _on_weekday(monday, 4, week),
            "09:00",
            "12:00",
            "Entretien du jardin partagé",
        )
        # La Cape
        one(
            "decoupeuse-laser",
            "karim",
            _on_weekday(monday, 1, week),
            "10:00",
            "12:00",
            "Découpe de boîtes en contreplaqué",
        )
        one(
            "decoupeuse-laser",
            "karim",
            _on_weekday(monday, 3, week),
            "14:00",
            "16:00",
            "Gravure de plaques",
        )
        one(
            "imprimante-3d",
            "lea",
            _on_weekday(monday, 2, week),
            "10:00",
            "15:00",
            "Prototypes de boutons",
        )
        one(
            "atelier-serigraphie",
            "karim",
            _on_weekday(monday, 4, week),
            "13:00",
            "16:00",
            "Impression de tote bags",
        )
        one(
            "atelier-menuiserie",
            "lea",
            _on_weekday(monday, 5, week),
            "10:00",
            "13:00",
            "Étagère pour Mons Fabrica",
            decide="manager.cape" if week < 2 else None,
        )
        # Illicoop
        for weekday in (0, 2, 3):
            one(
                "coworking-mons-fabrica",
                "lea",
                _on_weekday(monday, weekday, week),
                "09:00",
                "17:00",
                "",
            )
        for weekday in (1, 3):
            one(
                "coworking-mons-fabrica",
                "samir",
                _on_weekday(monday, weekday, week),
                "09:00",
                "12:30",
                "",
            )
        one(
            "salle-reunion-mons-fabrica",
            "samir",
            _on_weekday(monday, 1, week),
            "14:00",
            "15:30",
            "Réunion livraison de courses",
        )
        one(
            "salle-reunion-mons-fabrica",
            "lea",
            _on_weekday(monday, 4, week),
            "10:00",
            "11:00",
            "Point mensuel de la coopérative",
            by="manager.illicoop",
        )

    # Requests still waiting for a manager (and expired when already past).
    from ..services import expire_pending

    expire_pending(datetime.now(UTC))
    report(_("%(count)d bookings created", count=made))
    return made
