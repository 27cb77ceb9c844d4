"""Screenshots of the counter's main screens, for people to look at.

    python -m bench screens --out DIR [--lang ja|en]

Starts the real app on the demo (under xvfb-run when there is no screen), walks the main
flows (pay by card and by app, a refusal, refunds, a top-up, a gift code, a voucher sale,
admin, high contrast) and
saves a PNG of each screen in DIR.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SCREEN = "1280x800x24"
TIMEOUT_S = 300


def command(out: Path, lang: str) -> list[str]:
    drive = [sys.executable, "-m", "terminal.ui.drive", "screens", "--out", str(out), "--lang",
             lang]
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return drive
    if not shutil.which("xvfb-run"):
        raise SystemExit("no screen and no xvfb-run: install xvfb (./test.sh does)")
    return ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", *drive]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench screens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    result = subprocess.run(command(args.out, args.lang), env=env, timeout=TIMEOUT_S,
                            capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
