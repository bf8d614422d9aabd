"""Configuration: defaults, then instance/config.py, then the environment, then tests."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

ENVIRONMENT_KEYS = ("SECRET_KEY", "DATABASE_URL", "SITE_NAME", "BABEL_DEFAULT_LOCALE")


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
    if test_config is not None:
        app.config.from_mapping(test_config)
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
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
