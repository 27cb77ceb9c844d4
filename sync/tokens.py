"""App QR tokens (DESIGN §5): a wallet certificate the ledger signs, and the short-lived token
the phone shows, checked offline with the ledger's public keys only.

The certificate binds a wallet to a device key, with an offline spending limit and an expiry:

    version u8 | wallet id length u8 | wallet id (ASCII) | device public key (32)
    | offline limit yen u32 | expires u32 (Unix seconds) | ledger key id prefix (4)
    | ledger signature (64)

The token is the certificate, then `issued_at u32 | counter u32`, then the device's
signature over both. It travels as "MP1:" + Base45 (RFC 9285), whose alphabet is exactly the
QR code's alphanumeric mode, where a character costs 5.5 bits against 8 in byte mode: about
300 characters for a 28-character wallet id, a version 10-11 QR code.

`TokenVerifier` checks, in order: the form, the ledger key, the certificate's signature, its
expiry, the device signature, freshness (a screenshot goes stale in `FRESH_WINDOW_S`), and the
counter (each device's counter must rise at this terminal: a replayed token is refused).
Every failure is a `TokenError` with its own code. The counters live in memory; after a
restart the terminal hands back the ones its recent records carry (`remember`), so a token
used just before the restart is still refused.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sync import keys
from sync.errors import SyncPackageError

TOKEN_PREFIX = "MP1:"
CERT_VERSION = 1
KEY_ID_PREFIX_BYTES = 4
MAX_WALLET_ID_BYTES = 64
MAX_TOKEN_CHARS = 600
# A token older (or newer, by clock skew) than this is refused: the phone shows a new one
# every ~30 s, so a photo or screenshot goes stale within a minute.
FRESH_WINDOW_S = 60
# Devices whose last counter this terminal remembers (least recently seen are forgotten).
REPLAY_CACHE_DEVICES = 100_000
# The replay cache knows a device by this many leading bytes of its public key: the same
# prefix the journal's records keep (`credential.device`, 16 hex characters), so a restarted
# terminal can prime the cache from its own recent records (`TokenVerifier.remember`).
REPLAY_KEY_BYTES = 8
# How far back a restarted terminal reads its journal to prime the replay cache. A token is
# accepted while |now - issued_at| <= FRESH_WINDOW_S, so one used at time t (issued up to a
# window ahead by a fast phone clock) stays fresh until t + 2 windows; plus a minute's margin.
REPLAY_LOOKBACK_S = 2 * FRESH_WINDOW_S + 60
CONTEXT_CERT = b"machi-pos/wallet-cert/v1\n"
CONTEXT_TOKEN = b"machi-pos/wallet-token/v1\n"
_U32_MAX = 2**32 - 1

REASONS = {
    "malformed": "This is not a Machi POS app code.",
    "unknown_ledger_key": "This app code was issued by a ledger this terminal does not know.",
    "bad_certificate": "This app code's certificate is forged.",
    "certificate_expired": "This app's certificate has expired: open the app online once.",
    "bad_device_signature": "This app code was not made by the phone it belongs to.",
    "stale": "This app code is too old (a photo or screenshot?): show the live code.",
    "replayed": "This app code was already used: show the live code.",
    "wallet_denied": "This wallet is suspended. Please ask the booth.",
}


class TokenError(SyncPackageError, ValueError):
    """A token that cannot be taken; `code` (a key of REASONS) says why."""

    code = "bad_token"

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(REASONS[code] + (f" ({detail})" if detail else ""))


# --- Base45 (RFC 9285) -----------------------------------------------------------------------

_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {ch: i for i, ch in enumerate(_B45)}


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [_B45[c], _B45[d], _B45[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [_B45[c], _B45[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    try:
        values = [_B45_INDEX[ch] for ch in text]
    except KeyError as exc:
        raise TokenError("malformed", "not Base45") from exc
    if len(values) % 3 == 1:
        raise TokenError("malformed", "Base45 length")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if n > 0xFFFF:
                raise TokenError("malformed", "Base45 value")
            out += bytes((n >> 8, n & 0xFF))
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise TokenError("malformed", "Base45 value")
            out.append(n)
    return bytes(out)


# --- certificates and tokens ----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    wallet_id: str
    device_key: bytes
    offline_limit: int
    expires: int
    ledger_kid_prefix: bytes
    signature: bytes = b""

    def body(self) -> bytes:
        wallet = self.wallet_id.encode("ascii")
        return (struct.pack(">BB", CERT_VERSION, len(wallet)) + wallet + self.device_key
                + struct.pack(">II", self.offline_limit, self.expires) + self.ledger_kid_prefix)

    def to_bytes(self) -> bytes:
        return self.body() + self.signature


def issue_certificate(ledger_key: keys.PrivateKey, wallet_id: str, device_key: keys.PublicKey,
                      offline_limit: int, expires: int) -> Certificate:
    """The ledger's side: certify that `device_key` speaks for `wallet_id`."""
    wallet = wallet_id.encode("ascii", errors="strict")
    if not 1 <= len(wallet) <= MAX_WALLET_ID_BYTES:
        raise ValueError("a wallet id is 1 to 64 ASCII characters")
    if not 0 <= offline_limit <= _U32_MAX or not 0 <= expires <= _U32_MAX:
        raise ValueError("offline limit and expiry must fit 32 bits")
    prefix = bytes.fromhex(ledger_key.public_key().key_id)[:KEY_ID_PREFIX_BYTES]
    cert = Certificate(wallet_id, device_key.raw, offline_limit, expires, prefix)
    return Certificate(wallet_id, device_key.raw, offline_limit, expires, prefix,
                       ledger_key.sign_raw(CONTEXT_CERT + cert.body()))


def parse_certificate(data: bytes) -> Certificate:
    """A certificate as the ledger hands it out (its bytes, e.g. from Base45)."""
    try:
        _, wallet_len = struct.unpack_from(">BB", data, 0)
    except struct.error as exc:
        raise TokenError("malformed", "certificate") from exc
    size = 2 + wallet_len + keys.PUBLIC_KEY_BYTES + 8 + KEY_ID_PREFIX_BYTES + \
        keys.SIGNATURE_BYTES
    if len(data) != size:
        raise TokenError("malformed", "certificate length")
    filler = data + struct.pack(">II", 0, 0) + bytes(keys.SIGNATURE_BYTES)
    return parse_token(TOKEN_PREFIX + b45encode(filler)).cert


def make_token(cert: Certificate, device_key: keys.PrivateKey, counter: int,
               issued_at: int | None = None) -> str:
    """The phone's side: a token to show as a QR code."""
    stamp = int(time.time()) if issued_at is None else issued_at
    signed = cert.to_bytes() + struct.pack(">II", stamp, counter)
    return TOKEN_PREFIX + b45encode(signed + device_key.sign_raw(CONTEXT_TOKEN + signed))


@dataclass(frozen=True)
class Token:
    cert: Certificate
    issued_at: int
    counter: int
    signed: bytes  # certificate + issued_at + counter
    signature: bytes


def parse_token(text: object) -> Token:
    if not isinstance(text, str) or not text.startswith(TOKEN_PREFIX) \
            or len(text) > MAX_TOKEN_CHARS:
        raise TokenError("malformed")
    data = b45decode(text[len(TOKEN_PREFIX):])
    try:
        version, wallet_len = struct.unpack_from(">BB", data, 0)
        if version != CERT_VERSION or not 1 <= wallet_len <= MAX_WALLET_ID_BYTES:
            raise TokenError("malformed", "version")
        at = 2
        wallet_id = data[at : at + wallet_len].decode("ascii")
        at += wallet_len
        device_key = data[at : at + keys.PUBLIC_KEY_BYTES]
        at += keys.PUBLIC_KEY_BYTES
        limit, expires = struct.unpack_from(">II", data, at)
        at += 8
        prefix = data[at : at + KEY_ID_PREFIX_BYTES]
        at += KEY_ID_PREFIX_BYTES
        cert_sig = data[at : at + keys.SIGNATURE_BYTES]
        at += keys.SIGNATURE_BYTES
        issued_at, counter = struct.unpack_from(">II", data, at)
        at += 8
        signature = data[at:]
    except (struct.error, UnicodeDecodeError) as exc:
        raise TokenError("malformed", "too short") from exc
    if len(device_key) != keys.PUBLIC_KEY_BYTES or len(cert_sig) != keys.SIGNATURE_BYTES \
            or len(signature) != keys.SIGNATURE_BYTES:
        raise TokenError("malformed", "length")
    cert = Certificate(wallet_id, device_key, limit, expires, prefix, cert_sig)
    return Token(cert, issued_at, counter, data[:at], signature)


class TokenVerifier:
    """Checks tokens offline against the trusted ledger keys; remembers counters.

    `clock` (Unix seconds) is what freshness and certificate expiry are measured against:
    a terminal passes its trusted clock (terminal.clock), so a wall clock turned back does
    not make an old screenshot live again."""

    def __init__(self, ledger_keys: dict[str, keys.PublicKey],
                 window_s: int = FRESH_WINDOW_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.ledger_keys = ledger_keys
        self.window_s = window_s
        self.clock = clock
        # device key prefix (REPLAY_KEY_BYTES) -> highest counter accepted, oldest seen first
        self._counters: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def remember(self, device_prefix: bytes, counter: int) -> None:
        """Raise the highest counter known for a device (never lower it), e.g. from the
        journal after a restart: a token at or below it is then refused as replayed."""
        if not isinstance(device_prefix, bytes) or len(device_prefix) != REPLAY_KEY_BYTES:
            raise ValueError(f"a device prefix is {REPLAY_KEY_BYTES} bytes")
        if type(counter) is not int or not 0 <= counter <= _U32_MAX:
            raise ValueError("a token counter is an integer from 0 to 2**32 - 1")
        with self._lock:
            self._raise(device_prefix, counter)

    def _raise(self, prefix: bytes, counter: int) -> None:
        """With the lock held: keep `counter` for the device if higher, as most recently seen."""
        last = self._counters.pop(prefix, -1)
        self._counters[prefix] = max(last, counter)
        if len(self._counters) > REPLAY_CACHE_DEVICES:
            self._counters.pop(next(iter(self._counters)))

    def verify(self, text: object, now: float | None = None) -> Token:
        token = parse_token(text)
        cert = token.cert
        ledger = [key for kid, key in self.ledger_keys.items()
                  if bytes.fromhex(kid)[:KEY_ID_PREFIX_BYTES] == cert.ledger_kid_prefix]
        if not ledger:
            raise TokenError("unknown_ledger_key")
        if not any(_verifies(key, CONTEXT_CERT + cert.body(), cert.signature) for key in ledger):
            raise TokenError("bad_certificate")
        current = self.clock() if now is None else now
        if cert.expires < current:
            raise TokenError("certificate_expired")
        try:
            device = keys.PublicKey(cert.device_key)
        except keys.KeyFormatError as exc:
            raise TokenError("malformed", "device key") from exc
        if not _verifies(device, CONTEXT_TOKEN + token.signed, token.signature):
            raise TokenError("bad_device_signature")
        if abs(current - token.issued_at) > self.window_s:
            raise TokenError("stale")
        prefix = cert.device_key[:REPLAY_KEY_BYTES]
        with self._lock:
            if token.counter <= self._counters.get(prefix, -1):
                raise TokenError("replayed")
            self._raise(prefix, token.counter)
        return token


def _verifies(key: keys.PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify_raw(message, signature)
    except keys.SignatureError:
        return False
    return True
