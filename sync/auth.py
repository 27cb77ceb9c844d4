"""Signed requests from terminals to the ledger, and the ledger's signed answers (DESIGN §7,
§10).

Every terminal request carries its terminal id, its clock (Unix milliseconds), a fresh random
nonce and an Ed25519 signature over method, path with query, that time, the nonce, the
terminal id and the SHA-256 of the body. The ledger refuses requests whose time is more than
`MAX_SKEW_S` away from its own, and a nonce it has already seen within that window
(`NonceCache`): a captured request cannot be replayed, neither later nor at once.

Every answer the ledger gives to such a request is signed by the ledger's key over the
request's digest (so over its nonce), the terminal id, the HTTP status, the ledger's time
and the SHA-256 of the answer body (`sign_answer`). The terminal believes an answer only
when it verifies under a key it pinned (`verify_answer`): an answer forged on the way, or an
old answer played back to a new request, is refused before anything is read from it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from sync import canonical, keys
from sync.errors import SyncPackageError

HEADER_TERMINAL = "X-Machi-Terminal"
HEADER_TIME = "X-Machi-Time"
HEADER_SIGNATURE = "X-Machi-Signature"
HEADER_NONCE = "X-Machi-Nonce"
# The answer's headers: which ledger key signed it, the ledger's time, the signature, and
# (after a key rotation) the statements that lead from older keys to the signing one.
HEADER_ANSWER_KEY = "X-Machi-Answer-Key"
HEADER_ANSWER_TIME = "X-Machi-Answer-Time"
HEADER_ANSWER_SIGNATURE = "X-Machi-Answer-Signature"
HEADER_ANSWER_ROTATIONS = "X-Machi-Answer-Rotations"
MAX_SKEW_S = 300
NONCE_BYTES = 16
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
# A time in ms as a header carries it: ASCII digits only (str.isdigit also takes "²").
TIME_RE = re.compile(r"[0-9]{1,16}")
# Nonces one ledger process keeps (each for the skew window): ~150 bytes each, so at most
# ~75 MB. A region of 1,000 terminals asking every 15 s needs ~40,000 in a 10-minute window.
MAX_REMEMBERED_NONCES = 500_000
# An answer's rotation header: a chain of a few statements, never a document.
MAX_ROTATIONS_HEADER_CHARS = 8 * 1024


class AuthError(SyncPackageError):
    """A request that does not prove it comes from the terminal it names."""

    code = "unauthorized"

    def __init__(self, message: str, code: str = "unauthorized") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def request_message(terminal_id: str, method: str, path: str, time_ms: int, body: bytes,
                    nonce: str = "", body_sha256: str | None = None) -> bytes:
    return canonical.dumps(
        {
            "body_sha256": body_sha256 or hashlib.sha256(body).hexdigest(),
            "method": method.upper(),
            "nonce": nonce,
            "path": path,
            "terminal_id": terminal_id,
            "time": time_ms,
        }
    )


def request_digest(message: bytes) -> str:
    """What an answer is bound to: the SHA-256 of the request's signed message."""
    return hashlib.sha256(message).hexdigest()


def sign_request(
    key: keys.PrivateKey,
    terminal_id: str,
    method: str,
    path: str,
    body: bytes = b"",
    time_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request. `path` includes the query string."""
    return signed_request(key, terminal_id, method, path, body, time_ms, nonce).headers


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]
    digest: str  # what the ledger's answer must be bound to


def signed_request(key: keys.PrivateKey, terminal_id: str, method: str, path: str,
                   body: bytes = b"", time_ms: int | None = None,
                   nonce: str | None = None) -> SignedRequest:
    """The headers of one request, and the digest its answer must name."""
    stamp = now_ms() if time_ms is None else time_ms
    nonce = new_nonce() if nonce is None else nonce
    message = request_message(terminal_id, method, path, stamp, body, nonce)
    return SignedRequest({
        HEADER_TERMINAL: terminal_id,
        HEADER_TIME: str(stamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: keys.sign(key, keys.CONTEXT_REQUEST, message),
    }, request_digest(message))


def claimed_terminal(headers) -> str:
    terminal_id = headers.get(HEADER_TERMINAL)
    if not terminal_id:
        raise AuthError(f"the request is not signed (no {HEADER_TERMINAL} header)", "unsigned")
    return terminal_id


def verify_request(
    public_key: keys.PublicKey,
    headers,
    method: str,
    path: str,
    body: bytes,
    now: int | None = None,
    nonces: NonceCache | None = None,
    body_sha256: str | None = None,
) -> None:
    """Raise AuthError unless the headers sign this request, within the allowed skew, with a
    nonce not seen before (when `nonces` is given). `body_sha256`: the body's hash when the
    caller has it already (the ledger hashes each body once, as it arrives)."""
    terminal_id = claimed_terminal(headers)
    stamp_text, signature = headers.get(HEADER_TIME), headers.get(HEADER_SIGNATURE)
    nonce = headers.get(HEADER_NONCE)
    if not stamp_text or not signature or not nonce:
        raise AuthError("the request is not signed (time, nonce or signature missing)",
                        "unsigned")
    if not NONCE_RE.fullmatch(nonce):
        raise AuthError(f"the request nonce is not {NONCE_BYTES} bytes of hex", "unsigned")
    if not TIME_RE.fullmatch(stamp_text):
        raise AuthError("the request time is not a number", "unsigned")
    stamp = int(stamp_text)
    current = now_ms() if now is None else now
    if abs(current - stamp) > MAX_SKEW_S * 1000:
        raise AuthError(
            f"the request time is more than {MAX_SKEW_S} s from the ledger's clock "
            "(terminal clock wrong, or a replay)",
            "skew",
        )
    message = request_message(terminal_id, method, path, stamp, body, nonce, body_sha256)
    try:
        keys.verify(public_key, keys.CONTEXT_REQUEST, message, signature)
    except keys.SignatureError as exc:
        raise AuthError("the request signature does not verify", "bad_signature") from exc
    if nonces is not None:
        nonces.claim(terminal_id, nonce, stamp, current)


class NonceCache:
    """The nonces of requests seen in the last skew window, in one ledger process.

    A request is kept until its time is more than `MAX_SKEW_S` in the past (after that the
    skew check refuses it anyway). Only requests whose signature verified are kept, so an
    attacker cannot fill the cache without a terminal's key.
    """

    def __init__(self, limit: int = MAX_REMEMBERED_NONCES) -> None:
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()  # -> expiry, ms
        self._limit = limit
        self._lock = threading.Lock()

    def claim(self, terminal_id: str, nonce: str, stamp_ms: int, now: int) -> None:
        with self._lock:
            while self._seen:
                first, expires = next(iter(self._seen.items()))
                if expires >= now and len(self._seen) < self._limit:
                    break
                if expires >= now:  # full of live nonces: refuse rather than forget one
                    raise AuthError("the ledger is remembering too many requests; try again",
                                    "busy")
                del self._seen[first]
            key = (terminal_id, nonce)
            if key in self._seen:
                raise AuthError("this request was already received (a replay)", "replayed")
            # Expiry order is time order only roughly (terminals' clocks differ); an entry
            # kept a little longer than needed costs nothing.
            self._seen[key] = max(stamp_ms, now) + MAX_SKEW_S * 1000

    def __len__(self) -> int:
        return len(self._seen)


# --- the ledger's answers ---------------------------------------------------------------------


def answer_message(terminal_id: str, digest: str, status: int, time_ms: int,
                   body_sha256: str) -> bytes:
    return canonical.dumps({"body_sha256": body_sha256, "request": digest, "status": status,
                            "terminal_id": terminal_id, "time": time_ms})


def sign_answer(key: keys.PrivateKey, terminal_id: str, digest: str, status: int,
                body: bytes, rotations: list[dict] | None = None,
                time_ms: int | None = None) -> dict[str, str]:
    """The headers that make an answer to the request with `digest` believable."""
    stamp = now_ms() if time_ms is None else time_ms
    message = answer_message(terminal_id, digest, status, stamp,
                             hashlib.sha256(body).hexdigest())
    headers = {
        HEADER_ANSWER_KEY: key.public_key().key_id,
        HEADER_ANSWER_TIME: str(stamp),
        HEADER_ANSWER_SIGNATURE: keys.sign(key, keys.CONTEXT_ANSWER, message),
    }
    if rotations:
        headers[HEADER_ANSWER_ROTATIONS] = base64.urlsafe_b64encode(
            canonical.dumps(rotations)).decode("ascii")
    return headers


class AnswerError(SyncPackageError):
    """An answer that cannot be believed: unsigned, signed by a key not pinned, bound to
    another request, or altered."""

    code = "unsigned_answer"

    def __init__(self, message: str, code: str = "unsigned_answer") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def answer_rotations(headers: Mapping[str, str]) -> list[dict]:
    """The rotation statements an answer carries (empty when none)."""
    text = headers.get(HEADER_ANSWER_ROTATIONS)
    if not text:
        return []
    if len(text) > MAX_ROTATIONS_HEADER_CHARS:
        raise AnswerError("the answer's key rotations are too long", "bad_rotation")
    try:
        items = canonical.loads(base64.urlsafe_b64decode(text.encode("ascii")))
    except (ValueError, canonical.CanonicalError) as exc:
        raise AnswerError("the answer's key rotations do not parse", "bad_rotation") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise AnswerError("the answer's key rotations are not a list", "bad_rotation")
    return items


def verify_answer(headers: Mapping[str, str], terminal_id: str, digest: str, status: int,
                  body: bytes, pinned: Mapping[str, keys.PublicKey]) -> int:
    """Raise AnswerError unless this answer is signed by a pinned key, for this terminal and
    the request with `digest`, with this status and body; returns the ledger's time (ms)."""
    key_id, stamp_text = headers.get(HEADER_ANSWER_KEY), headers.get(HEADER_ANSWER_TIME)
    signature = headers.get(HEADER_ANSWER_SIGNATURE)
    if not key_id or not stamp_text or not signature:
        raise AnswerError(f"the ledger's answer (HTTP {status}) is not signed")
    public = pinned.get(key_id)
    if public is None:
        raise AnswerError(f"the ledger's answer is signed by key {key_id[:32]!r}, which this "
                          "terminal has not pinned", "unknown_ledger_key")
    if not TIME_RE.fullmatch(stamp_text):
        raise AnswerError("the ledger's answer time is not a number")
    stamp = int(stamp_text)
    message = answer_message(terminal_id, digest, status, stamp,
                             hashlib.sha256(body).hexdigest())
    try:
        keys.verify(public, keys.CONTEXT_ANSWER, message, signature)
    except keys.SignatureError as exc:
        raise AnswerError("the ledger's answer signature does not verify: altered, or meant "
                          "for another request", "bad_answer_signature") from exc
    return stamp
