"""sqlite-utils where it serves and nowhere else (#19.5, docs/dependencies.md): a terminal's
command line and the counter do not pay its import (a third of a second or more: it loads
numpy), and `python -m bench storage`, which measured that, runs."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.ledger.helpers import ROOT

CHILD_TIMEOUT_S = 120


def test_the_journal_and_the_state_do_not_import_sqlite_utils():
    done = subprocess.run([sys.executable, "-c", "import sys, terminal.__main__, "
                           "terminal.journal, terminal.state, terminal.node; "
                           "print('sqlite_utils' in sys.modules)"], cwd=ROOT,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_storage_benchmark_runs(tmp_path):
    out = tmp_path / "storage.json"
    done = subprocess.run([sys.executable, "-m", "bench", "storage", "--appends", "50",
                           "--lots", "200", "--dir", str(tmp_path), "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["appends"] == 50 and figures["snapshot_lots"] == 200
    for name in ("FULL_sqlite3_ms_p50", "FULL_sqlite_utils_ms_p50", "OFF_sqlite3_ms_p50",
                 "snapshot_sqlite3_ms", "lookup_sqlite_utils_us"):
        assert figures[name] > 0, name
