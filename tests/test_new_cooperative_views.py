"""A new cooperative set up through the pages, as a newcomer would: the administrator creates
the venue with its manager invited; the manager lands on the set-up checklist, gives the
venue its hours in a few taps (a usual week, a day copied, two periods a day), creates a
resource with the training it needs, invites a list of people (pasted or from a file),
some of them already trained, and sees who accepted."""

from __future__ import annotations

import io
import re
from datetime import date, time
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    Invitation,
    OpeningPeriod,
    PromisedTraining,
    Qualification,
    QualificationGrant,
    Resource,
    User,
    Venue,
)

from .conftest import paris
from .support.outbox import link, sent_mail, subject, text, to
from .support.pages import flashes_of, text_of

NOW = paris(2026, 3, 2, 9, 0)
NEW_PASSWORD = "une phrase assez longue"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def place(make, clock):
    clock.set(NOW)
    venue = make.venue(slug="dunkerque", name="KPA Dunkerque")
    other = make.venue(slug="ailleurs", name="La Cape")
    return {
        "venue": venue,
        "laser": make.qualification("Sécurité laser", venue),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        "elsewhere": make.user(other, display_name="Karim Ait", email="karim@example.org"),
        "admin": make.user(is_admin=True, email="admin@example.org"),
    }


def rows_of(page: str) -> dict[str, str]:
    """The preview's rows, by address: the row's text."""
    rows = {}
    for row in re.findall(r"<tr class=\"is-[a-z-]+\">(.*?)</tr>", page, re.S):
        words = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        address = re.search(r"\S+@\S+|pas-une-adresse", words)
        rows.setdefault(address.group(0) if address else words, words)
    return rows


LIST = (
    "Léa Martin;lea@example.org\n"
    "Karim Ait;karim@example.org\n"
    "Amina Haddad;amina@example.org\n"
    "Fatou;pas-une-adresse\n"
    "Léa encore;lea@example.org\n"
)


def test_a_pasted_list_is_checked_then_sent_at_once(client, auth, place) -> None:
    auth.login("nadia@example.org")
    form = text_of(client.get("/manage/venues/dunkerque/invitations/list"))
    assert "Inviter plusieurs personnes à KPA Dunkerque" in form
    preview = client.post(
        "/manage/venues/dunkerque/invitations/list", data={"people": LIST, "action": "preview"}
    )
    assert preview.status_code == 200
    page = text_of(preview)
    assert "2 personnes prêtes à inviter, 3 lignes écartées." in page
    rows = rows_of(page)
    assert "Prête" in rows["lea@example.org"]
    assert "Fait déjà partie du lieu" in rows["amina@example.org"]
    assert "Cette adresse semble incorrecte" in rows["pas-une-adresse"]

    # An address with an account elsewhere reads exactly as a new one.
    def unnamed(email: str, name: str) -> str:
        return re.sub(r"^\d+ ", "", rows[email]).replace(name, "N").replace(email, "X")

    assert unnamed("karim@example.org", "Karim Ait") == unnamed("lea@example.org", "Léa Martin")
    assert (
        "Sécurité laser" in page and db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
    )

    sent = client.post(
        "/manage/venues/dunkerque/invitations/list",
        data={
            "people": LIST,
            "action": "send",
            "trained": [f"{place['laser'].id}:lea@example.org"],
            "training_expires_on": "2027-03-01",
        },
    )
    assert (
        sent.status_code == 302
        and sent.headers["Location"] == "/manage/venues/dunkerque/invitations"
    )
    listing = client.get(sent.headers["Location"])
    (said,) = [f for f in flashes_of(listing) if "envoyée" in f]
    assert said.startswith("2 invitations envoyées") and "3 lignes écartées" in said
    assert "Déjà formé·e à : Sécurité laser" in text_of(listing)
    auth.logout()

    mails = sent_mail(NOW)
    assert {m["To"].addresses[0].addr_spec for m in mails} == {
        "lea@example.org",
        "karim@example.org",
    }
    (lea,) = to(mails, "lea@example.org")
    assert "déjà formé·e à : Sécurité laser" in text(lea)
    accept = link(lea, "/invitations/")
    done = client.post(
        accept,
        data={
            "display_name": "Léa",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/venues/dunkerque"
    grant = db.session.scalar(
        sa.select(QualificationGrant)
        .join(User, User.id == QualificationGrant.user_id)
        .where(User.email == "lea@example.org")
    )
    assert (grant.qualification_id, grant.expires_on) == (place["laser"].id, date(2027, 3, 1))


def _ods(rows: list[list[str]]) -> bytes:
    import odfdo

    document = odfdo.Document("spreadsheet")
    document.body.clear()
    sheet = odfdo.Table("Membres")
    sheet.set_values(rows)
    document.body.append(sheet)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "filename, data",
    [
        ("membres.csv", "\ufeffNom;Courriel\r\nLéa Martin;lea@example.org\r\n".encode()),
        ("membres.csv", "Nom;Courriel\r\nLéa Martin;lea@example.org\r\n".encode("cp1252")),
        ("membres.ods", None),
    ],
)
def test_a_spreadsheets_file_is_read_and_shown_back_as_text(
    client, auth, place, filename, data
) -> None:
    if data is None:
        data = _ods([["Nom", "Courriel"], ["Léa Martin", "lea@example.org"]])
    auth.login("nadia@example.org")
    preview = client.post(
        "/manage/venues/dunkerque/invitations/list",
        data={"upload": (io.BytesIO(data), filename), "people": "", "action": "preview"},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200
    page = text_of(preview)
    assert "1 personne prête à inviter." in page
    # The file's lines are in the text area: sending needs no file again.
    assert "Léa Martin\tlea@example.org</textarea>" in page


def test_a_file_that_cannot_be_read_says_why_and_stores_nothing(client, auth, place) -> None:
    auth.login("nadia@example.org")
    for filename, data, words in (
        ("membres.xlsx", b"PK\x03\x04broken", "Ce fichier ne peut pas être lu"),
        ("membres.xls", b"\xd0\xcf\x11\xe0", "C’est un classeur Excel"),
    ):
        refused = client.post(
            "/manage/venues/dunkerque/invitations/list",
            data={"upload": (io.BytesIO(data), filename), "action": "send"},
            content_type="multipart/form-data",
        )
        assert refused.status_code == 422
        assert words in text_of(refused)
    empty = client.post("/manage/venues/dunkerque/invitations/list", data={"people": " "})
    assert empty.status_code == 422
    assert "Collez la liste, ou choisissez un fichier." in text_of(empty)
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_invitations_ticked_are_sent_again_or_withdrawn_together(client, auth, place) -> None:
    auth.login("nadia@example.org")
    client.post(
        "/manage/venues/dunkerque/invitations/list",
        data={
            "people": "Léa;lea@example.org\nSam;sam@example.org\nJo;jo@example.org",
            "action": "send",
        },
    )
    ids = dict(db.session.execute(sa.select(Invitation.email, Invitation.id)).tuples().all())
    page = text_of(client.get("/manage/venues/dunkerque/invitations"))
    assert "Toutes (3)" in page and "En attente (3)" in page
    nothing = client.post("/manage/venues/dunkerque/invitations/ticked", data={"action": "resend"})
    assert nothing.status_code == 422
    assert "Cochez au moins une invitation." in text_of(nothing)
    again = client.post(
        "/manage/venues/dunkerque/invitations/ticked",
        data={
            "action": "resend",
            "ids": [str(ids["lea@example.org"]), str(ids["sam@example.org"])],
        },
    )
    assert again.status_code == 302
    assert "2 invitations renvoyées." in flashes_of(client.get(again.headers["Location"]))
    gone = client.post(
        "/manage/venues/dunkerque/invitations/ticked",
        data={"action": "revoke", "ids": [str(ids["jo@example.org"])]},
    )
    assert any(
        "1 invitation retirée" in f for f in flashes_of(client.get(gone.headers["Location"]))
    )
    withdrawn = text_of(client.get("/manage/venues/dunkerque/invitations?state=revoked"))
    assert "jo@example.org" in withdrawn and "lea@example.org" not in withdrawn


def test_a_training_is_granted_to_someone_invited_from_its_screen(client, auth, place) -> None:
    auth.login("nadia@example.org")
    client.post(
        "/manage/venues/dunkerque/invitations",
        data={"display_name": "Léa Martin", "email": "lea@example.org", "role": "member"},
    )
    invitation = db.session.scalar(sa.select(Invitation))
    page = client.get(f"/manage/venues/dunkerque/trainings/{place['laser'].id}")
    assert 'label="Personnes invitées, pas encore inscrites"' in page.get_data(as_text=True)
    assert f'value="i{invitation.id}"' in page.get_data(as_text=True)
    promised = client.post(
        f"/manage/venues/dunkerque/trainings/{place['laser'].id}",
        data={"member": f"i{invitation.id}", "granted_on": "2026-02-20"},
    )
    assert promised.status_code == 302
    page = client.get(promised.headers["Location"])
    assert "Léa Martin aura « Sécurité laser » dès que son invitation sera acceptée." in flashes_of(
        page
    )
    assert "Personnes invitées, pas encore inscrites" in text_of(page)
    assert db.session.scalar(sa.select(PromisedTraining.granted_on)) == date(2026, 2, 20)
    # Someone else's invitation, or none, is refused next to the field.
    refused = client.post(
        f"/manage/venues/dunkerque/trainings/{place['laser'].id}",
        data={"member": "i999999", "granted_on": "2026-02-20"},
    )
    assert refused.status_code == 422


def test_hours_in_a_few_taps_without_javascript(client, auth, place, make) -> None:
    venue = make.venue(slug="neuve", name="Neuve", hours=[])
    make.manager(venue, email="neuve@example.org")
    auth.login("neuve@example.org")
    page = client.get("/manage/venues/neuve/hours").get_data(as_text=True)
    # Two periods a day are always there: a lunch break needs no round trip.
    for weekday in range(7):
        assert f'name="d{weekday}_1_opens"' in page
    filled = client.post("/manage/venues/neuve/hours", data={"pattern": "weekdays_lunch"})
    assert filled.status_code == 200
    page = text_of(filled)
    assert "Rempli avec « Du lundi au vendredi, 9 h – 12 h et 14 h – 18 h »" in page
    assert re.search(r'name="d4_1_opens"[^>]*value="14:00"', page)
    saved_for_neuve = sa.select(sa.func.count(OpeningPeriod.id)).where(
        OpeningPeriod.venue_id == venue.id
    )
    assert db.session.scalar(saved_for_neuve) == 0  # filled in, nothing saved

    # Monday typed, copied to Tuesday and Saturday, saved in the same step.
    form = {"d0_0_opens": "10:00", "d0_0_closes": "12:00", "d0_1_opens": "13:00"}
    form |= {"d0_1_closes": "16:00", "copy_from": "0", "copy_to": ["1", "5"], "action": "save"}
    saved = client.post("/manage/venues/neuve/hours", data=form)
    # Neuve is being set up: back to its checklist, where the next step is.
    assert saved.status_code == 302 and saved.headers["Location"] == "/manage/venues/neuve"
    db.session.expire_all()
    hours = sorted(
        (p.weekday, p.opens_at, p.closes_at)
        for p in db.session.get(Venue, venue.id).opening_periods
    )
    spans = [(time(10), time(12)), (time(13), time(16))]
    assert hours == [(d, o, c) for d in (0, 1, 5) for o, c in spans]
    nothing_ticked = client.post(
        "/manage/venues/neuve/hours", data={"copy_from": "2", "action": "copy"}
    )
    assert nothing_ticked.status_code == 422
    assert "Cochez les jours où le copier." in text_of(nothing_ticked)


def test_a_resource_creates_the_training_it_needs(client, auth, place) -> None:
    auth.login("nadia@example.org")
    form = {
        "name": "Découpeuse laser",
        "kind": "equipment",
        "capacity": "1",
        "qualification_id": "0",
        "new_training": "Laser niveau 2",
        "slot_minutes": "30",
        "min_duration_minutes": "30 min",
        "max_duration_minutes": "2 h",
        "min_notice_minutes": "0",
        "horizon_days": "60",
        "buffer_minutes": "0",
        "action": "another",
    }
    created = client.post("/manage/venues/dunkerque/resources/new", data=form)
    assert created.status_code == 302
    assert created.headers["Location"] == "/manage/venues/dunkerque/resources/new"
    (said,) = [f for f in flashes_of(client.get(created.headers["Location"])) if "créé" in f]
    assert (
        "« Découpeuse laser » : ressource créée" in said and "« Laser niveau 2 » est créée" in said
    )
    laser = db.session.scalar(sa.select(Resource).where(Resource.name == "Découpeuse laser"))
    assert laser.qualification.name == "Laser niveau 2"
    both = client.post(
        "/manage/venues/dunkerque/resources/new",
        data=form | {"name": "Autre", "qualification_id": str(place["laser"].id)},
    )
    assert both.status_code == 422
    assert "pas les deux" in text_of(both)
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 2


def test_the_administrator_creates_the_venue_and_its_manager_lands_on_the_checklist(
    client, auth, place
) -> None:
    auth.login("admin@example.org")
    created = client.post(
        "/admin/venues/new",
        data={
            "name": "KPA Calais",
            "timezone": "Europe/Paris",
            "manager_name": "Chloé Petit",
            "manager_email": "chloe@example.org",
        },
    )
    assert created.status_code == 302 and created.headers["Location"] == "/manage/venues/kpa-calais"
    page = client.get(created.headers["Location"])
    assert any("Chloé Petit est invité·e à le gérer" in f for f in flashes_of(page))
    assert "invitée : en attente de sa réponse" in text_of(page)
    auth.logout()

    (mail,) = to(sent_mail(NOW), "chloe@example.org")
    assert subject(mail) == "Invitation à rejoindre KPA Calais"
    accepted = client.post(
        link(mail, "/invitations/"),
        data={
            "display_name": "Chloé",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    # A manager lands on the venue's checklist, not on its public page.
    assert (
        accepted.status_code == 302 and accepted.headers["Location"] == "/manage/venues/kpa-calais"
    )
    checklist = client.get(accepted.headers["Location"])
    assert "Bienvenue à KPA Calais ! Voici ce dont le lieu a besoin." in flashes_of(checklist)
    page = text_of(checklist)
    assert "Préparer le lieu" in page and "2 étapes faites sur 5" in page
    assert (
        "Reste à faire : les horaires d’ouverture, les ressources, les personnes à inviter." in page
    )
    # "Gestion" opens on the checklist while the venue is being set up.
    gestion = client.get("/manage/")
    assert gestion.status_code == 302 and gestion.headers["Location"] == "/manage/venues/kpa-calais"


def test_gestion_opens_on_the_requests_once_the_venue_is_set_up(client, auth, place) -> None:
    auth.login("nadia@example.org")
    # KPA Dunkerque has hours, a manager and a member, but no resource yet.
    assert client.get("/manage/").headers["Location"] == "/manage/venues/dunkerque"
    created = client.post(
        "/manage/venues/dunkerque/resources/new",
        data={
            "name": "Salle",
            "kind": "space",
            "capacity": "1",
            "qualification_id": "0",
            "slot_minutes": "30",
            "min_duration_minutes": "30 min",
            "max_duration_minutes": "2 h",
            "min_notice_minutes": "0",
            "horizon_days": "60",
            "buffer_minutes": "0",
        },
    )
    # Set up now: the new resource is shown among the others, and Gestion shows requests.
    assert created.headers["Location"].startswith("/manage/venues/dunkerque/resources#resource-")
    assert client.get("/manage/").status_code == 200
    assert "Préparer le lieu" not in text_of(client.get("/manage/venues/dunkerque"))


def test_no_words_send_anyone_to_ask_for_an_account_to_be_created() -> None:
    """People join by invitation or by asking to join: nowhere tells a manager (or anyone)
    to have an account created first, nor that an account gets a role without accepting."""
    catalogue = (ROOT / "booking/translations/fr/LC_MESSAGES/messages.po").read_text()
    templates = "\n".join(p.read_text() for p in (ROOT / "templates").rglob("*.html"))
    dead_ends = [
        r"create (one|an account|their account) for",
        r"ask (them|the person|someone) to create",
        r"gets the role at once",
        r"(crée|créer|créera)[a-z]* (un|son|leur) compte pour",
        r"vous en (crée|créera)",
        r"reçoit le rôle tout de suite",
        r"adds the place to an existing",
        r"ajoute le lieu à un compte existant",
    ]
    for pattern in dead_ends:
        assert not re.search(pattern, catalogue + templates, re.I), pattern


def test_a_persons_data_includes_the_trainings_promised_to_them(client, auth, place) -> None:
    auth.login("nadia@example.org")
    client.post(
        "/manage/venues/dunkerque/invitations",
        data={
            "display_name": "Karim Ait",
            "email": "karim@example.org",
            "role": "member",
            "trainings": [str(place["laser"].id)],
        },
    )
    auth.logout()
    auth.login("karim@example.org")
    data = client.get("/profile/data.json").get_json()
    assert [row["qualification_id"] for row in data["trainings_promised"]] == [place["laser"].id]
