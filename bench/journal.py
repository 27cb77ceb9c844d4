"""Benchmark: a full sale commit against the machine's bare fsync'd SQLite commit.

Both run in the same directory, interleaved in small blocks so that disk and CPU noise falls
on both alike. The full commit is what the counter does for every sale: build the record,
sign it, verify our own signature, insert it with its outbox row, commit with fsync. The bare
commit inserts a row of the same size into a WAL + synchronous=FULL table and commits.
Target (DESIGN §9): p99 of the full commit <= 3 x p99 of the bare commit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.stats import ed25519_rates, filesystem_of, median, percentile, write_json
from sync import clitools
from terminal import keystore
from terminal.journal import Journal, connect

DEFAULT_SALES = 2_000
BLOCK = 50  # commits of one kind before switching to the other
TARGET_RATIO_P99 = 3.0


def sale_body(i: int) -> dict:
    """A realistic payment body: wallet, amount, the lots that paid, how it was decided."""
    return {
        "amount": 1_500 + i % 700,
        "wallet": f"W-{i % 997:06d}",
        "credential": "card",
        "decision": "offline",
        "excluded": 0,
        "lots": [
            {"lot": f"L-{i % 5000:08d}", "pocket": "premium_exclusive", "amount": 1_000},
            {"lot": f"L-{(i + 1) % 5000:08d}", "pocket": "charged", "amount": 500 + i % 700},
        ],
    }


def run(sales: int, workdir: Path) -> dict:
    key = keystore.create_key(workdir / "terminal")
    journal = Journal.create(workdir / "terminal", "T-BENCH-01", key)
    bare = connect(workdir / "bare.db")
    bare.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)")
    sample = journal.append("payment", sale_body(0)).data.decode("utf-8")

    full_ms: list[float] = []
    bare_ms: list[float] = []
    i = 0
    while len(full_ms) < sales:
        for _ in range(BLOCK):
            i += 1
            body = sale_body(i)
            start = time.perf_counter()
            journal.append("payment", body)
            full_ms.append((time.perf_counter() - start) * 1000)
        for _ in range(BLOCK):
            start = time.perf_counter()
            bare.execute("BEGIN IMMEDIATE")
            bare.execute("INSERT INTO t (data) VALUES (?)", (sample,))
            bare.execute("COMMIT")
            bare_ms.append((time.perf_counter() - start) * 1000)
    journal.close()
    bare.close()
    return {
        "commit_ms_p50": median(full_ms),
        "commit_ms_p99": percentile(full_ms, 99),
        "bare_ms_p50": median(bare_ms),
        "bare_ms_p99": percentile(bare_ms, 99),
        "record_bytes": len(sample.encode("utf-8")),
        "sales": len(full_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = clitools.Parser(prog="python -m bench journal", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=clitools.positive, default=DEFAULT_SALES,
                        help="sale commits timed (and as many bare commits)")
    parser.add_argument("--dir", type=Path, help="where to put the databases (a real disk)")
    parser.add_argument("--json", type=clitools.writable_file,
                        help="also write the figures to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="machi-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        fstype = filesystem_of(workdir)
        signs, verifies = ed25519_rates()
        figures = run(args.sales, workdir)
    figures["ratio_p99"] = figures["commit_ms_p99"] / figures["bare_ms_p99"]
    figures["ratio_p50"] = figures["commit_ms_p50"] / figures["bare_ms_p50"]
    figures["ed25519_sign_per_s"] = signs
    figures["ed25519_verify_per_s"] = verifies
    figures["filesystem"] = fstype

    print(f"journal benchmark: {figures['sales']} sales, {figures['record_bytes']} B records, "
          f"on {fstype}")
    if fstype in ("tmpfs", "ramfs"):
        print("  warning: this directory is in memory, so fsync costs nothing; use --dir")
    print(f"  machine: Ed25519 {signs:,.0f} signs/s, {verifies:,.0f} verifies/s (one core)")
    print(f"  bare fsync'd insert   p50 {figures['bare_ms_p50']:.3f} ms   "
          f"p99 {figures['bare_ms_p99']:.3f} ms")
    print(f"  full sale commit      p50 {figures['commit_ms_p50']:.3f} ms   "
          f"p99 {figures['commit_ms_p99']:.3f} ms")
    verdict = "meets" if figures["ratio_p99"] <= TARGET_RATIO_P99 else "MISSES"
    print(f"  ratio p50 {figures['ratio_p50']:.2f}   ratio p99 {figures['ratio_p99']:.2f}   "
          f"({verdict} the target p99 ratio <= {TARGET_RATIO_P99:g})")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
