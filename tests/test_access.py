"""Every route declares who may open it, and the declaration holds.

The URL map is walked: a route added without its access rule fails here (and
is refused at run time). Each rule is then tried as a visitor, a member, a
manager and an administrator; the production-hardening matrix builds on this.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from booking.views.access import Access, rule_of

from .conftest import Factory

# What each kind of person gets from a route of each rule, before the view
# looks at what it was asked (a login page, a refusal, or the view itself).
VISITOR = {
    Access.MEMBER: 302,
    Access.MANAGER: 302,
    Access.ADMIN: 302,
}
MEMBER = {Access.MANAGER: 403, Access.ADMIN: 403}
MANAGER = {Access.ADMIN: 403}


def routes(app: Flask) -> list[Rule]:
    # Logging out last, so that it does not end the session of the other requests.
    return sorted(
        app.url_map.iter_rules(), key=lambda rule: (rule.endpoint == "auth.logout", rule.rule)
    )


def test_every_route_declares_its_access_rule(app: Flask) -> None:
    undeclared = [rule.endpoint for rule in routes(app) if rule_of(app, rule.endpoint) is None]
    assert undeclared == []


def test_a_route_without_a_rule_is_refused(app: Flask, client: FlaskClient) -> None:
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    assert client.get("/forgotten").status_code == 403
    assert rule_of(app, "forgotten") is None


@pytest.fixture
def people(make: Factory) -> dict[str, str]:
    venue = make.venue(slug="lieu")
    make.resource(venue, slug="machine")
    return {
        "member": make.user(venue).email,
        "manager": make.manager(venue).email,
        "admin": make.user(is_admin=True).email,
    }


def _url(rule: Rule) -> str:
    # Ids default to 1: the venue, its resource and its first member (the
    # people fixture creates them first).
    values = {"slug": "lieu", "code": "fr", "token": "x" * 32, "reservation_id": "1"}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values.get(m[1], "1"), rule.rule)


@pytest.mark.parametrize("who", ["visitor", "member", "manager", "admin"])
def test_each_rule_holds_for_each_kind_of_person(
    app: Flask, client: FlaskClient, auth, people: dict[str, str], who: str
) -> None:
    if who != "visitor":
        auth.login(people[who])
    expected = {"visitor": VISITOR, "member": MEMBER, "manager": MANAGER, "admin": {}}[who]
    checked = 0
    for rule in routes(app):
        access = rule_of(app, rule.endpoint)
        if rule.endpoint == "static" or access is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method)
            status = response.status_code
            if access in expected:
                assert status == expected[access], (method, rule.rule, status)
                if status == 302:
                    assert "/login" in response.headers["Location"], rule.rule
            else:
                # The view itself answered: never a login page, a refusal or an error.
                assert status not in (401, 403, 500), (method, rule.rule, status)
                if status == 302:
                    assert "/login" not in response.headers["Location"], rule.rule
            checked += 1
    assert checked >= 15
