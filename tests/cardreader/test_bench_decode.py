"""The decode benchmark runs end to end on a tiny sample and writes the documented keys."""

from __future__ import annotations

import json

from bench import decode as bench_decode


def test_bench_decode_writes_json(tmp_path, capsys):
    out = tmp_path / "decode.json"
    assert bench_decode.main(["--frames", "1", "--repeats", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for difficulty in ("clean", "medium", "hard"):
        for key in ("ms_p50", "ms_p90", "rate"):
            assert isinstance(figures[f"zxing_{difficulty}_{key}"], float)
    assert figures["zxing_clean_rate"] == 1.0
    assert "zxing_empty_ms_p50" in figures and "zxing_empty_rate" not in figures
    assert "target" in capsys.readouterr().out


def test_frames_are_reproducible():
    first = bench_decode.make_frames(1)
    second = bench_decode.make_frames(1)
    for name in first:
        assert first[name][0][0] == second[name][0][0]
        assert (first[name][0][1] == second[name][0][1]).all()
    from sync import tokens

    token = tokens.parse_token(first["clean"][0][0])  # a real app token, ~300 characters
    assert token.counter == 1 and 250 <= len(first["clean"][0][0]) <= 330
