"""Importing existing bookings from a calendar's export (.ics) or a spreadsheet (.csv):
each event mapped to a resource and a person, previewed free or in conflict by the
engine itself, the free ones imported in one transaction, a second import of the same
file adding nothing; hostile files refused with nothing kept, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import AdminEvent, AuditEvent, CalendarImport, ImportedEvent, Reservation
from booking.services.errors import ChangedMeanwhileError, SettingsError
from booking.services.venues.imports import preview_import, run_import, upload

from .conftest import PASSWORD, Factory, book_as, paris
from .support.calendar_server import fixture

pytestmark = [pytest.mark.postgres]

NOW = paris(2026, 3, 2, 9, 0)
LIMIT = 10 * 1024 * 1024
CSV = (
    "Date;Début;Fin;Salle;E-mail;Nom;Objet\r\n"
    "05/03/2026;10:00;12:00;Cuisine;amina@example.org;Amina;Repas partagé\r\n"
    "06/03/2026;14h;16h30;cuisine;;Mme Diallo;Traiteur\r\n"
    "07/03/2026;25:00;26:00;Cuisine;;;Heure impossible\r\n"
    "06/03/2026;15:00;16:00;Cuisine;;M. Petit;Chevauche le traiteur\r\n"
).encode("cp1252")


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins")  # open 8:00–20:00
    return {
        "venue": venue,
        "kitchen": make.resource(venue, slug="cuisine", name="Cuisine", min_notice_minutes=2880),
        "room": make.resource(venue, slug="salle", name="Salle informatique"),
        "member": make.user(venue, email="amina@example.org", display_name="Amina Haddad"),
        "manager": make.manager(venue, email="nadia@example.org", display_name="Nadia Benali"),
    }


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_nextcloud_export_is_mapped_previewed_and_imported_once(place: dict) -> None:
    manager = place["manager"].id
    kept = upload(place["venue"].id, manager, "cuisine.ics", fixture("nextcloud.ics"), NOW, LIMIT)
    shown = preview_import(kept.id, manager, NOW)
    # The location "Cuisine" names the kitchen; Amina is found by her e-mail; the 4 March
    # meal is within the kitchen's two days' notice, which an import sets aside as a
    # manager may; the cancelled event of 7 March is an event like any in a file.
    assert shown.mapping.values == {"Cuisine": place["kitchen"].id, "": None}
    assert shown.counts["free"] == 4
    first = shown.lines[0]
    assert (first.member_id, first.purpose) == (place["member"].id, "Repas des aînés")
    result = run_import(kept.id, manager, NOW, shown.mapping, expected=4)
    assert result.imported == 4
    reservations = db.session.scalars(sa.select(Reservation).order_by(Reservation.starts_at)).all()
    assert [r.starts_at for r in reservations][:2] == [
        paris(2026, 3, 4, 10),
        paris(2026, 3, 18, 10),
    ]
    assert {r.overrides for r in reservations} == {"horizon,hours,notice,qualification,quota"}
    assert _count(AuditEvent) == 4 and _count(ImportedEvent) == 4
    logged = db.session.scalars(
        sa.select(AdminEvent).where(AdminEvent.action == "import.done")
    ).one()
    assert ["free", None, 4] in logged.changes
    db.session.expire_all()
    assert db.session.get(CalendarImport, kept.id).content == ""  # names no longer kept

    again = upload(place["venue"].id, manager, "cuisine.ics", fixture("nextcloud.ics"), NOW, LIMIT)
    shown = preview_import(again.id, manager, NOW)
    assert shown.counts["imported"] == 4 and shown.counts["free"] == 0
    run_import(again.id, manager, NOW, shown.mapping, expected=0)
    assert _count(Reservation) == 4


def test_a_spreadsheet_maps_people_by_e_mail_or_holds_for_someone_outside(place: dict) -> None:
    manager = place["manager"].id
    kept = upload(place["venue"].id, manager, "réservations.csv", CSV, NOW, LIMIT)
    shown = preview_import(kept.id, manager, NOW, for_someone="Pour %(name)s")
    assert shown.mapping.columns == {
        "day": "Date",
        "start": "Début",
        "end": "Fin",
        "resource": "Salle",
        "email": "E-mail",
        "name": "Nom",
        "purpose": "Objet",
    }
    states = [(line.state, line.member_id, line.purpose) for line in shown.lines]
    assert states == [
        ("free", place["member"].id, "Repas partagé"),
        ("free", manager, "Pour Mme Diallo — Traiteur"),
        ("unreadable", None, ""),
        ("conflict", manager, "Pour M. Petit — Chevauche le traiteur"),
    ]
    assert [v.code for v in shown.lines[3].violations] == ["capacity"]  # never set aside
    run_import(kept.id, manager, NOW, shown.mapping, expected=2, for_someone="Pour %(name)s")
    assert _count(Reservation) == 2


def test_a_booking_made_after_the_preview_stops_the_import_with_nothing_written(
    place: dict,
) -> None:
    manager = place["manager"].id
    kept = upload(place["venue"].id, manager, "réservations.csv", CSV, NOW, LIMIT)
    shown = preview_import(kept.id, manager, NOW)
    book_as(
        place["kitchen"],
        place["member"],
        starts_at=paris(2026, 3, 5, 11),
        ends_at=paris(2026, 3, 5, 12),
        now=NOW,
        actor=place["manager"],
        overrides=frozenset({"notice"}),
    )
    with pytest.raises(ChangedMeanwhileError):
        run_import(kept.id, manager, NOW, shown.mapping, expected=2)
    assert _count(Reservation) == 1 and _count(ImportedEvent) == 0


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("agenda.ics", fixture("broken.ics"), "calendar_broken_event"),
        ("agenda.ics", fixture("unknown_zone.ics"), "calendar_unknown_zone"),
        ("agenda.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\x00\x01garbage", "calendar_binary"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "calendar_binary"),
        ("agenda.pdf", b"%PDF-1.7 nothing", "import_format"),
        ("vide.csv", b"   ", "file_empty"),
        ("une-colonne.csv", b"rien\r\nde plus\r\n", "calendar_not_csv"),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_kept(
    place: dict, name: str, data: bytes, code: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        upload(place["venue"].id, place["manager"].id, name, data, NOW, LIMIT)
    assert [v.code for v in refused.value.violations] == [code]
    assert _count(CalendarImport) == 0


def test_the_screens_upload_preview_and_import(
    client: FlaskClient, auth, place: dict, clock
) -> None:
    clock.set(NOW)
    assert auth.login("nadia@example.org", PASSWORD).status_code == 302
    # The body written by hand: the test client would spool 50 MB to a temporary file.
    boundary = "----calendrier"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="enorme.ics"\r\nContent-Type: text/calendar\r\n\r\n'
        ).encode()
        + b"X" * (50 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    huge = client.post(
        "/manage/venues/moulins/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert huge.status_code == 413
    assert "Ce fichier est trop volumineux\u00a0: 10 Mo au plus." in huge.get_data(as_text=True)
    broken = client.post(
        "/manage/venues/moulins/imports",
        data={"file": (io.BytesIO(fixture("broken.ics")), "agenda.ics")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 422
    assert "Un événement est illisible (Date cassée (DTSTART))" in broken.get_data(as_text=True)
    assert _count(CalendarImport) == 0
    sent = client.post(
        "/manage/venues/moulins/imports",
        data={"file": (io.BytesIO(fixture("outlook.ics")), "outlook.ics")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    page = client.get(sent.headers["Location"])
    text = page.get_data(as_text=True)
    assert "Salle informatique" in text and "Libre\u00a0: sera importée" in text
    kept = db.session.scalars(sa.select(CalendarImport)).one()
    form = {
        "resource_field": "location",
        "single_resource": "0",
        "expected": "1",
        "action": "import",
    }
    form.update(
        {
            "value_0": "Salle informatique",
            "map_0": str(place["room"].id),
            "value_1": "",
            "map_1": str(place["room"].id),
        }
    )
    done = client.post(
        f"/manage/venues/moulins/imports/{kept.id}", data=form, follow_redirects=True
    )
    assert "1 réservation importée" in done.get_data(as_text=True)
    assert _count(Reservation) == 1  # the two-day open house is longer than any booking
