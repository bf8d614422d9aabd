"""A member's own page: name, language and password."""

from __future__ import annotations

import re

import pytest

from booking import clock
from booking.extensions import db
from booking.models import User

from .conftest import PASSWORD
from .support.outbox import link, sent_mail, subject, text, to
from .support.pages import text_of


@pytest.fixture
def member(make, auth):
    venue = make.venue(name="KPA Moulins")
    user = make.user(venue, email="amina@example.org", display_name="Amina")
    auth.login("amina@example.org")
    return user


def test_logged_out_visitor_is_sent_to_login(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = text_of(client.get(response.headers["Location"]))
    assert "Connectez-vous pour voir cette page." in page


def test_profile_shows_the_account_and_its_places(client, member):
    page = text_of(client.get("/profile"))
    assert "Mon profil" in page
    assert "amina@example.org" in page
    assert 'value="Amina"' in page
    assert "KPA Moulins" in page
    assert "Membre" in page
    assert 'aria-current="page"' in page


def test_change_name(client, member):
    response = client.post("/profile", data={"display_name": "  Amina H.  ", "locale": "fr"})
    assert response.status_code == 302
    assert db.session.get(User, member.id).display_name == "Amina H."
    assert "Votre profil est enregistré." in text_of(client.get("/profile"))


def test_empty_name_is_refused_next_to_the_field(client, member):
    response = client.post("/profile", data={"display_name": "", "locale": "fr"})
    page = text_of(response)
    assert response.status_code == 422
    assert re.search(r'id="display_name-error">\s*<span>Indiquez un nom.</span>', page)
    assert 'aria-describedby="display_name-help display_name-error"' in page
    assert db.session.get(User, member.id).display_name == "Amina"


def test_change_language_shows_at_once_and_is_kept_on_the_account(client, member):
    response = client.post("/profile", data={"display_name": "Amina", "locale": "en"})
    assert response.status_code == 302
    assert db.session.get(User, member.id).locale == "en"

    page = text_of(client.get("/profile"))
    assert '<html lang="en">' in page
    assert "Your profile is saved." in page
    assert "My profile" in page


def test_account_language_applies_at_the_next_login(client, auth, make):
    make.user(email="lea@example.org", locale="en")
    auth.login("lea@example.org")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_change_password(client, auth, member):
    response = client.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new long password",
            "confirm_password": "a new long password",
        },
    )
    assert response.status_code == 302
    assert "Votre mot de passe est changé." in text_of(client.get("/profile"))

    auth.logout()
    assert auth.login("amina@example.org").status_code == 200  # old password refused
    assert auth.login("amina@example.org", "a new long password").status_code == 302


def test_wrong_current_password_is_refused_next_to_the_field(client, member):
    response = client.post(
        "/profile/password",
        data={
            "current_password": "not my password",
            "new_password": "a new long password",
            "confirm_password": "a new long password",
        },
    )
    page = text_of(response)
    assert response.status_code == 422
    assert re.search(
        r'id="current_password-error">\s*<span>Ce n’est pas votre mot de passe actuel.</span>',
        page,
    )
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="current_password"', page)
    assert db.session.get(User, member.id).check_password(PASSWORD)


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("short", "short", "Choisissez au moins 12 caractères."),
        ("eleven char", "eleven char", "Choisissez au moins 12 caractères."),
        ("password1234", "password1234", "fait partie de ceux que l’on essaie en premier"),
        ("123456789012", "123456789012", "fait partie de ceux que l’on essaie en premier"),
        ("azertyuiop12", "azertyuiop12", "fait partie de ceux que l’on essaie en premier"),
        ("amina@example.org", "amina@example.org", "reprend votre nom ou votre adresse"),
        ("AminaAmina2026", "AminaAmina2026", "reprend votre nom ou votre adresse"),
        ("a new long password", "another one", "Les deux nouveaux mots de passe ne sont pas"),
    ],
)
def test_new_password_rules(client, member, new, again, message):
    response = client.post(
        "/profile/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm_password": again},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert re.search(r'id="new_password-error">\s*<span>[^<]*' + re.escape(message), page) or (
        "Les deux" in message and message in page
    )
    assert db.session.get(User, member.id).check_password(PASSWORD)
    assert sent_mail(clock.now()) == []


def test_the_password_page_says_a_phrase_is_fine(client, member):
    page = text_of(client.get("/profile"))
    assert "Au moins 12 caractères. Le mieux : une petite phrase de quelques mots" in page
    assert 'minlength="12"' in page


def test_a_changed_password_is_told_by_e_mail(client, member):
    """A change the person did not make (someone who had their password) does not go
    unnoticed: an e-mail tells them, with the way to choose a new one."""
    done = client.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new long password",
            "confirm_password": "a new long password",
        },
    )
    assert done.status_code == 302
    (mail,) = to(sent_mail(clock.now()), "amina@example.org")
    assert subject(mail) == "Votre mot de passe a été changé — Tiers-lieux"
    body = text(mail)
    assert "Le mot de passe de votre compte amina@example.org vient d’être changé." in body
    assert link(mail, "/password/forgot").startswith("/password/forgot?email=amina")


def test_profile_offers_the_calendar_links_when_they_exist(app, client, member):
    page = text_of(client.get("/profile"))
    if app.jinja_env.loader.list_templates().count("feeds/_profile_feeds.html"):
        assert "Mes réservations dans mon agenda" in page
