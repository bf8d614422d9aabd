"""How the domain reads on a page: words, formats, messages, calendars; languages.

``init_app`` registers every template filter and global in one place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, request

from ..models import Status
from ..permissions import can_administer, can_change, can_handle_account, can_manage_any
from . import (
    calendars_words,
    descriptions,
    formatting,
    fragments,
    i18n,
    icons,
    labels,
    manage,
    messages,
    numbers,
    schedule,
    search_results,
    tables,
    weeks,
)
from . import outbox as outbox_labels


def current_path() -> str:
    """The current path with its query, for ``next=`` links (no trailing "?")."""
    return request.full_path.rstrip("?") if request else "/"


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    fragments.init_app(app)
    filters: dict[str, Any] = {
        "duration": formatting.format_duration,
        "clock": formatting.format_clock,
        "day": formatting.format_day,
        "weekday": formatting.weekday_name,
        "date_range": formatting.format_date_range,
        "span": formatting.format_span,
        "venue_datetime": formatting.venue_datetime,
        "venue_time": formatting.venue_time,
        "venue_day": formatting.venue_day,
        "venue_short_day": formatting.venue_short_day,
        "status_label": lambda s: labels.STATUS_LABELS[Status(s)],
        "status_tone": lambda s: labels.STATUS_TONES[Status(s)],
        "override_labels": labels.override_labels,
        "device_name": formatting.device_name,
        "money": numbers.format_money,
        "hours": numbers.format_hours,
        "share": numbers.format_share,
        "change": numbers.format_change,
        "number": numbers.format_count,
        "wait_time": numbers.format_minutes_median,
    }
    for name, function in filters.items():
        app.add_template_filter(function, name)
    # Globals rather than a context processor: macros imported without context
    # (``{% from "_macros/ui.html" import ... %}``) see globals only.
    template_globals: dict[str, Any] = {
        "current_path": current_path,
        "kind_label": descriptions.kind_label,
        "opening_hours": descriptions.opening_hours,
        "hours_today": descriptions.hours_today,
        "badges_for": descriptions.resource_badges,
        "buffer_sentence": descriptions.buffer_sentence,
        "buffer_purpose": descriptions.buffer_purpose,
        "timedelta": timedelta,
        "can_manage_any": can_manage_any,
        "can_change": can_change,
        "can_handle_account": can_handle_account,
        "can_administer": can_administer,
        "outbox_kind": outbox_labels.kind_label,
        "schedule_box": schedule.box,
        "schedule_lane": schedule.lane,
        "closed_bands": schedule.closed_bands,
        "action_label": manage.action_label,
        "role_label": manage.role_label,
        "line_status_label": manage.line_status_label,
        "hours_pattern_label": manage.hours_pattern_label,
        "field_label": manage.field_label,
        "change_value": manage.change_value,
        "detail_text": manage.detail_text,
        "series_words": descriptions.series_words,
        "week_html": weeks.week_html,
        "svg_icon": icons.icon,
        "results_by_day": search_results.by_day,
        "results_notes": search_results.notes,
        "table_cell": tables.cell_text,
        "rate_label": numbers.rate_label,
        "price_text": numbers.price_text,
        "unit_label": numbers.unit_label,
        "rule_text": calendars_words.rule_text,
        "violation_text": messages.violation_message,
        "fetch_problem": calendars_words.fetch_problem,
        "import_state": lambda state: str(calendars_words.STATE_LABELS[state]),
        "import_tone": calendars_words.STATE_TONES.get,
        "row_problem": lambda code: str(calendars_words.ROW_PROBLEMS.get(code, code)),
    }
    for name, value in template_globals.items():
        app.add_template_global(value, name)
