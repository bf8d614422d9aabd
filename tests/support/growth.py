"""A network grown to the size the product plans for, in a few bulk inserts (seconds).

Venues in several towns, each with its opening hours (a lunch break), trainings and ten
resources of either kind, some needing approval or a training, a third with hours of
their own. No reservations: the pages that list venues must not depend on them.
"""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from booking.extensions import db
from booking.models import OpeningPeriod, Qualification, Resource, ResourceKind, Venue

TOWNS = ("Lille", "Roubaix", "Tourcoing", "Dunkerque", "Arras", "Poitiers", "Lens", "Calais")
RESOURCES_PER_VENUE = 10


def town_of(n: int) -> str:
    return TOWNS[n % len(TOWNS)]


def grow_network(venues: int, first: int = 0) -> list[int]:
    """Add ``venues`` venues numbered from ``first`` ("Tiers-lieu 0042", slug ``lieu-42``),
    with everything above; returns their ids."""
    numbers = range(first, first + venues)
    db.session.execute(
        sa.insert(Venue),
        [
            {
                "slug": f"lieu-{n}",
                "name": f"Tiers-lieu {n:04d}",
                "address": f"{n} rue de la Coopération, {town_of(n)}",
                "phone": "03 20 00 00 00",
                "email": f"lieu{n}@example.org",
                "description": "Un tiers-lieu du réseau.",
                "timezone": "Europe/Paris",
                "is_active": True,
            }
            for n in numbers
        ],
    )
    slugs = [f"lieu-{n}" for n in numbers]
    ids = dict(
        db.session.execute(sa.select(Venue.slug, Venue.id).where(Venue.slug.in_(slugs))).all()
    )
    venue_ids = [ids[slug] for slug in slugs]
    db.session.execute(
        sa.insert(Qualification),
        [
            {"venue_id": v, "name": f"Formation {k}", "description": ""}
            for v in venue_ids
            for k in (1, 2)
        ],
    )
    trainings: dict[int, list[int]] = {}
    for venue_id, training_id in db.session.execute(
        sa.select(Qualification.venue_id, Qualification.id).where(
            Qualification.venue_id.in_(venue_ids)
        )
    ):
        trainings.setdefault(venue_id, []).append(training_id)
    db.session.execute(
        sa.insert(OpeningPeriod),
        [
            {"venue_id": v, "weekday": d, "opens_at": opens, "closes_at": closes}
            for v in venue_ids
            for d in range(6)
            for opens, closes in ((time(9), time(12, 30)), (time(13, 30), time(19)))
        ],
    )
    db.session.execute(
        sa.insert(Resource),
        [
            {
                "venue_id": v,
                "slug": f"lieu-{n}-ressource-{k}",
                "name": f"Ressource {k} du lieu {n}",
                "kind": ResourceKind.EQUIPMENT if k % 2 else ResourceKind.SPACE,
                "description": "Une machine ou un espace partagé.",
                "capacity": 1 if k % 3 else 4,
                "requires_approval": k % 4 == 0,
                "qualification_id": trainings[v][k % 2] if k % 5 == 1 else None,
                "is_active": True,
            }
            for n, v in zip(numbers, venue_ids, strict=True)
            for k in range(RESOURCES_PER_VENUE)
        ],
    )
    own_hours = db.session.scalars(
        sa.select(Resource.id).where(Resource.venue_id.in_(venue_ids)).order_by(Resource.id)
    ).all()[::3]
    db.session.execute(
        sa.insert(OpeningPeriod),
        [
            {"resource_id": r, "weekday": d, "opens_at": time(10), "closes_at": time(18)}
            for r in own_hours
            for d in range(5)
        ],
    )
    db.session.commit()
    return venue_ids
