"""The app under gunicorn on a loopback port, as in production."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn(database_url: str, workers: int = 4, instance: Path | None = None) -> Iterator[str]:
    """Serve create_app() with ``workers`` processes; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "concurrency-test-secret-key",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--backlog",
        "256",
        "--access-logfile",
        "/dev/null",
        "--log-level",
        "warning",
        "booking:create_app()",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(
                        "gunicorn stopped: " + (process.stderr.read() if process.stderr else "")
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 30 seconds") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
