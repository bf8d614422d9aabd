"""Finding and booking a free slot in Chromium, on a 390 px phone and a 1280 px desktop:
the people of the demo cooperatives, with and without JavaScript, checked by axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Reservation, Resource, Status, User
from booking.services import book

from .conftest import paris
from .support.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    chromium,  # noqa: F401  (the browser fixture)
)
from .support.live_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Waits are locator assertions: they retry in Python. wait_for_function evaluates a
# string in the page, which the site's Content-Security-Policy refuses (no unsafe-eval).

MONDAY = paris(2026, 3, 2, 9)  # tomorrow is Tuesday 3 March: Illicoop is open
PASSWORD = "tiers-lieux-demo"
SIZES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture
def base_url(app, runner, clock) -> Iterator[str]:
    clock.set(MONDAY)
    result = runner.invoke(args=["seed-demo", "--no-bookings"])
    assert result.exit_code == 0, result.output
    url, stop = serve(app)
    yield url
    stop()


def ids() -> tuple[dict[str, int], dict[str, int]]:
    people = {u.email.split("@")[0]: u.id for u in db.session.scalars(sa.select(User))}
    things = {r.slug: r.id for r in db.session.scalars(sa.select(Resource))}
    return people, things


class Taps:
    """A page whose clicks are counted, as a person's taps on a phone."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.count = 0

    def tap(self, locator) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        locator.click()


def open_page(browser, size: str, javascript: bool = True):  # type: ignore[no-untyped-def]
    # A French browser, as the venues' members use: an English one gets English pages.
    context = browser.new_context(
        viewport=SIZES[size], java_script_enabled=javascript, locale="fr-FR"
    )
    return context, context.new_page()


def log_in(page, base_url: str, email: str, then: str = "/") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login?next={quote(then, safe='')}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(base_url + then)


def fits(page, size: str) -> bool:  # type: ignore[no-untyped-def]
    page.wait_for_load_state()  # the style sheets too, after a click
    return page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_samir_finds_a_coworking_seat_for_tomorrow_afternoon_and_books_it(browser, base_url, size):
    context, page = open_page(browser, size)
    log_in(page, base_url, "samir@example.org")
    taps = Taps(page)
    page.evaluate("window.sameDocument = true")
    # From the home page: what, when, which part of the day, then search.
    page.fill("#q", "co-working")
    taps.tap(page.get_by_label("Demain"))
    taps.tap(page.get_by_label("L’après-midi"))
    taps.tap(page.get_by_role("button", name="Trouver un créneau libre"))
    expect(page.locator(".found").first).to_be_visible()
    assert "when=tomorrow" in page.url
    results = page.locator("#search-results")
    assert "mardi 3 mars 2026" in results.inner_text()
    assert "8 places libres sur 8" in results.inner_text()
    assert fits(page, size)
    assert axe_violations(page) == []
    # The first free slot opens the form filled in: one more tap books it.
    taps.tap(page.locator(".found a.button-primary").first)
    expect(page).to_have_url(re.compile(r".*/reservations/new\?.*"))
    assert page.input_value("#day") == "2026-03-03"
    assert page.input_value("#start") == "12:00" and page.input_value("#end") == "13:00"
    assert axe_violations(page) == []
    taps.tap(page.locator("#your-slot").get_by_role("button", name="Réserver", exact=True))
    expect(page).to_have_url(re.compile(r".*/reservations/\d+(#.*)?$"))
    assert "C’est réservé" in page.locator("[role=status]").first.inner_text()
    assert "Confirmée" in page.locator("main").inner_text()
    assert taps.count < 10
    booked = db.session.scalar(sa.select(Reservation))
    assert booked.status == Status.CONFIRMED
    assert booked.starts_at == paris(2026, 3, 3, 12).astimezone(UTC)
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_amina_taps_a_free_time_of_the_kitchen_books_it_then_cancels_it(browser, base_url, size):
    context, page = open_page(browser, size)
    log_in(page, base_url, "amina@example.org", then="/resources/cuisine-centre-social")
    assert axe_violations(page) == []
    # The kitchen asks for a day's notice: from 9:00 on Monday, Tuesday's morning first.
    free = page.locator("#resource-week a.plan-pick").first
    assert "mardi 3 mars" in free.inner_text() and "09:00–12:30" in free.inner_text()
    free.click()
    expect(page).to_have_url(re.compile(r".*/reservations/new\?.*"))
    assert page.input_value("#day") == "2026-03-03"
    assert page.input_value("#start") == "09:00" and page.input_value("#end") == "12:30"
    assert fits(page, size)
    page.fill("#purpose", "Couscous pour la fête de quartier")
    page.get_by_role("button", name="Envoyer la demande").last.click()
    expect(page).to_have_url(re.compile(r".*/reservations/\d+(#.*)?$"))
    assert "En attente de validation" in page.locator("main").inner_text()
    # Cancelling takes two steps: the first one says what will be cancelled.
    page.get_by_role("link", name="Retirer…").click()
    expect(page).to_have_url(re.compile(r".*/cancel(#.*)?$"))
    summary = page.locator("main").inner_text()
    assert "Vous allez retirer cette demande" in summary
    assert "Cuisine du centre social" in summary and "3 mars 2026, 09:00" in summary
    assert axe_violations(page) == []
    assert fits(page, size)
    page.get_by_role("button", name="Oui, retirer la demande").click()
    expect(page).to_have_url(re.compile(r".*/reservations/\d+(#.*)?$"))
    assert "Annulée" in page.locator("main").inner_text()
    page.goto(base_url + "/reservations")
    coming = page.locator("section", has=page.locator("#upcoming-title"))
    assert "Cuisine du centre social" not in coming.inner_text()
    assert "Cuisine du centre social" in page.locator("main").inner_text()  # listed as cancelled
    assert axe_violations(page) == []
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_lea_is_told_whom_to_ask_for_the_laser_training(browser, base_url, size):
    context, page = open_page(browser, size)
    log_in(page, base_url, "lea@example.org", then="/search?q=laser&when=week")
    notes = page.locator(".notes").inner_text()
    assert "Formation sécurité découpe laser" in notes and "Thomas Leroy" in notes
    assert page.locator(".found.is-blocked").count() > 0
    assert page.locator(".found a.button-primary").count() == 0
    assert axe_violations(page) == []
    page.goto(base_url + "/reservations/new?resource=decoupeuse-laser")
    blocked = page.locator(".blocked").inner_text()
    assert "Thomas Leroy" in blocked and "manager.cape@example.org" in blocked
    assert page.locator("#start").count() == 0  # no field that cannot succeed
    assert fits(page, size)
    assert axe_violations(page) == []
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_seats_left_match_a_hand_counted_busy_morning(browser, base_url, size):
    people, things = ids()
    for who, start, end, seats in [
        ("samir", (9, 0), (12, 0), 2),
        ("lea", (10, 0), (11, 0), 3),
        ("manager.illicoop", (11, 30), (13, 0), 1),
    ]:
        book(
            resource_id=things["coworking-mons-fabrica"],
            member_id=people[who],
            actor_id=people[who],
            starts_at=paris(2026, 3, 3, *start),
            ends_at=paris(2026, 3, 3, *end),
            seats=seats,
            now=MONDAY,
        )
    context, page = open_page(browser, size)
    page.goto(base_url + "/venues/illicoop/week")
    tuesday = page.locator("#week-coworking-mons-fabrica .plan-day", has_text="mardi 3 mars")
    lines = [" ".join(line.inner_text().split()) for line in tuesday.locator(".plan-line").all()]
    # 2 seats from 9:00 to 12:00, 3 more from 10:00 to 11:00, 1 from 11:30 to 13:00: five
    # at the busiest moment, so three of the eight are free from 9:00 to 13:00.
    assert any("09:00–13:00 3 places libres sur 8" in line for line in lines), lines
    assert any("08:30–09:00 8 places libres sur 8" in line for line in lines), lines
    assert fits(page, size)
    assert axe_violations(page) == []
    context.close()


def test_without_javascript_every_step_works(browser, base_url):
    context, page = open_page(browser, "phone", javascript=False)
    log_in(page, base_url, "samir@example.org", then="/search")
    page.fill("#q", "co-working")
    page.get_by_label("Demain").check()
    page.get_by_label("L’après-midi").check()
    page.get_by_role("button", name="Trouver un créneau libre").click()
    expect(page.locator(".found").first).to_be_visible()
    page.locator(".found a.button-primary").nth(2).click()
    expect(page).to_have_url(re.compile(r".*/reservations/new\?.*"))
    page.fill("#purpose", "Dossier de subvention")
    # Another week, then a free time: what was typed stays.
    page.locator("button[name=week]").last.click()
    expect(page.locator(".plan-day-name").first).to_contain_text("10 mars")  # a week later
    assert page.input_value("#purpose") == "Dossier de subvention"
    page.locator("button.plan-pick").first.click()
    expect(page.locator("#day")).to_have_value("2026-03-10")  # the week after Tuesday 3 March
    assert page.input_value("#purpose") == "Dossier de subvention"
    page.locator("#your-slot").get_by_role("button", name="Réserver", exact=True).click()
    expect(page).to_have_url(re.compile(r".*/reservations/\d+(#.*)?$"))
    assert "Confirmée" in page.locator("main").inner_text()
    context.close()


def test_with_javascript_the_search_and_the_week_update_without_reloading(browser, base_url):
    context, page = open_page(browser, "desktop")
    log_in(page, base_url, "samir@example.org", then="/resources/coworking-mons-fabrica")
    page.evaluate("window.sameDocument = true")
    page.locator("#resource-week a[data-week-link]").last.click()
    expect(page).to_have_url(re.compile(r".*week=2026-03-09$"))
    assert "lundi 9 mars" in page.locator("#resource-week").inner_text()
    assert page.evaluate("window.sameDocument") is True
    page.goto(base_url + "/search")
    page.evaluate("window.sameDocument = true")
    page.fill("#q", "réunion")
    page.get_by_label("Demain").check()
    page.get_by_role("button", name="Trouver un créneau libre").click()
    expect(page.locator(".found").first).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    assert "Salle de réunion" in page.locator("#search-results").inner_text()
    page.locator(".found a.button-primary").first.click()
    expect(page).to_have_url(re.compile(r".*/reservations/new\?.*"))
    page.evaluate("window.sameDocument = true")
    page.fill("#purpose", "Comité de pilotage")
    page.locator("button[name=week]").last.click()
    # The week after Tuesday 3 March, in place of the other.
    expect(page.locator(".plan-day-name").first).to_contain_text("10 mars")
    page.locator("button.plan-pick").first.click()
    assert page.input_value("#day") == "2026-03-10"
    assert page.input_value("#purpose") == "Comité de pilotage"
    assert "Choisi" in page.locator("#picked").inner_text()
    assert page.evaluate("window.sameDocument") is True
    assert axe_violations(page) == []
    context.close()


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("", "/"),
        ("", "/search?q=cuisine&when=week"),
        ("", "/venues/la-cape/week"),
        ("samir@example.org", "/"),
        ("samir@example.org", "/reservations"),
        ("amina@example.org", "/reservations/new?resource=cuisine-centre-social"),
    ],
)
def test_the_pages_of_finding_a_slot_have_no_accessibility_violation(browser, base_url, who, path):
    for size in SIZES:
        context, page = open_page(browser, size)
        if who:
            log_in(page, base_url, who)
        page.goto(base_url + path)
        assert axe_violations(page) == [], (size, path)
        assert fits(page, size), (size, path)
        context.close()


def test_today_is_the_clock_of_the_tests(base_url):
    # The pages above read the application's clock: set to Monday 2 March 2026, 9:00.
    from booking import clock

    assert clock.now() == MONDAY.astimezone(UTC)
    assert clock.now() < datetime(2026, 3, 3, tzinfo=UTC)
