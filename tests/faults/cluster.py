"""A throwaway PostGIS cluster a fault test may stop, restart or crash.

The suite's shared server must never be restarted, so a test that takes the database away makes
its own small cluster in a temporary directory (as deploy/local/pg.sh does: initdb as the
unprivileged ``postgres`` user when we are root, 127.0.0.1 only, trust authentication).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.harness import LOCALHOST, free_port, port_accepts

PG_BIN = Path("/usr/lib/postgresql/15/bin")

# Small and durable: the test is about acknowledged commits surviving a restart or a crash, so
# fsync and synchronous_commit stay on (their defaults); the memory is what a few connections of
# a short load need, not what bulk assignment needs.
CLUSTER_SETTINGS = f"""
listen_addresses = '{LOCALHOST}'
unix_socket_directories = ''
max_connections = 60
shared_buffers = 16MB
fsync = on
synchronous_commit = on
full_page_writes = on
max_wal_size = 256MB
logging_collector = off
"""


class ClusterFailed(RuntimeError):
    """The throwaway cluster did not initialise, start or stop."""


class ThrowawayCluster:
    """``initdb`` + ``pg_ctl`` on a free port; ``destroy()`` removes every trace."""

    def __init__(self) -> None:
        self._as_postgres = os.geteuid() == 0
        # As root the cluster belongs to `postgres`, which must reach its directory: /tmp is
        # world-traversable even when TMPDIR points at a private one.
        parent = "/tmp" if self._as_postgres else None
        self.home = Path(tempfile.mkdtemp(prefix="territory-fault-pg-", dir=parent))
        self.data_dir = self.home / "data"
        self.log_path = self.home / "postgres.log"
        self.port = free_port()
        if self._as_postgres:
            # initdb refuses to run as root; the cluster belongs to the postgres system user.
            account = pwd.getpwnam("postgres")
            os.chown(self.home, account.pw_uid, account.pw_gid)
        self.home.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql://territory@{LOCALHOST}:{self.port}/territory"

    def _run(self, *command: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        if self._as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        completed = subprocess.run(
            command, cwd="/", capture_output=True, text=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            raise ClusterFailed(
                f"{' '.join(command)} failed ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}\n--- log ---\n{self.log_tail()}"
            )
        return completed

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _pg_ctl(self, *arguments: str) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            f"-p {self.port}",
            "-w",
            "-t",
            "60",
            *arguments,
        )

    def init(self) -> ThrowawayCluster:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--auth=trust",
            "--no-sync",  # the cluster is thrown away: its creation needs no durability
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(CLUSTER_SETTINGS)
        (self.data_dir / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            f"host    all       all   {LOCALHOST}/32  trust\n"
        )
        return self

    def start(self) -> None:
        self._pg_ctl("start")
        self.wait_accepting()

    def restart(self, mode: str) -> None:
        """``fast`` rolls back open transactions and closes every connection; ``immediate``
        kills the server without a checkpoint, as a crash would (recovery replays the WAL)."""
        self._pg_ctl("-m", mode, "restart")
        self.wait_accepting()

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("-m", mode, "stop")

    def wait_accepting(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not port_accepts(self.port):
            if time.monotonic() > deadline:
                raise ClusterFailed(f"not accepting after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.05)

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        return self._run(
            str(PG_BIN / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            LOCALHOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        ).stdout

    def create_database(self) -> None:
        """The role and database the services use, as deploy/local/pg.sh makes them."""
        self.psql("CREATE ROLE territory LOGIN SUPERUSER")
        self.psql("CREATE DATABASE territory OWNER territory")

    def destroy(self) -> None:
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
