"""A new cooperative set up in one sitting, in Chromium, as newcomers would, from an empty
network (one administrator account): the measure of issue 20.

The administrator creates "KPA Dunkerque" and invites its manager in one form. The
manager accepts from the e-mail (a real SMTP server gets it), lands on the set-up
checklist, gives the venue its hours (a usual week in one tap, Saturday morning typed),
creates five resources (two of them with the new training they need, from the resource's
own form), pastes a list of twenty people (three of them already trained) and sends the
invitations in one step. Every page is checked with axe-core; the test prints the pages
opened, the forms sent and the time it took, and holds the forms to the target (25 at
most for the whole set-up). It runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright import sync_api

from booking.extensions import db
from booking.models import (
    Invitation,
    OpeningPeriod,
    PromisedTraining,
    Qualification,
    QualificationGrant,
    Resource,
    User,
    Venue,
)

from .support.browser import DESKTOP, PHONE, axe_violations, launch
from .support.live_server import serve
from .support.smtp import MailServer

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]


ADMIN = "admin@kpa-cite.example.org"
ADMIN_PASSWORD = "une phrase d'administration"
MANAGER = "chloe.petit@example.org"
MANAGER_PASSWORD = "le port de Dunkerque"
MEMBER_PASSWORD = "ma phrase à moi seule"
# The most forms the whole set-up may take (issue 20), calendars included once they come.
FORM_BUDGET = 25
# Set to a folder to keep screenshots of the journey (the README's come from here).
SCREENSHOTS = os.environ.get("BOOKING_SCREENSHOTS")

PEOPLE = [
    ("Nadia Benali", "nadia.benali@example.org", ""),
    ("Karim Haddad", "karim.haddad@example.org", ""),
    ("Léa Martin", "lea.martin@example.org", ""),
    ("Samir Bouzid", "samir.bouzid@example.org", "gestionnaire"),
    ("Fatou Diallo", "fatou.diallo@example.org", ""),
    ("Julien Lefebvre", "julien.lefebvre@example.org", ""),
    ("Amina Haddad", "amina.haddad@example.org", ""),
    ("Thomas Dubois", "thomas.dubois@example.org", ""),
    ("Inès Moreau", "ines.moreau@example.org", ""),
    ("Youssef El Amrani", "youssef.elamrani@example.org", ""),
    ("Claire Petit", "claire.petit@example.org", ""),
    ("Moussa Traoré", "moussa.traore@example.org", ""),
    ("Sophie Lambert", "sophie.lambert@example.org", ""),
    ("Hugo Bernard", "hugo.bernard@example.org", ""),
    ("Yasmine Khelifi", "yasmine.khelifi@example.org", ""),
    ("Pierre Lemoine", "pierre.lemoine@example.org", ""),
    ("Aïcha Ndiaye", "aicha.ndiaye@example.org", ""),
    ("Lucas Garnier", "lucas.garnier@example.org", ""),
    ("Emma Roussel", "emma.roussel@example.org", ""),
    ("Rachid Benmoussa", "rachid.benmoussa@example.org", ""),
]
# Who already took a training, as the manager knows from the cooperative's old sheet.
TRAINED = {
    "Sécurité découpe laser": ["karim.haddad@example.org", "lea.martin@example.org"],
    "Sécurité atelier bois": ["thomas.dubois@example.org"],
}
RESOURCES = [
    # name, kind, capacity, the training it needs (created from its own form), approval
    ("Salle polyvalente", "space", "1", "", False),
    ("Cuisine partagée", "space", "1", "", True),
    ("Découpeuse laser", "equipment", "1", "Sécurité découpe laser", True),
    ("Atelier bois", "space", "4", "Sécurité atelier bois", False),
    ("Bureaux partagés", "space", "6", "", False),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(app: Flask, runner: Any, smtp: MailServer) -> Iterator[str]:
    """An empty network with one administrator, served as `make run` serves it: the real
    forms (CSRF tokens included), the outbox sent by a background thread to SMTP."""
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            ADMIN,
            "--name",
            "Administratrice KPA-Cité",
            "--admin",
            "--password",
            ADMIN_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    app.config.update(
        smtp.config(), MAIL_SEND_IN_BACKGROUND=True, MAIL_POLL_SECONDS=0.2, WTF_CSRF_ENABLED=True
    )
    from booking.notifications import init_app

    init_app(app)
    url, stop = serve(app)
    yield url
    stop()
    app.extensions["booking.mail_sender"].stop()


class Journey:
    """What a person does, counted: every page opened (a navigation of the tab, after its
    redirects) and every form sent (a navigation that POSTs); each page checked with
    axe-core and for sideways scrolling as soon as it is there."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.pages = 0
        self.forms = 0
        self.steps: list[tuple[str, int, int]] = []
        self.errors: list[str] = []
        self.checking = 0.0  # seconds spent checking pages, not setting anything up

    def open(self, viewport: dict[str, int]) -> Any:
        context = self.browser.new_context(viewport=viewport, locale="fr-FR")
        page = context.new_page()
        page.on("framenavigated", lambda frame: self._navigated(page, frame))
        page.on("request", lambda request: self._requested(page, request))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def _navigated(self, page: Any, frame: Any) -> None:
        if frame == page.main_frame:
            self.pages += 1

    def _requested(self, page: Any, request: Any) -> None:
        if (
            request.is_navigation_request()
            and request.method == "POST"
            and request.frame == page.main_frame
            and request.redirected_from is None
        ):
            self.forms += 1

    def step(self, name: str) -> None:
        self.steps.append((name, self.pages, self.forms))

    def check(self, page: Any, shot: str | None = None) -> None:
        began = time.monotonic()
        page.wait_for_load_state("load")
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
        assert axe_violations(page) == [], page.url
        if SCREENSHOTS and shot:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{shot}-{width}.png"), full_page=True)
        self.checking += time.monotonic() - began


def mail_to(smtp: MailServer, address: str, subject_start: str) -> EmailMessage:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for message in smtp.to(address):
            if str(message["Subject"]).replace("\u00a0", " ").startswith(subject_start):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no message {subject_start!r} to {address}")


def link_in(message: EmailMessage, path: str) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    found = re.search(r"https?://\S+" + re.escape(path) + r"\S*", part.get_content())
    assert found, part.get_content()
    return found.group(0)


def flash(page: Any) -> str:
    return " ".join(page.locator(".flash").all_inner_texts()).replace("\u00a0", " ")


def test_a_new_cooperative_is_set_up_in_one_sitting(
    browser: Any, site: str, smtp: MailServer, app: Flask, db_backend: str
) -> None:
    journey = Journey(browser)
    started = time.monotonic()
    expect = sync_api.expect

    # --- The administrator: the venue, and its manager invited, in one form ------------
    admin = journey.open(DESKTOP)
    admin.goto(site + "/login")
    journey.check(admin)
    admin.fill("#email", ADMIN)
    admin.fill("#password", ADMIN_PASSWORD)
    admin.locator("main button[type=submit]").click()
    expect(admin.get_by_role("link", name="Administration")).to_be_visible()
    journey.check(admin)
    admin.get_by_role("link", name="Administration").click()
    journey.check(admin)
    admin.get_by_role("link", name="Créer un lieu", exact=True).click()
    journey.check(admin, "new-cooperative-venue")
    admin.fill("#name", "KPA Dunkerque")
    admin.fill("#address", "12 quai de la Citadelle, 59140 Dunkerque")
    admin.fill("#manager_name", "Chloé Petit")
    admin.fill("#manager_email", MANAGER)
    admin.get_by_role("button", name="Créer le lieu").click()
    expect(admin.locator(".flash").first).to_contain_text("Chloé Petit est invité·e à le gérer")
    expect(admin.locator(".setup-steps")).to_contain_text("invitée : en attente de sa réponse")
    journey.check(admin)
    admin.context.close()
    journey.step("The administrator creates the venue and invites its manager")

    # --- The manager accepts, and lands on the checklist ------------------------------
    invitation = mail_to(smtp, MANAGER, "Invitation à rejoindre KPA Dunkerque")
    page = journey.open(DESKTOP)
    page.goto(link_in(invitation, "/invitations/"))
    journey.check(page)
    page.fill("#new_password", MANAGER_PASSWORD)
    page.fill("#confirm_password", MANAGER_PASSWORD)
    page.get_by_role("button", name="Rejoindre KPA Dunkerque").click()
    expect(page).to_have_url(site + "/manage/venues/kpa-dunkerque")
    expect(page.locator(".flash").first).to_contain_text("Voici ce dont le lieu a besoin")
    expect(page.locator(".setup-progress")).to_contain_text("2 étapes faites sur 5")
    journey.check(page, "new-cooperative-checklist")
    # "Gestion" opens on the checklist while the venue is being set up.
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name=re.compile("^Gestion")
    ).click()
    expect(page).to_have_url(site + "/manage/venues/kpa-dunkerque")
    journey.check(page)
    journey.step("The manager accepts and lands on the checklist")

    # --- Opening hours: a usual week in one tap, Saturday morning typed ---------------
    page.locator(".setup-steps").get_by_role("link", name="Horaires d’ouverture").click()
    journey.check(page)
    page.get_by_role("button", name="Du lundi au vendredi, 9 h – 17 h").click()
    expect(page.locator("[data-hours-status]")).to_contain_text("Rempli avec")
    expect(page.locator("#d4_0_closes")).to_have_value("17:00")
    page.fill("#d5_0_opens", "09:00")
    page.fill("#d5_0_closes", "12:00")
    journey.check(page, "new-cooperative-hours")
    page.get_by_role("button", name="Enregistrer ces horaires").click()
    expect(page).to_have_url(site + "/manage/venues/kpa-dunkerque")
    expect(page.locator(".flash").first).to_contain_text("Horaires enregistrés")
    journey.check(page)
    journey.step("Opening hours")

    # --- Five resources, two with the training they need, from their own form --------
    page.locator(".setup-steps").get_by_role("link", name="Ressources à réserver").click()
    for number, (name, kind, capacity, training, approval) in enumerate(RESOURCES, start=1):
        journey.check(page, "new-cooperative-resource" if training else None)
        page.fill("#name", name)
        page.check(f"input[name=kind][value={kind}]")
        page.fill("#capacity", capacity)
        if approval:
            page.check("#requires_approval")
        if training:
            page.fill("#new_training", training)
        page.fill("#max_duration_minutes", "4 h")
        last = number == len(RESOURCES)
        label = "Créer la ressource" if last else "La créer, puis en ajouter une autre"
        page.get_by_role("button", name=label).click()
        expect(page.locator(".flash").first).to_contain_text(f"« {name} » : ressource créée")
    expect(page).to_have_url(site + "/manage/venues/kpa-dunkerque")
    expect(page.locator(".setup-steps")).to_contain_text("personne n’a encore")
    journey.check(page)
    journey.step("Five resources and their two trainings")

    # --- Twenty people from a pasted list, three of them already trained -------------
    page.locator(".setup-steps").get_by_role("link", name="Personnes invitées").click()
    journey.check(page)
    pasted = "\n".join("\t".join(part for part in person if part) for person in PEOPLE)
    page.fill("#people", pasted)
    page.get_by_role("button", name="Vérifier la liste").click()
    expect(page.locator("main")).to_contain_text("20 personnes prêtes à inviter")
    for training, emails in TRAINED.items():
        for email in emails:
            name = next(n for n, e, _ in PEOPLE if e == email)
            page.get_by_label(re.compile(rf"{name} a déjà\W+{training}\W")).check()
    journey.check(page, "new-cooperative-people")
    page.get_by_role("button", name="Envoyer les 20 invitations").click()
    expect(page.locator(".flash").first).to_contain_text("20 invitations envoyées")
    journey.check(page)
    journey.step("Twenty people invited, three already trained")

    # --- The calendars (issue 20, branch i20-calendars) -------------------------------
    # Public holidays as closures, last month's bookings imported from .ics or CSV, a
    # calendar followed: their steps go here when that branch is merged, counted in the
    # same totals and held to the same budget.

    # --- Set up: the checklist is done, "Gestion" now opens on the requests ----------
    page.get_by_role("navigation", name="Vous êtes ici").get_by_role(
        "link", name="KPA Dunkerque"
    ).click()
    expect(page.locator("h1")).to_have_text("KPA Dunkerque")
    expect(page.locator(".setup")).to_have_count(0)
    journey.check(page)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name=re.compile("^Gestion")
    ).click()
    expect(page.locator("h1")).to_contain_text("Demandes à traiter")
    journey.check(page)
    journey.step("Set up")
    elapsed = time.monotonic() - started
    assert journey.errors == []

    report = [f"New cooperative set up on {db_backend}:"]
    before = (0, 0)
    for name, pages, forms in journey.steps:
        report.append(f"  {name}: {pages - before[0]} pages, {forms - before[1]} forms")
        before = (pages, forms)
    report.append(
        f"  total: {journey.pages} pages opened, {journey.forms} forms sent, {elapsed:.0f} s "
        f"({journey.checking:.0f} s of them checking pages with axe-core; "
        f"target: {FORM_BUDGET} forms at most)"
    )
    print("\n".join(report))
    assert journey.forms <= FORM_BUDGET

    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.slug == "kpa-dunkerque"))
        hours = sorted(
            (p.weekday, p.opens_at.hour, p.closes_at.hour)
            for p in db.session.scalars(
                sa.select(OpeningPeriod).where(OpeningPeriod.venue_id == venue.id)
            )
        )
        assert hours == [(d, 9, 17) for d in range(5)] + [(5, 9, 12)]
        resources = {
            r.name: r.qualification.name if r.qualification else ""
            for r in db.session.scalars(sa.select(Resource).where(Resource.venue_id == venue.id))
        }
        assert resources == {name: training for name, _, _, training, _ in RESOURCES}
        invited = db.session.scalars(
            sa.select(Invitation.email).where(Invitation.venue_id == venue.id)
        ).all()
        assert sorted(invited) == sorted([MANAGER] + [e for _, e, _ in PEOPLE])
        promised = {
            (p.qualification.name, p.invitation.email)
            for p in db.session.scalars(sa.select(PromisedTraining))
        }
        assert promised == {(t, e) for t, emails in TRAINED.items() for e in emails}
        db.session.remove()

    # --- Afterwards (not counted): what the manager sees of it ---------------------
    page.get_by_role("link", name="KPA Dunkerque", exact=True).first.click()
    tabs = page.get_by_role("navigation", name="Gestion de KPA Dunkerque")
    tabs.get_by_role("link", name="Formations", exact=True).click()
    page.get_by_role("link", name="Sécurité atelier bois").click()
    expect(page.locator("main")).to_contain_text("Personnes invitées, pas encore inscrites")
    expect(page.locator("main")).to_contain_text("Thomas Dubois")
    journey.check(page)
    # A day copied in the page: Monday onto Sunday, nothing saved before "Save".
    tabs.get_by_role("link", name="Horaires d’ouverture", exact=True).click()
    page.get_by_role("group", name="à").get_by_label("Dimanche").check()
    page.get_by_role("button", name="Copier", exact=True).click()
    expect(page.locator("#d6_0_opens")).to_have_value("09:00")
    expect(page.locator("#d6_0_closes")).to_have_value("17:00")
    expect(page.locator("[data-hours-status]")).to_contain_text("Copié")
    journey.check(page)

    # --- Afterwards: Léa accepts on her phone and holds her training at once ---------
    lea_mail = mail_to(smtp, "lea.martin@example.org", "Invitation à rejoindre KPA Dunkerque")
    lea = browser.new_context(viewport=PHONE, locale="fr-FR").new_page()
    lea.goto(link_in(lea_mail, "/invitations/"))
    lea.fill("#new_password", MEMBER_PASSWORD)
    lea.fill("#confirm_password", MEMBER_PASSWORD)
    lea.get_by_role("button", name="Rejoindre KPA Dunkerque").click()
    expect(lea).to_have_url(site + "/venues/kpa-dunkerque")
    assert axe_violations(lea) == []
    lea.context.close()
    with app.app_context():
        held = db.session.scalar(
            sa.select(Qualification.name)
            .join(QualificationGrant, QualificationGrant.qualification_id == Qualification.id)
            .join(User, User.id == QualificationGrant.user_id)
            .where(User.email == "lea.martin@example.org")
        )
        assert held == "Sécurité découpe laser"
        db.session.remove()
    page.context.close()
