"""Configuration: defaults, then instance/config.py, then the environment, then tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

ENVIRONMENT_KEYS = ("SECRET_KEY", "DATABASE_URL", "SITE_NAME", "BABEL_DEFAULT_LOCALE")
# E-mail and rate-limit settings read from the environment, with their types.
MAIL_ENVIRONMENT: dict[str, Callable[[str], Any]] = {
    "BASE_URL": str,
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
        "WTF_CSRF_TIME_LIMIT": None,
        # Links in e-mails start with this ("https://reservations.example.org");
        # empty: the address the site was first reached at, else localhost.
        "BASE_URL": "",
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
    }


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` and ``postgresql://`` forms and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


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
                raise RuntimeError(f"{key}={value!r} is not a valid value") from None
    if test_config is not None:
        app.config.from_mapping(test_config)
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SMTP_SECURITY"] not in SMTP_SECURITY_MODES:
        raise RuntimeError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


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
