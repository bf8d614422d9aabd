"""How long a login lasts: a few idle hours and a day at most without "stay logged in",
a month at most with it, and never again once the account is switched off."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from booking.services.venues.members import set_account_active

from .conftest import PASSWORD, Factory, IsolatedClient, paris

# In UTC: adding days to a Paris time would cross the spring change of the clocks.
LOGIN_AT = paris(2026, 3, 2, 9).astimezone(UTC)


@pytest.fixture
def browser(app: Flask, clock) -> FlaskClient:
    clock.set(LOGIN_AT)
    app.test_client_class = IsolatedClient
    return app.test_client()


def logged_in(browser: FlaskClient) -> bool:
    response = browser.get("/profile")
    return response.status_code == 200


def log_in(browser: FlaskClient, email: str, *, remember: bool) -> None:
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert browser.post("/login", data=data).status_code == 302


def test_without_stay_logged_in_a_session_ends_after_a_few_idle_hours(
    browser: FlaskClient, make: Factory, clock
) -> None:
    """A shared computer at the social centre: whoever sits down later is not let in."""
    user = make.user()
    log_in(browser, user.email, remember=False)
    clock.set(LOGIN_AT + timedelta(hours=3, minutes=50))
    assert logged_in(browser)  # used again before the idle limit: still in
    clock.set(LOGIN_AT + timedelta(hours=7, minutes=30))
    assert logged_in(browser)  # idle 3 h 40 min since its last use
    clock.set(LOGIN_AT + timedelta(hours=11, minutes=40))
    assert not logged_in(browser)  # idle more than 4 hours


def test_without_stay_logged_in_a_session_lasts_a_day_at_most(
    browser: FlaskClient, make: Factory, clock
) -> None:
    user = make.user()
    log_in(browser, user.email, remember=False)
    for hours in range(1, 24):
        clock.set(LOGIN_AT + timedelta(hours=hours))
        assert logged_in(browser), f"out after {hours} hours of use"
    clock.set(LOGIN_AT + timedelta(hours=24, minutes=1))
    assert not logged_in(browser)  # used every hour, yet over after a day


def test_stay_logged_in_lasts_a_month_at_most_even_when_used_every_day(
    browser: FlaskClient, make: Factory, clock
) -> None:
    user = make.user()
    log_in(browser, user.email, remember=True)
    clock.set(LOGIN_AT + timedelta(days=3))
    assert logged_in(browser)  # days without use: remembered
    for day in range(4, 30):
        clock.set(LOGIN_AT + timedelta(days=day))
        assert logged_in(browser), f"out after {day} days"
    clock.set(LOGIN_AT + timedelta(days=30, minutes=1))
    assert not logged_in(browser)
    # Logging in again starts a new month.
    log_in(browser, user.email, remember=True)
    assert logged_in(browser)


def test_switching_an_account_off_ends_its_sessions_for_good(
    app: Flask, browser: FlaskClient, make: Factory, clock
) -> None:
    """Switched back on, the account's old cookies do not work again: its owner logs in."""
    user = make.user()
    admin = make.user(is_admin=True, email="admin@example.org")
    log_in(browser, user.email, remember=True)
    cookies = {cookie.key: cookie.value for cookie in browser._cookies.values()}
    assert logged_in(browser)
    set_account_active(user.id, False, admin.id, LOGIN_AT)
    assert not logged_in(browser)
    set_account_active(user.id, True, admin.id, LOGIN_AT)
    app.test_client_class = IsolatedClient
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    assert not logged_in(thief)
    assert not logged_in(browser)
    log_in(browser, user.email, remember=False)
    assert logged_in(browser)
