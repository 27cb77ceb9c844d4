"""kill -9 while appending: nothing reported as committed is lost, nothing is doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal import audit, keystore
from terminal.journal import Journal

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 24
# The child is killed somewhere in this window after it says it is ready.
KILL_AFTER_S = (0.0, 0.25)
READY_TIMEOUT_S = 30


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_committed(data_dir):
    Journal.create(data_dir, "T-CRASH-1", keystore.create_key(data_dir)).close()
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    reported: dict[int, str] = {}
    for round_no in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir)], stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert child.stdout.readline() == "ready\n", f"child did not start (seed {seed})"
        assert time.monotonic() < deadline
        time.sleep(rng.uniform(*KILL_AFTER_S))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=READY_TIMEOUT_S)
        assert child.returncode == -signal.SIGKILL
        for line in out.splitlines(keepends=True):
            if not line.endswith("\n"):
                continue  # cut mid-print: the commit may or may not have happened
            seq, tx_id = line.split()
            assert int(seq) not in reported, f"seq {seq} reported twice (round {round_no})"
            reported[int(seq)] = tx_id

    report = audit.verify_journal(data_dir)
    assert len(reported) > KILLS, "the child barely committed anything"
    with Journal.open(data_dir) as journal:
        stored = {seq: tx_id for seq, tx_id, *_ in journal.rows()}
    for seq, tx_id in reported.items():
        assert stored.get(seq) == tx_id, f"committed seq {seq} lost or changed (seed {seed})"
    assert sorted(stored) == list(range(1, report.last_seq + 1))
    assert len(set(stored.values())) == len(stored)
