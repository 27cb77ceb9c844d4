"""Benchmark: ledger ingest of terminal journals over HTTP, on SQLite and on PostgreSQL.

The real ledger process (`python -m ledger serve`) takes batches of 1,000 records over
loopback HTTP from several terminals at once, each request signed as a terminal signs it.
Everything that is not HTTP + ingest happens before the clock starts: a demo region is
seeded once, terminals are enrolled, and their real journals (terminal.journal, real keys,
payments that draw on the wallets' real lots, some cash charges) are written to disk. Each
timed run gets a fresh copy of that same ledger, so every run ingests identical records.

PostgreSQL runs on a throwaway cluster with fsync on (real durability). Each engine is run
with 1 and with 2 server worker processes; the best is what counts. After each run the
answers are checked (every record `created`, the acked seq, the ledger's signed head) and so
is the ledger (`ledger check`: balanced entries, balances, lots, chains).

Targets (DESIGN §9): SQLite ingest >= 0.5 x the single-core Ed25519 verify rate measured in
the same run; PostgreSQL ingest >= 5,000 records/s.

`--servers 1,3` also measures N ledger processes (standing for N machines) on one
PostgreSQL, each batch of a terminal sent to the next server in turn; with `--standby` the
same again on a primary with a synchronous standby (synchronous_commit = on: each batch's
COMMIT waits for the standby's disk), through the multi-host URL the ledger uses there.
docs/scaling.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.pgcluster import Cluster, PostgresUnavailable, ReplicatedPair
from bench.stats import ed25519_rates, filesystem_of, write_json
from ledger import check, demo, service
from ledger.db import Database
from ledger.postings import WALLET_BALANCE_CAP
from ledger.schema import migrate
from sync import auth, bodies, ids, keys, record
from sync.platform import procs
from terminal import keystore
from terminal.journal import Journal

DEFAULT_RECORDS = 20_000
BATCH_RECORDS = 1_000
TERMINALS = 4
CLIENT_THREADS = 2
DEFAULT_WORKERS = (1, 2)
# Enough wallets that 20,000 records rarely find a wallet empty (the planner charges then).
DEMO_WALLETS = 1_500
SEED = 20261122
# One record in this many is a cash charge at the counter; the rest are payments.
CHARGE_EVERY = 10
# Share of payments decided offline (the rest had the ledger's answer within ~0.5 s).
OFFLINE_SHARE = 0.5
PAYMENT_MIN_YEN, PAYMENT_MAX_YEN, PAYMENT_STEP_YEN = 100, 3_000, 10
CHARGE_AMOUNTS_YEN = (1_000, 2_000, 3_000, 5_000, 10_000)
CHARGE_BONUS_PERCENT = 10  # demo.CAMPAIGNS "charge-bonus"
CHARGE_BONUS_ENDS = "2026-12-31"
# Tries at finding a wallet that can pay before the planner makes the record a charge.
WALLET_TRIES = 20
# The shops the terminals stand in (demo.MERCHANTS), cycled over the terminals.
SHOPS = ("M-SAKURA", "M-HOKUTO-GS", "M-MARUI", "M-BOOTH")
# Small shops' own vouchers first, then time-limited value, cash last: how the app draws.
POCKET_ORDER = ("premium_exclusive", "premium_common", "points", "charged")
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 10
HEALTH_POLL_S = 0.05
HEALTH_TIMEOUT_S = 1
HTTP_TIMEOUT_S = 120
TARGET_SQLITE_VS_VERIFY = 0.5
TARGET_POSTGRES_PER_S = 5_000
PG_TEMPLATE = "ledger_template"
# A 1-minute load average above this means other work competes for the cores.
BUSY_LOAD_AVERAGE = 1.0


# --- the ledger process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LedgerServer:
    """`python -m ledger serve` as a child process, on a free loopback port."""

    def __init__(self, db_url: str, home: Path, workers: int) -> None:
        self.db_url = db_url
        self.home = home
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home.parent / f"ledger-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> LedgerServer:
        root = Path(__file__).resolve().parents[1]
        with open(self.log_path, "wb") as log:
            # A process group of its own: stop() ends the server and any worker it forked;
            # and told to end should this process die without stopping it (a crash).
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ledger", "serve", "--db", self.db_url, "--home",
                 str(self.home), "--port", str(self.port), "--workers", str(self.workers)],
                cwd=root, stdout=log, stderr=subprocess.STDOUT, **procs.child_options(),
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the ledger exited:\n{self.log_path.read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=HEALTH_TIMEOUT_S).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(HEALTH_POLL_S)
        self.stop()
        raise RuntimeError("the ledger did not answer /healthz in time")

    def stop(self) -> None:
        """End the server's whole process group (asked, then forced if it lingers)."""
        if self.proc is None:
            return
        procs.stop(self.proc, SERVER_STOP_TIMEOUT_S)


# --- the records, made before any clock runs ---------------------------------------------


@dataclass
class PlannedLot:
    lot_id: str
    pocket: str
    remaining: int
    classes: list[str]


@dataclass
class Planner:
    """Payment and charge bodies that draw on the lots the ledger really holds."""

    rng: random.Random
    lots: dict[str, list[PlannedLot]]
    kinds: dict[str, str]
    wallet_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.wallet_ids = sorted(self.kinds)

    def _spendable(self, wallet_id: str, merchant_class: str) -> list[PlannedLot]:
        usable = [lot for lot in self.lots.get(wallet_id, [])
                  if lot.remaining > 0 and merchant_class in lot.classes]
        return sorted(usable, key=lambda lot: POCKET_ORDER.index(lot.pocket))

    def payment(self, merchant_class: str) -> dict | None:
        for _ in range(WALLET_TRIES):
            wallet_id = self.rng.choice(self.wallet_ids)
            usable = self._spendable(wallet_id, merchant_class)
            held = sum(lot.remaining for lot in usable)
            if held < PAYMENT_MIN_YEN:
                continue
            amount = min(held, self.rng.randrange(PAYMENT_MIN_YEN, PAYMENT_MAX_YEN + 1,
                                                  PAYMENT_STEP_YEN))
            lines, left = [], amount
            for lot in usable:
                take = min(lot.remaining, left)
                lot.remaining -= take
                left -= take
                lines.append({"lot": lot.lot_id, "amount": take})
                if not left:
                    break
            kind = self.kinds[wallet_id]
            return {"amount": amount, "wallet": wallet_id, "lots": lines,
                    "decision": "offline" if self.rng.random() < OFFLINE_SHARE else "online",
                    "credential": {"kind": kind, "id": wallet_id}}
        return None

    def charge(self) -> dict:
        for _ in range(WALLET_TRIES):
            wallet_id = self.rng.choice(self.wallet_ids)
            amount = self.rng.choice(CHARGE_AMOUNTS_YEN)
            bonus = amount * CHARGE_BONUS_PERCENT // 100
            held = sum(lot.remaining for lot in self.lots.get(wallet_id, []))
            if held + amount + bonus <= WALLET_BALANCE_CAP:
                break
        cash_lot, premium_lot = "L-" + ids.new_id(), "L-" + ids.new_id()
        cash = {"lot": cash_lot, "pocket": "charged", "amount": amount, "paid": amount}
        premium = {"lot": premium_lot, "pocket": "premium_common", "amount": bonus,
                   "paid": 0, "funder": demo.TOWN, "campaign": "charge-bonus",
                   "expires": CHARGE_BONUS_ENDS}
        for lot_id, pocket, yen in ((cash_lot, "charged", amount),
                                    (premium_lot, "premium_common", bonus)):
            self.lots.setdefault(wallet_id, []).append(
                PlannedLot(lot_id, pocket, yen, list(bodies.MERCHANT_CLASSES)))
        return {"amount": amount, "wallet": wallet_id, "lots": [cash, premium]}


def _planner(db: Database, rng: random.Random) -> Planner:
    with db.reading() as conn:
        kinds = dict(conn.all("SELECT wallet_id, kind FROM wallets"))
        lots: dict[str, list[PlannedLot]] = {}
        for lot_id, wallet_id, pocket, remaining, classes in conn.all(
            "SELECT lot_id, wallet_id, pocket, remaining, classes FROM lots ORDER BY lot_id"
        ):
            lots.setdefault(wallet_id, []).append(
                PlannedLot(lot_id, pocket, remaining, json.loads(classes)))
    return Planner(rng, lots, kinds)


@dataclass
class BenchTerminal:
    terminal_id: str
    key: keys.PrivateKey
    merchant_class: str
    bodies: list[bytes] = field(default_factory=list)  # request bodies, one per batch
    last_seqs: list[int] = field(default_factory=list)


def prepare_region(workdir: Path, records: int, wallets: int) -> tuple[Path, Path,
                                                                       list[BenchTerminal]]:
    """The template ledger (SQLite) and the terminals' journals; returns the ledger's home,
    the template file and the terminals with their request bodies."""
    home = workdir / "ledger-home"
    template = workdir / "template.db"
    db = Database(f"sqlite:///{template}")
    migrate(db)
    service.register_ledger_key(db, service.LedgerHome(home).signing_key())
    service.LedgerHome(home).admin_token()
    demo.seed_demo(db, wallets, SEED)
    classes = {m[0]: m[2] for m in demo.MERCHANTS}

    terminals: list[BenchTerminal] = []
    journals: list[Journal] = []
    for index in range(TERMINALS):
        shop = SHOPS[index % len(SHOPS)]
        created = service.create_terminal(db, shop)
        data_dir = workdir / f"terminal-{index + 1}"
        key = keystore.create_key(data_dir)
        service.enroll(db, created["code"], key.public_key().hex)
        journals.append(Journal.create(data_dir, created["terminal_id"], key))
        terminals.append(BenchTerminal(created["terminal_id"], key, classes[shop]))

    # Plan every body first (one planner sees every lot), then write the journals in
    # parallel: each append waits for its own fsync.
    planner = _planner(db, random.Random(SEED))
    db.close()
    plans: list[list[tuple[str, dict]]] = [[] for _ in terminals]
    per_terminal = [records // TERMINALS + (i < records % TERMINALS) for i in range(TERMINALS)]
    for step in range(max(per_terminal)):
        for index, term in enumerate(terminals):
            if step + 1 >= per_terminal[index]:  # seq 1 is the start record
                continue
            body = None
            if (step + index) % CHARGE_EVERY:
                body = planner.payment(term.merchant_class)
            plans[index].append(("payment", body) if body else ("charge", planner.charge()))

    def write(index: int) -> None:
        for rtype, body in plans[index]:
            journals[index].append(rtype, body)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(TERMINALS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for term, journal in zip(terminals, journals, strict=True):
        rows = [(seq, text.encode("utf-8")) for seq, _, _, _, _, _, text in journal.rows()]
        journal.close()
        prefix = b'{"records":['
        suffix = b'],"terminal_id":"' + term.terminal_id.encode("ascii") + b'"}'
        for start in range(0, len(rows), BATCH_RECORDS):
            chunk = rows[start : start + BATCH_RECORDS]
            term.bodies.append(prefix + b",".join(data for _, data in chunk) + suffix)
            term.last_seqs.append(chunk[-1][0])
    return home, template, terminals


# --- one timed run -----------------------------------------------------------------------


class RunFailed(Exception):
    """The ledger answered something other than every record created."""


def _push(server_url: str, term: BenchTerminal, batch: int) -> dict:
    body = term.bodies[batch]
    path = "/v1/journal"
    headers = auth.sign_request(term.key, term.terminal_id, "POST", path, body)
    headers["content-type"] = "application/json"
    # A new connection per batch, as terminals in different shops would open: a kept-alive
    # connection would pin each client to one server worker for the whole run.
    headers["connection"] = "close"
    reply = requests.post(server_url + path, data=body, headers=headers, timeout=HTTP_TIMEOUT_S)
    if reply.status_code != 200:
        raise RunFailed(f"{term.terminal_id} batch {batch}: HTTP {reply.status_code} "
                        f"{reply.text[:500]}")
    return reply.json()


def timed_push(server_urls: list[str], terminals: list[BenchTerminal],
               threads: int = CLIENT_THREADS) -> tuple[float, list]:
    """Push every batch with `threads` client threads; returns seconds and the answers.
    With several servers a terminal sends each batch to the next server in turn (terminal
    n's batch b to server (n + b) mod N), so every server takes every terminal's records."""
    shares = [terminals[i::threads] for i in range(threads)]
    order = {term.terminal_id: n for n, term in enumerate(terminals)}
    answers: list[tuple[BenchTerminal, int, dict]] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(threads + 1)

    def client(mine: list[BenchTerminal]) -> None:
        gate.wait()
        try:
            batches = max(len(t.bodies) for t in mine)
            for batch in range(batches):
                for term in mine:
                    if batch < len(term.bodies):
                        url = server_urls[(order[term.terminal_id] + batch) % len(server_urls)]
                        answers.append((term, batch, _push(url, term, batch)))
        except (RunFailed, requests.RequestException) as exc:
            errors.append(exc)

    clients = [threading.Thread(target=client, args=(mine,)) for mine in shares]
    for thread in clients:
        thread.start()
    gate.wait()
    start = time.perf_counter()
    for thread in clients:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RunFailed(str(errors[0]))
    return seconds, answers


def check_answers(answers: list, ledger_key: keys.PublicKey) -> None:
    trusted = {ledger_key.key_id: ledger_key}
    for term, batch, answer in answers:
        statuses = {r["status"] for r in answer["results"]}
        if statuses != {"created"}:
            bad = next(r for r in answer["results"] if r["status"] != "created")
            raise RunFailed(f"{term.terminal_id} batch {batch}: {bad}")
        if answer["acked_seq"] != term.last_seqs[batch]:
            raise RunFailed(f"{term.terminal_id} batch {batch}: acked {answer['acked_seq']}")
        head = record.verify_head(answer["head"], trusted)
        if head["terminal_id"] != term.terminal_id or head["seq"] != answer["acked_seq"]:
            raise RunFailed(f"{term.terminal_id} batch {batch}: the head names another place")


def run_once(db_url: str, home: Path, workers: int, terminals: list[BenchTerminal],
             ledger_key: keys.PublicKey, verify: bool, servers: int = 1,
             threads: int = CLIENT_THREADS) -> float:
    """Records/s for one run on a fresh ledger at `db_url`, with `servers` ledger
    processes (of `workers` workers each) on it."""
    started: list[LedgerServer] = []
    try:
        for _ in range(servers):
            server = LedgerServer(db_url, home, workers)
            started.append(server)
            server.start()
        seconds, answers = timed_push([s.url for s in started], terminals, threads)
    finally:
        for server in started:
            server.stop()
    check_answers(answers, ledger_key)
    total = sum(len(a["results"]) for _, _, a in answers)
    if verify:
        db = Database(db_url)
        report = check.check(db)
        db.close()
        if not report.ok or report.records != total:
            raise RunFailed(f"ledger check after the run: {report.summary()} "
                            f"{report.problems[:3]}")
    return total / seconds


# --- copies of the template ledger ------------------------------------------------------


def sqlite_copy(template: Path, target: Path) -> str:
    source, dest = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        source.close()
        dest.close()
    return f"sqlite:///{target}"


def postgres_template(cluster: Cluster, template: Path) -> None:
    """The template ledger copied row by row into a PostgreSQL database of its own."""
    import psycopg

    url = cluster.create_database(PG_TEMPLATE)
    db = Database(url)
    migrate(db)
    db.close()
    source = sqlite3.connect(template)
    try:
        tables = [name for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'schema_migrations' ORDER BY name")]
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            for table in tables:
                columns = ", ".join(row[1] for row in source.execute(
                    f"PRAGMA table_info({table})"))
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {columns} FROM {table}"):
                        copy.write_row(row)
    finally:
        source.close()


def postgres_copy(cluster: Cluster, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"')
    return cluster.url(name)


def server_threads(servers: list[int]) -> int:
    """Client threads for the --servers runs: one per server (at least CLIENT_THREADS), at
    most one a terminal (a terminal's batches go in order), and the same count for every N
    so that the runs compare."""
    return min(TERMINALS, max(CLIENT_THREADS, *servers))


def run_servers(args: argparse.Namespace, template: Path, home: Path,
                terminals: list[BenchTerminal], ledger_key: keys.PublicKey,
                figures: dict[str, Any]) -> None:
    """Records/s with each count of servers in args.servers on one PostgreSQL (fsync on),
    and with --standby on a primary with a synchronous standby."""
    threads = server_threads(args.servers)
    figures["servers_client_threads"] = threads
    for topology in ("single", "standby") if args.standby else ("single",):
        pair = cluster = None
        try:
            if topology == "standby":
                pair = ReplicatedPair(fast=False).start()
                cluster = pair.primary
            else:
                cluster = Cluster(fast=False).start()
        except PostgresUnavailable as exc:
            print(f"  {topology} postgres skipped: {exc}")
            figures[f"servers_{topology}_skipped"] = str(exc)
            continue
        try:
            postgres_template(cluster, template)
            for count in args.servers:
                url = postgres_copy(cluster, f"run_s{count}")
                if pair is not None:
                    pair.wait_replayed()
                    url = pair.url(f"run_s{count}")
                rate = run_once(url, home, args.server_workers, terminals, ledger_key,
                                not args.no_check, servers=count, threads=threads)
                figures[f"ingest_{topology}_s{count}_per_s"] = rate
        finally:
            (pair or cluster).stop()


# --- the whole benchmark -----------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    # The machine's verify rate is measured at the start and after each engine's runs; the
    # median is the one the ingest rates are compared with (a busy machine moves both).
    signs, verifies = ed25519_rates()
    verify_rates = [verifies]
    home, template, terminals = prepare_region(workdir, args.records, args.wallets)
    records = sum(t.last_seqs[-1] for t in terminals)
    ledger_key = service.LedgerHome(home).signing_key().public_key()
    figures: dict[str, Any] = {
        "sign_per_s": signs, "records": records,
        "batch_records": BATCH_RECORDS, "terminals": TERMINALS,
        "client_threads": CLIENT_THREADS, "filesystem": filesystem_of(workdir),
        "prepare_s": time.perf_counter() - started,
        "ingest_sqlite_per_s": None, "ingest_postgres_per_s": None,
    }
    engines = [e for e in ("sqlite", "postgres")
               if not (e == "sqlite" and args.postgres_only)
               and not (e == "postgres" and args.sqlite_only)]
    for engine in engines:
        cluster = None
        if engine == "postgres":
            try:
                cluster = Cluster(fast=False).start()
            except PostgresUnavailable as exc:
                print(f"  postgres skipped: {exc}")
                figures["postgres_skipped"] = str(exc)
                continue
        try:
            if cluster is not None:
                postgres_template(cluster, template)
            rates = {}
            for workers in args.workers:
                if cluster is not None:
                    url = postgres_copy(cluster, f"run_w{workers}")
                else:
                    url = sqlite_copy(template, workdir / f"run-w{workers}.db")
                rates[workers] = run_once(url, home, workers, terminals, ledger_key,
                                          not args.no_check)
                figures[f"ingest_{engine}_w{workers}_per_s"] = rates[workers]
        finally:
            if cluster is not None:
                cluster.stop()
        verify_rates.append(ed25519_rates()[1])
        best = max(rates, key=rates.__getitem__)
        figures[f"ingest_{engine}_per_s"] = rates[best]
        figures[f"ingest_{engine}_workers"] = best
    if args.servers:
        run_servers(args, template, home, terminals, ledger_key, figures)
        verify_rates.append(ed25519_rates()[1])
    verifies = statistics.median(verify_rates)
    figures["verify_per_s"] = verifies
    figures["verify_per_s_measured"] = verify_rates
    figures["load_average_before"] = load_before
    figures["load_average_after"] = os.getloadavg()[0]
    if figures["ingest_sqlite_per_s"]:
        figures["sqlite_vs_verify"] = figures["ingest_sqlite_per_s"] / verifies
    if figures["ingest_postgres_per_s"]:
        figures["postgres_vs_verify"] = figures["ingest_postgres_per_s"] / verifies
    figures["total_s"] = time.perf_counter() - started
    return figures


def _workers(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError("worker counts are whole numbers, e.g. 1,2") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("worker counts are whole numbers >= 1")
    return values


def report(figures: dict[str, Any], workers: list[int], servers: Sequence[int] = (),
           server_workers: int = 1) -> None:
    print(f"ledger ingest benchmark: {figures['records']:,} records from "
          f"{figures['terminals']} terminals in batches of {figures['batch_records']:,}, "
          f"{figures['client_threads']} client threads, HTTP on loopback, on "
          f"{figures['filesystem']}")
    measured = ", ".join(f"{rate:,.0f}" for rate in figures["verify_per_s_measured"])
    print(f"  machine: Ed25519 {figures['verify_per_s']:,.0f} verifies/s (median of {measured}), "
          f"{figures['sign_per_s']:,.0f} signs/s (one core, libsodium); {os.cpu_count()} cores")
    busiest = max(figures["load_average_before"], figures["load_average_after"])
    if busiest > BUSY_LOAD_AVERAGE:
        print(f"  warning: load average {busiest:.1f} - other processes share these cores, "
              "so every figure here is lower than on a quiet machine")
    for engine in ("sqlite", "postgres"):
        if figures.get(f"ingest_{engine}_per_s") is None:
            continue
        cells = []
        for count in workers:
            rate = figures[f"ingest_{engine}_w{count}_per_s"]
            cells.append(f"{count} worker{'s' if count > 1 else ' '} {rate:7,.0f}/s "
                         f"({rate / figures['verify_per_s']:.2f} x verify)")
        label = engine + (" (fsync on)" if engine == "postgres" else " (synchronous=FULL)")
        print(f"  {label:22} " + "   ".join(cells))
    if figures.get("sqlite_vs_verify") is not None:
        ratio = figures["sqlite_vs_verify"]
        verdict = "meets" if ratio >= TARGET_SQLITE_VS_VERIFY else "MISSES"
        print(f"  sqlite:   {figures['ingest_sqlite_per_s']:,.0f} records/s with "
              f"{figures['ingest_sqlite_workers']} worker(s) = {ratio:.2f} x verify "
              f"({verdict} the target >= {TARGET_SQLITE_VS_VERIFY:g} x verify)")
    if figures.get("ingest_postgres_per_s") is not None:
        rate = figures["ingest_postgres_per_s"]
        verdict = "meets" if rate >= TARGET_POSTGRES_PER_S else "MISSES"
        print(f"  postgres: {rate:,.0f} records/s with {figures['ingest_postgres_workers']} "
              f"worker(s) ({verdict} the target >= {TARGET_POSTGRES_PER_S:,} records/s)")
    for topology, label in (("single", "one PostgreSQL"),
                            ("standby", "primary + sync standby")):
        cells = []
        for count in servers:
            rate = figures.get(f"ingest_{topology}_s{count}_per_s")
            if rate is not None:
                cells.append(f"{count} server{'s' if count > 1 else ' '} {rate:7,.0f}/s "
                             f"({rate / figures['verify_per_s']:.2f} x verify)")
        if cells:
            print(f"  {label:22} " + "   ".join(cells) + f"   ({server_workers} worker(s) "
                  f"each, {figures['servers_client_threads']} client threads)")
    print(f"  (records made in {figures['prepare_s']:.1f} s before timing; whole run "
          f"{figures['total_s']:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS,
                        help=f"records in total over {TERMINALS} terminals")
    parser.add_argument("--wallets", type=int, default=DEMO_WALLETS,
                        help="wallets in the seeded demo region")
    parser.add_argument("--workers", type=_workers, default=list(DEFAULT_WORKERS),
                        help="server worker counts to measure, e.g. 1,2 (default)")
    parser.add_argument("--servers", type=_workers, default=[],
                        help="also measure this many ledger servers on one PostgreSQL, "
                             "e.g. 1,3")
    parser.add_argument("--server-workers", type=int, default=1,
                        help="worker processes of each server in the --servers runs")
    parser.add_argument("--standby", action="store_true",
                        help="with --servers: also on a primary with a synchronous standby")
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument("--sqlite-only", action="store_true")
    engines.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--no-check", action="store_true",
                        help="skip `ledger check` of the database after each run")
    parser.add_argument("--dir", type=Path, help="where to put the databases (a real disk)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.records < TERMINALS * 2:
        parser.error(f"--records must be at least {TERMINALS * 2}")
    if args.standby and not args.servers:
        parser.error("--standby goes with --servers")
    if args.server_workers < 1:
        parser.error("--server-workers must be at least 1")

    with tempfile.TemporaryDirectory(prefix="machi-bench-", dir=args.dir) as tmp:
        figures = run(args, Path(tmp))
    report(figures, args.workers, args.servers, args.server_workers)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
