"""Sentences for domain errors: what went wrong and what to do instead."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import format_date, gettext, ngettext

from ..services import NotAllowedError, TransitionError, Violation
from .formatting import format_duration, format_span


def _periods(periods: list[tuple[time, time]]) -> str:
    return ", ".join(f"{o:%H:%M}–{c:%H:%M}" for o, c in periods)


def violation_message(v: Violation) -> str:
    p = v.params
    match v.code:
        case "end_before_start":
            return gettext("The end must come after the start. Check the two times.")
        case "seats_positive":
            return gettext("Book at least one seat.")
        case "seats_over_capacity":
            return ngettext(
                "This resource has %(num)d seat: book only one.",
                "This resource has %(num)d seats: book %(num)d or fewer.",
                int(p["capacity"]),
            )
        case "off_grid":
            return gettext(
                "Bookings start and end on steps of %(slot)s (for example 10:00 or 10:%(step)02d).",
                slot=format_duration(int(p["slot"])),
                step=int(p["slot"]) % 60,
            )
        case "too_short":
            return gettext(
                "This is too short: book at least %(duration)s.",
                duration=format_duration(int(p["minimum"])),
            )
        case "too_long":
            return gettext(
                "This is too long: book at most %(duration)s at a time.",
                duration=format_duration(int(p["maximum"])),
            )
        case "outside_hours":
            periods = p.get("periods") or []
            if not periods:
                return gettext("The venue is closed that day. Choose another day.")
            return gettext(
                "This is outside opening hours. That day it is open %(hours)s.",
                hours=_periods(periods),
            )
        case "closed":
            start, end = p["from"], p["to"]
            assert isinstance(start, datetime) and isinstance(end, datetime)
            if p.get("busy"):
                return gettext(
                    "Busy %(when)s — %(calendar)s. Choose another time.",
                    when=format_span(start, end, start.tzinfo),  # type: ignore[arg-type]
                    calendar=p.get("reason") or "",
                )
            reason = f" ({p['reason']})" if p.get("reason") else ""
            return gettext(
                "Closed %(when)s%(reason)s. Choose another time.",
                when=format_span(start, end, start.tzinfo),  # type: ignore[arg-type]
                reason=reason,
            )
        case "in_past":
            return gettext("This time has already passed. Choose a time to come.")
        case "notice":
            return gettext(
                "Book at least %(notice)s ahead. Choose a later time.",
                notice=format_duration(int(p["minutes"])),
            )
        case "horizon":
            last_day = p["last_day"]
            assert isinstance(last_day, date)
            return ngettext(
                "Bookings open %(num)d day ahead: choose a day until %(day)s.",
                "Bookings open %(num)d days ahead: choose a day until %(day)s.",
                int(p["days"]),
                day=format_date(last_day, "d MMMM yyyy"),
            )
        case "capacity":
            if int(p.get("capacity", 1)) > 1 and int(p.get("free", 0)) > 0:
                return ngettext(
                    "Only %(num)d seat is free at that time. Book fewer seats or another time.",
                    "Only %(num)d seats are free at that time. Book fewer seats or another time.",
                    int(p["free"]),
                )
            return gettext(
                "This slot is already taken (cleaning or cooling time included). "
                "Choose another time."
            )
        case "own_overlap":
            return gettext(
                "You have already booked this slot (or its cleaning or cooling time). "
                "Choose another time."
            )
        case "series_taken":
            return gettext("All these dates are already taken. Choose other days or times.")
        case "just_taken":
            return gettext("This slot has just been taken by someone else. Choose another time.")
        case "quota":
            return gettext(
                "You can book %(quota)s a week here and have %(left)s left this week.",
                quota=format_duration(int(p["quota"])),
                left=format_duration(int(p["left"])),
            )
        case "qualification":
            return gettext(
                "This machine needs the “%(name)s” training. Ask a venue manager to sign you up.",
                name=p["name"],
            )
        case "account_inactive":
            return gettext("This account is suspended. Contact the venue manager.")
        case "no_role":
            return gettext(
                "You are not a member of %(venue)s yet. Ask its manager to add you.",
                venue=p["venue"],
            )
        case "resource_retired":
            return gettext("This resource can no longer be booked.")
        case "nonexistent_time":
            return gettext(
                "This time does not exist that day: clocks go forward from 2:00 to 3:00. "
                "Choose 3:00 or later."
            )
        case "series_empty":
            return gettext("None of these dates is free. Change the days or the times.")
        case "unchanged":
            return gettext(
                "This is the booking as it already is: change the day, the times or the seats."
            )
        case "change_reason":
            return gettext("Please give a reason: the member will read it.")
        case "waitlist_closed":
            return gettext(
                "You are no longer waiting for this slot. Choose it on the booking form."
            )
    return gettext("This booking is not possible.")


def transition_message(error: TransitionError) -> str:
    code = error.code
    if code == "reason_required":
        return gettext("Please give a reason: the member will read it.")
    if code == "invitation_accepted":
        return gettext("This invitation was already accepted: the person has an account.")
    if code == "signup_accepted":
        return gettext("This request was already accepted.")
    if code == "signup_declined":
        return gettext("This request was already declined.")
    if code == "cancel_ended":
        return gettext("This booking has already ended: it can no longer be cancelled.")
    if code == "change_started":
        return gettext("This booking has already started: it can no longer be changed.")
    if code == "change_series":
        return gettext("This date is no longer part of a series: change it alone.")
    if code == "withdraw_nothing":
        return gettext("No change of this booking is waiting: there is nothing to withdraw.")
    if code.endswith("_expired"):
        return gettext("This request expired: its start time passed before anyone decided.")
    if code.endswith("_cancelled"):
        return gettext("This booking was already cancelled.")
    if code.endswith("_refused"):
        return gettext("This request was already refused.")
    if code.endswith("_confirmed"):
        return gettext("This booking is already confirmed.")
    return gettext("This change is not possible in the booking's current state.")


def not_allowed_message(error: NotAllowedError) -> str:
    if error.code == "book_for_others":
        return gettext("Only a venue manager can book for someone else.")
    if error.code == "override":
        return gettext("Only a venue manager can set rules aside.")
    if error.code == "waitlist":
        return gettext("Only members of this venue can wait for its slots. Ask to join it first.")
    return gettext("You are not allowed to do this.")
