"""Screenshots of the counter's main screens, for people to look at.

    python -m bench screens --out DIR [--lang ja|en] [--size WxH | --all-sizes]

Starts the real app on the demo (under xvfb-run when there is no screen), walks the main
flows (pay by card and by app, a refusal, refunds, a top-up, a gift code, a voucher sale,
admin, high contrast) and
saves a PNG of each screen in DIR; with --all-sizes, one folder per counter screen size
(DIR/1366x768, ...), each on a virtual screen of that size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_SIZE = "1366x768"  # the most common shop PC and tablet screen (#18)
SIZES = ("1024x768", "1280x800", "1366x768", "1920x1080")
DEPTH = 24
TIMEOUT_S = 300


def command(out: Path, lang: str, size: str = DEFAULT_SIZE) -> list[str]:
    drive = [sys.executable, "-m", "terminal.ui.drive", "screens", "--out", str(out), "--lang",
             lang, "--size", size]
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return drive
    if not shutil.which("xvfb-run"):
        raise SystemExit("no screen and no xvfb-run: install xvfb (./test.sh does)")
    return ["xvfb-run", "-a", "-s", f"-screen 0 {size}x{DEPTH}", *drive]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench screens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    parser.add_argument("--size", default=DEFAULT_SIZE, help="WIDTHxHEIGHT, e.g. 1024x768")
    parser.add_argument("--all-sizes", action="store_true",
                        help=f"each of {', '.join(SIZES)} into its own folder under --out")
    args = parser.parse_args(argv)
    runs = [(args.out / size, size) for size in SIZES] if args.all_sizes else \
        [(args.out, args.size)]
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    for out, size in runs:
        result = subprocess.run(command(out, args.lang, size), env=env, timeout=TIMEOUT_S,
                                capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1])
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-3000:])
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
