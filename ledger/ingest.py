"""Exactly-once ingest of terminal journals (DESIGN §7, §8).

For each record of a batch the answer is `created`, `exists` (the very same bytes are
already stored) or `rejected` with a reason. A different record at a stored seq is a fork:
refused, flagged, and the terminal suspended. Records are taken in seq order, so a batch may
arrive shuffled; a record past a gap waits for the terminal to send the missing ones.

The work is split so that the write transaction stays short: canonical bytes, hashes, the
chain walk and every signature check run first, against the terminal's state read without
a lock; the transaction then locks the terminal's row, re-checks that nobody moved its
chain meanwhile (else walks again under the lock), and writes. Signature checks are thus
outside SQLite's single write lock, and parallel server processes verify in parallel.

Within one batch the signatures are checked before the walk, most of them in a helper
process fed while the batch is read (ledger.verifier: one terminal's batch is otherwise
bound to one core); the walk still checks everything else itself, and verifies again any
record that did not pass under the key the chain expects there (after a key rotation in
the batch, or a bad signature, which it then names).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ledger.db import Connection, Database
from ledger.postings import Batch
from ledger.schema import now_us
from ledger.service import LedgerError
from ledger.verifier import SharedVerifier, process_verifier
from sync import canonical, keys, record

MAX_BATCH_RECORDS = 5_000


class IngestError(LedgerError):
    """A batch refused as a whole (HTTP 4xx): a LedgerError like every other refusal."""


@dataclass
class TerminalState:
    terminal_id: str
    merchant_id: str
    merchant_class: str
    status: str
    public_key: str
    last_seq: int
    last_hash: str | None
    last_totals: dict[str, Any]

    def chain(self) -> record.Chain:
        chain = record.Chain(self.terminal_id, public_key_hex=self.public_key)
        if self.last_seq:
            chain.seq, chain.hash, chain.totals = self.last_seq, self.last_hash, self.last_totals
        return chain


@dataclass
class Outcome:
    seq: int | None
    status: str
    reason: str = ""
    message: str = ""
    data: bytes = b""
    rec: dict | None = None
    hash: str = ""
    # The key (hex) the record's signature was seen to verify under before the walk.
    verified_with: str = ""

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "status": self.status}
        if self.reason:
            out["reason"], out["message"] = self.reason, self.message
        return out


@dataclass
class Walk:
    """The outcome of walking a batch from a given chain state."""

    start: tuple[int, str | None]
    outcomes: list[Outcome] = field(default_factory=list)
    chain: record.Chain | None = None
    public_key: str = ""


def load_terminal(conn: Connection, terminal_id: str, lock: bool) -> TerminalState | None:
    row = conn.one(
        "SELECT t.terminal_id, t.merchant_id, m.class, t.status, t.public_key, t.last_seq, "
        "t.last_hash, t.last_totals FROM terminals t JOIN merchants m "
        "ON m.merchant_id = t.merchant_id WHERE t.terminal_id = ?"
        + (conn.for_update.replace(" FOR UPDATE", " FOR UPDATE OF t") if lock else ""),
        (terminal_id,),
    )
    if row is None:
        return None
    return TerminalState(*row[:7], json.loads(row[7]))


def _prepare(raw_records: list[Any], public_key_hex: str,
             verifier: SharedVerifier) -> list[Outcome]:
    """Canonical bytes and shape of each record, sorted by seq; bad ones rejected. Each
    good record's signature is handed to the verifier as it is read (under the terminal's
    enrolled key), so the checks run while the rest of the batch is still being read."""
    try:
        public_key: keys.PublicKey | None = keys.load_public_key_hex(public_key_hex)
    except keys.KeyFormatError:
        public_key = None  # the walk refuses the records one by one, naming the key
    prepared: list[Outcome] = []
    fed: list[Outcome] = []
    with verifier.batch(public_key.raw if public_key else b"",
                        len(raw_records) if public_key else 0) as checks:
        for item in raw_records:
            try:
                data = canonical.dumps(item)
                record.check_shape(item)
            except (canonical.CanonicalError, record.RecordError) as exc:
                seq = item.get("seq") if isinstance(item, dict) else None
                prepared.append(
                    Outcome(seq if type(seq) is int else None, "rejected", "malformed",
                            str(exc))
                )
                continue
            # The hash is left to the walk: the chain makes it for new records anyway.
            out = Outcome(item["seq"], "", data=data, rec=item)
            prepared.append(out)
            if public_key is None:
                continue
            try:
                signature = bytes.fromhex(item["sig"])
            except ValueError:
                continue  # the walk names it
            if len(signature) == keys.SIGNATURE_BYTES:
                checks.feed((keys.CONTEXT_RECORD + record.signed_bytes_of(item, data),
                             signature))
                fed.append(out)
        answers = checks.finish() if fed else []
    for out, ok in zip(fed, answers, strict=True):
        if ok:
            out.verified_with = public_key_hex
    prepared.sort(key=lambda o: (o.seq is None, o.seq or 0))
    return prepared


def _walk(state: TerminalState, prepared: list[Outcome], stored: dict[int, str]) -> Walk:
    chain = state.chain()
    walk = Walk((state.last_seq, state.last_hash), chain=chain)
    seen: set[int] = set()
    for item in prepared:
        if item.status == "rejected":
            walk.outcomes.append(item)
            continue
        out = Outcome(item.seq, "", data=item.data, rec=item.rec, hash=item.hash)
        rec = item.rec
        assert rec is not None
        if rec["terminal_id"] != state.terminal_id:
            out.status, out.reason = "rejected", "wrong_terminal"
            out.message = "the record names another terminal"
        elif item.seq in seen:
            out.status, out.reason = "rejected", "duplicate_in_batch"
            out.message = "the batch holds this seq twice"
        elif item.seq <= chain.seq:
            out.hash = record.record_hash(item.data)
            if stored.get(item.seq) == out.hash:
                out.status = "exists"
            else:
                out.status, out.reason = "rejected", "fork"
                out.message = "a different record is already stored at this seq"
        elif item.seq > chain.seq + 1:
            out.status, out.reason = "rejected", "gap"
            out.message = f"expected seq {chain.seq + 1} first"
        else:
            try:
                if item.seq == 1 and rec["body"].get("public_key") != state.public_key:
                    raise record.RecordError(
                        "the start record names a key other than the enrolled one", 1,
                        code="unknown_key",
                    )
                chain.advance(item.data, rec, item.verified_with)
                out.status, out.hash = "created", chain.hash
            except record.RecordError as exc:
                out.status, out.reason, out.message = "rejected", exc.code, exc.message
        seen.add(item.seq)
        walk.outcomes.append(out)
    walk.public_key = chain.public_key_hex
    return walk


def _stored_hashes(conn: Connection, terminal_id: str, prepared: list[Outcome],
                   last_seq: int) -> dict[int, str]:
    old = [o.seq for o in prepared if o.seq is not None and o.seq <= last_seq and o.rec]
    if not old:
        return {}
    rows = conn.all(
        "SELECT seq, hash FROM records WHERE terminal_id = ? AND seq >= ? AND seq <= ?",
        (terminal_id, min(old), max(old)),
    )
    return dict(rows)


class Ingestor:
    """Takes journal batches for one ledger, signing heads with the ledger's key."""

    def __init__(self, db: Database, ledger_key: keys.PrivateKey,
                 verifier: SharedVerifier | None = None) -> None:
        self.db = db
        self.ledger_key = ledger_key
        self.verifier = verifier or process_verifier()

    def ingest(self, terminal_id: str, raw_records: list[Any]) -> dict[str, Any]:
        if len(raw_records) > MAX_BATCH_RECORDS:
            raise IngestError(f"a batch holds at most {MAX_BATCH_RECORDS} records", 413)
        with self.db.reading() as conn:
            state = load_terminal(conn, terminal_id, lock=False)
        self._check_state(state)
        assert state is not None
        prepared = _prepare(raw_records, state.public_key, self.verifier)
        with self.db.reading() as conn:
            stored = _stored_hashes(conn, terminal_id, prepared, state.last_seq)
        walk = _walk(state, prepared, stored)

        def apply(conn: Connection) -> tuple[Walk, TerminalState]:
            locked = load_terminal(conn, terminal_id, lock=True)
            self._check_state(locked)
            assert locked is not None
            current = walk
            if (locked.last_seq, locked.last_hash) != walk.start:
                fresh = _stored_hashes(conn, terminal_id, prepared, locked.last_seq)
                current = _walk(locked, prepared, fresh)
            self._write(conn, locked, current)
            return current, locked

        done, locked = self.db.transaction(apply)
        chain = done.chain
        assert chain is not None
        head = None
        if chain.seq:
            head = record.sign_head(terminal_id, chain.seq, chain.hash, self.ledger_key)
        return {
            "terminal_id": terminal_id,
            "acked_seq": chain.seq,
            "head": head,
            "results": [o.answer() for o in done.outcomes],
        }

    @staticmethod
    def _check_state(state: TerminalState | None) -> None:
        if state is None:
            raise IngestError("unknown terminal", 401, "unenrolled")
        if state.status != "active":
            raise IngestError(f"the terminal is {state.status}", 403, state.status)

    def _write(self, conn: Connection, state: TerminalState, walk: Walk) -> None:
        now = now_us()
        created = [o for o in walk.outcomes if o.status == "created"]
        forks = [o for o in walk.outcomes if o.reason == "fork"]
        bad_sigs = [o for o in walk.outcomes if o.reason == "bad_signature"]
        batch = Batch(conn, state.terminal_id, (state.merchant_id, state.merchant_class))
        refs = [o.rec for o in created if o.rec]
        batch.load(*Batch.references(refs))
        batch.load_campaigns(refs)
        conn.insert_rows(
            "records", ("terminal_id", "seq", "tx_id", "type", "at", "hash", "record",
                        "received_us"),
            [(state.terminal_id, o.seq, o.rec["tx_id"], o.rec["type"], o.rec["at"], o.hash,
              o.data.decode("utf-8"), now) for o in created if o.rec],
        )
        for o in created:
            assert o.rec is not None
            batch.post_record(o.rec, f"{state.terminal_id}/{o.seq}", now)
        for o in forks:
            batch.flag("fork", o.rec, seq_hash=o.hash)
        for o in bad_sigs:
            batch.flag("bad_signature", o.rec)
        batch.write(conn, now)
        chain = walk.chain
        assert chain is not None
        status, reason = state.status, None
        if forks:
            status, reason = "suspended", f"fork at seq {forks[0].seq}"
        if created or forks:
            conn.execute(
                "UPDATE terminals SET last_seq = ?, last_hash = ?, last_totals = ?, "
                "public_key = ?, status = ?, status_reason = COALESCE(?, status_reason) "
                "WHERE terminal_id = ?",
                (chain.seq, chain.hash, json.dumps(chain.totals, sort_keys=True),
                 walk.public_key, status, reason, state.terminal_id),
            )

