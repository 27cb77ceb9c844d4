"""File-mode helpers for the tests of owner-only files (terminal and ledger alike)."""

from __future__ import annotations

import os
import stat

import pytest

# The usual umask, under which files come out readable by everyone unless made otherwise.
OPEN_UMASK = 0o022


@pytest.fixture(autouse=True)
def open_umask():
    """Every test of a module that imports this runs under OPEN_UMASK."""
    before = os.umask(OPEN_UMASK)
    yield
    os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)
