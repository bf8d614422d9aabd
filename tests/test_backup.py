"""A backup, restored, gives back exactly the data it was taken from, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner

from booking.extensions import db
from booking.models import Reservation, Venue

pytestmark = pytest.mark.postgres


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    data = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            data[table.name] = [
                tuple(row) for row in connection.execute(sa.select(table).order_by(*order))
            ]
    return data


def test_a_backup_restores_every_row(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = snapshot()
    assert before["reservation"] and before["feed_stamp"]

    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (copy,) = (tmp_path / "backups").iterdir()

    # Life goes on after the backup, then something goes wrong.
    db.session.execute(sa.delete(Reservation).where(Reservation.id > 3))
    db.session.add(Venue(slug="apres", name="Après la sauvegarde"))
    db.session.commit()
    db.session.remove()
    assert snapshot() != before

    refused = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert refused.exit_code != 0 and snapshot() != before  # asked first, said no
    result = runner.invoke(args=["restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before

    # The restored database works as before, its triggers included.
    reservation = db.session.scalar(sa.select(Reservation).limit(1))
    reservation.sequence += 1
    db.session.commit()
    stamps = db.session.execute(sa.text("SELECT sum(version) FROM feed_stamp")).scalar()
    assert stamps > sum(row[2] for row in before["feed_stamp"])
