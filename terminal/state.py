"""The terminal's copy of the ledger's snapshot: wallets with their lots, cards, campaigns,
the merchant's settings, and the sync cursor. One SQLite file, `state.db`, apart from the
journal, so applying a large snapshot never holds the journal's write lock while a sale waits.

Each wallet row remembers `basis_seq`: the highest of this terminal's records the ledger had
acknowledged when the row was pulled. The terminal's own records after it are not in the
row yet; `terminal.wallets` adds them from the journal's effects.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync import files, pins
from terminal.errors import TerminalError
from terminal.journal import BUSY_TIMEOUT_MS, connect_read_only

log = logging.getLogger(__name__)

STATE_FILE = "state.db"
# Rows written per transaction while applying a snapshot page: a sale that reads the state
# never waits longer than one such chunk.
APPLY_CHUNK = 5_000
# Version 2: the snapshot tables are WITHOUT ROWID, each one B-tree on its key (lots on
# (wallet, lot): the only way they are read), so applying 100,000 wallets writes about a
# third fewer index pages than rowid tables with a separate key and wallet index did.
# Version 3: a lot's `usable_from` (利用期間: voucher value sold before its use period).
STATE_SCHEMA_VERSION = 3
_SNAPSHOT_TABLES = """
CREATE TABLE IF NOT EXISTS wallets (
    wallet_id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL,
    debt INTEGER NOT NULL, basis_seq INTEGER NOT NULL, usage TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lots (
    wallet_id TEXT NOT NULL, lot_id TEXT NOT NULL, pocket TEXT NOT NULL,
    remaining INTEGER NOT NULL, expires TEXT, classes TEXT NOT NULL, campaign TEXT,
    usable_from TEXT,
    PRIMARY KEY (wallet_id, lot_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cards (
    card_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, status TEXT NOT NULL,
    nfc_uid TEXT, version INTEGER NOT NULL, pin TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cards_nfc ON cards (nfc_uid) WHERE nfc_uid IS NOT NULL;
"""
# Each version-1 table's columns, in the order the version-2 table takes them.
_V1_COLUMNS = {"wallets": "wallet_id, status, version, debt, basis_seq, usage",
               "lots": "wallet_id, lot_id, pocket, remaining, expires, classes, campaign",
               "cards": "card_id, wallet_id, status, nfc_uid, version, pin"}
_SCHEMA = _SNAPSHOT_TABLES + """
CREATE TABLE IF NOT EXISTS campaigns (campaign_id TEXT PRIMARY KEY, rules TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refusals (
    at_ms INTEGER NOT NULL, kind TEXT NOT NULL, wallet_id TEXT, amount INTEGER NOT NULL,
    code TEXT NOT NULL, decision TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SnapshotWallet:
    wallet_id: str
    status: str
    version: int
    debt: int
    basis_seq: int
    lots: list[dict[str, Any]]
    usage: dict[str, Any] = field(default_factory=dict)  # campaign id -> usage (campaigns)


# Columns added after the first release; a state.db from before gets them on open.
_ADDED_COLUMNS = (("wallets", "usage", "TEXT"), ("lots", "campaign", "TEXT"),
                  ("cards", "pin", "TEXT"), ("lots", "usable_from", "TEXT"))


class PinKeyMissing(TerminalError):
    """Card PINs came without the key to seal them (a programming error at the caller)."""

    code = "pin_key_missing"


def _chunks(items: list, size: int = APPLY_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StateStore:
    """Thread-safe: the sync worker writes, the journal worker reads."""

    def __init__(self, data_dir: Path, pin_key: bytes | None = None) -> None:
        """`pin_key` (sync.pins.seal_key of the terminal's key) seals the card PIN hashes
        snapshots bring, so a copy of state.db alone cannot test a PIN; without it, a
        snapshot that carries PINs is refused."""
        self.path = data_dir / STATE_FILE
        self.pin_key = pin_key
        files.private_db(self.path)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        # The snapshot can always be pulled again: NORMAL keeps it consistent after a crash
        # without an fsync per chunk.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        if self._conn.execute("PRAGMA user_version").fetchone()[0] < STATE_SCHEMA_VERSION:
            self._upgrade()
        self._lock = threading.Lock()
        if pin_key is not None:
            self._seal_pins()

    @classmethod
    def open_read_only(cls, data_dir: Path) -> StateStore:
        """The state as it is, through a connection that cannot write (`terminal status`
        on a full disk); PINs cannot be checked with it, and nothing can be stored."""
        path = data_dir / STATE_FILE
        if not path.exists():
            raise TerminalError(f"no state at {path}")
        store = cls.__new__(cls)
        store.path = path
        store.pin_key = None
        store._conn = connect_read_only(path)
        store._lock = threading.Lock()
        return store

    def _seal_pins(self) -> None:
        """Seal the PIN hashes an earlier version kept here as they came."""
        assert self.pin_key is not None
        rows = [(card, json.loads(pin)) for card, pin in self._conn.execute(
            "SELECT card_id, pin FROM cards WHERE pin IS NOT NULL")]
        bare = [(json.dumps(pins.seal(pin, self.pin_key)), card)
                for card, pin in rows if not pins.is_sealed(pin)]
        if bare:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("UPDATE cards SET pin = ? WHERE card_id = ?", bare)
                self._conn.execute("COMMIT")

    def _pin_text(self, card: dict) -> str | None:
        if not card.get("pin"):
            return None
        if self.pin_key is None:
            raise PinKeyMissing("a snapshot with card PINs needs the terminal's key to seal "
                                "them; open the state store with it")
        return json.dumps(pins.seal(card["pin"], self.pin_key))

    def _sealed_member(self, member: dict) -> dict:
        if self.pin_key is None:
            raise PinKeyMissing("a snapshot with staff PINs needs the terminal's key to seal "
                                "them; open the state store with it")
        return {**member, "pin": pins.seal(member["pin"], self.pin_key)}

    def _upgrade(self) -> None:
        """A state.db from before version 3: its columns added (version 3: lots'
        `usable_from`), and one from before version 2 has its snapshot tables copied into
        the WITHOUT ROWID layout, in one transaction."""
        import sqlite_utils  # here, not at the top: only an old file pays its import

        conn = self._conn
        # sqlite-utils reads the schema (docs/dependencies.md): no PRAGMA parsed by hand
        db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
        rowid_tables = [name for name in _V1_COLUMNS
                        if not db.table(name).schema.rstrip().upper().endswith("WITHOUT ROWID")]
        for table, column, kind in _ADDED_COLUMNS:
            if column not in db.table(table).columns_dict:
                db.table(table).add_column(column, kind)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in rowid_tables:
                conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
                conn.execute("DROP INDEX IF EXISTS cards_nfc")
            for statement in _SNAPSHOT_TABLES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table in rowid_tables:
                columns = _V1_COLUMNS[table]
                conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_v1")
                conn.execute(f"DROP TABLE {table}_v1")
            conn.execute(f"PRAGMA user_version = {STATE_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- meta -----------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                               (key, json.dumps(value, ensure_ascii=False)))

    def cursor(self) -> str:
        return self.get("cursor", "")

    def merchant(self) -> dict[str, Any]:
        return self.get("merchant") or {}

    def snapshot_age_s(self, now: float) -> float | None:
        """Seconds from the last complete snapshot (the ledger's time on it) to `now`
        (Unix seconds: the terminal's trusted clock, terminal.clock, never the bare wall
        clock), or None if there was none."""
        pulled = self.get("snapshot_at_ms")
        if pulled is None:
            return None
        return max(0.0, now - pulled / 1000)

    # --- applying snapshots ---------------------------------------------------------------

    def apply_snapshot(self, page: dict[str, Any], basis_seq: int) -> None:
        """Apply one snapshot page; rows older than what is stored are skipped. The page is
        of the agreed shape (sync.wire.SnapshotPage): the terminal checks each page once,
        where it arrives (sync.client.LedgerClient.snapshot, which refuses a bad one
        whole), not again here (a second check cost 14-17 ms more on a page of 5,000
        wallets, applied in 75-170 ms)."""
        wallets = page.get("wallets", [])
        for chunk in _chunks(wallets):
            self._apply_wallets(chunk, basis_seq)
        for chunk in _chunks(page.get("cards", [])):
            self._apply_cards(chunk)
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO campaigns (campaign_id, rules) VALUES (?, ?)",
                [(c["id"], json.dumps(c, ensure_ascii=False)) for c in page.get("campaigns", [])],
            )
            meta = {"cursor": page["cursor"]}
            if "staff" in page:  # the merchant's staff, whole, PINs sealed (terminal.staff)
                meta["staff"] = [self._sealed_member(m) for m in page["staff"]]
            if page.get("merchant"):
                meta["merchant"] = page["merchant"]
            if not page.get("more"):
                meta["snapshot_at_ms"] = page["server_time_ms"]
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])
            conn.execute("COMMIT")

    def _stored_versions(self, table: str, key: str, ids: list[str]) -> dict[str, int]:
        stored: dict[str, int] = {}
        for chunk in _chunks(ids, 900):
            stored.update(self._conn.execute(
                f"SELECT {key}, version FROM {table} WHERE {key} IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return stored

    def _newer(self, table: str, key: str, rows: list[tuple[str, int]]) -> set[str]:
        stored = self._stored_versions(table, key, [r[0] for r in rows])
        return {rid for rid, version in rows if stored.get(rid, -1) <= version}

    def _apply_wallets(self, chunk: list[dict], basis_seq: int) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored = self._stored_versions("wallets", "wallet_id",
                                               [w["wallet"] for w in chunk])
                rows = [w for w in chunk if stored.get(w["wallet"], -1) <= w["version"]]
                # Lots are only ever written here, with their wallet's row: a wallet not
                # stored yet has none to replace, so a first full snapshot deletes nothing.
                replaced = [w["wallet"] for w in rows if w["wallet"] in stored]
                for part in _chunks(replaced, 900):
                    marks = ",".join("?" * len(part))
                    conn.execute(f"DELETE FROM lots WHERE wallet_id IN ({marks})", part)
                conn.executemany(
                    "INSERT OR REPLACE INTO wallets (wallet_id, status, version, debt, basis_seq, "
                    "usage) VALUES (?, ?, ?, ?, ?, ?)",
                    [(w["wallet"], w["status"], w["version"], w["debt"], basis_seq,
                      json.dumps(w["usage"], ensure_ascii=False) if w.get("usage") else None)
                     for w in rows],
                )
                # A region has a handful of distinct class lists: encode each once, not per
                # lot (json.dumps per lot was a third of a 100,000-wallet snapshot's time).
                class_texts: dict[tuple, str] = {}

                def classes_text(classes: list[str]) -> str:
                    text = class_texts.get(tuple(classes))
                    if text is None:
                        text = class_texts[tuple(classes)] = json.dumps(classes)
                    return text

                conn.executemany(
                    "INSERT OR REPLACE INTO lots (lot_id, wallet_id, pocket, remaining, expires, "
                    "classes, campaign, usable_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(lot["lot"], w["wallet"], lot["pocket"], lot["remaining"], lot["expires"],
                      classes_text(lot["classes"]), lot.get("campaign"),
                      lot.get("usable_from"))
                     for w in rows for lot in w["lots"]],
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back by itself on a full disk
                    conn.execute("ROLLBACK")
                raise

    def _apply_cards(self, chunk: list[dict]) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                fresh = self._newer("cards", "card_id", [(c["card"], c["version"]) for c in chunk])
                conn.executemany(
                    "INSERT OR REPLACE INTO cards (card_id, wallet_id, status, nfc_uid, version, "
                    "pin) VALUES (?, ?, ?, ?, ?, ?)",
                    [(c["card"], c["wallet"], c["status"], c.get("nfc_uid"), c["version"],
                      self._pin_text(c)) for c in chunk if c["card"] in fresh],
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back by itself on a full disk
                    conn.execute("ROLLBACK")
                raise

    def apply_card(self, card: dict[str, Any]) -> None:
        """Store a card as the online check found it (a newer version only), as a one-card
        snapshot page: its status, wallet and PIN are then known offline too."""
        self._apply_cards([card])

    def apply_wallet_view(self, view: dict[str, Any], basis_seq: int) -> None:
        """Store a fresh wallet from the online check, as a one-wallet snapshot page."""
        self._apply_wallets([{"wallet": view["wallet"], "status": view["status"],
                              "version": view["version"], "debt": view["debt"],
                              "lots": view["lots"], "usage": view.get("usage")}], basis_seq)

    # --- reading --------------------------------------------------------------------------

    def wallet(self, wallet_id: str) -> SnapshotWallet | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT wallet_id, status, version, debt, basis_seq, usage FROM wallets "
                "WHERE wallet_id = ?", (wallet_id,)).fetchone()
            if row is None:
                return None
            lots = [{"lot": lot_id, "pocket": pocket, "remaining": remaining, "expires": expires,
                     "classes": json.loads(classes), "campaign": campaign,
                     "usable_from": usable_from}
                    for lot_id, pocket, remaining, expires, classes, campaign, usable_from in
                    self._conn.execute(
                        "SELECT lot_id, pocket, remaining, expires, classes, campaign, "
                        "usable_from FROM lots WHERE wallet_id = ?", (wallet_id,))]
        wallet_id, status, version, debt, basis_seq, usage = row
        return SnapshotWallet(wallet_id, status, version, debt, basis_seq, lots,
                              json.loads(usage) if usage else {})

    def card(self, card_id: str) -> tuple[str, str] | None:
        """(wallet id, status) for a printed card number, or None."""
        with self._lock:
            row = self._conn.execute("SELECT wallet_id, status FROM cards WHERE card_id = ?",
                                     (card_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def card_pin(self, card_id: str) -> dict[str, Any] | None:
        """The card's stored PIN (sync.pins), sealed with `pin_key`, or None."""
        with self._lock:
            row = self._conn.execute("SELECT pin FROM cards WHERE card_id = ?",
                                     (card_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def card_by_nfc(self, uid: str) -> tuple[str, str, str] | None:
        """(card id, wallet id, status) for an NFC UID / IDm, or None."""
        with self._lock:
            row = self._conn.execute("SELECT card_id, wallet_id, status FROM cards "
                                     "WHERE nfc_uid = ?", (uid.upper(),)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def campaigns(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(text) for (text,) in
                    self._conn.execute("SELECT rules FROM campaigns ORDER BY campaign_id")]

    def log_refusal(self, kind: str, wallet_id: str | None, amount: int, code: str,
                    decision: str) -> None:
        """Keep a refused sale for the day's figures and the admin screen (not signed: a
        refusal moves no value, so one that cannot be kept is only logged)."""
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO refusals (at_ms, kind, wallet_id, amount, code, decision) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (int(time.time() * 1000), kind, wallet_id, amount, code, decision))
        except sqlite3.Error as exc:  # a full disk, a damaged file: the refusal still stands
            log.warning("refusal %s not kept in the log: %s", code, exc)

    def refusals(self) -> list[tuple]:
        with self._lock:
            return self._conn.execute("SELECT at_ms, kind, wallet_id, amount, code, decision "
                                      "FROM refusals ORDER BY at_ms").fetchall()

    def payers(self) -> tuple[list[str], list[str]]:
        """Who in the snapshot could pay: active card numbers, and active wallets that have
        no card (app users), each sorted."""
        with self._lock:
            cards = [c for (c,) in self._conn.execute(
                "SELECT card_id FROM cards WHERE status = 'active' ORDER BY card_id")]
            carded = {w for (w,) in self._conn.execute("SELECT wallet_id FROM cards")}
            apps = [w for (w,) in self._conn.execute(
                "SELECT wallet_id FROM wallets WHERE status = 'active' ORDER BY wallet_id")
                if w not in carded]
        return cards, apps

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {table: self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("wallets", "lots", "cards", "campaigns")}
