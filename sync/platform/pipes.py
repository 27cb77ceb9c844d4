"""Pipes to a helper process: their size, and whether `selectors` can wait on them.

Linux lets a pipe grow (F_SETPIPE_SZ), so a large hand-over never waits for the reader; other
POSIX systems keep their fixed size, which only costs a wait now and then. On Windows a pipe
cannot be waited on with `selectors` (sockets only), so work that needs it is done in-process
there (ledger.verifier checks a batch alone).
"""

from __future__ import annotations

import os

from sync.platform import IS_LINUX

F_SETPIPE_SZ = 1031  # linux/fcntl.h
SELECTABLE_PIPES = os.name == "posix"


def enlarge(fd: int, size: int) -> bool:
    """Ask for a pipe of `size` bytes; False when this system (or its limit) says no."""
    if not IS_LINUX:
        return False
    import fcntl

    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, size)
    except OSError:
        return False
    return True
