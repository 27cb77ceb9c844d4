"""Sync that survives every fault (DESIGN §7, §10): exactly-once at the ledger.

Real terminals (enrolled data directories, real keys and journals) sync with the real ledger
process on a SQLite file, through tests.faultproxy on loopback. For each fault mode a
terminal with a backlog of sales syncs while the fault is on, selling a little more between
attempts as a shop would, then with the proxy passing through again (retrying after a pause,
as the worker does, while what the fault left behind clears). Then: the ledger
holds the terminal's seqs 1..N once each with the terminal's own hashes, the terminal has
nothing pending and keeps the ledger's head at N, `ledger check` passes, and the journal
verifies. The same holds after the terminal process is killed with SIGKILL mid-push again
and again, and after the ledger is stopped and killed mid-batch and started on the same files.

A connection put out of step by one duplicated answer is dropped, never used again (this
test found that only some of the client's checks dropped it).

The client's read timeout is 30 s (sync.client.READ_TIMEOUT_S); the tests that need a late
answer to trip it use `ImpatientClient`, the real client with a shorter timeout.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from ledger import check, demo
from ledger.db import Database
from ledger.ingest import BEHIND_WAIT_S
from ledger.schema import migrate
from sync import client as sync_client
from sync import pins
from sync.client import LedgerClient, SyncError, SyncWorker, pull_all, push_all
from terminal import audit, keystore
from terminal.journal import Journal
from terminal.node import Node, enroll
from terminal.state import StateStore
from tests.faultproxy import FaultProxy, Mode
from tests.ledger.helpers import ROOT, LedgerProcess

DEMO_WALLETS = 40
SHOP = "M-SAKURA"
BACKLOG = 200
# Small batches, so one sync is many exchanges and a fault lands between acknowledged ones.
FAULT_BATCH = 40
# Sales made at the counter between two sync attempts while the fault is on.
SALES_BETWEEN = 3
FAULT_ROUNDS = 8
# Attempts once the proxy passes through again: the first may still meet what the fault left
# behind (a stale duplicate answer waiting on a kept-alive connection), as a worker would.
CALM_ROUNDS = 3
# The pause after a failed calm attempt: the worker's backoff (sync.client.backoff_s, at least
# half of BACKOFF_FIRST_S), capped so the test stays short.
CALM_PAUSE_S = 0.5
# A slow line (every answer this late, well inside the client's timeout): the client always
# sends its next request before the answer to the last one is in.
SLOW_LINE_S = 0.2
# The impatient client's read timeout, and how late the proxy's delayed answers come.
CLIENT_TIMEOUT_S = 0.5
LATE_BY_S = 1.0
ADMIN_TIMEOUT_S = 10
# SIGKILL of `python -m terminal sync`: backlog, kills, how slow the proxy answers, and the
# longest a kill waits for the process to start pushing.
KILL_BACKLOG = 5_000
KILLS = 4
KILL_SLOW_S = 0.3
KILL_AFTER_MAX_S = 0.8
PUSH_START_TIMEOUT_S = 20
SUBPROCESS_TIMEOUT_S = 60
RESTART_BACKLOG = 1_500
RESTART_BATCH = 1_000
RESTART_KILL_AFTER_MAX_S = 0.2
PUSH_JOIN_TIMEOUT_S = 30
# A backlog pushed as a few batches, two in flight, the first of them late by this much
# (or by this much past the ledger's wait for a batch behind another).
OVERTAKE_BACKLOG = 120
OVERTAKE_BATCH = 40
OVERTAKE_LATE_S = 0.3
SEED = 20261122
# Flags the simulated day of sales may raise by itself, not the sync (see assert_exactly_once).
SALE_FLAGS = ("takeback_short",)
# Journals and ledger files go on tmpfs when there is one: the tests kill processes, never
# the machine, and a killed process's writes survive in the page cache either way, so the
# files behave the same; without a disk flush per sale the backlogs take a fraction of the
# time, which keeps the file inside its time budget.
SHM = Path("/dev/shm")


class ImpatientClient(LedgerClient):
    """The real client, with a read timeout short enough that a late answer trips it."""

    def _request(self, method: str, path: str, body: bytes = b"",
                 timeout: float = sync_client.READ_TIMEOUT_S, **kwargs) -> dict:
        return super()._request(method, path, body, min(timeout, CLIENT_TIMEOUT_S), **kwargs)


# --- the ledger, terminals and backlogs --------------------------------------------------


def _seeded_ledger(base: Path) -> LedgerProcess:
    base.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{base / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    demo.seed_demo(db, DEMO_WALLETS)
    db.close()
    return LedgerProcess(url, base / "home").start()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="machi-faults-", dir=SHM))
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("faults")


@pytest.fixture
def work(scratch) -> Path:
    """This test's own directory under the scratch space."""
    return Path(tempfile.mkdtemp(prefix="test-", dir=scratch))


@pytest.fixture(scope="module")
def ledger(scratch):
    """One ledger for the fault modes: each test enrolls a terminal of its own."""
    server = _seeded_ledger(scratch / "ledger")
    yield server
    server.stop()


@pytest.fixture
def proxy(ledger):
    with FaultProxy(ledger.port) as fault_proxy:
        yield fault_proxy


def _enroll(ledger_url: str, admin_url: str, token: str, data_dir: Path) -> str:
    """A new terminal of the demo shop, enrolled at `ledger_url`, with a first snapshot."""
    reply = requests.post(admin_url + "/v1/admin/terminals", json={"merchant_id": SHOP},
                          headers={"authorization": f"Bearer {token}"}, timeout=ADMIN_TIMEOUT_S)
    reply.raise_for_status()
    answer = enroll(data_dir, ledger_url, reply.json()["code"])
    with Node(data_dir) as node:
        status = node.sync_once()
        assert status.online and status.pending == 0, status
    return answer["terminal_id"]


def _sell(node: Node, records: int, seed: int) -> None:
    """Exactly `records` new journal records: the day's sales (payments, refunds), then cash
    float movements when the wallets' offline allowance runs out."""
    from terminal import simulate

    target = node.journal.last_seq + records
    simulate.run(node, records, seed=seed, sync=False)
    assert node.journal.last_seq <= target  # a sale makes at most one record
    moves = 0
    while node.journal.last_seq < target:
        node.counter.cash_move(1_000, "in" if moves % 2 else "out", "float")
        moves += 1


def _backlog(data_dir: Path, records: int, seed: int = SEED) -> int:
    with Node(data_dir, offline=True) as node:
        _sell(node, records, seed)
        assert node.journal.pending_count() == records
        return node.journal.last_seq


class Syncer:
    """The terminal's sync side, built as Node builds it, over an impatient client."""

    def __init__(self, data_dir: Path, url: str, terminal_id: str) -> None:
        key = keystore.load_key(data_dir)
        self.journal = Journal.open(data_dir)
        self.state = StateStore(data_dir, pins.seal_key(key.seed()))
        self.client = ImpatientClient(url, terminal_id, key, self.journal.ledger_keys())
        self.worker = SyncWorker(self.client, self.journal, self.state)

    def attempt(self, batch: int = FAULT_BATCH) -> bool:
        """One push of everything and one pull; False if the network or ledger failed."""
        try:
            push_all(self.client, self.journal, batch)
            pull_all(self.client, self.state, self.journal)
        except SyncError:
            return False
        return True

    def settle(self) -> sync_client.SyncStatus:
        """Sync as the worker does until nothing is pending (a few attempts at most)."""
        for _ in range(CALM_ROUNDS):
            status = self.worker.run_once(pull=True)
            if status.online and not status.last_error and status.pending == 0:
                break
            time.sleep(min(self.worker.backoff_s(), CALM_PAUSE_S))
        return status

    def close(self) -> None:
        self.client.close()
        self.journal.close()
        self.state.close()


# --- the end state every test must reach -------------------------------------------------


def assert_exactly_once(server: LedgerProcess, data_dir: Path) -> None:
    with Journal.open(data_dir) as journal:
        local = dict(journal.conn.execute("SELECT seq, hash FROM records").fetchall())
        terminal_id = journal.terminal_id
        pending, acked = journal.pending_count(), journal.acked_seq()
    last = max(local)
    db = Database(server.db_url)
    try:
        with db.reading() as conn:
            stored = conn.all("SELECT seq, hash FROM records WHERE terminal_id = ? "
                              "ORDER BY seq", (terminal_id,))
            status, last_seq = conn.one("SELECT status, last_seq FROM terminals "
                                        "WHERE terminal_id = ?", (terminal_id,))
            # A flag of what the simulated customers did (a refund that takes back cash-back
            # already spent: takeback_short) is the shop's business; any other is a fault.
            flags = [row for row in conn.all("SELECT kind, seq FROM flags WHERE "
                                             "terminal_id = ?", (terminal_id,))
                     if row[0] not in SALE_FLAGS]
        seqs = [seq for seq, _ in stored]
        assert seqs == list(range(1, last + 1)), "the ledger's seqs have gaps or duplicates"
        assert dict(stored) == local, "the ledger holds other records than the terminal made"
        assert (status, last_seq, flags) == ("active", last, [])
        report = check.check(db)
        assert report.ok, report.problems
    finally:
        db.close()
    assert (pending, acked) == (0, last)
    verified = audit.verify_journal(data_dir)
    assert (verified.last_seq, verified.highest_head) == (last, last) and verified.heads >= 1


# --- each fault mode ---------------------------------------------------------------------

FAULTS = {
    # A kept-alive connection is reused while all goes well: the next few new ones are cut.
    "drop_at_accept": dict(mode=Mode.DROP_ACCEPT, count=4),
    "drop_request": dict(mode=Mode.DROP_REQUEST, every=2),
    "lost_answer": dict(mode=Mode.DROP_RESPONSE, every=2),
    "late_answer": dict(mode=Mode.DELAY, every=2, delay_s=LATE_BY_S),
    "half_answer": dict(mode=Mode.HALF, every=2),
    "answer_twice": dict(mode=Mode.DUPLICATE),
    "http_500_burst": dict(mode=Mode.ERROR, status=500, count=5),
    "http_503_burst": dict(mode=Mode.ERROR, status=503, count=5),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_backlog_syncs_exactly_once_through_fault(name, ledger, proxy, work):
    data_dir = work / "terminal"
    terminal_id = _enroll(proxy.url, ledger.url, ledger.admin_token, data_dir)
    _backlog(data_dir, BACKLOG, seed=sorted(FAULTS).index(name) + 1)
    spec = dict(FAULTS[name])
    mode = spec.pop("mode")
    syncer = Syncer(data_dir, proxy.url, terminal_id)
    try:
        with Node(data_dir, offline=True) as shop:
            proxy.fault(mode, **spec)
            failed = 0
            for round_ in range(FAULT_ROUNDS):
                failed += not syncer.attempt()
                _sell(shop, SALES_BETWEEN, seed=100 + round_)
            assert proxy.hits[mode] > 0 and failed > 0, "the fault never hit"
            proxy.pass_through()
            status = syncer.settle()
        assert status.online and not status.refused and status.pending == 0, status
        assert status.acked_seq == syncer.journal.last_seq
    finally:
        syncer.close()
    assert_exactly_once(ledger, data_dir)


def test_answer_twice_under_real_worker_batches(ledger, proxy, work):
    """Duplicated answers with the worker's own batch size, a stale copy now and then read
    as the answer to the next request on the same connection."""
    data_dir = work / "terminal"
    terminal_id = _enroll(proxy.url, ledger.url, ledger.admin_token, data_dir)
    _backlog(data_dir, BACKLOG)
    syncer = Syncer(data_dir, proxy.url, terminal_id)
    try:
        proxy.fault(Mode.DUPLICATE)
        for _ in range(FAULT_ROUNDS // 2):
            syncer.worker.run_once(pull=True)
        proxy.pass_through()
        status = syncer.settle()
        assert status.online and status.pending == 0, status
    finally:
        syncer.close()
    assert_exactly_once(ledger, data_dir)


class FirstBatchLate(LedgerClient):
    """The real client, whose first push waits before it is sent: the batch pushed behind
    it, on the second connection, reaches the ledger first. Every answer is kept."""

    late_by_s = 0.0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.answers: list[dict] = []

    def push(self, records):
        if self.late_by_s:
            late, self.late_by_s = self.late_by_s, 0.0
            time.sleep(late)
        answer = super().push(records)
        self.answers.append(answer)
        return answer


def _push_with_first_batch_late(ledger, work, late_by_s: float) -> list[dict]:
    """Push a backlog in batches, two in flight, the first one late; every answer."""
    data_dir = work / "terminal"
    terminal_id = _enroll(ledger.url, ledger.url, ledger.admin_token, data_dir)
    last = _backlog(data_dir, OVERTAKE_BACKLOG)
    with Journal.open(data_dir) as journal:
        client = FirstBatchLate(ledger.url, terminal_id, keystore.load_key(data_dir),
                                journal.ledger_keys())
        client.late_by_s = late_by_s
        connections = [client]
        original_fork = client.fork

        def fork():
            connections.append(original_fork())
            return connections[-1]

        client.fork = fork  # type: ignore[method-assign]
        try:
            assert push_all(client, journal, OVERTAKE_BATCH) == []
        finally:
            client.close()
        assert journal.acked_seq() == last and journal.pending_count() == 0
    assert_exactly_once(ledger, data_dir)
    return [answer for connection in connections for answer in connection.answers]


def test_a_batch_that_overtakes_the_one_before_it_waits_for_it(ledger, work):
    """Two batches in flight; the second reaches the ledger first, which holds it until
    the first has landed (ledger.ingest.BEHIND_WAIT_S): nothing is refused."""
    answers = _push_with_first_batch_late(ledger, work, OVERTAKE_LATE_S)
    assert {r["status"] for answer in answers for r in answer["results"]} == {"created"}


def test_a_batch_overtaking_by_longer_than_the_ledger_waits_is_sent_again(ledger, work):
    """Past the ledger's wait the batch behind is answered `gap`: no refusal, the push
    goes on one batch at a time and everything arrives exactly once."""
    answers = _push_with_first_batch_late(ledger, work, BEHIND_WAIT_S + OVERTAKE_LATE_S)
    rejected = [r for answer in answers for r in answer["results"] if r["status"] != "created"]
    assert rejected and {r.get("reason") for r in rejected} == {"gap"}


def test_connection_out_of_step_is_not_reused(ledger, proxy, work):
    """One answer sent twice, then a slow but clean line: the stale copy is refused, and
    the next attempt must not read answers meant for earlier requests."""
    data_dir = work / "terminal"
    terminal_id = _enroll(proxy.url, ledger.url, ledger.admin_token, data_dir)
    _backlog(data_dir, BACKLOG)
    syncer = Syncer(data_dir, proxy.url, terminal_id)
    try:
        proxy.fault(Mode.DUPLICATE, count=1, latency_s=SLOW_LINE_S)
        assert not syncer.attempt(), "the stale duplicate was taken for an answer"
        outcomes = [syncer.attempt() for _ in range(CALM_ROUNDS)]
    finally:
        syncer.close()
    assert outcomes[0], f"attempts after the duplicate: {outcomes}"


# --- the terminal process killed mid-push ------------------------------------------------


def _terminal_sync(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "terminal", "sync", "--data", str(data_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ))


def test_sigkill_of_terminal_mid_push(ledger, proxy, work):
    data_dir = work / "terminal"
    _enroll(proxy.url, ledger.url, ledger.admin_token, data_dir)
    last = _backlog(data_dir, KILL_BACKLOG)
    rng = random.Random(SEED)
    proxy.fault(Mode.PASS, latency_s=KILL_SLOW_S)  # a slow line: pushes are long in flight
    killed_while_pending = 0
    for _ in range(KILLS):
        with Journal.open(data_dir) as journal:
            if not journal.pending_count():
                break  # earlier runs pushed it all before they were killed
        pushes = proxy.forwarded_count("POST /v1/journal")
        proc = _terminal_sync(data_dir)
        try:
            assert proxy.wait_forwarded("POST /v1/journal", pushes, PUSH_START_TIMEOUT_S), \
                "the terminal never started pushing"
            time.sleep(rng.uniform(0, KILL_AFTER_MAX_S))
            running = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            output = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)[0]
        if running:
            assert proc.returncode == -signal.SIGKILL, output
        with Journal.open(data_dir) as journal:
            killed_while_pending += running and journal.pending_count() > 0
    assert killed_while_pending >= 1, "no kill landed while records were pending"
    proxy.pass_through()
    proc = _terminal_sync(data_dir)
    output = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)[0].decode()
    assert proc.returncode == 0, output
    assert f"acknowledged up to seq {last}, 0 waiting" in output
    assert_exactly_once(ledger, data_dir)


# --- the ledger stopped mid-batch --------------------------------------------------------


def test_ledger_restart_mid_batch(work):
    base = work / "ledger"
    server = _seeded_ledger(base)
    proxy = FaultProxy(server.port).start()
    syncer = None
    try:
        data_dir = work / "terminal"
        terminal_id = _enroll(proxy.url, server.url, server.admin_token, data_dir)
        syncer = Syncer(data_dir, proxy.url, terminal_id)
        rng = random.Random(SEED)
        for index, how in enumerate(("stop", "kill")):
            # A backlog for each round: the first round's push may have finished everything
            # before its ledger went away, and then the second would have nothing in flight.
            with Node(data_dir, offline=True) as node:
                _sell(node, RESTART_BACKLOG, SEED + index)
            pushes = proxy.forwarded_count("POST /v1/journal")
            failures: list[BaseException] = []

            def push(target: Syncer = syncer, failures: list = failures) -> None:
                try:
                    push_all(target.client, target.journal, RESTART_BATCH)
                except SyncError:
                    pass  # expected: the ledger went away under the push
                except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                    failures.append(exc)

            pusher = threading.Thread(target=push, name="push")
            pusher.start()
            assert proxy.wait_forwarded("POST /v1/journal", pushes, PUSH_START_TIMEOUT_S)
            time.sleep(rng.uniform(0, RESTART_KILL_AFTER_MAX_S))
            if how == "stop":
                server.stop()  # SIGTERM: uvicorn's graceful shutdown
            else:
                server.proc.kill()
                server.proc.wait()
                server.log.close()
            pusher.join(PUSH_JOIN_TIMEOUT_S)
            assert not pusher.is_alive() and not failures, failures
            server = LedgerProcess(server.db_url, base / "home").start()
            proxy.set_upstream(server.port)
        status = syncer.settle()
        assert status.online and status.pending == 0, status
        syncer.close()
        syncer = None
        assert_exactly_once(server, data_dir)
    finally:
        if syncer is not None:
            syncer.close()
        proxy.stop()
        server.stop()
