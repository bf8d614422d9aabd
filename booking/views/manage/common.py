"""What the managers' screens share: the blueprint, finding the venue, errors next to fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...models import Venue
from ...permissions import can_manage, can_manage_any
from ...presentation.manage import changed_meanwhile_message, settings_message
from ...presentation.messages import transition_message
from ...services import NotAllowedError, TransitionError
from ...services.booking.queue import pending_count
from ...services.errors import ChangedMeanwhileError, SettingsError
from ...services.venues.setup import setup_steps
from ..kit import errors_to_fields

T = TypeVar("T")

bp = Blueprint("manage", __name__, url_prefix="/manage")


def managed_venue(slug: str) -> Venue:
    """The venue of the page, if the person may manage it; 404 for any other."""
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug))
    if venue is None or not can_manage(current_user, venue):
        abort(404)
    return venue


def next_step(venue: Venue, back: str) -> str:
    """Where a change sends the manager: back to the venue's set-up checklist while the
    venue is being set up (the next step is there), to ``back`` once it is."""
    if setup_steps(db.session, venue, clock.now()).finished:
        return back
    return url_for("manage.venue", slug=venue.slug)


def act(action: Callable[[], str], back: str) -> Response:
    """A manager's action on one object of their venue, then back to the list.

    ``action`` returns what to say when it worked; a stale action (already
    decided, already accepted) is explained; another venue's object is a 404.
    """
    try:
        done = action()
    except NotAllowedError:
        abort(404)
    except TransitionError as error:
        flash(transition_message(error), "error")
    else:
        flash(done, "success")
    return redirect(back)


def owned(obj: Any, venue: Venue, venue_id: Callable[[Any], int] | None = None) -> Any:
    """``obj`` if it belongs to ``venue``; 404 otherwise (missing, or another venue's)."""
    if obj is None or (venue_id(obj) if venue_id else obj.venue_id) != venue.id:
        abort(404)
    return obj


@dataclass
class Attempt(Generic[T]):
    """What a change asked on a form came to: its result, or the messages and status to
    show the form again with (422 for a refusal, 409 for something changed meanwhile)."""

    result: T | None = None
    general: list[str] = field(default_factory=list)
    status: int = 200

    @property
    def done(self) -> bool:
        return self.status == 200


def attempt(
    form: FlaskForm,
    change: Callable[[], T],
    fields: Mapping[str | None, str] | None = None,
    refused: int = 404,
) -> Attempt[T]:
    """Run one use case for ``form``: its refusals go next to their fields; what the
    person may not touch answers ``refused`` (404: another venue's, or nothing)."""
    try:
        return Attempt(result=change())
    except NotAllowedError:
        abort(refused)
    except SettingsError as error:
        return Attempt(
            general=errors_to_fields(form, error.violations, settings_message, fields),
            status=422,
        )
    except ChangedMeanwhileError:
        return Attempt(general=[changed_meanwhile_message()], status=409)


def cancelled_note(cancelled: list[Any]) -> str:
    """ " 2 bookings cancelled." after a change that cancelled some; nothing otherwise."""
    if not cancelled:
        return ""
    return " " + ngettext(
        "%(num)d booking cancelled.", "%(num)d bookings cancelled.", len(cancelled)
    )


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    """The number of requests waiting, for the menu: one count, only for managers,
    at most once per request."""

    def waiting() -> int:
        if "pending_requests" not in g:
            user = current_user
            g.pending_requests = (
                pending_count(db.session, user)
                if user.is_authenticated and can_manage_any(user)
                else 0
            )
        return g.pending_requests

    return {"pending_requests": waiting}
