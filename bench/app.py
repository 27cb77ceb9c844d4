"""Benchmark: the counter app's cold start and its memory after a day of sales.

    python -m bench app [--sales N] [--launches N] [--json FILE]

Cold start, measured on Qt's offscreen platform in a child process (`python main.py`), to
two moments the app prints when MACHI_REPORT_FIRST_PAINT is set:
  first paint   the window is drawn;
  sale-ready    the services answered: a payment op can be taken from now on.
The terminal is a prepared data directory (enrolled with the demo region's ledger, its first
snapshot taken), started with its ledger stopped: sale-ready comes from the journal and the
last snapshot alone, the sync runs in the background and is never waited for. The demo
(`--demo`, which starts its own ledger first) is measured once too, for comparison.
Memory: the peak resident size (VmHWM) of the app process after N sales driven through the
window (terminal.ui.drive load). Targets (#18, DESIGN §9): sale-ready <= 1 s;
RSS <= 250 MB after 1,000 sales.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import write_json

ROOT = Path(__file__).resolve().parents[1]
LAUNCHES = 3
DEFAULT_SALES = 1_000
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
LOAD_TIMEOUT_S = 900
TARGET_SALE_READY_S = 1.0
TARGET_RSS_MB = 250.0
# What the window prints (terminal.ui.window), when MACHI_REPORT_FIRST_PAINT is set.
FIRST_PAINT_MARKER = "machi-pos: first paint"
SALE_READY_MARKER = "machi-pos: sale-ready"


def _env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", MACHI_REPORT_FIRST_PAINT="1")


def prepare(base: Path) -> Path:
    """A terminal as a shop has it: enrolled with the demo region's ledger, its first
    snapshot taken; then the ledger is stopped. Returns its data directory."""
    from terminal.demo import DemoRegion
    from terminal.node import Node

    demo = DemoRegion(base)
    data_dir = demo.start()
    try:
        with Node(data_dir) as node:
            node.sync_once()
    finally:
        demo.stop()
    return data_dir


def cold_start(args: list[str]) -> tuple[float, float]:
    """(first paint, sale-ready) in seconds after launching `main.py args`."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "main.py", *args], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: dict[str, float] = {}
    try:
        deadline = started + START_TIMEOUT_S
        assert proc.stdout is not None
        for line in proc.stdout:
            for marker in (FIRST_PAINT_MARKER, SALE_READY_MARKER):
                if marker in line and marker not in seen:
                    seen[marker] = time.perf_counter() - started
            if len(seen) == 2 or time.perf_counter() > deadline:
                break
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
    if len(seen) != 2:
        raise RuntimeError(f"the app did not get to both moments: {sorted(seen)}")
    return seen[FIRST_PAINT_MARKER], seen[SALE_READY_MARKER]


def peak_rss_after_sales(sales: int, demo_dir: Path) -> float:
    result = subprocess.run([sys.executable, "-m", "terminal.ui.drive", "load", "--sales",
                             str(sales), "--demo-dir", str(demo_dir)], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=LOAD_TIMEOUT_S)
    for line in result.stdout.splitlines():
        if line.startswith("peak_rss_mb"):
            return float(line.split()[1])
    raise RuntimeError(f"the load run failed: {result.stderr[-2000:]}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench app", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=DEFAULT_SALES,
                        help="sales for the memory figure (0: skip it)")
    parser.add_argument("--launches", type=int, default=LAUNCHES)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="machi-bench-app-") as tmp:
        base = Path(tmp)
        data_dir = prepare(base)
        starts = [cold_start(["--data", str(data_dir)]) for _ in range(args.launches)]
        demo_paint, demo_ready = cold_start(["--demo", "--data", str(base)])
        rss, load_s = 0.0, 0.0
        if args.sales:
            load_started = time.perf_counter()
            rss = peak_rss_after_sales(args.sales, base)
            load_s = time.perf_counter() - load_started
    paint = statistics.median(s[0] for s in starts)
    ready = statistics.median(s[1] for s in starts)
    figures = {"first_paint_s": paint, "sale_ready_s": ready,
               "sale_ready_first_s": starts[0][1], "demo_first_paint_s": demo_paint,
               "demo_sale_ready_s": demo_ready, "rss_mb": rss, "sales": args.sales,
               "load_s": load_s}
    print(f"app benchmark: {args.launches} cold starts of a prepared terminal (its ledger "
          "stopped), offscreen")
    print(f"  first paint: median {ms(paint)}")
    print(f"  sale-ready:  median {ms(ready)} (first launch {ms(starts[0][1])}); target <= "
          f"{ms(TARGET_SALE_READY_S)}: {'met' if ready <= TARGET_SALE_READY_S else 'MISSED'}")
    print(f"  demo (starts its own ledger first): first paint {ms(demo_paint)}, sale-ready "
          f"{ms(demo_ready)}")
    if args.sales:
        print(f"  peak RSS after {args.sales} sales: {rss:.0f} MB (target <= "
              f"{TARGET_RSS_MB:g} MB); the sales took {load_s:.1f} s with start-up")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
