"""Reading rendered pages in tests."""

from __future__ import annotations

import html
import re

from werkzeug.test import TestResponse


def text_of(response: TestResponse) -> str:
    """The page as text a person reads: entities decoded, non-breaking spaces as spaces."""
    body = html.unescape(response.get_data(as_text=True))
    return re.sub(r"[ \u00a0\u202f]+", " ", body)


def flashes_of(response: TestResponse) -> list[str]:
    """The messages flashed at the top of the page, as text."""
    found = re.findall(
        r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', text_of(response), re.S
    )
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found]
