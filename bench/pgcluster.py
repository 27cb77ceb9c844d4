"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl on a temporary
directory, listening on a unix socket only (no TCP port to collide with anything).

`initdb` refuses to run as root, so as root the cluster is made and run by the unprivileged
`postgres` user (Debian's package creates it) through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_USER = "machi"
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
# Settings for a cluster that lives for one test run: no TCP, small, logs to a file.
BASE_SETTINGS = {"listen_addresses": "''", "max_connections": "100", "shared_buffers": "128MB"}
# For tests only: skipping fsync changes no semantics, only speed.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresUnavailable(Exception):
    """No PostgreSQL server programs here, or no unprivileged user to run them as."""


def find_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("PostgreSQL server programs (initdb, pg_ctl) are not installed: "
                              "apt-get install postgresql")


class Cluster:
    """Start with `start()`, get databases with `create_database()`, end with `stop()`."""

    def __init__(self, fast: bool = True) -> None:
        self.bindir = find_bindir()
        self.fast = fast
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to "
                                          "run initdb as") from exc
            self.run_as = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="machi-pg-"))
        self.data = self.dir / "data"
        self.socket_dir = self.dir
        self.started = False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> Cluster:
        if self.run_as:
            info = pwd.getpwnam(self.run_as)
            os.chown(self.dir, info.pw_uid, info.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")
        settings = dict(BASE_SETTINGS, unix_socket_directories=f"'{self.socket_dir}'")
        if self.fast:
            settings.update(FAST_SETTINGS)
        options = " ".join(f"-c {k}={v}" for k, v in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (PostgresUnavailable, subprocess.TimeoutExpired):
                pass  # the directory goes anyway; a stray server dies with its files
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
