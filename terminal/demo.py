"""The self-contained demo terminal: its own data directory, key and journal.

Demo sales are `training` records: signed and chained like any other, never settled.
"""

from __future__ import annotations

from pathlib import Path

from terminal import keystore
from terminal.journal import DB_FILE, Journal

DEMO_TERMINAL_ID = "DEMO-0001"


def open_demo_journal(data_dir: Path) -> Journal:
    """Open the demo journal in `data_dir`, making its key and journal on first use."""
    if not (data_dir / keystore.KEY_FILE).exists():
        keystore.create_key(data_dir)
    key = keystore.load_key(data_dir)
    if not (data_dir / DB_FILE).exists():
        return Journal.create(data_dir, DEMO_TERMINAL_ID, key, start_body={"mode": "demo"})
    return Journal.open(data_dir, key)
