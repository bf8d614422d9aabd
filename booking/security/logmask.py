"""Keeping secret feed URLs out of logs.

Private iCal feed URLs carry a secret token in their path (``/feeds/u/<token>.ics``,
``/feeds/m/<token>.ics``); an access log would keep every token it sees. This
module masks them in log records (werkzeug's access log, Flask's error log) and
in any text, such as gunicorn's access-log atoms (``gunicorn.conf.py``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Any run of slashes before u/ or m/: a doubled slash must not let a token through.
_SECRET_PATH_RE = re.compile(r"(/feeds/+[um]/+)[^/\s.?\"']+")


def mask_secret_paths(text: str) -> str:
    return _SECRET_PATH_RE.sub(r"\1[secret]", text)


class SecretPathFilter(logging.Filter):
    """Masks feed tokens in log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/feeds/" in record.msg:
            record.msg = mask_secret_paths(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: _mask_arg(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_mask_arg(a) for a in record.args)
        return True


def _mask_arg(value: Any) -> Any:
    return mask_secret_paths(value) if isinstance(value, str) and "/feeds/" in value else value


_FILTER = SecretPathFilter()


def install_log_filter(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
