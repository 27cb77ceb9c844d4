"""The shared signature checks (ledger.verifier): a real helper process, its wire format,
and every way it can fail without changing an answer."""

from __future__ import annotations

import io
import logging
import os
import threading

import pytest

from ledger import verifier
from ledger.verifier import SharedVerifier, encode_request, read_request, verify_all
from sync import keys

MESSAGES = 120


@pytest.fixture(scope="module")
def signed():
    """Checks under one key: most genuine, some altered, a few with another key's signature."""
    key, stranger = keys.generate(), keys.generate()
    checks, expected = [], []
    for n in range(MESSAGES):
        message = b"record %d " % n + os.urandom(16)
        signer = stranger if n % 17 == 5 else key
        signature = bytes.fromhex(keys.sign(signer, b"", message))
        if n % 13 == 3:
            message += b"!"  # altered after signing
        checks.append((message, signature))
        expected.append(signer is key and n % 13 != 3)
    return key.public_key().raw, checks, expected


def test_verify_all_says_which_verify(signed):
    public_key, checks, expected = signed
    assert verify_all(public_key, checks) == expected
    assert verify_all(public_key, [(b"x", b"\0" * 63)]) == [False]  # a short signature


@pytest.fixture
def shared():
    """A verifier that shares from 10 checks on, its helper stopped afterwards."""
    verifier_ = SharedVerifier(min_checks=10)
    yield verifier_
    verifier_.close()


def running_helper(shared: SharedVerifier, public_key: bytes, checks) -> verifier._Helper:
    """The helper of `shared`, started by a first shared batch."""
    shared.verify(public_key, checks[:20])
    assert shared._helper is not None
    return shared._helper


def test_shared_answers_equal_the_lone_ones(signed, shared):
    public_key, checks, expected = signed
    assert shared.verify(public_key, checks) == expected
    assert shared.verify(public_key, checks[:40]) == expected[:40]
    assert shared.shared_batches == 2
    assert shared.verify(public_key, checks[:5]) == expected[:5]  # too few to share
    assert shared.shared_batches == 2


def test_a_dead_helper_changes_no_answer(signed, shared, caplog):
    public_key, checks, expected = signed
    helper = running_helper(shared, public_key, checks)
    helper.process.kill()
    helper.process.wait()
    with caplog.at_level(logging.WARNING, logger="ledger.verifier"):
        assert shared.verify(public_key, checks) == expected
    assert "verifying alone" in caplog.text
    # no new helper until HELPER_RETRY_AFTER_S has passed: the batch verifies alone
    assert shared.verify(public_key, checks) == expected
    assert shared.shared_batches == 1 and shared._helper is None


def test_a_helper_that_dies_mid_answer_changes_no_answer(signed, shared, caplog):
    public_key, checks, expected = signed
    helper = running_helper(shared, public_key, checks)
    sent = helper.send

    def send_then_die(*args):
        sent(*args)
        helper.process.kill()

    helper.send = send_then_die  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="ledger.verifier"):
        assert shared.verify(public_key, checks) == expected
    assert shared._helper is None


def test_a_helper_that_does_not_answer_in_time_is_dropped(signed, shared, monkeypatch):
    public_key, checks, expected = signed
    helper = running_helper(shared, public_key, checks)
    helper.process.send_signal(19)  # SIGSTOP: alive, silent
    monkeypatch.setattr(verifier, "HELPER_ANSWER_TIMEOUT_S", 0.2)
    assert shared.verify(public_key, checks) == expected
    assert shared._helper is None and helper.process.poll() is not None


def test_a_stopped_helper_cannot_hold_a_large_batch(shared, monkeypatch):
    """A request larger than the pipe holds, to a helper that reads nothing: the send
    gives up at the deadline and the batch verifies alone."""
    key = keys.generate()
    message = os.urandom(4_000)
    checks = [(message, bytes.fromhex(keys.sign(key, b"", message)))] * 400  # ~1.6 MB
    helper = running_helper(shared, key.public_key().raw, checks)
    helper.process.send_signal(19)  # SIGSTOP
    monkeypatch.setattr(verifier, "HELPER_ANSWER_TIMEOUT_S", 0.3)
    assert shared.verify(key.public_key().raw, checks) == [True] * 400
    assert shared._helper is None


def test_a_batch_finding_the_helper_busy_verifies_alone(signed, shared):
    public_key, checks, expected = signed
    shared._lock.acquire()  # another batch is using the helper
    answers: list[list[bool]] = []
    worker = threading.Thread(target=lambda: answers.append(
        shared.verify(public_key, checks)))
    worker.start()
    worker.join(30)
    shared._lock.release()
    assert answers == [expected] and shared.shared_batches == 0


def test_wire_format_round_trip_and_refusals(signed):
    public_key, checks, _ = signed
    stream = io.BytesIO(encode_request(public_key, checks) * 2)
    assert read_request(stream) == (public_key, checks)
    assert read_request(stream) == (public_key, checks)
    assert read_request(stream) is None  # the end
    cut = encode_request(public_key, checks)[:-10]
    assert read_request(io.BytesIO(cut)) is None
    too_many = (verifier.MAX_CHECKS + 1).to_bytes(4, "big") + public_key
    assert read_request(io.BytesIO(too_many)) is None


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


def test_a_batch_given_up_half_way_leaves_no_helper_out_of_step(signed, shared):
    """Checks handed over, then the batch is abandoned (its ingest failed): the helper's
    unread answers would be taken for the next batch's, so the helper is dropped."""
    public_key, checks, expected = signed
    with pytest.raises(RuntimeError), shared.batch(public_key, len(checks)) as batch:
        for check in checks[:90]:  # past the helper's share: it has been handed over
            batch.feed(check)
        assert batch.sent > 0
        raise RuntimeError("the ingest failed")
    assert shared._helper is None
    assert not shared._lock.locked()
    assert shared.verify(public_key, checks) == expected  # alone: no helper for now


def test_fewer_checks_than_expected_are_all_answered(signed, shared):
    """A batch whose malformed records were never fed: the last, short request still goes
    to the helper, and every check fed gets its answer, in order."""
    public_key, checks, expected = signed
    with shared.batch(public_key, 1_000) as batch:  # far more than will come
        for check in checks:
            batch.feed(check)
        assert batch.finish() == expected
    assert shared.shared_batches == 1
