"""This boot of the machine: a clock that counts time asleep, and an id that names the boot.

    Linux    CLOCK_BOOTTIME, and the kernel's boot id (/proc/sys/kernel/random/boot_id)
    others   CLOCK_MONOTONIC (time.monotonic) and no boot id: a persisted clock anchor is
             then only a floor after a restart (terminal.clock says what that means)

Windows and macOS are designed here (no boot id), not yet run.
"""

from __future__ import annotations

import time
from pathlib import Path

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
HAS_BOOT_CLOCK = hasattr(time, "CLOCK_BOOTTIME")


def boot_id() -> str | None:
    """The id of this boot, or None where it cannot be told."""
    if not HAS_BOOT_CLOCK:
        return None
    try:
        text = BOOT_ID_PATH.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def elapsed_s() -> float:
    """Seconds on a clock no user can set, counting time asleep where the OS has one."""
    if HAS_BOOT_CLOCK:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()
