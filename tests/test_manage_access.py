"""Every manager and administrator screen, tried as a visitor, a member, the manager of
another venue, the venue's manager and an administrator."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from flask import Flask
from werkzeug.routing import Rule

from booking.extensions import db
from booking.models import Invitation, PriceUnit, Role, SignupRequest
from booking.services import Recurrence, SeriesRequest, book_series
from booking.services.venues.tariffs import PriceRequest, add_price

from .conftest import Factory, book_as, paris
from .support.world import calendar_things_at

NOW = paris(2026, 3, 2, 9, 0)

# Answers that mean "the view refused this person": anything else means it served them.
REFUSED = {"visitor": {302}, "member": {403}, "elsewhere": {403, 404}}


@pytest.fixture
def world(make: Factory, clock) -> dict[str, object]:
    """Venue "a" with something of every kind; venue "b" with a manager of its own."""
    venue = make.venue(slug="a", name="Lieu A")
    training = make.qualification("Sécurité", venue=venue)
    resource = make.resource(venue, slug="machine", requires_approval=True)
    member = make.user(venue, email="membre@example.org")
    make.grant(member, training)
    manager = make.manager(venue, email="gestion@example.org")
    make.manager(make.venue(slug="b"), email="ailleurs@example.org")
    make.user(is_admin=True, email="admin@example.org")
    request = book_as(
        resource, member, starts_at=paris(2026, 3, 4, 10), ends_at=paris(2026, 3, 4, 11), now=NOW
    )
    series = book_series(
        SeriesRequest(
            resource_id=resource.id,
            member_id=member.id,
            actor_id=member.id,
            recurrence=Recurrence("weekly", date(2026, 3, 9), weekdays=(0,), count=2),
            local_start=time(10),
            local_end=time(11),
        ),
        NOW,
    ).series
    closure = make.closure(venue, paris(2026, 4, 1, 0), paris(2026, 4, 2, 0), resource=resource)
    price = add_price(
        resource.id, PriceRequest(date(2026, 4, 1), PriceUnit.HOUR, 800, 1500), manager.id, NOW
    )
    invitation = Invitation(
        venue_id=venue.id,
        email="invitee@example.org",
        display_name="Invitée",
        role=Role.MEMBER,
        nonce="0" * 32,
        invited_by_id=manager.id,
        created_at=NOW,
        sent_at=NOW,
        expires_at=NOW + timedelta(days=14),
    )
    request_to_join = SignupRequest(
        venue_id=venue.id, email="asker@example.org", display_name="Candidate", created_at=NOW
    )
    rule, followed, waiting_file = calendar_things_at(venue, manager, NOW, date(2026, 3, 7))
    db.session.add_all([invitation, request_to_join, rule, followed, waiting_file])
    db.session.commit()
    return {
        "slug": "a",
        "resource_id": resource.id,
        "user_id": member.id,
        "training_id": training.id,
        "closure_id": closure.id,
        "reservation_id": request.id,
        "series_id": series.id,
        "tariff_id": price.id,
        "invitation_id": invitation.id,
        "request_id": request_to_join.id,
        "rule_id": rule.id,
        "calendar_id": followed.id,
        "import_id": waiting_file.id,
        "manager": manager,
    }


def _screens(app: Flask) -> list[Rule]:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith(("manage.", "admin."))]
    # Reading first, then changes; taking a role away and switching an account off last,
    # since the pages after them need the member.
    last = ("manage.remove_person", "admin.account")

    def order(rule: Rule) -> tuple[bool, bool, str]:
        return (
            "POST" in rule.methods and "GET" not in rule.methods,
            rule.endpoint in last,
            rule.rule,
        )

    return sorted(rules, key=order)


def _url(rule: Rule, values: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m[1]]), rule.rule)


@pytest.mark.parametrize("who", ["visitor", "member", "elsewhere", "manager", "admin"])
def test_each_screen_for_each_kind_of_person(
    app: Flask, client, auth, world: dict, who: str
) -> None:
    emails = {
        "member": "membre@example.org",
        "elsewhere": "ailleurs@example.org",
        "manager": "gestion@example.org",
        "admin": "admin@example.org",
    }
    if who in emails:
        auth.login(emails[who])
    tried = 0
    for rule in _screens(app):
        url = _url(rule, world)
        admin_only = rule.endpoint.startswith("admin.")
        for method in ("GET", "POST"):
            if method not in rule.methods:
                continue
            status = client.open(url, method=method, data={}).status_code
            where = (who, method, url, status)
            if who == "visitor":
                assert status == 302, where
            elif who == "member" or (admin_only and who in ("elsewhere", "manager")):
                assert status == 403, where
            elif who == "elsewhere":
                # Their own queue (or, their venue being set up, its checklist), and a bulk
                # decision with nothing ticked, are theirs; everything of venue "a" is
                # hidden from them.
                expected = {200, 302, 422} if url in ("/manage/", "/manage/approve") else {404}
                assert status in expected, where
            else:
                assert status not in (401, 403, 404, 405, 500), where
            tried += 1
    assert tried >= 45


def test_deciding_for_another_venue_is_refused_and_changes_nothing(
    client, auth, world: dict
) -> None:
    from booking.extensions import db
    from booking.models import Reservation, Status

    auth.login("ailleurs@example.org")
    rid, sid = world["reservation_id"], world["series_id"]
    assert client.post(f"/manage/reservations/{rid}/approve").status_code == 404
    assert client.post(f"/manage/series/{sid}/approve").status_code == 404
    assert client.post("/manage/approve", data={"ids": [str(rid)]}).status_code == 404
    assert db.session.get(Reservation, rid).status == Status.PENDING
