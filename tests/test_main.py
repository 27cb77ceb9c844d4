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
