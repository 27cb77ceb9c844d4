"""Smoke test of `python -m bench ledger`: a tiny run end to end (real journals, the real
ledger process over HTTP, SQLite only) writes its figures and they make sense."""

from __future__ import annotations

import json

from bench import ledger

SMOKE_RECORDS = 2_000
SMOKE_WALLETS = 200


def test_bench_ledger_smoke(tmp_path, capsys):
    out = tmp_path / "figures.json"
    code = ledger.main(["--records", str(SMOKE_RECORDS), "--wallets", str(SMOKE_WALLETS),
                        "--sqlite-only", "--workers", "1", "--dir", str(tmp_path),
                        "--json", str(out)])
    assert code == 0
    figures = json.loads(out.read_text("utf-8"))
    for key in ("verify_per_s", "ingest_sqlite_per_s", "ingest_postgres_per_s",
                "sqlite_vs_verify", "ingest_sqlite_w1_per_s"):
        assert key in figures
    assert figures["verify_per_s"] > 0
    assert figures["ingest_sqlite_per_s"] > 0
    assert figures["ingest_postgres_per_s"] is None  # --sqlite-only
    assert figures["records"] == SMOKE_RECORDS
    assert figures["ingest_sqlite_workers"] == 1
    assert "records/s" in capsys.readouterr().out
