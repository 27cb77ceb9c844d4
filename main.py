"""Start the Machi POS counter app.

    python main.py --demo     a self-contained demo: no ledger, camera or card reader needed
    python main.py            this terminal (its data directory: --data, or $MACHI_DATA_DIR)

Before Qt is loaded, the machine is checked for a screen and for the libraries Qt needs, so
a missing one is one clear message instead of a crash.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import sys
from pathlib import Path

from terminal import paths

EXIT_NO_SCREEN = 3
# Qt's X11 platform plugin refuses to load without these (Debian package names).
X11_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xkbcommon-x11": "libxkbcommon-x11-0",
                 "EGL": "libegl1", "fontconfig": "libfontconfig1"}


def screen_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc")):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no screen found (DISPLAY and WAYLAND_DISPLAY are unset). Start it from a "
                "desktop session, or on a headless machine: xvfb-run ./run.sh --demo")
    if not os.environ.get("WAYLAND_DISPLAY"):
        missing = [pkg for lib, pkg in X11_LIBRARIES.items() if not ctypes.util.find_library(lib)]
        if missing:
            return ("Qt needs these system packages to open a window: "
                    f"{' '.join(missing)} (sudo apt-get install {' '.join(missing)})")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the self-contained demo")
    parser.add_argument("--data", type=Path, help="the terminal's data directory")
    args = parser.parse_args(argv)
    data_dir = args.data or (paths.demo_data_dir() if args.demo else paths.default_data_dir())

    problem = screen_problem()
    if problem:
        print(f"Machi POS cannot open its window: {problem}", file=sys.stderr)
        return EXIT_NO_SCREEN
    from terminal.ui.app import run  # Qt is loaded only once a screen is known to be there

    return run(data_dir, args.demo)


if __name__ == "__main__":
    sys.exit(main())
