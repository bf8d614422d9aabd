"""The app under gunicorn on a loopback port, as in production."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class Server(str):
    """The base URL of a running gunicorn, with its master process (to signal workers)."""

    process: subprocess.Popen[str]
    errors: IO[str]

    def log(self) -> str:
        """What gunicorn and the app wrote to standard error so far."""
        # Read without moving the file's offset, which gunicorn shares to write.
        fd = self.errors.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


@contextmanager
def gunicorn(
    database_url: str,
    workers: int = 4,
    instance: Path | None = None,
    env: dict[str, str] | None = None,
    probe: str = "/login",
    access_log: Path | None = None,
) -> Iterator[Server]:
    """Serve create_app() with ``workers`` processes; yields the base URL (a Server).

    gunicorn reads the project's gunicorn.conf.py, as in production (its access log
    goes to ``access_log`` when given). The app's instance folder (config.py, e-mails
    written when no mail server is set) is ``instance``, or a temporary folder of its
    own: never the project's instance/, which the servers of tests running at once
    would share."""
    port = free_port()
    own_instance = instance is None
    if instance is None:
        instance = Path(tempfile.mkdtemp(prefix="booking-gunicorn-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "concurrency-test-secret-key",
        **(env or {}),
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
        str(access_log or "/dev/null"),
        "--log-level",
        "warning",
        f"booking:create_app({{'INSTANCE_PATH': {str(instance)!r}}})",
    ]
    # Its log goes to a file: a pipe nobody reads would fill up and block the workers.
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=errors, text=True)
    base = Server(f"http://127.0.0.1:{port}")
    base.process = process
    base.errors = errors
    try:
        # Generous: four workers importing the app on a busy two-core machine.
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + probe, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    errors.seek(0)
                    raise RuntimeError("gunicorn stopped: " + errors.read()) from None
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 60 seconds") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()
        if own_instance:
            shutil.rmtree(instance, ignore_errors=True)
