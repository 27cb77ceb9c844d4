"""128-bit time-sortable ids."""

from __future__ import annotations

import pytest

from sync import ids


def test_format_and_round_trip():
    value = ids.new_id()
    assert len(value) == ids.ID_LENGTH
    assert ids.encode(ids.decode(value)) == value


def test_time_prefix():
    gen = ids.IdGenerator(clock_ms=lambda: 1_795_000_000_123)
    assert ids.timestamp_ms(gen.new()) == 1_795_000_000_123


def test_strictly_increasing_when_clock_stands_still_or_steps_back():
    times = iter([1000, 1000, 1000, 999, 500, 2000, 2000])
    gen = ids.IdGenerator(clock_ms=lambda: next(times))
    made = [gen.new() for _ in range(7)]
    assert made == sorted(made)
    assert len(set(made)) == 7
    assert ids.timestamp_ms(made[4]) == 1000  # the step back did not move ids backwards


def test_random_part_overflow_moves_to_next_millisecond():
    gen = ids.IdGenerator(clock_ms=lambda: 7, random_bytes=lambda n: b"\xff" * n)
    first, second = gen.new(), gen.new()
    assert first < second
    assert ids.timestamp_ms(second) == 8


def test_ids_sort_by_time_across_generators():
    early = ids.IdGenerator(clock_ms=lambda: 1000).new()
    late = ids.IdGenerator(clock_ms=lambda: 1001, random_bytes=lambda n: bytes(n)).new()
    assert early < late


@pytest.mark.parametrize("bad", ["", "x" * 26, "8" + "0" * 25, "0" * 25, "0" * 25 + "U", 42])
def test_decode_refuses_malformed(bad):
    with pytest.raises(ids.IdError):
        ids.decode(bad)
