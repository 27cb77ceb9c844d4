"""`python -m bench NAME [options]`: run one benchmark; `python -m bench` lists them."""

from __future__ import annotations

import importlib
import sys

# name -> (module, what it measures)
BENCHMARKS = {
    "journal": ("bench.journal", "sale commit (sign, verify, insert, fsync) vs bare commit"),
    "decode": ("bench.decode", "QR decode of 1280x720 frames: zxing-cpp vs pyzbar"),
    "app": ("bench.app", "counter app cold start and peak RSS after 1,000 sales"),
    "screens": ("bench.screens", "PNG screenshots of the main screens (xvfb-run)"),
    "tally": ("bench.tally", "daily tally of a 10,000-sale day as CSV, XLSX and PDF"),
    "ledger": ("bench.ledger", "ledger ingest over HTTP, SQLite and PostgreSQL, vs verify rate"),
    "sync": ("bench.sync", "terminal push of a backlog vs verify rate; snapshot apply"),
    "storage": ("bench.storage", "sqlite3 vs sqlite-utils: journal append, snapshot, lookup"),
}


EXIT_USAGE = 2


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [--json FILE] [options]   (NAME --help: its "
              "options)\n\nbenchmarks:")
        for name, (_, about) in BENCHMARKS.items():
            print(f"  {name:10} {about}")
        return 0
    if argv[0] not in BENCHMARKS:  # one line, as every command line here says a bad word
        print(f"python -m bench: error: no benchmark {argv[0]!r}: one of "
              f"{', '.join(BENCHMARKS)} (see python -m bench --help)", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(BENCHMARKS[argv[0]][0])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
