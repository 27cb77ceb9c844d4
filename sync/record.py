"""The journal record (DESIGN §4), the chain that links records, and the ledger's signed head.

A record is a JSON object with the fields `v, terminal_id, seq, tx_id, key_id, prev, at, type,
body, totals, sig`. The signature covers the canonical bytes of every field but `sig`; the
record's hash is SHA-256 over the canonical bytes of the whole signed record, and the next
record's `prev` is that hash, so the chain covers signatures too. `totals` are running
perpetual totals (count and yen per record type), so a tail cut from a journal shows.

`Chain` walks records one by one and is used by the terminal's `verify` and by the ledger's
ingest alike: the same rules, checked by the same code.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync import canonical, ids, keys, vocab
from sync.errors import SyncPackageError

RECORD_VERSION = 1
RECORD_TYPES = vocab.RECORD_TYPES
FIELDS = frozenset(
    {"v", "terminal_id", "seq", "tx_id", "key_id", "prev", "at", "type", "body", "totals", "sig"}
)
# Checked with fullmatch: "$" alone would also match before a trailing newline.
TERMINAL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# A record is a sale, not a document: anything larger is a bug or an attack.
MAX_RECORD_BYTES = 16 * 1024
# One record never moves more than this; a sanity bound far above any real sale or float.
MAX_RECORD_AMOUNT = 10**10
GENESIS_LABEL = b"machi-pos/genesis/v1\n"


class RecordError(SyncPackageError, ValueError):
    """A record that breaks the contract. `code` is stable and is what the UI translates."""

    code = "malformed"

    def __init__(self, message: str, seq: int | None = None, code: str | None = None) -> None:
        prefix = f"seq {seq}: " if seq is not None else ""
        super().__init__(prefix + message)
        self.message = message
        self.seq = seq
        if code is not None:
            self.code = code


def genesis_prev(terminal_id: str) -> str:
    """The `prev` of seq 1: a hash of the terminal id."""
    return hashlib.sha256(GENESIS_LABEL + terminal_id.encode("utf-8")).hexdigest()


def signed_bytes(record: dict[str, Any]) -> bytes:
    """The bytes the signature covers: the record without `sig`."""
    return canonical.dumps({k: v for k, v in record.items() if k != "sig"})


def signed_bytes_of(record: dict[str, Any], data: bytes) -> bytes:
    """`signed_bytes(record)`, given `data`, the canonical bytes of the whole record.

    Canonical bytes are `{` + the members in sorted key order, joined by `,` + `}`, each
    member encoded on its own; so the signed bytes are `data` with the member `"sig":...`
    and one comma taken out. Only the members after `sig` are encoded again here (to know
    where it ends), not the whole record, and by orjson alone (they are compared with
    bytes known to be canonical); if `data` does not end as they say, the signed bytes
    are made the long way, so the answer is always that of `signed_bytes`.
    """
    sig = record.get("sig")
    if type(sig) is str:
        tail = canonical.dumps_member_tail({k: v for k, v in record.items() if k > "sig"})
        cut = b',"sig":' + canonical.dumps_member_tail(sig) + \
            (b"," + tail[1:] if len(tail) > 2 else b"}")
        if data.endswith(cut) and data.startswith(b"{") and len(data) > len(cut) + 1:
            if len(tail) > 2:
                return data[: len(data) - len(cut)] + b"," + tail[1:]
            return data[: len(data) - len(cut)] + b"}"
    return signed_bytes(record)


def record_hash(record_bytes: bytes) -> str:
    """Hash of a whole signed record, given its canonical bytes."""
    return hashlib.sha256(record_bytes).hexdigest()


def record_amount(record: dict[str, Any]) -> int:
    """The yen a record moves (0 for records that move none)."""
    return record["body"].get("amount", 0)


def next_totals(totals: dict[str, Any], rtype: str, amount: int) -> dict[str, Any]:
    """Running totals after one more record of `rtype` moving `amount` yen."""
    out = {k: dict(v) for k, v in totals.items()}
    entry = out.setdefault(rtype, {"n": 0, "yen": 0})
    entry["n"] += 1
    entry["yen"] += amount
    return out


def totals_follow(totals: dict[str, Any], after: Any, rtype: str, amount: int) -> bool:
    """`after == next_totals(totals, rtype, amount)`, without building the new totals (the
    ledger asks this of every record, and totals grow with every record type used)."""
    if type(after) is not dict:
        return False
    entry = totals.get(rtype)
    n, yen = (entry["n"], entry["yen"]) if entry is not None else (0, 0)
    if len(after) != len(totals) + (entry is None) or \
            after.get(rtype) != {"n": n + 1, "yen": yen + amount}:
        return False
    for kind, value in totals.items():
        if kind != rtype and after.get(kind) != value:
            return False
    return True


def format_time(moment: datetime) -> str:
    """ISO 8601 with milliseconds and the UTC offset, as records carry it."""
    if moment.tzinfo is None:
        raise RecordError("record time needs a UTC offset")
    return moment.isoformat(timespec="milliseconds")


def build(
    *,
    terminal_id: str,
    seq: int,
    tx_id: str,
    key_id: str,
    prev: str,
    at: datetime,
    rtype: str,
    body: dict[str, Any],
    prev_totals: dict[str, Any],
) -> dict[str, Any]:
    """An unsigned record, checked against the contract."""
    if rtype not in RECORD_TYPES:
        raise RecordError(f"unknown record type {rtype!r}", seq)
    record = {
        "v": RECORD_VERSION,
        "terminal_id": terminal_id,
        "seq": seq,
        "tx_id": tx_id,
        "key_id": key_id,
        "prev": prev,
        "at": format_time(at),
        "type": rtype,
        "body": body,
    }
    _check_body(rtype, body, seq)
    record["totals"] = next_totals(prev_totals, rtype, record_amount(record))
    return record


def sign(
    record: dict[str, Any],
    private_key: keys.PrivateKey,
    verify_with: keys.PublicKey | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Sign an unsigned record; returns the signed record and its canonical bytes.

    With `verify_with`, the new signature is checked over the very bytes that were signed
    before anything is returned, so a fault in signing never reaches the journal.
    """
    message = signed_bytes(record)
    signed = dict(record)
    signed["sig"] = keys.sign(private_key, keys.CONTEXT_RECORD, message)
    if verify_with is not None:
        keys.verify(verify_with, keys.CONTEXT_RECORD, message, signed["sig"])
    data = canonical.dumps(signed)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"record is {len(data)} bytes, over {MAX_RECORD_BYTES}", record["seq"])
    return signed, data


def _check_body(rtype: str, body: Any, seq: Any) -> None:
    if not isinstance(body, dict):
        raise RecordError("body is not an object", seq)
    amount = body.get("amount", 0)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise RecordError("body.amount is not an integer number of yen", seq)
    if not 0 <= amount <= MAX_RECORD_AMOUNT:
        raise RecordError(f"body.amount {amount} is outside 0..{MAX_RECORD_AMOUNT}", seq)
    if rtype in ("start", "key_rotate"):
        try:
            keys.load_public_key_hex(body.get("public_key", ""))
        except keys.KeyFormatError as exc:
            raise RecordError(f"{rtype} body.public_key: {exc}", seq) from exc


def _require(cond: bool, message: str, seq: Any) -> None:
    if not cond:
        raise RecordError(message, seq if isinstance(seq, int) else None)


def check_shape(record: Any) -> None:
    """Raise RecordError unless `record` has every field, of the right form."""
    _require(isinstance(record, dict), "record is not an object", None)
    seq = record.get("seq")
    if record.keys() != FIELDS:
        missing, extra = FIELDS - record.keys(), record.keys() - FIELDS
        _require(not missing, f"missing fields: {', '.join(sorted(missing))}", seq)
        _require(not extra, f"unknown fields: {', '.join(sorted(extra))}", seq)
    version = record["v"]
    _require(type(version) is int and version == RECORD_VERSION, f"bad version {version!r}", seq)
    _require(
        isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1, "seq is not >= 1", None
    )
    tid = record["terminal_id"]
    _require(isinstance(tid, str) and bool(TERMINAL_ID_RE.fullmatch(tid)), "bad terminal_id", seq)
    try:
        ids.check(record["tx_id"])
    except ids.IdError as exc:
        raise RecordError(f"tx_id: {exc}", seq) from exc
    for name, pattern in (("key_id", KEY_ID_RE), ("prev", HASH_RE)):
        value = record[name]
        _require(isinstance(value, str) and bool(pattern.fullmatch(value)), f"bad {name}", seq)
    _require(isinstance(record["sig"], str), "sig is not text", seq)
    _require(record["type"] in RECORD_TYPES, f"unknown type {record['type']!r}", seq)
    try:
        at = datetime.fromisoformat(record["at"])
    except (TypeError, ValueError) as exc:
        raise RecordError("at is not an ISO 8601 time", seq) from exc
    _require(at.tzinfo is not None, "at has no UTC offset", seq)
    _check_body(record["type"], record["body"], seq)
    _require(isinstance(record["totals"], dict), "totals is not an object", seq)


def parse(data: bytes) -> dict[str, Any]:
    """Canonical bytes of a signed record -> the record, its shape checked."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"record is {len(data)} bytes, over {MAX_RECORD_BYTES}")
    try:
        record = canonical.loads(data)
    except canonical.CanonicalError as exc:
        raise RecordError(str(exc)) from exc
    check_shape(record)
    return record


@dataclass
class Chain:
    """The state after the last verified record of one terminal's journal.

    `advance` checks one more record: shape, gap-free seq, `prev`, totals, key and signature.
    A `start` record (seq 1) names the terminal's key; a `key_rotate` record, signed by the
    current key, names the next one.
    """

    terminal_id: str
    seq: int = 0
    hash: str = ""
    totals: dict[str, Any] = field(default_factory=dict)
    public_key_hex: str = ""
    _key_cache: keys.PublicKey | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.hash:
            self.hash = genesis_prev(self.terminal_id)

    def advance(self, data: bytes, record: dict[str, Any] | None = None,
                verified_with: str = "") -> dict[str, Any]:
        """Check the record `data` follows; on success move past it and return it.

        `record`, when given, must be the record `data` holds (`data` being its canonical
        bytes, as `canonical.dumps(record)` makes them); it saves parsing `data` again.
        `verified_with` is the hex of a public key the caller has already seen this very
        record's signature verify under (the ledger checks a batch's signatures ahead, in
        parallel: ledger.verifier); when it is the key the chain expects here, the
        signature is not checked twice. Every other check still runs.
        """
        if record is None:
            record = parse(data)
        seq = record["seq"]
        if record["terminal_id"] != self.terminal_id:
            raise RecordError("record belongs to another terminal", seq, code="wrong_terminal")
        if seq != self.seq + 1:
            raise RecordError(f"expected seq {self.seq + 1}", seq, code="seq_gap")
        if record["prev"] != self.hash:
            raise RecordError(
                "prev is not the hash of the previous record", seq, code="chain_broken"
            )
        if seq == 1:
            if record["type"] != "start":
                raise RecordError("the first record is not a start record", seq)
            public_key = keys.load_public_key_hex(record["body"]["public_key"])
        elif record["type"] == "start":
            raise RecordError("a start record after seq 1", seq)
        else:
            public_key = self._current_key()
        if record["key_id"] != public_key.key_id:
            raise RecordError("key_id is not the terminal's current key", seq, code="unknown_key")
        if not totals_follow(self.totals, record["totals"], record["type"],
                             record_amount(record)):
            raise RecordError(
                "totals do not follow from the previous record", seq, code="totals_mismatch"
            )
        if not verified_with or verified_with != public_key.hex:
            _verify_signature(record, data, public_key)
        self.seq = seq
        self.hash = record_hash(data)
        self.totals = record["totals"]
        if record["type"] in ("start", "key_rotate"):
            self.public_key_hex = record["body"]["public_key"]
        return record

    def _current_key(self) -> keys.PublicKey:
        cached = self._key_cache
        if cached is None or cached.hex != self.public_key_hex:
            cached = self._key_cache = keys.load_public_key_hex(self.public_key_hex)
        return cached


def _verify_signature(record: dict[str, Any], data: bytes, public_key: keys.PublicKey) -> None:
    try:
        keys.verify(public_key, keys.CONTEXT_RECORD, signed_bytes_of(record, data),
                    record["sig"])
    except keys.SignatureError as exc:
        raise RecordError(f"{exc} (record altered?)", record["seq"], code="bad_signature") from exc


# --- the ledger's signed head ---------------------------------------------------------------

HEAD_FIELDS = frozenset({"v", "terminal_id", "seq", "hash", "key_id", "sig"})


def sign_head(
    terminal_id: str, seq: int, hash_hex: str, private_key: keys.PrivateKey
) -> dict[str, Any]:
    """The ledger's receipt: it holds this terminal's journal up to `seq`, ending in `hash_hex`."""
    head = {
        "v": RECORD_VERSION,
        "terminal_id": terminal_id,
        "seq": seq,
        "hash": hash_hex,
        "key_id": keys.key_id(private_key.public_key()),
    }
    head["sig"] = keys.sign(private_key, keys.CONTEXT_HEAD, canonical.dumps(head))
    return head


def verify_head(head: Any, ledger_keys: dict[str, keys.PublicKey]) -> dict[str, Any]:
    """Raise RecordError unless `head` is well formed and signed by one of `ledger_keys`."""
    if not isinstance(head, dict) or head.keys() != HEAD_FIELDS:
        raise RecordError("head does not have the head fields", code="bad_head")
    seq = head["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise RecordError("head seq is not >= 1", code="bad_head")
    if not isinstance(head["hash"], str) or not HASH_RE.fullmatch(head["hash"]):
        raise RecordError("head hash is malformed", seq, code="bad_head")
    public_key = ledger_keys.get(head["key_id"])
    if public_key is None:
        raise RecordError("head is signed by an unknown ledger key", seq, code="bad_head")
    unsigned = {k: v for k, v in head.items() if k != "sig"}
    try:
        keys.verify(public_key, keys.CONTEXT_HEAD, canonical.dumps(unsigned), head["sig"])
    except (keys.SignatureError, canonical.CanonicalError) as exc:
        raise RecordError(f"head: {exc}", seq, code="bad_head") from exc
    return head
