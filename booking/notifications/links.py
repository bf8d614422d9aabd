"""Absolute links for e-mails, built without a request.

A message is rendered by a sender that has no request to take the site's
address from: it uses ``EXTERNAL_URL`` when set (production), else the address
the site was first reached at in this process (``make run``: the links point
where the person trying it browses), else ``http://localhost:5000``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request

FALLBACK = "http://localhost:5000"
_SEEN = "booking.seen_base_url"


def remember_request_address(app: Flask) -> None:
    """Keep the address of the first request, for links when EXTERNAL_URL is not set."""

    @app.before_request
    def _remember() -> None:
        if not app.extensions.get(_SEEN):
            app.extensions[_SEEN] = request.host_url


def base_url() -> str:
    app = current_app
    return (app.config.get("EXTERNAL_URL") or app.extensions.get(_SEEN) or FALLBACK).rstrip(
        "/"
    ) + "/"


class Links:
    """Builds ``https://site/path`` for an endpoint, as ``url_for`` would in a request."""

    def __init__(self, base: str | None = None) -> None:
        parts = urlsplit(base or base_url())
        self._adapter = current_app.url_map.bind(
            parts.netloc,
            script_name=parts.path.rstrip("/") or "/",
            url_scheme=parts.scheme or "http",
        )

    def url(self, endpoint: str, **values: Any) -> str:
        return self._adapter.build(endpoint, values, force_external=True)
