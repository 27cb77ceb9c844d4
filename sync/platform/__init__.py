"""Everything that differs between Linux, Windows and macOS, one small module per concern.

The rest of the project calls these and never asks which OS it runs on; POSIX-only modules
(fcntl, pwd, ...) and calls (os.geteuid, os.killpg, preexec_fn, ...) appear only here
(tests/test_portable.py checks both: one test hides those modules, one scans the code).

    dirs      where data and caches live (platformdirs; $MACHI_DATA_DIR overrides)
    perms     owner-only directories, databases and secrets (POSIX modes; Windows ACLs)
    procs     child processes that end with the app; the stop signal a service manager sends
    sound     the program (or library) that plays a WAV file
    camera    which OpenCV capture backends to try, and whether a camera may be plugged in
    pipes     pipe sizes, and whether pipes work with `selectors`
    boot      a clock that counts time asleep, and the id of this boot (the trusted clock)

Run on Linux (this machine, every test); Windows and macOS branches are designed from the
Python and OpenCV documentation and not yet run (README, "Where it runs").

This package lives in sync/ because terminal, ledger and cardreader all use it and sync is
the one package each of them may import (tests/test_layout.py).
"""

from __future__ import annotations

import sys

IS_WINDOWS = sys.platform == "win32"
IS_MACOS = sys.platform == "darwin"
IS_LINUX = sys.platform.startswith("linux")
