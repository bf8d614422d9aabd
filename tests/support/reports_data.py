"""A hand-built month whose every figure is known in advance, for the reports and statements.

The venue is open every day from 8:00 to 20:00 (12 hours), in Paris. October
2026 is reported, September 2026 is the period before.

Oven (exclusive, requests need approval; 10 €/h members, 20 €/h outside from
1 September, 12 €/h and 24 €/h from 15 October):

====  =====================================  ======  ====================================
id    when (local)                           who     what
====  =====================================  ======  ====================================
a1    Fri 9 Oct 22:00 – Sat 10 Oct 01:00     Alice   across midnight, by a manager (3 h)
a2    Sat 31 Oct 22:00 – Sun 1 Nov 02:00     Alice   across the month's end: 2 h in October
b     Sun 25 Oct 00:00 – 04:00               Bob     across the autumn change: 5 real hours
c     Mon 5 Oct 10:00 – 12:00                Alice   by a manager
d     Tue 6 Oct 10:00 – 12:00                Alice   cancelled
e     Wed 7 Oct 10:00 – 11:00                Carol   requested 2 Oct 9:00, refused 9:30
f     Thu 8 Oct 14:00 – 15:00                Bob     requested, never answered: expired
g     Wed 14 Oct 9:00 – 10:30                Alice   requested 1 Oct 9:00, accepted 11:00
k     Thu 10 Sep 10:00 – 14:00               Alice   September
l     Tue 22 Sep 10:00 – 11:00               Carol   requested 19 Sep 10:00, accepted 16:00
n     Fri 11 Sep 10:00 – 11:00               Alice   September, cancelled
====  =====================================  ======  ====================================

Co-working (4 seats; 5 € a seat per booking, 8 € outside): h Tue 20 Oct 9–17
Alice 2 seats; i Tue 20 Oct 9–13 Carol 1 seat; j Wed 21 Oct 10–12 Bob 3 seats;
m Tue 15 Sep 9–12 Carol 1 seat.

The venue is closed all of Monday 12 October. Bob pays the outside rate.
Trainings: Alice's on 3 October, Bob's on 5 September.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from booking.extensions import db
from booking.models import PriceUnit, Rate, Resource, ResourceKind
from booking.services import approve, book, cancel, expire_pending, refuse
from booking.services.venues.members import set_rate
from booking.services.venues.tariffs import PriceRequest, add_price
from booking.services.venues.trainings import grant_training

PARIS = ZoneInfo("Europe/Paris")
OCTOBER = (2026, 10)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@dataclass
class Month:
    venue: int
    oven: int
    desks: int
    alice: int
    bob: int
    carol: int
    manager: int


def build(make) -> Month:  # type: ignore[no-untyped-def]
    venue = make.venue(slug="atelier", name="Atelier de test")  # open 8:00–20:00 every day
    oven = make.resource(venue, slug="four", name="Four", requires_approval=True)
    desks = make.resource(
        venue, slug="postes", name="Postes de travail", capacity=4, kind=ResourceKind.SPACE
    )
    alice = make.user(venue, display_name="Alice Martin", email="alice@example.org").id
    bob = make.user(venue, display_name="Bob Durand", email="bob@example.org").id
    carol = make.user(venue, display_name="Carol Petit", email="carol@example.org").id
    manager = make.manager(venue, email="gerante@example.org").id
    training = make.qualification("Hygiène", venue=venue)
    month = Month(venue.id, oven.id, desks.id, alice, bob, carol, manager)
    before = paris(2026, 8, 30, 9)

    add_price(oven.id, PriceRequest(date(2026, 9, 1), PriceUnit.HOUR, 1000, 2000), manager, before)
    add_price(
        oven.id,
        PriceRequest(date(2026, 10, 15), PriceUnit.HOUR, 1200, 2400),
        manager,
        paris(2026, 10, 10, 9),
    )
    add_price(
        desks.id, PriceRequest(date(2026, 9, 1), PriceUnit.BOOKING, 500, 800), manager, before
    )
    set_rate(venue.id, bob, Rate.OUTSIDE, manager, before)
    grant_training(training.id, bob, date(2026, 9, 5), None, manager, paris(2026, 9, 5, 18))
    grant_training(training.id, alice, date(2026, 10, 3), None, manager, paris(2026, 10, 3, 18))
    make.closure(venue, paris(2026, 10, 12, 0), paris(2026, 10, 13, 0), "Inventaire")

    def booked(resource: Resource, who: int, start: datetime, end: datetime, **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("now", before)
        return book(
            resource_id=resource.id,
            member_id=who,
            actor_id=kw.pop("by", who),
            starts_at=start,
            ends_at=end,
            **kw,
        )

    hours = frozenset({"hours"})
    # September
    booked(oven, alice, paris(2026, 9, 10, 10), paris(2026, 9, 10, 14), by=manager)
    n = booked(oven, alice, paris(2026, 9, 11, 10), paris(2026, 9, 11, 11), by=manager)
    cancel(n.id, alice, "", paris(2026, 9, 5, 9))
    asked_l = paris(2026, 9, 19, 10)
    l_ = booked(oven, carol, paris(2026, 9, 22, 10), paris(2026, 9, 22, 11), now=asked_l)
    approve(l_.id, manager, paris(2026, 9, 19, 16))
    booked(desks, carol, paris(2026, 9, 15, 9), paris(2026, 9, 15, 12))
    # October
    booked(oven, alice, paris(2026, 10, 9, 22), paris(2026, 10, 10, 1), by=manager, overrides=hours)
    booked(oven, alice, paris(2026, 10, 31, 22), paris(2026, 11, 1, 2), by=manager, overrides=hours)
    booked(oven, bob, paris(2026, 10, 25, 0), paris(2026, 10, 25, 4), by=manager, overrides=hours)
    booked(oven, alice, paris(2026, 10, 5, 10), paris(2026, 10, 5, 12), by=manager)
    d = booked(oven, alice, paris(2026, 10, 6, 10), paris(2026, 10, 6, 12), by=manager)
    cancel(d.id, alice, "", paris(2026, 10, 2, 8))
    e = booked(
        oven, carol, paris(2026, 10, 7, 10), paris(2026, 10, 7, 11), now=paris(2026, 10, 2, 9)
    )
    refuse(e.id, manager, "Le four est en révision.", paris(2026, 10, 2, 9, 30))
    booked(oven, bob, paris(2026, 10, 8, 14), paris(2026, 10, 8, 15), now=paris(2026, 10, 1, 8))
    g = booked(
        oven, alice, paris(2026, 10, 14, 9), paris(2026, 10, 14, 10, 30), now=paris(2026, 10, 1, 9)
    )
    approve(g.id, manager, paris(2026, 10, 1, 11))
    booked(desks, alice, paris(2026, 10, 20, 9), paris(2026, 10, 20, 17), seats=2)
    booked(desks, carol, paris(2026, 10, 20, 9), paris(2026, 10, 20, 13))
    booked(desks, bob, paris(2026, 10, 21, 10), paris(2026, 10, 21, 12), seats=3)
    expire_pending(paris(2026, 10, 9, 0))
    db.session.remove()
    return month


# What October reads, worked out by hand (minutes, seat-minutes, cents).
OVEN_BOOKED = 180 + 120 + 300 + 120 + 90  # a1, a2 (its October part), b, c, g
DESKS_BOOKED = 2 * 480 + 240 + 3 * 120  # h, i, j
OPEN_DAY = 12 * 60
OVEN_OPEN = (31 * OPEN_DAY) - OPEN_DAY  # the closed Monday
SEPTEMBER_OVEN_BOOKED = 240 + 60  # k, l
SEPTEMBER_DESKS_BOOKED = 180  # m
SEPTEMBER_OPEN = 30 * OPEN_DAY
