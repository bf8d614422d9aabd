"""Reading a list of people to invite as managers have it: pasted from a spreadsheet or an
e-mail, or the CSV and .ods files spreadsheets save (the .ods written here by odfdo, a
library other than the odfpy that reads it)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from booking.models import Role
from booking.services.accounts.roster import (
    MAX_LINES,
    RosterError,
    RosterLine,
    read_csv,
    read_file,
    read_text,
    role_of,
)


def people(lines: list[RosterLine]) -> list[tuple[str, str, str]]:
    return [(line.name, line.email, line.role) for line in lines]


def test_a_list_pasted_from_a_spreadsheet_with_tabs() -> None:
    pasted = "Nadia Benali\tnadia@example.org\nKarim Haddad\tkarim@example.org\tgestionnaire\n"
    assert people(read_text(pasted)) == [
        ("Nadia Benali", "nadia@example.org", ""),
        ("Karim Haddad", "karim@example.org", "gestionnaire"),
    ]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_the_common_separators_and_a_title_row(separator: str) -> None:
    rows = [["Prénom", "Nom", "Courriel", "Rôle"], ["Léa", "Martin", "lea@example.org", "membre"]]
    rows.append(["Samir", "Bouzid", "samir@example.org", ""])
    pasted = "\n".join(separator.join(row) for row in rows)
    assert people(read_text(pasted)) == [
        ("Léa Martin", "lea@example.org", "membre"),
        ("Samir Bouzid", "samir@example.org", ""),
    ]


def test_addresses_as_mail_programs_copy_them() -> None:
    pasted = (
        "Nadia Benali <nadia@example.org>\n"
        '"Karim Haddad" <karim@example.org>, Léa <lea@example.org>\n'
        "amina@example.org\n"
        "Fatou Diallo fatou@example.org gestionnaire\n"
        "jo@example.org; Jo Bleu\n"
    )
    assert people(read_text(pasted)) == [
        ("Nadia Benali", "nadia@example.org", ""),
        ("Karim Haddad", "karim@example.org", ""),
        ("Léa", "lea@example.org", ""),
        ("", "amina@example.org", ""),
        ("Fatou Diallo", "fatou@example.org", "gestionnaire"),
        ("Jo Bleu", "jo@example.org", ""),
    ]


def test_a_line_without_an_address_is_kept_to_be_shown() -> None:
    (line,) = read_text("\n\nNadia Benali\n   \n")
    assert (line.number, line.name, line.email) == (3, "Nadia Benali", "")


def test_csv_as_excel_and_libreoffice_save_it() -> None:
    text = "Nom;E-mail;Rôle\r\nLéa Bénédicte;lea@example.org;Gestionnaire\r\n"
    for data in (
        ("\ufeff" + text).encode("utf-8"),  # Excel's "CSV UTF-8": a BOM first
        text.encode("utf-8"),
        text.encode("cp1252"),  # Excel's plain "CSV" on a French Windows
    ):
        assert people(read_csv(data)) == [("Léa Bénédicte", "lea@example.org", "Gestionnaire")]
    quoted = b'"Dupont, Marie",marie@example.org\n"Ait, Karim",karim@example.org\n'
    assert people(read_csv(quoted)) == [
        ("Dupont, Marie", "marie@example.org", ""),
        ("Ait, Karim", "karim@example.org", ""),
    ]


def _ods(tmp_path: Path, rows: list[list[str]]) -> bytes:
    import odfdo

    document = odfdo.Document("spreadsheet")
    body = document.body
    body.clear()
    sheet = odfdo.Table("Membres")
    sheet.set_values(rows)
    body.append(sheet)
    path = tmp_path / "membres.ods"
    document.save(path)
    return path.read_bytes()


def test_an_ods_file_from_a_spreadsheet(tmp_path: Path) -> None:
    data = _ods(
        tmp_path,
        [
            ["Nom", "Courriel", "Rôle"],
            ["Nadia Benali", "nadia@example.org", "gestionnaire"],
            ["Karim Haddad", "karim@example.org", ""],
        ],
    )
    assert people(read_file("membres.ods", data)) == [
        ("Nadia Benali", "nadia@example.org", "gestionnaire"),
        ("Karim Haddad", "karim@example.org", ""),
    ]


def test_files_that_cannot_be_read_say_why() -> None:
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(RosterError) as excel:
        read_file("membres.xlsx", workbook.getvalue())
    assert excel.value.code == "xlsx"
    for name, data in (
        ("membres.ods", b"PK\x03\x04 not a zip at all"),
        ("membres.ods", b"\x00\x01\x02"),
        ("membres.csv", b"nadia\x00@example.org"),
    ):
        with pytest.raises(RosterError) as broken:
            read_file(name, data)
        assert broken.value.code == "unreadable", name


def test_a_list_too_long_is_refused_whole() -> None:
    pasted = "\n".join(f"Personne {n};p{n}@example.org" for n in range(MAX_LINES + 1))
    with pytest.raises(RosterError) as refused:
        read_text(pasted)
    assert refused.value.code == "too_many"
    assert len(read_text(pasted.rsplit("\n", 1)[0])) == MAX_LINES


def test_roles_in_the_words_people_use() -> None:
    assert [role_of(w) for w in ("", "Membre", "adhérente", "member")] == [Role.MEMBER] * 4
    assert [role_of(w) for w in ("Gestionnaire", "manager", "Gérant")] == [Role.MANAGER] * 3
    assert role_of("président") is None
