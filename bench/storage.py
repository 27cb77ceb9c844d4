"""Benchmark: plain sqlite3 against sqlite-utils in each place the terminal's stores touch
SQLite (#19.5; the figures and the decisions are in docs/dependencies.md).

- append: the journal's commit of a sale without the signing (records row with the signed
  text, outbox row, two effects rows) in one BEGIN IMMEDIATE transaction, WAL and
  synchronous=FULL, as terminal.journal.Journal.append does it; once with
  `conn.execute`/`executemany`, once with sqlite-utils' `table.insert`/`insert_all` on the
  same connection (inside our transaction it writes a savepoint around each call). The two
  are interleaved in blocks on the same disk. The same again with synchronous=OFF shows the
  CPU each one costs without the fsync.
- snapshot: a snapshot page of lots applied to the state store's WITHOUT ROWID table
  (INSERT OR REPLACE with executemany, as terminal.state does) against sqlite-utils'
  `insert_all(replace=True)`.
- lookup: a wallet's lots read by key (terminal.state.wallet), `conn.execute` tuples against
  `db.query` dicts.
"""

from __future__ import annotations

import argparse
import functools
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sqlite_utils

from bench.stats import filesystem_of, median, percentile, write_json
from sync import clitools
from terminal.journal import MIGRATIONS, _statements

DEFAULT_APPENDS = 1_000
DEFAULT_LOTS = 20_000
DEFAULT_LOOKUPS = 20_000
BLOCK = 50  # appends of one kind before switching to the other
RECORD_BYTES = 700  # about a signed payment record's canonical text (bench journal says)
LOTS_TABLE = """CREATE TABLE lots (
    wallet_id TEXT NOT NULL, lot_id TEXT NOT NULL, pocket TEXT NOT NULL,
    remaining INTEGER NOT NULL, expires TEXT, classes TEXT NOT NULL, campaign TEXT,
    usable_from TEXT, PRIMARY KEY (wallet_id, lot_id)) WITHOUT ROWID"""
LOT_COLUMNS = ("wallet_id", "lot_id", "pocket", "remaining", "expires", "classes", "campaign",
               "usable_from")
WALLETS_IN_LOOKUP = 1_000


def journal_db(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    for _, _, sql in MIGRATIONS:
        for statement in _statements(sql):
            conn.execute(statement)
    return conn


def sale_rows(seq: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    record = {"seq": seq, "tx_id": f"TX-{seq:012d}", "type": "payment",
              "at": "2026-11-22T10:00:00+09:00", "amount": 1_500 + seq % 700,
              "hash": f"{seq:064x}", "record": "x" * RECORD_BYTES}
    outbox = {"seq": seq, "queued_at": record["at"]}
    effects = [{"seq": seq, "n": n, "kind": "spend", "wallet_id": f"W-{seq % 997:06d}",
                "lot_id": f"L-{(seq + n) % 5_000:08d}", "card_id": None, "amount": 500,
                "pocket": "charged", "expires": None, "classes": None, "decision": "offline",
                "ref": None} for n in range(2)]
    return record, outbox, effects


def append_plain(conn: sqlite3.Connection, seq: int) -> None:
    record, outbox, effects = sale_rows(seq)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO records (seq, tx_id, type, at, amount, hash, record) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(record.values()))
    conn.execute("INSERT INTO outbox (seq, queued_at) VALUES (?, ?)", tuple(outbox.values()))
    conn.executemany("INSERT INTO effects (seq, n, kind, wallet_id, lot_id, card_id, amount, "
                     "pocket, expires, classes, decision, ref) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [tuple(e.values()) for e in effects])
    conn.execute("COMMIT")


def append_utils(db: sqlite_utils.Database, seq: int) -> None:
    record, outbox, effects = sale_rows(seq)
    db.conn.execute("BEGIN IMMEDIATE")
    db.table("records").insert(record)
    db.table("outbox").insert(outbox)
    db.table("effects").insert_all(effects)
    db.conn.execute("COMMIT")


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def appends(workdir: Path, count: int, synchronous: str) -> dict[str, float]:
    plain = journal_db(workdir / f"plain-{synchronous}.db", synchronous)
    utils = sqlite_utils.Database(journal_db(workdir / f"utils-{synchronous}.db", synchronous))
    plain_ms: list[float] = []
    utils_ms: list[float] = []
    seq = 0
    while len(plain_ms) < count:
        for n in range(seq + 1, seq + BLOCK + 1):
            plain_ms.append(timed(functools.partial(append_plain, plain, n)))
        for n in range(seq + 1, seq + BLOCK + 1):
            utils_ms.append(timed(functools.partial(append_utils, utils, n)))
        seq += BLOCK
    plain.close()
    utils.conn.close()
    return {f"{synchronous}_sqlite3_ms_p50": median(plain_ms),
            f"{synchronous}_sqlite3_ms_p99": percentile(plain_ms, 99),
            f"{synchronous}_sqlite3_per_s": 1000 * len(plain_ms) / sum(plain_ms),
            f"{synchronous}_sqlite_utils_ms_p50": median(utils_ms),
            f"{synchronous}_sqlite_utils_ms_p99": percentile(utils_ms, 99),
            f"{synchronous}_sqlite_utils_per_s": 1000 * len(utils_ms) / sum(utils_ms)}


def lot_rows(count: int) -> list[dict[str, Any]]:
    return [{"wallet_id": f"W-{n % WALLETS_IN_LOOKUP:06d}", "lot_id": f"L-{n:08d}",
             "pocket": "charged", "remaining": 1_000 + n % 5_000, "expires": "2027-03-31",
             "classes": json.dumps(["small", "large"]), "campaign": None, "usable_from": None}
            for n in range(count)]


def snapshot(workdir: Path, count: int) -> dict[str, float]:
    rows = lot_rows(count)
    plain = sqlite3.connect(workdir / "state-plain.db", isolation_level=None)
    utils = sqlite_utils.Database(sqlite3.connect(workdir / "state-utils.db",
                                                  isolation_level=None))
    for conn in (plain, utils.conn):
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(LOTS_TABLE)
    columns = ", ".join(LOT_COLUMNS)

    def apply_plain() -> None:
        plain.execute("BEGIN IMMEDIATE")
        plain.executemany(f"INSERT OR REPLACE INTO lots ({columns}) VALUES "
                          f"({', '.join('?' * len(LOT_COLUMNS))})",
                          [tuple(row[c] for c in LOT_COLUMNS) for row in rows])
        plain.execute("COMMIT")

    def apply_utils() -> None:
        utils.conn.execute("BEGIN IMMEDIATE")
        utils.table("lots").insert_all(rows, replace=True)
        utils.conn.execute("COMMIT")

    figures = {"snapshot_lots": count,
               "snapshot_sqlite3_ms": min(timed(apply_plain) for _ in range(3)),
               "snapshot_sqlite_utils_ms": min(timed(apply_utils) for _ in range(3))}

    wallets = [f"W-{n % WALLETS_IN_LOOKUP:06d}" for n in range(DEFAULT_LOOKUPS)]
    query = "SELECT lot_id, pocket, remaining, expires FROM lots WHERE wallet_id = ?"

    def look_plain() -> None:
        for wallet in wallets:
            plain.execute(query, (wallet,)).fetchall()

    def look_utils() -> None:
        for wallet in wallets:
            list(utils.query(query, (wallet,)))

    figures["lookups"] = len(wallets)
    figures["lookup_sqlite3_us"] = 1000 * min(timed(look_plain) for _ in range(3)) / len(wallets)
    figures["lookup_sqlite_utils_us"] = 1000 * min(timed(look_utils)
                                                   for _ in range(3)) / len(wallets)
    plain.close()
    utils.conn.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = clitools.Parser(prog="python -m bench storage", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=clitools.positive, default=DEFAULT_APPENDS,
                        help="journal appends of each kind, in each synchronous mode")
    parser.add_argument("--lots", type=clitools.positive, default=DEFAULT_LOTS,
                        help="lots in the snapshot page")
    parser.add_argument("--dir", type=Path, help="where to put the databases (a real disk)")
    parser.add_argument("--json", type=clitools.writable_file,
                        help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="machi-bench-", dir=args.dir) as tmp, \
            clitools.working("sqlite3 against sqlite-utils"):
        workdir = Path(tmp)
        figures: dict[str, Any] = {"filesystem": filesystem_of(workdir),
                                   "sqlite_utils": version("sqlite-utils"),
                                   "sqlite": sqlite3.sqlite_version, "appends": args.appends}
        figures.update(appends(workdir, args.appends, "FULL"))
        figures.update(appends(workdir, args.appends, "OFF"))
        figures.update(snapshot(workdir, args.lots))
    print(f"storage benchmark on {figures['filesystem']} (SQLite {figures['sqlite']}, "
          f"sqlite-utils {figures['sqlite_utils']})")
    for mode in ("FULL", "OFF"):
        print(f"  journal append, synchronous={mode}: sqlite3 p50 "
              f"{figures[f'{mode}_sqlite3_ms_p50']:.3f} ms p99 "
              f"{figures[f'{mode}_sqlite3_ms_p99']:.3f} ms "
              f"({figures[f'{mode}_sqlite3_per_s']:,.0f}/s); sqlite-utils p50 "
              f"{figures[f'{mode}_sqlite_utils_ms_p50']:.3f} ms p99 "
              f"{figures[f'{mode}_sqlite_utils_ms_p99']:.3f} ms "
              f"({figures[f'{mode}_sqlite_utils_per_s']:,.0f}/s)")
    print(f"  snapshot page of {figures['snapshot_lots']:,} lots: sqlite3 "
          f"{figures['snapshot_sqlite3_ms']:.0f} ms, sqlite-utils "
          f"{figures['snapshot_sqlite_utils_ms']:.0f} ms")
    print(f"  wallet lookup: sqlite3 {figures['lookup_sqlite3_us']:.1f} µs, sqlite-utils "
          f"{figures['lookup_sqlite_utils_us']:.1f} µs")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
