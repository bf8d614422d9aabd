"""Languages: French first, English second."""

from __future__ import annotations

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_translations
from flask_login import current_user

from ..extensions import babel

TRANSLATIONS_DIR = "translations"


def select_locale() -> str:
    """An explicit choice in this browser, else the account's language, else the
    browser's preferred language among ours, else French.

    A choice made with the switch is kept in the session and, for logged-in
    people, on their account: it follows them to other devices and e-mails.
    """
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    default = default if default in languages else languages[0]
    if not has_request_context():  # command line, feeds built outside a request
        return default
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages, default=default) or default


def _translations() -> Translations | NullTranslations:
    """The current request's translations, kept beside Flask-Babel's state for as long as
    its locale stays the same object (``force_locale`` and ``refresh`` replace it).

    Templates ask for a sentence at every ``_()``; Flask-Babel looks the locale up anew
    each time, which made translating most of the cost of a week page.
    """
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None) if state is not None else None
    if locale is not None:
        cached = getattr(state, "booking_translations", None)
        if cached is not None and cached[0] is locale:
            return cached[1]
    translations = get_translations()
    state = g.get("_flask_babel")
    if state is not None and getattr(state, "babel_locale", None) is not None:
        state.booking_translations = (state.babel_locale, translations)
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=TRANSLATIONS_DIR,
    )
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
    )

    @app.context_processor
    def inject_language() -> dict[str, object]:
        from flask_babel import get_locale

        return {"current_lang": str(get_locale()), "languages": app.config["LANGUAGES"]}
