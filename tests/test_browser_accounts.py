"""Joining, booking and a forgotten password in Chromium, with the e-mails a real SMTP server gets.

The app runs as ``make run`` runs it: a live server whose background thread
sends the outbox, here to aiosmtpd on a loopback port. A visitor asks to join
KPA Moulins; its manager accepts; the new member chooses a password from the
e-mail, books the kitchen; the manager accepts; the member's e-mail arrives
with the booking attached. Then a member resets a forgotten password. Every
new page is checked with axe-core on a phone and a desktop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from playwright import sync_api

from booking.extensions import db
from booking.models import Reservation, SignupRequest, User

from .support.browser import DESKTOP, PHONE, axe_violations, launch
from .support.live_server import serve
from .support.smtp import MailServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = sync_api.expect

DEMO_PASSWORD = "tiers-lieux-demo"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


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

    init_app(app)  # as create_app does when the setting is on
    url, stop = serve(app)
    yield url
    stop()
    app.extensions["booking.mail_sender"].stop()


def new_page(browser, viewport):
    # A French browser, as the venues' members have: the site follows its language.
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    return context.new_page()


def log_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r".*/login(\?.*)?$"))


def mail_to(smtp: MailServer, address: str, subject_start: str) -> EmailMessage:
    """Wait for the message to ``address`` whose subject starts so (the sender looks every
    0.2 s, as ``make run``'s does every few seconds)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for message in smtp.to(address):
            if str(message["Subject"]).replace("\u00a0", " ").startswith(subject_start):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no message {subject_start!r} to {address}")


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content().replace("\u00a0", " ")


def link_in(message: EmailMessage, path: str) -> str:
    found = re.search(r"https?://\S+" + re.escape(path) + r"\S*", body(message))
    assert found, body(message)
    return found.group(0)


def no_axe_violation(page) -> None:
    assert axe_violations(page) == [], page.url


def fits(page, viewport) -> None:
    page.wait_for_load_state()  # the style sheets too, after a click
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], page.url


def next_weekday(weekday: int, after: int = 3) -> date:
    day = datetime.now(PARIS).date() + timedelta(days=after)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def test_a_visitor_joins_books_the_kitchen_and_gets_the_booking_by_e_mail(browser, site, smtp):
    # A visitor, on a phone, asks to join KPA Moulins.
    visitor = new_page(browser, PHONE)
    visitor.goto(site + "/venues/kpa-moulins")
    visitor.get_by_role("link", name="Demander à rejoindre").click()
    no_axe_violation(visitor)
    fits(visitor, PHONE)
    visitor.fill("#display_name", "Fatou Diallo")
    visitor.fill("#email", "fatou@example.org")
    visitor.fill("#message", "Je cuisine pour l'association des parents d'élèves.")
    visitor.get_by_role("button", name="Envoyer ma demande").click()
    assert visitor.locator("h1").inner_text().endswith("Demande envoyée")
    no_axe_violation(visitor)

    to_manager = mail_to(smtp, "manager.moulins@example.org", "Demande pour rejoindre KPA Moulins")
    assert "fatou@example.org" in body(to_manager)

    # The manager, at the desk, accepts.
    manager = new_page(browser, DESKTOP)
    log_in(manager, site, "manager.moulins@example.org")
    manager.goto(site + "/manage/")
    no_axe_violation(manager)
    manager.get_by_role("link", name="1 demande pour rejoindre").click()
    no_axe_violation(manager)
    fits(manager, DESKTOP)
    card = manager.locator(".person", has_text="Fatou Diallo")
    assert "parents d'élèves" in card.inner_text()
    card.get_by_role("button", name="Accepter").click()
    assert "Demande de Fatou Diallo acceptée : la personne reçoit un e-mail" in manager.locator(
        ".flash"
    ).inner_text().replace("\xa0", " ")

    # The welcome e-mail's link lets Fatou choose her password, and lands on the venue.
    welcome = mail_to(smtp, "fatou@example.org", "Bienvenue à KPA Moulins")
    visitor.goto(link_in(welcome, "/welcome/"))
    no_axe_violation(visitor)
    fits(visitor, PHONE)
    visitor.fill("#new_password", "une phrase à moi")
    visitor.fill("#confirm_password", "une phrase à moi")
    visitor.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(visitor).to_have_url(site + "/venues/kpa-moulins")
    assert "Bienvenue à KPA Moulins" in visitor.locator(".flash").inner_text()

    # She books the kitchen: a request, for the manager to accept.
    wednesday = next_weekday(2)
    visitor.goto(site + "/reservations/new?resource=cuisine-centre-social")
    visitor.fill("#day", wednesday.isoformat())
    visitor.fill("#start", "14:00")
    visitor.fill("#end", "16:00")
    visitor.fill("#purpose", "Pâtisseries pour la kermesse")
    visitor.get_by_role("button", name="Envoyer la demande").click()
    assert "Demande envoyée" in visitor.locator(".flash").inner_text()

    mail_to(smtp, "manager.moulins@example.org", "Demande à traiter : Cuisine du centre social")
    manager.goto(site + "/manage/")
    manager.locator(".request", has_text="Fatou Diallo").get_by_role(
        "button", name="Accepter"
    ).click()

    accepted = mail_to(smtp, "fatou@example.org", "Demande acceptée : Cuisine du centre social")
    (attachment,) = [
        p for p in accepted.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert attachment.get_param("method") == "REQUEST"
    (event,) = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    fatou = db.session.scalar(sa.select(User).where(User.email == "fatou@example.org"))
    reservation = db.session.scalar(sa.select(Reservation).where(Reservation.user_id == fatou.id))
    assert str(event["UID"]) == reservation.uid
    assert event["SEQUENCE"] == reservation.sequence
    assert event.decoded("DTSTART") == datetime.combine(
        wednesday, datetime.min.time().replace(hour=14), PARIS
    )
    assert event.decoded("DTEND") == reservation.ends_at
    assert f"/reservations/{reservation.id}" in body(accepted)
    assert db.session.scalar(sa.select(SignupRequest.status)).value == "accepted"
    # Each message went once.
    ids = [str(m["Message-ID"]) for m in smtp.messages]
    assert len(ids) == len(set(ids))


def test_a_member_resets_a_forgotten_password(browser, site, smtp):
    page = new_page(browser, PHONE)
    page.goto(site + "/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    no_axe_violation(page)
    page.fill("#email", "amina@example.org")
    page.get_by_role("button", name="M’envoyer un lien").click()
    assert "Regardez votre boîte e-mail" in page.locator("h1").inner_text()
    no_axe_violation(page)
    fits(page, PHONE)

    mail = mail_to(smtp, "amina@example.org", "Choisir un nouveau mot de passe")
    reset = link_in(mail, "/password/reset/")
    page.goto(reset)
    no_axe_violation(page)
    page.fill("#new_password", "mon nouveau secret")
    page.fill("#confirm_password", "mon nouveau secret")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    assert "Votre nouveau mot de passe est enregistré" in page.locator(".flash").inner_text()
    page.get_by_role("button", name="Se déconnecter").click()

    # The link worked once; the old password no longer opens the account.
    page.goto(reset)
    assert "Ce lien a déjà servi" in page.locator("h1").inner_text()
    no_axe_violation(page)
    page.goto(site + "/login")
    page.fill("#email", "amina@example.org")
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    assert page.locator("[role=alert]").count() == 1
    log_in(page, site, "amina@example.org", "mon nouveau secret")
    assert "Bonjour Amina Haddad" in page.locator("[role=status]").inner_text()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_the_new_pages_have_no_accessibility_violation(browser, site, smtp, viewport):
    """Every page of this issue, filled with something to show, at both widths."""
    manager = new_page(browser, viewport)
    log_in(manager, site, "manager.moulins@example.org")
    manager.goto(site + "/manage/venues/kpa-moulins/invitations")
    manager.fill("#display_name", "Nadia Benali")
    manager.fill("#email", "nadia@example.org")
    manager.get_by_role("button", name="Envoyer l’invitation").click()
    invitation = mail_to(smtp, "nadia@example.org", "Invitation à rejoindre KPA Moulins")

    visitor = new_page(browser, viewport)
    visitor.goto(site + "/venues/kpa-moulins/join")
    visitor.fill("#display_name", "Fatou")
    visitor.fill("#email", "fatou@example.org")
    visitor.get_by_role("button", name="Envoyer ma demande").click()

    member = new_page(browser, viewport)
    log_in(member, site, "amina@example.org")
    # A slot Samir holds, that Amina then waits for.
    samir = new_page(browser, viewport)
    log_in(samir, site, "samir@example.org")
    thursday = next_weekday(3)
    slot = {"#day": thursday.isoformat(), "#start": "10:00", "#end": "11:00"}
    samir.goto(site + "/reservations/new?resource=cuisine-centre-social")
    for field, value in slot.items():
        samir.fill(field, value)
    samir.get_by_role("button", name="Envoyer la demande").click()
    member.goto(site + "/reservations/new?resource=cuisine-centre-social")
    for field, value in slot.items():
        member.fill(field, value)
    member.get_by_role("button", name="Envoyer la demande").click()
    assert member.get_by_role("button", name="Me prévenir s’il se libère").is_visible()

    def check(page, path: str | None = None) -> None:
        if path is not None:
            page.goto(path if path.startswith("http") else site + path)
        no_axe_violation(page)
        fits(page, viewport)

    check(member)  # the booking form refused (409), with the offer to wait
    member.get_by_role("button", name="Me prévenir s’il se libère").click()
    check(member)  # the waiting list
    member.get_by_role("link", name="Est-il libre ?").click()
    check(member)  # the one-step booking page, while the slot is taken
    check(member, "/profile")
    for path in (
        "/venues/kpa-moulins",
        "/venues/kpa-moulins/join",
        "/venues/kpa-moulins/join/sent",
        "/password/forgot",
        "/password/reset/not-a-link",
        link_in(invitation, "/invitations/"),
    ):
        check(visitor, path)
    for path in (
        "/manage/",
        "/manage/venues/kpa-moulins/invitations",
        "/manage/venues/kpa-moulins/requests",
    ):
        check(manager, path)

    admin = new_page(browser, viewport)
    log_in(admin, site, "admin@example.org")
    for path in ("/manage/", "/admin/messages"):
        check(admin, path)
    admin.get_by_role("link", name=re.compile("Invitation à rejoindre")).click()
    check(admin)
    admin.goto(site + "/admin/messages")
    admin.get_by_role("link", name=re.compile("Demande à traiter")).first.click()
    check(admin)
