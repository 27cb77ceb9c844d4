"""Where a terminal keeps its files: one data directory holding the journal and the key."""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "machi-pos"
DATA_DIR_ENV = "MACHI_DATA_DIR"


def _xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_data_dir() -> Path:
    """The terminal's directory: $MACHI_DATA_DIR, else $XDG_DATA_HOME/machi-pos/terminal."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else _xdg_data_home() / APP_DIR_NAME / "terminal"


def demo_data_dir() -> Path:
    """The demo's own directory, apart from a real terminal's."""
    return _xdg_data_home() / APP_DIR_NAME / "demo"
