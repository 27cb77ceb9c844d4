"""The terminal's snapshot store: a state.db written by an earlier version (rowid tables,
columns added later) is upgraded in place to the WITHOUT ROWID layout with nothing lost."""

from __future__ import annotations

import json
import sqlite3

from terminal.state import STATE_FILE, STATE_SCHEMA_VERSION, StateStore

VERSION_1 = """
CREATE TABLE wallets (wallet_id TEXT PRIMARY KEY, status TEXT NOT NULL,
    version INTEGER NOT NULL, debt INTEGER NOT NULL, basis_seq INTEGER NOT NULL);
CREATE TABLE lots (lot_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, pocket TEXT NOT NULL,
    remaining INTEGER NOT NULL, expires TEXT, classes TEXT NOT NULL);
CREATE INDEX lots_wallet ON lots (wallet_id);
CREATE TABLE cards (card_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, status TEXT NOT NULL,
    nfc_uid TEXT, version INTEGER NOT NULL);
CREATE INDEX cards_nfc ON cards (nfc_uid) WHERE nfc_uid IS NOT NULL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO wallets VALUES ('W-1', 'active', 3, 0, 7);
INSERT INTO lots VALUES ('L-2', 'W-1', 'charged', 1500, NULL, '["small","large"]');
INSERT INTO lots VALUES ('L-1', 'W-1', 'points', 200, '2027-05-31', '["small"]');
INSERT INTO cards VALUES ('8123456789012346', 'W-1', 'active', '0123ABCD', 2);
INSERT INTO meta VALUES ('cursor', '"c-41"');
"""


def test_a_version_1_state_is_upgraded_with_nothing_lost(tmp_path):
    with sqlite3.connect(tmp_path / STATE_FILE) as old:
        old.executescript(VERSION_1)
    old.close()
    state = StateStore(tmp_path)
    wallet = state.wallet("W-1")
    assert (wallet.status, wallet.version, wallet.basis_seq, wallet.usage) == \
        ("active", 3, 7, {})
    assert sorted((lot["lot"], lot["pocket"], lot["remaining"], lot["campaign"])
                  for lot in wallet.lots) == [("L-1", "points", 200, None),
                                              ("L-2", "charged", 1500, None)]
    assert state.card("8123456789012346") == ("W-1", "active")
    assert state.card_by_nfc("0123abcd") == ("8123456789012346", "W-1", "active")
    assert state.card_pin("8123456789012346") is None
    assert state.cursor() == "c-41"
    state.close()
    with sqlite3.connect(tmp_path / STATE_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == STATE_SCHEMA_VERSION
        tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        assert all(tables[name].rstrip().endswith("WITHOUT ROWID")
                   for name in ("wallets", "lots", "cards"))
        assert not [name for name in tables if name.endswith("_v1")]
    conn.close()
    again = StateStore(tmp_path)  # opened again: nothing to do
    assert json.loads(json.dumps(again.wallet("W-1").lots)) == \
        json.loads(json.dumps(wallet.lots))
    again.close()


VERSION_2 = """
CREATE TABLE wallets (
    wallet_id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL,
    debt INTEGER NOT NULL, basis_seq INTEGER NOT NULL, usage TEXT
) WITHOUT ROWID;
CREATE TABLE lots (
    wallet_id TEXT NOT NULL, lot_id TEXT NOT NULL, pocket TEXT NOT NULL,
    remaining INTEGER NOT NULL, expires TEXT, classes TEXT NOT NULL, campaign TEXT,
    PRIMARY KEY (wallet_id, lot_id)
) WITHOUT ROWID;
CREATE TABLE cards (
    card_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, status TEXT NOT NULL,
    nfc_uid TEXT, version INTEGER NOT NULL, pin TEXT
) WITHOUT ROWID;
INSERT INTO wallets VALUES ('W-1', 'active', 3, 0, 7, NULL);
INSERT INTO lots VALUES ('W-1', 'L-1', 'premium_common', 3000, '2022-02-28',
    '["small","large"]', 'koko');
PRAGMA user_version = 2;
"""


def test_a_version_2_state_gains_usable_from_with_nothing_lost(tmp_path):
    """A state.db of version 2 (lots without `usable_from`) opens as version 3: its lot is
    kept (¥3,000 of common voucher value expiring 2022-02-28) and usable at once (no
    usable-from day); a snapshot page then stores a lot's usable-from day (2022-01-08)."""
    with sqlite3.connect(tmp_path / STATE_FILE) as old:
        old.executescript(VERSION_2)
    old.close()
    state = StateStore(tmp_path)
    (lot,) = state.wallet("W-1").lots
    assert (lot["lot"], lot["remaining"], lot["expires"], lot["usable_from"]) == \
        ("L-1", 3000, "2022-02-28", None)
    state.apply_wallet_view({"wallet": "W-1", "status": "active", "version": 4, "debt": 0,
                             "lots": [{**lot, "usable_from": "2022-01-08"}]}, 8)
    assert state.wallet("W-1").lots[0]["usable_from"] == "2022-01-08"
    state.close()
    with sqlite3.connect(tmp_path / STATE_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == STATE_SCHEMA_VERSION == 3
    conn.close()
