"""Canonical bytes: golden encodings, every refusal, and a round-trip property."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import canonical

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "canonical.json").read_text("utf-8"))


@pytest.mark.parametrize("case", VECTORS["encode"], ids=lambda c: c["json"][:30])
def test_golden_encodings(case):
    value = canonical.parse(case["json"].encode("utf-8"))
    assert canonical.dumps(value) == case["canonical"].encode("utf-8")
    assert canonical.loads(case["canonical"].encode("utf-8")) == value


@pytest.mark.parametrize("text", VECTORS["refuse_parse"])
def test_parse_refuses(text):
    with pytest.raises(canonical.CanonicalError):
        canonical.parse(text.encode("utf-8"))


@pytest.mark.parametrize(
    "value, words",
    [
        ({"amount": 1.0}, "floats are not allowed"),
        ({"amount": math.nan}, "floats are not allowed"),
        ({"amount": math.inf}, "floats are not allowed"),
        ({1: "a"}, "is not a string"),
        ({"s": "a\ud800b"}, "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
        ({"n": 2**53}, "outside"),
        ({"n": -(2**53)}, "outside"),
        ({"t": (1, 2)}, "tuple has no JSON form"),
        ({"b": b"x"}, "bytes has no JSON form"),
        ({"s": {1}}, "set has no JSON form"),
    ],
)
def test_dumps_refuses_with_clear_reason(value, words):
    with pytest.raises(canonical.CanonicalError) as info:
        canonical.dumps(value)
    assert words in str(info.value)


def test_refusal_names_where():
    with pytest.raises(canonical.CanonicalError) as info:
        canonical.dumps({"body": {"lots": [{"amount": 1}, {"amount": 2.5}]}})
    assert info.value.path == "$.body.lots[1].amount"


def test_depth_is_bounded():
    deep: list = []
    for _ in range(canonical.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(canonical.CanonicalError, match="deeper"):
        canonical.dumps(deep)
    with pytest.raises(canonical.CanonicalError):
        canonical.parse(b"[" * 100_000 + b"]" * 100_000)


def test_loads_refuses_non_canonical_forms():
    for text in (b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":"\\u00e9"}', b'{"a":1}\n'):
        with pytest.raises(canonical.CanonicalError):
            canonical.loads(text)
    assert canonical.loads(b'{"a":1,"b":2}') == {"a": 1, "b": 2}


def test_invalid_utf8_is_refused():
    with pytest.raises(canonical.CanonicalError, match="UTF-8"):
        canonical.parse(b'{"a":"\xff"}')


def test_oversized_document_is_refused():
    with pytest.raises(canonical.CanonicalError, match="larger"):
        canonical.parse(b'"' + b"x" * canonical.MAX_DOCUMENT_BYTES + b'"')


def test_bool_stays_bool():
    assert canonical.dumps({"t": True, "n": 1}) == b'{"n":1,"t":true}'


json_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-canonical.MAX_SAFE_INTEGER, canonical.MAX_SAFE_INTEGER)
    | json_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(json_text, inner, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_round_trip(value):
    data = canonical.dumps(value)
    assert canonical.loads(data) == value
    assert canonical.dumps(canonical.loads(data)) == data
    # and the standard library reads exactly the same value back
    assert json.loads(data.decode("utf-8")) == value


@given(json_values, st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_anywhere_is_refused(value, number):
    with pytest.raises(canonical.CanonicalError):
        canonical.dumps({"v": value, "x": [number]})


@given(st.binary(max_size=200))
def test_parse_of_arbitrary_bytes_raises_only_its_own_error(data):
    try:
        canonical.parse(data)
    except canonical.CanonicalError:
        pass
