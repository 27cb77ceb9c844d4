"""Shared fixtures: a terminal data directory with a real key file and journal on disk."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sync import keys
from terminal import keystore
from terminal.journal import Journal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

JST = timezone(timedelta(hours=9))


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
