"""The project's own nginx site (deploy/nginx/booking.conf) on loopback, in front of app servers.

The site file is used as shipped, with only what differs on a test machine
replaced: host name, ports, certificate (self-signed, made here), log and
static paths, and the list of app servers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "booking.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Proxy:
    https: str  # https://localhost:<port>
    http: str
    access_log: Path
    certificate: Path


def _wait_for(port: int, process: subprocess.Popen[bytes], errors: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nginx stopped: " + errors.read_text())
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("nginx did not listen within 15 seconds")


@contextmanager
def nginx_in_front(upstreams: list[str], folder: Path) -> Iterator[Proxy]:
    """Serve deploy/nginx/booking.conf on loopback, proxying to ``upstreams`` (host:port)."""
    if not os.path.exists(NGINX):
        raise RuntimeError("nginx is not installed: run `make test` (it installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    https_port, http_port = free_port(), free_port()
    key, certificate = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    site = SITE.read_text()
    live = "/etc/letsencrypt/live/reservations.example.org"
    replacements = {
        f"{live}/fullchain.pem": str(certificate),
        f"{live}/privkey.pem": str(key),
        "reservations.example.org": "localhost",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/var/log/nginx/booking.access.log": str(folder / "access.log"),
        "/srv/booking/static/": f"{ROOT / 'static'}/",
        "/var/www/html": str(folder),
        "    server 127.0.0.1:8000;": "".join(f"    server {up};\n" for up in upstreams),
    }
    for old, new in replacements.items():
        assert old in site, f"{old!r} is no longer in {SITE}: update this test helper"
        site = site.replace(old, new)
    (folder / "site.conf").write_text(site)
    user = "user root root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
    )
    process = subprocess.Popen(
        [NGINX, "-c", str(folder / "nginx.conf"), "-p", str(folder), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(https_port, process, folder / "error.log")
        yield Proxy(
            https=f"https://localhost:{https_port}",
            http=f"http://localhost:{http_port}",
            access_log=folder / "access.log",
            certificate=certificate,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
