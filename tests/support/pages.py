"""Reading rendered pages in tests."""

from __future__ import annotations

import html
import re

from werkzeug.test import TestResponse


def text_of(response: TestResponse) -> str:
    """The page as text a person reads: entities decoded, non-breaking spaces as spaces."""
    body = html.unescape(response.get_data(as_text=True))
    return re.sub(r"[ \u00a0\u202f]+", " ", body)
