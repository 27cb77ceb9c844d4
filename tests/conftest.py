"""Shared fixtures: a terminal data directory with a real key file and journal on disk."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sync import keys
from terminal import keystore
from terminal.journal import Journal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

JST = timezone(timedelta(hours=9))

# Test files that check Linux / POSIX behaviour itself (file modes, SIGKILL and SIGSTOP,
# /proc, /dev/shm, throwaway PostgreSQL clusters, Xvfb): skipped elsewhere, where the code
# has only been designed (README, "Where it runs"), not run. The code may not use these
# outside sync/platform (tests/test_portable.py); tests may.
LINUX_ONLY_TESTS = {
    "tests/ledger/test_files.py": "POSIX file modes",
    "tests/ledger/test_ops.py": "POSIX file modes of backups",
    "tests/ledger/test_pg_restart.py": "throwaway PostgreSQL clusters (bench/pgcluster.py)",
    "tests/ledger/test_verifier.py": "SIGSTOP of the checking helper",
    "tests/sync/test_faults.py": "SIGKILL mid-push, /dev/shm",
    "tests/terminal/test_crash.py": "SIGKILL crash loops",
    "tests/terminal/test_files.py": "POSIX file modes",
    "tests/terminal/test_journal.py": "POSIX file modes of the key and journal",
    "tests/terminal/test_storage.py": "a full disk made with a small tmpfs",
    "tests/terminal/test_register_http.py": "SIGTERM to a child process",
    "tests/test_main.py": "the Linux screen check, /proc children, kill -9",
    "tests/test_packaging.py": "the Linux wheel and PyInstaller build, under Xvfb",
}


def pytest_collection_modifyitems(config, items) -> None:
    if sys.platform.startswith("linux"):
        return
    root = Path(__file__).resolve().parents[1]
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if rel in LINUX_ONLY_TESTS:
            item.add_marker(pytest.mark.skip(reason=f"Linux only: {LINUX_ONLY_TESTS[rel]}"))


class StepClock:
    """A terminal clock that moves one second per reading, in Japan time."""

    def __init__(self, start: datetime = datetime(2026, 11, 22, 9, 0, tzinfo=JST)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "terminal"


@pytest.fixture
def journal(data_dir: Path):
    key = keystore.create_key(data_dir)
    j = Journal.create(data_dir, "T-TEST-01", key, clock=StepClock())
    yield j
    j.close()


@pytest.fixture
def ledger_key():
    return keys.generate()
