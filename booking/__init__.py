"""Shared-resource booking for tiers-lieux."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from .config import load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = (test_config or {}).get("INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app, test_config)

    from . import cli, models, notifications, presentation  # noqa: F401  (models register tables)
    from .database import REPLICA, configure_engine
    from .extensions import csrf, db
    from .security import headers, limits
    from .views import register_blueprints

    db.init_app(app)
    # The replica holds the primary's tables, none of its own: without a metadata of its
    # own, create_all and the schema checks never address it (Flask-SQLAlchemy keeps
    # one per bind for the life of the process, whichever app configured it).
    db.metadatas.pop(REPLICA, None)
    csrf.init_app(app)
    limits.init_app(app)
    configure_engine(app)
    presentation.init_app(app)
    headers.init_app(app)
    register_blueprints(app)
    notifications.init_app(app)
    cli.init_app(app)
    return app
