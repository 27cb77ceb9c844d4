"""The record checks shared with a helper process (ledger.verifier): what `check_record`
finds, a real helper process, its wire format, and every way it can fail without changing
an answer."""

from __future__ import annotations

import io
import logging
import threading
from datetime import UTC, datetime

import pytest

from ledger import verifier
from ledger.verifier import (
    BODY_OK,
    CANONICAL,
    SIGNED,
    SharedVerifier,
    check_all,
    check_record,
    encode_request,
    read_request,
)
from sync import canonical, ids, keys, record

RECORDS = 120
TERMINAL = "T-VERIFIER"
ALL_GOOD = CANONICAL | SIGNED | BODY_OK


def chain_of(key: keys.PrivateKey, count: int, body_of=None) -> list[bytes]:
    """`count` signed records of one terminal (a start, then cash moves), as sent."""
    prev, totals, out = record.genesis_prev(TERMINAL), {}, []
    for seq in range(1, count + 1):
        if seq == 1:
            rtype, body = "start", {"public_key": key.public_key().hex}
        else:
            rtype = "cash_move"
            body = (body_of or {}).get(seq) or {"amount": 100 + seq, "direction": "in"}
        unsigned = record.build(terminal_id=TERMINAL, seq=seq, tx_id=ids.new_id(),
                                key_id=key.public_key().key_id, prev=prev,
                                at=datetime.now(UTC), rtype=rtype, body=body,
                                prev_totals=totals)
        signed, data = record.sign(unsigned, key)
        prev, totals = record.record_hash(data), signed["totals"]
        out.append(data)
    return out


def altered(data: bytes) -> bytes:
    """The record with its amount changed after signing (still canonical)."""
    rec = canonical.loads(data)
    rec["body"]["amount"] += 1
    return canonical.dumps(rec)


@pytest.fixture(scope="module")
def signed():
    """Records of one key: most genuine, some altered, a few signed by another key, some
    not canonical, and what check_record must say of each."""
    key, stranger = keys.generate(), keys.generate()
    genuine = chain_of(key, RECORDS)
    foreign = chain_of(stranger, RECORDS)
    items, expected = [], []
    for n, data in enumerate(genuine):
        if n % 13 == 3:
            items.append(altered(data))
            expected.append(CANONICAL | BODY_OK)
        elif n % 17 == 5:
            items.append(foreign[n])
            expected.append(CANONICAL | BODY_OK)
        elif n % 19 == 7:
            items.append(data.replace(b'","', b'", "', 1))  # a space: not canonical
            expected.append(0)
        else:
            items.append(data)
            expected.append(ALL_GOOD)
    return key.public_key().raw, items, expected


def test_check_record_says_what_holds(signed):
    public_key_raw, items, expected = signed
    key = keys.PublicKey(public_key_raw)
    assert [check_record(data, key) for data in items] == expected
    assert check_all(public_key_raw, items) == bytes(expected)
    parsed = canonical.loads(items[0])
    assert check_record(items[0], key, parsed) == ALL_GOOD  # a parse already made is used
    assert check_record(b"not json", key) == 0
    assert check_record(b'{"v":1}', key) == 0  # canonical, but not a record
    assert check_record(items[0], None) == CANONICAL | BODY_OK  # no key: never signed


def test_a_signed_body_against_its_rules_is_canonical_and_signed_but_not_body_ok():
    key = keys.generate()
    data = chain_of(key, 3, {3: {"amount": 100, "direction": "sideways"}})[2]
    assert check_record(data, key.public_key()) == CANONICAL | SIGNED


@pytest.fixture
def shared():
    """A verifier that shares from 10 records on, its helper stopped afterwards."""
    verifier_ = SharedVerifier(min_checks=10)
    yield verifier_
    verifier_.close()


def running_helper(shared: SharedVerifier, public_key: bytes, items) -> verifier._Helper:
    """The helper of `shared`, started by a first shared batch."""
    shared.check(public_key, items[:20])
    assert shared._helper is not None
    return shared._helper


def test_shared_answers_equal_the_lone_ones(signed, shared):
    public_key, items, expected = signed
    assert shared.check(public_key, items) == expected
    assert shared.check(public_key, items[:40]) == expected[:40]
    assert shared.shared_batches == 2
    assert shared.check(public_key, items[:5]) == expected[:5]  # too few to share
    assert shared.shared_batches == 2


def test_a_dead_helper_changes_no_answer(signed, shared, caplog):
    public_key, items, expected = signed
    helper = running_helper(shared, public_key, items)
    helper.process.kill()
    helper.process.wait()
    with caplog.at_level(logging.WARNING, logger="ledger.verifier"):
        assert shared.check(public_key, items) == expected
    assert "checking records alone" in caplog.text
    # no new helper until HELPER_RETRY_AFTER_S has passed: the batch checks alone
    assert shared.check(public_key, items) == expected
    assert shared.shared_batches == 1 and shared._helper is None


def test_a_helper_that_dies_mid_answer_changes_no_answer(signed, shared, caplog):
    public_key, items, expected = signed
    helper = running_helper(shared, public_key, items)
    sent = helper.send

    def send_then_die(*args):
        sent(*args)
        helper.process.kill()

    helper.send = send_then_die  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="ledger.verifier"):
        assert shared.check(public_key, items) == expected
    assert shared._helper is None


def test_a_helper_that_does_not_answer_in_time_is_dropped(signed, shared, monkeypatch):
    public_key, items, expected = signed
    helper = running_helper(shared, public_key, items)
    helper.process.send_signal(19)  # SIGSTOP: alive, silent
    monkeypatch.setattr(verifier, "HELPER_ANSWER_TIMEOUT_S", 0.2)
    assert shared.check(public_key, items) == expected
    assert shared._helper is None and helper.process.poll() is not None


def test_a_stopped_helper_cannot_hold_a_large_batch(signed, shared, monkeypatch):
    """A request larger than the pipe holds, to a helper that reads nothing: the send
    gives up at the deadline and the batch is checked alone."""
    public_key, items, _ = signed
    big = [b"x" * 4_000] * 400  # ~1.6 MB, none of it a record
    helper = running_helper(shared, public_key, items)
    helper.process.send_signal(19)  # SIGSTOP
    monkeypatch.setattr(verifier, "HELPER_ANSWER_TIMEOUT_S", 0.3)
    assert shared.check(public_key, big) == [0] * 400
    assert shared._helper is None


def test_a_batch_finding_the_helper_full_waits_then_checks_alone(signed, shared,
                                                                  monkeypatch):
    public_key, items, expected = signed
    monkeypatch.setattr(verifier, "HELPER_WAIT_S", 0.2)
    for _ in range(verifier.BATCHES_ON_HELPER):
        shared.slots.acquire()  # other batches have every place, and keep them
    answers: list[list[int]] = []
    worker = threading.Thread(target=lambda: answers.append(shared.check(public_key, items)))
    worker.start()
    worker.join(30)
    for _ in range(verifier.BATCHES_ON_HELPER):
        shared.slots.release()
    assert answers == [expected] and shared.shared_batches == 0


def test_two_batches_share_the_helper_and_get_their_own_answers(signed, shared):
    """Both batches' records are in the helper at once; the second batch, asking first,
    reads the first batch's answers on its way and hands them over to it."""
    public_key, items, expected = signed
    backwards = list(reversed(items))
    with shared.batch(public_key, len(items)) as first, \
            shared.batch(public_key, len(items)) as second:
        for data, other in zip(items, backwards, strict=True):
            first.feed(data)
            second.feed(other)
        first.check_here()
        second.check_here()
        assert first.sent > 0 and second.sent > 0
        assert [second.flags(n) for n in range(len(items))] == list(reversed(expected))
        assert first.received == first.sent  # read for it by the second batch
        assert [first.flags(n) for n in range(len(items))] == expected
    assert shared.shared_batches == 2


def test_a_batch_gives_its_place_up_once_its_answers_are_in(signed, shared):
    """A batch lets go of its place when it has all its answers, while it is still open
    (writing what it checked), so a batch that found the helper full shares after all."""
    public_key, items, expected = signed
    held = shared.batch(public_key, len(items))  # holds one place throughout
    with held, shared.batch(public_key, len(items)) as first:
        for data in items:
            held.feed(data)
            first.feed(data)
        waiting = shared.batch(public_key, len(items))  # finds no place
        assert waiting.helper is None
        first.check_here()
        assert [first.flags(n) for n in range(len(items))] == expected
        with waiting:
            for data in items:
                waiting.feed(data)
            waiting.check_here()  # takes the place `first` gave up
            assert waiting.sent > 0
            assert [waiting.flags(n) for n in range(len(items))] == expected
        held.check_here()
        assert [held.flags(n) for n in range(len(items))] == expected
    assert shared.shared_batches == 3


def test_wire_format_round_trip_and_refusals(signed):
    public_key, items, _ = signed
    stream = io.BytesIO(encode_request(public_key, items) * 2)
    assert read_request(stream) == (public_key, items)
    assert read_request(stream) == (public_key, items)
    assert read_request(stream) is None  # the end
    cut = encode_request(public_key, items)[:-10]
    assert read_request(io.BytesIO(cut)) is None
    too_many = (verifier.MAX_CHECKS + 1).to_bytes(4, "big") + public_key
    assert read_request(io.BytesIO(too_many)) is None
    too_long = encode_request(public_key, [b"x" * (verifier.MAX_MESSAGE_BYTES + 1)])
    assert read_request(io.BytesIO(too_long)) is None


def test_helper_ends_when_its_input_closes():
    helper = verifier._Helper()
    helper.requests.close()
    assert helper.process.wait(10) == 0
    helper.stop()


def test_helper_ends_on_a_malformed_request():
    helper = verifier._Helper()
    helper.requests.write(b"\xff\xff\xff\xff" + b"\0" * 32)
    helper.requests.flush()
    assert helper.process.wait(10) == 0
    helper.stop()


def test_a_batch_given_up_half_way_leaves_the_helper_in_step(signed, shared):
    """Records handed over, then the batch is abandoned (its ingest failed): its place is
    given up, and the answers still owed to it are put aside by the next batch's reads,
    not taken for its own."""
    public_key, items, expected = signed
    with pytest.raises(RuntimeError), shared.batch(public_key, len(items)) as batch:
        for data in items[:110]:  # past the first request: it has been handed over
            batch.feed(data)
        assert batch.sent > 0
        raise RuntimeError("the ingest failed")
    helper = shared._helper
    assert helper is not None and helper.alive()
    assert shared.check(public_key, list(reversed(items))) == list(reversed(expected))
    assert shared._helper is helper and shared.shared_batches == 1  # the second batch


def test_fewer_records_than_expected_are_all_answered(signed, shared):
    """A batch whose malformed records were never fed: the last, short request still goes
    to the helper, and every record fed gets its answer, in order."""
    public_key, items, expected = signed
    with shared.batch(public_key, 1_000) as batch:  # far more than will come
        for data in items:
            batch.feed(data)
        batch.check_here()
        assert [batch.flags(n) for n in range(len(items))] == expected
    assert shared.shared_batches == 1


def test_no_usable_key_means_no_helper_and_no_signature(signed, shared):
    _, items, expected = signed
    assert shared.check(b"", items) == [flags & ~SIGNED for flags in expected]
    assert shared.shared_batches == 0 and shared._helper is None


def test_a_batch_whose_hand_over_failed_never_takes_a_helper_again(signed, shared,
                                                                   monkeypatch):
    """Its second request cannot be written: the helper is dropped, and even though a new
    one could start at once, the batch checks the rest itself (answers from a new helper
    would land at the wrong records)."""
    public_key, items, expected = signed
    monkeypatch.setattr(verifier, "HELPER_RETRY_AFTER_S", 0.0)
    helper = running_helper(shared, public_key, items)
    sent = helper.send
    calls = []

    def second_send_fails(*args):
        calls.append(1)
        if len(calls) == 2:
            raise TimeoutError("the checking helper does not take its share")
        sent(*args)

    helper.send = second_send_fails  # type: ignore[method-assign]
    many = items * 2  # two requests' worth
    with shared.batch(public_key, len(many)) as batch:
        for data in many:
            batch.feed(data)
        batch.check_here()
        assert batch.helper is None and len(calls) == 2
        assert [batch.flags(n) for n in range(len(many))] == expected * 2
