"""The venue screens in Chromium, as new users would use them, with the demo data.

The Moulins manager, on a phone with JavaScript off, closes the kitchen for a
week of holidays (cancelling the two bookings inside with a reason), adds a
Saturday opening, grants Amina a training that expires and accepts a series
as a whole. An administrator, on a desktop, sets up a fourth cooperative: its
venue, hours, three resources, a training and a manager. Every screen is
checked with axe-core at 390 and 1280 px.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright import sync_api

from booking import create_app
from booking.extensions import db
from booking.models import (
    Membership,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Role,
    Series,
    Status,
    User,
    Venue,
)
from booking.services import book

from .conftest import base_config
from .support.browser import DESKTOP, PHONE, axe_violations, launch
from .support.live_server import serve
from .support.outbox import link, sent_mail, to

# The scenarios share one demo network and change it in turn: one process runs them, in order.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("manage_browser")]

expect = sync_api.expect

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "tiers-lieux-demo"


@pytest.fixture(scope="module")
def demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, str]]:
    """The demo network served once for the module (the scenarios below change it in turn)."""
    folder = tmp_path_factory.mktemp("manage-browser")
    shutil.copy(sqlite_template, folder / "booking.sqlite3")
    app = create_app(base_config(folder, f"sqlite:///{folder / 'booking.sqlite3'}"))
    app.config["WTF_CSRF_ENABLED"] = True  # the real forms, tokens included
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        db.session.remove()
    url, stop = serve(app)
    yield app, url
    stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def open_as(browser, base_url: str, email: str, viewport: dict, javascript: bool = True):
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript, locale="fr-FR")
    page = context.new_page()
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(base_url + "/")
    return context, page


def clean(page, width: int) -> None:
    """What a screen must be at every step: no accessibility violation, no sideways scroll
    (axe-core checks a twin of the page, so pages seen without JavaScript are checked too).
    Measured once the page has loaded: after a click, the style sheets may still be on their
    way (it happened with the suite in two processes on a busy machine)."""
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    assert axe_violations(page) == [], page.url


def flash(page) -> str:
    """The message the page opens with, spaces as a reader sees them."""
    return page.locator(".flash").first.inner_text().replace("\u00a0", " ")


def local_today() -> date:
    return datetime.now(PARIS).date()


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PARIS)


# --- every screen, at both sizes ------------------------------------------------------

MANAGER_PAGES = [
    "/manage/",
    "/manage/venues/kpa-moulins",
    "/manage/venues/kpa-moulins/schedule",
    "/manage/venues/kpa-moulins/schedule?view=week",
    "/manage/venues/kpa-moulins/closures",
    "/manage/venues/kpa-moulins/hours",
    "/manage/venues/kpa-moulins/resources",
    "/manage/venues/kpa-moulins/resources/new",
    "/manage/venues/kpa-moulins/trainings",
    "/manage/venues/kpa-moulins/members",
    "/manage/venues/kpa-moulins/log",
]
ADMIN_PAGES = ["/admin/", "/admin/venues/new", "/admin/venues/la-cape", "/admin/accounts"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_screen_is_accessible_and_fits(browser, demo, viewport: dict) -> None:
    app, base_url = demo
    with app.app_context():
        kitchen = db.session.scalar(
            sa.select(Resource).where(Resource.slug == "cuisine-centre-social")
        )
        training = db.session.scalar(
            sa.select(Qualification).where(Qualification.name.like("Hygiène%"))
        )
        amina = db.session.scalar(sa.select(User).where(User.email == "amina@example.org"))
        reservation = db.session.scalar(
            sa.select(Reservation.id).where(Reservation.resource_id == kitchen.id)
        )
        pages = [
            *MANAGER_PAGES,
            f"/manage/venues/kpa-moulins/resources/{kitchen.id}",
            f"/manage/venues/kpa-moulins/resources/{kitchen.id}/hours",
            f"/manage/venues/kpa-moulins/resources/{kitchen.id}/retire",
            f"/manage/venues/kpa-moulins/trainings/{training.id}",
            f"/manage/venues/kpa-moulins/members/{amina.id}",
            f"/manage/venues/kpa-moulins/members/{amina.id}/remove",
            f"/reservations/{reservation}",
        ]
    context, page = open_as(browser, base_url, "manager.moulins@example.org", viewport)
    for path in pages:
        page.goto(base_url + path)
        assert page.locator("h1").count() == 1, path
        clean(page, viewport["width"])
    # A form refused, its messages shown: still clean.
    page.goto(base_url + "/manage/venues/kpa-moulins/resources/new")
    page.fill("#name", "Four à pain")
    page.fill("#max_duration_minutes", "10 min")
    page.locator("main button[type=submit]").first.click()
    assert page.locator(".field-error").count() >= 1
    clean(page, viewport["width"])
    context.close()
    context, page = open_as(browser, base_url, "admin@example.org", viewport)
    for path in [*ADMIN_PAGES, f"/admin/accounts/{amina.id}"]:
        page.goto(base_url + path)
        clean(page, viewport["width"])
    context.close()


# --- the Moulins manager, on a phone, without JavaScript ---------------------------------


def test_the_moulins_manager_runs_the_venue_from_a_phone_without_javascript(browser, demo) -> None:
    app, base_url = demo
    monday = local_today() - timedelta(days=local_today().weekday()) + timedelta(weeks=7)
    with app.app_context():
        ids = {u.email.split("@")[0]: u.id for u in db.session.scalars(sa.select(User))}
        kitchen = db.session.scalar(
            sa.select(Resource).where(Resource.slug == "cuisine-centre-social")
        )
        now = datetime.now(PARIS)
        inside = [
            book(
                resource_id=kitchen.id,
                member_id=ids[who],
                actor_id=ids["manager.moulins"],
                starts_at=at(monday + timedelta(days=offset), start),
                ends_at=at(monday + timedelta(days=offset), start + 2),
                now=now,
                purpose="Repas partagé",
            ).id
            for who, offset, start in (("amina", 1, 10), ("samir", 3, 14))
        ]
        db.session.remove()

    context, page = open_as(
        browser, base_url, "manager.moulins@example.org", PHONE, javascript=False
    )
    width = PHONE["width"]

    # The count of waiting requests is in the menu; the queue is one tap away.
    manage_link = page.get_by_role("link", name=re.compile("Gestion"))
    assert re.search(r"\d+", manage_link.inner_text())
    manage_link.click()
    page.get_by_role("link", name="KPA Moulins", exact=True).first.click()

    # 1. Close the kitchen for a week of holidays, cancelling the two bookings inside.
    page.get_by_role("link", name="Fermetures", exact=True).click()
    page.select_option("#resource", label="Cuisine du centre social")
    page.fill("#first_day", monday.isoformat())
    page.fill("#last_day", (monday + timedelta(days=6)).isoformat())
    page.fill("#reason", "Vacances de printemps")
    page.check("#reason_public")
    page.get_by_role("button", name="Voir les réservations concernées").click()
    preview = page.locator(".closure-preview")
    assert "2 réservations tombent pendant la fermeture" in preview.inner_text()
    assert "Amina Haddad" in preview.inner_text() and "Samir Bouzid" in preview.inner_text()
    clean(page, width)
    page.get_by_role("button", name="Confirmer la fermeture").click()
    assert "2 réservations annulées" in page.locator("[role=status]").inner_text()
    with app.app_context():
        for rid in inside:
            cancelled = db.session.get(Reservation, rid)
            assert (cancelled.status, cancelled.decision_reason) == (
                Status.CANCELLED,
                "Vacances de printemps",
            )
        db.session.remove()

    # 2. Add a Saturday opening: the afternoon, after the morning the venue already opens.
    page.get_by_role("link", name="Horaires d’ouverture", exact=True).click()
    page.fill("#d5_1_opens", "14:00")
    page.fill("#d5_1_closes", "17:00")
    page.get_by_role("button", name="Vérifier ces horaires").click()
    page.wait_for_load_state()  # the next page, not the one left
    assert "La semaine avec ces horaires" in page.content()
    clean(page, width)
    page.get_by_role("button", name="Enregistrer ces horaires").click()
    assert "Horaires enregistrés." in page.locator("[role=status], [role=alert]").first.inner_text()
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.slug == "kpa-moulins"))
        saturday = sorted(
            (p.opens_at, p.closes_at)
            for p in db.session.scalars(
                sa.select(OpeningPeriod).where(
                    OpeningPeriod.venue_id == venue.id, OpeningPeriod.weekday == 5
                )
            )
        )
        assert saturday == [(time(9), time(13)), (time(14), time(17))]
        db.session.remove()

    # 3. Grant Amina the kitchen training, until a date.
    expires = local_today() + timedelta(days=365)
    page.get_by_role("link", name="Formations", exact=True).click()
    page.get_by_role("link", name="Hygiène en cuisine collective").click()
    page.select_option("#member", label="Amina Haddad (amina@example.org)")
    page.fill("#expires_on", expires.isoformat())
    page.get_by_role("button", name="Accorder la formation").click()
    assert "Amina Haddad a maintenant « Hygiène en cuisine collective »" in flash(page)
    clean(page, width)
    with app.app_context():
        grant = db.session.scalar(
            sa.select(QualificationGrant).where(QualificationGrant.user_id == ids["amina"])
        )
        assert (grant.granted_on, grant.expires_on) == (local_today(), expires)
        db.session.remove()

    # 4. Accept Karim's series of pastry classes as a whole.
    page.get_by_role("link", name="Demandes", exact=True).click()
    with app.app_context():
        dates = db.session.scalar(
            sa.select(sa.func.count(Reservation.id))
            .join(Series)
            .where(
                Series.purpose == "Cours de pâtisserie orientale",
                Reservation.status == Status.PENDING,
            )
        )
        db.session.remove()
    assert dates == 4
    card = page.locator(".request", has_text="Cours de pâtisserie orientale")
    assert f"Une série de {dates} dates" in card.inner_text()
    card.get_by_role("button", name="Accepter toute la série").click()
    assert f"{dates} dates de la série acceptées" in page.locator("[role=status]").inner_text()
    with app.app_context():
        series = db.session.scalar(
            sa.select(Series).where(Series.purpose == "Cours de pâtisserie orientale")
        )
        assert {r.status for r in series.reservations} == {Status.CONFIRMED}
        db.session.remove()

    # Everything above is in the venue's log, with who did it.
    page.get_by_role("link", name="Journal", exact=True).click()
    log = page.locator("main").inner_text()
    for line in (
        "Fermeture ajoutée",
        "Horaires modifiés",
        "Formation accordée",
        "Annulée par une fermeture",
    ):
        assert line in log
    clean(page, width)
    context.close()


# --- an administrator sets up a fourth cooperative ------------------------------------


def test_an_administrator_sets_up_a_fourth_cooperative_in_the_browser(browser, demo) -> None:
    app, base_url = demo
    context, page = open_as(browser, base_url, "admin@example.org", DESKTOP)
    width = DESKTOP["width"]

    page.get_by_role("link", name="Administration").first.click()
    page.get_by_role("link", name="Créer un lieu", exact=True).click()
    page.fill("#name", "Les Ateliers du Sud")
    page.fill("#address", "12 rue de la Paix, 59000 Lille")
    page.fill("#phone", "03 20 00 00 04")
    page.fill("#email", "contact@ateliers-du-sud.example.org")
    page.fill("#description", "Atelier partagé de bricolage et de réparation.")
    page.get_by_role("button", name="Créer le lieu").click()
    page.wait_for_load_state()  # the next page, not the one left
    assert "Préparer le lieu" in page.content()
    clean(page, width)

    # Opening hours, Monday to Friday.
    page.locator(".setup-steps").get_by_role(
        "link", name="Horaires d’ouverture", exact=True
    ).click()
    for weekday in range(5):
        page.fill(f"#d{weekday}_0_opens", "09:00")
        page.fill(f"#d{weekday}_0_closes", "18:00")
    page.get_by_role("button", name="Vérifier ces horaires").click()
    page.get_by_role("button", name="Enregistrer ces horaires").click()
    # The venue is being set up: saving comes back to its checklist.
    assert "Préparer le lieu" in page.content()
    tabs = page.get_by_role("navigation", name="Gestion de Les Ateliers du Sud")

    # A training, then three resources, the last one requiring it.
    tabs.get_by_role("link", name="Formations", exact=True).click()
    page.fill("#name", "Sécurité atelier bois")
    page.fill("#description", "Machines à bois : consignes et protections.")
    page.get_by_role("button", name="Créer la formation").click()
    assert "Formation « Sécurité atelier bois » créée" in flash(page)

    for name, kind, capacity, training in (
        ("Salle de réunion", "space", "1", None),
        ("Établis partagés", "space", "4", None),
        ("Scie à format", "equipment", "1", "Sécurité atelier bois"),
    ):
        tabs.get_by_role("link", name="Ressources", exact=True).click()
        page.get_by_role("link", name="Ajouter une ressource", exact=True).click()
        page.fill("#name", name)
        page.check(f"input[name=kind][value={kind}]")
        page.fill("#capacity", capacity)
        page.fill("#min_duration_minutes", "1 h")
        page.fill("#max_duration_minutes", "4 h")
        page.fill("#buffer_minutes", "15 min")
        if training:
            page.select_option("#qualification_id", label=training)
        page.get_by_role("button", name="Créer la ressource").click()
        page.wait_for_load_state()  # the next page, not the one left
        assert f"« {name} » : ressource créée" in page.content()
    clean(page, width)

    # A manager: Léa, who already has an account, is invited (never added silently).
    tabs.get_by_role("link", name="Membres", exact=True).click()
    page.fill("#display_name", "Léa Martin")
    page.fill("#email", "lea@example.org")
    page.check("input[name=role][value=manager]")
    page.get_by_role("button", name="Envoyer l’invitation", exact=True).click()
    assert "Invitation envoyée à lea@example.org" in flash(page)
    page.get_by_role("link", name="Administration").first.click()
    card = page.locator(".card", has_text="Les Ateliers du Sud")
    assert "Installation à terminer" in card.inner_text()
    context.close()

    # Léa accepts, logged in as herself, and lands on the venue's overview.
    with app.app_context():
        (mail,) = to(sent_mail(datetime.now(PARIS)), "lea@example.org")
        accept = link(mail, "/invitations/")
        db.session.remove()
    context, page = open_as(browser, base_url, "lea@example.org", DESKTOP)
    page.goto(base_url + accept)
    page.get_by_role("button", name="Rejoindre Les Ateliers du Sud").click()
    assert page.url == base_url + "/manage/venues/les-ateliers-du-sud"
    assert "Vous gérez maintenant Les Ateliers du Sud" in flash(page)
    context.close()

    context, page = open_as(browser, base_url, "admin@example.org", DESKTOP)
    page.get_by_role("link", name="Administration").first.click()
    card = page.locator(".card", has_text="Les Ateliers du Sud")
    assert "Prêt pour les réservations" in card.inner_text()
    clean(page, width)
    context.close()

    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.slug == "les-ateliers-du-sud"))
        resources = {r.name: r for r in venue.resources}
        assert set(resources) == {"Salle de réunion", "Établis partagés", "Scie à format"}
        assert resources["Établis partagés"].capacity == 4
        assert resources["Scie à format"].qualification.name == "Sécurité atelier bois"
        assert len(venue.opening_periods) == 5
        role = db.session.scalar(
            sa.select(Membership.role)
            .join(User)
            .where(Membership.venue_id == venue.id, User.email == "lea@example.org")
        )
        assert role == Role.MANAGER
        db.session.remove()

    # The new venue is open to the public, and Léa manages it.
    context, page = open_as(browser, base_url, "lea@example.org", PHONE)
    page.goto(base_url + "/venues/les-ateliers-du-sud")
    assert page.locator(".resource-card").count() == 3
    page.goto(base_url + "/manage/")
    assert page.get_by_role("link", name="Les Ateliers du Sud").count() >= 1
    context.close()
