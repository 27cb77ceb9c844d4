"""Where Machi POS keeps its files: platformdirs' per-user data and cache directories.

    Linux    $XDG_DATA_HOME/machi-pos (else ~/.local/share/machi-pos), cache ~/.cache/machi-pos
             -- what every earlier version used, so existing terminals keep their data
    Windows  %LOCALAPPDATA%\\machi-pos (not roaming: a journal belongs to one PC)
    macOS    ~/Library/Application Support/machi-pos, cache ~/Library/Caches/machi-pos

$MACHI_DATA_DIR (a terminal's own directory) is honoured by terminal.paths, above this.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_DIR_NAME = "machi-pos"


def app_data_dir() -> Path:
    """The directory under which the terminal, the demo and a local ledger keep their data."""
    return platformdirs.user_data_path(APP_DIR_NAME, appauthor=False, roaming=False)


def app_cache_dir() -> Path:
    """Files that can be made again (the sounds' WAV files)."""
    return platformdirs.user_cache_path(APP_DIR_NAME, appauthor=False)
