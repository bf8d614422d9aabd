"""Requests to join: a visitor asks from the venue's page; a manager accepts (a new
account, whose owner chooses a password from the link sent; an address that has an
account gets an invitation to accept instead) or declines. The visitor learns nothing
about who has an account."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import Membership, Role, SignupRequest, SignupStatus, User, Venue
from ...permissions import can_administer, managed_venue_ids_query
from .. import outbox
from ..errors import NotAllowedError, TransitionError
from .common import account_of, audit_line, known_language, manager_at, membership_of, normal_email
from .invitations import new_invitation, send_invitation, unusable_password


def request_to_join(
    *, venue_id: int, email: str, name: str, message: str, locale: str, now: datetime
) -> None:
    """A visitor asks to join. Nothing tells them whether the address has an account:
    a request for someone already at the venue is quietly left out, and a second
    request from the same address updates the first."""
    email = normal_email(email)

    def work(session: Session) -> None:
        venue = session.get(Venue, venue_id)
        if venue is None or not venue.is_active:
            raise NotAllowedError("not_found")
        user = account_of(session, email)
        if user is not None and membership_of(session, user.id, venue_id) is not None:
            return
        waiting = session.scalar(
            sa.select(SignupRequest).where(
                SignupRequest.venue_id == venue_id,
                SignupRequest.email == email,
                SignupRequest.status == SignupStatus.PENDING,
            )
        )
        if waiting is not None:
            waiting.display_name = name.strip()
            waiting.message = message.strip()
            return
        request = SignupRequest(
            venue_id=venue_id,
            email=email,
            display_name=name.strip(),
            message=message.strip(),
            locale=known_language(locale),
            status=SignupStatus.PENDING,
            created_at=now,
        )
        session.add(request)
        session.flush()
        outbox.tell(session, now, "signup_to_decide", request_id=request.id, venue_id=venue_id)

    run_write(work)


def _decide_request(
    session: Session,
    request_id: int,
    venue_id: int,
    actor_id: int,
    status: SignupStatus,
    now: datetime,
) -> tuple[User, SignupRequest]:
    """A manager of the venue answers a request still waiting: who, and which request."""
    actor = manager_at(session, actor_id, venue_id)
    request = session.get(SignupRequest, request_id)
    if request is None or request.venue_id != venue_id:
        raise NotAllowedError("not_found")
    if request.status != SignupStatus.PENDING:
        raise TransitionError(f"signup_{request.status.value}")
    request.status = status
    request.decided_by_id = actor.id
    request.decided_at = now
    return actor, request


def accept_request(
    request_id: int, venue_id: int, actor_id: int, now: datetime, valid_for: timedelta
) -> SignupRequest:
    """Make the account (its owner chooses a password from the link sent); an address that
    has an account already gets an invitation to accept, valid for ``valid_for``."""

    def work(session: Session) -> SignupRequest:
        actor, request = _decide_request(
            session, request_id, venue_id, actor_id, SignupStatus.ACCEPTED, now
        )
        user = account_of(session, request.email)
        if user is None:
            user = User(
                email=request.email,
                display_name=request.display_name,
                locale=request.locale,
                created_at=now,
            )
            unusable_password(user)
            user.memberships = [Membership(venue_id=venue_id, role=Role.MEMBER)]
            session.add(user)
            session.flush()
            outbox.tell(session, now, "welcome", user_id=user.id, venue_id=venue_id)
            request.user_id = user.id
        elif membership_of(session, user.id, venue_id) is None:
            # Anyone can type an address into the venue's form: the owner of an existing
            # account is asked (an invitation they accept logged in), never added silently.
            invitation = new_invitation(
                session,
                venue_id,
                actor.id,
                request.email,
                request.display_name,
                Role.MEMBER,
                request.locale,
                now,
            )
            send_invitation(session, invitation, now, valid_for)
        audit_line(session, "signup_accepted", actor.id, now, request.email)
        return request

    return run_write(work)


def decline_request(
    request_id: int, venue_id: int, actor_id: int, reason: str, now: datetime
) -> SignupRequest:
    def work(session: Session) -> SignupRequest:
        actor, request = _decide_request(
            session, request_id, venue_id, actor_id, SignupStatus.DECLINED, now
        )
        request.decision_reason = reason.strip()
        outbox.tell(
            session,
            now,
            "signup_declined",
            request_id=request.id,
            email=request.email,
            locale=request.locale,
        )
        audit_line(session, "signup_declined", actor.id, now, request.email)
        return request

    return run_write(work)


def joining_summary(user: User, limit: int = 50) -> list[tuple[Venue, int]]:
    """The venues ``user`` manages, each with its number of requests to join waiting. An
    administrator manages every venue of the network: for them, only the venues where
    someone waits (at most ``limit``), never the whole network."""
    waiting = (
        sa.select(sa.func.count(SignupRequest.id))
        .where(SignupRequest.venue_id == Venue.id, SignupRequest.status == SignupStatus.PENDING)
        .scalar_subquery()
    )
    query = sa.select(Venue, waiting).order_by(Venue.name)
    if can_administer(user):
        query = query.where(waiting > 0).limit(limit)
    else:
        query = query.where(Venue.id.in_(managed_venue_ids_query(user)))
    return [(venue, count) for venue, count in db.session.execute(query).all()]
