"""The layout every page shares: landmarks, skip link, language, menu, assets, errors."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import abort

from booking.views import access

from .support.pages import text_of


class Outline(HTMLParser):
    """The tags of a page in order, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def outline(client, path: str) -> Outline:
    parser = Outline()
    parser.feed(client.get(path).get_data(as_text=True))
    return parser


@pytest.fixture
def site(make):
    venue = make.venue(slug="lieu")
    make.resource(venue, slug="machine")
    return venue


PAGES = ["/", "/venues/lieu", "/resources/machine", "/login", "/page-qui-n-existe-pas"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_landmarks_a_skip_link_and_a_language(client, site, path):
    page = outline(client, path)

    html = page.all("html")[0]
    assert html["lang"] == "fr"

    focusable = [(tag, attrs) for tag, attrs in page.tags if tag in ("a", "button", "input")]
    first_tag, first = focusable[0]
    assert first_tag == "a"
    assert first["href"] == "#main"
    assert "skip-link" in (first["class"] or "")

    assert len(page.all("header")) >= 1
    assert len(page.all("footer")) == 1
    mains = page.all("main")
    assert len(mains) == 1
    assert mains[0]["id"] == "main"
    labels = {attrs.get("aria-label") for attrs in page.all("nav")}
    assert {"Menu principal", "Langue"} <= labels
    assert len(page.all("h1")) == 1
    assert page.all("meta")[1]["name"] == "viewport"


def test_title_names_the_page_and_the_site(client, site):
    assert "<title>Se connecter · Tiers-lieux</title>" in client.get("/login").get_data(
        as_text=True
    )


def test_no_asset_comes_from_another_site(app, client, site, make, auth):
    make.user(email="amina@example.org")
    auth.login("amina@example.org")
    for path in [*PAGES, "/profile"]:
        page = outline(client, path)
        for tag, attrs in page.tags:
            for name in ("src", "href", "srcset", "poster", "data"):
                value = attrs.get(name) or ""
                if tag == "a" and name == "href":
                    continue  # links people follow may go anywhere; assets may not
                assert not value.startswith(("http:", "https:", "//")), (path, tag, value)


@pytest.mark.parametrize(
    "asset", ["/static/css/app.css", "/static/favicon.svg", "/static/img/icons.svg"]
)
def test_static_assets_are_served(client, asset):
    response = client.get(asset)
    assert response.status_code == 200
    assert b"http://" not in response.data.replace(b"http://www.w3.org/2000/svg", b"")
    response.close()


def test_css_imports_nothing_from_elsewhere(client):
    response = client.get("/static/css/app.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@import" not in css
    assert "url(" not in css
    assert ":focus-visible" in css


def test_anonymous_menu_offers_login_and_both_languages(client, site):
    page = text_of(client.get("/venues/lieu"))
    assert "Se connecter" in page
    assert 'href="/login?next=/venues/lieu"' in page
    assert 'href="/lang/en?next=/venues/lieu"' in page
    assert 'href="/lang/fr?next=/venues/lieu"' in page
    assert "Mon profil" not in page


def test_member_menu(app, client, auth, make, site):
    make.user(site, email="amina@example.org")
    auth.login("amina@example.org")
    page = text_of(client.get("/"))
    assert "Mon profil" in page
    assert '<form method="post" action="/logout"' in page
    assert "Se connecter" not in page
    assert "Mes réservations" in page
    assert ">Gestion<" not in page


def test_manager_menu_shows_manage_when_it_exists(app, client, auth, make, site):
    make.manager(site, email="nadia@example.org")
    auth.login("nadia@example.org")
    page = text_of(client.get("/"))
    assert 'href="/manage' in page
    assert ">Gestion<" in page


def test_flash_messages_are_announced(client, auth, make):
    make.user(email="amina@example.org")
    auth.login("amina@example.org")
    page = client.get("/").get_data(as_text=True)
    assert 'class="flash flash-success" role="status"' in page


def test_forbidden_and_server_errors_have_friendly_pages(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/test-403", "test_403", access.public(lambda: abort(403)))

    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/test-500", "test_500", access.public(broken))

    forbidden = client.get("/test-403")
    assert forbidden.status_code == 403
    assert "Cette page ne vous est pas accessible" in text_of(forbidden)

    failed = client.get("/test-500")
    assert failed.status_code == 500
    assert "Ce n’est pas de votre faute." in text_of(failed)
    assert "boom" not in text_of(failed)


def test_405_keeps_the_allowed_methods(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
