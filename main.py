"""Start the Machi POS counter app from a checkout: `python main.py [--demo]`.

The app's start lives in terminal/app_main.py (installed as the `machi-pos` command); this
file keeps ./run.sh and `python main.py` working.
"""

from __future__ import annotations

import sys

from terminal.app_main import (  # noqa: F401 - re-exported for scripts and tests
    EXIT_NO_SCREEN,
    main,
    missing_qt_libraries,
    screen_problem,
)

if __name__ == "__main__":
    sys.exit(main())
