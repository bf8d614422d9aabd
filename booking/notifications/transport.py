"""Where messages go: an SMTP server, or files in instance/mail/ when none is configured.

A transport opens a connection for a batch of messages and sends each one as
the sender kept it (the RFC 5322 text stored with the outbox row), byte for
byte, so that every try of a message sends the same bytes. A failure says
whether trying again later may help (``DeliveryError.permanent``): a mail
server that is down, slow or busy (4xx) is temporary, a recipient or a message
it refuses for good (5xx) is permanent; and whether the server itself could
not be reached (``DeliveryError.connection``).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_string
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

# Sends one message, given as kept (RFC 5322 text); the name is how a file transport
# calls it.
Send = Callable[[str, str], None]


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        # The connection itself failed: the rest of the batch would fail alike.
        self.connection = connection


class Transport(Protocol):
    description: str

    def connect(self) -> Any:  # a context manager yielding a Send
        ...


@dataclass
class SMTPTransport:
    host: str
    port: int
    security: str  # starttls, tls or none
    user: str = ""
    password: str = ""
    timeout: float = 20
    ca_file: str = ""

    @property
    def description(self) -> str:
        return f"SMTP {self.host}:{self.port} ({self.security})"

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def _open(self) -> smtplib.SMTP:
        if self.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                server.starttls(context=self._context())
            if self.user:
                server.login(self.user, self.password)
        except BaseException:
            server.close()
            raise
        return server

    @contextmanager
    def connect(self) -> Iterator[Send]:
        try:
            server = self._open()
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(_describe(error), connection=True) from error

        def send(text: str, name: str) -> None:
            sender, recipients = _envelope(text)
            try:
                # The kept text as it is, its line ends made CRLF: the bytes every
                # try of this message sends (send_message would write it anew).
                refused = server.sendmail(sender, recipients, _wire(text))
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _ in error.recipients.values()]
                raise DeliveryError(
                    _describe(error), permanent=all(c >= 500 for c in codes)
                ) from error
            except smtplib.SMTPDataError as error:
                raise DeliveryError(_describe(error), permanent=error.smtp_code >= 500) from error
            except smtplib.SMTPSenderRefused as error:
                # Our own address refused: a set-up to mend, then every message goes.
                raise DeliveryError(_describe(error)) from error
            except (OSError, smtplib.SMTPException) as error:
                raise DeliveryError(_describe(error), connection=True) from error
            if refused:  # one message, one recipient: refused means not sent
                raise DeliveryError(str(refused), permanent=True)

        try:
            yield send
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()


def _envelope(text: str) -> tuple[str, list[str]]:
    """The envelope of a kept message: its From address, and its To addresses."""
    headers = message_from_string(text, policy=default_policy)
    sender = parseaddr(str(headers["From"] or ""))[1]
    recipients = [address.addr_spec for address in headers["To"].addresses] if headers["To"] else []
    return sender, recipients


def _wire(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"


@dataclass
class FileTransport:
    """Each message as an .eml file, for a site with no mail server (``make run``)."""

    folder: Path

    @property
    def description(self) -> str:
        return str(self.folder)

    @contextmanager
    def connect(self) -> Iterator[Send]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DeliveryError(_describe(error), connection=True) from error

        def send(text: str, name: str) -> None:
            target = self.folder / f"{name}.eml"
            partial = target.with_suffix(".part")
            try:
                partial.write_bytes(text.encode("utf-8"))
                os.replace(partial, target)
            except OSError as error:
                raise DeliveryError(_describe(error)) from error

        yield send


def transport_for(config: Any, instance_path: str) -> SMTPTransport | FileTransport:
    if config.get("SMTP_HOST"):
        return SMTPTransport(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            security=config["SMTP_SECURITY"],
            user=config.get("SMTP_USER") or "",
            password=config.get("SMTP_PASSWORD") or "",
            timeout=float(config["SMTP_TIMEOUT"]),
            ca_file=config.get("SMTP_CA_FILE") or "",
        )
    return FileTransport(Path(instance_path) / "mail")
