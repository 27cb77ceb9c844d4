"""128-bit time-sortable ids, made on the terminal and saved before the first send.

Layout: 48 bits of Unix time in milliseconds, then 80 random bits; written as 26 characters of
Crockford base32, so ids sort as text in the order they were made. Within one process the ids
are strictly increasing even when the clock stands still or steps back: the random part of the
previous id is then incremented instead of drawn anew.
"""

from __future__ import annotations

import os
import re
import threading
import time

from sync.errors import SyncPackageError

TIME_BITS = 48
RANDOM_BITS = 80
ID_LENGTH = 26
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {ch: i for i, ch in enumerate(_ALPHABET)}
_ID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_MAX_RANDOM = (1 << RANDOM_BITS) - 1
_MAX_TIME = (1 << TIME_BITS) - 1


class IdError(SyncPackageError, ValueError):
    """Text that is not a well-formed id."""

    code = "bad_id"


def encode(value: int) -> str:
    if not 0 <= value < 1 << 128:
        raise IdError("an id is a 128-bit unsigned integer")
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def check(text: object) -> None:
    """Raise IdError unless `text` is a well-formed id (what `decode` checks, without the
    decoding: the ledger checks every record's id this way)."""
    if not isinstance(text, str) or not _ID_RE.fullmatch(text):
        raise IdError(f"{text!r} is not a 26-character Crockford base32 id")


def decode(text: str) -> int:
    check(text)
    value = 0
    for ch in text:
        value = (value << 5) | _DECODE[ch]
    return value


def timestamp_ms(text: str) -> int:
    """The millisecond Unix time an id was made at."""
    return decode(text) >> RANDOM_BITS


class IdGenerator:
    """Strictly increasing ids for one process (thread-safe)."""

    def __init__(self, clock_ms=None, random_bytes=os.urandom) -> None:
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._random_bytes = random_bytes
        self._lock = threading.Lock()
        self._last = -1

    def new(self) -> str:
        with self._lock:
            now = min(self._clock_ms(), _MAX_TIME)
            last_ms, last_random = self._last >> RANDOM_BITS, self._last & _MAX_RANDOM
            if self._last >= 0 and now <= last_ms:
                if last_random == _MAX_RANDOM:
                    now, rand = last_ms + 1, 0
                else:
                    now, rand = last_ms, last_random + 1
            else:
                rand = int.from_bytes(self._random_bytes(RANDOM_BITS // 8), "big")
            self._last = (now << RANDOM_BITS) | rand
            return encode(self._last)


_default = IdGenerator()


def new_id() -> str:
    """A fresh id from the process-wide generator."""
    return _default.new()
