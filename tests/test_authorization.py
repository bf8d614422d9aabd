"""The authorization matrix, generated from the URL map: every route, requested as a visitor,
a member, the manager of another venue, the manager of the venue and an administrator, on
SQLite and PostgreSQL, answers what that person may see.

A route's expected answers come from its declared access rule (booking/views/access.py)
and from whose objects it shows; a route added without its rule, or one that shows
another venue's objects to a manager, fails here.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from booking.views.access import Access, rule_of

from .support.world import EMAILS, ROLES, World, world_fixture  # noqa: F401

pytestmark = pytest.mark.postgres

OK = "ok"  # the page, a redirect elsewhere than the login, or a form's refusal
LOGIN = "login"  # a redirect to the login page

# Manager routes about no venue in particular: any manager sees their own.
UNSCOPED_MANAGER = {"manage.index", "manage.approve_many"}
# Member routes about one of the member's own things: their reservation (which the venue's
# managers and administrators may see too) or their waiting-list entry (theirs alone).
RESERVATION_OF_THE_MEMBER = {"reservations.show", "reservations.cancel", "feeds.reservation"}
ENTRY_OF_THE_MEMBER = {"waitlist.book", "waitlist.withdraw"}
# Public links that carry a one-time token: a made-up token is simply not found.
TOKEN_LINKS = {"invitations.accept", "auth.reset_password", "auth.welcome"}


def expected(endpoint: str, access: Access, role: str) -> str | int:
    if access == Access.PUBLIC:
        return 404 if endpoint in TOKEN_LINKS else OK
    if access == Access.SECRET_LINK:
        return OK
    if role == "visitor":
        return LOGIN
    if access == Access.ADMIN:
        return OK if role == "admin" else 403
    if access == Access.MANAGER:
        if role == "member":
            return 403
        if role == "stranger" and endpoint not in UNSCOPED_MANAGER:
            return 404  # another venue's objects do not exist for them
        return OK
    if endpoint in RESERVATION_OF_THE_MEMBER:
        return 404 if role == "stranger" else OK
    if endpoint in ENTRY_OF_THE_MEMBER:
        return OK if role == "member" else 404
    return OK


def requests_of(app: Flask) -> list[tuple[Rule, str]]:
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


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_kind_of_person_as_it_should(
    app: Flask, client: FlaskClient, auth, world: World, role: str
) -> None:
    if role != "visitor":
        assert auth.login(EMAILS[role]).status_code == 302
    wrong = []
    for rule, method in requests_of(app):
        access = rule_of(app, rule.endpoint)
        assert access is not None, f"{rule.endpoint} has no access rule"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **world.url_values(rule))
        data = world.form_values(rule) if method == "POST" else None
        response = client.open(url, method=method, data=data)
        status = response.status_code
        to_login = status == 302 and "/login" in response.headers.get("Location", "")
        response.close()
        want = expected(rule.endpoint, access, role)
        if want == LOGIN:
            good = to_login
        elif want == OK:
            good = not to_login and status in (200, 302, 304, 409, 410, 422)
        else:
            good = status == want
        if not good:
            wrong.append(f"{method} {url} as {role}: {status}, expected {want}")
    assert wrong == []
