"""Gunicorn settings: ``gunicorn wsgi:app`` reads this file from the working directory.

The one setting that matters for privacy: private iCal feed URLs carry a
secret token in their path (/feeds/u/<token>.ics, /feeds/m/<token>.ics), and
an access log would keep every token it sees. The logger below masks them in
every field of the access log (request line, path, referrer, headers and
environ). Override the rest with GUNICORN_CMD_ARGS or the command line.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from booking.security.logmask import mask_secret_paths

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Behind a proxy that terminates TLS, trust its X-Forwarded-Proto so that the
# feed links shown to members are https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class FeedTokenMaskingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_secret_paths(value)
            if isinstance(value, str) and "/feeds/" in value
            else value
            for key, value in atoms.items()
        }


logger_class = FeedTokenMaskingLogger
