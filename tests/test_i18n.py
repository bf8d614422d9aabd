"""Translations: a complete French catalogue, French by default, English on request.

The first tests guard everyone's strings: after adding a message, run
`make extract-messages`, translate the new French entries, and commit the
.pot and .po files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from booking.extensions import db

from .conftest import PASSWORD
from .support.i18n import TRANSLATIONS
from .support.pages import text_of

ROOT = Path(__file__).resolve().parents[1]
FRENCH = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
ENGLISH = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parts[-3])


def _messages(catalog: Catalog) -> list:
    return [m for m in catalog if m.id]


def _label(message) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    return f"{message.id!r} ({where})"


def test_every_french_message_is_translated():
    untranslated = [
        _label(m)
        for m in _messages(load(FRENCH))
        if not (all(m.string) if isinstance(m.string, tuple | list) else m.string)
    ]
    assert not untranslated, "French translation missing for:\n" + "\n".join(untranslated)


def test_no_french_translation_is_fuzzy():
    fuzzy = [_label(m) for m in _messages(load(FRENCH)) if m.fuzzy]
    assert not fuzzy, "Fuzzy (unchecked) French translations:\n" + "\n".join(fuzzy)


def test_translations_keep_the_placeholders():
    problems = [
        f"{_label(message)}: {error}"
        for path in (FRENCH, ENGLISH)
        for message, errors in load(path).check()
        for error in errors
    ]
    assert not problems, "\n".join(problems)


def test_french_typography():
    """A non-breaking space before : ; ? ! and inside « », never English quotes."""
    problems = []
    for message in _messages(load(FRENCH)):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if re.search(r" [:;?!»]|« ", string) or re.search(r"[“”]", string):
                problems.append(f"{_label(message)} -> {string!r}")
    assert not problems, "French typography:\n" + "\n".join(problems)


def _french_strings() -> list[tuple[object, str]]:
    return [
        (message, string)
        for message in _messages(load(FRENCH))
        for string in (message.string if isinstance(message.string, tuple) else (message.string,))
    ]


def test_french_uses_the_typographic_apostrophe():
    """« Rapport d’activité », never « Rapport d'activité »: in every French message (the
    msgid stays as the code writes it)."""
    straight = [f"{_label(m)} -> {s!r}" for m, s in _french_strings() if "'" in s]
    assert not straight, "Straight apostrophes in French:\n" + "\n".join(straight)


def test_a_training_is_called_formation_throughout():
    """One word for one thing: a member who reads « formation » on one page and
    « habilitation » on the next wonders whether they need two."""
    other = [f"{_label(m)} -> {s!r}" for m, s in _french_strings() if "habilit" in s.lower()]
    assert not other, "« habilitation » in French:\n" + "\n".join(other)


def _extract() -> set[str | tuple[str, ...]]:
    """What `make extract-messages` finds in the code and templates today."""
    method_map = [
        ("booking/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),  # e-mails
    ]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    keywords |= {"_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
    found: set[str | tuple[str, ...]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_catalogues_hold_every_message_of_the_code():
    known = set()
    for message in _messages(load(FRENCH)):
        known.add(message.id if isinstance(message.id, str) else tuple(message.id))
    missing = sorted(map(repr, _extract() - known))
    assert not missing, (
        "Messages not in the catalogues yet: run `make extract-messages` and translate them "
        "in booking/translations/fr/LC_MESSAGES/messages.po:\n" + "\n".join(missing)
    )


@pytest.fixture
def venue(make):
    venue = make.venue(slug="lieu", name="Lieu")
    make.resource(venue, slug="machine", name="Machine")
    return venue


@pytest.mark.parametrize("path", ["/", "/venues/lieu", "/resources/machine", "/login"])
@pytest.mark.parametrize("browser", [None, "fr-FR,fr;q=0.9,en;q=0.8", "de-DE,de;q=0.9", "*"])
def test_pages_are_french_by_default(client, venue, path, browser):
    headers = {"Accept-Language": browser} if browser else {}
    page = text_of(client.get(path, headers=headers))
    assert '<html lang="fr">' in page
    assert "Aller au contenu principal" in page
    assert "Accueil" in page


@pytest.mark.parametrize("path", ["/", "/venues/lieu", "/resources/machine", "/login"])
def test_an_english_browser_gets_english_on_a_first_visit(client, venue, path):
    page = text_of(client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}))
    assert '<html lang="en">' in page
    assert "Skip to main content" in page
    # The switch still wins over the browser.
    client.get("/lang/fr")
    page = text_of(client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert '<html lang="fr">' in page


def test_the_language_chosen_with_the_switch_is_saved_to_the_profile(client, auth, make):
    from booking.models import User

    member = make.user(make.venue(), locale="fr")
    auth.login(member.email)
    client.get("/lang/en?next=/")
    assert db.session.get(User, member.id).locale == "en"
    # On another device (a new session), the account's language is used.
    other = client.application.test_client()
    other.post("/login", data={"email": member.email, "password": PASSWORD})
    assert '<html lang="en">' in other.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/venues/lieu", "/resources/machine", "/login"])
def test_pages_switch_to_english_and_back(client, venue, path):
    response = client.get(f"/lang/en?next={path}", follow_redirects=True)
    page = text_of(response)
    assert '<html lang="en">' in page
    assert "Skip to main content" in page
    assert "Aller au contenu principal" not in page

    page = text_of(client.get(f"/lang/fr?next={path}", follow_redirects=True))
    assert '<html lang="fr">' in page
    assert "Aller au contenu principal" in page


def test_current_language_is_marked_in_the_switch(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/lang/fr\?next=/"\s+lang="fr"\s+hreflang="fr"\s+aria-current', page)


def test_templates_follow_a_forced_language_within_a_request(app):
    """Templates keep the request's translations at hand; a forced language (e-mails in
    the recipient's language) must still win, and the request's come back after."""
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert render_template_string("{{ _('Home') }}") == "Accueil"
        with force_locale("en"):
            assert render_template_string("{{ _('Home') }}") == "Home"
        assert render_template_string("{{ _('Home') }}") == "Accueil"


def test_counted_refusals_agree_with_their_number(app):
    """« Il ne reste que 1 places libres » reads as a machine wrote it."""
    from datetime import date

    from booking.presentation.messages import violation_message
    from booking.rules import Violation

    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        one_free = Violation("capacity", "starts_at", {"capacity": 8, "free": 1})
        assert violation_message(one_free).startswith("Il ne reste que 1 place libre à ce")
        two_free = Violation("capacity", "starts_at", {"capacity": 8, "free": 2})
        assert violation_message(two_free).startswith("Il ne reste que 2 places libres")
        horizon = Violation("horizon", "starts_at", {"days": 1, "last_day": date(2026, 3, 3)})
        assert violation_message(horizon).startswith("On peut réserver 1 jour à l’avance")
        over = Violation("seats_over_capacity", "seats", {"capacity": 1})
        assert violation_message(over) == "Cette ressource a 1 place\u00a0: réservez-en une seule."
