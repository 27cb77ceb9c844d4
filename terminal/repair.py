"""The ways out of damaged storage (terminal.health), for a manager to take.

`rebuild_state`: `state.db` holds only what the ledger sent (the snapshot, the merchant's
settings, the clock's anchor), so a damaged one is moved aside and a fresh snapshot pulled.
The journal is not touched: every record the ledger has not acknowledged stays in its
outbox, and the same sync round that pulls the snapshot pushes them first. If the ledger
cannot be reached the damaged file is put back, and the terminal goes on refusing sales.

`export_verified` (for a damaged journal, which cannot be mended: its records are signed)
writes the records that verify, up to the first that does not, for the ledger's operator
and the auditor; the terminal is then enrolled anew in a new data directory.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sync import files
from sync.keyfile import fsync_dir
from terminal.errors import TerminalError
from terminal.health import STATE, StorageHealth
from terminal.state import STATE_FILE

log = logging.getLogger(__name__)

# The suffix a damaged state.db is kept under, beside the new one.
DAMAGED_SUFFIX = ".damaged-"
STATE_FILES = (STATE_FILE, *(STATE_FILE + c for c in files.SQLITE_COMPANIONS))


class RepairFailed(TerminalError):
    code = "repair_failed"


def _move(data_dir: Path, names: tuple[str, ...], suffix: str) -> list[tuple[Path, Path]]:
    moved = []
    for name in names:
        source = data_dir / name
        if source.exists():
            target = data_dir / (name + suffix)
            os.replace(source, target)
            moved.append((source, target))
    fsync_dir(data_dir)
    return moved


def rebuild_state(data_dir: Path, passphrase: str | None = None,
                  clock_sources=None) -> str:
    """Move `state.db` aside, push what is unsent and pull a fresh snapshot into a new one;
    returns what was done, in English. RepairFailed (with the damaged file put back) when
    the ledger does not answer."""
    from terminal.node import Node

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = _move(data_dir, STATE_FILES, DAMAGED_SUFFIX + stamp)
    try:
        with Node(data_dir, passphrase, clock_sources=clock_sources) as node:
            status = node.sync_once()
            counts = node.state.counts()
            complete = node.state.get("snapshot_at_ms") is not None
    except Exception as exc:  # noqa: BLE001 - any failure (a wrong passphrase, a full
        # disk mid-pull) must put the damaged state back: a half-filled new state.db
        # would look sound, and sales would start again on it
        _put_back(data_dir, moved)
        raise RepairFailed(f"the state was not rebuilt ({getattr(exc, 'message', exc)}); "
                           "the damaged one is back in place and sales stay refused") from exc
    if not complete or (status.last_error and not status.online):
        _put_back(data_dir, moved)
        raise RepairFailed(f"the state was not rebuilt: no snapshot came from the ledger "
                           f"({status.last_error or 'incomplete'}); the damaged one is back in "
                           "place and sales stay refused")
    kept = ", ".join(target.name for _, target in moved) or "nothing (there was no state.db)"
    StorageHealth(data_dir).clear(STATE)  # the way out is taken: sales may start again
    log.warning("repair: state rebuilt; damaged files kept as %s", kept)
    return (f"state rebuilt from a fresh snapshot: {counts['wallets']} wallets, "
            f"{counts['cards']} cards; the journal's records acknowledged up to seq "
            f"{status.acked_seq}, {status.pending} still waiting; damaged files kept as {kept}")


def _put_back(data_dir: Path, moved: list[tuple[Path, Path]]) -> None:
    for name in STATE_FILES:
        (data_dir / name).unlink(missing_ok=True)
    for source, target in moved:
        os.replace(target, source)
    fsync_dir(data_dir)


REENROLL_STEPS = (
    "1. `python -m terminal sync --data DIR` sends what verifies and is not yet sent "
    "(the ledger refuses the rest);",
    "2. give the exported file and the damaged data directory (unchanged) to the auditor;",
    "3. ask the ledger's operator for a new enrollment code and enroll this machine anew in "
    "a new data directory: `python -m terminal enroll --data NEWDIR --ledger URL --code "
    "CODE`.",
)
