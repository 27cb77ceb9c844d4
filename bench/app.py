"""Benchmark: the counter app's cold start and its memory after a day of sales.

    python -m bench app [--sales N] [--json FILE]

Cold start: from launching `python main.py --demo` to the window's first paint (the app
prints a marker when MACHI_REPORT_FIRST_PAINT is set), measured over a few launches on
Qt's offscreen platform. Memory: the peak resident size (VmHWM) of the app process after N
sales driven through the window (terminal.ui.drive load). Targets (DESIGN §9): cold start
<= 2 s; RSS <= 250 MB after 1,000 sales.
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
LOAD_TIMEOUT_S = 900
TARGET_COLD_START_S = 2.0
TARGET_RSS_MB = 250.0
FIRST_PAINT_MARKER = "machi-pos: first paint"


def _env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", MACHI_REPORT_FIRST_PAINT="1")


def cold_start(demo_dir: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "main.py", "--demo", "--data", str(demo_dir)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = started + START_TIMEOUT_S
        assert proc.stdout is not None
        for line in proc.stdout:
            if FIRST_PAINT_MARKER in line:
                return time.perf_counter() - started
            if time.perf_counter() > deadline:
                break
        raise RuntimeError("the app never painted its window")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def peak_rss_after_sales(sales: int, demo_dir: Path) -> float:
    result = subprocess.run([sys.executable, "-m", "terminal.ui.drive", "load", "--sales",
                             str(sales), "--demo-dir", str(demo_dir)], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=LOAD_TIMEOUT_S)
    for line in result.stdout.splitlines():
        if line.startswith("peak_rss_mb"):
            return float(line.split()[1])
    raise RuntimeError(f"the load run failed: {result.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench app", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=DEFAULT_SALES)
    parser.add_argument("--launches", type=int, default=LAUNCHES)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="machi-bench-app-") as tmp:
        demo = Path(tmp)
        starts = [cold_start(demo) for _ in range(args.launches)]
        load_started = time.perf_counter()
        rss = peak_rss_after_sales(args.sales, demo)
        load_s = time.perf_counter() - load_started
    figures = {"cold_start_s": statistics.median(starts), "cold_start_first_s": starts[0],
               "rss_mb": rss, "sales": args.sales, "load_s": load_s}
    print(f"app benchmark: {args.launches} launches, {args.sales} sales through the window")
    print(f"  cold start to first paint: median {figures['cold_start_s']:.2f} s (first "
          f"{starts[0]:.2f} s); target <= {TARGET_COLD_START_S:g} s")
    print(f"  peak RSS after {args.sales} sales: {rss:.0f} MB (target <= {TARGET_RSS_MB:g} MB);"
          f" the sales took {load_s:.1f} s with start-up")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
