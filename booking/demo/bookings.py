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

from ..extensions import db
from ..localtime import to_utc
from ..models import Reservation, Resource, User, Venue
from ..rules import LocalMoment, Recurrence
from ..services import (
    BookingError,
    SeriesRequest,
    approve,
    book,
    book_series,
    expire_pending,
    refuse,
)
from ..services.venues.closures import ClosureRequest, close, preview
from ..services.venues.resources import retire_resource
from .reference import RETIRED_RESOURCE

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
        return to_utc(datetime.combine(day, time.fromisoformat(hhmm)), PARIS)

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
            recurrence=Recurrence("weekly", first_tuesday, weekdays=(1,), count=6),
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

    made += _history_of_the_retired_projector(one, monday, users, resources)
    made += _waiting_and_refused(users, resources, real_now, report)
    _closures(monday, users, real_now)

    # Requests still waiting for a manager (and expired when already past).
    expire_pending(datetime.now(UTC))
    report(_("%(count)d bookings created", count=made))
    return made


def _history_of_the_retired_projector(
    one: Callable[..., None], monday: date, users: dict[str, int], resources: dict[str, int]
) -> int:
    """Bookings of the old projector last week, then its retirement: a retired resource's
    history, as the managers' pages keep it."""
    projector = db.session.get(Resource, resources[RETIRED_RESOURCE])
    if projector is None or projector.is_active:
        return 0
    projector.is_active = True
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(Reservation.id)))
    one(RETIRED_RESOURCE, "samir", _on_weekday(monday, 1), "10:00", "12:00", "Projection du film")
    one(RETIRED_RESOURCE, "amina", _on_weekday(monday, 3), "14:00", "16:00", "Diaporama recettes")
    made = db.session.scalar(sa.select(sa.func.count(Reservation.id))) - before
    retire_resource(
        projector.id,
        users["manager.moulins"],
        "Remplacé par l’écran de la salle de médiation numérique.",
        datetime.now(UTC),
    )
    return made


def _waiting_and_refused(
    users: dict[str, int],
    resources: dict[str, int],
    real_now: datetime,
    report: Callable[[str], None],
) -> int:
    """A series waiting for the kitchen's manager, and a request she refused."""
    # A Monday at least two days ahead: the kitchen wants a day's notice.
    today = real_now.astimezone(PARIS).date()
    next_monday = _on_weekday(today + timedelta(days=2), 0)
    made = 0
    try:
        result = book_series(
            SeriesRequest(
                resource_id=resources["cuisine-centre-social"],
                member_id=users["karim"],
                actor_id=users["karim"],
                recurrence=Recurrence("weekly", next_monday, weekdays=(0,), count=4),
                local_start=time(14, 0),
                local_end=time(17, 0),
                purpose="Cours de pâtisserie orientale",
            ),
            now=real_now,
        )
        made += len(result.booked)
    except BookingError as error:
        report(
            _(
                "booking skipped (%(slug)s, %(day)s): %(error)s",
                slug="cuisine",
                day=next_monday,
                error=error,
            )
        )
    try:
        request = book(
            resource_id=resources["cuisine-centre-social"],
            member_id=users["samir"],
            actor_id=users["samir"],
            starts_at=to_utc(datetime.combine(next_monday + timedelta(days=2), time(9)), PARIS),
            ends_at=to_utc(datetime.combine(next_monday + timedelta(days=2), time(12)), PARIS),
            purpose="Buffet pour une fête de famille",
            now=real_now,
        )
        refuse(
            request.id,
            users["manager.moulins"],
            "La cuisine sert ce jour-là au repas de quartier.",
            real_now,
        )
        made += 1
    except BookingError as error:
        report(
            _(
                "booking skipped (%(slug)s, %(day)s): %(error)s",
                slug="cuisine",
                day=next_monday,
                error=error,
            )
        )
    return made


def _closures(monday: date, users: dict[str, int], real_now: datetime) -> None:
    """The laser's yearly maintenance next week, and Illicoop's general meeting later on."""
    venues = {v.slug: v for v in db.session.scalars(sa.select(Venue))}
    laser = db.session.scalar(sa.select(Resource).where(Resource.slug == "decoupeuse-laser"))
    wednesday = _on_weekday(monday, 2, 2)
    plans = [
        (
            "la-cape",
            laser.id if laser else None,
            LocalMoment(wednesday, time(14)),
            LocalMoment(wednesday, time(18)),
            "Maintenance annuelle de la découpeuse",
            "manager.cape",
        ),
        (
            "illicoop",
            None,
            LocalMoment(_on_weekday(monday, 4, 4), time(0)),
            LocalMoment(_on_weekday(monday, 5, 4), time(0)),
            "Assemblée générale de la coopérative",
            "manager.illicoop",
        ),
    ]
    for slug, resource_id, starts, ends, reason, manager in plans:
        request = ClosureRequest(venues[slug].id, resource_id, starts, ends, reason, True)
        inside = frozenset(
            res.id for res in preview(request, users[manager], real_now).reservations
        )
        close(request, users[manager], real_now, seen_ids=inside, cancel_ids=frozenset())
