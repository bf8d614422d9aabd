"""Fetching a calendar from an address a manager typed, without letting that address
reach inside the server's network.

A followed calendar's URL is chosen by a venue's manager, and the server fetches it
on a schedule: the classic way to make a server read what only it can reach (a cloud's
metadata service at 169.254.169.254, an admin page on 127.0.0.1, a database on the
private network). So:

- only ``http`` and ``https``;
- the host name is resolved once, here, and every address it resolves to must be a
  public one (no loopback, private, link-local, shared, multicast or reserved address,
  IPv4-mapped IPv6 included), unless the administrator allowed the host by name or
  address (``CALENDAR_ALLOWED_HOSTS``);
- the connection is made to the very address that was checked (the name is not
  resolved again: a DNS answer that changes between the check and the connection
  gains nothing), with the host name kept for the ``Host`` header and TLS;
- redirects are followed by hand, a few at most, each new address checked the same way;
- the answer's size and the whole exchange's time are limited.

``fetch`` answers a ``Fetched`` (the body, or "not modified" for a conditional request
answered 304, and the validators to send next time) or raises ``FetchError`` with a
code that the manager's screen words in their language.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

USER_AGENT = "tiers-lieux-booking/1 (calendar follower)"
MAX_REDIRECTS = 5
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do: the hosts allowed although their address is not public, the
    largest answer and the longest time."""

    allowed_hosts: frozenset[str] = frozenset()
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Any) -> FetchPolicy:
        """The policy the settings give (``CALENDAR_*``)."""
        return cls.of(
            config.get("CALENDAR_ALLOWED_HOSTS") or "",
            config.get("CALENDAR_MAX_BYTES", 5 * 1024 * 1024),
            config.get("CALENDAR_FETCH_TIMEOUT", 10),
        )

    @classmethod
    def of(cls, allowed: str | Iterable[str], max_bytes: int, timeout: float) -> FetchPolicy:
        names = allowed.split(",") if isinstance(allowed, str) else allowed
        return cls(
            frozenset(name.strip().lower().strip("[]") for name in names if name.strip()),
            int(max_bytes),
            float(timeout),
        )


class FetchError(Exception):
    """Why an address could not be read: a code (``presentation.manage`` words it) and a
    detail (an HTTP status, a host name)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the validators sent
    etag: str = ""
    last_modified: str = ""
    requests: int = 1
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.body is None


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an address the app may fetch, or
    FetchError: http(s), a host, no user name or password in it."""
    url = url.strip()
    if not url or len(url) > 2000 or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise FetchError("bad_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError("bad_url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("scheme")
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        raise FetchError("bad_url")
    if port is None:
        port = 443 if scheme == "https" else 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path


def is_public(address: str) -> bool:
    """Whether an IP address is one of the public Internet's."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, policy: FetchPolicy) -> str:
    """The address to connect to for ``host``: each address it resolves to checked, the
    first one returned. Refused unless every address is public or the host is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError("dns", host) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchError("dns", host)
    allowed = host in policy.allowed_hosts or any(a in policy.allowed_hosts for a in addresses)
    if not allowed and not all(is_public(address) for address in addresses):
        raise FetchError("refused_address", host)
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, naming the host in its requests."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    etag: str = "",
    last_modified: str = "",
) -> Fetched:
    """GET ``url`` under ``policy``, conditionally when validators are given."""
    deadline = time.monotonic() + policy.timeout
    requests = 0
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = check_url(url)
        address = resolve(host, port, policy)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout")
        if scheme == "https":
            connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
                host, port, address, remaining, ssl.create_default_context()
            )
        else:
            connection = _PinnedHTTPConnection(host, port, address, remaining)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "text/calendar, text/plain;q=0.8, */*;q=0.5",
            "Accept-Encoding": "identity",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        requests += 1
        response: http.client.HTTPResponse | None = None
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            status = response.status
            if status in (301, 302, 303, 307, 308):
                location = response.getheader("Location") or ""
                if not location:
                    raise FetchError("http_status", str(status))
                url = urljoin(url, location)
                continue
            if status == 304:
                return Fetched(
                    None,
                    response.getheader("ETag") or etag,
                    response.getheader("Last-Modified") or last_modified,
                    requests,
                )
            if status != 200:
                raise FetchError("http_status", str(status))
            body = _read(response, policy, deadline)
            return Fetched(
                body,
                response.getheader("ETag") or "",
                response.getheader("Last-Modified") or "",
                requests,
                {k.lower(): v for k, v in response.getheaders()},
            )
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError("timeout") from None
        except ssl.SSLError:
            raise FetchError("tls", host) from None
        except (OSError, http.client.HTTPException):
            raise FetchError("connect", host) from None
        finally:
            if response is not None:
                response.close()
            connection.close()
    raise FetchError("too_many_redirects")


def _read(response: http.client.HTTPResponse, policy: FetchPolicy, deadline: float) -> bytes:
    """The body, refused as soon as it passes the size limit or the time runs out."""
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError("too_large", str(policy.max_bytes))
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("timeout")
        chunk = response.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchError("too_large", str(policy.max_bytes))
        parts.append(chunk)
