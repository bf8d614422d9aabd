"""A real SMTP server for tests: aiosmtpd on a loopback port, that can misbehave on demand.

server = MailServer(); server.start()
server.mode = "refuse"   # 451 to every message: "try again later"
server.mode = "reject"   # 550 to every recipient: refused for good
server.mode = "drop"     # the connection is cut once the message is sent, before any answer
server.mode = "stall"    # the message is taken, the answer waits for server.release.set()
server.kill(pid, after=2)  # the 2nd message is taken, then process pid is killed (SIGKILL)
server.stop(); server.start()   # gone, then back on the same port
server.messages          # what it accepted (answered 250), parsed
server.raw               # the same, as the bytes that came over the wire

A message counts as received only once the server has answered 250, as with
a real mail server: a message whose connection was cut before the answer was
not delivered, and the client must send it again. "stall" and ``kill`` are
the exceptions that fault drills need: the server has the message (it counts
as received) while its sender has no answer yet, and may never get one.
"""

from __future__ import annotations

import asyncio
import email
import os
import signal
import ssl
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .ports import free_port

BASE_URL = "https://reservations.example.org"


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.mode == "reject":
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mode = self.server.mode
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        if mode == "refuse":
            return "451 4.3.0 Mail server busy, try again later"
        if mode == "drop":
            # Gone in the middle of a send: the message was transmitted, no
            # answer ever comes.
            server.transport.close()
            return "421 4.3.0 Closing"
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.raw.append(bytes(envelope.original_content or envelope.content))
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            received = len(self.server.messages)
        if mode == "stall":
            # Taken, but the sender hears nothing until the test lets the answer go.
            await asyncio.get_running_loop().run_in_executor(None, self.server.release.wait)
        victim = self.server.victim
        if victim is not None and received == victim[1]:
            self.server.victim = None
            # The sender dies between the server's acceptance and its own record of it.
            os.kill(victim[0], signal.SIGKILL)
        return "250 2.0.0 Message accepted for delivery"


class MailServer:
    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.mode = "accept"
        self.delay = 0.0
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.release = threading.Event()
        self.victim: tuple[int, int] | None = None  # (process id, which message kills it)
        self.logins: list[str] = []
        self._tls_context = tls_context
        self._implicit_tls = implicit_tls
        self._login = login
        self._controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and self._login is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._login
        ):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> MailServer:
        self.release.clear()
        kwargs: dict[str, Any] = {}
        if self._tls_context is not None and self._implicit_tls:
            kwargs["ssl_context"] = self._tls_context
        elif self._tls_context is not None:
            kwargs["tls_context"] = self._tls_context
            kwargs["require_starttls"] = True
        if self._login is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def kill(self, pid: int, *, after: int) -> None:
        """Kill process ``pid`` once the server holds ``after`` messages, before answering."""
        self.victim = (pid, after)

    def stop(self) -> None:
        self.release.set()  # a stalled answer must not keep the server from stopping
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} messages arrived, {count} expected")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def config(self) -> dict[str, Any]:
        """What the app needs to send here."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT": 5,
        }


@pytest.fixture(name="smtp")
def smtp_fixture(app: Any) -> Any:
    """A mail server the app sends to, links in e-mails pointing at BASE_URL."""
    server = MailServer().start()
    app.config.update(
        server.config(),
        MAIL_FROM="Tiers-lieux <ne-pas-repondre@tiers-lieux.test>",
        EXTERNAL_URL=BASE_URL,
    )
    yield server
    server.stop()
