"""Words for the managers' and administrators' screens: refusals of a setting, the log.

``settings_message`` says why a change (hours, rules, closure, training,
role, venue) cannot be made; the log's actions, fields and values read in
plain words with ``action_label``, ``field_label`` and ``change_value``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from ..models import ResourceKind, Role
from ..services import Violation
from .calendars_words import calendar_message
from .formatting import (
    format_clock,
    format_day,
    format_duration,
    span_between,
    venue_datetime,
    weekday_name,
)
from .labels import SOFT_RULE_LABELS
from .messages import violation_message
from .numbers import format_money, rate_label, unit_label

ROLE_LABELS = {Role.MEMBER: _l("Member"), Role.MANAGER: _l("Manager")}


def role_label(role: Role | str) -> str:
    return str(ROLE_LABELS[Role(role)])


def _clock(value: object) -> str:
    return format_clock(value) if isinstance(value, time) else str(value)


def settings_message(v: Violation) -> str:
    p = v.params
    match v.code:
        case "required":
            return gettext("Please fill this in.")
        case "name_taken":
            return gettext("This name is already used here: choose another one.")
        case "unknown_training":
            return gettext("Choose one of this venue's trainings.")
        case "training_twice":
            return gettext("Choose a training in the list or name a new one, not both.")
        case "capacity_range":
            return gettext("Between 1 and %(max)d people at a time.", max=p["max"])
        case "slot_invalid":
            return gettext("Choose one of the steps offered.")
        case "duration_off_grid":
            return gettext(
                "Bookings move in steps of %(slot)s: give a multiple of it.",
                slot=format_duration(int(p["slot"])),
            )
        case "max_below_min":
            return gettext("The longest booking cannot be shorter than the shortest one.")
        case "negative":
            return gettext("This cannot be negative.")
        case "hold_too_long":
            return gettext(
                "A booking and its break after it cannot last more than %(limit)s.",
                limit=format_duration(int(p["limit"])),
            )
        case "horizon_range":
            return gettext("Between 1 and %(max)d days.", max=p["max"])
        case "notice_beyond_horizon":
            return gettext(
                "The notice is longer than how far ahead people can book: nobody could ever book."
            )
        case "quota_below_min":
            return gettext(
                "The weekly limit is shorter than the shortest booking: nobody could ever book."
            )
        case "hours_off_grid":
            return gettext(
                "%(time)s is not on the %(slot)s steps of %(resource)s: its bookings could not "
                "start or end there. Choose times on the steps, or change the resource's steps.",
                time=_clock(p["time"]),
                slot=format_duration(int(p["slot"])),
                resource=p["resource"],
            )
        case "min_longer_than_hours":
            return gettext(
                "The shortest booking is longer than any opening period (%(longest)s at most): "
                "nobody could ever book.",
                longest=format_duration(int(p["longest"])),
            )
        case "period_reversed":
            return gettext(
                "Closing time %(closes)s comes before opening time %(opens)s.",
                opens=_clock(p["opens"]),
                closes=_clock(p["closes"]),
            )
        case "periods_overlap":
            first, second = p["first"], p["second"]
            return gettext(
                "The periods %(first)s and %(second)s overlap: "
                "make one end before the next starts.",
                first=f"{_clock(first[0])}–{_clock(first[1])}",
                second=f"{_clock(second[0])}–{_clock(second[1])}",
            )
        case "period_incomplete":
            return gettext("Give both the opening and the closing time, or neither.")
        case "no_hours":
            return gettext(
                "Give at least one opening period. To close for a while, add a closure instead."
            )
        case "reason_required":
            return gettext("Please give a reason: the members concerned will read it.")
        case "too_long_text":
            return gettext("At most %(max)d characters.", max=p["max"])
        case "closure_past":
            return gettext("This closure would already be over: check the dates.")
        case "end_before_start":
            return gettext("The end must come after the start.")
        case "unknown_resource":
            return gettext("Choose one of this venue's resources, or the whole venue.")
        case "training_in_use":
            return gettext(
                "This training is still required by a resource or held by someone: "
                "it cannot be removed."
            )
        case "not_a_member":
            return gettext("Choose a member of this venue.")
        case "date_in_future":
            return gettext("This day has not come yet: give the day the training took place.")
        case "expiry_before_training":
            return gettext("The training cannot expire before it was taken.")
        case "own_role":
            return gettext(
                "You cannot change or remove your own role: "
                "ask another manager or an administrator."
            )
        case "administrator_role":
            return gettext("Only an administrator can change or remove an administrator's role.")
        case "own_account":
            return gettext("You cannot switch off your own account.")
        case "unknown_timezone":
            return gettext("Choose a time zone from the list, such as Europe/Paris.")
        case "invalid_email":
            return gettext("This e-mail address does not look right.")
        case "invalid_phone":
            return gettext("This phone number does not look right.")
        case "price_in_past":
            return gettext(
                "A new price starts today at the earliest: what earlier bookings cost does not "
                "change."
            )
        case "price_same_day":
            return gettext(
                "A price already starts that day: withdraw it first if it has not started, or "
                "choose another day."
            )
        case "price_range":
            return gettext(
                "Between 0 and %(max)s €.", max=f"{int(p['max']) // 100:,}".replace(",", " ")
            )
        case "price_started":
            return gettext(
                "This price has already started: it stays, since earlier bookings were counted "
                "at it. Add a new price from a later day instead."
            )
    return calendar_message(v) or violation_message(v)


LINE_STATUS_LABELS = {
    "ready": _l("Ready"),
    "again": _l("Invited already: sent again"),
    "bad_email": _l("This address does not look right"),
    "bad_name": _l("Name too long (120 characters at most)"),
    "bad_role": _l("Role not understood: write “membre” or “gestionnaire”"),
    "twice": _l("Twice in the list: invited once"),
    "member": _l("Already part of the venue"),
}


def line_status_label(status: str) -> str:
    """What a line of a list of people to invite comes to, in words."""
    return str(LINE_STATUS_LABELS[str(status)])


def roster_error_message(error: Any) -> str:
    """Why a list of people (a file, mostly) cannot be read."""
    match error.code:
        case "too_many":
            return gettext(
                "At most %(max)d people at a time: split the list in two.",
                max=error.params["max"],
            )
        case "xlsx":
            return gettext(
                "This is an Excel workbook: save it as .ods or .csv (File → Save as), "
                "then choose that file."
            )
        case "empty":
            return gettext("This file has no sheet to read.")
    return gettext(
        "This file cannot be read: choose the .ods or .csv file your spreadsheet saves, "
        "or copy the cells and paste them above."
    )


# Weeks offered in one tap on the hours screen (services.venues.hours.PATTERNS).
HOURS_PATTERN_LABELS = {
    "weekdays": _l("Monday to Friday, 9:00–17:00"),
    "weekdays_lunch": _l("Monday to Friday, 9:00–12:00 and 14:00–18:00"),
    "monday_saturday": _l("Monday to Saturday, 9:00–18:00"),
    "every_day": _l("Every day, 8:00–20:00"),
    "afternoons": _l("Tuesday to Saturday, 14:00–19:00"),
}


def hours_pattern_label(key: str) -> str:
    return str(HOURS_PATTERN_LABELS[key])


def changed_meanwhile_message() -> str:
    return gettext(
        "Something changed while you were deciding (a new booking, a cancellation). "
        "Nothing was saved: check the list again, then confirm."
    )


# --- the log ---------------------------------------------------------------------------

ACTION_LABELS = {
    # a reservation's moves
    "created": _l("Booked or requested"),
    "approved": _l("Request accepted"),
    "refused": _l("Request refused"),
    "withdrawn": _l("Request withdrawn"),
    "cancelled": _l("Booking cancelled"),
    "cancelled_by_closure": _l("Cancelled by a closure"),
    "expired": _l("Request expired undecided"),
    "changed": _l("Booking changed"),
    "change_requested": _l("Change asked"),
    "change_accepted": _l("Change accepted"),
    "change_refused": _l("Change refused"),
    "change_withdrawn": _l("Change withdrawn"),
    "change_expired": _l("Change expired undecided"),
    # administrative changes
    "closure.created": _l("Closure added"),
    "closure.removed": _l("Closure removed"),
    "hours.changed": _l("Opening hours changed"),
    "resource.created": _l("Resource created"),
    "resource.updated": _l("Resource rules changed"),
    "resource.retired": _l("Resource retired"),
    "resource.restored": _l("Resource back in service"),
    "training.created": _l("Training created"),
    "training.updated": _l("Training changed"),
    "training.removed": _l("Training removed"),
    "training.granted": _l("Training granted"),
    "training.revoked": _l("Training withdrawn"),
    "training.promised": _l("Training recorded for someone invited"),
    "training.unpromised": _l("Training no longer recorded for someone invited"),
    "role.granted": _l("Role given"),
    "role.changed": _l("Role changed"),
    "role.removed": _l("Role removed"),
    "account.deactivated": _l("Account switched off"),
    "account.reactivated": _l("Account switched on again"),
    "account.erased": _l("Account deleted, its bookings kept anonymised"),
    "venue.created": _l("Venue created"),
    "venue.updated": _l("Venue details changed"),
    "price.added": _l("Price added"),
    "price.removed": _l("Price withdrawn"),
    "rate.changed": _l("Rate changed"),
    "closure.rule_created": _l("Recurring closure added"),
    "closure.rule_removed": _l("Recurring closure removed"),
    "calendar.followed": _l("Calendar followed"),
    "calendar.unfollowed": _l("Calendar no longer followed"),
    "import.done": _l("Bookings imported"),
}

GROUP_LABELS = {
    "requested": _l("Bookings and requests"),
    "approved": _l("Accepted"),
    "refused": _l("Refused"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "changed": _l("Changes"),
    "closures": _l("Closures"),
    "hours": _l("Opening hours"),
    "resources": _l("Resources and rules"),
    "trainings": _l("Trainings"),
    "roles": _l("Roles and accounts"),
    "venue": _l("Venue details"),
}

FIELD_LABELS = {
    "name": _l("Name"),
    "kind": _l("Kind"),
    "description": _l("Description"),
    "capacity": _l("People at a time"),
    "requires_approval": _l("Approval needed"),
    "training": _l("Training required"),
    "slot_minutes": _l("Steps"),
    "min_duration_minutes": _l("Shortest booking"),
    "max_duration_minutes": _l("Longest booking"),
    "min_notice_minutes": _l("Notice"),
    "horizon_days": _l("Days ahead"),
    "buffer_minutes": _l("Break after each booking"),
    "buffer_reason": _l("What the break is for"),
    "weekly_quota_minutes": _l("Weekly limit"),
    "show_purpose": _l("Purpose shown publicly"),
    "is_active": _l("In service"),
    "hours": _l("Opening hours"),
    "starts_at": _l("From"),
    "ends_at": _l("Until"),
    "reason": _l("Reason"),
    "reason_public": _l("Reason shown publicly"),
    "cancelled": _l("Bookings cancelled"),
    "granted_on": _l("Training taken on"),
    "expires_on": _l("Valid until"),
    "role": _l("Role"),
    "active": _l("Account active"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "timezone": _l("Time zone"),
    "valid_from": _l("Starts on"),
    "unit": _l("Charged"),
    "member_cents": _l("Member rate"),
    "outside_cents": _l("Outside rate"),
    "rate": _l("Rate"),
    "frequency": _l("Repeats"),
    "first_day": _l("First day"),
    "last_day": _l("Last day"),
    "start_time": _l("From (time)"),
    "end_time": _l("Until (time)"),
    "until": _l("Until"),
    "region": _l("Public holidays of"),
    "occurrences": _l("Closures written"),
    "host": _l("Calendar's server"),
    "busy": _l("Busy times"),
    "free": _l("Imported"),
    "conflict": _l("In conflict"),
    "imported": _l("Already imported"),
    "past": _l("Past"),
    "unmapped": _l("Without a resource"),
    "unreadable": _l("Unreadable"),
}

MINUTE_FIELDS = {
    "slot_minutes",
    "min_duration_minutes",
    "max_duration_minutes",
    "min_notice_minutes",
    "buffer_minutes",
    "weekly_quota_minutes",
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def hours_text(text: str) -> str:
    """ "0 09:00-12:30 13:30-19:00|5 09:00-13:00" → "Lundi 9 h–12 h 30, 13 h 30–19 h; Samedi …"."""
    if not text:
        return gettext("the venue's hours")
    days = []
    for part in text.split("|"):
        weekday, *spans = part.split(" ")
        readable = []
        for span in spans:
            opens, closes = (time.fromisoformat(t) for t in span.split("-"))
            readable.append(f"{format_clock(opens)}–{format_clock(closes)}")
        days.append(f"{weekday_name(int(weekday))} {', '.join(readable)}")
    return "; ".join(days)


def change_value(name: str, value: Any, zone: ZoneInfo) -> str:
    """One value of the log, before or after a change, in plain words."""
    if value is None or value == "":
        return gettext("none") if name != "hours" else hours_text("")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name in MINUTE_FIELDS:
        return format_duration(int(value))
    if name == "horizon_days":
        return ngettext("%(num)d day", "%(num)d days", int(value))
    if name == "kind":
        return gettext("Space") if value == ResourceKind.SPACE.value else gettext("Equipment")
    if name == "role":
        return role_label(value)
    if name == "hours":
        return hours_text(str(value))
    if name in ("starts_at", "ends_at"):
        return venue_datetime(datetime.fromisoformat(str(value)), zone)
    if name in ("granted_on", "expires_on", "valid_from"):
        return format_day(date.fromisoformat(str(value)))
    if name in ("member_cents", "outside_cents"):
        return format_money(int(value))
    if name == "unit":
        return unit_label(str(value))
    if name == "rate":
        return rate_label(str(value))
    return str(value)


CHANGE_ACTIONS = frozenset(
    {
        "changed",
        "change_requested",
        "change_accepted",
        "change_refused",
        "change_withdrawn",
        "change_expired",
    }
)


def _change_text(detail: str, zone: ZoneInfo) -> str | None:
    """A change's detail (``services.booking.lifecycle.change_detail``) in plain words."""
    try:
        found = json.loads(detail)
        before, after = found["from"], found["to"]
        was = [datetime.fromisoformat(before[k]) for k in ("starts_at", "ends_at")]
        now = [datetime.fromisoformat(after[k]) for k in ("starts_at", "ends_at")]
    except (ValueError, KeyError, TypeError):
        return None
    parts = []
    if was != now:
        parts.append(
            gettext(
                "Moved from %(before)s to %(after)s.",
                before=span_between(*was, zone),
                after=span_between(*now, zone),
            )
        )
    if before.get("seats") != after.get("seats"):
        parts.append(
            gettext("Seats: %(before)s → %(after)s.", before=before["seats"], after=after["seats"])
        )
    if before.get("purpose") != after.get("purpose"):
        parts.append(gettext("Purpose: “%(after)s”.", after=after.get("purpose") or ""))
    if found.get("overrides"):
        names = ", ".join(str(SOFT_RULE_LABELS.get(c, c)) for c in found["overrides"])
        parts.append(gettext("Rules set aside: %(rules)s", rules=names))
    if found.get("reason"):
        parts.append(gettext("Reason: %(reason)s", reason=found["reason"]))
    return " ".join(parts)


def detail_text(action: str, detail: str, zone: ZoneInfo | None = None) -> str:
    """A reservation move's detail: the rules set aside, a series, the reason given, or
    what a change moved (in the venue's ``zone``)."""
    if action in CHANGE_ACTIONS and detail.startswith("{"):
        text = _change_text(detail, zone or ZoneInfo("UTC"))
        if text is not None:
            return text
    if detail.startswith("overrides="):
        codes = [c for c in detail.removeprefix("overrides=").split(",") if c]
        names = ", ".join(str(SOFT_RULE_LABELS.get(c, c)) for c in codes)
        return gettext("Rules set aside: %(rules)s", rules=names)
    if detail == "series":
        return gettext("Part of a series")
    return detail
