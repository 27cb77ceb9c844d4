"""The terminal journal on a real SQLite file: durability settings, the outbox, heads, keys."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat

import pytest

from sync import keys, record
from sync.keyfile import KeyFileError, PassphraseError
from terminal import audit, keystore
from terminal.errors import JournalError
from terminal.journal import DB_FILE, MIGRATIONS, Journal


def test_new_journal_starts_with_the_terminal_key(journal, data_dir):
    rows = list(journal.rows())
    assert len(rows) == 1
    start = record.parse(rows[0][6].encode())
    assert start["type"] == "start" and start["seq"] == 1
    assert start["body"]["public_key"] == keystore.load_public_hex(data_dir)
    assert start["prev"] == record.genesis_prev("T-TEST-01")


def test_durability_settings(journal):
    assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    versions = [v for (v,) in journal.conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [m[0] for m in MIGRATIONS]


def test_seq_is_gap_free_and_each_record_has_an_outbox_row(journal):
    for amount in (500, 1500, 0):
        journal.append("payment", {"amount": amount})
    seqs = [row[0] for row in journal.rows()]
    assert seqs == [1, 2, 3, 4]
    assert [seq for seq, _ in journal.pending()] == seqs
    assert journal.totals["payment"] == {"n": 3, "yen": 2000}


def test_totals_persist_across_reopen(journal, data_dir):
    journal.append("charge", {"amount": 3000})
    journal.close()
    key = keystore.load_key(data_dir)
    with Journal.open(data_dir, key) as again:
        appended = again.append("charge", {"amount": 2000})
        assert appended.seq == 3
        assert appended.record["totals"]["charge"] == {"n": 2, "yen": 5000}


def test_a_refused_record_leaves_nothing(journal):
    with pytest.raises(record.RecordError):
        journal.append("payment", {"amount": 1.5})  # not integer yen
    with pytest.raises(record.RecordError):
        journal.append("no_such_type", {})
    with pytest.raises(JournalError):
        journal.append("start", {"public_key": "00" * 32})
    assert [row[0] for row in journal.rows()] == [1]
    assert journal.pending_count() == 1
    assert journal.append("payment", {"amount": 1}).seq == 2


def test_two_writers_on_one_file_never_share_a_seq(journal, data_dir):
    other = Journal.open(data_dir, keystore.load_key(data_dir))
    try:
        for _ in range(5):
            journal.append("payment", {"amount": 1})
            other.append("payment", {"amount": 2})
        assert [row[0] for row in journal.rows()] == list(range(1, 12))
    finally:
        other.close()
    assert audit.verify_journal(data_dir).records == 11


def test_rows_cannot_be_updated_or_deleted_through_sql(journal):
    journal.append("payment", {"amount": 100})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("UPDATE records SET amount = 1 WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("DELETE FROM records WHERE seq = 2")


def test_read_only_journal_refuses_to_write(journal, data_dir):
    with Journal.open(data_dir) as reader:
        with pytest.raises(JournalError, match="read-only"):
            reader.append("payment", {"amount": 1})


def test_create_refuses_to_overwrite_and_open_refuses_foreign_files(journal, data_dir, tmp_path):
    with pytest.raises(JournalError, match="already exists"):
        Journal.create(data_dir, "T-TEST-01", keys.generate())
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / DB_FILE).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(JournalError, match="not a Machi POS journal"):
        Journal.open(foreign)
    (foreign / DB_FILE).write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JournalError):
        Journal.open(foreign)
    with pytest.raises(JournalError, match="no journal"):
        Journal.open(tmp_path / "nowhere")


def test_keep_head_acknowledges_and_drops_outbox_rows(journal, ledger_key):
    for _ in range(4):
        last = journal.append("payment", {"amount": 100})
    journal.add_ledger_key(keys.public_key_hex(ledger_key.public_key()))
    head = record.sign_head(journal.terminal_id, 3, list(journal.rows())[2][5], ledger_key)
    journal.keep_head(head)
    assert [seq for seq, _ in journal.pending()] == [4, 5]
    assert journal.heads()[3] == head
    # a head that names a record we do not have, or another hash, is refused
    with pytest.raises(JournalError, match="differs or is missing"):
        journal.keep_head(record.sign_head(journal.terminal_id, 5, "00" * 32, ledger_key))
    with pytest.raises(JournalError, match="unknown ledger key"):
        journal.keep_head(record.sign_head(journal.terminal_id, 5, last.hash, keys.generate()))
    with pytest.raises(JournalError, match="another terminal"):
        journal.keep_head(record.sign_head("T-OTHER", 5, last.hash, ledger_key))
    assert journal.pending_count() == 2


def test_key_file_is_owner_only_and_refused_when_others_can_read(data_dir):
    keystore.create_key(data_dir)
    path = data_dir / keystore.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        keystore.load_key(data_dir)


def test_key_file_is_never_replaced(data_dir):
    keystore.create_key(data_dir)
    before = (data_dir / keystore.KEY_FILE).read_bytes()
    with pytest.raises(KeyFileError, match="refusing to replace"):
        keystore.create_key(data_dir)
    assert (data_dir / keystore.KEY_FILE).read_bytes() == before


def test_passphrase_protected_key(data_dir):
    key = keystore.create_key(data_dir, passphrase="correct horse")
    pem = (data_dir / keystore.KEY_FILE).read_bytes()
    assert b"ENCRYPTED" in pem
    with pytest.raises(PassphraseError, match=keystore.PASSPHRASE_ENV):
        keystore.load_key(data_dir)
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        keystore.load_key(data_dir, "wrong horse")
    loaded = keystore.load_key(data_dir, "correct horse")
    assert keys.key_id(loaded.public_key()) == keys.key_id(key.public_key())
    with pytest.raises(PassphraseError, match="at least"):
        keystore.create_key(data_dir / "other", passphrase="short")


def test_plain_key_with_a_passphrase_given_is_a_clear_error(data_dir):
    keystore.create_key(data_dir)
    with pytest.raises(PassphraseError, match="not encrypted"):
        keystore.load_key(data_dir, "anything at all")


def test_missing_and_garbage_key_files(data_dir):
    with pytest.raises(KeyFileError, match="no key at"):
        keystore.load_key(data_dir)
    data_dir.mkdir(parents=True)
    fd = os.open(data_dir / keystore.KEY_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    os.close(fd)
    with pytest.raises(KeyFileError, match="not a readable key file"):
        keystore.load_key(data_dir)


def test_private_key_never_reaches_the_database_or_the_log(data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    key = keystore.create_key(data_dir)
    journal = Journal.create(data_dir, "T-SECRET-1", key)
    for amount in range(20):
        journal.append("payment", {"amount": amount})
    journal.close()
    raw = key.seed()
    pem_body = (data_dir / keystore.KEY_FILE).read_text().splitlines()[1]
    stored = b"".join(
        p.read_bytes() for p in data_dir.iterdir() if p.name.startswith(DB_FILE)
    )
    for secret in (raw, raw.hex().encode(), pem_body.encode()):
        assert secret not in stored
        assert secret.decode("latin-1") not in caplog.text
    assert "committed seq 21" in caplog.text  # the log does speak, just not of secrets


def test_migration_back_fills_effects_for_an_older_journal(journal, data_dir):
    journal.append("payment", {"amount": 700, "wallet": "W-1", "decision": "offline",
                               "credential": {"kind": "card", "id": "x"},
                               "lots": [{"lot": "L-1", "amount": 700}]})
    journal.conn.execute("DROP TABLE effects")
    journal.conn.execute("DELETE FROM schema_migrations WHERE version = 2")
    journal.close()
    with Journal.open(data_dir) as again:
        assert again.effects_since("W-1", 0) == [
            (2, "lot", "L-1", -700, None, None, None, None, None),
            (2, "spend", None, 700, None, None, None, "offline", None),
        ]
