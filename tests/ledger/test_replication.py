"""The ledger past one machine (#20), on real PostgreSQL clusters made here from the server
programs: a primary and a synchronous hot standby (bench.pgcluster.ReplicatedPair), real
`python -m ledger serve` processes, real terminal journals pushed by the real sync client.

- Three ledger servers on one database: terminals spread over them, one switching server
  between batches and sending a batch again to another server as if its answer was lost,
  while all of them lease from one campaign pool: every record once, the pool never
  over-granted, `python -m ledger check` passes.
- Failover under load: terminals sell (records appended to their journals) and push from
  a sync thread of their own; the primary is SIGKILLed mid-ingest (every one of its
  processes, as a machine dies) and the standby promoted. Terminals go on selling, then
  push everything to the new primary. Every record acknowledged before the kill is there,
  no record is there twice, `check` passes on the new primary, and each journal's records
  and head agree with the ledger's. The outage the terminals saw is printed.

- Reports read from the standby (`report ... --read-from URL`) say how stale it is.

The PostgreSQL tests are slow-marked; everything they start is stopped by fixture
finalizers, on failure too.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import ledger as bench_ledger
from bench.pgcluster import Cluster, PostgresUnavailable, ReplicatedPair, multi_host_url
from ledger import demo, service
from ledger.db import Database, replica_lag
from ledger.schema import migrate
from sync import record
from sync.client import LedgerClient, SyncError, push_all
from terminal import keystore
from terminal.journal import Journal

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261202
WALLETS = 60
SHOPS = ("M-SAKURA", "M-HOKUTO-GS", "M-MARUI")
# A campaign-wide pool every terminal leases from at once, through different servers.
POOL_UNITS = 25
LEASE_UNITS = 2
COUPON_ID = "scale-coupon"
COUPON = {"id": COUPON_ID, "kind": "threshold_coupon", "name": "scale coupon",
          "starts": "2026-01-01", "ends": "2030-12-31", "funder": "hokuto-city",
          "tiers": [{"min": 500, "off": 150}], "quantity": POOL_UNITS, "lease_block": 3}
POOL = "all"
# Three servers: terminals, records each, records per push.
THREE_SERVERS = 3
THREE_TERMINALS = 6
THREE_RECORDS = 60
THREE_BATCH = 10
# Failover: terminals, records each, a pause between sales (a shop's pace, so that sales
# go on while the database is away), the sync thread's pause after a failed push.
FAILOVER_TERMINALS = 4
FAILOVER_RECORDS = 120
SALE_PAUSE_S = 0.02
RETRY_PAUSE_S = 0.2
# The primary is killed once every terminal has had sales acknowledged, at a moment a push
# is on its way (mid-ingest); terminals keep the last AFTER_KILL_RECORDS of their sales for
# after the kill. The standby is promoted once each terminal has sold SOLD_WHILE_DOWN of
# them with the database down (the time a failover takes to be decided: terminals sell).
AFTER_KILL_RECORDS = 40
SOLD_WHILE_DOWN = 10
# Bounds for waits that must end (never compared with figures).
WAIT_LIMIT_S = 90
POLL_S = 0.02
CLI_TIMEOUT_S = 120


@pytest.fixture
def pair():
    try:
        made = ReplicatedPair()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"replication tests skipped: {exc}")
    try:
        made.start()  # stops both clusters itself when it fails
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"replication tests skipped: {exc}")
    yield made
    made.stop()


@pytest.fixture
def servers():
    """Start ledger processes with `start(url, home)`; all of them are stopped at the end."""
    started: list[bench_ledger.LedgerServer] = []

    def start(url: str, home: Path) -> bench_ledger.LedgerServer:
        server = bench_ledger.LedgerServer(url, home, workers=1)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


class TimedOutbox:
    """A journal as the sync client's outbox, noting when each head came back."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.terminal_id = journal.terminal_id
        self.heads_at: list[tuple[float, int]] = []  # (when, the head's seq)

    def pending(self, limit: int, after: int = 0) -> list[tuple[int, bytes]]:
        return self.journal.pending(limit, after)

    def keep_head(self, head: dict) -> None:
        self.journal.keep_head(head)
        self.heads_at.append((time.monotonic(), head["seq"]))

    def pending_count(self) -> int:
        return self.journal.pending_count()

    def acked_seq(self) -> int:
        return self.journal.acked_seq()

    def heads(self) -> dict[int, dict]:
        return self.journal.heads()

    def close(self) -> None:
        self.journal.close()


class Till:
    """One terminal: its journal (a seller's connection and a sync connection) and its
    sync client, pointed at one ledger server or another."""

    def __init__(self, data_dir: Path, terminal_id: str, key, ledger_key,
                 plans: list[tuple[str, dict]]) -> None:
        self.data_dir = data_dir
        self.terminal_id = terminal_id
        self.key = key
        self.ledger_keys = {ledger_key.key_id: ledger_key}
        self.journal = Journal.create(data_dir, terminal_id, key)
        self.journal.add_ledger_key(ledger_key.hex)
        self.outbox = TimedOutbox(Journal.open(data_dir))  # the sync thread's connection
        self.plans = plans
        self.clients: dict[str, LedgerClient] = {}
        self.pushes = 0  # pushes that went through
        self.failed: list[tuple[float, str]] = []  # (when, code) of each failed push
        self.sold = 0
        self.pushing = False  # a push is on its way

    def client(self, url: str) -> LedgerClient:
        if url not in self.clients:
            self.clients[url] = LedgerClient(url, self.terminal_id, self.key, self.ledger_keys)
        return self.clients[url]

    def sell(self, rtype: str, body: dict) -> None:
        self.journal.append(rtype, body)
        self.sold += 1

    def push(self, url: str) -> bool:
        """Push what is pending (nothing pending: nothing sent, True)."""
        if self.outbox.pending_count() == 0:
            return True
        self.pushing = True
        try:
            refusals = push_all(self.client(url), self.outbox)
        except SyncError as exc:
            self.failed.append((time.monotonic(), exc.code))
            return False
        finally:
            self.pushing = False
        assert not refusals, (self.terminal_id, refusals)
        self.pushes += 1
        return True

    def outage_s(self, killed_at: float, sold_at_kill: int) -> float:
        """From the kill until the ledger acknowledged a sale this terminal made after it
        (a batch the old primary committed may still be answered after the kill)."""
        return next(at for at, seq in self.outbox.heads_at if seq > sold_at_kill) - killed_at

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.journal.close()
        self.outbox.close()


def make_region(url: str, home: Path, count: int, records: int,
                tmp_path: Path) -> list[Till]:
    """A demo region on the database at `url`, the ledger key in `home`, and `count`
    enrolled terminals, each with `records` sales planned against the wallets' real lots."""
    db = Database(url)
    migrate(db)
    ledger_key = service.LedgerHome(home).signing_key()
    service.register_ledger_key(db, ledger_key)
    demo.seed_demo(db, WALLETS, SEED)
    service.create_campaign(db, COUPON)
    classes = {m[0]: m[2] for m in demo.MERCHANTS}
    planner = bench_ledger._planner(db, random.Random(SEED))
    tills = []
    for index in range(count):
        shop = SHOPS[index % len(SHOPS)]
        created = service.create_terminal(db, shop)
        data_dir = tmp_path / f"till-{index + 1}"
        key = keystore.create_key(data_dir)
        service.enroll(db, created["code"], key.public_key().hex)
        plans: list[tuple[str, dict]] = []
        for step in range(records):
            body = planner.payment(classes[shop]) if (step + index) % 10 else None
            plans.append(("payment", body) if body else ("charge", planner.charge()))
        tills.append(Till(data_dir, created["terminal_id"], key, ledger_key.public_key(),
                          plans))
    db.close()
    return tills


def ledger_check(url: str) -> str:
    """`python -m ledger check` on `url`, as an operator runs it; its output."""
    done = subprocess.run([sys.executable, "-m", "ledger", "check", "--db", url], cwd=ROOT,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def assert_journals_match_ledger(url: str, tills: list[Till]) -> None:
    """Each journal, record by record, is in the ledger once (same seqs, same hashes), the
    ledger's chain head for the terminal is the journal's last record, and the last head
    the terminal kept is signed by the ledger and names that record."""
    db = Database(url)
    try:
        with db.reading() as conn:
            for till in tills:
                mine = [(seq, digest) for seq, _, _, _, _, digest, _ in till.journal.rows()]
                theirs = [tuple(row) for row in conn.all(
                    "SELECT seq, hash FROM records WHERE terminal_id = ? ORDER BY seq",
                    (till.terminal_id,))]
                assert theirs == mine, f"{till.terminal_id}: the ledger's records differ"
                last_seq, last_hash = conn.one(
                    "SELECT last_seq, last_hash FROM terminals WHERE terminal_id = ?",
                    (till.terminal_id,)) or (None, None)
                assert (last_seq, last_hash) == mine[-1]
                heads = till.journal.heads()
                head = heads[max(heads)]
                record.verify_head(head, till.ledger_keys)
                assert (head["seq"], head["hash"]) == mine[-1]
    finally:
        db.close()


@pytest.mark.slow
def test_three_ledger_servers_on_one_database(pair, servers, tmp_path):
    url = pair.create_database("three")
    home = tmp_path / "ledger-home"
    tills = make_region(url, home, THREE_TERMINALS, THREE_RECORDS, tmp_path)
    urls = [servers(url, home).url for _ in range(THREE_SERVERS)]
    roamer = tills[-1]  # switches server between batches
    leases: list[dict] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    gate = threading.Barrier(len(tills))

    def run(index: int, till: Till) -> None:
        try:
            gate.wait()
            for start in range(0, len(till.plans), THREE_BATCH):
                batch = start // THREE_BATCH
                url_now = urls[batch % THREE_SERVERS] if till is roamer \
                    else urls[index % THREE_SERVERS]
                for rtype, body in till.plans[start : start + THREE_BATCH]:
                    till.sell(rtype, body)
                assert till.push(url_now), till.failed[-1]
                # a lease asked through this server, asked again through the next with
                # the same request id (its answer "lost"): one lease, never two
                request_id = f"RQ-{till.terminal_id}-{batch}"
                lease = till.client(url_now).lease(COUPON_ID, POOL, LEASE_UNITS, request_id)
                again = till.client(urls[(batch + 1) % THREE_SERVERS]).lease(
                    COUPON_ID, POOL, LEASE_UNITS, request_id)
                assert again == lease
                if lease is not None:
                    with lock:
                        leases.append(lease)
            if till is roamer:
                # the whole journal sent again to another server, as after a lost answer
                records = [(seq, data.encode("utf-8")) for seq, *_, data in till.journal.rows()]
                answer = till.client(urls[0]).push(records)
                assert {r["status"] for r in answer["results"]} == {"exists"}
        except BaseException as exc:  # noqa: BLE001 - told by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, t), daemon=True)
               for i, t in enumerate(tills)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_LIMIT_S)
        assert not any(thread.is_alive() for thread in threads), "a terminal hung"
        assert not errors, errors[0]
        for till in tills:
            assert till.outbox.pending_count() == 0
            assert till.outbox.acked_seq() == till.journal.last_seq == THREE_RECORDS + 1
        # leases: the pool handed out in full and never more, each lease once
        assert len({lease["lease_id"] for lease in leases}) == len(leases)
        assert sum(lease["count"] for lease in leases) == POOL_UNITS
        db = Database(url)
        try:
            [pool] = service.pool_view(db, COUPON_ID)
            assert pool["granted"] == POOL_UNITS
            with db.reading() as conn:
                assert conn.value("SELECT sum(count) FROM leases WHERE campaign_id = ?",
                                  (COUPON_ID,)) == POOL_UNITS
        finally:
            db.close()
        assert_journals_match_ledger(url, tills)
        out = ledger_check(url)
        assert f"{THREE_TERMINALS * (THREE_RECORDS + 1)} records" in out, out
        # the standby has all of it, and a report read from there says how stale it is
        pair.wait_replayed()
        standby = Database(pair.url("three", "read-only"))
        try:
            assert replica_lag(standby).standby
            with standby.reading() as conn:
                assert conn.value("SELECT count(*) FROM records") == \
                    THREE_TERMINALS * (THREE_RECORDS + 1)
        finally:
            standby.close()
    finally:
        for thread in threads:
            thread.join(WAIT_LIMIT_S)
        for till in tills:
            till.close()


@pytest.mark.slow
def test_failover_under_load_loses_and_doubles_nothing(pair, servers, tmp_path):
    url = pair.create_database("failover")
    home = tmp_path / "ledger-home"
    tills = make_region(url, home, FAILOVER_TERMINALS, FAILOVER_RECORDS, tmp_path)
    server = servers(url, home)
    errors: list[BaseException] = []
    selling_done = threading.Event()
    killed = threading.Event()
    stop = threading.Event()  # the test ends (failed): terminals stop at once
    before = FAILOVER_RECORDS - AFTER_KILL_RECORDS

    def sell(till: Till) -> None:
        try:
            for n, (rtype, body) in enumerate(till.plans):
                if n == before:  # the rest is sold once the primary is gone
                    assert killed.wait(WAIT_LIMIT_S)
                if stop.is_set():
                    return
                till.sell(rtype, body)
                time.sleep(SALE_PAUSE_S)
        except BaseException as exc:  # noqa: BLE001 - told by the main thread
            errors.append(exc)

    def sync(till: Till) -> None:
        try:
            deadline = time.monotonic() + WAIT_LIMIT_S
            while time.monotonic() < deadline and not stop.is_set():
                if not till.push(server.url):
                    time.sleep(RETRY_PAUSE_S)
                    continue
                if selling_done.is_set() and till.outbox.pending_count() == 0:
                    return
                time.sleep(POLL_S)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    sellers = [threading.Thread(target=sell, args=(t,), daemon=True) for t in tills]
    syncers = [threading.Thread(target=sync, args=(t,), daemon=True) for t in tills]
    try:
        for thread in sellers + syncers:
            thread.start()
        deadline = time.monotonic() + WAIT_LIMIT_S

        in_flight = 0

        def mid_ingest() -> bool:
            nonlocal in_flight
            if not all(t.outbox.acked_seq() > 1 for t in tills):  # sales acknowledged
                return False
            # a push on its way, or (a busy machine: all sold and sent already) none to wait for
            in_flight = sum(t.pushing for t in tills)
            return in_flight > 0 or all(
                t.sold == before and t.outbox.pending_count() == 0 for t in tills)

        while not mid_ingest():
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(POLL_S / 10)
        # What each terminal holds as acknowledged now must survive the primary.
        acked_before = {t.terminal_id: t.outbox.acked_seq() for t in tills}
        sold_at_kill = [t.journal.last_seq for t in tills]
        killed_at = time.monotonic()
        pair.primary.kill()
        down_s = time.monotonic() - killed_at
        killed.set()
        while any(t.sold < before + SOLD_WHILE_DOWN for t in tills):  # selling offline
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(POLL_S)
        assert all(t.outbox.acked_seq() <= before + 1 for t in tills)  # nothing got through
        pair.standby.promote()
        promoted_s = time.monotonic() - killed_at
        for thread in sellers:
            thread.join(WAIT_LIMIT_S)
        selling_done.set()
        for thread in syncers:
            thread.join(WAIT_LIMIT_S)
        assert not any(t.is_alive() for t in sellers + syncers), "a terminal hung"
        assert not errors, errors[0]

        # Outage seen by each terminal: from the kill to its first push that got through.
        outages = [t.outage_s(killed_at, sold) for t, sold in zip(tills, sold_at_kill,
                                                                  strict=True)]
        failed = sum(len(t.failed) for t in tills)
        print(f"\nfailover: primary killed ({in_flight} pushes on their way) in "
              f"{down_s:.2f} s, standby promoted "
              f"{promoted_s:.2f} s after the kill (each terminal sold {SOLD_WHILE_DOWN}+ "
              f"meanwhile); outage seen by terminals {min(outages):.2f}-{max(outages):.2f} s "
              f"(per terminal: {', '.join(f'{o:.2f}' for o in outages)}); "
              f"{failed} pushes failed and were sent again")

        new_primary = pair.standby
        only_url = new_primary.url("failover")
        for till in tills:
            assert till.outbox.pending_count() == 0
            assert till.outbox.acked_seq() == till.journal.last_seq == FAILOVER_RECORDS + 1
        db = Database(only_url)
        try:
            assert not replica_lag(db).standby  # it is the primary now
            with db.reading() as conn:
                for terminal_id, seq in acked_before.items():
                    assert conn.value("SELECT count(*) FROM records WHERE terminal_id = ? "
                                      "AND seq <= ?", (terminal_id, seq)) == seq
        finally:
            db.close()
        assert_journals_match_ledger(only_url, tills)
        out = ledger_check(only_url)
        assert f"{FAILOVER_TERMINALS * (FAILOVER_RECORDS + 1)} records" in out, out
        log = server.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        stop.set()
        killed.set()
        selling_done.set()
        for thread in sellers + syncers:
            thread.join(WAIT_LIMIT_S)
        for till in tills:
            till.close()


@pytest.mark.slow
def test_a_report_read_from_the_standby_says_how_stale_it_is(pair, tmp_path):
    url = pair.create_database("reports")
    db = Database(url)
    migrate(db)
    demo.seed_demo(db, 5, SEED)
    db.close()
    pair.wait_replayed()
    standby = pair.url("reports", "read-only")
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "report", "liability", "--on", "2026-12-01",
         "--format", "json", "--out", str(tmp_path / "l.json"), "--db", url,
         "--read-from", standby],
        cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("reading from")]
    assert line.startswith("reading from a standby:") and "behind its primary" in line, line
    assert json.loads((tmp_path / "l.json").read_text())
    # the primary itself as --read-from: up to date
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "report", "flags", "--read-from", url],
        cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "reading from a primary: up to date" in done.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ledger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


def test_read_from_checks_it_reads_a_ledger_of_this_schema(tmp_path):
    """--read-from never migrates what it reads (a standby takes no writes): a database
    that is no ledger, or a ledger at another schema, is refused in one line; a ledger at
    this schema is read, and a database that is no standby is said to be up to date."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    db.close()
    done = run_cli("report", "flags", "--read-from", url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "reading from a primary: up to date"

    sqlite3.connect(tmp_path / "other.db").close()  # a database, but no ledger in it
    done = run_cli("report", "flags", "--read-from", f"sqlite:///{tmp_path / 'other.db'}")
    assert done.returncode == 1 and "no ledger schema at --read-from" in done.stderr

    with sqlite3.connect(tmp_path / "ledger.db") as conn:  # a ledger one migration behind
        conn.execute("DELETE FROM schema_migrations WHERE version = "
                     "(SELECT max(version) FROM schema_migrations)")
    done = run_cli("report", "flags", "--read-from", url)
    assert done.returncode == 1 and "migrate its primary first" in done.stderr, done.stderr

    done = run_cli("report", "flags", "--read-from", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 2 and "no ledger database" in done.stderr


@pytest.fixture
def two_clusters():
    """Two plain clusters (no replication between them), both stopped at the end."""
    made: list[Cluster] = []
    try:
        for _ in range(2):
            made.append(Cluster(fast=True))
            made[-1].start()
    except PostgresUnavailable as exc:
        for cluster in made:
            cluster.stop()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"replication tests skipped: {exc}")
    yield made
    for cluster in made:
        cluster.stop()


@pytest.mark.slow
def test_a_write_that_finds_its_server_read_only_goes_to_the_one_that_is_not(two_clusters):
    """An old primary that comes back as a standby keeps the sessions it had: a write on
    one fails with SQLSTATE 25006. The ledger takes that as a lost connection and runs the
    transaction again on a new one, which the multi-host URL (read-write) finds elsewhere."""
    import psycopg

    first, second = two_clusters
    for cluster in two_clusters:
        cluster.create_database("ro")
        with psycopg.connect(cluster.url("ro"), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n BIGINT PRIMARY KEY)")
    db = Database(multi_host_url([first, second], "ro", "read-write"))
    try:
        db.transaction(lambda c: c.execute("INSERT INTO t (n) VALUES (1)"))
        assert db.connection().raw.info.host == str(first.socket_dir)
        with psycopg.connect(first.url(), autocommit=True) as conn:  # first turns read-only
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            conn.execute("SELECT pg_reload_conf()")
        mine = db.connection().raw  # until the ledger's own session has read the new setting
        deadline = time.monotonic() + WAIT_LIMIT_S
        while mine.execute("SHOW default_transaction_read_only").fetchone() != ("on",):
            mine.rollback()
            assert time.monotonic() < deadline, "the setting never reached the session"
            time.sleep(POLL_S)
        mine.rollback()
        runs = []

        def write(conn) -> None:
            runs.append(conn.raw.info.host)
            conn.execute("INSERT INTO t (n) VALUES (2)")

        db.transaction(write)
        assert runs[-1] == str(second.socket_dir) and len(runs) >= 2
        assert runs[0] == str(first.socket_dir)
        for cluster, rows in ((first, [(1,)]), (second, [(2,)])):
            with psycopg.connect(cluster.url("ro")) as conn:
                assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == rows
    finally:
        db.close()
