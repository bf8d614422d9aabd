"""Command line: flask --app booking <command>."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask_migrate import upgrade

from .extensions import db
from .models import User


def init_app(app: Flask) -> None:
    for command in (init_db, seed_demo, create_user, backup, expire_pending_command):
        app.cli.add_command(command)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade()
    click.echo("Base de données à jour.")


@click.command("seed-demo")
@click.option("--no-bookings", is_flag=True, help="Only venues, resources and accounts.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has any venue.")
def seed_demo(no_bookings: bool, if_empty: bool) -> None:
    """Load the demo venues, resources, accounts and a fortnight of bookings (idempotent)."""
    from .demo import seed_reference_data
    from .demo_bookings import seed_demo_bookings
    from .models import Venue

    if if_empty and db.session.scalar(sa.select(Venue.id).limit(1)):
        click.echo("La base contient déjà des lieux : données de démonstration non chargées.")
        return

    changed = seed_reference_data(report=lambda line: click.echo(f"  {line}"))
    if not no_bookings:
        count = seed_demo_bookings(report=lambda line: click.echo(f"  {line}"))
        changed = changed or count > 0
    click.echo("Données de démonstration chargées." if changed else "Rien à faire : déjà chargées.")


@click.command("create-user")
@click.option("--email", prompt="Adresse e-mail", help="Login of the new account.")
@click.option("--name", prompt="Nom affiché", help="Name shown to other people.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--locale", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.password_option("--password", prompt="Mot de passe", help="Asked for when not given.")
def create_user(email: str, name: str, admin: bool, locale: str, password: str) -> None:
    """Create an account; the password is asked for twice and never echoed."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.BadParameter(
            f"adresse e-mail invalide : {error}", param_hint="--email"
        ) from None
    if len(password) < 8:
        raise click.BadParameter(
            "le mot de passe doit faire au moins 8 caractères", param_hint="--password"
        )
    if not name.strip():
        raise click.BadParameter("le nom ne peut pas être vide", param_hint="--name")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise click.ClickException(f"Un compte existe déjà pour {email}.")
    user = User(email=email, display_name=name.strip(), is_admin=admin, locale=locale)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Compte créé : {email}{' (administrateur)' if admin else ''}.")


@click.command("expire-pending")
def expire_pending_command() -> None:
    """Mark pending requests whose start has passed as expired (for cron)."""
    from .services.lifecycle import expire_pending

    count = expire_pending(datetime.now(UTC))
    click.echo(f"{count} demande(s) expirée(s).")


@click.command("backup")
@click.option(
    "--to",
    "target_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the backup (default: instance/backups).",
)
def backup(target_dir: Path | None) -> None:
    """Write a consistent copy of the database."""
    target_dir = target_dir or Path(current_app.instance_path) / "backups"
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        target = target_dir / f"booking-{stamp}.sqlite3"
        source = sqlite3.connect(url.database or "")
        try:
            with sqlite3.connect(target) as destination:
                source.backup(destination)
        finally:
            source.close()
    else:
        if shutil.which("pg_dump") is None:
            raise click.ClickException(
                "pg_dump est introuvable : installez le paquet postgresql-client puis relancez."
            )
        target = target_dir / f"booking-{stamp}.dump"
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "--format=custom", f"--file={target}", plain], check=True)
    click.echo(f"Sauvegarde écrite : {target}")
