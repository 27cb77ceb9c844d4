"""Smoke test of `python -m bench sync` with tiny settings: it runs end to end (real ledger
process, real terminal, real snapshot apply) and writes every figure it promises."""

from __future__ import annotations

import json

from bench import sync as bench_sync

KEYS = ("push_per_s", "push_vs_verify", "snapshot_100k_s", "verify_per_s")


def test_bench_sync_writes_its_figures(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert bench_sync.main(["--records", "500", "--wallets", "5000", "--dir", str(tmp_path),
                            "--json", str(out)]) == 0
    figures = json.loads(out.read_text("utf-8"))
    for key in KEYS:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    assert figures["records"] == 500 and figures["snapshot_wallets"] == 5000
    printed = capsys.readouterr().out
    assert "records/s" in printed and "x verify" in printed and "snapshot of 5,000" in printed
