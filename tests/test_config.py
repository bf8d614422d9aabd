"""The application factory and the order in which configuration is read."""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.config import normalise_database_url


def test_defaults_use_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    for key in ("SECRET_KEY", "DATABASE_URL", "SITE_NAME", "BABEL_DEFAULT_LOCALE"):
        monkeypatch.delenv(key, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'booking.sqlite3'}"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "fr"
    assert not app.testing


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) >= 64
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_instance_file_then_environment_then_test_config(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "SITE_NAME = 'Depuis instance'\nSECRET_KEY = 'instance-key'\nFEED_DAYS_AHEAD = 30\n"
    )
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SITE_NAME", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SITE_NAME"] == "Depuis instance"
    assert app.config["FEED_DAYS_AHEAD"] == 30

    monkeypatch.setenv("SITE_NAME", "Depuis l'environnement")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/db")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SITE_NAME"] == "Depuis l'environnement"
    assert app.config["SECRET_KEY"] == "instance-key"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1:1/db"

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SITE_NAME": "Depuis le test"})
    assert app.config["SITE_NAME"] == "Depuis le test"


def test_no_secret_file_when_a_key_is_given(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
        # libpq's list of servers, the one that accepts writes chosen at each connection
        (
            "postgresql://a:p%40ss@h1:5432,h2:5433/d?target_session_attrs=read-write",
            "postgresql+psycopg://a:p%40ss@/d?host=h1:5432&host=h2:5433&target_session_attrs=read-write",
        ),
        ("postgresql://a@h1,h2/d", "postgresql+psycopg://a@/d?host=h1&host=h2"),
    ],
)
def test_database_urls_use_psycopg_3(given, used):
    assert normalise_database_url(given) == used


def test_a_list_of_servers_reaches_the_driver_as_libpq_expects_it(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write"
    )
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40})
    with app.app_context():
        from booking.extensions import db

        _, params = db.engine.dialect.create_connect_args(db.engine.url)
    assert params["host"] == "h1,h2" and params["port"] == "5432,5433"
    assert params["target_session_attrs"] == "read-write"


def test_a_replica_is_a_second_postgresql_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@primary.example.org/db")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://u@standby.example.org/db")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40})
    with app.app_context():
        from booking.extensions import db

        replica = db.engines["replica"]
    assert replica.url.host == "standby.example.org"
    assert replica.url.drivername == "postgresql+psycopg"
    # Sessions in UTC and without JIT as on the primary; a replica that does not answer is
    # given up soon.
    connect_args = app.config["SQLALCHEMY_BINDS"]["replica"]["connect_args"]
    assert connect_args == {"options": "-c TimeZone=UTC -c jit=off", "connect_timeout": 3}


def test_an_app_with_a_replica_leaves_none_to_the_next(tmp_path, monkeypatch):
    """The replica has the primary's tables, none of its own: an app of the same process
    configured without one (the next test, a command) still creates its tables."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@primary.example.org/db")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql://u@standby.example.org/db")
    create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40})
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("DATABASE_REPLICA_URL")
    plain = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40})
    with plain.app_context():
        from booking.extensions import db

        db.create_all()
        assert "venue" in sa.inspect(db.engine).get_table_names()


def test_a_replica_needs_postgresql_on_both_sides(tmp_path, monkeypatch):
    from booking.config import ConfigurationError

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql://u@standby.example.org/db")
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40})


def test_a_worker_loads_no_library_it_may_never_use(tmp_path):
    """Each gunicorn worker holds what the app imports (benchmarks/load.py holds them to
    120 MB): the password estimator's lists (12 MB), migrations, the spreadsheet writer,
    the holidays and the calendar expander are imported by what uses them, not at start."""
    import subprocess
    import sys

    heavy = ("zxcvbn", "alembic", "odf", "holidays", "recurring_ical_events", "x_wr_timezone")
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, wsgi; print(','.join(m for m in {heavy!r} if m in sys.modules))",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == ""
