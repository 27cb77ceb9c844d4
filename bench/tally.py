"""Benchmark: the daily tally of a 10,000-sale day, in each format.

    python -m bench tally [--sales N] [--json FILE]

The day is a real journal (signed records on disk) of N payments plus some refunds, top-ups
and float moves; the timed part is reading the day's records, computing the sheet and
writing it as CSV, XLSX and PDF (DESIGN §9 target: <= 1 s each for 10,000 sales).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import write_json
from sync import clitools
from terminal import keystore, tally
from terminal.journal import Journal

DEFAULT_SALES = 10_000
TARGET_S = 1.0
POCKETS = ("charged", "premium_common", "premium_exclusive", "points")


def make_day(data_dir: Path, sales: int) -> Journal:
    journal = Journal.create(data_dir, "T-BENCH-TALLY", keystore.create_key(data_dir))
    rng = random.Random(7)
    journal.conn.execute("PRAGMA synchronous = OFF")  # building the fixture, not measuring it
    for n in range(sales):
        amount = rng.randrange(100, 5_000, 10)
        journal.append("payment", {
            "amount": amount, "wallet": f"W-{n % 500}", "decision": rng.choice(
                ("online", "offline")), "credential": {"kind": "card", "id": "x"},
            "lots": [{"lot": f"L-{n % 900}", "amount": amount, "pocket": rng.choice(POCKETS)}]})
        if n % 50 == 0:
            journal.append("charge", {"amount": 3_000, "wallet": f"W-{n % 500}", "lots": [
                {"lot": f"L-C{n}", "pocket": "charged", "amount": 3_000, "paid": 3_000}]})
    journal.append("cash_move", {"amount": 20_000, "direction": "in"})
    return journal


def main(argv: list[str] | None = None) -> int:
    parser = clitools.Parser(prog="python -m bench tally", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=clitools.positive, default=DEFAULT_SALES,
                        help="sales in the day tallied")
    parser.add_argument("--json", type=clitools.writable_file,
                        help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="machi-bench-tally-") as tmp:
        journal = make_day(Path(tmp) / "terminal", args.sales)
        for fmt in ("csv", "xlsx", "pdf"):
            started = time.perf_counter()
            sheet = tally.x_report(journal)
            tally.export(sheet, fmt, Path(tmp) / f"day.{fmt}", "ベンチ商店")
            figures[f"tally_{fmt}_s"] = time.perf_counter() - started
        journal.close()
    print(f"tally benchmark: a day of {args.sales:,} sales (and top-ups), read from the journal")
    for fmt in ("csv", "xlsx", "pdf"):
        seconds = figures[f"tally_{fmt}_s"]
        verdict = "ok" if seconds <= TARGET_S else "MISSES"
        print(f"  {fmt:5} {seconds:.3f} s  ({verdict}: target <= {TARGET_S:g} s)")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
