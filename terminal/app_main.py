"""Start the Machi POS counter app (the `machi-pos` command; `python main.py` in a checkout).

    machi-pos --demo     a self-contained demo: a local ledger (needs machi-pos[ledger]), no
                         camera or card reader needed
    machi-pos            this terminal (its data directory: --data, or $MACHI_DATA_DIR)

Before Qt is loaded on Linux, the machine is checked for a screen and for the libraries Qt's
X11 plugin needs, so a missing one is one clear message instead of a crash. Windows and
macOS always have a screen in a desktop session, and Qt brings its own libraries there.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sync.platform import IS_LINUX
from terminal import paths

EXIT_NO_SCREEN = 3
EXIT_NO_DEMO = 4
LDD_TIMEOUT_S = 10
# Qt's X11 plugin and the libraries it loads; a missing one aborts Qt, so look first.
QT_X11_BINARIES = ("plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6")


def missing_qt_libraries() -> list[str]:
    """Shared libraries Qt's X11 plugin needs that this machine lacks (asked of ldd)."""
    if not IS_LINUX:
        return []
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
    """Why no window can be shown here, or None when one can (always None off Linux)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not IS_LINUX or platform.startswith(("offscreen", "minimal", "vnc")):
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


def demo_problem() -> str | None:
    """Why the demo cannot run here (it starts a local ledger with this Python)."""
    if getattr(sys, "frozen", False):
        return ("the demo runs a local ledger, which this packaged counter app does not "
                "carry; install the Python package instead: pipx install 'machi-pos[ledger]'")
    if importlib.util.find_spec("fastapi") is None:
        return ("the demo runs a local ledger, which needs the ledger's packages: "
                "pip install 'machi-pos[ledger]'")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="machi-pos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the self-contained demo")
    parser.add_argument("--data", type=Path, help="the terminal's data directory (for the "
                                                  "demo: where the demo keeps everything)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="interface language (default Japanese)")
    parser.add_argument("--smoke", action="store_true",
                        help="quit once the window has been drawn, printing how long that "
                             "took (a packaging check)")
    args = parser.parse_args(argv)
    demo_base = (args.data or paths.demo_data_dir()) if args.demo else None
    data_dir = (demo_base / "terminal") if demo_base else (args.data or paths.default_data_dir())

    problem = screen_problem() or (demo_problem() if args.demo else None)
    if problem:
        print(f"Machi POS cannot open its window: {problem}", file=sys.stderr)
        return EXIT_NO_SCREEN if screen_problem() else EXIT_NO_DEMO
    # Qt is loaded only once a screen is known to be there
    if args.smoke:
        from terminal.ui.smoke import run_smoke

        return run_smoke(data_dir, demo_base, lang=args.lang)
    from terminal.ui.app import run

    return run(data_dir, demo_base, lang=args.lang)


if __name__ == "__main__":
    sys.exit(main())
