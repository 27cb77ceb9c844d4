"""Where a terminal keeps its files: one data directory holding the journal and the key;
and where the app's packaged resources (translations, style sheets) are.

The per-user base directory differs by OS (sync.platform.dirs: on Linux
$XDG_DATA_HOME/machi-pos, as it always was); $MACHI_DATA_DIR overrides the terminal's.
"""

from __future__ import annotations

import os
from pathlib import Path

from sync.platform import dirs

APP_DIR_NAME = dirs.APP_DIR_NAME
DATA_DIR_ENV = "MACHI_DATA_DIR"
# The app's read-only files, shipped inside the package (wheel, PyInstaller folder, checkout).
RESOURCE_DIR = Path(__file__).resolve().parent / "resources"


def default_data_dir() -> Path:
    """The terminal's directory: $MACHI_DATA_DIR, else <per-user data>/machi-pos/terminal."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else dirs.app_data_dir() / "terminal"


def demo_data_dir() -> Path:
    """The demo's own directory, apart from a real terminal's."""
    return dirs.app_data_dir() / "demo"


def resource_dir() -> Path:
    """The directory of the app's resources: style sheets (*.qss) and i18n/ (Qt .ts/.qm).
    The one place that knows where they are, in a checkout, a wheel or a frozen app."""
    return RESOURCE_DIR


def resource(*parts: str) -> Path:
    """A file among the resources, e.g. resource("i18n", "machi_ja.qm")."""
    return RESOURCE_DIR.joinpath(*parts)
