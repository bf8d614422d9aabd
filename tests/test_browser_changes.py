"""Changing bookings in Chromium on a phone (390 px): a booking moved from "Mes
réservations", a series booked from the booking form's day and times, then its later dates
moved; each page checked with axe-core, and the e-mails that update the member's calendar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import icalendar
import pytest

from .support.browser import (
    PHONE,
    axe_violations,
    chromium,  # noqa: F401  (the browser fixture)
)
from .support.live_server import serve
from .support.smtp import MailServer
from .test_browser_accounts import log_in, mail_to, new_page, next_weekday

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(app, runner, smtp) -> Iterator[str]:
    result = runner.invoke(args=["seed-demo", "--no-bookings"])
    assert result.exit_code == 0, result.output
    app.config.update(smtp.config(), MAIL_SEND_IN_BACKGROUND=True, MAIL_POLL_SECONDS=0.2)
    from booking.notifications import init_app

    init_app(app)
    url, stop = serve(app)
    yield url
    stop()
    app.extensions["booking.mail_sender"].stop()


def checked(page) -> None:
    """No axe-core violation, and nothing wider than the phone."""
    assert axe_violations(page) == [], page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_a_member_moves_a_booking_then_a_series_later_dates_on_a_phone(browser, site, smtp):
    page = new_page(browser, PHONE)
    log_in(page, site, "amina@example.org")
    tuesday, wednesday = next_weekday(1), next_weekday(2)

    # A booking of the digital room, confirmed at once: its e-mail brings the event.
    page.goto(site + "/reservations/new?resource=salle-mediation-numerique")
    page.fill("#day", tuesday.isoformat())
    page.fill("#start", "10:00")
    page.fill("#end", "11:00")
    page.get_by_role("button", name="Réserver", exact=True).last.click()
    expect(page.locator(".flash")).to_contain_text("C’est réservé")
    booked = mail_to(smtp, "amina@example.org", "Réservation confirmée : Salle de médiation")

    # From "Mes réservations", the booking moves to Wednesday afternoon.
    page.goto(site + "/reservations")
    page.get_by_role("link", name=re.compile("Modifier la réservation")).first.click()
    expect(page.locator("h1")).to_have_text("Modifier la réservation")
    checked(page)
    page.fill("#day", wednesday.isoformat())
    page.fill("#start", "14:00")
    page.fill("#end", "16:00")
    page.get_by_role("button", name="Enregistrer le changement").click()
    expect(page.locator(".flash")).to_contain_text("Réservation modifiée")
    expect(page.locator(".reservation-detail")).to_contain_text("14:00")
    checked(page)
    moved = mail_to(smtp, "amina@example.org", "Réservation modifiée : Salle de médiation")
    events = []
    for message in (booked, moved):
        (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        (event,) = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
        events.append(event)
    assert str(events[1]["UID"]) == str(events[0]["UID"])
    assert events[1]["SEQUENCE"] == events[0]["SEQUENCE"] + 1

    # Several dates from the booking form: the day and times chosen come along.
    page.goto(site + "/reservations/new?resource=salle-mediation-numerique")
    page.fill("#day", next_weekday(1, after=8).isoformat())
    page.fill("#start", "09:00")
    page.fill("#end", "10:00")
    page.get_by_role("button", name="Réserver le même créneau à plusieurs dates").click()
    expect(page.locator("#start")).to_have_value("09:00")
    expect(page.locator("#end")).to_have_value("10:00")
    expect(page.locator("#starts_on")).to_have_value(next_weekday(1, after=8).isoformat())
    page.fill("#count", "4")
    checked(page)
    page.get_by_role("button", name="Vérifier les dates").click()
    # The page lands on the answer: the dates and the button that books them, in view.
    book_them = page.get_by_role("button", name="Réserver les 4 dates libres")
    expect(book_them).to_be_focused()
    expect(book_them).to_be_in_viewport()
    checked(page)
    book_them.click()
    expect(page.locator(".flash")).to_contain_text("4 dates réservées")

    # The series' second date and the later ones move to Thursdays, 10:00–11:30.
    page.goto(site + "/reservations")
    expect(page.get_by_role("link", name=re.compile("Modifier ces dates"))).to_be_visible()
    checked(page)
    page.locator(".series-dates a").nth(1).click()
    page.get_by_role("link", name="Modifier…").click()
    page.get_by_label("Cette date et toutes les suivantes").check()
    second = date.fromisoformat(page.locator("#day").input_value())
    page.fill("#day", (second + timedelta(days=2)).isoformat())
    page.fill("#start", "10:00")
    page.fill("#end", "11:30")
    page.get_by_role("button", name="Vérifier les dates").click()
    move_them = page.get_by_role("button", name="Déplacer les 3 dates")
    expect(move_them).to_be_focused()
    expect(move_them).to_be_in_viewport()
    checked(page)
    move_them.click()
    expect(page.locator(".flash")).to_contain_text("3 dates modifiées")
    checked(page)
    message = mail_to(
        smtp, "amina@example.org", "Réservation modifiée : Salle de médiation numérique, 3 dates"
    )
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")) == 3
