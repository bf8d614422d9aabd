"""Two cooperatives for the tests of finding a free slot, built with the factories.

Illicoop (Mons Fabrica): a co-working space for 8 and a meeting room; Samir and
Léa are members, Claire manages it. La Cape (labo140): a laser cutter that needs
a training and a 3D printer; Thomas manages it, Léa is a member without the
training. Plus an administrator. Both open on weekdays, 8:30 to 19:00.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from booking.extensions import db
from booking.models import Membership, ResourceKind, Role

WEEKDAYS = [(d, time(8, 30), time(19)) for d in range(5)]


def two_cooperatives(make: Any) -> dict[str, Any]:
    illicoop = make.venue(slug="illicoop", name="Illicoop — Mons Fabrica", hours=WEEKDAYS)
    cape = make.venue(slug="la-cape", name="La Cape — labo140", hours=WEEKDAYS)
    training = make.qualification()
    found = {
        "illicoop": illicoop,
        "cape": cape,
        "training": training,
        "cowork": make.resource(
            illicoop,
            slug="coworking",
            name="Espace de co-working",
            kind=ResourceKind.SPACE,
            capacity=8,
            min_duration_minutes=60,
            max_duration_minutes=630,
        ),
        "room": make.resource(
            illicoop,
            slug="reunion",
            name="Salle de réunion",
            buffer_minutes=15,
            min_notice_minutes=120,
        ),
        "laser": make.resource(
            cape,
            slug="laser",
            name="Découpeuse laser",
            qualification_id=training.id,
            buffer_minutes=15,
        ),
        "printer": make.resource(cape, slug="imprimante", name="Imprimante 3D"),
        "samir": make.user(illicoop, email="samir@example.org", display_name="Samir Bouzid"),
        "lea": make.user(illicoop, email="lea@example.org", display_name="Léa Martin"),
        "claire": make.manager(illicoop, email="claire@example.org", display_name="Claire Dubois"),
        "thomas": make.manager(cape, email="thomas@example.org", display_name="Thomas Leroy"),
        "admin": make.user(email="admin@example.org", is_admin=True),
    }
    db.session.add(Membership(user_id=found["lea"].id, venue_id=cape.id, role=Role.MEMBER))
    db.session.commit()
    return found
