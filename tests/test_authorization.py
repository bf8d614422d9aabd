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

from booking.views.access import Access, rule_of

from .support.world import EMAILS, ROLES, World, requests_of, world_fixture  # noqa: F401

pytestmark = pytest.mark.postgres

OK = "ok"  # the page, a redirect elsewhere than the login, or a form's refusal
LOGIN = "login"  # a redirect to the login page

# Manager routes about no venue in particular: any manager sees their own.
UNSCOPED_MANAGER = {"manage.index", "manage.approve_many"}
# Member routes about one of the member's own things: their reservation (which the venue's
# managers and administrators may see too) or their waiting-list entry (theirs alone).
RESERVATION_OF_THE_MEMBER = {
    "reservations.show",
    "reservations.cancel",
    "feeds.reservation",
    "changes.edit",
    "changes.withdraw",
}
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


# Accounts beyond a manager's reach, by what a manager of A may do with each (as the
# URL map's routes about a person ask): nothing, beyond their place at A.
SUBJECTS = ("lonely", "other_admin", "twofold", "admin_at_a")
VENUE_SCOPED = ("manage.",)  # routes about someone's place at venue A (in the address)


def expected_about(endpoint: str, access: Access, role: str, subject: str) -> str | int:
    """What ``role`` gets from a route about the account ``subject``."""
    if role == "visitor":
        return LOGIN
    if access == Access.ADMIN or role == "member":
        return OK if role == "admin" else 403
    if endpoint == "manage.revoke_grant":
        # A's training, withdrawn from whoever holds it (nobody here): A's business.
        return OK if role in ("manager", "admin") else 404
    if endpoint.startswith(VENUE_SCOPED):
        # Their place at A, for A's manager or an administrator, if they have one.
        has_place_at_a = subject in ("twofold", "admin_at_a")
        return OK if role in ("manager", "admin") and has_place_at_a else 404
    return OK if role == "admin" else 404  # the whole account: never a manager's


def _account_state(user_id: int) -> tuple:
    from booking.extensions import db
    from booking.models import User

    db.session.expire_all()
    user = db.session.get(User, user_id)
    roles = sorted((m.venue_id, m.role.value, m.rate.value) for m in user.memberships)
    return (user.email, user.display_name, user.active, user.is_admin, user.password_hash, roles)


@pytest.mark.parametrize("role", ROLES)
def test_no_manager_reaches_an_account_beyond_their_venues(
    app: Flask, client: FlaskClient, auth, world: World, role: str
) -> None:
    """Administrators, accounts with no venue and accounts of two venues: a manager of A
    reads, changes or erases none of them beyond their place at A (an administrator's
    role at A included), whatever the route that names a person."""
    from flask import url_for

    if role != "visitor":
        assert auth.login(EMAILS[role]).status_code == 302
    before = {subject: _account_state(world.ids[subject]) for subject in SUBJECTS}
    routes = sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            if "user_id" in rule.arguments
            for method in sorted(rule.methods & {"GET", "POST"})
        ),
        # Taking someone's place away last, so that the other routes still find it.
        key=lambda item: item[0].endpoint == "manage.remove_person" and item[1] == "POST",
    )
    assert {rule.endpoint for rule, _ in routes} >= {
        "privacy.their_data",
        "privacy.delete_theirs",
        "manage.member",
        "manage.remove_person",
        "admin.account",
    }
    forms = {
        "privacy.delete_theirs": {"confirm": "y"},
        "manage.member": {"role": "member"},
        "manage.remove_person": {"cancel_bookings": ""},
        "manage.member_rate": {"rate": "outside"},
    }
    wrong = []
    for subject in SUBJECTS:
        for rule, method in routes:
            with app.test_request_context():
                values = world.url_values(rule)
                values["user_id"] = world.ids[subject]
                url = url_for(rule.endpoint, **values)
            data = forms.get(rule.endpoint, {}) if method == "POST" else None
            if role == "admin" and method == "POST":
                continue  # administrators may change anyone: not what this test is about
            response = client.open(url, method=method, data=data)
            status = response.status_code
            to_login = status == 302 and "/login" in response.headers.get("Location", "")
            response.close()
            want = expected_about(rule.endpoint, rule_of(app, rule.endpoint), role, subject)
            if want == LOGIN:
                good = to_login
            elif want == OK:
                good = not to_login and status in (200, 302, 422)
            else:
                good = status == want
            if not good:
                wrong.append(f"{method} {url} ({subject}) as {role}: {status}, expected {want}")
    assert wrong == []
    if role != "admin":
        after = {subject: _account_state(world.ids[subject]) for subject in SUBJECTS}
        if role == "manager":
            # Their place at A is the manager's to change, but an administrator's is not.
            twofold_at_a = [r for r in after["twofold"][5] if r[0] == world.ids["venue"]]
            after["twofold"] = (*after["twofold"][:5], before["twofold"][5])
            assert twofold_at_a in ([], [(world.ids["venue"], "member", "outside")])
        assert after == before
