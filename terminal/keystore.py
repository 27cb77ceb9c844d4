"""The terminal's Ed25519 key at rest: `terminal.key` (owner-only, optionally encrypted)
and `terminal.pub` in the terminal's data directory. The file handling is `sync.keyfile`'s;
this module names the files and the passphrase variable. The key never goes into the
database or the log.
"""

from __future__ import annotations

import os
from pathlib import Path

from sync import keyfile, keys

KEY_FILE = "terminal.key"
PUBLIC_KEY_FILE = "terminal.pub"
# Environment variable the CLI and app read the passphrase from (never a command-line flag,
# which other users can see in the process list).
PASSPHRASE_ENV = "MACHI_KEY_PASSPHRASE"


def create_key(data_dir: Path, passphrase: str | None = None) -> keys.PrivateKey:
    """Make a new terminal key in `data_dir` and return it."""
    return keyfile.create(data_dir / KEY_FILE, passphrase)


def load_key(data_dir: Path, passphrase: str | None = None) -> keys.PrivateKey:
    """Read the terminal key, refusing a file other users could read."""
    return keyfile.load(data_dir / KEY_FILE, passphrase, PASSPHRASE_ENV)


def load_public_hex(data_dir: Path) -> str | None:
    """The public key written beside the key file, or None if there is none."""
    return keyfile.load_public_hex(data_dir / KEY_FILE)


def passphrase_from_env() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None
