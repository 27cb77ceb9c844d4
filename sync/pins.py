"""Card PINs: an optional 4 to 6 digit number the holder of a plastic or NFC card types for
payments above an amount set per card (DESIGN §5). A card is a lookup key anyone can read
off the plastic; the PIN is what keeps a found card from being spent freely.

Only a salted scrypt hash is kept: made by the booth terminal that issues the card (carried
in the signed `card_issue` record) or by the ledger's admin command, stored by the ledger,
and sent to terminals with the card in snapshots (active cards only) so the check works
offline. At the counter the terminal allows `MAX_PIN_TRIES` wrong PINs in a row before it
refuses the card until the booth resets it.

Cost. A 4-digit PIN is 10,000 guesses, so no hash cost that a counter can afford makes a
copied hash safe: measured on this project's build machine (one core of an Intel Xeon,
`hashlib.scrypt`, median of 7), N=2^14 r=8 (16 MiB, the first parameters) took ~50 ms and
N=2^13 r=8 (8 MiB) ~26 ms. Assuming a Raspberry-Pi-class core is 4-6x slower, 2^14 is
0.2-0.3 s per check there, over the 0.2 s a counter can wait; 2^13 is 0.10-0.16 s, so new
hashes use 2^13 and store their parameters (hashes without them are 2^14 and still verify).
Exhausting 4 digits at 2^13 takes ~260 s on one core here (~130 s on both): minutes, not
years. Hence the seal: a terminal keeps in state.db only HMAC-SHA256(seal key, hash), the
seal key derived from its own Ed25519 key (terminal.key, owner-only, optionally
passphrase-encrypted), never stored. A state.db copied on its own gives no way to test a
guess at all; with the key file too, a guess costs the scrypt above.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sync.errors import SyncPackageError

PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 6
SALT_BYTES = 16
HASH_BYTES = 32
# scrypt parameters of new hashes (stored with each hash), chosen above.
SCRYPT_N = 2**13
SCRYPT_R = 8
SCRYPT_P = 1
# What a hash stored without parameters was made with (the first release).
LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Bounds on the parameters a stored hash may ask for, so a crafted record cannot make a
# check take long or much memory: N a power of two in range, and no more work than legacy.
SCRYPT_MIN_N = 2**10
SCRYPT_MAX_WORK = 2**14 * 8  # N * r * p
SCRYPT_MAX_P = 4
SCRYPT_MAXMEM = 64 * 1024 * 1024
# The terminal's seal key: HMAC-SHA256 of its private key seed and this label.
SEAL_LABEL = b"machi-pos/pin-seal/v1"
STORED_KEYS = {"salt", "hash", "above"}
PARAM_KEYS = {"n", "r", "p"}
# Payments above this many yen ask for the PIN unless the card says otherwise (0: always).
DEFAULT_PIN_ABOVE = 3_000
MAX_PIN_ABOVE = 1_000_000
# Wrong PINs in a row at one terminal before it refuses the card.
MAX_PIN_TRIES = 3


class PinError(SyncPackageError, ValueError):
    """A PIN or a stored PIN that is not well formed; the message says what is wrong."""

    code = "bad_pin"


def check_format(pin: object) -> str:
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or \
            not PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
        raise PinError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")
    return pin


def check_above(above: object) -> int:
    if type(above) is not int or not 0 <= above <= MAX_PIN_ABOVE:
        raise PinError(f"the PIN amount is a whole number of yen from 0 to {MAX_PIN_ABOVE:,}")
    return above


def _params(stored: dict[str, Any]) -> dict[str, int]:
    return {k: stored[k] for k in PARAM_KEYS} if "n" in stored else LEGACY_SCRYPT


def _hash(pin: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=params["n"], r=params["r"],
                          p=params["p"], maxmem=SCRYPT_MAXMEM, dklen=HASH_BYTES)


def make(pin: str, above: int = DEFAULT_PIN_ABOVE) -> dict[str, Any]:
    """What is stored for a card's PIN: salt and hash (hex), the scrypt parameters, and the
    amount above which it is asked."""
    salt = secrets.token_bytes(SALT_BYTES)
    params = {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
    return {"salt": salt.hex(), "hash": _hash(check_format(pin), salt, params).hex(),
            "above": check_above(above), **params}


def _check_params(stored: dict[str, Any]) -> None:
    if not PARAM_KEYS <= set(stored):
        raise PinError("a stored PIN names all of its scrypt parameters n, r, p or none")
    n, r, p = stored["n"], stored["r"], stored["p"]
    if not all(type(v) is int and v >= 1 for v in (n, r, p)) or n < SCRYPT_MIN_N \
            or n & (n - 1) or p > SCRYPT_MAX_P or n * r * p > SCRYPT_MAX_WORK:
        raise PinError(f"the PIN's scrypt parameters are out of bounds: N a power of two from "
                       f"{SCRYPT_MIN_N}, p up to {SCRYPT_MAX_P}, N*r*p up to {SCRYPT_MAX_WORK}")


def check_stored(stored: object) -> dict[str, Any]:
    """A stored PIN as records and snapshots carry it, checked for shape."""
    if not isinstance(stored, dict) or set(stored) not in (STORED_KEYS,
                                                           STORED_KEYS | PARAM_KEYS):
        raise PinError("a stored PIN is {salt, hash, above} and its scrypt n, r, p")
    for name, size in (("salt", SALT_BYTES), ("hash", HASH_BYTES)):
        value = stored[name]
        if not isinstance(value, str) or len(value) != 2 * size:
            raise PinError(f"the PIN's {name} is {size} bytes in hex")
        try:
            bytes.fromhex(value)
        except ValueError as exc:
            raise PinError(f"the PIN's {name} is {size} bytes in hex") from exc
    check_above(stored["above"])
    if "n" in stored:
        _check_params(stored)
    return stored


def seal_key(seed: bytes) -> bytes:
    """A terminal's key for sealing PIN hashes, from its private key's seed."""
    return hmac.new(seed, SEAL_LABEL, hashlib.sha256).digest()


def _sealed(key: bytes, digest: bytes) -> bytes:
    return hmac.new(key, digest, hashlib.sha256).digest()


def seal(stored: dict[str, Any], key: bytes) -> dict[str, Any]:
    """A stored PIN as a terminal keeps it: its hash replaced by HMAC(key, hash), so only a
    holder of `key` can test a guess. Parameters are written out (legacy ones too)."""
    stored = check_stored(stored)
    return {"salt": stored["salt"], "above": stored["above"], **_params(stored),
            "hash": _sealed(key, bytes.fromhex(stored["hash"])).hex(), "sealed": True}


def is_sealed(stored: dict[str, Any]) -> bool:
    return stored.get("sealed") is True


def asked(stored: dict[str, Any] | None, amount: int) -> bool:
    """Whether a payment of `amount` yen with this card needs its PIN."""
    return stored is not None and amount > stored["above"]


def matches(pin: object, stored: dict[str, Any], key: bytes | None = None) -> bool:
    """Whether `pin` is the card's PIN (compared in constant time); a sealed PIN needs the
    terminal's seal `key`."""
    try:
        check_format(pin)
    except PinError:
        return False
    assert isinstance(pin, str)
    params = _params(stored)
    if "n" in stored:
        _check_params(stored)
    digest = _hash(pin, bytes.fromhex(stored["salt"]), params)
    if is_sealed(stored):
        if key is None:
            raise PinError("this PIN is sealed with the terminal's key, which was not given")
        digest = _sealed(key, digest)
    return hmac.compare_digest(digest, bytes.fromhex(stored["hash"]))
