"""The demo venues, resources, trainings and accounts, as the seed document describes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any

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


@dataclass
class DemoVenue:
    slug: str
    name: str
    address: str
    description: str
    hours: list[tuple[int, time, time]]
    resources: list[DemoResource]


VENUES = [
    DemoVenue(
        slug="kpa-moulins",
        name="KPA Moulins",
        address="Maison de quartier de Lille-Moulins, 59000 Lille",
        description=(
            "Coopérative d'habitants hébergée par la Maison de quartier de Lille-Moulins : "
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
                    "weekly_quota_minutes": 12 * 60,
                    "show_purpose": True,
                },
            ),
            DemoResource(
                slug="salle-mediation-numerique",
                name="Salle de médiation numérique",
                kind=ResourceKind.SPACE,
                description=(
                    "Salle équipée de six ordinateurs et d'un vidéoprojecteur pour les ateliers "
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
                    "Lot d'outils pour les cours et l'entretien des jardins : bêches, "
                    "grelinettes, sécateurs, brouette."
                ),
                rules={
                    "slot_minutes": 60,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 480,
                    "min_notice_minutes": 0,
                    "horizon_days": 30,
                },
            ),
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
                    "weekly_quota_minutes": 6 * 60,
                },
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
                    "Table d'impression quatre couleurs, insoleuse et bac de dégravage. "
                    "Trente minutes de nettoyage des écrans après chaque séance."
                ),
                rules={
                    "slot_minutes": 60,
                    "min_duration_minutes": 60,
                    "max_duration_minutes": 360,
                    "min_notice_minutes": 12 * 60,
                    "horizon_days": 45,
                    "buffer_minutes": 30,
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
    ),
    DemoVenue(
        slug="illicoop",
        name="Illicoop — Mons Fabrica",
        address="Mons Fabrica, 59370 Mons-en-Barœul",
        description=(
            "Coopérative de Mons-en-Barœul installée à Mons Fabrica, tiers-lieu et espace de "
            "co-working au cœur d'un quartier en renouvellement urbain."
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
                },
            ),
        ],
    ),
]

# (email, display name, administrator, {venue slug: role}, holds the laser qualification)
ACCOUNTS: list[tuple[str, str, bool, dict[str, Role], bool]] = [
    ("admin@example.org", "Administratrice du réseau", True, {}, False),
    ("manager.moulins@example.org", "Nadia Benali", False, {"kpa-moulins": Role.MANAGER}, False),
    ("manager.cape@example.org", "Thomas Leroy", False, {"la-cape": Role.MANAGER}, False),
    ("manager.illicoop@example.org", "Claire Dubois", False, {"illicoop": Role.MANAGER}, False),
    ("amina@example.org", "Amina Haddad", False, {"kpa-moulins": Role.MEMBER}, False),
    (
        "karim@example.org",
        "Karim Mansouri",
        False,
        {"la-cape": Role.MEMBER, "kpa-moulins": Role.MEMBER},
        True,
    ),
    (
        "lea@example.org",
        "Léa Martin",
        False,
        {"illicoop": Role.MEMBER, "la-cape": Role.MEMBER},
        False,
    ),
    (
        "samir@example.org",
        "Samir Bouzid",
        False,
        {"illicoop": Role.MEMBER, "kpa-moulins": Role.MEMBER},
        False,
    ),
]


def seed_reference_data(report: Callable[[str], None] = lambda _: None) -> bool:
    """Create what is missing of the demo venues, resources and accounts.

    Returns whether anything was created. Existing rows are left as they are,
    so running it again changes nothing.
    """
    created = False
    qualification = db.session.scalar(
        sa.select(Qualification).where(Qualification.name == LASER_QUALIFICATION)
    )
    if qualification is None:
        qualification = Qualification(
            name=LASER_QUALIFICATION,
            description=(
                "Consignes de sécurité, réglages et conduite à tenir en cas de départ de feu."
            ),
        )
        db.session.add(qualification)
        created = True

    venues: dict[str, Venue] = {}
    for spec in VENUES:
        venue = db.session.scalar(sa.select(Venue).where(Venue.slug == spec.slug))
        if venue is None:
            venue = Venue(
                slug=spec.slug,
                name=spec.name,
                address=spec.address,
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
        for rspec in spec.resources:
            if db.session.scalar(sa.select(Resource.id).where(Resource.slug == rspec.slug)):
                continue
            resource = Resource(
                venue=venue,
                slug=rspec.slug,
                name=rspec.name,
                kind=rspec.kind,
                description=rspec.description,
                **rspec.rules,
            )
            if rspec.slug == "decoupeuse-laser":
                resource.qualification = qualification
            resource.own_opening_periods = [
                OpeningPeriod(weekday=d, opens_at=o, closes_at=c) for d, o, c in rspec.own_hours
            ]
            db.session.add(resource)
            created = True

    for email, name, is_admin, roles, laser in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            continue
        user = User(email=email, display_name=name, is_admin=is_admin, locale="fr")
        user.set_password(DEMO_PASSWORD)
        user.memberships = [
            Membership(venue=venues[slug], role=role) for slug, role in roles.items()
        ]
        if laser:
            user.qualification_grants = [QualificationGrant(qualification=qualification)]
        db.session.add(user)
        report(_("account created: %(email)s", email=email))
        created = True

    db.session.commit()
    return created
