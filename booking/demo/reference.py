"""The demo venues, resources, trainings and accounts, as the seed document describes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..models import (
    Membership,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Resource,
    ResourceKind,
    Role,
    User,
    Venue,
)

DEMO_PASSWORD = "tiers-lieux-demo"
LASER_QUALIFICATION = "Formation sécurité découpe laser"
KITCHEN_QUALIFICATION = "Hygiène en cuisine collective"
# The demo's old video projector: its bookings are history, it is retired
# once they are made (booking.demo.bookings).
RETIRED_RESOURCE = "ancien-videoprojecteur"

MON, TUE, WED, THU, FRI, SAT = range(6)


def _hours(days: tuple[int, ...], *ranges: tuple[str, str]) -> list[tuple[int, time, time]]:
    return [
        (day, time.fromisoformat(opens), time.fromisoformat(closes))
        for day in days
        for opens, closes in ranges
    ]


@dataclass
class DemoResource:
    slug: str
    name: str
    kind: ResourceKind
    description: str
    rules: dict[str, Any] = field(default_factory=dict)
    own_hours: list[tuple[int, time, time]] = field(default_factory=list)
    training: str | None = None
    retired: bool = False


@dataclass
class DemoVenue:
    slug: str
    name: str
    address: str
    description: str
    hours: list[tuple[int, time, time]]
    resources: list[DemoResource]
    phone: str = ""
    email: str = ""
    # (name, description) of the venue's trainings
    trainings: list[tuple[str, str]] = field(default_factory=list)


VENUES = [
    DemoVenue(
        slug="kpa-moulins",
        name="KPA Moulins",
        address="Maison de quartier de Lille-Moulins, 59000 Lille",
        description=(
            "Coopérative d’habitants hébergée par la Maison de quartier de Lille-Moulins : "
            "cuisine traditionnelle et traiteur, jardinage, médiation numérique."
        ),
        hours=_hours((MON, TUE, WED, THU, FRI), ("09:00", "12:30"), ("13:30", "19:00"))
        + _hours((SAT,), ("09:00", "13:00")),
        resources=[
            DemoResource(
                slug="cuisine-centre-social",
                name="Cuisine du centre social",
                kind=ResourceKind.SPACE,
                description=(
                    "Cuisine professionnelle du centre social, prêtée aux cuisinières de la "
                    "coopérative pour la cuisine traditionnelle et le service traiteur. "
                    "Nettoyage obligatoire après chaque utilisation."
                ),
                rules={
                    "requires_approval": True,
                    "slot_minutes": 30,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 360,
                    "min_notice_minutes": 24 * 60,
                    "horizon_days": 60,
                    "buffer_minutes": 30,
                    "buffer_reason": "le nettoyage de la cuisine",
                    "weekly_quota_minutes": 12 * 60,
                    "show_purpose": True,
                },
            ),
            DemoResource(
                slug="salle-mediation-numerique",
                name="Salle de médiation numérique",
                kind=ResourceKind.SPACE,
                description=(
                    "Salle équipée de six ordinateurs et d’un vidéoprojecteur pour les ateliers "
                    "de découverte du numérique et de PAO."
                ),
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 30,
                    "max_duration_minutes": 240,
                    "min_notice_minutes": 60,
                    "horizon_days": 60,
                    "show_purpose": True,
                },
            ),
            DemoResource(
                slug="outils-jardinage",
                name="Outils de jardinage",
                kind=ResourceKind.EQUIPMENT,
                description=(
                    "Lot d’outils pour les cours et l’entretien des jardins : bêches, "
                    "grelinettes, sécateurs, brouette."
                ),
                rules={
                    # Half-hour steps: the venue closes at 12:30 for lunch.
                    "slot_minutes": 30,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 480,
                    "min_notice_minutes": 0,
                    "horizon_days": 30,
                },
            ),
            DemoResource(
                slug=RETIRED_RESOURCE,
                name="Ancien vidéoprojecteur",
                kind=ResourceKind.EQUIPMENT,
                description="Vidéoprojecteur portable, remplacé par l’écran de la salle.",
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 30,
                    "max_duration_minutes": 240,
                    "min_notice_minutes": 0,
                    "horizon_days": 30,
                },
                retired=True,
            ),
        ],
        phone="03 20 00 00 01",
        email="moulins@example.org",
        trainings=[
            (
                KITCHEN_QUALIFICATION,
                "Règles d’hygiène, chaîne du froid et nettoyage de la cuisine du centre social.",
            )
        ],
    ),
    DemoVenue(
        slug="la-cape",
        name="La Cape — labo140",
        address="La Condition Publique, 14 place du Général Faidherbe, 59100 Roubaix",
        description=(
            "Coopérative de Roubaix installée au labo140, à la Condition Publique : découpe "
            "laser, impression 3D, sérigraphie, menuiserie, création textile."
        ),
        hours=_hours((TUE, WED, THU, FRI), ("10:00", "18:00")) + _hours((SAT,), ("10:00", "17:00")),
        resources=[
            DemoResource(
                slug="decoupeuse-laser",
                name="Découpeuse laser",
                kind=ResourceKind.EQUIPMENT,
                description=(
                    "Découpeuse et graveuse laser CO₂ (bois, carton, acrylique). Réservée aux "
                    "personnes formées à la sécurité. Quinze minutes de refroidissement après "
                    "chaque séance."
                ),
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 30,
                    "max_duration_minutes": 180,
                    "min_notice_minutes": 60,
                    "horizon_days": 30,
                    "buffer_minutes": 15,
                    "buffer_reason": "le refroidissement de la machine",
                    "weekly_quota_minutes": 6 * 60,
                },
                training=LASER_QUALIFICATION,
            ),
            DemoResource(
                slug="imprimante-3d",
                name="Imprimante 3D",
                kind=ResourceKind.EQUIPMENT,
                description="Imprimante 3D à filament (PLA, PETG), plateau de 25 × 21 cm.",
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 30,
                    "max_duration_minutes": 480,
                    "min_notice_minutes": 0,
                    "horizon_days": 30,
                },
            ),
            DemoResource(
                slug="atelier-serigraphie",
                name="Atelier de sérigraphie",
                kind=ResourceKind.SPACE,
                description=(
                    "Table d’impression quatre couleurs, insoleuse et bac de dégravage. "
                    "Trente minutes de nettoyage des écrans après chaque séance."
                ),
                rules={
                    "slot_minutes": 60,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 360,
                    "min_notice_minutes": 12 * 60,
                    "horizon_days": 45,
                    "buffer_minutes": 30,
                    "buffer_reason": "le nettoyage des écrans",
                    "show_purpose": True,
                },
            ),
            DemoResource(
                slug="atelier-menuiserie",
                name="Atelier menuiserie",
                kind=ResourceKind.SPACE,
                description="Établis, scie à format, perceuses et outillage à main.",
                rules={
                    "requires_approval": True,
                    "slot_minutes": 60,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 420,
                    "min_notice_minutes": 24 * 60,
                    "horizon_days": 45,
                },
            ),
            DemoResource(
                slug="atelier-textile",
                name="Atelier textile",
                kind=ResourceKind.SPACE,
                description="Machines à coudre, surjeteuse et table de coupe.",
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 300,
                    "min_notice_minutes": 60,
                    "horizon_days": 45,
                },
                own_hours=_hours((WED, SAT), ("14:00", "18:00")),
            ),
        ],
        phone="03 20 00 00 02",
        email="labo140@example.org",
        trainings=[
            (
                LASER_QUALIFICATION,
                "Consignes de sécurité, réglages et conduite à tenir en cas de départ de feu.",
            )
        ],
    ),
    DemoVenue(
        slug="illicoop",
        name="Illicoop — Mons Fabrica",
        address="Mons Fabrica, 59370 Mons-en-Barœul",
        description=(
            "Coopérative de Mons-en-Barœul installée à Mons Fabrica, tiers-lieu et espace de "
            "co-working au cœur d’un quartier en renouvellement urbain."
        ),
        hours=_hours((MON, TUE, WED, THU, FRI), ("08:30", "19:00")),
        resources=[
            DemoResource(
                slug="coworking-mons-fabrica",
                name="Espace de co-working",
                kind=ResourceKind.SPACE,
                description="Huit postes de travail, wifi, imprimante et café.",
                rules={
                    "capacity": 8,
                    "slot_minutes": 30,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 630,
                    "min_notice_minutes": 0,
                    "horizon_days": 30,
                },
            ),
            DemoResource(
                slug="salle-reunion-mons-fabrica",
                name="Salle de réunion",
                kind=ResourceKind.SPACE,
                description="Salle de douze places avec écran et tableau blanc.",
                rules={
                    "slot_minutes": 30,
                    "min_duration_minutes": 30,
                    "max_duration_minutes": 240,
                    "min_notice_minutes": 2 * 60,
                    "horizon_days": 60,
                    "buffer_minutes": 15,
                    "buffer_reason": "le rangement de la salle",
                },
            ),
        ],
        phone="03 20 00 00 03",
        email="monsfabrica@example.org",
    ),
]

# A training held: its name, taken so many days ago, valid so many days more (None: no expiry).
Held = tuple[str, int, int | None]

# (email, display name, administrator, {venue slug: role}, trainings held)
ACCOUNTS: list[tuple[str, str, bool, dict[str, Role], tuple[Held, ...]]] = [
    ("admin@example.org", "Administratrice du réseau", True, {}, ()),
    ("manager.moulins@example.org", "Nadia Benali", False, {"kpa-moulins": Role.MANAGER}, ()),
    ("manager.cape@example.org", "Thomas Leroy", False, {"la-cape": Role.MANAGER}, ()),
    ("manager.illicoop@example.org", "Claire Dubois", False, {"illicoop": Role.MANAGER}, ()),
    ("amina@example.org", "Amina Haddad", False, {"kpa-moulins": Role.MEMBER}, ()),
    (
        "karim@example.org",
        "Karim Mansouri",
        False,
        {"la-cape": Role.MEMBER, "kpa-moulins": Role.MEMBER},
        # Taken almost a year ago, to renew within the month.
        ((LASER_QUALIFICATION, 345, 20),),
    ),
    (
        "lea@example.org",
        "Léa Martin",
        False,
        {"illicoop": Role.MEMBER, "la-cape": Role.MEMBER},
        (),
    ),
    (
        "samir@example.org",
        "Samir Bouzid",
        False,
        {"illicoop": Role.MEMBER, "kpa-moulins": Role.MEMBER},
        ((KITCHEN_QUALIFICATION, 60, 305),),
    ),
]


def seed_reference_data(
    report: Callable[[str], None] = lambda _: None, today: date | None = None
) -> bool:
    """Create what is missing of the demo venues, resources, trainings and accounts.

    Returns whether anything was created. Existing rows are left as they are,
    so running it again changes nothing.
    """
    today = today or datetime.now(ZoneInfo("Europe/Paris")).date()
    created = False
    venues: dict[str, Venue] = {}
    trainings: dict[str, Qualification] = {}
    for spec in VENUES:
        venue = db.session.scalar(sa.select(Venue).where(Venue.slug == spec.slug))
        if venue is None:
            venue = Venue(
                slug=spec.slug,
                name=spec.name,
                address=spec.address,
                phone=spec.phone,
                email=spec.email,
                description=spec.description,
                timezone="Europe/Paris",
            )
            venue.opening_periods = [
                OpeningPeriod(weekday=d, opens_at=o, closes_at=c) for d, o, c in spec.hours
            ]
            db.session.add(venue)
            report(_("venue created: %(name)s", name=spec.name))
            created = True
        venues[spec.slug] = venue
        for name, description in spec.trainings:
            training = db.session.scalar(
                sa.select(Qualification).where(
                    Qualification.venue_id == venue.id, Qualification.name == name
                )
            )
            if training is None:
                training = Qualification(venue=venue, name=name, description=description)
                db.session.add(training)
                created = True
            trainings[name] = training
        for rspec in spec.resources:
            if db.session.scalar(sa.select(Resource.id).where(Resource.slug == rspec.slug)):
                continue
            resource = Resource(
                venue=venue,
                slug=rspec.slug,
                name=rspec.name,
                kind=rspec.kind,
                description=rspec.description,
                is_active=not rspec.retired,
                **rspec.rules,
            )
            if rspec.training:
                resource.qualification = trainings[rspec.training]
            resource.own_opening_periods = [
                OpeningPeriod(weekday=d, opens_at=o, closes_at=c) for d, o, c in rspec.own_hours
            ]
            db.session.add(resource)
            created = True

    for email, name, is_admin, roles, held in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            continue
        user = User(email=email, display_name=name, is_admin=is_admin, locale="fr")
        user.set_password(DEMO_PASSWORD)
        user.memberships = [
            Membership(venue=venues[slug], role=role) for slug, role in roles.items()
        ]
        user.qualification_grants = [
            QualificationGrant(
                qualification=trainings[training],
                granted_on=today - timedelta(days=ago),
                expires_on=None if valid is None else today + timedelta(days=valid),
            )
            for training, ago, valid in held
        ]
        db.session.add(user)
        report(_("account created: %(email)s", email=email))
        created = True

    db.session.commit()
    return created
