"""A year of believable history before the demo fortnight, so that reports mean something.

Residents who come back week after week (the cooking workshop, the co-working
regulars, the laser's trained users), a few newcomers through the year, the
quiet weeks of August, the venue shut between Christmas and New Year, prices
for the kitchen and the machines (with the kitchen's price rising mid-month),
an association that pays the outside rate, trainings granted along the way.
Everything goes through the services with a simulated clock: each booking is
made a few days before its day, requests are answered (or refused, or left to
expire), some bookings are cancelled, exactly as the engine would have seen it.
The dice are seeded: the same history each time, relative to today.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..localtime import to_utc
from ..models import (
    Membership,
    PriceUnit,
    Qualification,
    Rate,
    Reservation,
    Resource,
    Role,
    Status,
    User,
    Venue,
)
from ..rules import LocalMoment
from ..services import BookingError, approve, book, cancel, expire_pending, refuse
from ..services.venues.closures import ClosureRequest, close, preview
from ..services.venues.members import set_rate
from ..services.venues.tariffs import PriceRequest, add_price
from ..services.venues.trainings import grant_training
from .reference import DEMO_PASSWORD, KITCHEN_QUALIFICATION, LASER_QUALIFICATION

PARIS = ZoneInfo("Europe/Paris")
WEEKS = 52
SEED = 2026
MON, TUE, WED, THU, FRI, SAT = range(6)

# (e-mail name, display name, {venue slug: role})
RESIDENTS: list[tuple[str, str, dict[str, Role]]] = [
    ("fatima", "Fatima Zerrouki", {"kpa-moulins": Role.MEMBER}),
    ("yasmina", "Yasmina Belkacem", {"kpa-moulins": Role.MEMBER}),
    ("odile", "Odile Lefebvre", {"kpa-moulins": Role.MEMBER}),
    ("mariam", "Mariam Diallo", {"kpa-moulins": Role.MEMBER}),
    ("christine", "Christine Petit", {"kpa-moulins": Role.MEMBER}),
    ("saveurs", "Association Saveurs partagées", {"kpa-moulins": Role.MEMBER}),
    ("hugo", "Hugo Lambert", {"la-cape": Role.MEMBER}),
    ("ines", "Inès Moreau", {"la-cape": Role.MEMBER}),
    ("baptiste", "Baptiste Roussel", {"la-cape": Role.MEMBER}),
    ("chloe", "Chloé Vasseur", {"la-cape": Role.MEMBER}),
    ("nassim", "Nassim Haddou", {"la-cape": Role.MEMBER}),
    ("julien", "Julien Fontaine", {"illicoop": Role.MEMBER}),
    ("sarah", "Sarah Cohen", {"illicoop": Role.MEMBER}),
    ("mehdi", "Mehdi Amrani", {"illicoop": Role.MEMBER}),
    ("lucie", "Lucie D’Hont", {"illicoop": Role.MEMBER}),
    ("pauline", "Pauline Dupuis", {"illicoop": Role.MEMBER, "kpa-moulins": Role.MEMBER}),
]


@dataclass(frozen=True)
class Habit:
    """Someone who books a resource at a time of the week, more or less often."""

    resource: str
    who: str
    weekday: int
    start: str
    end: str
    purpose: str = ""
    chance: float = 0.85  # of coming in a given week
    seats: int = 1
    first_week: int = 0  # a newcomer starts then
    by: str | None = None  # a manager books for them
    summer: bool = False  # only from March to October


HABITS = [
    # KPA Moulins: the kitchen (requests a manager answers), the digital room, the tools
    Habit(
        "cuisine-centre-social",
        "amina",
        TUE,
        "14:00",
        "17:00",
        "Atelier cuisine du monde",
        0.9,
        by="manager.moulins",
    ),
    Habit("cuisine-centre-social", "fatima", THU, "09:00", "12:00", "Préparation traiteur"),
    Habit(
        "cuisine-centre-social",
        "yasmina",
        WED,
        "14:00",
        "18:00",
        "Cours de cuisine",
        0.5,
        first_week=8,
    ),
    Habit(
        "cuisine-centre-social",
        "mariam",
        FRI,
        "09:00",
        "12:30",
        "Plats à emporter",
        0.6,
        first_week=20,
    ),
    Habit("cuisine-centre-social", "saveurs", SAT, "09:00", "13:00", "Repas solidaire", 0.35),
    Habit(
        "salle-mediation-numerique",
        "samir",
        MON,
        "14:00",
        "16:00",
        "Atelier découverte du smartphone",
        0.9,
    ),
    Habit("salle-mediation-numerique", "odile", WED, "10:00", "12:00", "Démarches en ligne", 0.7),
    Habit(
        "salle-mediation-numerique",
        "christine",
        TUE,
        "09:30",
        "11:30",
        "Cours de bureautique",
        0.6,
        first_week=14,
    ),
    Habit(
        "salle-mediation-numerique",
        "pauline",
        FRI,
        "14:00",
        "17:00",
        "Aide aux devoirs",
        0.5,
        first_week=30,
    ),
    Habit("outils-jardinage", "samir", FRI, "09:00", "12:00", "Jardin partagé", 0.8, summer=True),
    Habit("outils-jardinage", "odile", SAT, "09:00", "12:00", "Potager", 0.6, summer=True),
    # La Cape: the laser (trained people only), the 3D printer, screen printing, wood, textile
    Habit("decoupeuse-laser", "karim", TUE, "10:00", "12:00", "Découpe de boîtes"),
    Habit("decoupeuse-laser", "karim", THU, "14:00", "16:00", "Gravure de plaques", 0.6),
    Habit("decoupeuse-laser", "hugo", WED, "14:00", "17:00", "Maquettes d’architecture", 0.8),
    Habit("decoupeuse-laser", "ines", FRI, "10:00", "12:00", "Bijoux en bois", 0.7, first_week=13),
    Habit("imprimante-3d", "lea", WED, "10:00", "15:00", "Prototypes", 0.7),
    Habit("imprimante-3d", "baptiste", SAT, "10:00", "16:00", "Pièces de vélo", 0.6),
    Habit("imprimante-3d", "chloe", THU, "13:00", "18:00", "Figurines", 0.5, first_week=26),
    Habit("atelier-serigraphie", "karim", FRI, "13:00", "16:00", "Tote bags", 0.7),
    Habit("atelier-serigraphie", "chloe", SAT, "10:00", "13:00", "Affiches", 0.5),
    Habit("atelier-menuiserie", "lea", SAT, "10:00", "13:00", "Mobilier de récupération", 0.6),
    Habit("atelier-menuiserie", "nassim", TUE, "14:00", "17:00", "Étagères", 0.6, first_week=5),
    Habit("atelier-textile", "ines", WED, "14:00", "17:00", "Retouches", 0.6),
    Habit("atelier-textile", "chloe", SAT, "14:00", "18:00", "Costumes", 0.4),
    # Illicoop: the co-working regulars, the meeting room
    *[
        Habit("coworking-mons-fabrica", "lea", day, "09:00", "17:00", chance=0.8)
        for day in (MON, WED, THU)
    ],
    *[
        Habit("coworking-mons-fabrica", "samir", day, "09:00", "12:30", chance=0.7)
        for day in (TUE, THU)
    ],
    *[
        Habit("coworking-mons-fabrica", "julien", day, "09:00", "18:00", chance=0.85)
        for day in (MON, TUE, WED, THU, FRI)
    ],
    *[
        Habit("coworking-mons-fabrica", "sarah", day, "09:00", "17:00", chance=0.75, first_week=10)
        for day in (TUE, THU)
    ],
    *[
        Habit("coworking-mons-fabrica", "mehdi", day, "10:00", "16:00", chance=0.7, first_week=22)
        for day in (MON, WED)
    ],
    Habit(
        "coworking-mons-fabrica", "lucie", FRI, "09:00", "13:00", chance=0.6, seats=2, first_week=35
    ),
    Habit(
        "salle-reunion-mons-fabrica",
        "lea",
        FRI,
        "10:00",
        "11:00",
        "Point mensuel de la coopérative",
        0.9,
        by="manager.illicoop",
    ),
    Habit(
        "salle-reunion-mons-fabrica",
        "samir",
        TUE,
        "14:00",
        "15:30",
        "Réunion livraison de courses",
        0.6,
    ),
    Habit(
        "salle-reunion-mons-fabrica",
        "sarah",
        THU,
        "16:00",
        "18:00",
        "Rendez-vous clients",
        0.5,
        first_week=10,
    ),
]

# (resource, unit, member cents, outside cents); the kitchen's price rises later on.
PRICES = [
    ("cuisine-centre-social", PriceUnit.HOUR, 800, 1500),
    ("decoupeuse-laser", PriceUnit.HOUR, 600, 1200),
    ("imprimante-3d", PriceUnit.BOOKING, 300, 600),
    ("atelier-serigraphie", PriceUnit.HOUR, 400, 800),
    ("atelier-menuiserie", PriceUnit.HOUR, 300, 600),
    ("atelier-textile", PriceUnit.BOOKING, 200, 400),
    ("coworking-mons-fabrica", PriceUnit.BOOKING, 500, 1000),
    ("salle-reunion-mons-fabrica", PriceUnit.HOUR, 0, 1000),
]
KITCHEN_RISE = (PriceUnit.HOUR, 900, 1800)

# Trainings granted along the year: (training, member, week)
GRANTS = [
    (LASER_QUALIFICATION, "hugo", 0),
    (LASER_QUALIFICATION, "ines", 12),
    (LASER_QUALIFICATION, "nassim", 30),
    (KITCHEN_QUALIFICATION, "fatima", 2),
    (KITCHEN_QUALIFICATION, "yasmina", 8),
    (KITCHEN_QUALIFICATION, "mariam", 19),
    (KITCHEN_QUALIFICATION, "odile", 40),
]
MANAGERS = {
    "kpa-moulins": "manager.moulins",
    "la-cape": "manager.cape",
    "illicoop": "manager.illicoop",
}
REFUSAL = "Le créneau sert ce jour-là à une activité du centre."
CANCEL_REASONS = ("Empêchement", "Malade", "Reporté")


def _at(day: date, hhmm: str) -> datetime:
    return to_utc(datetime.combine(day, time.fromisoformat(hhmm)), PARIS)


def _add_residents(venues: dict[str, Venue]) -> None:
    """The residents of the history, all with the demo password (hashed once)."""
    sample = User(email="x@example.org", display_name="x")
    sample.set_password(DEMO_PASSWORD)
    for name, display, roles in RESIDENTS:
        user = User(
            email=f"{name}@example.org",
            display_name=display,
            locale="fr",
            password_hash=sample.password_hash,
        )
        user.memberships = [
            Membership(venue=venues[slug], role=role) for slug, role in roles.items()
        ]
        db.session.add(user)
    db.session.commit()


class _History:
    def __init__(self, first: date, report: Callable[[str], None]) -> None:
        self.first = first
        self.report = report
        self.dice = random.Random(SEED)
        self.users = {u.email.split("@")[0]: u.id for u in db.session.scalars(sa.select(User))}
        # Plain values: objects loaded here would be read again after every commit.
        self.resources = {
            slug: (rid, venue)
            for slug, rid, venue in db.session.execute(
                sa.select(Resource.slug, Resource.id, Venue.slug).join(Venue)
            )
        }
        self.venues = dict(db.session.execute(sa.select(Venue.slug, Venue.id)).tuples().all())
        self.made = 0

    def manager_of(self, slug: str) -> int:
        return self.users[MANAGERS[self.resources[slug][1]]]

    def setup(self) -> None:
        """Prices from the first day, the outside rate, the kitchen's rise mid-month."""
        day_before = _at(self.first - timedelta(days=1), "09:00")
        for slug, unit, member, outside in PRICES:
            add_price(
                self.resources[slug][0],
                PriceRequest(self.first, unit, member, outside),
                self.manager_of(slug),
                day_before,
            )
        set_rate(
            self.venues["kpa-moulins"],
            self.users["saveurs"],
            Rate.OUTSIDE,
            self.users["manager.moulins"],
            day_before,
        )
        # The kitchen's new price from the 15th of the seventh month.
        seventh = self.first + timedelta(weeks=30)
        rise = seventh.replace(day=15)
        unit, member, outside = KITCHEN_RISE
        add_price(
            self.resources["cuisine-centre-social"][0],
            PriceRequest(rise, unit, member, outside),
            self.users["manager.moulins"],
            _at(rise - timedelta(days=20), "10:00"),
        )

    def grant(self, week: int) -> None:
        trainings = {q.name: q.id for q in db.session.scalars(sa.select(Qualification))}
        for name, who, when in GRANTS:
            if when != week:
                continue
            day = self.first + timedelta(weeks=week, days=2)
            venue = "la-cape" if name == LASER_QUALIFICATION else "kpa-moulins"
            grant_training(
                trainings[name],
                self.users[who],
                day,
                day + timedelta(days=730),
                self.users[MANAGERS[venue]],
                _at(day, "18:00"),
            )

    def christmas(self, week: int) -> None:
        """KPA Moulins shuts between Christmas and New Year, decided in early December."""
        monday = self.first + timedelta(weeks=week)
        christmas = date(monday.year, 12, 24)
        if not monday <= christmas - timedelta(days=21) < monday + timedelta(days=7):
            return
        request = ClosureRequest(
            self.venues["kpa-moulins"],
            None,
            LocalMoment(christmas, time(0)),
            LocalMoment(date(christmas.year + 1, 1, 2), time(0)),
            "Fermeture des fêtes de fin d’année",
            True,
        )
        now = _at(monday, "09:00")
        manager = self.users["manager.moulins"]
        seen = frozenset(res.id for res in preview(request, manager, now).reservations)
        close(request, manager, now, seen_ids=seen, cancel_ids=seen)

    def week(self, index: int) -> None:
        monday = self.first + timedelta(weeks=index)
        august = monday.month == 8
        pending: list[tuple[int, str, datetime, datetime]] = []
        for habit in HABITS:
            day = monday + timedelta(days=habit.weekday)
            if index < habit.first_week or (habit.summer and not 3 <= day.month <= 10):
                continue
            chance = habit.chance * (0.35 if august else 1.0)
            if self.dice.random() > chance:
                continue
            ahead = self.dice.randint(2, 9)
            asked = _at(
                day - timedelta(days=ahead),
                f"{self.dice.randint(8, 20):02d}:{self.dice.choice(('05', '20', '40'))}",
            )
            try:
                reservation = book(
                    resource_id=self.resources[habit.resource][0],
                    member_id=self.users[habit.who],
                    actor_id=self.users[habit.by or habit.who],
                    starts_at=_at(day, habit.start),
                    ends_at=_at(day, habit.end),
                    seats=habit.seats,
                    purpose=habit.purpose,
                    now=asked,
                )
            except BookingError:
                continue  # closed that day, or the slot was taken: life
            self.made += 1
            if reservation.status == Status.PENDING:
                pending.append(
                    (reservation.id, habit.resource, reservation.created_at, reservation.starts_at)
                )
            elif self.dice.random() < 0.07:
                cancel(
                    reservation.id,
                    self.users[habit.who],
                    self.dice.choice(CANCEL_REASONS),
                    _at(day - timedelta(days=1), "19:00"),
                )
        self.answer(pending)
        expire_pending(_at(monday + timedelta(days=7), "00:00"))

    def answer(self, pending: list[tuple[int, str, datetime, datetime]]) -> None:
        """Managers answer most requests within a day or so; a few refused, a few forgotten
        (they expire when their day comes)."""
        for reservation_id, slug, asked, starts_at in pending:
            roll = self.dice.random()
            if roll < 0.05:
                continue
            answered = min(
                asked + timedelta(minutes=self.dice.randint(20, 36 * 60)),
                starts_at - timedelta(hours=1),
            )
            if roll < 0.13:
                refuse(reservation_id, self.manager_of(slug), REFUSAL, answered)
            else:
                approve(reservation_id, self.manager_of(slug), answered)


def seed_demo_history(
    report: Callable[[str], None] = lambda _: None, today: date | None = None
) -> int:
    """Book a year of history before the demo fortnight, once. Returns how many were made."""
    today = today or datetime.now(PARIS).date()
    fortnight = today - timedelta(days=today.weekday()) - timedelta(weeks=1)
    first = fortnight - timedelta(weeks=WEEKS)
    if db.session.scalar(
        sa.select(sa.func.count(Reservation.id)).where(
            Reservation.starts_at < _at(fortnight, "00:00")
        )
    ):
        return 0
    venues = {v.slug: v for v in db.session.scalars(sa.select(Venue))}
    if not all(slug in venues for slug in MANAGERS):
        return 0
    if not db.session.scalar(sa.select(User.id).where(User.email == "fatima@example.org")):
        _add_residents(venues)
    history = _History(first, report)
    history.setup()
    for week in range(WEEKS):
        history.grant(week)
        history.christmas(week)
        history.week(week)
        monday = first + timedelta(weeks=week)
        if (monday + timedelta(days=7)).month != monday.month or week == WEEKS - 1:
            report(
                _(
                    "history: %(month)s, %(count)d bookings so far",
                    month=monday.strftime("%Y-%m"),
                    count=history.made,
                )
            )
    expire_pending(datetime.now(UTC))
    return history.made
