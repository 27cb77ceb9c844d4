"""The terminal's append-only journal in SQLite (DESIGN §4).

One file, `journal.db`, in WAL mode with `synchronous=FULL`, so a commit is on disk before
the cashier sees the result. A record and its outbox row go in one transaction; a crash at
any moment leaves either no record or a whole one. Rows are never updated or deleted
(triggers refuse it; `verify` catches whoever drops the triggers). The ledger's signed heads
are kept, so a tail cut below one is provable.

Commit order for every record: build -> sign -> verify own signature -> insert record and
outbox row -> commit (fsync) -> return.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync import canonical, files, ids, keys, record, tokens
from sync.keyfile import fsync_dir
from terminal import effects
from terminal.errors import JournalError, JournalFull

log = logging.getLogger(__name__)

DB_FILE = "journal.db"
# How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 5_000
# Outbox rows handed to the sync client per call.
PENDING_BATCH_MAX = 2_000
# Newest records read, at most, to prime the app-token replay cache after a restart.
REPLAY_SCAN_MAX_RECORDS = 5_000
# SQLite's primary result code for "database or disk is full" (sqlite3.SQLITE_FULL).
SQLITE_FULL = 13

# Explicit, ordered migrations; each runs once, in its own transaction, and is recorded.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "journal, outbox, ledger heads",
        """
        CREATE TABLE terminal (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            terminal_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE records (
            seq INTEGER PRIMARY KEY,
            tx_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            amount INTEGER NOT NULL,
            hash TEXT NOT NULL,
            record TEXT NOT NULL
        );
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY REFERENCES records (seq),
            queued_at TEXT NOT NULL
        );
        CREATE TABLE ledger_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE TABLE heads (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            head TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records
        BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
        CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records
        BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
        """,
    ),
    (
        2,
        "effects: what each record did to lots, cards and wallet spending",
        """
        CREATE TABLE effects (
            seq INTEGER NOT NULL REFERENCES records (seq),
            n INTEGER NOT NULL,
            kind TEXT NOT NULL,
            wallet_id TEXT NOT NULL,
            lot_id TEXT,
            card_id TEXT,
            amount INTEGER NOT NULL,
            pocket TEXT,
            expires TEXT,
            classes TEXT,
            decision TEXT,
            ref TEXT,
            PRIMARY KEY (seq, n)
        );
        CREATE INDEX effects_wallet ON effects (wallet_id, seq);
        CREATE INDEX effects_card ON effects (card_id) WHERE card_id IS NOT NULL;
        CREATE INDEX effects_ref ON effects (ref) WHERE ref IS NOT NULL;
        """,
    ),
    (
        3,
        "leases: campaign quantities the ledger lent this terminal",
        """
        CREATE TABLE leases (
            lease_id TEXT PRIMARY KEY,
            campaign TEXT NOT NULL,
            pool TEXT NOT NULL,
            count INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL,
            status TEXT NOT NULL,
            got_at TEXT NOT NULL,
            returned INTEGER
        );
        CREATE INDEX leases_pool ON leases (campaign, pool, status);
        """,
    ),
]


def _insert_effects(conn: sqlite3.Connection, seq: int, rtype: str, body: dict) -> None:
    conn.executemany(
        "INSERT INTO effects (seq, n, kind, wallet_id, lot_id, card_id, amount, pocket, "
        "expires, classes, decision, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(seq, n, *row) for n, row in enumerate(effects.of(rtype, body))],
    )


def _backfill_effects(conn: sqlite3.Connection) -> None:
    for seq, text in conn.execute("SELECT seq, record FROM records ORDER BY seq").fetchall():
        rec = json.loads(text)
        _insert_effects(conn, seq, rec["type"], rec["body"])


def _app_counter(text: str) -> tuple[str, int] | None:
    """(device prefix hex, counter) of a stored record an app token paid for, else None."""
    try:
        rec = json.loads(text)
    except (TypeError, ValueError):
        return None
    body = rec.get("body") if isinstance(rec, dict) else None
    cred = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(cred, dict) or cred.get("kind") != "app":
        return None
    device, counter = cred.get("device"), cred.get("counter")
    if not isinstance(device, str) or len(device) != 2 * tokens.REPLAY_KEY_BYTES:
        return None
    try:
        if len(bytes.fromhex(device)) != tokens.REPLAY_KEY_BYTES:  # fromhex skips spaces
            return None
    except ValueError:
        return None
    if type(counter) is not int or not 0 <= counter <= 2**32 - 1:
        return None
    return device.lower(), counter


# Python steps that run inside a migration's transaction, after its SQL.
BACKFILLS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _backfill_effects}


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full: SQLite's SQLITE_FULL, or
    ENOSPC / EDQUOT from the operating system."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF == SQLITE_FULL
        return "database or disk is full" in str(exc)
    return False


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def local_now() -> datetime:
    """The terminal clock: local time with its UTC offset."""
    return datetime.now().astimezone()


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT) with WAL and full sync; the
    file (and its WAL files) owner-only."""
    files.private_db(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: for checks and `terminal status`, which must work on
    a full disk and leave nothing behind. With no write-ahead log beside the file (nobody
    has it open, and the last close folded the log in) the file alone is read, as
    immutable, so not even the empty `-wal` and `-shm` files are made; with one (the
    terminal is running, or stopped by a crash) it is read with its log, read-only."""
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _statements(script: str) -> list[str]:
    """Split a script into whole statements (triggers hold ';' inside BEGIN ... END)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    assert not pending.strip(), "a migration ends in an incomplete statement"
    return out


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this file has not had yet, each in one transaction. Plain
    sqlite3, as every journal access: sqlite-utils' import alone costs the counter's start
    more than the whole journal open (docs/dependencies.md)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {version for (version,) in conn.execute("SELECT version FROM schema_migrations")}
    for version, name, sql in MIGRATIONS:
        if version in done:
            continue
        log.info("journal: applying migration %d (%s)", version, name)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            backfill = BACKFILLS.get(version)
            if backfill is not None:
                backfill(conn)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                         (version, name, _utc_now()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


@dataclass(frozen=True)
class Appended:
    """What a committed record left behind."""

    seq: int
    tx_id: str
    hash: str
    record: dict[str, Any]
    data: bytes


@dataclass
class _Tail:
    seq: int
    hash: str
    totals: dict[str, Any]
    at: datetime | None = None  # the last record's time (None before the start record)


def not_before(moment: datetime, floor: datetime | None) -> datetime:
    """`moment`, or `floor` (in `moment`'s offset) when the clock reads earlier: a record's
    `at` never goes back, whatever the wall clock was set to."""
    if floor is None or moment.tzinfo is None or moment >= floor:
        return moment  # a time without an offset is refused by record.build
    return floor.astimezone(moment.tzinfo)


class Journal:
    """One terminal's journal. Writes come from one thread (the journal worker)."""

    def __init__(
        self,
        data_dir: Path,
        conn: sqlite3.Connection,
        private_key: keys.PrivateKey | None,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        self.data_dir = data_dir
        self.conn = conn
        self._private_key = private_key
        self._public_key: keys.PublicKey | None = (
            private_key.public_key() if private_key else None
        )
        self._key_id = keys.key_id(self._public_key) if self._public_key else ""
        self._clock = clock
        self._ids = ids.IdGenerator()
        row = conn.execute("SELECT terminal_id FROM terminal").fetchone()
        if row is None:
            raise JournalError(f"{data_dir / DB_FILE} has no terminal; it was never set up")
        self.terminal_id: str = row[0]
        self._tail: _Tail | None = None  # read on first need, so verify can open a bad tail

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        data_dir: Path,
        terminal_id: str,
        private_key: keys.PrivateKey,
        clock: Callable[[], datetime] = local_now,
        start_body: dict[str, Any] | None = None,
    ) -> Journal:
        """Make a new journal and write its `start` record, which names the terminal's key."""
        if not record.TERMINAL_ID_RE.fullmatch(terminal_id):
            raise JournalError(f"{terminal_id!r} is not a valid terminal id")
        files.private_dir(data_dir)
        path = data_dir / DB_FILE
        if path.exists():
            raise JournalError(f"a journal already exists at {path}")
        # Build the whole new journal under a temporary name and rename it into place, so a
        # crash during set-up never leaves a journal without its start record.
        tmp = data_dir / (DB_FILE + ".new")
        for leftover in data_dir.glob(DB_FILE + ".new*"):
            leftover.unlink()
        conn = connect(tmp)
        migrate(conn)
        conn.execute(
            "INSERT INTO terminal (id, terminal_id, created_at) VALUES (1, ?, ?)",
            (terminal_id, _utc_now()),
        )
        body = dict(start_body or {})
        body["public_key"] = keys.public_key_hex(private_key.public_key())
        cls(data_dir, conn, private_key, clock).append("start", body)
        conn.close()  # the last close checkpoints the WAL into the main file
        tmp.rename(path)
        fsync_dir(data_dir)
        return cls.open(data_dir, private_key, clock)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        private_key: keys.PrivateKey | None = None,
        clock: Callable[[], datetime] = local_now,
    ) -> Journal:
        """Open an existing journal; without a key it can be read and verified, not written."""
        path = data_dir / DB_FILE
        if not path.exists():
            raise JournalError(f"no journal at {path}")
        try:
            conn = connect(path)
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                            "'schema_migrations'").fetchone() is None:
                conn.close()
                raise JournalError(f"{path} is not a Machi POS journal")
            newest = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            if newest is not None and newest > MIGRATIONS[-1][0]:
                conn.close()
                raise JournalError(f"{path} was written by a newer version of Machi POS")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path} is not a readable journal: {exc}") from exc
        return cls(data_dir, conn, private_key, clock)

    @classmethod
    def open_read_only(cls, data_dir: Path) -> Journal:
        """Open an existing journal through a connection that cannot write (no migration,
        no key): for verifying and `terminal status`, on a full disk too."""
        path = data_dir / DB_FILE
        if not path.exists():
            raise JournalError(f"no journal at {path}")
        try:
            conn = connect_read_only(path)
            return cls(data_dir, conn, None)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path} is not a readable journal: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------

    def _read_tail(self) -> _Tail:
        row = self.conn.execute(
            "SELECT seq, hash, record FROM records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return _Tail(0, record.genesis_prev(self.terminal_id), {})
        try:
            last = record.parse(row[2].encode("utf-8"))
        except record.RecordError as exc:
            raise JournalError(
                f"the last record (seq {row[0]}) is unreadable; run `journal verify`: {exc}"
            ) from exc
        return _Tail(row[0], row[1], last["totals"], datetime.fromisoformat(last["at"]))

    def _current_tail(self) -> _Tail:
        """The tail inside a write transaction; reloaded if another process appended."""
        row = self.conn.execute("SELECT seq FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        if self._tail is None or (row[0] if row else 0) != self._tail.seq:
            self._tail = self._read_tail()
        return self._tail

    def append(self, rtype: str, body: dict[str, Any], tx_id: str | None = None) -> Appended:
        """Sign and durably commit one record; returns once it is on disk."""
        if self._private_key is None or self._public_key is None:
            raise JournalError("the journal was opened without the terminal key; it is read-only")
        tx_id = tx_id or self._ids.new()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            tail = self._current_tail()
            if (rtype == "start") != (tail.seq == 0):
                raise JournalError("the start record comes first, and only first")
            unsigned = record.build(
                terminal_id=self.terminal_id,
                seq=tail.seq + 1,
                tx_id=tx_id,
                key_id=self._key_id,
                prev=tail.hash,
                at=not_before(self._clock(), tail.at),
                rtype=rtype,
                body=body,
                prev_totals=tail.totals,
            )
            # Our own signature is verified before it is final: a fault must never reach disk.
            signed, data = record.sign(unsigned, self._private_key, verify_with=self._public_key)
            digest = record.record_hash(data)
            self.conn.execute(
                "INSERT INTO records (seq, tx_id, type, at, amount, hash, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    signed["seq"],
                    tx_id,
                    rtype,
                    signed["at"],
                    record.record_amount(signed),
                    digest,
                    data.decode("utf-8"),
                ),
            )
            self.conn.execute(
                "INSERT INTO outbox (seq, queued_at) VALUES (?, ?)", (signed["seq"], signed["at"])
            )
            _insert_effects(self.conn, signed["seq"], rtype, body)
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._roll_back()
            if is_disk_full(exc):
                raise JournalFull(f"the disk of {self.data_dir} is full: record not "
                                  f"kept ({exc})") from exc
            raise
        self._tail = _Tail(signed["seq"], digest, signed["totals"],
                           datetime.fromisoformat(signed["at"]))
        log.debug("journal: committed seq %d (%s)", signed["seq"], rtype)
        return Appended(signed["seq"], tx_id, digest, signed, data)

    def _roll_back(self) -> None:
        """Undo the open write transaction, if SQLite has not already (it does on some
        errors, a full disk among them); a failed rollback never hides the first error."""
        if not self.conn.in_transaction:
            return
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("journal: rollback failed: %s", exc)

    # --- reading --------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._current_tail().seq

    @property
    def totals(self) -> dict[str, Any]:
        return self._current_tail().totals

    @property
    def last_at(self) -> datetime | None:
        """The newest record's time (a new record's is never earlier)."""
        return self._current_tail().at

    def rows(self, from_seq: int = 1) -> Iterator[sqlite3.Row | tuple]:
        """(seq, tx_id, type, at, amount, hash, record text) in seq order, as stored."""
        return self.conn.execute(
            "SELECT seq, tx_id, type, at, amount, hash, record FROM records "
            "WHERE seq >= ? ORDER BY seq",
            (from_seq,),
        )

    def recent(self, rtype: str, limit: int) -> list[dict[str, Any]]:
        """The newest records of one type: seq, tx_id, at, amount (for refund lists)."""
        rows = self.conn.execute(
            "SELECT seq, tx_id, at, amount FROM records WHERE type = ? ORDER BY seq DESC LIMIT ?",
            (rtype, limit)).fetchall()
        return [{"seq": s, "tx_id": t, "at": a, "amount": m} for s, t, a, m in rows]

    def app_counters_since(self, since_epoch_s: float) -> list[tuple[str, int]]:
        """(device key prefix hex, token counter) of each record made at or after
        `since_epoch_s` (Unix seconds) that an app token paid for, oldest first: for priming
        the replay cache after a restart (`TokenVerifier.remember`).

        Reads backwards from the newest record and stops at the first one older than the
        cut-off, or after `REPLAY_SCAN_MAX_RECORDS`. A record that does not parse, or whose
        credential is not a well-formed app one, is skipped.
        """
        found: list[tuple[str, int]] = []
        rows = self.conn.execute(
            "SELECT at, record FROM records ORDER BY seq DESC LIMIT ?",
            (REPLAY_SCAN_MAX_RECORDS,))
        try:
            for at, text in rows:
                try:
                    made = datetime.fromisoformat(at)
                    if made.tzinfo is None:
                        continue  # every record's time carries its offset: malformed
                    made_s = made.timestamp()
                except (TypeError, ValueError, OverflowError, OSError):
                    continue
                if made_s < since_epoch_s:
                    break
                pair = _app_counter(text)
                if pair is not None:
                    found.append(pair)
        finally:
            rows.close()  # stopping early must not leave a read open on the WAL
        found.reverse()
        return found

    def pending(self, limit: int = PENDING_BATCH_MAX,
                after: int = 0) -> list[tuple[int, bytes]]:
        """Records not yet acknowledged by the ledger, oldest first: (seq, canonical bytes);
        with `after`, only those past that seq (the next batch, while one is in flight)."""
        cur = self.conn.execute(
            "SELECT r.seq, r.record FROM outbox o JOIN records r ON r.seq = o.seq "
            "WHERE o.seq > ? ORDER BY o.seq LIMIT ?",
            (after, limit),
        )
        return [(seq, text.encode("utf-8")) for seq, text in cur]

    def last_type(self) -> str | None:
        row = self.conn.execute("SELECT type FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def pending_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def effects_since(self, wallet_id: str, after_seq: int) -> list[tuple]:
        """This terminal's effects on a wallet after `after_seq`:
        (seq, kind, lot, amount, pocket, expires, classes, decision, ref)."""
        return self.conn.execute(
            "SELECT seq, kind, lot_id, amount, pocket, expires, classes, decision, ref "
            "FROM effects WHERE wallet_id = ? AND seq > ? ORDER BY seq, n",
            (wallet_id, after_seq)).fetchall()

    def records_at(self, seqs: list[int]) -> list[dict[str, Any]]:
        """Records by seq, in seq order."""
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        return [json.loads(text) for (text,) in self.conn.execute(
            f"SELECT record FROM records WHERE seq IN ({marks}) ORDER BY seq", seqs)]

    def gift_taken(self, code_id: str) -> bool:
        """Whether this terminal has taken the gift code before."""
        return self.conn.execute("SELECT 1 FROM effects WHERE kind = 'gift' AND card_id = ?",
                                 (code_id,)).fetchone() is not None

    # --- leases of campaign quantities ----------------------------------------------------

    def add_lease(self, lease: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO leases (lease_id, campaign, pool, count, expires_ms, status, "
            "got_at) VALUES (?, ?, ?, ?, ?, 'open', ?)",
            (lease["lease_id"], lease["campaign"], lease["pool"], lease["count"],
             lease["expires_ms"], _utc_now()))

    def leases(self, status: str | None = None) -> list[dict[str, Any]]:
        """Leases with what this journal has used of each, oldest first."""
        rows = self.conn.execute(
            "SELECT l.lease_id, l.campaign, l.pool, l.count, l.expires_ms, l.status, "
            "l.returned, (SELECT coalesce(sum(e.amount), 0) FROM effects e "
            "WHERE e.kind = 'camp' AND e.ref = l.lease_id) FROM leases l "
            + ("WHERE l.status = ? " if status else "") + "ORDER BY l.got_at, l.lease_id",
            (status,) if status else ()).fetchall()
        return [{"lease_id": r[0], "campaign": r[1], "pool": r[2], "count": r[3],
                 "expires_ms": r[4], "status": r[5], "returned": r[6], "used": r[7]}
                for r in rows]

    def usable_lease(self, campaign: str, pool: str, now_ms: int, units: int = 1
                     ) -> str | None:
        """An open, unexpired lease of the pool with `units` left: the oldest, so leases
        run out one at a time."""
        for lease in self.leases("open"):
            if lease["campaign"] == campaign and lease["pool"] == pool and \
                    lease["expires_ms"] > now_ms and lease["used"] + units <= lease["count"]:
                return lease["lease_id"]
        return None

    def units_left(self, campaign: str, pool: str, now_ms: int) -> int:
        return sum(lease["count"] - lease["used"] for lease in self.leases("open")
                   if lease["campaign"] == campaign and lease["pool"] == pool
                   and lease["expires_ms"] > now_ms)

    def close_leases(self) -> int:
        """Stop using every open lease (the day is closed); the sync worker returns them."""
        return self.conn.execute("UPDATE leases SET status = 'closed' WHERE status = 'open'"
                                 ).rowcount

    def lease_returned(self, lease_id: str, used: int) -> None:
        self.conn.execute("UPDATE leases SET status = 'returned', returned = ? "
                          "WHERE lease_id = ?", (used, lease_id))

    def card_wallet(self, card_id: str) -> str | None:
        """The wallet a card was put on by this terminal, if it was."""
        row = self.conn.execute("SELECT wallet_id FROM effects WHERE card_id = ? "
                                "ORDER BY seq DESC LIMIT 1", (card_id,)).fetchone()
        return row[0] if row else None

    def card_issue_body(self, card_id: str) -> dict[str, Any] | None:
        """The body of this terminal's latest card_issue record for the card, if any."""
        row = self.conn.execute(
            "SELECT r.record FROM records r JOIN effects e ON e.seq = r.seq "
            "WHERE e.kind = 'card' AND e.card_id = ? ORDER BY r.seq DESC LIMIT 1",
            (card_id,)).fetchone()
        return None if row is None else json.loads(row[0])["body"]

    def record_by_tx(self, tx_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT record FROM records WHERE tx_id = ?",
                                (tx_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def givebacks_of(self, tx_id: str) -> list[dict[str, Any]]:
        """Refund and void records of this terminal against a payment."""
        return [json.loads(text) for (text,) in self.conn.execute(
            "SELECT r.record FROM records r WHERE r.seq IN "
            "(SELECT DISTINCT seq FROM effects WHERE kind = 'back' AND ref = ?) ORDER BY r.seq",
            (tx_id,))]

    def acked_seq(self) -> int:
        """The highest seq the ledger has acknowledged with a signed head."""
        return self.conn.execute("SELECT coalesce(max(seq), 0) FROM heads").fetchone()[0]

    # --- ledger heads ---------------------------------------------------------------------

    def add_ledger_key(self, public_key_hex: str) -> str:
        """Trust a ledger signing key (from enrollment or a snapshot); returns its key id."""
        kid = keys.key_id(keys.load_public_key_hex(public_key_hex))
        self.conn.execute(
            "INSERT OR IGNORE INTO ledger_keys (key_id, public_key, added_at) VALUES (?, ?, ?)",
            (kid, public_key_hex, _utc_now()),
        )
        return kid

    def ledger_keys(self) -> dict[str, keys.PublicKey]:
        return {
            kid: keys.load_public_key_hex(pub)
            for kid, pub in self.conn.execute("SELECT key_id, public_key FROM ledger_keys")
        }

    def keep_head(self, head: dict[str, Any]) -> None:
        """Keep a signed head from the ledger and drop the outbox rows it acknowledges.

        The head must be signed by a trusted ledger key, name this terminal, and match the
        hash of our own record at its seq; anything else is refused and nothing changes.
        """
        try:
            record.verify_head(head, self.ledger_keys())
        except record.RecordError as exc:
            raise JournalError(f"ledger head refused: {exc}") from exc
        if head["terminal_id"] != self.terminal_id:
            raise JournalError("ledger head refused: it names another terminal")
        row = self.conn.execute("SELECT hash FROM records WHERE seq = ?", (head["seq"],)).fetchone()
        if row is None or row[0] != head["hash"]:
            raise JournalError(
                f"ledger head refused: our record at seq {head['seq']} differs or is missing"
            )
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT OR IGNORE INTO heads (seq, hash, head, received_at) VALUES (?, ?, ?, ?)",
                (head["seq"], head["hash"], canonical.dumps(head).decode("utf-8"), _utc_now()),
            )
            self.conn.execute("DELETE FROM outbox WHERE seq <= ?", (head["seq"],))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def heads(self) -> dict[int, dict[str, Any]]:
        """Kept ledger heads by seq; a row that no longer parses is an error naming its seq."""
        out = {}
        for seq, text in self.conn.execute("SELECT seq, head FROM heads ORDER BY seq"):
            try:
                out[seq] = canonical.loads(text.encode("utf-8"))
            except canonical.CanonicalError as exc:
                raise JournalError(f"kept ledger head at seq {seq} is unreadable: {exc}") from exc
        return out
