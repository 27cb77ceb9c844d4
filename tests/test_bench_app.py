"""`python -m bench app`'s measuring path, run once: a prepared terminal (enrolled with the
demo region's ledger, which is then stopped) cold-starts in a child process and reaches
first paint and then sale-ready without its ledger. No timing is asserted: only that both
moments come."""

from __future__ import annotations

from bench import app


def test_a_prepared_terminal_gets_to_sale_ready_without_its_ledger(tmp_path):
    data_dir = app.prepare(tmp_path)
    paint, ready = app.cold_start(["--data", str(data_dir)])
    assert paint > 0 and ready > 0
