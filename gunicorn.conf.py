"""Gunicorn settings: ``gunicorn wsgi:app`` reads this file from the working directory.

What matters here beyond the address and the number of workers:

- Privacy: private iCal feed URLs and the signed links sent by e-mail (invitations,
  password links) carry a secret in their path, and an access log would keep every
  one it sees. The logger below masks them in every field of the access log
  (request line, path, referrer, headers and environ).
- Several instances on one host: gunicorn's control socket (for ``gunicornc``)
  defaults to one path per account ($HOME/.gunicorn/gunicorn.ctl), which a second
  instance would take over. None is opened unless ``GUNICORN_CONTROL_SOCKET`` names
  one, of this instance's own.
- The proxy's headers: nginx (deploy/) sets X-Forwarded-Proto; gunicorn believes no
  other header about the scheme or the script path, even from nginx's address.

Override the rest with GUNICORN_CMD_ARGS or the command line.
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
# Only the header nginx sets (and overwrites): not X-Forwarded-Ssl nor
# X-Forwarded-Protocol, which a client could send through it.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# No SCRIPT_NAME or PATH_INFO from headers: links would follow whoever sent them.
forwarder_headers = ""

if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True


class SecretLinkMaskingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_secret_paths(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


logger_class = SecretLinkMaskingLogger
