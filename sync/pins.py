"""Card PINs: an optional 4 to 6 digit number the holder of a plastic or NFC card types for
payments above an amount set per card (DESIGN §5). A card is a lookup key anyone can read
off the plastic; the PIN is what keeps a found card from being spent freely.

Only a salted scrypt hash is kept: made by the booth terminal that issues the card (carried
in the signed `card_issue` record) or by the ledger's admin command, stored by the ledger,
and sent to terminals with the card in snapshots so the check works offline. scrypt's cost
(about 0.1 s and 16 MiB here) makes guessing from a copied hash slow; at the counter the
terminal allows `MAX_PIN_TRIES` wrong PINs in a row before it refuses the card until the
booth resets it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 6
SALT_BYTES = 16
HASH_BYTES = 32
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
# Payments above this many yen ask for the PIN unless the card says otherwise (0: always).
DEFAULT_PIN_ABOVE = 3_000
MAX_PIN_ABOVE = 1_000_000
# Wrong PINs in a row at one terminal before it refuses the card.
MAX_PIN_TRIES = 3


class PinError(ValueError):
    """A PIN or a stored PIN that is not well formed; the message says what is wrong."""


def check_format(pin: object) -> str:
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or \
            not PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
        raise PinError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")
    return pin


def check_above(above: object) -> int:
    if type(above) is not int or not 0 <= above <= MAX_PIN_ABOVE:
        raise PinError(f"the PIN amount is a whole number of yen from 0 to {MAX_PIN_ABOVE:,}")
    return above


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                          maxmem=SCRYPT_MAXMEM, dklen=HASH_BYTES)


def make(pin: str, above: int = DEFAULT_PIN_ABOVE) -> dict[str, Any]:
    """What is stored for a card's PIN: salt and hash (hex) and the amount above which it is
    asked."""
    salt = secrets.token_bytes(SALT_BYTES)
    return {"salt": salt.hex(), "hash": _hash(check_format(pin), salt).hex(),
            "above": check_above(above)}


def check_stored(stored: object) -> dict[str, Any]:
    """A stored PIN as records and snapshots carry it, checked for shape."""
    if not isinstance(stored, dict) or set(stored) != {"salt", "hash", "above"}:
        raise PinError("a stored PIN is {salt, hash, above}")
    for name, size in (("salt", SALT_BYTES), ("hash", HASH_BYTES)):
        value = stored[name]
        if not isinstance(value, str) or len(value) != 2 * size:
            raise PinError(f"the PIN's {name} is {size} bytes in hex")
        try:
            bytes.fromhex(value)
        except ValueError as exc:
            raise PinError(f"the PIN's {name} is {size} bytes in hex") from exc
    check_above(stored["above"])
    return stored


def asked(stored: dict[str, Any] | None, amount: int) -> bool:
    """Whether a payment of `amount` yen with this card needs its PIN."""
    return stored is not None and amount > stored["above"]


def matches(pin: object, stored: dict[str, Any]) -> bool:
    """Whether `pin` is the card's PIN (compared in constant time)."""
    try:
        check_format(pin)
    except PinError:
        return False
    assert isinstance(pin, str)
    return hmac.compare_digest(_hash(pin, bytes.fromhex(stored["salt"])),
                               bytes.fromhex(stored["hash"]))
