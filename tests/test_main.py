"""main.py on a machine with no screen: one clear message and its own exit code, no abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import main

ROOT = Path(__file__).resolve().parents[1]


def test_headless_start_explains_itself(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--demo", "--data", str(tmp_path / "d")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == main.EXIT_NO_SCREEN
    assert "no screen found" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()  # nothing was set up on the way out


def test_offscreen_platform_needs_no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main.screen_problem() is None


def test_qt_x11_libraries_are_all_present_here():
    # The set-up installs them; if this fails, scripts/setup.sh misses a package.
    assert main.missing_qt_libraries() == []


def _children(pid: int) -> list[int]:
    """Child processes started by any of the process's threads."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in path.read_text().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_the_demo_ledger_dies_with_the_app_even_on_kill_9(tmp_path):
    import signal
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MACHI_REPORT_FIRST_PAINT="1")
    app = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--demo", "--data",
                            str(tmp_path / "demo")], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "first paint" in app.stdout.readline()
        deadline = time.monotonic() + 60
        ledger = []
        while time.monotonic() < deadline and not ledger:
            ledger = [c for c in _children(app.pid)
                      if b"ledger" in Path(f"/proc/{c}/cmdline").read_bytes()]
            time.sleep(0.2)
        assert ledger, "the demo never started its ledger"
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(ledger[0]):
            time.sleep(0.1)
        assert not _alive(ledger[0]), "the demo ledger outlived the app"
    finally:
        if app.poll() is None:
            app.kill()
