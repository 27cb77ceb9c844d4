"""Exactly-once ingest of terminal journals (DESIGN §7, §8).

For each record of a batch the answer is `created`, `exists` (the very same bytes are
already stored) or `rejected` with a reason. A different record at a stored seq is a fork:
refused, flagged, and the terminal suspended. Records are taken in seq order, so a batch may
arrive shuffled; a record past a gap waits for the terminal to send the missing ones.

A batch arrives as JSON values or, from our own terminals, as the lines of an NDJSON body:
each line the canonical bytes of one record, which then need not be made again here.

Everything about a record that does not depend on the ledger's state (canonical bytes,
shape, signature under the enrolled key, body rules) is checked first, most of it in a
helper process fed while the batch is read (ledger.verifier: one terminal's batch is
otherwise bound to one core). The transaction then locks the terminal's row, walks the
chain from where it stands, and posts and writes the records in runs of POST_CHUNK_RECORDS,
taking the helper's answers as it goes: the helper checks the next run while this side
writes the last one (a helper that stops answering holds the transaction at most
ledger.verifier.HELPER_ANSWER_TIMEOUT_S; then the records are checked here). The walk still
checks everything that depends on the chain itself, and verifies again any record that did
not pass under the key the chain expects there (after a key rotation in the batch, or a bad
signature, which it then names).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ledger import observe
from ledger.db import Connection, Database
from ledger.errors import LedgerPackageError
from ledger.postings import Batch
from ledger.schema import now_us
from ledger.service import LedgerError
from ledger.verifier import (
    BODY_OK,
    CANONICAL,
    SIGNED,
    CheckBatch,
    SharedVerifier,
    process_verifier,
)
from sync import canonical, keys, record, wire

MAX_BATCH_RECORDS = 5_000
# Records walked, posted and written in one go inside the transaction: small enough that
# the helper's answers for the next run come while this one is written, large enough that
# the statements of a run stay few per record (500 against 200: ~7 % less CPU here per
# record, the same push rate; the helper is mostly busy with the next batch by then).
POST_CHUNK_RECORDS = 500
# A batch whose first record does not follow the stored chain is tried again every
# BEHIND_POLL_S for up to BEHIND_WAIT_S (the batch before it, pushed just ahead on another
# connection, is usually being written) before its records are answered `gap`.
BEHIND_WAIT_S = 1.0
BEHIND_POLL_S = 0.005
# A record's `at` is flagged `clock_outside_window` when it lies later than the ledger's
# receive time, or earlier than the terminal's enrollment, by more than this: honest clocks
# differ by seconds, a terminal's clock is anchored to the ledger's (terminal.clock), and
# its start record is made right after the enrollment answer. (No later lower bound holds:
# a record made offline before one push may reach the ledger only after it.)
CLOCK_WINDOW_TOLERANCE_S = 300
_US_PER_S = 1_000_000


def _observe(terminal_id: str, outcomes: list[Outcome], flagged: list[str],
             seconds: float) -> None:
    """A batch's log line and metrics (counts only: nothing of the records)."""
    created = sum(1 for o in outcomes if o.status == "created")
    duplicates = sum(1 for o in outcomes if o.status == "exists")
    rejected = [o.reason or "rejected" for o in outcomes
                if o.status not in ("created", "exists")]
    observe.RECORDS.labels("created").inc(created)
    observe.RECORDS.labels("duplicate").inc(duplicates)
    observe.RECORDS.labels("rejected").inc(len(rejected))
    for reason in rejected:
        observe.REFUSALS.labels(reason).inc()
    forks = rejected.count("fork")
    if forks:
        observe.FORKS.inc(forks)
    for kind in flagged:
        observe.BATCH_FLAGS.labels(kind).inc()
    observe.INGEST_SECONDS.observe(seconds)
    observe.log.info("ingest %s", observe.fields(
        terminal=terminal_id, records=len(outcomes), accepted=created, duplicates=duplicates,
        rejected=len(rejected), forks=forks, flags=len(flagged), ms=f"{seconds * 1000:.1f}"))


class IngestError(LedgerError):
    """A batch refused as a whole (HTTP 4xx): a LedgerError like every other refusal."""

    code = "batch_refused"


class _Behind(LedgerPackageError):
    """The batch begins past the end of the stored chain (the batch before it may still be
    on its way): the transaction is given up, to be tried again shortly."""

    code = "behind"


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
    enrolled_us: int | None = None
    last_at: str | None = None  # the stored last record's `at`

    def chain(self) -> record.Chain:
        chain = record.Chain(self.terminal_id, public_key_hex=self.public_key)
        if self.last_seq:
            assert self.last_hash is not None  # stored with every record's seq
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
    # Where the record was fed to the batch's checks (-1: it was not).
    index: int = -1
    # The key (hex) the record's signature was seen to verify under before the walk.
    verified_with: str = ""
    # Its body was seen to follow the rules of its type.
    body_ok: bool = False
    # What its `at` breaks, as (flag kind, detail): the walk's clock checks.
    clock_flags: tuple = ()

    def copy(self) -> Outcome:
        """A shallow copy (a quarter of what copy.copy or dataclasses.replace cost: ingest
        makes two per record)."""
        out = object.__new__(Outcome)
        out.__dict__.update(self.__dict__)
        return out

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "status": self.status}
        if self.reason:
            out["reason"], out["message"] = self.reason, self.message
        return out


def load_terminal(conn: Connection, terminal_id: str, lock: bool) -> TerminalState | None:
    row = conn.one(
        "SELECT t.terminal_id, t.merchant_id, m.class, t.status, t.public_key, t.last_seq, "
        "t.last_hash, t.last_totals, t.enrolled_us, (SELECT r.at FROM records r "
        "WHERE r.terminal_id = t.terminal_id AND r.seq = t.last_seq) FROM terminals t "
        "JOIN merchants m ON m.merchant_id = t.merchant_id WHERE t.terminal_id = ?"
        + (conn.for_update.replace(" FOR UPDATE", " FOR UPDATE OF t") if lock else ""),
        (terminal_id,),
    )
    if row is None:
        return None
    return TerminalState(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                         json.loads(row[7]), row[8], row[9])


def _time_us(at: Any) -> int | None:
    """A record's `at` as Unix microseconds; None when it is not a time with an offset."""
    try:
        moment = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return (moment - _EPOCH) // _ONE_US


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def _iso_us(us: int) -> str:
    return datetime.fromtimestamp(us / _US_PER_S, UTC).isoformat(timespec="milliseconds")


def _malformed(rec: Any, exc: Exception) -> Outcome:
    seq = rec.get("seq") if isinstance(rec, dict) else None
    return Outcome(seq if type(seq) is int else None, "rejected", "malformed", str(exc))


def _read(raw_records: list[Any], checks: CheckBatch) -> list[Outcome]:
    """Each record parsed (lines) or given its canonical bytes (JSON values) and fed to
    the checks as it is read; sorted by seq, the unreadable ones rejected."""
    items: list[Outcome] = []
    for raw in raw_records:
        if type(raw) is bytes:
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                items.append(Outcome(None, "rejected", "malformed", f"not JSON: {exc}"))
                continue
            data = raw
        else:
            rec = raw
            try:
                data = canonical.dumps(rec)
            except canonical.CanonicalError as exc:
                items.append(_malformed(rec, exc))
                continue
        seq = rec.get("seq") if isinstance(rec, dict) else None
        if len(data) > record.MAX_RECORD_BYTES:
            items.append(_malformed(rec, record.RecordError(
                f"record is {len(data)} bytes, over {record.MAX_RECORD_BYTES}",
                seq if type(seq) is int else None)))
            continue
        if type(seq) is not int:
            try:
                record.check_shape(rec)
            except record.RecordError as exc:
                items.append(_malformed(rec, exc))
                continue
        items.append(Outcome(seq, "", data=data, rec=rec, index=checks.feed(data, rec)))
    checks.check_here()
    items.sort(key=lambda o: (o.seq is None, o.seq or 0))
    return items


def _settle(item: Outcome, flags: int, key_hex: str) -> Outcome:
    """The item as the walk takes it, given what its checks found."""
    if flags & CANONICAL:
        out = item.copy()
        out.verified_with = key_hex if flags & SIGNED else ""
        out.body_ok = bool(flags & BODY_OK)
        return out
    # Sent in another form than its canonical bytes (a JSON line spelled differently), or
    # wrong: its canonical form is taken, and the walk and the postings check the rest.
    try:
        data = canonical.dumps(item.rec)
        record.check_shape(item.rec)
    except (canonical.CanonicalError, record.RecordError) as exc:
        return _malformed(item.rec, exc)
    out = item.copy()
    out.data = data
    return out


def _postable(rec: Any) -> bool:
    """A record whose references `Batch.references` can read (its shape not yet known)."""
    return isinstance(rec, dict) and isinstance(rec.get("body"), dict) and "type" in rec


class _Walk:
    """The chain walked record by record from a terminal's stored state.

    Each created record's `at` is checked against the one before it in the chain
    (`clock_backwards`) and against the window it can have been made in: from the
    terminal's enrollment to the ledger's receipt, each widened by CLOCK_WINDOW_TOLERANCE_S
    (`clock_outside_window`). Such a record is still posted (the goods were handed over);
    the flags are stored with it."""

    def __init__(self, state: TerminalState, stored: dict[int, str], received_us: int) -> None:
        self.state = state
        self.stored = stored
        self.chain = state.chain()
        self.seen: set[int] = set()
        self.prev_at = state.last_at
        self.prev_us = _time_us(state.last_at)
        tolerance = CLOCK_WINDOW_TOLERANCE_S * _US_PER_S
        self.latest_us = received_us + tolerance
        self.received_us = received_us
        self.earliest_us = None if state.enrolled_us is None else state.enrolled_us - tolerance

    def _clock(self, at: Any) -> tuple:
        """The clock flags of a created record with this `at` (which becomes the previous).
        O(1): one parse and three comparisons for a record in order and in its window."""
        us = _time_us(at)
        if us is None:
            return ()  # not a time: the record's shape check refuses it
        prev_at, prev_us = self.prev_at, self.prev_us
        self.prev_at, self.prev_us = at, us
        earliest = self.earliest_us
        if (prev_us is None or us >= prev_us) and us <= self.latest_us and \
                (earliest is None or us >= earliest):
            return ()
        found: list[tuple[str, dict]] = []
        if prev_us is not None and us < prev_us:
            found.append(("clock_backwards", {"at": at, "previous_at": prev_at,
                                              "behind_s": (prev_us - us) // _US_PER_S}))
        if us > self.latest_us:
            found.append(("clock_outside_window", {
                "at": at, "received": _iso_us(self.received_us),
                "ahead_s": (us - self.received_us) // _US_PER_S}))
        elif earliest is not None and us < earliest:
            enrolled = self.state.enrolled_us
            assert enrolled is not None
            found.append(("clock_outside_window", {
                "at": at, "enrolled": _iso_us(enrolled),
                "before_enrollment_s": (enrolled - us) // _US_PER_S}))
        return tuple(found)

    def step(self, item: Outcome) -> Outcome:
        if item.status == "rejected":
            return item
        out = item.copy()
        rec, chain = item.rec, self.chain
        assert rec is not None and item.seq is not None
        if rec["terminal_id"] != self.state.terminal_id:
            out.status, out.reason = "rejected", "wrong_terminal"
            out.message = "the record names another terminal"
        elif item.seq in self.seen:
            out.status, out.reason = "rejected", "duplicate_in_batch"
            out.message = "the batch holds this seq twice"
        elif item.seq <= chain.seq:
            out.hash = record.record_hash(item.data)
            if self.stored.get(item.seq) == out.hash:
                out.status = "exists"
            else:
                out.status, out.reason = "rejected", "fork"
                out.message = "a different record is already stored at this seq"
        elif item.seq > chain.seq + 1:
            out.status, out.reason = "rejected", "gap"
            out.message = f"expected seq {chain.seq + 1} first"
        else:
            try:
                if item.seq == 1 and rec["body"].get("public_key") != self.state.public_key:
                    raise record.RecordError(
                        "the start record names a key other than the enrolled one", 1,
                        code="unknown_key",
                    )
                chain.advance(item.data, rec, item.verified_with)
                out.status, out.hash = "created", chain.hash
                out.clock_flags = self._clock(rec["at"])
            except record.RecordError as exc:
                out.status, out.reason, out.message = "rejected", exc.code, exc.message
        self.seen.add(item.seq)
        return out


def _stored_hashes(conn: Connection, terminal_id: str, items: list[Outcome],
                   last_seq: int) -> dict[int, str]:
    old = [o.seq for o in items if o.seq is not None and o.seq <= last_seq and o.rec]
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
        """Take a batch: each record a JSON value, or the bytes of one NDJSON line."""
        began = time.perf_counter()
        if len(raw_records) > MAX_BATCH_RECORDS:
            raise IngestError(f"a batch holds at most {MAX_BATCH_RECORDS} records", 413)
        with self.db.reading() as conn:
            state = load_terminal(conn, terminal_id, lock=False)
        self._check_state(state)
        assert state is not None
        try:
            key_raw: bytes | None = keys.load_public_key_hex(state.public_key).raw
        except keys.KeyFormatError:
            key_raw = None  # the walk refuses the records one by one, naming the key
        with self.verifier.batch(key_raw, len(raw_records)) as checks:
            items = _read(raw_records, checks)
            settled: dict[int, Outcome] = {}

            def ready(position: int) -> Outcome:
                """The position-th item, settled once (a retried transaction reuses it)."""
                found = settled.get(position)
                if found is None:
                    item = items[position]
                    found = item if item.index < 0 else \
                        _settle(item, checks.flags(item.index), state.public_key)
                    settled[position] = found
                return found

            # A batch pushed behind another can be taken up first (by another thread or
            # server process): while its first record does not yet follow the stored chain,
            # it waits a little for the batch before it, then is walked whatever the chain.
            deadline = time.monotonic() + BEHIND_WAIT_S
            while True:
                try:
                    outcomes, chain, flagged = self.db.transaction(
                        lambda conn: self._apply(conn, terminal_id, items, ready,
                                                 time.monotonic() < deadline))
                    break
                except _Behind:
                    time.sleep(BEHIND_POLL_S)
        _observe(terminal_id, outcomes, flagged, time.perf_counter() - began)
        head = None
        if chain.seq:
            head = record.sign_head(terminal_id, chain.seq, chain.hash, self.ledger_key)
        return dict(wire.check_push_answer({
            "terminal_id": terminal_id,
            "acked_seq": chain.seq,
            "head": head,
            "results": [o.answer() for o in outcomes],
        }, len(outcomes)))

    @staticmethod
    def _check_state(state: TerminalState | None) -> None:
        if state is None:
            raise IngestError("unknown terminal", 401, "unenrolled")
        if state.status != "active":
            raise IngestError(f"the terminal is {state.status}", 403, state.status)

    def _apply(self, conn: Connection, terminal_id: str, items: list[Outcome],
               ready, may_wait: bool = False
               ) -> tuple[list[Outcome], record.Chain, list[str]]:
        locked = load_terminal(conn, terminal_id, lock=True)
        self._check_state(locked)
        assert locked is not None
        first = next((o.seq for o in items if not o.status), None)
        if may_wait and first is not None and first > locked.last_seq + 1:
            raise _Behind
        now = now_us()
        walk = _Walk(locked, _stored_hashes(conn, terminal_id, items, locked.last_seq), now)
        batch = Batch(conn, terminal_id, (locked.merchant_id, locked.merchant_class))
        # Every row the batch may touch is loaded (and locked) first, in one global order.
        fresh = [o.rec for o in items if not o.status and o.rec is not None and
                 o.seq is not None and o.seq > locked.last_seq and _postable(o.rec)]
        batch.load(*Batch.references(fresh))
        batch.load_campaigns(fresh)
        batch.load_tokens(fresh)
        outcomes: list[Outcome] = []
        flagged: list[str] = []
        for start in range(0, len(items), POST_CHUNK_RECORDS):
            run = [walk.step(ready(position))
                   for position in range(start, min(len(items), start + POST_CHUNK_RECORDS))]
            flagged += self._write_run(conn, batch, terminal_id, run, now)
            outcomes += run
        chain = walk.chain
        forks = [o for o in outcomes if o.reason == "fork"]
        status, reason = locked.status, None
        if forks:
            status, reason = "suspended", f"fork at seq {forks[0].seq}"
        if chain.seq != locked.last_seq or forks:
            conn.execute(
                "UPDATE terminals SET last_seq = ?, last_hash = ?, last_totals = ?, "
                "public_key = ?, status = ?, status_reason = COALESCE(?, status_reason) "
                "WHERE terminal_id = ?",
                (chain.seq, chain.hash, json.dumps(chain.totals, sort_keys=True),
                 chain.public_key_hex, status, reason, terminal_id),
            )
        return outcomes, chain, flagged

    @staticmethod
    def _write_run(conn: Connection, batch: Batch, terminal_id: str, run: list[Outcome],
                   now: int) -> list[str]:
        """Store, post and write one run of walked records; returns the kinds of the flags
        it raised."""
        created = [o for o in run if o.status == "created"]
        conn.insert_rows(
            "records", ("terminal_id", "seq", "tx_id", "type", "at", "hash", "record",
                        "received_us"),
            [(terminal_id, o.seq, o.rec["tx_id"], o.rec["type"], o.rec["at"], o.hash,
              o.data.decode("utf-8"), now) for o in created if o.rec],
        )
        for o in created:
            assert o.rec is not None
            batch.post_record(o.rec, f"{terminal_id}/{o.seq}", now, body_checked=o.body_ok)
            for kind, detail in o.clock_flags:
                batch.flag(kind, o.rec, **detail)
        for o in run:
            if o.reason == "fork":
                batch.flag("fork", o.rec, seq_hash=o.hash)
            elif o.reason == "bad_signature":
                batch.flag("bad_signature", o.rec)
        kinds = [f.kind for f in batch.flags]
        batch.write(conn, now)
        return kinds
