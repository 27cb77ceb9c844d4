"""The tally benchmark runs end to end on a small day and writes its documented keys."""

from __future__ import annotations

import json

from bench import tally as bench_tally


def test_bench_tally_writes_json(tmp_path):
    out = tmp_path / "tally.json"
    assert bench_tally.main(["--sales", "300", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for key in ("tally_csv_s", "tally_xlsx_s", "tally_pdf_s"):
        assert figures[key] > 0
