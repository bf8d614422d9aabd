"""A throw-away redis-server on a loopback port (Debian's package, installed by make test)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .ports import free_port


@contextmanager
def redis_server() -> Iterator[str]:
    """Yields the server's URL, redis://127.0.0.1:<port>/0; nothing is saved to disk."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    folder = tempfile.mkdtemp(prefix="booking-redis-")
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", folder, "--daemonize", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start: run `make test` (it installs it)")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
