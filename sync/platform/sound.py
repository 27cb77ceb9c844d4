"""What plays a WAV file here, without the caller waiting for it.

    Linux    `aplay -q` (ALSA, Debian package alsa-utils), else `paplay` (PulseAudio/PipeWire)
    macOS    `afplay` (always there)
    Windows  winsound.PlaySound(..., SND_ASYNC) in this process (designed, not yet run)

Without any, `missing_hint()` says what to install and the window beeps instead.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sync.platform import IS_MACOS, IS_WINDOWS

__all__ = ["IS_WINDOWS", "missing_hint", "play_in_process", "player_command"]

# Player programs by preference, each with the arguments before the file name.
LINUX_PLAYERS = (("aplay", "-q"), ("paplay",))
MACOS_PLAYERS = (("afplay",),)


def player_command() -> list[str] | None:
    """The command (a file name follows) that plays a WAV file, or None."""
    if IS_WINDOWS:
        return None
    for program, *args in (MACOS_PLAYERS if IS_MACOS else LINUX_PLAYERS):
        found = shutil.which(program)
        if found:
            return [found, *args]
    return None


def play_in_process(path: Path) -> bool | None:
    """Start playing `path` without a child process where the OS has a way (Windows: winsound,
    asynchronous); None where it has none, False when it failed."""
    if sys.platform != "win32":
        return None
    import winsound

    try:
        winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC |
                           winsound.SND_NODEFAULT)
    except RuntimeError:
        return False
    return True


def missing_hint() -> str:
    """What the admin screen says when nothing here can play a sound."""
    if IS_MACOS:
        return "afplay not found: the sounds are off"
    if IS_WINDOWS:
        return "winsound cannot play: the sounds are off"
    return "aplay not found: install alsa-utils"
