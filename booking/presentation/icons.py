"""The icons of every page: one ``<svg><use>`` into the sprite in ``static/img/icons.svg``.

A page shows twenty or so icons; building each one's link with ``url_for`` and a
template macro was a visible share of a week page's time, so the sprite's address
is worked out once per mount point and the tag is written here.
"""

from __future__ import annotations

from flask import request, url_for
from markupsafe import Markup, escape

_SPRITES: dict[str, str] = {}


def sprite_url() -> str:
    """The sprite's address under the app's mount point (the same for every request)."""
    root = request.script_root
    url = _SPRITES.get(root)
    if url is None:
        url = _SPRITES[root] = str(escape(url_for("static", filename="img/icons.svg")))
    return url


def icon(name: str, class_: str = "") -> Markup:
    """``icon("clock")``: the sprite's icon ``name``, hidden from screen readers (the text
    next to it says what it means)."""
    return Markup(
        f'<svg class="icon {escape(class_)}" aria-hidden="true" focusable="false">'
        f'<use href="{sprite_url()}#{escape(name)}"></use></svg>'
    )
