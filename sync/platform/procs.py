"""Child processes that end with the app, and the signal that asks this process to stop.

POSIX: a child gets a session (and so a process group) of its own, which `stop` ends as a
whole (a server and any workers it started): SIGTERM to the group, SIGKILL after a grace
period. On Linux the child also asks the kernel to send it SIGTERM when its parent dies,
however the parent dies (kill -9 included).

Windows (designed, not yet run): a child is started in a new process group
(CREATE_NEW_PROCESS_GROUP), so CTRL_BREAK_EVENT reaches it and not the app's console; after
the grace period TerminateProcess (Popen.kill). A child is not ended by the app's own
crash there; a job object would do that, which needs pywin32 and is left for a later
version. The stop signal is SIGBREAK (what CTRL_BREAK_EVENT raises) as well as SIGTERM.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from sync.platform import IS_LINUX, IS_WINDOWS

PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_TIMEOUT_S = 5.0


def _die_with_parent() -> None:
    """In the child, before it runs: ask Linux to send it SIGTERM when its parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # stop() and the app's own shutdown still end it


def child_options() -> dict[str, Any]:
    """Keyword arguments for subprocess.Popen: the child in a group of its own that `stop`
    can end whole (and, on Linux, that ends with its parent)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    if IS_LINUX:
        return {"start_new_session": True, "preexec_fn": _die_with_parent}
    return {"start_new_session": True}


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    """End a child started with `child_options()`, and its own children: ask, wait up to
    `timeout`, then force."""
    if process.poll() is not None:
        return
    _ask_to_stop(process)
    try:
        process.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    _force_stop(process)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def _own_group(process: subprocess.Popen) -> bool:
    import os

    try:
        return os.getpgid(process.pid) == process.pid
    except OSError:
        return False


def _ask_to_stop(process: subprocess.Popen) -> None:
    import os

    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT)
    elif _own_group(process):
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    else:
        process.terminate()


def _force_stop(process: subprocess.Popen) -> None:
    import os

    if not IS_WINDOWS and _own_group(process):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        process.kill()


def stop_signals() -> list[signal.Signals]:
    """The signals a service manager (or a parent app) sends to ask for a clean stop."""
    found = [signal.SIGTERM]
    if sys.platform == "win32":
        found.append(signal.SIGBREAK)
    return found


def on_stop(callback: Callable[[], object]) -> Callable[[], None]:
    """Call `callback()` when asked to stop (see stop_signals); returns what puts the
    previous handlers back. Outside the main thread (where Python allows no handlers) it
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.signal(sig, lambda *_: callback()) for sig in stop_signals()}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
