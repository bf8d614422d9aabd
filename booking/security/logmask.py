"""Keeping secret links out of logs.

Some URLs are secrets by themselves: private iCal feeds (``/feeds/u/<token>.ics``,
``/feeds/m/<token>.ics``) and the signed links sent by e-mail (``/invitations/<token>``,
``/password/reset/<token>``, ``/welcome/<token>``: whoever reads one can accept the
invitation or choose the account's password). An access log would keep every one it
sees. This module masks them in log records (werkzeug's access log, Flask's error
log) and in any text, such as gunicorn's access-log atoms (``gunicorn.conf.py``);
nginx's site (``deploy/nginx/booking.conf``) masks the same paths in its own log.
A new route that takes a secret in its path goes in ``LINK_PATHS`` and in nginx's
map: ``tests/test_hardening.py`` and ``tests/test_deployment.py`` (through gunicorn
and nginx) walk the URL map for ``<token>`` arguments.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[secret]"
# The paths before a secret, as patterns: any run of slashes, so that a doubled one
# lets nothing through.
FEED_PATHS = r"feeds/+[um]"
LINK_PATHS = (r"invitations", r"password/+reset", r"welcome")
# A feed's token ends at its ".ics"; a signed link's token holds dots, and ends at
# the next slash, query, fragment, space or quote. A number after /invitations/ is a
# managers' page about one invitation (/manage/venues/<slug>/invitations/<id>/resend).
_SECRET_PATH_RE = re.compile(
    rf"(/{FEED_PATHS}/+)[^/\s.?#\"']+"
    rf"|(/(?:{'|'.join(LINK_PATHS)})/+)(?!\d+(?:[/\s?#\"']|$))[^/\s?#\"']+"
)


def _mask(match: re.Match[str]) -> str:
    return (match.group(1) or match.group(2)) + MASK


def mask_secret_paths(text: str) -> str:
    return _SECRET_PATH_RE.sub(_mask, text)


class SecretPathFilter(logging.Filter):
    """Masks secret links in log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_secret_paths(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: _mask_arg(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_mask_arg(a) for a in record.args)
        return True


def _mask_arg(value: Any) -> Any:
    return mask_secret_paths(value) if isinstance(value, str) else value


_FILTER = SecretPathFilter()


def install_log_filter(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
