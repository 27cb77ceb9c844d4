"""Approve and refuse sounds: the cashier may be looking at the customer, not the screen.

The tones are made here (16-bit mono WAV, written once to the user's cache directory) and
played without the UI thread waiting on a sound card: by a child process (`aplay` on Linux,
Debian package alsa-utils, installed by the set-up; `paplay`; `afplay` on macOS) or, on
Windows, by winsound asynchronously (sync.platform.sound chooses). PySide6-Essentials has no
QtMultimedia. Without a player the window falls back to the system beep and the admin screen
says why.
"""

from __future__ import annotations

import math
import struct
import subprocess
import wave
from pathlib import Path

from sync.platform import dirs
from sync.platform import sound as os_sound

SAMPLE_RATE = 22_050
AMPLITUDE = 0.35  # of full scale: audible at a counter, not startling
FADE_S = 0.008  # ramps at each end of a tone, so it does not click
CACHE_DIR = dirs.app_cache_dir()
# (frequency Hz, seconds) per tone; 0 Hz is a pause. Approve rises, refuse falls and repeats.
TONES = {
    "approve": ((880, 0.07), (0, 0.02), (1320, 0.11)),
    "refuse": ((392, 0.16), (0, 0.06), (294, 0.24)),
}


def wav_bytes(tones: tuple[tuple[int, float], ...]) -> bytes:
    """The frames of a sequence of tones, 16-bit signed little-endian."""
    frames = bytearray()
    for frequency, seconds in tones:
        count = int(SAMPLE_RATE * seconds)
        fade = max(1, int(SAMPLE_RATE * FADE_S))
        for n in range(count):
            if frequency == 0:
                frames += struct.pack("<h", 0)
                continue
            ramp = min(1.0, n / fade, (count - 1 - n) / fade)
            value = AMPLITUDE * ramp * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)
            frames += struct.pack("<h", int(value * 32_767))
    return bytes(frames)


def write_wav(path: Path, tones: tuple[tuple[int, float], ...]) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(wav_bytes(tones))
    return path


class SoundPlayer:
    """Plays the approve and refuse sounds without waiting for them to end."""

    def __init__(self, directory: Path | None = None,
                 command: list[str] | None = None) -> None:
        self.directory = directory or CACHE_DIR / "sounds"
        # A command given (tests) is used as it is; else the OS's player, or its in-process
        # way (Windows), which has no command.
        self.command = command if command is not None else os_sound.player_command()
        self._in_process = command is None and self.command is None and os_sound.IS_WINDOWS
        self._running: list[subprocess.Popen] = []

    @property
    def status(self) -> str:
        return "ready" if self.command or self._in_process else os_sound.missing_hint()

    def path(self, kind: str) -> Path:
        """The sound's WAV file, written the first time it is asked for."""
        path = self.directory / f"{kind}.wav"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            write_wav(path.with_suffix(".tmp"), TONES[kind]).replace(path)
        return path

    def prepare(self) -> None:
        """Write every sound's file now (a window calls this on a thread of its own, so the
        UI thread never writes them); a sound asked for before is skipped, not waited for."""
        for kind in TONES:
            try:
                self.path(kind)
            except OSError:
                self.command = None  # nowhere to keep the sounds: said on the admin screen
                self._in_process = False
                return

    def play(self, kind: str) -> bool:
        """Start the sound; False when there is no player (the caller may beep instead)."""
        if kind not in TONES:
            raise ValueError(f"no sound {kind!r}")
        self._running = [proc for proc in self._running if proc.poll() is None]
        path = self.directory / f"{kind}.wav"
        if not path.exists():
            return False
        if self._in_process:
            return bool(os_sound.play_in_process(path))
        if not self.command:
            return False
        try:
            self._running.append(subprocess.Popen(
                [*self.command, str(path)], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except OSError:
            return False
        return True
