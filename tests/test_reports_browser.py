"""The report and the statements in Chromium, with the demo's year of history.

The Moulins manager opens last quarter's report, prints it (an A4 PDF without
menus or forms) and downloads the CSV and the .ods, which open with their
figures; the administrator produces November's statements for the three
cooperatives. Every screen is checked with axe-core at 390 and 1280 px, and
none scrolls sideways.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from odfdo import Document
from playwright import sync_api

from .support.browser import DESKTOP, PHONE, chromium  # noqa: F401  (the browser fixture)
from .test_manage_browser import clean, demo, local_today, open_as  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MOULINS = "manager.moulins@example.org"


def last_quarter(today: date) -> str:
    quarter = (today.month - 1) // 3
    return f"{today.year - 1}-Q4" if quarter == 0 else f"{today.year}-Q{quarter}"


def _kitchen_and_amina(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from booking.extensions import db
    from booking.models import Resource, User

    with app.app_context():
        kitchen = db.session.scalar(
            sa.select(Resource.id).where(Resource.slug == "cuisine-centre-social")
        )
        amina = db.session.scalar(sa.select(User.id).where(User.email == "amina@example.org"))
    return kitchen, amina


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_report_screen_is_accessible_and_fits(browser, demo, viewport: dict) -> None:  # noqa: F811
    app, base_url = demo
    kitchen, amina = _kitchen_and_amina(app)
    context, page = open_as(browser, base_url, MOULINS, viewport)
    for path in (
        "/reports/",
        f"/reports/?period={last_quarter(local_today())}",
        "/reports/?period=range&first=2026-01-10&last=2026-01-01",  # refused: messages shown
        "/reports/statements",
        f"/manage/venues/kpa-moulins/resources/{kitchen}/prices",
        f"/manage/venues/kpa-moulins/members/{amina}",
    ):
        page.goto(base_url + path)
        assert page.locator("h1").count() == 1, path
        clean(page, viewport["width"])
    context.close()
    context, page = open_as(browser, base_url, "admin@example.org", viewport)
    # The network's statements: in the last test, on a phone.
    page.goto(base_url + "/reports/?period=2026")
    clean(page, viewport["width"])
    context.close()


def test_the_moulins_manager_prints_and_downloads_last_quarter(browser, demo, tmp_path) -> None:  # noqa: F811
    _, base_url = demo
    context, page = open_as(browser, base_url, MOULINS, DESKTOP)
    page.goto(base_url + "/manage/venues/kpa-moulins")
    page.get_by_role("link", name="Rapport", exact=True).click()
    page.get_by_role("link", name="Le trimestre dernier").click()
    quarter = last_quarter(local_today())
    heading = page.locator("h1").inner_text()
    assert "KPA Moulins" in heading and f"{quarter[-1]}e trimestre {quarter[:4]}" in heading
    hours = page.locator(".figure-card").first.locator(".figure-value").inner_text()
    assert hours.replace("\u00a0", " ").endswith(" h") and hours[0] != "0"

    # Printed: the report alone, its title first, on A4 pages.
    page.emulate_media(media="print")
    sync_api.expect(page.locator(".site-header")).to_be_hidden()
    sync_api.expect(page.locator("form.report-form")).to_be_hidden()
    sync_api.expect(page.locator("h1")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") >= 1
    page.emulate_media(media="screen")

    # The whole report as a spreadsheet: the key figures, as numbers.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tout le rapport (tableur .ods)").click()
    assert download.value.suggested_filename == f"rapport-kpa-moulins-{quarter}.ods"
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    sheets = {sheet.name: sheet for sheet in Document(path).body.tables}
    figures = sheets["Chiffres clés"]
    assert figures.get_cell("A1").value == "Période"
    assert figures.get_cell("B2").type == "float"
    shown = float(hours.replace("\u00a0", " ").removesuffix(" h").replace(",", "."))
    assert float(figures.get_cell("B2").value) == shown

    # One table as CSV, as Excel and LibreOffice read it.
    with page.expect_download() as download:
        page.locator("a[href*='report.csv'][href*='table=resources']").click()
    body = _read(download.value, tmp_path)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Ressource"
    assert any(row[0] == "Cuisine du centre social" for row in rows)
    context.close()


def _read(download, folder) -> bytes:  # type: ignore[no-untyped-def]
    path = folder / download.suggested_filename
    download.save_as(path)
    return path.read_bytes()


def test_the_administrator_produces_novembers_statements(browser, demo, tmp_path) -> None:  # noqa: F811
    _, base_url = demo
    context, page = open_as(browser, base_url, "admin@example.org", PHONE)
    page.goto(base_url + "/reports/statements")
    page.select_option("#venue", "")
    page.select_option("#month", f"{local_today().year}-11")
    page.get_by_role("button", name="Afficher les relevés").click()
    assert "Tout le réseau" in page.locator("h1").inner_text()
    # The network: each venue's totals, a line each, its name leading to its statements.
    venues = (
        page.get_by_role("region", name=re.compile("^Chaque lieu"))
        .locator("tbody th")
        .all_inner_texts()
    )
    assert len(venues) == 3, venues
    for name in ("KPA Moulins", "La Cape", "Illicoop"):
        assert any(name in title for title in venues), venues
    clean(page, PHONE["width"])
    with page.expect_download() as download:
        page.get_by_role("link", name="Tous les relevés (tableur .ods)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    people = {sheet.name: sheet for sheet in Document(path).body.tables}["Relevé par personne"]
    assert people.get_cell("A1").value == "Lieu"
    assert people.height > 3
    context.close()
