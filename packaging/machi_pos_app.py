"""The PyInstaller app's entry point: the counter, as the `machi-pos` command starts it."""

import sys

from terminal.app_main import main

if __name__ == "__main__":
    sys.exit(main())
