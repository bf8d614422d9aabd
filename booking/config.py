"""Configuration: defaults, then instance/config.py, then the environment, then tests.

Two profiles. Development (the default) needs nothing: the database and the
secret key live in instance/. Production (``BOOKING_ENV=production``) refuses
to start without a real secret key, the host names the site answers to
(``ALLOWED_HOSTS``) and its public address (``EXTERNAL_URL``), and then sends
cookies over HTTPS only and trusts the reverse proxy's forwarded headers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

ENVIRONMENT_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "SITE_NAME",
    "BABEL_DEFAULT_LOCALE",
    "BOOKING_ENV",
    "ALLOWED_HOSTS",
    "EXTERNAL_URL",
    "PROXY_HOPS",
    "PRIVACY_CONTACT",
    "CALENDAR_ALLOWED_HOSTS",
)

# Keys that tutorials and examples use: a site signed with one of these can be forged.
WEAK_SECRET_KEYS = frozenset(
    {
        "dev",
        "development",
        "secret",
        "secret-key",
        "secret_key",
        "changeme",
        "change-me",
        "test",
        "testing",
        "password",
        "flask",
        "booking",
        "default",
        "key",
    }
)
# deploy/booking.env.example holds a placeholder beginning with this wherever a site
# must choose a secret of its own: a site started with one is refused, since anyone
# can read the example (and, with its key, forge sessions and calendar links).
PLACEHOLDER_PREFIX = "replace-with"
EXAMPLE_FILE = "deploy/booking.env.example"
MIN_SECRET_KEY_LENGTH = 12
MIN_PRODUCTION_SECRET_KEY_LENGTH = 32
# Host names a development server answers to without ALLOWED_HOSTS.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1"]
KEY_RECIPE = "`python3 -c 'import secrets; print(secrets.token_hex(32))'`"


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


# E-mail and rate-limit settings read from the environment, with their types.
MAIL_ENVIRONMENT: dict[str, Callable[[str], Any]] = {
    "SMTP_HOST": str,
    "SMTP_PORT": int,
    "SMTP_SECURITY": str,
    "SMTP_USER": str,
    "SMTP_PASSWORD": str,
    "SMTP_TIMEOUT": int,
    "SMTP_CA_FILE": str,
    "MAIL_FROM": str,
    "MAIL_SEND_IN_BACKGROUND": lambda value: value.strip().lower() in ("1", "true", "yes", "on"),
    "RATELIMIT_STORAGE_URI": str,
}
SMTP_SECURITY_MODES = ("starttls", "tls", "none")


def default_config(instance_path: str) -> dict[str, Any]:
    database = Path(instance_path) / "booking.sqlite3"
    return {
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SITE_NAME": "Tiers-lieux",
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        # How far back and ahead the iCal feeds reach.
        "FEED_DAYS_BACK": 90,
        "FEED_DAYS_AHEAD": 365,
        # How long cancelled and refused reservations stay in private feeds.
        "FEED_KEEP_CANCELLED_DAYS": 30,
        # Seconds SQLite waits for another writer before giving up.
        "SQLITE_BUSY_TIMEOUT": 15,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        # A form left open longer than this asks to be reloaded (the 400 page says so).
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,
        # Forms are small: a larger body is refused (413) before it is read.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "BOOKING_ENV": "development",
        # Comma-separated host names the site answers to; other Host headers get 400.
        "ALLOWED_HOSTS": "",
        # The site's public address, e.g. https://reservations.example.org (links in
        # e-mails and feeds; https turns secure cookies and HSTS on).
        "EXTERNAL_URL": "",
        # How many reverse proxies in front set X-Forwarded-* (production).
        "PROXY_HOPS": 1,
        # Shown on the privacy page: whom to write to about personal data.
        "PRIVACY_CONTACT": "",
        # Without SMTP_HOST, messages are written to instance/mail/ instead.
        "SMTP_HOST": "",
        "SMTP_PORT": 587,
        "SMTP_SECURITY": "starttls",  # starttls, tls (from the first byte) or none
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
        "SMTP_TIMEOUT": 20,
        "SMTP_CA_FILE": "",  # a CA bundle for a mail server with a private certificate
        "MAIL_FROM": "Tiers-lieux <ne-pas-repondre@localhost>",
        # Each app process sends what is due from a background thread; turn it
        # off to send only with `flask send-mail` (cron or --loop).
        "MAIL_SEND_IN_BACKGROUND": True,
        "MAIL_POLL_SECONDS": 5,
        "PASSWORD_RESET_HOURS": 2,
        "WELCOME_LINK_DAYS": 7,
        "INVITATION_DAYS": 14,
        # Rate limits (Flask-Limiter): in this process's memory unless a shared
        # storage is named, e.g. "redis://localhost:6379".
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Calendars a venue follows (booking.security.fetching): hosts whose address is
        # not public that may be fetched all the same (comma-separated names or
        # addresses, e.g. a Nextcloud on the local network); the largest calendar read,
        # the longest a fetch may take, and how often each one is read again.
        "CALENDAR_ALLOWED_HOSTS": "",
        "CALENDAR_MAX_BYTES": 5 * 1024 * 1024,
        "CALENDAR_FETCH_TIMEOUT": 10,
        "CALENDAR_REFRESH_MINUTES": 15,
        # The largest .ics or .csv of existing bookings a manager may import.
        "IMPORT_MAX_BYTES": 10 * 1024 * 1024,
    }


# The Flask-SQLAlchemy bind of the replica (booking.database reads it), and how long a
# request waits for the replica to accept a connection before reading the primary.
REPLICA_BIND = "replica"
REPLICA_CONNECT_TIMEOUT = 3


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` and ``postgresql://`` forms and use psycopg 3.

    libpq's way of naming several servers, ``postgresql://user@host1:5432,host2:5432/db``,
    becomes SQLAlchemy's ``postgresql+psycopg://user@/db?host=host1:5432&host=host2:5432``.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            break
    if not url.startswith("postgresql"):
        return url
    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return url
    query = "&".join([*(f"host={host}" for host in hosts.split(",") if host), parts.query])
    return urlunsplit(parts._replace(netloc=user + at, query=query.rstrip("&")))


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(default_config(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    for key in ENVIRONMENT_KEYS:
        value = os.environ.get(key)
        if value:
            app.config[key] = value
    for key, convert in MAIL_ENVIRONMENT.items():
        value = os.environ.get(key)
        if value:
            try:
                app.config[key] = convert(value)
            except ValueError:
                raise ConfigurationError(f"{key}={value!r} is not a valid value") from None
    if test_config is not None:
        app.config.from_mapping(test_config)
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # After PostgreSQL restarts, pooled connections are dead: each one is
        # checked before use (booking.database) so that the app recovers by itself.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        # Sessions in UTC, whatever the server's default: instants come back in UTC
        # (nothing to convert on every value read) and no SQL depends on the server.
        options.setdefault("connect_args", {}).setdefault("options", "-c TimeZone=UTC")
    if app.config.get("DATABASE_REPLICA_URL"):
        apply_replica(app, normalise_database_url(str(app.config["DATABASE_REPLICA_URL"])))
    production = app.config["BOOKING_ENV"] == "production"
    app.config["PRODUCTION"] = production
    if app.config["SMTP_SECURITY"] not in SMTP_SECURITY_MODES:
        raise ConfigurationError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}")
    refuse_placeholders(app.config)
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigurationError(
                "BOOKING_ENV=production needs SECRET_KEY: set it to a long random value, for "
                f"example the output of {KEY_RECIPE}."
            )
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    elif not app.config.get("TESTING"):
        check_secret_key(str(app.config["SECRET_KEY"]), production)
    apply_hosts(app, production)


def apply_replica(app: Flask, url: str) -> None:
    """A PostgreSQL replica that public pages and feeds read from (booking.database)."""
    if not (
        url.startswith("postgresql")
        and app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    ):
        raise ConfigurationError(
            "DATABASE_REPLICA_URL names a PostgreSQL standby of the PostgreSQL database in "
            "DATABASE_URL, for example postgresql://booking@db2.example.org/booking."
        )
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    connect_args = {**options["connect_args"], "connect_timeout": REPLICA_CONNECT_TIMEOUT}
    binds = app.config.setdefault("SQLALCHEMY_BINDS", {})
    binds[REPLICA_BIND] = {**options, "url": url, "connect_args": connect_args}


def instance_secret_key(instance_path: Path) -> str:
    """The key kept in instance/secret_key, created on first use.

    A key generated at each start would log everyone out and change every
    feed URL whenever the server restarts.
    """
    path = instance_path / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(PLACEHOLDER_PREFIX)


def refuse_placeholders(config: dict[str, Any]) -> None:
    """Refuse to start with a secret still as the example file has it, saying what to set."""
    if is_placeholder(config.get("SECRET_KEY")):
        raise ConfigurationError(
            f"SECRET_KEY is still the example value of {EXAMPLE_FILE}, which anyone can "
            f"read: set it to a long random value of your own, for example the output of "
            f"{KEY_RECIPE}."
        )
    if is_placeholder(config.get("SMTP_PASSWORD")):
        raise ConfigurationError(
            f"SMTP_PASSWORD is still the example value of {EXAMPLE_FILE}: set it to the "
            "password of the mail account SMTP_USER, or leave both empty for a mail server "
            "that needs no login."
        )
    for key in ("SQLALCHEMY_DATABASE_URI", "RATELIMIT_STORAGE_URI"):
        if is_placeholder(urlsplit(str(config.get(key) or "")).password):
            name = "DATABASE_URL" if key == "SQLALCHEMY_DATABASE_URI" else key
            raise ConfigurationError(
                f"The password in {name} is still the example value of {EXAMPLE_FILE}: "
                "set the one of your server's account."
            )


def check_secret_key(key: str, production: bool) -> None:
    minimum = MIN_PRODUCTION_SECRET_KEY_LENGTH if production else MIN_SECRET_KEY_LENGTH
    if key.strip().lower() in WEAK_SECRET_KEYS or len(key) < minimum:
        raise ConfigurationError(
            f"SECRET_KEY is too weak: use at least {minimum} random characters, for example "
            f"the output of {KEY_RECIPE}."
        )


def apply_hosts(app: Flask, production: bool) -> None:
    """Allowed host names, and the public address links are made with."""
    config = app.config
    hosts = [h.strip() for h in str(config.get("ALLOWED_HOSTS") or "").split(",") if h.strip()]
    external = str(config.get("EXTERNAL_URL") or "").strip().rstrip("/")
    if production and not hosts:
        raise ConfigurationError(
            "BOOKING_ENV=production needs ALLOWED_HOSTS: the host names of the site, separated "
            "by commas (for example reservations.example.org)."
        )
    if production and not external:
        raise ConfigurationError(
            "BOOKING_ENV=production needs EXTERNAL_URL: the site's public address, "
            "for example https://reservations.example.org."
        )
    if config.get("TRUSTED_HOSTS") is None:
        config["TRUSTED_HOSTS"] = hosts or (None if config.get("TESTING") else LOCAL_HOSTS)
    if external:
        parts = urlsplit(external)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"EXTERNAL_URL must look like https://reservations.example.org, not {external!r}."
            )
        config["PREFERRED_URL_SCHEME"] = parts.scheme
        config["EXTERNAL_URL"] = external
    if config.get("PREFERRED_URL_SCHEME") == "https":
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
