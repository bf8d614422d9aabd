"""A new cooperative set up in one sitting, its use cases on SQLite and PostgreSQL: a list of
people reviewed then invited at once (one transaction, one audit line and one message
each), trainings promised to people invited and granted when they accept, invitations
sent again or withdrawn together, a venue created with its manager invited, a resource
that creates the training it needs, and what the set-up checklist counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    AdminEvent,
    AuditEvent,
    Invitation,
    Membership,
    OutboxMessage,
    PromisedTraining,
    Qualification,
    QualificationGrant,
    Resource,
    ResourceKind,
    Role,
    User,
    Venue,
)
from booking.services import NotAllowedError
from booking.services.accounts.invitations import (
    TrainingPromise,
    accept_invitation,
    invite,
    invite_many,
    resend_many,
    revoke_many,
)
from booking.services.accounts.roster import LineStatus, read_text, review
from booking.services.errors import SettingsError
from booking.services.venues.resources import ResourceSettings, create_resource
from booking.services.venues.setup import (
    FirstManager,
    VenueSettings,
    create_venue,
    setup_steps,
)
from booking.services.venues.trainings import (
    open_invitations,
    promise_training,
    promised,
    remove_training,
    withdraw_promise,
)

from .conftest import Factory, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 2, 9, 0)
DAYS = timedelta(days=14)


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="dunkerque", name="KPA Dunkerque")
    other = make.venue(slug="ailleurs", name="La Cape")
    return {
        "venue": venue,
        "other": other,
        "laser": make.qualification("Sécurité laser", venue),
        "elsewhere_training": make.qualification("Sécurité bois", other),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        # An account of another venue: invited like anyone, never added silently.
        "elsewhere": make.user(other, display_name="Karim Ait", email="karim@example.org"),
        "other_manager": make.manager(other, email="cape@example.org"),
        "admin": make.user(is_admin=True, email="admin@example.org"),
    }


def outbox(kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def audit(action: str) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


LIST = """Nom;Courriel;Rôle
Léa Martin;lea@example.org
Samir Bouzid;samir@example.org;gestionnaire
Karim Ait;Karim@Example.org
Amina Haddad;amina@example.org
Fatou;pas-une-adresse
Léa encore;LEA@example.org
Jo Bleu;jo@example.org;président
"""


def test_each_line_is_reviewed_against_the_venue_only(place: dict) -> None:
    lines = read_text(LIST)
    reviewed = review(db.session, place["venue"].id, lines, NOW)
    assert [(r.line.number, r.email, r.status) for r in reviewed] == [
        (2, "lea@example.org", LineStatus.READY),
        (3, "samir@example.org", LineStatus.READY),
        # An account elsewhere reads like any address: nobody learns who has one.
        (4, "karim@example.org", LineStatus.READY),
        (5, "amina@example.org", LineStatus.MEMBER),
        (6, "pas-une-adresse", LineStatus.BAD_EMAIL),
        (7, "lea@example.org", LineStatus.TWICE),
        (8, "jo@example.org", LineStatus.BAD_ROLE),
    ]
    assert reviewed[1].role == Role.MANAGER
    # Someone invited already is invited again (the same invitation, refreshed).
    invite(
        venue_id=place["venue"].id,
        actor_id=place["manager"].id,
        email="lea@example.org",
        name="Léa",
        role=Role.MEMBER,
        locale="fr",
        now=NOW,
        valid_for=DAYS,
    )
    again = review(db.session, place["venue"].id, lines, NOW)
    assert again[0].status == LineStatus.AGAIN and again[0].sendable


def test_a_list_is_invited_in_one_step_with_the_trainings_people_have(place: dict) -> None:
    lines = read_text(LIST)
    laser = place["laser"].id
    done = invite_many(
        venue_id=place["venue"].id,
        actor_id=place["manager"].id,
        lines=lines,
        trained={
            "lea@example.org": [TrainingPromise(laser, date(2027, 3, 1))],
            "karim@example.org": [TrainingPromise(laser)],
        },
        locale="fr",
        now=NOW,
        valid_for=DAYS,
    )
    assert [r.email for r in done.sent] == [
        "lea@example.org",
        "samir@example.org",
        "karim@example.org",
    ]
    assert [r.status for r in done.left_out] == [
        LineStatus.MEMBER,
        LineStatus.BAD_EMAIL,
        LineStatus.TWICE,
        LineStatus.BAD_ROLE,
    ]
    invitations = {
        i.email: i
        for i in db.session.scalars(
            sa.select(Invitation).where(Invitation.venue_id == place["venue"].id)
        )
    }
    assert set(invitations) == {"lea@example.org", "samir@example.org", "karim@example.org"}
    assert invitations["samir@example.org"].role == Role.MANAGER
    # One message and one audit line each; nobody is given a role before accepting.
    assert sorted(m.to_address for m in outbox("invitation")) == sorted(invitations)
    assert len(audit("invited")) == 3
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Membership.id)).where(
                Membership.venue_id == place["venue"].id,
                Membership.user_id == place["elsewhere"].id,
            )
        )
        == 0
    )
    promises = {
        (p.invitation.email, p.expires_on, p.granted_on)
        for p in db.session.scalars(sa.select(PromisedTraining))
    }
    assert promises == {
        ("lea@example.org", date(2027, 3, 1), date(2026, 3, 2)),
        ("karim@example.org", None, date(2026, 3, 2)),
    }


def test_a_list_is_refused_whole_when_a_training_is_another_venues(place: dict) -> None:
    with pytest.raises(SettingsError) as refused:
        invite_many(
            venue_id=place["venue"].id,
            actor_id=place["manager"].id,
            lines=read_text(LIST),
            trained={"lea@example.org": [TrainingPromise(place["elsewhere_training"].id)]},
            locale="fr",
            now=NOW,
            valid_for=DAYS,
        )
    assert [(v.code, v.field) for v in refused.value.violations] == [
        ("unknown_training", "trained")
    ]
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
    assert outbox("invitation") == []
    with pytest.raises(NotAllowedError):
        invite_many(
            venue_id=place["venue"].id,
            actor_id=place["other_manager"].id,
            lines=read_text(LIST),
            trained={},
            locale="fr",
            now=NOW,
            valid_for=DAYS,
        )


def _invited(place: dict, email: str, trainings=()) -> Invitation:
    return invite(
        venue_id=place["venue"].id,
        actor_id=place["manager"].id,
        email=email,
        name=email.split("@")[0].title(),
        role=Role.MEMBER,
        locale="fr",
        now=NOW,
        valid_for=DAYS,
        trainings=trainings,
    ).invitation


def _grants(email: str) -> list[tuple[str, date | None]]:
    return [
        (name, expires)
        for name, expires in db.session.execute(
            sa.select(Qualification.name, QualificationGrant.expires_on)
            .join(QualificationGrant.qualification)
            .join(User, User.id == QualificationGrant.user_id)
            .where(User.email == email)
        )
    ]


def test_a_training_promised_is_granted_when_the_person_accepts(place: dict) -> None:
    laser = place["laser"]
    new = _invited(place, "lea@example.org", [TrainingPromise(laser.id, date(2027, 1, 31))])
    existing = _invited(place, "karim@example.org")
    # Later, from the training's screen: someone invited but not joined yet.
    assert {i.email for i in open_invitations(db.session, place["venue"].id, NOW)} == {
        "lea@example.org",
        "karim@example.org",
    }
    promise_training(laser.id, existing.id, date(2026, 2, 20), None, place["manager"].id, NOW)
    assert [p.invitation.email for p in promised(db.session, laser.id, NOW)] == [
        "karim@example.org",
        "lea@example.org",
    ]
    assert _grants("karim@example.org") == []  # not before they accept

    accept_invitation(
        invitation_id=new.id,
        nonce=db.session.get(Invitation, new.id).nonce,
        name="Léa Martin",
        password="une phrase assez longue",
        locale="fr",
        now=NOW + timedelta(hours=1),
    )
    accept_invitation(
        invitation_id=existing.id,
        nonce=db.session.get(Invitation, existing.id).nonce,
        name="",
        password="",
        locale="fr",
        now=NOW + timedelta(hours=2),
        as_user_id=place["elsewhere"].id,
    )
    assert _grants("lea@example.org") == [("Sécurité laser", date(2027, 1, 31))]
    assert _grants("karim@example.org") == [("Sécurité laser", None)]
    # Each is told, and the venue's log shows the grant with the person concerned.
    told = {m.recipient_id for m in outbox("training_granted")}
    lea = db.session.scalar(sa.select(User.id).where(User.email == "lea@example.org"))
    assert told == {lea, place["elsewhere"].id}
    granted = db.session.scalars(
        sa.select(AdminEvent.member_id).where(AdminEvent.action == "training.granted")
    ).all()
    assert sorted(granted) == sorted([lea, place["elsewhere"].id])
    assert promised(db.session, laser.id, NOW + timedelta(hours=3)) == []


def test_promises_are_the_venues_own_and_can_be_withdrawn(place: dict) -> None:
    laser = place["laser"]
    mine = _invited(place, "lea@example.org")
    theirs = invite(
        venue_id=place["other"].id,
        actor_id=place["other_manager"].id,
        email="sam@example.org",
        name="Sam",
        role=Role.MEMBER,
        locale="fr",
        now=NOW,
        valid_for=DAYS,
    ).invitation
    with pytest.raises(SettingsError):
        promise_training(laser.id, theirs.id, date(2026, 3, 1), None, place["manager"].id, NOW)
    with pytest.raises(NotAllowedError):
        promise_training(laser.id, mine.id, date(2026, 3, 1), None, place["other_manager"].id, NOW)
    with pytest.raises(SettingsError) as late:
        promise_training(
            laser.id, mine.id, date(2026, 3, 1), date(2026, 2, 1), place["manager"].id, NOW
        )
    assert [v.code for v in late.value.violations] == ["expiry_before_training"]
    promise_training(laser.id, mine.id, date(2026, 3, 1), None, place["manager"].id, NOW)
    # A training promised to someone is in use: it cannot be removed by mistake.
    with pytest.raises(SettingsError):
        remove_training(laser.id, place["manager"].id, NOW)
    withdraw_promise(laser.id, mine.id, place["manager"].id, NOW)
    assert promised(db.session, laser.id, NOW) == []
    assert [e.action for e in db.session.scalars(sa.select(AdminEvent))][-2:] == [
        "training.promised",
        "training.unpromised",
    ]


def test_ticked_invitations_are_sent_again_or_withdrawn_together(place: dict) -> None:
    lea, sam = _invited(place, "lea@example.org"), _invited(place, "sam@example.org")
    elsewhere = invite(
        venue_id=place["other"].id,
        actor_id=place["other_manager"].id,
        email="jo@example.org",
        name="Jo",
        role=Role.MEMBER,
        locale="fr",
        now=NOW,
        valid_for=DAYS,
    ).invitation
    accept_invitation(
        invitation_id=sam.id,
        nonce=db.session.get(Invitation, sam.id).nonce,
        name="Sam",
        password="une phrase assez longue",
        locale="fr",
        now=NOW,
    )
    later = NOW + timedelta(days=3)
    again = resend_many(
        [lea.id, sam.id, elsewhere.id], place["venue"].id, place["manager"].id, later, DAYS
    )
    assert (again.done, again.skipped) == (1, 1)  # Sam accepted; the other venue's is not seen
    assert db.session.get(Invitation, lea.id).times_sent == 2
    assert db.session.get(Invitation, elsewhere.id).times_sent == 1
    withdrawn = revoke_many(
        [lea.id, sam.id, elsewhere.id], place["venue"].id, place["manager"].id, later
    )
    assert (withdrawn.done, withdrawn.skipped) == (1, 1)
    assert db.session.get(Invitation, lea.id).revoked_at == later
    assert db.session.get(Invitation, elsewhere.id).revoked_at is None
    assert len(audit("invitation_resent")) == 1 and len(audit("invitation_revoked")) == 1
    with pytest.raises(NotAllowedError):
        revoke_many([lea.id], place["venue"].id, place["other_manager"].id, later)


def test_a_venue_is_created_with_its_manager_invited(place: dict) -> None:
    settings = VenueSettings(name="KPA Calais", address="1 quai de la Gare, 62100 Calais")
    with pytest.raises(SettingsError) as refused:
        create_venue(
            settings, place["admin"].id, NOW, FirstManager("Chloé", "pas une adresse", "fr", DAYS)
        )
    assert [(v.code, v.field) for v in refused.value.violations] == [
        ("invalid_email", "manager_email")
    ]
    assert db.session.scalar(sa.select(Venue).where(Venue.name == "KPA Calais")) is None
    venue = create_venue(
        settings, place["admin"].id, NOW, FirstManager("Chloé Petit", "Chloe@Example.org")
    )
    (invitation,) = db.session.scalars(sa.select(Invitation).where(Invitation.venue_id == venue.id))
    assert (invitation.email, invitation.role, invitation.display_name) == (
        "chloe@example.org",
        Role.MANAGER,
        "Chloé Petit",
    )
    assert [m.to_address for m in outbox("invitation")] == ["chloe@example.org"]
    steps = setup_steps(db.session, venue, NOW)
    assert (steps.managers, steps.managers_invited, steps.complete) == (0, 1, False)


def test_the_checklist_counts_what_the_venue_still_needs(place: dict, make: Factory) -> None:
    venue = make.venue(slug="neuve", name="Neuve", hours=[])
    manager = make.manager(venue, email="neuve@example.org")
    steps = setup_steps(db.session, venue, NOW)
    assert steps.left == ["hours", "resources", "people"]
    venue.opening_periods = []
    laser = create_resource(
        venue.id,
        ResourceSettings(name="Découpeuse laser", kind=ResourceKind.EQUIPMENT),
        manager.id,
        NOW,
        new_training="Sécurité laser",
    )
    # The training was created with the resource, and nobody holds it yet.
    assert laser.qualification.name == "Sécurité laser"
    steps = setup_steps(db.session, db.session.get(Venue, venue.id), NOW)
    assert (steps.resources, steps.needed_trainings, steps.unheld) == (1, 1, ("Sécurité laser",))
    assert steps.left == ["hours", "trainings", "people"]
    invite(
        venue_id=venue.id,
        actor_id=manager.id,
        email="lea@example.org",
        name="Léa",
        role=Role.MEMBER,
        locale="fr",
        now=NOW,
        valid_for=DAYS,
        trainings=[TrainingPromise(laser.qualification_id)],
    )
    steps = setup_steps(db.session, db.session.get(Venue, venue.id), NOW)
    assert steps.left == ["hours"] and steps.people == 1
    # A promise on an invitation that expired holds nothing any more.
    assert setup_steps(db.session, venue, NOW + DAYS * 2).left == ["hours", "trainings", "people"]


def test_a_resource_and_its_new_training_are_created_or_refused_together(place: dict) -> None:
    venue, manager = place["venue"], place["manager"]
    settings = ResourceSettings(name="Découpeuse laser", kind=ResourceKind.EQUIPMENT)
    with pytest.raises(SettingsError) as both:
        create_resource(
            venue.id,
            ResourceSettings(
                name="Imprimante", kind=ResourceKind.EQUIPMENT, qualification_id=place["laser"].id
            ),
            manager.id,
            NOW,
            new_training="Impression 3D",
        )
    assert [(v.code, v.field) for v in both.value.violations] == [
        ("training_twice", "new_training")
    ]
    with pytest.raises(SettingsError) as taken:
        create_resource(venue.id, settings, manager.id, NOW, new_training="sécurité LASER")
    assert [(v.code, v.field) for v in taken.value.violations] == [("name_taken", "new_training")]
    assert db.session.scalar(sa.select(sa.func.count(Resource.id))) == 0
    created = create_resource(venue.id, settings, manager.id, NOW, new_training="Laser niveau 2")
    assert created.qualification.name == "Laser niveau 2"
    assert [e.action for e in db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id))][
        -2:
    ] == ["training.created", "resource.created"]
