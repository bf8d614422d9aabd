"""A calendar server on this machine (``http.server`` in a thread) serving real exports,
the way Google, Nextcloud and Outlook answer: an ETag and a Last-Modified, 304 to a
conditional request for a calendar that did not change. Also what a hostile address does:
redirect to a private address, send 50 MB, answer garbage.

Tests on loopback allow 127.0.0.1 explicitly (``CALENDAR_ALLOWED_HOSTS``); by default the
app refuses it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "calendars"
LAST_MODIFIED = "Sun, 01 Mar 2026 10:00:00 GMT"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class CalendarServer:
    port: int = 0
    # path -> body (bytes), or ("redirect", location), or ("huge", size)
    routes: dict[str, object] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def calendar_server() -> Iterator[CalendarServer]:
    state = CalendarServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int) -> None:
            state.answers.append(status)
            self.send_response(status)

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            route = state.routes.get(self.path)
            if route is None:
                self._answer(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(route, tuple) and route[0] == "redirect":
                self._answer(302)
                self.send_header("Location", str(route[1]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(route, tuple) and route[0] == "huge":
                size = int(route[1])
                self._answer(200)
                self.send_header("Content-Type", "text/calendar")
                if len(route) < 3:  # some servers say the size, others do not
                    self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"X" * 65536
                try:
                    sent = 0
                    while sent < size:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
            assert isinstance(route, bytes)
            etag = '"' + hashlib.sha256(route).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._answer(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._answer(200)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(route)))
            self.end_headers()
            self.wfile.write(route)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="calendar-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
