"""Start the Machi POS counter app.

    python main.py --demo     a self-contained demo: no ledger, camera or card reader needed
    python main.py            this terminal (its data directory: --data, or $MACHI_DATA_DIR)

Before Qt is loaded, the machine is checked for a screen and for the libraries Qt needs, so
a missing one is one clear message instead of a crash.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from terminal import paths

EXIT_NO_SCREEN = 3
LDD_TIMEOUT_S = 10
# Qt's X11 plugin and the libraries it loads; a missing one aborts Qt, so look first.
QT_X11_BINARIES = ("plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6")


def missing_qt_libraries() -> list[str]:
    """Shared libraries Qt's X11 plugin needs that this machine lacks (asked of ldd)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations or not shutil.which("ldd"):
        return []
    qt_dir = Path(list(spec.submodule_search_locations)[0]) / "Qt"
    binaries = [str(qt_dir / b) for b in QT_X11_BINARIES if (qt_dir / b).exists()]
    if not binaries:
        return []
    try:
        out = subprocess.run(["ldd", *binaries], capture_output=True, text=True,
                             timeout=LDD_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def screen_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc")):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no screen found (DISPLAY and WAYLAND_DISPLAY are unset). Start it from a "
                "desktop session, or on a headless machine: xvfb-run ./run.sh --demo")
    if not os.environ.get("WAYLAND_DISPLAY"):
        missing = missing_qt_libraries()
        if missing:
            return ("Qt cannot open an X11 window without these libraries: "
                    f"{' '.join(missing)}. Run ./run.sh as root or with sudo to install them "
                    "(see scripts/setup.sh for the package list).")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the self-contained demo")
    parser.add_argument("--data", type=Path, help="the terminal's data directory (for the "
                                                  "demo: where the demo keeps everything)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="interface language (default Japanese)")
    args = parser.parse_args(argv)
    demo_base = (args.data or paths.demo_data_dir()) if args.demo else None
    data_dir = (demo_base / "terminal") if demo_base else (args.data or paths.default_data_dir())

    problem = screen_problem()
    if problem:
        print(f"Machi POS cannot open its window: {problem}", file=sys.stderr)
        return EXIT_NO_SCREEN
    from terminal.ui.app import run  # Qt is loaded only once a screen is known to be there

    return run(data_dir, demo_base, lang=args.lang)


if __name__ == "__main__":
    sys.exit(main())
