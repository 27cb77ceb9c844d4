"""Canonical bytes: the one encoding that is signed, hashed and sent.

UTF-8 JSON with keys sorted by code point, no insignificant spaces, and integers as the only
numbers. Floats (and so NaN and infinities), non-string keys, lone surrogates, integers past
the range every JSON reader holds exactly, and values JSON has no word for are refused before
anything is written, so two machines can never disagree on the bytes of one value.
"""

from __future__ import annotations

import json
from typing import Any

from sync.errors import SyncPackageError

try:
    import orjson
except ImportError:  # optional: the standard library makes the very same bytes, slower
    orjson = None  # type: ignore[assignment]

# Integers beyond ±(2**53 - 1) lose precision in JavaScript and in many JSON readers.
MAX_SAFE_INTEGER = 2**53 - 1
# Deeply nested values are a denial-of-service shape, never a real record.
MAX_DEPTH = 32
# Refuse to parse anything larger than this in one go (a batch is parsed record by record).
MAX_DOCUMENT_BYTES = 1 << 20


class CanonicalError(SyncPackageError, ValueError):
    """A value that has no canonical encoding, or bytes that are not canonical."""

    code = "not_canonical"

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} (at {path})")
        self.reason = message
        self.path = path


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("text holds a lone surrogate (not UTF-8)", path) from exc


def check(value: Any, path: str = "$", depth: int = 0) -> None:
    """Raise CanonicalError unless `value` has a canonical encoding."""
    if depth > MAX_DEPTH:
        raise CanonicalError(f"nested deeper than {MAX_DEPTH} levels", path)
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside ±(2**53 - 1)", path)
        return
    if isinstance(value, float):
        raise CanonicalError(f"floats are not allowed ({value!r}); use integer yen or units", path)
    if isinstance(value, str):
        _check_text(value, path)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} is not a string", path)
            _check_text(key, path)
            check(item, f"{path}.{key}", depth + 1)
        return
    raise CanonicalError(f"{type(value).__name__} has no JSON form", path)


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _plain(value: Any, depth: int) -> bool:
    """Fast test that `value` is made of exactly the allowed types (no error paths built).

    Lone surrogates are not looked for here: UTF-8 encoding of the output refuses them.
    Leaves (most of a record) are tested in the loop, without a call each.
    """
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key in value:
            if type(key) is not str:
                return False
        items: Any = value.values()
    elif kind is list:
        if depth >= MAX_DEPTH:
            return False
        items = value
    elif kind is str or kind is bool or value is None:
        return True
    elif kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    else:
        return False
    for item in items:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif not _plain(item, depth + 1):
            return False
    return True


# orjson (when installed) encodes ~10x faster than the json module. For plain values its
# sorted, compact output equals ours byte for byte as long as no text needed an escape or is
# beyond ASCII (then the two could spell a character differently); its output is used only
# when it holds nothing but printable ASCII and no backslash, else the json module decides.
# (Deleting the bytes to avoid and comparing lengths is ~10x faster than a regex search.)
_NOT_PLAIN_ASCII = bytes(range(0x20)) + b"\x7f\\"


def _plain_ascii(data: bytes) -> bool:
    """True if `data` is printable ASCII (0x20..0x7e) without a backslash."""
    return data.isascii() and len(data.translate(None, _NOT_PLAIN_ASCII)) == len(data)


def dumps(value: Any) -> bytes:
    """The canonical bytes of `value`; CanonicalError (naming where) if it has none."""
    if not _plain(value, 0):
        check(value)  # raises with the path of the first bad part, or allows subclasses
    elif orjson is not None:
        try:
            fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            fast = None  # e.g. a lone surrogate: the json module below names the problem
        if fast is not None and _plain_ascii(fast):
            return fast
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError:
        check(value)  # names the lone surrogate
        raise


def dumps_member_tail(value: Any) -> bytes:
    """The bytes of `value` as they stand in the canonical bytes of a record that holds it,
    for `record.signed_bytes_of`, which only compares them with bytes already canonical.

    orjson alone, without `_plain`'s walk: where its output is plain ASCII it is the
    canonical form of any value that has one, and a value without one cannot match bytes
    that are canonical, so a wrong guess only sends the caller the long way.
    """
    if orjson is not None:
        try:
            fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            fast = None
        if fast is not None and _plain_ascii(fast):
            return fast
    return dumps(value)


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer")


def _refuse_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def parse(data: bytes | str) -> Any:
    """Parse JSON strictly: integers only, no duplicate keys, valid UTF-8, values `check` allows.

    This accepts any spacing and key order; `loads` further insists on the canonical form.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CanonicalError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalError("bytes are not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except RecursionError as exc:
        raise CanonicalError("nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not JSON: {exc.msg} at character {exc.pos}") from exc
    check(value)
    return value


def loads(data: bytes) -> Any:
    """Parse canonical bytes; bytes that are valid JSON but not canonical are refused."""
    value = parse(data)
    if dumps(value) != data:
        raise CanonicalError("JSON is not in canonical form (key order, spacing or escapes)")
    return value
