"""Signature checks of a large batch, shared with a helper process.

One terminal's batch is ingested by one thread, and Python threads cannot share its work:
libsodium lets go of the GIL while it verifies, but every check also runs some Python, and
two threads passing the GIL back and forth cost about a third of what they save (measured:
+25 us of CPU per record). A helper process has a GIL of its own. The ingesting thread gives
it part of a batch's checks (the message and signature bytes, already cut), checks the rest
itself meanwhile, and takes the helper's answers: a batch verifies in about half the time,
for a few microseconds of copying per record.

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

import nacl.exceptions
import nacl.signing

log = logging.getLogger(__name__)

# A batch with fewer checks than this verifies alone: starting the hand-off costs more.
MIN_CHECKS_TO_SHARE = 200
# The helper's share of a batch: a little under half, because the hand-off (copying the
# messages there and the answers back) is on this side.
HELPER_SHARE = 0.45
# The helper never takes this long for its share (5,000 checks take ~0.3 s); past it, it is
# taken to be stuck, ended, and its share checked here.
HELPER_ANSWER_TIMEOUT_S = 30.0
HELPER_STOP_TIMEOUT_S = 5.0
# After a helper failed, this long without one before another is started.
HELPER_RETRY_AFTER_S = 60.0
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
# One request never holds more checks or bytes than this (ingest.MAX_BATCH_RECORDS records
# of record.MAX_RECORD_BYTES each, with room to spare); the helper refuses anything larger.
MAX_CHECKS = 10_000
MAX_MESSAGE_BYTES = 64 * 1024
_COUNT = struct.Struct(">I")

Check = tuple[bytes, bytes]  # (the message as signed, the raw 64-byte signature)


def verify_all(public_key_raw: bytes, checks: list[Check]) -> list[bool]:
    """For each (message, signature): does it verify under the raw Ed25519 key?"""
    key = nacl.signing.VerifyKey(public_key_raw)
    out = []
    for message, signature in checks:
        try:
            key.verify(message, signature)
            out.append(True)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
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
    head = _read_exactly(stream, _COUNT.size + PUBLIC_KEY_BYTES)
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
        signature = _read_exactly(stream, SIGNATURE_BYTES)
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
        if len(checks) < self.min_checks or not self._lock.acquire(blocking=False):
            return verify_all(public_key_raw, checks)
        try:
            return self._shared(public_key_raw, checks)
        finally:
            self._lock.release()

    def _shared(self, public_key_raw: bytes, checks: list[Check]) -> list[bool]:
        helper = self._running_helper()
        if helper is None:
            return verify_all(public_key_raw, checks)
        cut = int(len(checks) * self.share)
        try:
            helper.send(public_key_raw, checks[:cut], HELPER_ANSWER_TIMEOUT_S)
        except (OSError, ValueError, TimeoutError, struct.error) as exc:
            self._drop(exc)
            return verify_all(public_key_raw, checks)
        mine = verify_all(public_key_raw, checks[cut:])
        try:
            theirs = helper.answer(cut, HELPER_ANSWER_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            self._drop(exc)
            theirs = verify_all(public_key_raw, checks[:cut])
        else:
            self.shared_batches += 1
        return theirs + mine

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
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.stop()

    def close(self) -> None:
        with self._lock:
            if self._helper is not None:
                helper, self._helper = self._helper, None
                helper.stop()


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
