"""Logging in and out: one generic message on failure, safe redirects, CSRF."""

from __future__ import annotations

import re

import pytest

from booking import create_app
from booking.extensions import db

from .conftest import PASSWORD, base_config
from .support.pages import text_of

GENERIC = "L’adresse e-mail ou le mot de passe n’est pas bon."


def test_login_page_is_in_french_with_labelled_fields(client):
    response = client.get("/login")
    page = text_of(response)
    assert response.status_code == 200
    assert '<label class="field-label" for="email">Adresse e-mail</label>' in page
    assert '<label class="field-label" for="password">Mot de passe</label>' in page
    assert 'autocomplete="current-password"' in page


def test_login_then_logout(client, auth, make):
    make.user(email="amina@example.org", display_name="Amina")

    response = auth.login("amina@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    page = text_of(client.get("/"))
    assert "Bonjour Amina, vous êtes connecté·e." in page
    assert "Se déconnecter" in page

    response = auth.logout()
    assert response.status_code == 302
    page = text_of(client.get("/"))
    assert "Vous êtes déconnecté·e. À bientôt !" in page
    assert "Se déconnecter" not in page
    assert client.get("/profile").status_code == 302


def test_email_is_not_case_sensitive(auth, make):
    make.user(email="karim@example.org")
    assert auth.login("  Karim@Example.org ").status_code == 302


def _failure_page(client, email: str, password: str) -> str:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 200
    # The address typed is shown back in the field; everything else must be identical.
    return text_of(response).replace(email, "EMAIL")


def test_failure_says_the_same_for_unknown_email_wrong_password_and_inactive(client, make):
    make.user(email="known@example.org")
    make.user(email="gone@example.org", active=False)

    unknown = _failure_page(client, "nobody@example.org", PASSWORD)
    wrong = _failure_page(client, "known@example.org", "not the password")
    inactive = _failure_page(client, "gone@example.org", PASSWORD)

    assert GENERIC in unknown
    assert 'role="alert"' in unknown
    assert unknown == wrong == inactive
    assert client.get("/profile").status_code == 302  # still logged out


def test_inactive_account_cannot_log_in(client, auth, make):
    make.user(email="gone@example.org", active=False)
    response = auth.login("gone@example.org")
    assert response.status_code == 200
    assert GENERIC in text_of(response)


def test_empty_form_shows_messages_next_to_the_fields(client):
    page = text_of(client.post("/login", data={"email": "", "password": ""}))
    assert 'id="email-error"' in page
    assert "Indiquez votre adresse e-mail." in page
    assert "Indiquez votre mot de passe." in page
    assert 'aria-invalid="true"' in page
    assert GENERIC not in page


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/profile", "/profile"),
        ("/venues/x?y=1", "/venues/x?y=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_redirect_stays_on_the_site(client, make, next_url, expected):
    make.user(email="lea@example.org")
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": "lea@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_next_survives_a_failed_attempt(client, make):
    make.user(email="lea@example.org")
    page = text_of(
        client.post("/login?next=/profile", data={"email": "lea@example.org", "password": "x"})
    )
    assert 'name="next" value="/profile"' in page


def test_logged_in_visitor_is_sent_on_from_the_login_page(client, auth, make):
    make.user(email="lea@example.org")
    auth.login("lea@example.org")
    response = client.get("/login")
    assert response.status_code == 302


def test_logout_needs_a_post(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "Cette action n’est pas possible ici" in text_of(response)


@pytest.fixture
def csrf_client(database_url, tmp_path):
    app = create_app({**base_config(tmp_path, database_url), "WTF_CSRF_ENABLED": True})
    with app.app_context():
        yield app.test_client()
        db.session.remove()
        db.engine.dispose()


def test_login_requires_the_csrf_token_when_enabled(csrf_client, make):
    make.user(email="samir@example.org")
    data = {"email": "samir@example.org", "password": PASSWORD}

    refused = csrf_client.post("/login", data=data)
    assert refused.status_code == 400
    assert "Un problème est survenu avec ce formulaire" in text_of(refused)
    assert "rechargez la page" in text_of(refused)

    form = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token is not None
    accepted = csrf_client.post("/login", data={**data, "csrf_token": token.group(1)})
    assert accepted.status_code == 302


def test_logout_requires_the_csrf_token_when_enabled(csrf_client, make):
    make.user(email="samir@example.org")
    form = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    csrf_client.post(
        "/login", data={"email": "samir@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert csrf_client.post("/logout").status_code == 400
    page = csrf_client.get("/").get_data(as_text=True)
    assert "Se déconnecter" in page
    logout_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert csrf_client.post("/logout", data={"csrf_token": logout_token}).status_code == 302
