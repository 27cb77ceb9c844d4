"""A real PostgreSQL restarted, or its postmaster killed, under a running ledger process:
the ledger replaces the connections it finds dead and terminals sync again, without the
ledger being restarted; while the database is away, answers are JSON (503), never a 500.

The cluster here is this module's own, so restarting it disturbs no other test.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.pgcluster import Cluster, PostgresUnavailable
from ledger import db as ledger_db
from ledger import demo, service
from ledger.db import CommitUnknown, ConnectionLost, Database, DatabaseError
from tests.ledger.helpers import LedgerProcess, Terminal

WALLET = "W-DEMO-00001"
SYNCS_AFTER = 30
# Requests sent at once before the restart, so that many server threads hold a connection.
WARM_THREADS = 8
# The longest the ledger may answer no successful request around a restart (a restart of
# this small cluster takes a second or two).
OUTAGE_MAX_S = 30
POLL_PAUSE_S = 0.05
POSTMASTER_GONE_TIMEOUT_S = 30
RESTART_TRIES = 10
RESTART_RETRY_PAUSE_S = 0.5


@pytest.fixture(scope="module")
def own_cluster():
    try:
        # Durable commits: with synchronous_commit off (the fast settings), a commit can
        # still sit in the server's WAL buffers when the postmaster is killed, and the
        # crash case then lost the terminal's enrollment itself (seen once in CI).
        cluster = Cluster(fast=False).start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL restart tests skipped: {exc}")
    yield cluster
    cluster.stop()


def _postmaster_pid(cluster: Cluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split("\n", 1)[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def restart(cluster: Cluster, mode: str) -> None:
    """`restart`: pg_ctl restart (a clean, fast shutdown). `crash`: the postmaster killed
    with SIGKILL, then started again (pg_ctl restart reuses the options it was started
    with). The server's output goes to the cluster's log: on a pipe, pg_ctl would not
    return while the server runs."""
    if mode == "restart":
        cluster._run("pg_ctl", "-D", str(cluster.data), "-l", str(cluster.dir / "server.log"),
                     "-m", "fast", "-w", "restart")
        return
    pid = _postmaster_pid(cluster)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + POSTMASTER_GONE_TIMEOUT_S
    while _alive(pid):
        assert time.monotonic() < deadline, "the killed postmaster did not go away"
        time.sleep(POLL_PAUSE_S)
    for attempt in range(RESTART_TRIES):
        try:  # its orphaned backends may hold the shared memory a moment longer
            cluster._run("pg_ctl", "-D", str(cluster.data), "-l",
                         str(cluster.dir / "server.log"), "-w", "restart")
            return
        except PostgresUnavailable:
            if attempt == RESTART_TRIES - 1:
                raise
            time.sleep(RESTART_RETRY_PAUSE_S)


class Poller:
    """Signed wallet look-ups in a loop on another thread: when each was answered, how."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.answers: list[tuple[float, int, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            reply = self.term.signed("GET", f"/v1/wallets/{WALLET}")
            try:
                body = reply.json()
            except ValueError:
                body = {"not_json": reply.text[:200]}
            self.answers.append((time.monotonic(), reply.status_code, body))
            time.sleep(POLL_PAUSE_S)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.ended = time.monotonic()

    def longest_gap_s(self) -> float:
        """The longest time without a successful answer: between two, or from the last one
        to the end of polling."""
        ok = [at for at, status, _ in self.answers if status == 200] + [self.ended]
        return max(b - a for a, b in zip(ok, ok[1:], strict=False))


@pytest.mark.parametrize("mode", ["restart", "crash"])
def test_ledger_outlives_a_postgres_restart(own_cluster, tmp_path, mode):
    url = own_cluster.create_database(f"restart_{mode}")
    server = LedgerProcess(url, tmp_path / "ledger-home").start()
    db = server.db()
    try:
        demo.seed_demo(db, 5)
        code = service.create_terminal(db, "M-SAKURA")["code"]
        db.close()  # this test's own connection would only be one more to go stale
        term = Terminal(server.url, tmp_path / "t").enroll(code)
        lot = term.wallet(WALLET)["lots"][0]["lot"]
        term.pay(WALLET, [(lot, 10)])
        assert term.push()["acked_seq"] == 2
        with ThreadPoolExecutor(WARM_THREADS) as pool:  # many threads, each a connection
            assert all(r.status_code == 200 for r in pool.map(
                lambda _: term.signed("GET", "/v1/snapshot"), range(WARM_THREADS * 4)))

        with Poller(term) as poller:
            time.sleep(POLL_PAUSE_S * 4)
            began = time.monotonic()
            restart(own_cluster, mode)
            restarted = time.monotonic()
            failed = []
            for n in range(SYNCS_AFTER):  # syncs as a terminal makes them
                term.pay(WALLET, [(lot, 10)])
                reply = term.push_records(
                    [json.loads(d) for _, d in term.journal.pending()])
                if reply.status_code != 200:
                    failed.append((n, reply.status_code, reply.text[:300]))
                    continue
                term.journal.keep_head(reply.json()["head"])
                if term.signed("GET", "/v1/snapshot").status_code != 200:
                    failed.append((n, "snapshot", ""))
            with ThreadPoolExecutor(WARM_THREADS) as pool:  # every thread's connection
                burst = [r.status_code for r in pool.map(
                    lambda _: term.signed("GET", "/v1/snapshot"), range(WARM_THREADS * 4))]
        outage = poller.longest_gap_s()
        print(f"\n{mode}: pg down for {restarted - began:.2f} s; longest time without a "
              f"successful answer {outage:.2f} s; {len(poller.answers)} polls")
        assert not failed, f"{len(failed)} of {SYNCS_AFTER} syncs failed: {failed[:3]}"
        assert burst == [200] * len(burst)
        assert term.journal.pending_count() == 0
        assert outage < OUTAGE_MAX_S
        # While the database was away, every answer was ours: JSON, never a bare 500.
        for _, status, body in poller.answers:
            assert status in (200, 503), (status, body)
            if status == 503:
                assert body["error"] == "database_unavailable", body
        log = (tmp_path / f"ledger-{server.port}.log").read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.stop()


# The same, in-process: a connection ended by the server (pg_terminate_backend, which is
# what a shutdown does to each session) at each point of a transaction or a read.
TERMINATE_WAIT_MS = 5000
# Connecting to a database never reached fails at once: far under PG_RECONNECT_WAIT_S.
FIRST_CONNECT_MAX_S = ledger_db.PG_RECONNECT_WAIT_S / 2


_databases = itertools.count(1)


@pytest.fixture
def two_connections(own_cluster):
    """A Database on a fresh database with a table `t (n)`, and a killer: a plain psycopg
    connection that ends the Database's current session."""
    import psycopg

    url = own_cluster.create_database(f"conn_{next(_databases)}")
    db = Database(url)
    db.transaction(lambda c: c.execute("CREATE TABLE t (n BIGINT PRIMARY KEY)"))
    killer = psycopg.connect(url, autocommit=True)

    def kill(conn) -> None:
        pid = conn.raw.info.backend_pid
        assert killer.execute("SELECT pg_terminate_backend(%s, %s)",
                              (pid, TERMINATE_WAIT_MS)).fetchone()[0]

    yield db, kill
    killer.close()
    db.close()


def _rows(db: Database) -> list[int]:
    with db.reading() as conn:
        return [n for (n,) in conn.all("SELECT n FROM t ORDER BY n")]


def test_an_idle_connection_ended_by_the_server_is_replaced(two_connections):
    db, kill = two_connections
    before = db.connection()
    kill(before)
    assert _rows(db) == []  # the check found it dead: a new connection did the read
    assert db.connection() is not before


def test_a_transaction_that_lost_its_connection_before_commit_runs_again(two_connections):
    db, kill = two_connections
    runs = []

    def work(conn) -> None:
        runs.append(conn)
        conn.execute("INSERT INTO t (n) VALUES (?)", (len(runs),))
        if len(runs) == 1:
            kill(conn)
            conn.execute("INSERT INTO t (n) VALUES (?)", (99,))  # the connection is gone

    db.transaction(work)
    assert len(runs) == 2 and runs[0] is not runs[1]
    assert _rows(db) == [2]  # the first run's insert died with its session


def test_a_commit_on_a_lost_connection_is_an_error_not_a_second_run(two_connections):
    db, kill = two_connections
    runs = []

    def work(conn) -> None:
        runs.append(conn)
        conn.execute("INSERT INTO t (n) VALUES (?)", (len(runs),))
        kill(conn)  # the last statement went through; the COMMIT will find no session

    with pytest.raises(CommitUnknown, match="may or may not have taken effect"):
        db.transaction(work)
    assert len(runs) == 1
    assert _rows(db) == []  # (here it did not; the ledger cannot know that)


def test_a_read_that_lost_its_connection_is_an_error_then_reads_go_on(two_connections):
    db, kill = two_connections
    db.transaction(lambda c: c.execute("INSERT INTO t (n) VALUES (1)"))
    with pytest.raises(ConnectionLost, match="connection to the database broke"), \
            db.reading() as conn:
        kill(conn)
        conn.all("SELECT n FROM t")
    assert _rows(db) == [1]


def test_a_database_never_reached_is_refused_at_once(own_cluster):
    db = Database(own_cluster.url("no_such_database"))
    began = time.monotonic()
    with pytest.raises(DatabaseError, match="no_such_database"):
        db.connection()
    assert time.monotonic() - began < FIRST_CONNECT_MAX_S
