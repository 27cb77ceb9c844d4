"""The checks of a large batch's records, shared with a helper process.

One terminal's batch is ingested by one thread, and Python threads cannot share its work
(two threads passing the GIL back and forth cost about a third of what they save: measured
+25 us of CPU per record). A helper process has a GIL of its own. Everything about a record
that does not depend on the ledger's state is checked by `check_record`: that the bytes
sent are the record's canonical bytes, its shape, its signature under the terminal's
enrolled key, and its body's rules. The ingesting thread hands most of a batch's records
to the helper as it reads them, checks the rest itself, and then, while it posts and writes
the records in order, takes the helper's answers as they come: the helper checks the next
records while this side writes the last ones.

Each server process has at most one helper (`python -m ledger.verifier`, talking over its
standard input and output), started with the server (or else the first time a batch is
large enough: the helper takes ~0.1 s to start), and shared by at most two batches at a
time, whose requests it answers in the order written: the batch being written and the
next one, being read. A third batch (another terminal's, on another thread) waits briefly
for a place, then checks alone, which is also what keeps a fully loaded server from
queueing on the helper. A helper that
fails, dies or does not answer in time is dropped and what it owed is checked here; the
answer never depends on the helper. The helper ends when its parent does, however
the parent ends: its standard input closes. Where pipes cannot be waited on with
`selectors` (Windows: sync.platform.pipes) there is no helper and every batch checks alone.

Wire format (both directions in this one module): a request is the count of records (4
bytes, big-endian), the 32-byte public key, then per record its length (4 bytes) and its
bytes; the answer is one byte per record, its `check_record` flags.
"""

from __future__ import annotations

import logging
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from sync import bodies, canonical, keys, record
from sync.platform import pipes

log = logging.getLogger(__name__)

# A batch with fewer records than this is checked alone: starting the hand-off costs more.
MIN_CHECKS_TO_SHARE = 200
# The helper's share of a batch: the first records, handed over while the batch is read.
# This side checks the rest, then posts and writes every record, and (terminals push the
# next batch while the last is written) reads the next batch meanwhile: measured best at
# 0.95 (push: 0.95 ahead of 1.0 and 0.85; 0.7 was best when this side also made every
# record's canonical bytes and batches came one at a time).
HELPER_SHARE = 0.95
# Records handed to the helper in one request, as they come.
SHARE_CHUNK_CHECKS = 100
# The pipe to the helper is made this large (Linux), so handing over a batch's share never
# waits for the helper to catch up.
PIPE_BYTES = 1 << 20
# Batches that may have records in the helper at once: one being written while the next
# is read (a terminal pushes the next batch while the last is written). A third checks
# alone, which also keeps a fully loaded server from queueing on one helper.
BATCHES_ON_HELPER = 2
# A batch that finds no place on the helper waits this long for one, once it has been read,
# before it checks alone: a batch gives its place up once its own checks are answered.
HELPER_WAIT_S = 0.5
# The helper never takes this long for its share (5,000 records take ~0.5 s, two batches
# queued ~1 s); past it, it is taken to be stuck, ended, and its share checked here. Ingest
# waits for answers inside its write transaction, so this also bounds how long a stuck
# helper can hold the ledger's writes (SQLite writers wait up to 10 s: db.py).
HELPER_ANSWER_TIMEOUT_S = 5.0
# A reader waiting for answers looks this often whether another thread stopped the helper.
PUMP_SLICE_S = 0.1
HELPER_STOP_TIMEOUT_S = 5.0
# After a helper failed, this long without one before another is started.
HELPER_RETRY_AFTER_S = 60.0
# One request never holds more records or bytes than this (ingest.MAX_BATCH_RECORDS records
# of record.MAX_RECORD_BYTES each, with room to spare: ingest refuses a larger record before
# it is fed); the helper refuses anything larger.
MAX_CHECKS = 10_000
MAX_MESSAGE_BYTES = 64 * 1024
_COUNT = struct.Struct(">I")

# What `check_record` found, as bit flags. SIGNED and BODY_OK are only ever set with
# CANONICAL; a record without CANONICAL is looked at again by the caller, who names what
# is wrong with it.
CANONICAL = 1  # the bytes are the canonical bytes of a record of the right shape
SIGNED = 2  # its signature verifies under the key given
BODY_OK = 4  # its body follows the rules of its type (sync.bodies)


def check_record(data: bytes, key: keys.PublicKey | None, parsed: Any = None) -> int:
    """The flags that hold of the record sent as `data` (`parsed`: its parse, if made)."""
    try:
        rec = orjson.loads(data) if parsed is None else parsed
        if canonical.dumps(rec) != data:
            return 0
        record.check_shape(rec)
    except ValueError:  # not JSON, no canonical form, the wrong shape
        return 0
    flags = CANONICAL
    if key is not None:
        try:
            signature = bytes.fromhex(rec["sig"])
            if len(signature) == keys.SIGNATURE_BYTES:
                key.verify_raw(keys.CONTEXT_RECORD + record.signed_bytes_of(rec, data),
                               signature)
                flags |= SIGNED
        except (ValueError, keys.SignatureError):
            pass
    try:
        bodies.check(rec["type"], rec["body"])
        flags |= BODY_OK
    except bodies.BodyError:
        pass
    return flags


def _key_or_none(public_key_raw: bytes | None) -> keys.PublicKey | None:
    """The raw key, or None if there is none or it is not a key (no signature verifies)."""
    try:
        return keys.PublicKey(public_key_raw) if public_key_raw else None
    except (keys.KeyFormatError, ValueError):
        return None


def check_all(public_key_raw: bytes, items: list[bytes]) -> bytes:
    """`check_record` of each record under the raw key, one byte each."""
    key = _key_or_none(public_key_raw)
    return bytes(check_record(data, key) for data in items)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    if data is None or len(data) != size:
        return None
    return data


def encode_request(public_key_raw: bytes, items: list[bytes]) -> bytes:
    parts = [_COUNT.pack(len(items)), public_key_raw]
    for data in items:
        parts += (_COUNT.pack(len(data)), data)
    return b"".join(parts)


def read_request(stream: BinaryIO) -> tuple[bytes, list[bytes]] | None:
    """One request from `stream`; None at its end or when it breaks the format."""
    head = _read_exactly(stream, _COUNT.size + keys.PUBLIC_KEY_BYTES)
    if head is None:
        return None
    (count,) = _COUNT.unpack_from(head)
    if count > MAX_CHECKS:
        return None
    items = []
    for _ in range(count):
        size = _read_exactly(stream, _COUNT.size)
        if size is None or _COUNT.unpack(size)[0] > MAX_MESSAGE_BYTES:
            return None
        data = _read_exactly(stream, _COUNT.unpack(size)[0])
        if data is None:
            return None
        items.append(data)
    return head[_COUNT.size:], items


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The helper: answer each request until its input ends (its parent is gone)."""
    while (request := read_request(requests)) is not None:
        answers.write(check_all(*request))
        answers.flush()


class _Helper:
    """The helper process and the requests it still owes answers for, in the order sent.
    Several batches may have requests in it at once: whichever needs an answer reads
    what has come and hands each answer to the batch it belongs to."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.verifier"], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout
        # Elsewhere a smaller pipe: handing over may wait for the helper now and then.
        pipes.enlarge(self.requests.fileno(), PIPE_BYTES)
        self._send_lock = threading.Lock()  # one request written at a time, whole
        self._read_lock = threading.Lock()  # one reader hands out the answers
        self._owed: deque[list] = deque()  # [batch, answers still owed], in send order
        self.failed = False  # stopped, or out of step: no answer will come any more

    def alive(self) -> bool:
        return not self.failed and self.process.poll() is None

    def send(self, batch: CheckBatch, public_key_raw: bytes, items: list[bytes],
             timeout: float) -> None:
        """Write a request for `batch`; a helper that stops reading (stuck, stopped)
        cannot hold this thread past `timeout`."""
        data = memoryview(encode_request(public_key_raw, items))
        with self._send_lock:
            if self.failed:
                raise EOFError("the checking helper has been stopped")
            self._owed.append([batch, len(items)])
            try:
                fd = self.requests.fileno()
                os.set_blocking(fd, False)
                deadline = time.monotonic() + timeout
                with selectors.DefaultSelector() as selector:
                    selector.register(fd, selectors.EVENT_WRITE)
                    while data:
                        left = deadline - time.monotonic()
                        if left <= 0 or not selector.select(left):
                            raise TimeoutError("the checking helper does not take its share")
                        try:
                            data = data[os.write(fd, data):]
                        except BlockingIOError:
                            continue
            except BaseException:
                # A request cut short: what the helper reads next would be out of step, so
                # nothing more may be written to it, nor any answer taken from it.
                self.failed = True
                raise

    def pump(self, done: Callable[[], bool], timeout: float) -> None:
        """Read answers, each handed to its batch, until `done()`. Raises if the helper
        has failed (here or in another thread), ends, or says nothing for `timeout`."""
        deadline = time.monotonic() + timeout
        with self._read_lock:
            if done():
                return
            with selectors.DefaultSelector() as selector:
                selector.register(self.answers, selectors.EVENT_READ)
                while not done():
                    if self.failed:
                        raise EOFError("the checking helper has been stopped")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("the checking helper did not answer in time")
                    # In slices, so that a helper stopped by another thread is noticed.
                    if not selector.select(min(left, PUMP_SLICE_S)):
                        continue
                    chunk = os.read(self.answers.fileno(), PIPE_BYTES)
                    if not chunk:
                        raise EOFError("the checking helper has ended")
                    self._hand_out(chunk)

    def _hand_out(self, chunk: bytes) -> None:
        at = 0
        while at < len(chunk):
            if not self._owed:
                raise ValueError("the checking helper answered more than it was asked")
            owed = self._owed[0]
            take = min(owed[1], len(chunk) - at)
            owed[0].answered(chunk[at:at + take])
            at += take
            owed[1] -= take
            if not owed[1]:
                self._owed.popleft()

    def stop(self) -> None:
        self.failed = True
        for stream in (self.requests, self.answers):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(HELPER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass


class SharedVerifier:
    """Checks a batch's records here and in this process's helper (see the module)."""

    def __init__(self, share: float = HELPER_SHARE,
                 min_checks: int = MIN_CHECKS_TO_SHARE) -> None:
        self.share = share
        self.min_checks = min_checks
        self._helper: _Helper | None = None
        self._start_lock = threading.Lock()
        # Held by each batch using the helper, at most BATCHES_ON_HELPER at once.
        self.slots = threading.BoundedSemaphore(BATCHES_ON_HELPER)
        self._failed_at = -HELPER_RETRY_AFTER_S
        self.shared_batches = 0  # batches the helper took part in, for tests and benches

    def check(self, public_key_raw: bytes, items: list[bytes]) -> list[int]:
        """`check_record` flags of each record (its bytes) under the raw key."""
        with self.batch(public_key_raw, len(items)) as batch:
            for data in items:
                batch.feed(data)
            batch.check_here()
            return [batch.flags(index) for index in range(len(items))]

    def batch(self, public_key_raw: bytes | None, expected: int) -> CheckBatch:
        """A batch of about `expected` records, fed one by one (see CheckBatch)."""
        return CheckBatch(self, public_key_raw, expected)

    def start(self) -> None:
        """Start the helper now (a server does, as it starts), so that the first large batch
        does not wait for it to start."""
        self._running_helper()

    def _running_helper(self) -> _Helper | None:
        with self._start_lock:
            if self._helper is not None and self._helper.alive():
                return self._helper
            if self._helper is not None:
                self._drop(RuntimeError("the checking helper has ended"), self._helper)
            if time.monotonic() - self._failed_at < HELPER_RETRY_AFTER_S:
                return None
            if not pipes.SELECTABLE_PIPES:
                return None  # Windows: `selectors` cannot wait on a pipe; batches check alone
            try:
                self._helper = _Helper()
            except OSError as exc:
                self._drop(exc)
                return None
            return self._helper

    def _drop(self, reason: BaseException, helper: _Helper | None = None) -> None:
        """Stop the helper that failed (if it is still the current one) and go without
        one for HELPER_RETRY_AFTER_S."""
        if helper is not None and helper is not self._helper:
            helper.stop()
            return  # already dropped by another batch
        log.warning("ledger: checking records alone for a while (%s)", reason)
        self._failed_at = time.monotonic()
        self._stop_helper()

    def _stop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.stop()

    def close(self) -> None:
        self._stop_helper()


class CheckBatch:
    """One batch's record checks. Records are fed one by one while the batch is read; the
    first ones, up to the helper's share of `expected`, go to the helper in requests of
    SHARE_CHUNK_CHECKS as they come. `check_here` checks the others; `flags(i)` is the
    answer for the i-th record fed, waiting for the helper's if it is not in yet, so a
    caller that takes them in order works while the helper is still checking. Without a
    key (`public_key_raw` None: the enrolled key is unusable) no signature is seen to
    verify.

    Up to BATCHES_ON_HELPER batches share the helper at once (the helper answers their
    requests in the order they were written). A batch that finds it full keeps its records
    until `check_here`, then waits up to HELPER_WAIT_S for a place (a batch gives its place
    up as soon as it has all its answers, while it still writes) and hands its share over
    in one go; if there is none, it checks alone. Use it in a `with`, which gives the place
    up however the batch ends; answers still owed to a batch given up are read and put
    aside by whoever reads next."""

    def __init__(self, owner: SharedVerifier, public_key_raw: bytes | None,
                 expected: int) -> None:
        self.owner = owner
        self.key_raw = public_key_raw
        self.key = _key_or_none(public_key_raw)
        self.items: list[bytes] = []
        self.parsed: list[Any] = []
        self.answers: list[int | None] = []
        self.helper: _Helper | None = None
        self.quota = 0
        self.sent = 0  # records handed to the helper (the first ones fed)
        self.received = 0  # of those, answers read back
        self.pending: list[bytes] = []
        self.fed_all = False  # `check_here` was called: nothing more will be handed over
        self._place = False
        self._done = False  # every answer owed is in (counted once)
        self._gave_up = False  # the helper failed this batch: it never takes one again
        self._guard = threading.Lock()  # `answered` may run on another batch's thread
        self._may_share = self.key is not None and expected >= owner.min_checks
        if self._may_share and owner.slots.acquire(blocking=False):
            self._take_helper(expected)

    def _take_helper(self, expected: int) -> None:
        self._place = True
        self.helper = self.owner._running_helper()
        if self.helper is None:
            self._leave()
        else:
            self.quota = int(expected * self.owner.share)

    def _leave(self) -> None:
        with self._guard:
            place, self._place = self._place, False
        if place:
            self.owner.slots.release()

    def _all_in(self) -> None:
        """Once nothing more will be handed over and every answer is in, the place on the
        helper goes to the next batch."""
        with self._guard:
            if self._done or not self.fed_all or self.received != self.sent:
                return
            self._done = True
        if self.sent:
            self.owner.shared_batches += 1
        self._leave()

    def __enter__(self) -> CheckBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._leave()

    def feed(self, data: bytes, parsed: Any = None) -> int:
        """Hand over (or keep for `check_here`) one record: its bytes as sent and, if it
        has been parsed, the parse. Returns its index for `flags`."""
        index = len(self.items)
        self.items.append(data)
        self.parsed.append(parsed)
        self.answers.append(None)
        if self.helper is not None and index < self.quota:
            self.pending.append(data)
            if len(self.pending) >= SHARE_CHUNK_CHECKS or index + 1 == self.quota:
                self._hand_over()
        return index

    def _hand_over(self) -> None:
        assert self.helper is not None
        try:
            self.helper.send(self, self.key_raw or b"", self.pending, HELPER_ANSWER_TIMEOUT_S)
        except (OSError, ValueError, TimeoutError, EOFError, struct.error) as exc:
            self._give_up(exc)  # what was pending is checked here, with the rest
        else:
            self.sent += len(self.pending)
        self.pending = []

    def check_here(self) -> None:
        """Hand over what is still pending (or, if the helper was full when the batch
        began, wait for a place and hand over its share now), then check every record not
        handed over."""
        if self.helper is None and not self._place and self._may_share and \
                not self._gave_up and len(self.items) >= self.owner.min_checks and \
                self.owner.slots.acquire(timeout=HELPER_WAIT_S):
            self._take_helper(len(self.items))
            for start in range(0, self.quota, SHARE_CHUNK_CHECKS):
                if self.helper is None:
                    break
                self.pending = self.items[start:min(self.quota, start + SHARE_CHUNK_CHECKS)]
                self._hand_over()
        elif self.helper is not None and self.pending:
            self._hand_over()
        self.fed_all = True
        self._all_in()
        for index in range(self.sent, len(self.items)):
            if self.answers[index] is None:
                self.answers[index] = check_record(self.items[index], self.key,
                                                   self.parsed[index])

    def answered(self, flags: bytes) -> None:
        """The helper's next answers for this batch (from whichever batch read them)."""
        self.answers[self.received:self.received + len(flags)] = flags
        self.received += len(flags)
        self._all_in()

    def flags(self, index: int) -> int:
        """The `check_record` flags of the index-th record fed."""
        answer = self.answers[index]
        if answer is None and self.helper is not None and index < self.sent:
            helper = self.helper
            try:
                helper.pump(lambda: self.answers[index] is not None, HELPER_ANSWER_TIMEOUT_S)
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                self._give_up(exc)
            answer = self.answers[index]
        if answer is None:  # not handed over, or the helper failed: checked here
            answer = self.answers[index] = check_record(self.items[index], self.key,
                                                        self.parsed[index])
        return answer

    def _give_up(self, reason: BaseException) -> None:
        """The helper failed: what it still owes this batch is checked here instead."""
        self._gave_up = True
        if self.helper is not None:
            self.owner._drop(reason, self.helper)
            self.helper = None
        self._leave()


_process_verifier: SharedVerifier | None = None
_process_verifier_lock = threading.Lock()


def process_verifier() -> SharedVerifier:
    """The one SharedVerifier (and so at most one helper) of this process."""
    global _process_verifier
    with _process_verifier_lock:
        if _process_verifier is None:
            _process_verifier = SharedVerifier()
        return _process_verifier


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
