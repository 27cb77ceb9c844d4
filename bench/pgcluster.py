"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl on a temporary
directory, listening on a unix socket only (no TCP port to collide with anything).

`initdb` refuses to run as root, so as root the cluster is made and run by the unprivileged
`postgres` user (Debian's package creates it) through `runuser`.

A replicated pair (`ReplicatedPair`): a primary and a hot standby made from it with
`pg_basebackup -R` (streaming replication), the standby named in the primary's
`synchronous_standby_names` with `synchronous_commit = on`, so a COMMIT returns only once the
standby has the transaction's WAL on its disk. The primary can be killed as a machine dies
(`kill`: SIGKILL to the postmaster and every process of it) and the standby promoted
(`promote`: pg_ctl promote). docs/scaling.md has the same steps as shell commands.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PG_USER = "machi"
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
# Settings for a cluster that lives for one test run: no TCP, small, logs to a file.
BASE_SETTINGS = {"listen_addresses": "''", "max_connections": "100", "shared_buffers": "128MB"}
# For tests only: skipping fsync changes no semantics, only speed.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# A replicated pair: the standby's name (its cluster_name, which its WAL receiver gives as
# application_name), and the primary waiting for it at each COMMIT. synchronous_commit = on:
# a COMMIT returns once the standby has flushed the WAL to its disk (remote_apply would also
# wait for it to be replayed, visible to readers there: more latency per batch for fresher
# reports, which say how stale they are instead). fsync stays off here as in FAST_SETTINGS:
# a killed process loses nothing the kernel holds; only a power cut would.
STANDBY_NAME = "standby1"
PRIMARY_SETTINGS = {"synchronous_standby_names": f"'FIRST 1 ({STANDBY_NAME})'",
                    "synchronous_commit": "on", "wal_level": "replica",
                    "max_wal_senders": "4", "wal_keep_size": "256MB"}
STANDBY_SETTINGS = {"cluster_name": STANDBY_NAME, "hot_standby": "on",
                    "synchronous_commit": "on"}
POLL_PAUSE_S = 0.05
KILLED_GONE_TIMEOUT_S = 30
REPLICATION_TIMEOUT_S = 60


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

    def __init__(self, fast: bool = True, settings: dict[str, str] | None = None) -> None:
        self.bindir = find_bindir()
        self.fast = fast
        self.extra = dict(settings or {})
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

    def _own_dir(self) -> None:
        if self.run_as:
            info = pwd.getpwnam(self.run_as)
            os.chown(self.dir, info.pw_uid, info.pw_gid)

    def start(self) -> Cluster:
        self._own_dir()
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")
        self._launch()
        return self

    def start_standby_of(self, primary: Cluster) -> Cluster:
        """Make this cluster a streaming copy of `primary` (pg_basebackup -R writes
        primary_conninfo and standby.signal) and start it as a hot standby."""
        self._own_dir()
        self._run("pg_basebackup", "-D", str(self.data), "-h", str(primary.socket_dir),
                  "-U", PG_USER, "-X", "stream", "-c", "fast", "-R", "--no-sync")
        self._launch()
        return self

    def _launch(self) -> None:
        settings = dict(BASE_SETTINGS, unix_socket_directories=f"'{self.socket_dir}'")
        if self.fast:
            settings.update(FAST_SETTINGS)
        settings.update(self.extra)
        options = " ".join(f"-c {k}={v}" for k, v in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
        self.started = True

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, WAL sender, ...)."""
        try:
            top = self.postmaster_pid()
        except (OSError, ValueError):
            return []
        found = [top]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == top:
                found.append(int(entry.name))
        return found

    def kill(self) -> None:
        """Kill the server as a machine dies: SIGKILL to the postmaster and each of its
        processes at once, then wait for all of them to be gone."""
        pids = self.processes()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + KILLED_GONE_TIMEOUT_S
        while any(_alive(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"processes {pids} outlived SIGKILL")
            time.sleep(POLL_PAUSE_S)
        self.started = False

    def promote(self) -> None:
        """A standby becomes a primary (and waits until it takes writes)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(START_TIMEOUT_S), "promote")

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
        if any(_alive(pid) for pid in self.processes()):
            self.kill()  # pg_ctl could not stop it: no server is left behind
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def multi_host_url(clusters: list[Cluster], database: str, attrs: str) -> str:
    """One libpq URL naming every cluster's socket directory (host=/a,/b), tried in order
    for a server whose session matches `attrs` (target_session_attrs: read-write, any,
    read-only, primary, standby, prefer-standby)."""
    hosts = ",".join(str(c.socket_dir) for c in clusters)
    return (f"postgresql://{PG_USER}@/{database}?host={hosts}"
            f"&target_session_attrs={attrs}")


class ReplicatedPair:
    """A primary and its synchronous hot standby on this machine; `stop()` ends both (and
    is safe to call whatever state either is in)."""

    def __init__(self, fast: bool = True) -> None:
        """`fast`: fsync off on both (tests); a benchmark keeps it on."""
        self.primary = Cluster(fast=fast, settings=PRIMARY_SETTINGS)
        self.standby = Cluster(fast=fast, settings=STANDBY_SETTINGS)

    def start(self) -> ReplicatedPair:
        try:
            self.primary.start()
            self.standby.start_standby_of(self.primary)
            self.wait_synchronous(self.primary)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_synchronous(self, primary: Cluster) -> None:
        """Until the primary sees the standby streaming as its synchronous standby."""
        import psycopg

        deadline = time.monotonic() + REPLICATION_TIMEOUT_S
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            while True:
                [[count]] = conn.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
                    "AND state = 'streaming' AND sync_state = 'sync'",
                    (STANDBY_NAME,)).fetchall()
                if count:
                    return
                if time.monotonic() > deadline:
                    raise PostgresUnavailable("the standby did not become synchronous")
                time.sleep(POLL_PAUSE_S)

    def wait_replayed(self) -> None:
        """Until the standby has replayed everything the primary has written so far
        (synchronous_commit = on waits for the standby's disk, not for its readers)."""
        import psycopg

        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            [target] = conn.execute("SELECT pg_current_wal_lsn()::text").fetchall()[0]
        deadline = time.monotonic() + REPLICATION_TIMEOUT_S
        with psycopg.connect(self.standby.url(), autocommit=True) as conn:
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                   (target,)).fetchall()[0][0]:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable("the standby did not catch up")
                time.sleep(POLL_PAUSE_S)

    def url(self, database: str, attrs: str = "read-write") -> str:
        return multi_host_url([self.primary, self.standby], database, attrs)

    def create_database(self, name: str) -> str:
        """A database made on the primary and seen on the standby; its multi-host URL."""
        self.primary.create_database(name)
        self.wait_replayed()
        return self.url(name)

    def stop(self) -> None:
        for cluster in (self.standby, self.primary):
            cluster.stop()
