"""Which ledger keys a terminal trusts, and how a new one is learnt (DESIGN §10).

A terminal pins the ledger's keys when it enrolls (the installer compares the fingerprint,
`keys.fingerprint`, with the one the ledger's operator reads off `ledger admin show-key`).
After that a new ledger key is trusted only through a *rotation statement*: the new public
key, signed by a key the terminal already trusts. Keys that arrive any other way (a snapshot
page listing a key with no statement, a statement signed by an unknown key, a statement that
does not verify) are refused and add nothing. Statements chain: A signs B, B signs C, so a
terminal that slept through two rotations still reaches C from A.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync import canonical, keys
from sync.errors import SyncPackageError

ROTATION_VERSION = 1
ROTATION_FIELDS = frozenset({"v", "key_id", "public_key", "by", "at_ms", "sig"})
# A chain longer than this is not a ledger's history of rotations but an attack on our time.
MAX_ROTATION_CHAIN = 32


class TrustError(SyncPackageError, ValueError):
    """A key the terminal must not trust; `code` is stable."""

    code = "untrusted_key"

    def __init__(self, message: str, code: str = "untrusted_key") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def sign_rotation(old: keys.PrivateKey, new: keys.PublicKey, at_ms: int) -> dict[str, Any]:
    """The statement by which `old` vouches for `new`."""
    statement = {"v": ROTATION_VERSION, "key_id": new.key_id, "public_key": new.hex,
                 "by": old.public_key().key_id, "at_ms": at_ms}
    statement["sig"] = keys.sign(old, keys.CONTEXT_ROTATION, canonical.dumps(statement))
    return statement


def verify_rotation(statement: Any, pinned: Mapping[str, keys.PublicKey]) -> keys.PublicKey:
    """The key a statement vouches for, when a pinned key signed it; TrustError otherwise."""
    if not isinstance(statement, dict) or statement.keys() != ROTATION_FIELDS or \
            statement.get("v") != ROTATION_VERSION:
        raise TrustError("a key rotation statement is malformed", "bad_rotation")
    by = pinned.get(statement["by"]) if isinstance(statement["by"], str) else None
    if by is None:
        raise TrustError("a key rotation is signed by a key this terminal does not trust")
    try:
        new = keys.load_public_key_hex(statement["public_key"])
    except keys.KeyFormatError as exc:
        raise TrustError(f"a key rotation names a malformed key: {exc}", "bad_rotation") from exc
    if new.key_id != statement["key_id"] or type(statement["at_ms"]) is not int:
        raise TrustError("a key rotation's key id does not match its key", "bad_rotation")
    unsigned = {k: v for k, v in statement.items() if k != "sig"}
    try:
        keys.verify(by, keys.CONTEXT_ROTATION, canonical.dumps(unsigned), statement["sig"])
    except (keys.SignatureError, canonical.CanonicalError) as exc:
        raise TrustError("a key rotation's signature does not verify") from exc
    return new


def learn(statements: Iterable[Any], pinned: Mapping[str, keys.PublicKey]
          ) -> list[tuple[keys.PublicKey, dict[str, Any]]]:
    """The new keys (with the statement for each) that `statements` prove from `pinned`,
    following chains in any order; statements that prove nothing are left out."""
    trusted = dict(pinned)
    waiting = [s for s in statements if isinstance(s, dict) and
               isinstance(s.get("key_id"), str) and isinstance(s.get("by"), str)
               ][:MAX_ROTATION_CHAIN]
    learnt: list[tuple[keys.PublicKey, dict[str, Any]]] = []
    progress = True
    while waiting and progress:
        progress = False
        for statement in list(waiting):
            if statement.get("key_id") in trusted:
                waiting.remove(statement)
                continue
            try:
                new = verify_rotation(statement, trusted)
            except TrustError:
                continue
            trusted[new.key_id] = new
            learnt.append((new, statement))
            waiting.remove(statement)
            progress = True
    return learnt
