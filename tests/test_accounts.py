"""Joining a venue and choosing a password, through the pages, as each kind of person."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    Invitation,
    MessageStatus,
    OutboxMessage,
    Role,
    SignupRequest,
    SignupStatus,
    User,
)

from .conftest import PASSWORD, paris
from .support.outbox import link, sent_mail, subject, text, to
from .support.pages import flashes_of, text_of

NOW = paris(2026, 6, 1, 9, 0)
NEW_PASSWORD = "une phrase assez longue"


@pytest.fixture
def place(make, clock):
    clock.set(NOW)
    venue = make.venue(slug="lieu", name="KPA Moulins")
    other = make.venue(slug="ailleurs", name="La Cape")
    return {
        "venue": venue,
        "other": other,
        "manager": make.manager(venue, display_name="Marie", email="marie@example.org"),
        "member": make.user(venue, email="amina@example.org"),
        "other_manager": make.manager(other, email="cape@example.org"),
        "admin": make.user(is_admin=True, email="admin@example.org"),
    }


def kinds() -> list[str]:
    return list(db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)))


# --- invitations -----------------------------------------------------------------


def invite(client, auth, place, email="nadia@example.org", role="member"):
    auth.login(place["manager"].email)
    return client.post(
        "/manage/venues/lieu/invitations",
        data={"display_name": "Nadia Benali", "email": email, "role": role},
    )


def test_an_invited_person_chooses_a_password_and_lands_on_the_venue(client, auth, place, clock):
    response = invite(client, auth, place, email=" Nadia@Example.org ")
    assert response.status_code == 302
    page = text_of(client.get("/manage/venues/lieu/invitations"))
    assert "Invitation envoyée à nadia@example.org : la personne rejoindra KPA Moulins" in page
    assert "Nadia Benali" in page and "En attente" in page
    auth.logout()

    (mail,) = to(sent_mail(NOW), "nadia@example.org")
    assert subject(mail) == "Invitation à rejoindre KPA Moulins"
    assert "Marie vous invite à rejoindre KPA Moulins en tant que membre" in text(mail)
    accept = link(mail, "/invitations/")
    form = text_of(client.get(accept))
    assert "Rejoindre KPA Moulins" in form
    assert 'value="Nadia Benali"' in form

    short = client.post(
        accept, data={"display_name": "Nadia", "new_password": "court", "confirm_password": "court"}
    )
    assert short.status_code == 422
    assert "au moins 12 caractères" in text_of(short)

    done = client.post(
        accept,
        data={
            "display_name": "Nadia B.",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/venues/lieu"
    assert "Bienvenue à KPA Moulins" in text_of(client.get("/venues/lieu"))
    nadia = db.session.scalar(sa.select(User).where(User.email == "nadia@example.org"))
    assert nadia.display_name == "Nadia B." and nadia.check_password(NEW_PASSWORD)
    assert [(m.venue_id, m.role) for m in nadia.memberships] == [(place["venue"].id, Role.MEMBER)]

    # The link worked once.
    client.post("/logout")
    again = client.get(accept)
    assert again.status_code == 410
    assert "Ce lien a déjà servi" in text_of(again)


def roles_of(user: User) -> set[tuple[int, Role]]:
    db.session.expire_all()
    return {(m.venue_id, m.role) for m in db.session.get(User, user.id).memberships}


def test_an_existing_account_is_invited_never_added_silently(client, auth, place):
    """Inviting the address of an existing account gives it no role: its owner is asked,
    and accepts logged in with their own password. The manager's screens say the same
    words as for an address without an account."""
    samir = place["other_manager"]
    before = roles_of(samir)
    said = []
    for email in (samir.email, "nadia@example.org"):
        response = invite(client, auth, place, email=email, role="member")
        assert response.status_code == 302
        (flash,) = [
            said
            for said in flashes_of(client.get(response.headers["Location"]))
            if said.startswith("Invitation")
        ]
        said.append(flash.replace(email, "X"))
    assert said[0] == said[1]
    assert said[0].startswith("Invitation envoyée à X : la personne rejoindra KPA Moulins")
    assert roles_of(samir) == before  # nothing granted yet
    assert kinds() == ["invitation", "invitation"]
    auth.logout()

    (mail,) = to(sent_mail(NOW), samir.email)
    assert subject(mail) == "Invitation à rejoindre KPA Moulins"
    assert "Vous avez déjà un compte avec cette adresse" in text(mail)
    accept = link(mail, "/invitations/")
    # Holding the link is not enough: nothing in the page sets a password for the account.
    visitor = client.get(accept)
    assert visitor.status_code == 200
    assert "Se connecter pour accepter" in text_of(visitor)
    assert client.post(accept, data={"new_password": "x" * 20}).status_code == 403
    # Logged in as someone else: told whose invitation it is.
    auth.login(place["member"].email)
    assert "Cette invitation est pour " + samir.email in text_of(client.get(accept))
    assert client.post(accept).status_code == 403
    assert roles_of(samir) == before
    auth.logout()
    # Its owner accepts.
    auth.login(samir.email)
    joined = client.post(accept)
    assert joined.status_code == 302 and joined.headers["Location"] == "/venues/lieu"
    assert roles_of(samir) == before | {(place["venue"].id, Role.MEMBER)}
    assert samir.check_password(PASSWORD)  # their password is theirs still
    assert client.get(accept).status_code == 410
    # Someone already part of the venue: the manager is told to change their role instead.
    auth.logout()
    invite(client, auth, place, email=samir.email, role="manager")
    assert "fait déjà partie de KPA Moulins" in text_of(
        client.get("/manage/venues/lieu/invitations")
    )


def test_sending_again_replaces_the_link_and_withdrawing_closes_it(client, auth, place, clock):
    invite(client, auth, place)
    first = link(to(sent_mail(NOW), "nadia@example.org")[0], "/invitations/")
    invitation = db.session.scalar(sa.select(Invitation))
    assert client.post(f"/manage/venues/lieu/invitations/{invitation.id}/resend").status_code == 302
    second = link(to(sent_mail(NOW), "nadia@example.org")[1], "/invitations/")
    assert first != second
    assert client.get(first).status_code == 410  # the older link gave way
    assert client.get(second).status_code == 200
    assert "Envoyée 2 fois." in text_of(client.get("/manage/venues/lieu/invitations"))

    client.post(f"/manage/venues/lieu/invitations/{invitation.id}/revoke")
    assert "Retirée" in text_of(client.get("/manage/venues/lieu/invitations"))
    assert client.get(second).status_code == 410


def test_an_expired_invitation_says_so(client, auth, place, clock):
    invite(client, auth, place)
    accept = link(to(sent_mail(NOW), "nadia@example.org")[0], "/invitations/")
    clock.set(NOW + timedelta(days=15))
    response = client.get(accept)
    assert response.status_code == 410
    page = text_of(response)
    assert "Ce lien a expiré" in page
    assert "Demandez à l’équipe du lieu de la renvoyer" in page
    assert client.get("/invitations/pas-un-lien").status_code == 404


def test_a_bad_invitation_form_says_what_is_wrong(client, auth, place):
    auth.login(place["manager"].email)
    response = client.post(
        "/manage/venues/lieu/invitations",
        data={"display_name": "\x00", "email": "pas une adresse", "role": "roi"},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "caractères invisibles" in page  # the NUL typed as a name
    assert "Cette adresse e-mail ne semble pas correcte." in page
    assert kinds() == []
    empty = client.post(
        "/manage/venues/lieu/invitations",
        data={"display_name": " ", "email": "nadia@example.org", "role": "member"},
    )
    assert empty.status_code == 422
    assert "Indiquez un nom." in text_of(empty)


# --- requests to join ------------------------------------------------------------


def ask(client, email="fatima@example.org", address="203.0.113.7"):
    return client.post(
        "/venues/lieu/join",
        data={"display_name": "Fatima", "email": email, "message": "Je cuisine pour l'association"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_visitor_asks_to_join_a_manager_accepts_and_they_choose_a_password(
    client, auth, place, clock
):
    assert "Demander à rejoindre" in text_of(client.get("/venues/lieu"))
    response = ask(client)
    assert response.status_code == 302
    assert "Merci ! L’équipe de KPA Moulins va lire votre demande." in text_of(
        client.get(response.headers["Location"])
    )
    (to_manager,) = to(sent_mail(NOW), "marie@example.org")
    assert subject(to_manager) == "Demande pour rejoindre KPA Moulins : Fatima"
    assert "Je cuisine pour l'association" in text(to_manager)
    assert link(to_manager, "/manage/venues/lieu/requests") == "/manage/venues/lieu/requests"

    auth.login(place["manager"].email)
    page = text_of(client.get("/manage/venues/lieu/requests"))
    assert "Fatima" in page and "fatima@example.org" in page
    request = db.session.scalar(sa.select(SignupRequest))
    client.post(f"/manage/venues/lieu/requests/{request.id}/accept")
    assert "Demande de Fatima acceptée : la personne reçoit un e-mail" in text_of(
        client.get("/manage/venues/lieu/requests")
    )
    auth.logout()

    (welcome,) = to(sent_mail(NOW), "fatima@example.org")
    assert subject(welcome) == "Bienvenue à KPA Moulins : choisissez votre mot de passe"
    choose = link(welcome, "/welcome/")
    assert "Choisissez votre mot de passe" in text_of(client.get(choose))
    done = client.post(
        choose, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/venues/lieu"
    client.post("/logout")
    assert auth.login("fatima@example.org", NEW_PASSWORD).headers["Location"] == "/"
    used = client.get(choose)
    assert used.status_code == 410 and "Ce lien a déjà servi" in text_of(used)


def test_asking_tells_nobody_whether_the_address_has_an_account(client, place, make):
    make.user(email="deja@example.org")  # an account elsewhere
    unknown = ask(client, email="inconnue@example.org")
    known = ask(client, email="deja@example.org")
    member = ask(client, email="amina@example.org")  # already a member here
    assert unknown.status_code == known.status_code == member.status_code == 302
    assert unknown.headers["Location"] == known.headers["Location"] == member.headers["Location"]
    # The member's request is quietly left out; the two others wait for the team.
    emails = db.session.scalars(sa.select(SignupRequest.email).order_by(SignupRequest.id)).all()
    assert emails == ["inconnue@example.org", "deja@example.org"]


def test_accepting_a_request_from_an_existing_account_invites_it(client, auth, place, make):
    """Anyone can type an address into the venue's form: the account's owner is asked
    (an invitation), not given a role because a stranger asked in their name."""
    lea = make.user(place["other"], email="lea@example.org")
    ask(client, email="lea@example.org")
    auth.login(place["manager"].email)
    request = db.session.scalar(sa.select(SignupRequest))
    accepted = client.post(f"/manage/venues/lieu/requests/{request.id}/accept")
    assert "Demande de Fatima acceptée" in text_of(client.get(accepted.headers["Location"]))
    assert roles_of(lea) == {(place["other"].id, Role.MEMBER)}
    (mail,) = to(sent_mail(NOW), "lea@example.org")
    assert subject(mail) == "Invitation à rejoindre KPA Moulins"
    auth.logout()
    auth.login("lea@example.org")
    assert client.post(link(mail, "/invitations/")).status_code == 302
    assert (place["venue"].id, Role.MEMBER) in roles_of(lea)


def test_declining_a_request_tells_the_person(client, auth, place):
    ask(client)
    auth.login(place["manager"].email)
    request = db.session.scalar(sa.select(SignupRequest))
    client.post(
        f"/manage/venues/lieu/requests/{request.id}/decline",
        data={f"d{request.id}-reason": "Le lieu est réservé aux habitants du quartier."},
    )
    assert db.session.get(SignupRequest, request.id).status == SignupStatus.DECLINED
    (mail,) = to(sent_mail(NOW), "fatima@example.org")
    assert subject(mail) == "Votre demande pour rejoindre KPA Moulins"
    assert "Son message : Le lieu est réservé aux habitants du quartier." in text(mail)
    again = client.post(f"/manage/venues/lieu/requests/{request.id}/accept")
    assert "Cette demande est déjà refusée." in text_of(client.get(again.headers["Location"]))


def test_asking_too_often_is_paused_with_a_french_answer(client, place):
    for n in range(5):
        assert ask(client, email=f"personne{n}@example.org").status_code == 302
    refused = ask(client, email="encore@example.org")
    assert refused.status_code == 429
    page = text_of(refused)
    assert "Trop d’essais en peu de temps" in page
    assert "Réessayez dans" in page
    assert int(refused.headers["Retry-After"]) > 0
    # From another address, the form works again...
    assert ask(client, email="voisine@example.org", address="203.0.113.8").status_code == 302


def test_one_address_typed_too_often_is_paused_whatever_the_client(client, place):
    for n in range(3):
        assert ask(client, address=f"198.51.100.{n}").status_code == 302
    assert ask(client, address="198.51.100.9").status_code == 429


# --- forgotten passwords ---------------------------------------------------------


def forgot(client, email, address="203.0.113.20"):
    return client.post(
        "/password/forgot", data={"email": email}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_forgotten_password_is_chosen_again_from_a_link_that_works_once(
    client, auth, place, clock
):
    assert "Mot de passe oublié ?" in text_of(client.get("/login"))
    known = forgot(client, "Amina@example.org")
    unknown = forgot(client, "personne@example.org")
    assert known.status_code == unknown.status_code == 200
    same = "Si un compte utilise {}, nous venons de lui envoyer un lien"
    assert same.format("amina@example.org") in text_of(known)
    assert same.format("personne@example.org") in text_of(unknown)
    assert kinds() == ["password_reset"]

    (mail,) = sent_mail(NOW)
    assert subject(mail) == "Choisir un nouveau mot de passe — Tiers-lieux"
    assert "Ce lien fonctionne une seule fois, pendant 2 heures." in text(mail)
    reset = link(mail, "/password/reset/")
    mismatch = client.post(
        reset, data={"new_password": NEW_PASSWORD, "confirm_password": "autre chose"}
    )
    assert mismatch.status_code == 422
    assert "Les deux nouveaux mots de passe ne sont pas identiques." in text_of(mismatch)
    own = client.post(reset, data={"new_password": "amina@example.org", "confirm_password": "x"})
    assert own.status_code == 422
    assert "reprend votre nom ou votre adresse e-mail" in text_of(own)
    done = client.post(reset, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302
    assert kinds() == ["password_reset", "password_changed"]
    (told,) = to(sent_mail(NOW)[1:], "amina@example.org")
    assert subject(told) == "Votre mot de passe a été changé — Tiers-lieux"
    assert "Votre nouveau mot de passe est enregistré." in text_of(
        client.get(done.headers["Location"])
    )
    client.post("/logout")
    assert auth.login("amina@example.org", PASSWORD).status_code == 200  # the old one is gone
    assert auth.login("amina@example.org", NEW_PASSWORD).status_code == 302
    client.post("/logout")
    used = client.get(reset)
    assert used.status_code == 410
    page = text_of(used)
    assert "Ce lien a déjà servi" in page
    assert 'href="/password/forgot"' in page  # a new one is one click away


def test_a_password_link_expires(client, place, clock):
    forgot(client, "amina@example.org")
    reset = link(sent_mail(NOW)[0], "/password/reset/")
    clock.set(NOW + timedelta(hours=2, minutes=1))
    response = client.get(reset)
    assert response.status_code == 410
    assert "Ce lien a expiré" in text_of(response)
    assert client.get(reset[:-3] + "abc").status_code == 404  # altered: not one of ours


def test_asking_for_password_links_too_often_is_paused(client, place):
    for _ in range(3):
        assert forgot(client, "amina@example.org", address="192.0.2.1").status_code == 200
    refused = forgot(client, "amina@example.org", address="192.0.2.2")
    assert refused.status_code == 429
    assert "Réessayez dans" in text_of(refused)


# --- preferences -----------------------------------------------------------------


def test_e_mail_preferences_are_saved_and_managers_have_one_more(client, auth, place):
    auth.login(place["member"].email)
    page = text_of(client.get("/profile"))
    assert "Un rappel la veille de chaque réservation" in page
    assert "Un e-mail pour chaque demande qui attend ma décision" not in page
    client.post("/profile/notifications", data={"remind_training_expiry": "y"})
    member = db.session.get(User, place["member"].id)
    assert (member.remind_day_before, member.remind_training_expiry) == (False, True)
    client.post("/logout")
    auth.login(place["manager"].email)
    assert "Un e-mail pour chaque demande qui attend ma décision" in text_of(client.get("/profile"))
    client.post("/profile/notifications", data={})
    assert db.session.get(User, place["manager"].id).notify_new_requests is False


# --- who may open what -----------------------------------------------------------


@pytest.fixture
def objects(place, make):
    invitation = Invitation(
        venue_id=place["venue"].id,
        email="nadia@example.org",
        display_name="Nadia",
        role=Role.MEMBER,
        nonce="n" * 32,
        expires_at=NOW + timedelta(days=7),
    )
    request = SignupRequest(
        venue_id=place["venue"].id, email="fatima@example.org", display_name="Fatima"
    )
    db.session.add_all([invitation, request])
    db.session.commit()
    return {"invitation": invitation.id, "request": request.id}


PEOPLE = ["visitor", "member", "other_manager", "manager", "admin"]


@pytest.mark.parametrize("who", PEOPLE)
def test_the_managers_screens_for_each_kind_of_person(client, auth, place, objects, who):
    if who != "visitor":
        auth.login(place[who].email)
    expected = {"visitor": 302, "member": 403, "other_manager": 404, "manager": 200, "admin": 200}[
        who
    ]
    for path in ("/manage/venues/lieu/invitations", "/manage/venues/lieu/requests"):
        response = client.get(path)
        assert response.status_code == expected, (who, path)
        if who == "visitor":
            assert "/login" in response.headers["Location"]
    acting = {"visitor": 302, "member": 403, "other_manager": 404, "manager": 302, "admin": 302}[
        who
    ]
    for path in (
        f"/manage/venues/lieu/requests/{objects['request']}/decline",
        f"/manage/venues/lieu/invitations/{objects['invitation']}/revoke",
    ):
        response = client.post(path)
        assert response.status_code == acting, (who, path)
        if acting == 302 and who != "visitor":
            assert "/login" not in response.headers["Location"]
    # What only a manager of the venue may do was done by them alone.
    declined = db.session.get(SignupRequest, objects["request"]).status == SignupStatus.DECLINED
    assert declined == (who in ("manager", "admin"))


@pytest.mark.parametrize("who", PEOPLE)
def test_the_public_and_personal_screens_for_each_kind_of_person(client, auth, place, who):
    if who != "visitor":
        auth.login(place[who].email)
    for path in ("/venues/lieu/join", "/password/forgot", "/venues/lieu/join/sent"):
        assert client.get(path).status_code == 200, (who, path)
    assert client.get("/venues/nulle-part/join").status_code == 404
    waitlist = client.get("/waitlist")
    assert waitlist.status_code == (302 if who == "visitor" else 200)
    messages = client.get("/admin/messages")
    assert messages.status_code == {"visitor": 302, "admin": 200}.get(who, 403)


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_nul_characters_never_reach_postgresql(client, auth, place):
    """PostgreSQL refuses NUL in text: every new form refuses it next to its field (as every
    form does, booking.forms.base), stores nothing, and none answers 500."""
    nul = "A\x00B"
    forms = {
        "/venues/lieu/join": {"display_name": nul, "email": nul, "message": nul},
        "/password/forgot": {"email": "amina\x00@example.org"},
    }
    for path, data in forms.items():
        response = client.post(path, data=data)
        assert response.status_code == 422, path
        assert "invisibles" in text_of(response), path
    assert db.session.scalar(sa.select(sa.func.count(SignupRequest.id))) == 0
    auth.login(place["manager"].email)
    response = client.post(
        "/manage/venues/lieu/invitations",
        data={"display_name": nul, "email": "x\x00@example.org", "role": "member"},
    )
    assert response.status_code == 422
    assert "invisibles" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
    client.post("/venues/lieu/join", data={"display_name": "Ana", "email": "ana@example.org"})
    request = db.session.scalar(
        sa.select(SignupRequest).where(SignupRequest.email == "ana@example.org")
    )
    declined = client.post(
        f"/manage/venues/lieu/requests/{request.id}/decline", data={f"d{request.id}-reason": nul}
    )
    assert declined.status_code == 422
    assert "invisibles" in text_of(declined)
    db.session.refresh(request)
    assert request.status == "pending"
    assert (
        client.post(
            "/waitlist",
            data={"resource": "\x00", "day": "2026-06-03", "start": "10:00", "end": "11:00"},
        ).status_code
        == 404
    )


# --- names on one line ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Fatima\r\nBcc: tous@example.org", "Fatima\nB.", "Fatima\tB."])
def test_a_name_with_a_line_break_is_refused_next_to_the_field(client, auth, place, name):
    """A name that holds a line break broke every e-mail to the person for good, and the
    managers' e-mails about them: it is refused where it is typed."""
    asked = client.post(
        "/venues/lieu/join",
        data={"display_name": name, "email": "fatima@example.org", "message": "Bonjour\nà tous"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert asked.status_code == 422
    assert "Ceci doit tenir sur une ligne" in text_of(asked)
    assert db.session.scalar(sa.select(sa.func.count(SignupRequest.id))) == 0
    auth.login(place["manager"].email)
    invited = client.post(
        "/manage/venues/lieu/invitations",
        data={"display_name": name, "email": "nadia@example.org", "role": "member"},
    )
    assert invited.status_code == 422
    assert "Ceci doit tenir sur une ligne" in text_of(invited)
    renamed = client.post("/profile", data={"display_name": name, "locale": "fr"})
    assert renamed.status_code == 422
    assert db.session.get(User, place["manager"].id).display_name == "Marie"
    assert kinds() == []


def test_a_name_stored_with_a_line_break_still_gets_its_e_mails(client, place):
    """Names typed before the forms refused line breaks: the e-mail goes, on one line."""
    amina = db.session.get(User, place["member"].id)
    amina.display_name = "Amina\r\nHaddad"
    db.session.commit()
    forgot(client, "amina@example.org")
    (mail,) = to(sent_mail(NOW), "amina@example.org")
    assert str(mail["To"]) == "Amina Haddad <amina@example.org>"
    assert (
        db.session.scalar(
            sa.select(OutboxMessage.status).where(OutboxMessage.kind == "password_reset")
        )
        == MessageStatus.SENT
    )
