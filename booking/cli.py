"""Command line: flask --app booking <command>."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from psycopg.conninfo import make_conninfo

from . import clock
from .extensions import db
from .models import User

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class _MigrationSettings:
    """Flask-Migrate's settings (``app.extensions["migrate"]``), made when something first
    reads them: ``flask db …``, or ``flask_migrate.upgrade`` called by the tests and the
    benchmarks. Alembic, which Flask-Migrate loads, weighs some 9 MB that a web worker,
    which never migrates, does without."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        from flask_migrate import Migrate

        # Puts the real settings in app.extensions, and the real `db` commands in app.cli.
        Migrate(self._app, db, directory=str(MIGRATIONS), render_as_batch=True)
        return getattr(self._app.extensions["migrate"], name)


class _MigrationCommands(click.Group):
    """``flask db …``: Flask-Migrate's commands, loaded when the command line asks."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        from flask_migrate.cli import db as commands

        # Its context, its options and its commands: the real group runs from here on.
        return commands.make_context(info_name, args, parent=parent, **extra)


def init_app(app: Flask) -> None:
    app.extensions["migrate"] = _MigrationSettings(app)
    app.cli.add_command(_MigrationCommands("db", help="Perform database migrations."))
    for command in (
        init_db,
        seed_demo,
        create_user,
        backup,
        restore,
        expire_pending_command,
        purge_old_data,
        send_mail,
        send_reminders,
        refresh_calendars,
    ):
        app.cli.add_command(command)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo(_("Database schema is up to date."))


@click.command("seed-demo")
@click.option("--no-bookings", is_flag=True, help="Only venues, resources and accounts.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has any venue.")
def seed_demo(no_bookings: bool, if_empty: bool) -> None:
    """Load the demo venues, resources, accounts, a year of history and a fortnight of
    bookings (idempotent)."""
    from .demo import seed_demo_bookings, seed_demo_history, seed_reference_data, without_messages
    from .models import Venue

    if if_empty and db.session.scalar(sa.select(Venue.id).limit(1)):
        click.echo(_("The database already has venues: demo data not loaded."))
        return

    with without_messages():
        changed = seed_reference_data(report=lambda line: click.echo(f"  {line}"))
        if not no_bookings:
            count = seed_demo_bookings(report=lambda line: click.echo(f"  {line}"))
            count += seed_demo_history(report=lambda line: click.echo(f"  {line}"))
            changed = changed or count > 0
    click.echo(_("Demo data loaded.") if changed else _("Nothing to do: demo data already loaded."))


@click.command("create-user")
@click.option("--email", prompt="E-mail", help="Login of the new account.")
@click.option("--name", prompt="Name", help="Name shown to other people.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--locale", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.password_option("--password", prompt="Password", help="Asked for when not given.")
def create_user(email: str, name: str, admin: bool, locale: str, password: str) -> None:
    """Create an account; the password is asked for twice and never echoed."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.BadParameter(
            _("invalid e-mail address: %(error)s", error=error), param_hint="--email"
        ) from None
    if len(password) < 8:
        raise click.BadParameter(
            _("the password needs at least 8 characters"), param_hint="--password"
        )
    if not name.strip():
        raise click.BadParameter(_("the name cannot be empty"), param_hint="--name")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise click.ClickException(_("An account already exists for %(email)s.", email=email))
    user = User(email=email, display_name=name.strip(), is_admin=admin, locale=locale)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    if admin:
        click.echo(_("Administrator account created: %(email)s.", email=email))
    else:
        click.echo(_("Account created: %(email)s.", email=email))


@click.command("expire-pending")
def expire_pending_command() -> None:
    """Mark pending requests whose start has passed as expired (for cron)."""
    from .services.booking.lifecycle import expire_pending

    count = expire_pending(datetime.now(UTC))
    click.echo(ngettext("%(num)d request expired.", "%(num)d requests expired.", count))


@click.command("purge-old-data")
def purge_old_data() -> None:
    """Delete what has served its purpose: sent e-mails, answered requests, idle logins."""
    from .services.accounts.privacy import purge_expired

    gone = purge_expired(datetime.now(UTC))
    click.echo(
        _(
            "Deleted: %(emails)d e-mails, %(requests)d requests to join, "
            "%(invitations)d invitations, %(sessions)d login sessions.",
            emails=gone["emails"],
            requests=gone["requests_to_join"],
            invitations=gone["invitations"],
            sessions=gone["login_sessions"],
        )
    )


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running: look for messages every few seconds.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between two looks, with --loop.",
)
@click.option(
    "--now",
    "at_once",
    is_flag=True,
    help="Also send the messages waiting for their next try (after a mail server outage).",
)
def send_mail(loop: bool, interval: float, at_once: bool) -> None:
    """Send the e-mails that are due (for cron, or as a worker with --loop)."""
    from .notifications import Cycle, send_due, send_waiting_now, transport

    click.echo(_("Sending through %(where)s.", where=transport().description))
    if at_once:
        woken = send_waiting_now(clock.now())
        click.echo(
            ngettext(
                "%(num)d message waiting for its next try goes now.",
                "%(num)d messages waiting for their next try go now.",
                woken,
            )
        )
    if not loop:
        report = send_due(clock.now())
        click.echo(
            _(
                "%(sent)d sent, %(retrying)d to try again later, %(failed)d failed, "
                "%(dropped)d no longer needed.",
                sent=report.sent,
                retrying=report.retrying,
                failed=report.failed,
                dropped=report.dropped,
            )
        )
        return
    cycle = Cycle()
    while True:
        report = cycle.run(clock.now())
        if report.handled:
            click.echo(
                _("%(sent)d sent, %(failed)d failed.", sent=report.sent, failed=report.failed)
            )
        db.session.remove()
        time.sleep(interval)


@click.command("send-reminders")
def send_reminders() -> None:
    """Record tomorrow's booking reminders and the trainings about to expire (for cron)."""
    from .services.booking.reminders import record_reminders

    count = record_reminders(clock.now())
    click.echo(ngettext("%(num)d reminder to send.", "%(num)d reminders to send.", count))


@click.command("refresh-calendars")
def refresh_calendars() -> None:
    """Read the followed calendars again, write recurring closures ahead (for cron)."""
    from .notifications.calendars import run_calendars

    def report(calendar_id: int, outcome: Any) -> None:
        if outcome.error:
            click.echo(
                _(
                    "Calendar %(id)d could not be read: %(error)s.",
                    id=calendar_id,
                    error=outcome.error,
                )
            )
        else:
            click.echo(
                _(
                    "Calendar %(id)d: %(added)d busy times added, %(removed)d removed.",
                    id=calendar_id,
                    added=outcome.added,
                    removed=outcome.removed,
                )
            )

    summary = run_calendars(clock.now(), current_app.config, report=report)
    click.echo(
        _(
            "%(calendars)d calendars read (%(failed)d failed); %(occurrences)d recurring "
            "closures written ahead.",
            calendars=len(summary.calendars),
            failed=summary.failed,
            occurrences=summary.occurrences,
        )
    )


@click.command("backup")
@click.option(
    "--to",
    "target_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the backup (default: instance/backups).",
)
def backup(target_dir: Path | None) -> None:
    """Write a consistent copy of the database.

    A backup holds every account's e-mail address and password hash: it is written
    readable by its owner only (0600), in a folder only its owner may open (0700).
    """
    default_dir = Path(current_app.instance_path) / "backups"
    target_dir = target_dir or default_dir
    if not target_dir.exists() or target_dir == default_dir:
        target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target_dir.chmod(0o700)  # also one made by an earlier version, 0755
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        target = target_dir / f"booking-{stamp}.sqlite3"
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        source = sqlite3.connect(url.database or "")
        try:
            with sqlite3.connect(target) as destination:
                source.backup(destination)
        finally:
            source.close()
    else:
        if shutil.which("pg_dump") is None:
            raise click.ClickException(
                _("pg_dump was not found: install the postgresql-client package, then try again.")
            )
        target = target_dir / f"booking-{stamp}.dump"
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        address, env = _libpq()
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={target}", address],
            check=True,
            env=env,
            umask=0o077,
        )
    target.chmod(0o600)
    click.echo(_("Backup written: %(path)s", path=target))


def _libpq() -> tuple[str, dict[str, str]]:
    """The database as pg_dump and pg_restore name it, and the environment they run in.

    A libpq connection string keeps every server of a DATABASE_URL that lists several
    (``host=db1,db2 port=5432,5432``, which a URL cannot say to libpq) and
    ``target_session_attrs``, so that both reach the primary after a fail-over. The
    password goes in the environment (``PGPASSWORD``), never on the command line, which
    every account on the server can read (``ps``).
    """
    _, params = db.engine.dialect.create_connect_args(db.engine.url)
    password = params.pop("password", None)
    address = make_conninfo(**{k: v for k, v in params.items() if isinstance(v, str | int)})
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return address, env


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(source: Path, yes: bool) -> None:
    """Replace the database's content with a backup written by `backup` (stop the app first)."""
    if not yes:
        click.confirm(
            _("Every current booking and account will be replaced by the backup. Continue?"),
            abort=True,
        )
    from .notifications import hold_interrupted

    began = clock.now()
    url = db.engine.url
    address, env = _libpq() if url.get_backend_name() != "sqlite" else ("", {})
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup_file, sqlite3.connect(url.database or "") as target:
            backup_file.backup(target)
    else:
        if shutil.which("pg_restore") is None:
            raise click.ClickException(
                _(
                    "pg_restore was not found: install the postgresql-client package, "
                    "then try again."
                )
            )
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={address}",
                str(source),
            ],
            check=True,
            env=env,
        )
    click.echo(_("Database restored from %(path)s.", path=source))
    # E-mails the backup shows being sent may have arrived already: an administrator
    # sends or drops each one, rather than every recipient getting it again.
    held = hold_interrupted(began)
    if held:
        click.echo(
            ngettext(
                "%(num)d e-mail was being sent when the backup was taken: it may have "
                "arrived already. It waits on /admin/messages for an administrator to send "
                "or drop it.",
                "%(num)d e-mails were being sent when the backup was taken: they may have "
                "arrived already. They wait on /admin/messages for an administrator to send "
                "or drop them.",
                held,
            )
        )
