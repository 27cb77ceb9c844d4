"""The approve and refuse sounds: real WAV files read back with `wave`, approve rising and
refuse falling, played through a child process without waiting; `aplay` (when installed)
plays them to ALSA's null device; without a player the status says what to install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import wave

import pytest

from terminal import sounds
from terminal.sounds import SoundPlayer

WAIT_S = 10


def samples(path) -> tuple[int, list[int]]:
    with wave.open(str(path), "rb") as got:
        assert (got.getnchannels(), got.getsampwidth()) == (1, 2)
        raw = got.readframes(got.getnframes())
        return got.getframerate(), [int.from_bytes(raw[i:i + 2], "little", signed=True)
                                    for i in range(0, len(raw), 2)]


def pitch(part: list[int], rate: int) -> float:
    """Hz from zero crossings (a pure tone crosses twice a period)."""
    crossings = sum(1 for a, b in zip(part[:-1], part[1:], strict=True) if (a < 0) != (b < 0))
    return crossings * rate / (2 * len(part))


@pytest.mark.parametrize("kind, rises", [("approve", True), ("refuse", False)])
def test_each_sound_is_a_wav_that_rises_or_falls(tmp_path, kind, rises):
    rate, data = samples(SoundPlayer(tmp_path).path(kind))
    tones = sounds.TONES[kind]
    assert rate == sounds.SAMPLE_RATE
    assert len(data) == sum(int(rate * seconds) for _, seconds in tones)
    assert abs(data[0]) < 200 and abs(data[-1]) < 200  # faded in and out: no click
    assert max(abs(v) for v in data) <= 32_767 * sounds.AMPLITUDE + 1
    first = data[:int(rate * tones[0][1])]
    last = data[-int(rate * tones[-1][1]):]
    low, high = sorted((pitch(first, rate), pitch(last, rate)))
    assert (pitch(last, rate) > pitch(first, rate)) is rises
    assert low == pytest.approx(min(tones[0][0], tones[-1][0]), rel=0.05)
    assert high == pytest.approx(max(tones[0][0], tones[-1][0]), rel=0.05)


def test_play_starts_the_player_and_does_not_wait(tmp_path):
    log = tmp_path / "played.txt"
    script = tmp_path / "player.py"
    script.write_text("import sys, time\ntime.sleep(0.5)\n"
                      f"open({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    player = SoundPlayer(tmp_path / "cache", [sys.executable, str(script)])
    assert not player.play("approve")  # not prepared yet: skipped, never waited for
    player.prepare()
    started = time.monotonic()
    assert player.play("approve") and player.play("refuse")
    assert time.monotonic() - started < 0.4  # the UI thread never waits for a sound
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and len(log.read_text().split() if log.exists()
                                                else []) < 2:
        time.sleep(0.05)
    assert sorted(log.read_text().split()) == sorted(
        str(tmp_path / "cache" / f"{kind}.wav") for kind in ("approve", "refuse"))
    with pytest.raises(ValueError):
        player.play("fanfare")


def test_without_a_player_the_status_says_what_to_install(tmp_path):
    player = SoundPlayer(tmp_path, [])
    assert not player.play("refuse")
    assert player.status == "aplay not found: install alsa-utils"


@pytest.mark.skipif(shutil.which("aplay") is None, reason="alsa-utils is not installed")
def test_aplay_plays_both_sounds_to_the_null_device(tmp_path):
    player = SoundPlayer(tmp_path)
    assert player.status == "ready"
    for kind in ("approve", "refuse"):
        done = subprocess.run(["aplay", "-q", "-D", "null", str(player.path(kind))],
                              capture_output=True, text=True, timeout=WAIT_S)
        assert done.returncode == 0, done.stderr
