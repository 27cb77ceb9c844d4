"""The journal record: golden vectors, the chain rules, key rotation and ledger heads."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import canonical, ids, keys, record

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "records.json").read_text("utf-8"))
JST = timezone(timedelta(hours=9))


def vector_key():
    return keys.private_key_from_seed(bytes.fromhex(VECTORS["private_key_seed_hex"]))


def test_vector_key_and_genesis():
    key = vector_key()
    assert keys.public_key_hex(key.public_key()) == VECTORS["public_key_hex"]
    assert keys.key_id(key.public_key()) == VECTORS["key_id"]
    assert record.genesis_prev(VECTORS["terminal_id"]) == VECTORS["genesis_prev"]


@pytest.mark.parametrize("index", range(len(VECTORS["records"])))
def test_golden_record(index):
    vec = VECTORS["records"][index]
    assert record.signed_bytes(vec["unsigned"]) == vec["signed_bytes_utf8"].encode("utf-8")
    signed, data = record.sign(vec["unsigned"], vector_key())
    assert signed["sig"] == vec["sig"]  # Ed25519 is deterministic: the signature is pinned
    assert data == vec["record_utf8"].encode("utf-8")
    assert record.record_hash(data) == vec["hash"]


def test_golden_chain_verifies_and_links():
    chain = record.Chain(VECTORS["terminal_id"])
    prev = VECTORS["genesis_prev"]
    for vec in VECTORS["records"]:
        rec = chain.advance(vec["record_utf8"].encode("utf-8"))
        assert rec["prev"] == prev
        prev = vec["hash"]
    assert chain.seq == 3 and chain.hash == prev
    assert chain.totals == {
        "start": {"n": 1, "yen": 0},
        "payment": {"n": 1, "yen": 1500},
        "refund": {"n": 1, "yen": 500},
    }


def test_building_the_vector_records_from_scratch_gives_the_same_bytes():
    gen = ids.IdGenerator(
        clock_ms=lambda: 1795000000000, random_bytes=lambda n: bytes(range(1, n + 1))
    )
    prev, totals = VECTORS["genesis_prev"], {}
    for vec in VECTORS["records"]:
        u = vec["unsigned"]
        rebuilt = record.build(
            terminal_id=u["terminal_id"], seq=u["seq"], tx_id=gen.new(), key_id=u["key_id"],
            prev=prev, at=datetime.fromisoformat(u["at"]), rtype=u["type"], body=u["body"],
            prev_totals=totals,
        )
        assert rebuilt == u
        prev, totals = vec["hash"], u["totals"]


class Writer:
    """Builds a valid chain for one terminal, to break it in tests."""

    def __init__(self, terminal_id="T-1"):
        self.terminal_id = terminal_id
        self.key = keys.generate()
        self.seq, self.prev, self.totals = 0, record.genesis_prev(terminal_id), {}
        self.time = datetime(2026, 11, 22, 10, 0, tzinfo=JST)

    def next(self, rtype, body, key=None, **override):
        key = key or self.key
        self.time += timedelta(seconds=1)
        unsigned = record.build(
            terminal_id=self.terminal_id, seq=self.seq + 1, tx_id=ids.new_id(),
            key_id=keys.key_id(self.key.public_key()), prev=self.prev, at=self.time,
            rtype=rtype, body=body, prev_totals=self.totals,
        )
        unsigned.update(override)
        signed, data = record.sign(unsigned, key)
        self.seq, self.prev, self.totals = signed["seq"], record.record_hash(data), signed["totals"]
        return data

    def start(self):
        return self.next("start", {"public_key": keys.public_key_hex(self.key.public_key())})


def advance_all(chain, items):
    for data in items:
        chain.advance(data)


def test_chain_refuses_a_first_record_that_is_not_start():
    w = Writer()
    with pytest.raises(record.RecordError, match="not a start record"):
        record.Chain("T-1").advance(w.next("payment", {"amount": 1}))


@pytest.mark.parametrize(
    "breakage, code",
    [
        (lambda w: w.next("payment", {"amount": 5}, seq=5), "seq_gap"),
        (lambda w: w.next("payment", {"amount": 5}, prev="0" * 64), "chain_broken"),
        (lambda w: w.next("payment", {"amount": 5}, totals={}), "totals_mismatch"),
        (lambda w: w.next("payment", {"amount": 5}, key=keys.generate()), "bad_signature"),
        (lambda w: w.next("payment", {"amount": 5}, key_id="ab" * 16), "unknown_key"),
        (lambda w: w.next("payment", {"amount": 5}, terminal_id="T-2"), "wrong_terminal"),
    ],
)
def test_chain_names_each_breakage(breakage, code):
    w = Writer()
    chain = record.Chain("T-1")
    advance_all(chain, [w.start(), w.next("payment", {"amount": 100})])
    with pytest.raises(record.RecordError) as info:
        chain.advance(breakage(w))
    assert info.value.code == code
    assert chain.seq == 2  # a refused record moves nothing


def test_an_edited_signed_record_is_caught():
    w = Writer()
    chain = record.Chain("T-1")
    chain.advance(w.start())
    data = w.next("payment", {"amount": 1500})
    edited = data.replace(b'"amount":1500', b'"amount":150')
    with pytest.raises(record.RecordError) as info:
        chain.advance(edited)
    assert info.value.code in ("totals_mismatch", "bad_signature")


def test_key_rotation_moves_the_chain_to_the_new_key():
    w = Writer()
    chain = record.Chain("T-1")
    chain.advance(w.start())
    new_key = keys.generate()
    chain.advance(w.next("key_rotate", {"public_key": keys.public_key_hex(new_key.public_key())}))
    old_key = w.key
    w.key = new_key
    chain.advance(w.next("payment", {"amount": 10}))
    # a record still signed with the retired key is refused
    w.key = old_key
    with pytest.raises(record.RecordError) as info:
        chain.advance(w.next("payment", {"amount": 10}))
    assert info.value.code == "unknown_key"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("sig"),
        lambda r: r.update(extra=1),
        lambda r: r.update(v=2),
        lambda r: r.update(seq=0),
        lambda r: r.update(seq=True),
        lambda r: r.update(type="steal"),
        lambda r: r.update(at="yesterday"),
        lambda r: r.update(at="2026-11-22T10:00:00"),
        lambda r: r.update(tx_id="nope"),
        lambda r: r.update(prev="XYZ"),
        lambda r: r.update(terminal_id=""),
        lambda r: r["body"].update(amount=-1),
        lambda r: r["body"].update(amount=True),
        lambda r: r.update(body=[]),
    ],
)
def test_shape_errors(mutate):
    w = Writer()
    w.start()
    rec = canonical.loads(w.next("payment", {"amount": 100}))
    bad = copy.deepcopy(rec)
    mutate(bad)
    with pytest.raises(record.RecordError):
        record.check_shape(bad)


def test_oversized_record_is_refused():
    w = Writer()
    w.start()
    with pytest.raises(record.RecordError, match="over"):
        w.next("payment", {"amount": 1, "note": "x" * record.MAX_RECORD_BYTES})


def test_head_round_trip_and_forgeries():
    ledger = keys.generate()
    trusted = {keys.key_id(ledger.public_key()): ledger.public_key()}
    head = record.sign_head("T-1", 42, "ab" * 32, ledger)
    assert record.verify_head(head, trusted) == head
    forged = dict(head, seq=43)
    with pytest.raises(record.RecordError, match="does not verify"):
        record.verify_head(forged, trusted)
    with pytest.raises(record.RecordError, match="unknown ledger key"):
        record.verify_head(record.sign_head("T-1", 42, "ab" * 32, keys.generate()), trusted)
    with pytest.raises(record.RecordError):
        record.verify_head({"seq": 1}, trusted)


def test_a_record_signature_is_not_a_head_signature():
    """Domain separation: the same key signing the same bytes for another purpose differs."""
    key = keys.generate()
    message = b"same bytes"
    sig = keys.sign(key, keys.CONTEXT_RECORD, message)
    with pytest.raises(keys.SignatureError):
        keys.verify(key.public_key(), keys.CONTEXT_HEAD, message, sig)


_kinds = st.sampled_from(sorted(record.RECORD_TYPES))
_entries = st.fixed_dictionaries({"n": st.integers(0, 5), "yen": st.integers(0, 10_000)})
_totals = st.dictionaries(_kinds, _entries, max_size=6)


@given(_totals, _totals, _kinds, st.integers(0, 10_000), st.booleans())
def test_totals_follow_is_next_totals_compared(before, other, rtype, amount, honest):
    """The ledger's check that a record's totals follow (without building them) says what
    comparing with next_totals says: for the honest totals and for any others."""
    after = record.next_totals(before, rtype, amount) if honest else other
    assert record.totals_follow(before, after, rtype, amount) == \
        (after == record.next_totals(before, rtype, amount))
    assert not record.totals_follow(before, [after], rtype, amount)
