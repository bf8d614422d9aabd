"""The report's numbers as a French reader sees them."""

from __future__ import annotations

import pytest
from flask import Flask

from booking.presentation.numbers import format_minutes_median


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (None, "—"),
        (35.4, "35 min"),
        (60, "1 heure"),
        (310, "5 h 10"),
        (1440, "1 jour"),
        (47 * 60 + 59.6, "2 jours"),
        (3600, "2,5 jours"),
    ],
)
def test_the_median_time_to_an_answer_reads_naturally(
    app: Flask, minutes: float | None, shown: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        # French puts a non-breaking space between a number and its unit.
        assert format_minutes_median(minutes).replace("\N{NO-BREAK SPACE}", " ") == shown
