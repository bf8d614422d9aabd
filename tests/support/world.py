"""A small network where every kind of object exists, for tests that walk every route.

Venue A ("lieu-a") has a member who owns a pending reservation, a series, a waiting-list
entry, a training and an e-mail; A also has a manager, a closure, an invitation (promised
the training), a request to join, a price to come, a recurring closure, a followed
calendar and a file waiting to be imported. Venue B ("lieu-b") has its own manager and
invitation. An administrator oversees both.
``url_values`` fills every URL argument of the app with A's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask

from booking.extensions import db
from booking.models import (
    CalendarImport,
    ClosureFrequency,
    ClosureRule,
    FollowedCalendar,
    ImportFormat,
    Invitation,
    Membership,
    OutboxMessage,
    PriceUnit,
    PromisedTraining,
    Role,
    SignupRequest,
    User,
    Venue,
    WaitlistEntry,
)
from booking.models.outbox import MessageStatus
from booking.security import tokens
from booking.services import Recurrence, SeriesRequest, book, book_series
from booking.services.venues.tariffs import PriceRequest, add_price

from ..conftest import Factory, paris

# A calendar's export waiting to be imported, as the upload keeps it (its events read).
IMPORT_FILE = (
    '[{"key": "uid:world@example.org:2026-03-20T09:00:00+00:00", "summary": "Atelier", '
    '"location": "Salle", "description": "", "all_day": false, "busy": true, '
    '"starts_at": "2026-03-20T09:00:00+00:00", "ends_at": "2026-03-20T10:00:00+00:00", '
    '"categories": [], "emails": [], "names": []}]'
)


def calendar_things_at(
    venue: Venue, manager: User, now: datetime, day: date
) -> tuple[ClosureRule, FollowedCalendar, CalendarImport]:
    """What calendars bring to a venue: a recurring closure, a calendar followed (at an
    address nobody answers, and loopback is refused anyway), a file waiting to import."""
    return (
        ClosureRule(
            venue_id=venue.id,
            frequency=ClosureFrequency.WEEKLY,
            first_day=day + timedelta(days=3),
            last_day=day + timedelta(days=3),
            start_time=time(8),
            end_time=time(9),
            reason="Ménage",
            expanded_until=day + timedelta(days=760),
            created_at=now,
        ),
        FollowedCalendar(
            venue_id=venue.id,
            label="Agenda du centre social",
            url="http://127.0.0.1:9/agenda.ics",
            created_at=now,
        ),
        CalendarImport(
            venue_id=venue.id,
            created_by_id=manager.id,
            created_at=now,
            filename="agenda.ics",
            format=ImportFormat.ICS,
            content=IMPORT_FILE,
            mapping={},
        ),
    )


ROLES = ("visitor", "member", "stranger", "manager", "admin")
EMAILS = {
    "member": "membre@example.org",
    "stranger": "gestion-b@example.org",
    "manager": "gestion-a@example.org",
    "admin": "admin@example.org",
}


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    others: dict[str, int] = field(default_factory=dict)
    day: date = date(2000, 1, 1)

    def url_values(self, rule: Any) -> dict[str, Any]:
        """Values for a rule's arguments: A's venue or resource, A's objects by id."""
        values: dict[str, Any] = {}
        path = rule.rule
        for name in rule.arguments:
            if name == "slug":
                resource_page = path.startswith(("/resources/", "/feeds/resources/"))
                values[name] = self.slugs["resource" if resource_page else "venue"]
            elif name == "token":
                values[name] = self.tokens["manager" if "/feeds/m/" in path else "member"]
            elif name == "code":
                values[name] = "fr"
            elif name == "filename":
                values[name] = "css/app.css"
            elif name == "user_id":
                values[name] = self.ids["member"]
            else:
                values[name] = self.ids[name.removesuffix("_id")]
        if path.startswith(("/invitations/", "/password/reset/", "/welcome/")):
            values["token"] = "not-a-real-link"
        if rule.endpoint in ("reservations.new", "reservations.new_series", "waitlist.new"):
            values["resource"] = self.slugs["resource"]
        if rule.endpoint.startswith("reports."):
            values["venue"] = self.slugs["venue"]  # what a report is about, in its address
        return values

    def other_values(self, rule: Any) -> dict[str, Any]:
        """Venue B's objects where B has one of the kind: what a prying person would try."""
        values = self.url_values(rule)
        for name in rule.arguments:
            if name == "slug":
                resource_page = rule.rule.startswith(("/resources/", "/feeds/resources/"))
                values[name] = self.slugs["other_resource" if resource_page else "other_venue"]
            elif name.removesuffix("_id") in self.others:
                values[name] = self.others[name.removesuffix("_id")]
        if rule.endpoint.startswith("reports."):
            values["venue"] = self.slugs["other_venue"]
        return values

    def form_values(self, rule: Any) -> dict[str, str]:
        """The fields a POST needs to name its object (the rest left empty)."""
        if rule.endpoint == "waitlist.join":
            return {"resource": self.slugs["resource"]}
        return {}


def requests_of(app: Flask) -> list[tuple[Any, str]]:
    """Every route and method: GETs first, then the POST-only actions (which change
    things), logging out last."""
    found = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else "POST"
        found.append((rule, method))
    return sorted(
        found, key=lambda item: (item[0].endpoint == "auth.logout", item[1], item[0].rule)
    )


def build_world(make: Any, now: datetime) -> World:
    world = World()
    venue = make.venue(slug="lieu-a", name="Lieu A")
    other = make.venue(slug="lieu-b", name="Lieu B")
    training = make.qualification("Sécurité", venue)
    room = make.resource(venue, slug="salle-a", requires_approval=True)
    other_room = make.resource(other, slug="salle-b")
    member = make.user(venue, email=EMAILS["member"], display_name="Membre A")
    manager = make.manager(venue, email=EMAILS["manager"], display_name="Gestion A")
    stranger = make.manager(other, email=EMAILS["stranger"], display_name="Gestion B")
    admin = make.user(is_admin=True, email=EMAILS["admin"], display_name="Admin")
    other_member = make.user(other, email="membre-b@example.org", display_name="Membre B")
    # Accounts a manager of A must not reach beyond their place at A: one with no venue,
    # another administrator, one with roles at A and B, an administrator with a role at A.
    lonely = make.user(email="seule@example.org", display_name="Sans lieu")
    other_admin = make.user(is_admin=True, email="admin2@example.org", display_name="Admin 2")
    twofold = make.user(venue, email="deux-lieux@example.org", display_name="Deux lieux")
    db.session.add(Membership(user_id=twofold.id, venue_id=other.id, role=Role.MEMBER))
    admin_at_a = make.user(
        venue, is_admin=True, email="admin-a@example.org", display_name="Admin membre A"
    )
    make.grant(member, training)
    day = (now + timedelta(days=7)).date()
    start = datetime.combine(day, time(10), tzinfo=now.tzinfo)
    reservation = book(
        resource_id=room.id,
        member_id=member.id,
        actor_id=member.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        now=now,
        purpose="Atelier",
    )
    series = book_series(
        SeriesRequest(
            resource_id=room.id,
            member_id=member.id,
            actor_id=member.id,
            recurrence=Recurrence("weekly", day + timedelta(days=1), count=3),
            local_start=time(14),
            local_end=time(15),
        ),
        now,
    ).series
    other_reservation = book(
        resource_id=other_room.id,
        member_id=other_member.id,
        actor_id=other_member.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        now=now,
    )
    closure = make.closure(venue, start + timedelta(days=20), start + timedelta(days=21))
    # A price that starts later (so that it may still be withdrawn), and one at B.
    tariff = add_price(room.id, PriceRequest(day, PriceUnit.HOUR, 800, 1500), manager.id, now)
    other_tariff = add_price(
        other_room.id, PriceRequest(day, PriceUnit.BOOKING, 500, 900), stranger.id, now
    )
    invitation = Invitation(
        venue_id=venue.id,
        email="invitee@example.org",
        display_name="Invitée",
        role=Role.MEMBER,
        nonce="0" * 32,
        invited_by_id=manager.id,
        created_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=14),
    )
    other_invitation = Invitation(
        venue_id=other.id,
        email="invitee-b@example.org",
        display_name="Invitée B",
        role=Role.MEMBER,
        nonce="1" * 32,
        invited_by_id=stranger.id,
        created_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=14),
    )
    request = SignupRequest(
        venue_id=venue.id, email="asker@example.org", display_name="Candidate", created_at=now
    )
    entry = WaitlistEntry(
        user_id=member.id,
        resource_id=room.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        created_at=now,
    )
    message = OutboxMessage(
        kind="accepted",
        recipient_id=member.id,
        to_address=member.email,
        status=MessageStatus.FAILED,
        created_at=now,
        payload={},
        rendered="Subject: Réservation acceptée\r\n\r\nBonjour\r\n",
    )
    # What calendars bring, at A and at B.
    calendar_things = {}
    for place, who in ((venue, manager), (other, stranger)):
        calendar_things[place.id] = calendar_things_at(place, who, now, day)
        db.session.add_all(calendar_things[place.id])
    db.session.add_all([invitation, other_invitation, request, entry, message])
    db.session.flush()
    db.session.add(
        PromisedTraining(
            invitation_id=invitation.id,
            qualification_id=training.id,
            granted_on=day - timedelta(days=30),
            promised_by_id=manager.id,
            promised_at=now,
        )
    )
    db.session.commit()
    world.tokens = {
        "member": tokens.make_token(member, tokens.MEMBER),
        "manager": tokens.make_token(manager, tokens.MANAGER),
    }
    # Every account's links as the pages that show them record them (the profile, My
    # bookings): a page refused later then changes nothing, whichever it shows first.
    for person in (member, manager, stranger, admin):
        tokens.make_token(person, tokens.MEMBER)
    for person in (manager, stranger, admin):
        tokens.make_token(person, tokens.MANAGER)
    db.session.commit()
    world.ids = {
        "venue": venue.id,
        "reservation": reservation.id,
        "series": series.id,
        "closure": closure.id,
        "invitation": invitation.id,
        "request": request.id,
        "entry": entry.id,
        "message": message.id,
        "resource": room.id,
        "training": training.id,
        "tariff": tariff.id,
        "member": member.id,
        "manager": manager.id,
        "stranger": stranger.id,
        "admin": admin.id,
        "lonely": lonely.id,
        "other_admin": other_admin.id,
        "twofold": twofold.id,
        "admin_at_a": admin_at_a.id,
        "rule": calendar_things[venue.id][0].id,
        "calendar": calendar_things[venue.id][1].id,
        "import": calendar_things[venue.id][2].id,
    }
    world.slugs = {
        "venue": venue.slug,
        "resource": room.slug,
        "other_venue": other.slug,
        "other_resource": other_room.slug,
    }
    world.others = {
        "venue": other.id,
        "resource": other_room.id,
        "reservation": other_reservation.id,
        "tariff": other_tariff.id,
        "invitation": other_invitation.id,
        "member": other_member.id,
        "user": other_member.id,
        "rule": calendar_things[other.id][0].id,
        "calendar": calendar_things[other.id][1].id,
        "import": calendar_things[other.id][2].id,
    }
    world.day = day
    return world


# The fixture of the tests that walk every route; a test module imports it (as
# ``world_fixture``) to use it, and marks itself ``postgres`` to walk both databases.


@pytest.fixture(name="world")
def world_fixture(app: Flask, make: Factory, clock) -> Iterator[World]:
    clock.set(paris(2026, 3, 2, 9))
    yield build_world(make, clock.now)
