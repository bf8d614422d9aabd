"""The foundation pages in a real browser: phone width, keyboard use, skip link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .support.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    chromium,  # noqa: F401  (the browser fixture)
)
from .support.live_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def base_url(app, runner) -> Iterator[str]:
    result = runner.invoke(args=["seed-demo", "--no-bookings"])
    assert result.exit_code == 0, result.output
    url, stop = serve(app)
    yield url
    stop()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    yield context.new_page()
    context.close()


def test_home_fits_a_phone_screen(phone, base_url):
    phone.goto(base_url + "/")
    assert phone.locator("h1").inner_text().startswith("Réservez un espace")
    assert phone.locator(".resource-card").count() >= 10
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"]


@pytest.mark.parametrize("path", ["/venues/kpa-moulins", "/resources/decoupeuse-laser", "/login"])
def test_other_pages_fit_a_phone_screen(phone, base_url, path):
    phone.goto(base_url + path)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_home_on_a_desktop_shows_cards_side_by_side(browser, base_url):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    page.goto(base_url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    cards = page.locator(".resource-card")
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert first is not None and second is not None
    assert first["y"] == second["y"]
    assert second["x"] > first["x"]
    context.close()


def test_tab_reaches_the_skip_link_first_and_it_shows(phone, base_url):
    phone.goto(base_url + "/")
    skip = phone.locator(".skip-link")
    box = skip.bounding_box()
    assert box is None or box["y"] + box["height"] <= 0  # out of sight until focused

    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip-link"
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["height"] >= 24
    assert skip.inner_text() == "Aller au contenu principal"
    outline = phone.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"

    phone.keyboard.press("Enter")
    assert phone.url.endswith("#main")
    assert phone.evaluate("document.activeElement.id") == "main"


def test_menu_and_language_links_are_big_enough_to_tap(phone, base_url):
    phone.goto(base_url + "/")
    for selector in (".main-nav a", ".lang-switch a", ".card-cta"):
        for box in (el.bounding_box() for el in phone.locator(selector).all()):
            assert box is not None
            assert box["height"] >= 24
    for box in (el.bounding_box() for el in phone.locator(".main-nav a").all()):
        assert box["height"] >= 44


def test_login_by_keyboard_only(phone, base_url):
    phone.goto(base_url + "/login")
    for _ in range(20):
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.name") == "email":
            break
    else:
        pytest.fail("Tab never reached the e-mail field")

    phone.keyboard.type("amina@example.org")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.name") == "password"
    phone.keyboard.type("tiers-lieux-demo")
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(base_url + "/")

    assert "Bonjour Amina Haddad" in phone.locator("[role=status]").inner_text()
    assert phone.locator("button", has_text="Se déconnecter").count() == 1


def test_failed_login_keeps_the_visitor_on_the_form_with_one_message(phone, base_url):
    phone.goto(base_url + "/login")
    phone.fill("#email", "amina@example.org")
    phone.fill("#password", "wrong password")
    phone.locator("main button[type=submit]").click()
    alert = phone.locator("[role=alert]")
    assert "n’est pas bon" in alert.inner_text()
    phone.wait_for_load_state()  # the style sheets too, after a click
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_language_switch_works_without_javascript(browser, base_url):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(base_url + "/resources/decoupeuse-laser")
    page.get_by_role("link", name="English").click()
    # Back at the same address: the language of the page says the new one has come.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(base_url + "/resources/decoupeuse-laser")
    assert "The rules, in plain words" in page.content()
    context.close()


@pytest.mark.parametrize(
    "path", ["/", "/login", "/venues/kpa-moulins", "/resources/decoupeuse-laser"]
)
def test_foundation_pages_have_no_accessibility_violation(phone, base_url, path):
    phone.goto(base_url + path)
    assert axe_violations(phone) == []
