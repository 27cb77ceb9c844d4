"""Signature checks of a large batch, shared with a helper process.

One terminal's batch is ingested by one thread, and Python threads cannot share its work:
libsodium lets go of the GIL while it verifies, but every check also runs some Python, and
two threads passing the GIL back and forth cost about a third of what they save (measured:
+25 us of CPU per record). A helper process has a GIL of its own. The ingesting thread
hands it the first checks of a batch (the message and signature bytes, already cut) while
it is still reading the batch, checks the rest itself, and takes the helper's answers: the
checks cost the ingesting thread about a third of what they would alone, for a few
microseconds of copying per record.

Each server process has at most one helper (`python -m ledger.verifier`, talking over its
standard input and output), started the first time a batch is large enough, and used by one
batch at a time: a batch that finds it busy (another terminal's, on another thread)
verifies alone, which is also what keeps a fully loaded server from spending CPU on
hand-offs. A helper that fails, dies or does not answer in time is dropped and its share is
checked here; the answer never depends on the helper. The helper ends when its parent does,
however the parent ends: its standard input closes.

Wire format (both directions in this one module): a request is the count of checks (4
bytes, big-endian), the 32-byte public key, then per check the message length (4 bytes),
the message and the 64-byte signature; the answer is one byte per check, 1 if it verified.
"""

from __future__ import annotations

import fcntl
import logging
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

from sync import keys

log = logging.getLogger(__name__)

# A batch with fewer checks than this verifies alone: starting the hand-off costs more.
MIN_CHECKS_TO_SHARE = 200
# The helper's share of a batch. It is fed while the batch is still being read (canonical
# bytes, shapes: work only this side does), so it takes more than half (0.6 and 0.7
# measured: 0.7 a little faster; 0.45, handed over only once the batch was read, slower).
HELPER_SHARE = 0.7
# Checks handed to the helper in one request, as they come.
SHARE_CHUNK_CHECKS = 100
# The pipe to the helper is made this large (Linux), so handing over a batch's share never
# waits for the helper to catch up.
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = 1031  # linux/fcntl.h
# The helper never takes this long for its share (5,000 checks take ~0.3 s); past it, it is
# taken to be stuck, ended, and its share checked here.
HELPER_ANSWER_TIMEOUT_S = 30.0
HELPER_STOP_TIMEOUT_S = 5.0
# After a helper failed, this long without one before another is started.
HELPER_RETRY_AFTER_S = 60.0
# One request never holds more checks or bytes than this (ingest.MAX_BATCH_RECORDS records
# of record.MAX_RECORD_BYTES each, with room to spare); the helper refuses anything larger.
MAX_CHECKS = 10_000
MAX_MESSAGE_BYTES = 64 * 1024
_COUNT = struct.Struct(">I")

Check = tuple[bytes, bytes]  # (the message as signed, the raw 64-byte signature)


def verify_all(public_key_raw: bytes, checks: list[Check]) -> list[bool]:
    """For each (message, signature): does it verify under the raw Ed25519 key?"""
    key = keys.PublicKey(public_key_raw)
    out = []
    for message, signature in checks:
        try:
            key.verify_raw(message, signature)
            out.append(True)
        except (keys.SignatureError, ValueError, TypeError):  # ValueError: a short signature
            out.append(False)
    return out


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    if data is None or len(data) != size:
        return None
    return data


def encode_request(public_key_raw: bytes, checks: list[Check]) -> bytes:
    parts = [_COUNT.pack(len(checks)), public_key_raw]
    for message, signature in checks:
        parts += (_COUNT.pack(len(message)), message, signature)
    return b"".join(parts)


def read_request(stream: BinaryIO) -> tuple[bytes, list[Check]] | None:
    """One request from `stream`; None at its end or when it breaks the format."""
    head = _read_exactly(stream, _COUNT.size + keys.PUBLIC_KEY_BYTES)
    if head is None:
        return None
    (count,) = _COUNT.unpack_from(head)
    if count > MAX_CHECKS:
        return None
    checks = []
    for _ in range(count):
        size = _read_exactly(stream, _COUNT.size)
        if size is None or _COUNT.unpack(size)[0] > MAX_MESSAGE_BYTES:
            return None
        message = _read_exactly(stream, _COUNT.unpack(size)[0])
        signature = _read_exactly(stream, keys.SIGNATURE_BYTES)
        if message is None or signature is None:
            return None
        checks.append((message, signature))
    return head[_COUNT.size:], checks


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The helper: answer each request until its input ends (its parent is gone)."""
    while (request := read_request(requests)) is not None:
        answers.write(bytes(verify_all(*request)))
        answers.flush()


class _Helper:
    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.verifier"], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout
        try:
            fcntl.fcntl(self.requests.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass  # a smaller pipe: handing over may wait for the helper now and then

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, public_key_raw: bytes, checks: list[Check], timeout: float) -> None:
        """Write a request; a helper that stops reading (stuck, stopped) cannot hold this
        thread past `timeout`."""
        data = memoryview(encode_request(public_key_raw, checks))
        fd = self.requests.fileno()
        os.set_blocking(fd, False)
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_WRITE)
            while data:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise TimeoutError("the verifying helper does not take its share")
                try:
                    data = data[os.write(fd, data):]
                except BlockingIOError:
                    continue

    def answer(self, expected: int, timeout: float) -> list[bool]:
        deadline = time.monotonic() + timeout
        got = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self.answers, selectors.EVENT_READ)
            while len(got) < expected:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise TimeoutError("the verifying helper did not answer in time")
                chunk = os.read(self.answers.fileno(), expected - len(got))
                if not chunk:
                    raise EOFError("the verifying helper has ended")
                got += chunk
        return [byte == 1 for byte in got]

    def stop(self) -> None:
        for stream in (self.requests, self.answers):
            try:
                stream.close()
            except OSError:
                pass
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(HELPER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass


class SharedVerifier:
    """Checks a batch's signatures here and in this process's helper (see the module)."""

    def __init__(self, share: float = HELPER_SHARE,
                 min_checks: int = MIN_CHECKS_TO_SHARE) -> None:
        self.share = share
        self.min_checks = min_checks
        self._helper: _Helper | None = None
        self._lock = threading.Lock()  # held by the one batch using the helper
        self._failed_at = -HELPER_RETRY_AFTER_S
        self.shared_batches = 0  # batches the helper took part in, for tests and benches

    def verify(self, public_key_raw: bytes, checks: list[Check]) -> list[bool]:
        """For each (message, signature): does it verify under the raw key?"""
        with self.batch(public_key_raw, len(checks)) as batch:
            for check in checks:
                batch.feed(check)
            return batch.finish()

    def batch(self, public_key_raw: bytes, expected: int) -> CheckBatch:
        """A batch of about `expected` checks, fed one by one (see CheckBatch)."""
        return CheckBatch(self, public_key_raw, expected)

    def _running_helper(self) -> _Helper | None:
        if self._helper is not None and self._helper.alive():
            return self._helper
        if self._helper is not None:
            self._drop(RuntimeError("the verifying helper has ended"))
        if time.monotonic() - self._failed_at < HELPER_RETRY_AFTER_S:
            return None
        try:
            self._helper = _Helper()
        except OSError as exc:
            self._drop(exc)
            return None
        return self._helper

    def _drop(self, reason: BaseException) -> None:
        log.warning("ledger: verifying alone for a while (%s)", reason)
        self._failed_at = time.monotonic()
        self._stop_helper()

    def _stop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.stop()

    def close(self) -> None:
        with self._lock:
            self._stop_helper()


class CheckBatch:
    """One batch's checks, fed one by one while the batch is read. The first ones, up to
    the helper's share of `expected`, go to the helper in requests of SHARE_CHUNK_CHECKS as
    they come, so it verifies while this side still reads the batch; the rest are checked
    here at `finish`, which returns every answer in the order fed. Use it in a `with`: a
    batch given up half way leaves the helper out of step, and is then dropped with it."""

    def __init__(self, owner: SharedVerifier, public_key_raw: bytes, expected: int) -> None:
        self.owner = owner
        self.key = public_key_raw
        self.checks: list[Check] = []
        self.helper: _Helper | None = None
        self.quota = 0
        self.sent = 0  # checks handed to the helper (the first ones fed)
        self.pending: list[Check] = []
        self.answered = True
        self._locked = expected >= owner.min_checks and owner._lock.acquire(blocking=False)
        if self._locked:
            self.helper = owner._running_helper()
            if self.helper is not None:
                self.quota = int(expected * owner.share)

    def __enter__(self) -> CheckBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.helper is not None and not self.answered:
            self.owner._drop(RuntimeError("a batch was given up half way"))
        if self._locked:
            self._locked = False
            self.owner._lock.release()

    def feed(self, check: Check) -> None:
        self.checks.append(check)
        if self.helper is not None and len(self.checks) <= self.quota:
            self.pending.append(check)
            if len(self.pending) >= SHARE_CHUNK_CHECKS or len(self.checks) == self.quota:
                self._hand_over()

    def _hand_over(self) -> None:
        assert self.helper is not None
        try:
            self.helper.send(self.key, self.pending, HELPER_ANSWER_TIMEOUT_S)
        except (OSError, ValueError, TimeoutError, struct.error) as exc:
            self.owner._drop(exc)
            self.helper = None  # what it was given is checked here
        else:
            self.answered = False
        self.sent += len(self.pending)
        self.pending = []

    def finish(self) -> list[bool]:
        if self.helper is not None and self.pending:
            self._hand_over()
        mine = verify_all(self.key, self.checks[self.sent:])
        theirs: list[bool] = []
        if self.sent and self.helper is not None:
            try:
                theirs = self.helper.answer(self.sent, HELPER_ANSWER_TIMEOUT_S)
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                self.owner._drop(exc)
                self.helper = None
            else:
                self.owner.shared_batches += 1
            self.answered = True
        if len(theirs) != self.sent:
            theirs = verify_all(self.key, self.checks[:self.sent])
        return theirs + mine


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
