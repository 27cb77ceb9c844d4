"""Signed requests from terminals to the ledger (DESIGN §7).

Every terminal request carries its terminal id, its clock (Unix milliseconds) and an Ed25519
signature over method, path with query, that time, the terminal id and the SHA-256 of the
body. The ledger refuses requests whose time is more than `MAX_SKEW_S` away from its own:
a captured request cannot be replayed later, and within the window every terminal write is
idempotent anyway.
"""

from __future__ import annotations

import hashlib
import time

from sync import canonical, keys

HEADER_TERMINAL = "X-Machi-Terminal"
HEADER_TIME = "X-Machi-Time"
HEADER_SIGNATURE = "X-Machi-Signature"
MAX_SKEW_S = 300


class AuthError(Exception):
    """A request that does not prove it comes from the terminal it names."""

    def __init__(self, message: str, code: str = "unauthorized") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def request_message(terminal_id: str, method: str, path: str, time_ms: int, body: bytes) -> bytes:
    return canonical.dumps(
        {
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "method": method.upper(),
            "path": path,
            "terminal_id": terminal_id,
            "time": time_ms,
        }
    )


def sign_request(
    key: keys.PrivateKey,
    terminal_id: str,
    method: str,
    path: str,
    body: bytes = b"",
    time_ms: int | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request. `path` includes the query string."""
    stamp = now_ms() if time_ms is None else time_ms
    message = request_message(terminal_id, method, path, stamp, body)
    return {
        HEADER_TERMINAL: terminal_id,
        HEADER_TIME: str(stamp),
        HEADER_SIGNATURE: keys.sign(key, keys.CONTEXT_REQUEST, message),
    }


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
) -> None:
    """Raise AuthError unless the headers sign this request, within the allowed skew."""
    terminal_id = claimed_terminal(headers)
    stamp_text, signature = headers.get(HEADER_TIME), headers.get(HEADER_SIGNATURE)
    if not stamp_text or not signature:
        raise AuthError("the request is not signed (time or signature missing)", "unsigned")
    try:
        stamp = int(stamp_text)
    except ValueError as exc:
        raise AuthError("the request time is not a number", "unsigned") from exc
    current = now_ms() if now is None else now
    if abs(current - stamp) > MAX_SKEW_S * 1000:
        raise AuthError(
            f"the request time is more than {MAX_SKEW_S} s from the ledger's clock "
            "(terminal clock wrong, or a replay)",
            "skew",
        )
    message = request_message(terminal_id, method, path, stamp, body)
    try:
        keys.verify(public_key, keys.CONTEXT_REQUEST, message, signature)
    except keys.SignatureError as exc:
        raise AuthError("the request signature does not verify", "bad_signature") from exc
