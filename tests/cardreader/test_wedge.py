"""The keyboard-wedge parser on recorded key timings, and fuzzed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import CardReaderError, WedgeInputError
from cardreader.events import Credential, ReaderStatus
from cardreader.wedge import (
    MAX_INTER_KEY_GAP_S,
    MIN_SCAN_LENGTH,
    PassThrough,
    Scan,
    WedgeParser,
    WedgeReader,
    normalise,
)

CARD = "MC0123456789"


def keys_at(text, start: float, gap: float, enter: str | None = "Enter"):
    """(key, time) pairs typing `text` one key per `gap` seconds, then Enter."""
    events = [(ch, start + i * gap) for i, ch in enumerate(text)]
    if enter:
        events.append((enter, start + len(text) * gap))
    return events


def run(parser: WedgeParser, events, settle: bool = True):
    out = []
    for key, at in events:
        out.extend(parser.feed(key, at))
    if settle and events:
        out.extend(parser.poll(events[-1][1] + 1.0))
    return out


def typed(out) -> str:
    return "".join(
        k.key if len(k.key) == 1 else f"<{k.key}>" for k in out if isinstance(k, PassThrough)
    )


def scans(out) -> list[str]:
    return [s.text for s in out if isinstance(s, Scan)]


# Recorded from a USB HID scanner: 8-16 ms between keys, irregular.
SCANNER_GAPS = [0.008, 0.012, 0.009, 0.016, 0.011, 0.008, 0.013, 0.010, 0.015, 0.009, 0.012]
# A person at the counter: 100-300 ms between keys.
HUMAN_GAPS = [0.18, 0.12, 0.27, 0.15, 0.21, 0.30, 0.11, 0.19]


def timed(text: str, gaps, start: float = 100.0, enter: str | None = "Enter"):
    events, at = [], start
    for i, ch in enumerate(text):
        events.append((ch, at))
        at += gaps[i % len(gaps)]
    if enter:
        events.append((enter, at))
    return events


def test_fast_burst_ending_in_enter_is_one_scan():
    out = run(WedgeParser(), timed(CARD, SCANNER_GAPS))
    assert out == [Scan(CARD, started_at=100.0, ended_at=pytest.approx(out[0].ended_at))]
    assert out[0].ended_at - out[0].started_at < 0.2


def test_five_to_twenty_ms_per_key_all_scan():
    for gap in (0.005, 0.010, 0.020):
        assert scans(run(WedgeParser(), keys_at(CARD, 5.0, gap))) == [CARD]


def test_human_typing_passes_through_in_order():
    events = timed("12345", HUMAN_GAPS)
    out = run(WedgeParser(), events)
    assert scans(out) == []
    assert typed(out) == "12345<Enter>"
    assert [k.at for k in out] == [at for _, at in events]


def test_human_key_is_held_no_longer_than_the_gap():
    parser = WedgeParser()
    assert parser.feed("7", 1.0) == []
    assert parser.pending
    assert parser.poll(1.0 + MAX_INTER_KEY_GAP_S / 2) == []
    assert parser.poll(1.0 + MAX_INTER_KEY_GAP_S * 1.01) == [PassThrough("7", 1.0)]
    assert not parser.pending


def test_short_fast_burst_is_not_a_scan():
    out = run(WedgeParser(), keys_at("12", 0.0, 0.01))
    assert scans(out) == [] and typed(out) == "12<Enter>"
    assert MIN_SCAN_LENGTH > 2


def test_slow_enter_after_fast_keys_is_typing():
    events = keys_at(CARD, 0.0, 0.01, enter=None) + [("Enter", 0.01 * len(CARD) + 0.5)]
    out = run(WedgeParser(), events)
    assert scans(out) == [] and typed(out) == CARD + "<Enter>"


def test_human_then_scanner_then_human():
    events = (
        timed("35", HUMAN_GAPS, start=0.0, enter=None)
        + timed(CARD, SCANNER_GAPS, start=2.0)
        + timed("0", HUMAN_GAPS, start=4.0, enter=None)
    )
    out = run(WedgeParser(), events)
    assert scans(out) == [CARD]
    assert typed(out) == "350"
    kinds = [type(o).__name__ for o in out]
    assert kinds == ["PassThrough", "PassThrough", "Scan", "PassThrough"]


def test_prefix_and_suffix_are_stripped():
    parser = WedgeParser(prefix="]Q", suffix="#")
    assert scans(run(parser, timed("]Q" + CARD + "#", SCANNER_GAPS))) == [CARD]


def test_burst_without_configured_prefix_is_typing():
    parser = WedgeParser(prefix="]Q")
    out = run(parser, timed(CARD, SCANNER_GAPS))
    assert scans(out) == [] and typed(out) == CARD + "<Enter>"


def test_full_width_digits_from_the_ime_are_normalised():
    full_width = "ＭＣ０１２３４５６７８９"
    assert normalise(full_width) == CARD
    assert scans(run(WedgeParser(), timed(full_width, SCANNER_GAPS))) == [CARD]


def test_ime_commits_several_characters_at_once():
    # With the IME on, the scanner's keys may come back as a few multi-character commits.
    events = [("ＭＣ０１", 0.0), ("２３４５", 0.02), ("６７８９", 0.04), ("Enter", 0.05)]
    assert scans(run(WedgeParser(), events)) == [CARD]


def test_full_width_prefix_configured_in_half_width_matches():
    parser = WedgeParser(prefix="QR:")
    assert scans(run(parser, timed("ＱＲ：" + CARD, SCANNER_GAPS))) == [CARD]


def test_shift_is_ignored_and_named_keys_break_a_burst():
    events = [("Shift", 0.0), ("M", 0.005), ("Shift", 0.006), ("C", 0.01)]
    events += [(ch, 0.015 + i * 0.01) for i, ch in enumerate("0123456789")]
    events.append(("Enter", 0.13))
    assert scans(run(WedgeParser(), events)) == [CARD]

    broken = keys_at("ABCD", 0.0, 0.01, enter=None) + [("Tab", 0.045), ("Enter", 0.05)]
    out = run(WedgeParser(), broken)
    assert scans(out) == [] and typed(out) == "ABCD<Tab><Enter>"


def test_runaway_burst_is_released_as_keys():
    parser = WedgeParser(max_length=10)
    out = run(parser, keys_at("X" * 25, 0.0, 0.005))
    assert scans(out) == []
    assert typed(out) == "X" * 25 + "<Enter>"


def test_clock_stepping_back_does_not_break_a_scan():
    events = keys_at(CARD[:6], 10.0, 0.01, enter=None) + keys_at(CARD[6:], 9.0, 0.01)
    assert scans(run(WedgeParser(), events)) == [CARD]


@pytest.mark.parametrize(
    ("key", "at"),
    [
        ("", 0.0),
        (None, 0.0),
        ("a", math.nan),
        ("a", math.inf),
        ("a", "1"),
        ("a", True),
        ("x" * 100, 0.0),
        (b"a", 0.0),
    ],
)
def test_malformed_events_are_wedge_input_errors(key, at):
    with pytest.raises(WedgeInputError):
        WedgeParser().feed(key, at)


def test_wedge_reader_emits_credentials_and_returns_typed_keys():
    events = []
    reader = WedgeReader()
    reader.start(events.append)
    typed_keys = []
    for key, at in timed("9", HUMAN_GAPS, start=0.0, enter=None) + timed(CARD, SCANNER_GAPS, 1.0):
        typed_keys.extend(reader.feed(key, at))
    typed_keys.extend(reader.poll(5.0))
    assert [k.key for k in typed_keys] == ["9"]
    assert isinstance(events[0], ReaderStatus) and events[0].state == "ready"
    assert events[1:] == [
        Credential(kind="barcode", payload=CARD, source="wedge", read_at=events[1].read_at)
    ]
    reader.stop()
    assert reader.feed("1", 10.0) == []  # held; a stopped reader still parses, emits nothing


KEYS = st.one_of(
    st.text(min_size=1, max_size=3),
    st.sampled_from(["Enter", "Return", "Tab", "Shift", "Backspace", "ＡＢ", "\r", "F5"]),
    st.text(max_size=80),
    st.none(),
    st.integers(),
)
TIMES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1e6),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(KEYS, TIMES), max_size=60),
    st.text(max_size=3),
    st.text(max_size=3),
)
def test_fuzz_parser_raises_only_its_own_errors_and_loses_no_key(events, prefix, suffix):
    parser = WedgeParser(prefix=prefix, suffix=suffix)
    accepted = 0
    out = []
    for key, at in events:
        try:
            out.extend(parser.feed(key, at))
        except CardReaderError:
            continue
        accepted += 1
    out.extend(parser.poll(math.inf))
    assert not parser.pending
    # Every accepted key comes out exactly once, as typing or inside a scan (modifiers aside).
    passed = sum(1 for o in out if isinstance(o, PassThrough))
    assert passed <= accepted
    assert all(len(scan) >= MIN_SCAN_LENGTH for scan in scans(out))
