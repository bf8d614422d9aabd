"""A PostgreSQL primary with a synchronous hot standby, set up as the README's deployment
section says: throw-away clusters in a temporary folder, on loopback ports.

The primary streams its WAL to the standby (``pg_basebackup -R``), and waits for the
standby to have each commit before it answers (``synchronous_standby_names``). A test
can kill the primary, promote the standby, and rebuild a standby from the new primary.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from .postgres import _bin_dir, free_port

REPLICATION_USER = "replicator"
# What the README asks to add to postgresql.conf (the defaults of PostgreSQL 10 and
# later already say most of it: written out so that the set-up does not depend on them).
PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 5
hot_standby = on
"""
# Test clusters only: servers are killed here, never the machine, so the operating
# system keeps what was written even without fsync.
TEST_SETTINGS = """
fsync = off
max_connections = 100
"""
# Who may connect: local socket for the set-up, the app from loopback, and streaming
# replication for the replication user only.
HBA = f"""
local all all trust
host all all 127.0.0.1/32 trust
host replication {REPLICATION_USER} 127.0.0.1/32 trust
"""
WAIT_SECONDS = 30


def _alive(pid: int) -> bool:
    """Whether the process runs (a killed one waiting for its parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Node:
    """One PostgreSQL server: its data folder, its port, and how to start, stop, kill
    or promote it."""

    def __init__(self, root: Path, name: str, as_user: str | None) -> None:
        self.bin = _bin_dir()
        self.root = root
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()
        self.as_user = as_user

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root}"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """``kill -9`` of the postmaster, as when the server crashes; its backends see it
        gone and quit."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + WAIT_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def promote(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def query(self, sql: str, database: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def forget(self) -> None:
        """Remove the data folder (after a crash: the rebuilt standby starts afresh)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.data, ignore_errors=True)


class ReplicatedPostgres:
    """A primary and a synchronous standby; ``primary`` and ``standby`` follow a fail-over."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="booking-pg-replication-"))
        as_user = None
        if os.geteuid() == 0:
            # initdb refuses to run as root: use the account Debian's package made.
            as_user = "postgres"
            entry = pwd.getpwnam(as_user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.primary = Node(self.root, "alpha", as_user)
        self.standby = Node(self.root, "beta", as_user)

    # --- set-up -------------------------------------------------------------------

    def start(self) -> None:
        primary = self.primary
        primary.run(
            "initdb", "-D", str(primary.data), "-U", "postgres", "-E", "UTF8", "--no-locale"
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_SETTINGS + TEST_SETTINGS)
        (primary.data / "pg_hba.conf").write_text(HBA)
        primary.start()
        primary.query(f"CREATE ROLE {REPLICATION_USER} WITH REPLICATION LOGIN")
        self.build_standby()

    def build_standby(self) -> None:
        """``pg_basebackup -R`` from the primary into an empty folder, start it, then make
        the primary wait for it at each commit."""
        standby = self.standby
        standby.forget()
        standby.run(
            "pg_basebackup",
            "-d",
            f"host=127.0.0.1 port={self.primary.port} user={REPLICATION_USER}",
            "-D",
            str(standby.data),
            "-R",
            "--checkpoint=fast",
            "--wal-method=stream",
        )
        standby.start()
        self.primary.query("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.primary.query("SELECT pg_reload_conf()")
        self.wait_until_synchronous()

    def wait_until_synchronous(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            rows = self.primary.query("SELECT sync_state FROM pg_stat_replication")
            if ("sync",) in rows:
                return
            time.sleep(0.05)
        raise RuntimeError("the standby did not become synchronous")

    def create_database(self, name: str) -> None:
        self.primary.query(f'DROP DATABASE IF EXISTS "{name}"')
        self.primary.query(f'CREATE DATABASE "{name}"')

    # --- what the app is given ----------------------------------------------------

    def either_url(self, database: str) -> str:
        """Both servers in one libpq URL, as the README writes DATABASE_URL: each new
        connection goes to the one that accepts writes."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in (self.primary, self.standby))
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    # --- faults and what the venue's team does about them ---------------------------

    def kill_primary(self) -> None:
        self.primary.kill()

    def promote_standby(self) -> None:
        """The README's promotion: the standby stops waiting for a standby of its own (it
        has none yet), then takes over. The old primary is left for ``build_standby``."""
        self.standby.query("ALTER SYSTEM RESET synchronous_standby_names")
        self.standby.query("SELECT pg_reload_conf()")
        self.standby.promote()
        self.primary, self.standby = self.standby, self.primary

    def replay(self, paused: bool) -> None:
        """Hold the standby's replay of the WAL it receives (a replica that lags), or let
        it go on."""
        self.standby.query(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")
        wanted = "paused" if paused else "not paused"
        deadline = time.monotonic() + WAIT_SECONDS
        while self.standby.query("SELECT pg_get_wal_replay_pause_state()") != [(wanted,)]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby's replay is not {wanted}")
            time.sleep(0.02)

    def stop(self) -> None:
        for node in (self.standby, self.primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                node.run("pg_ctl", "-D", str(node.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
