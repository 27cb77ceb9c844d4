"""Edits made to the journal file behind the app's back are caught and named by seq.

Each test edits the real SQLite file with the `sqlite3` module, as someone with access to the
disk would (dropping the append-only triggers first), then runs the real CLI.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync import keys, record
from terminal import audit
from terminal.errors import JournalBroken
from terminal.journal import DB_FILE

AMOUNTS = [500, 1500, 800, 2000, 300]  # seq 2..6


@pytest.fixture
def filled(journal, ledger_key):
    for amount in AMOUNTS:
        journal.append("payment", {"amount": amount, "wallet": "W-1"})
    journal.add_ledger_key(keys.public_key_hex(ledger_key.public_key()))
    journal.close()
    return journal.data_dir


def tamper(data_dir: Path, *statements: str, params=()) -> None:
    conn = sqlite3.connect(data_dir / DB_FILE)
    conn.execute("DROP TRIGGER records_append_only_update")
    conn.execute("DROP TRIGGER records_append_only_delete")
    for sql in statements:
        conn.execute(sql, params) if "?" in sql else conn.execute(sql)
    conn.commit()
    conn.close()


def cli_verify(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terminal", "journal", "verify", "--data", str(data_dir)],
        capture_output=True, text=True, timeout=60,
    )


def broken_at(data_dir: Path) -> JournalBroken:
    with pytest.raises(JournalBroken) as info:
        audit.verify_journal(data_dir)
    return info.value


def test_intact_journal_passes(filled):
    result = cli_verify(filled)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("\n") == 1
    assert "journal intact" in result.stdout and "6 records" in result.stdout


def test_amount_edited_in_the_signed_record(filled):
    tamper(filled, "UPDATE records SET record = replace(record, '\"amount\":1500', "
                   "'\"amount\":150'), amount = 150 WHERE seq = 3")
    result = cli_verify(filled)
    assert result.returncode == 1
    assert "seq 3" in result.stdout
    assert broken_at(filled).seq == 3


def test_amount_and_totals_both_edited_still_fail_the_signature(filled):
    tamper(filled, "UPDATE records SET record = replace(replace(record, '\"amount\":1500', "
                   "'\"amount\":150'), '\"yen\":2000', '\"yen\":650') WHERE seq = 3")
    err = broken_at(filled)
    assert (err.seq, err.code) == (3, "bad_signature")


def test_amount_column_edited_beside_an_intact_record(filled):
    tamper(filled, "UPDATE records SET amount = 1 WHERE seq = 4")
    err = broken_at(filled)
    assert (err.seq, err.code) == (4, "column_edited")
    assert "amount" in err.reason


def test_two_rows_swapped(filled):
    tamper(
        filled,
        "UPDATE records SET seq = -3 WHERE seq = 3",
        "UPDATE records SET seq = 3 WHERE seq = 4",
        "UPDATE records SET seq = 4 WHERE seq = -3",
    )
    err = broken_at(filled)
    assert (err.seq, err.code) == (3, "reordered")
    result = cli_verify(filled)
    assert result.returncode == 1 and "seq 3" in result.stdout and "reordered" in result.stdout


def test_two_records_swapped_under_their_seqs(filled):
    conn = sqlite3.connect(filled / DB_FILE)
    (r3,), (r4,) = conn.execute("SELECT record FROM records WHERE seq IN (3, 4) ORDER BY seq")
    conn.close()
    tamper(filled, "UPDATE records SET record = ? WHERE seq = 3", params=(r4,))
    err = broken_at(filled)
    assert (err.seq, err.code) == (3, "reordered")


def test_middle_row_deleted(filled):
    tamper(filled, "DELETE FROM records WHERE seq = 4")
    err = broken_at(filled)
    assert (err.seq, err.code) == (4, "seq_gap")
    result = cli_verify(filled)
    assert result.returncode == 1 and "seq 4" in result.stdout and "missing" in result.stdout


def test_middle_row_deleted_and_renumbered(filled):
    tamper(
        filled,
        "DELETE FROM records WHERE seq = 4",
        "UPDATE records SET seq = seq - 1 WHERE seq > 4",
    )
    assert broken_at(filled).seq == 4


def _keep_head(data_dir: Path, ledger_key, seq: int) -> None:
    from terminal.journal import Journal

    with Journal.open(data_dir) as journal:
        digest = next(row[5] for row in journal.rows() if row[0] == seq)
        journal.keep_head(record.sign_head(journal.terminal_id, seq, digest, ledger_key))


def test_tail_cut_below_a_kept_head(filled, ledger_key):
    _keep_head(filled, ledger_key, 5)
    assert audit.verify_journal(filled).highest_head == 5
    tamper(filled, "DELETE FROM records WHERE seq >= 4")
    err = broken_at(filled)
    assert (err.seq, err.code) == (4, "tail_cut")
    result = cli_verify(filled)
    assert result.returncode == 1 and "tail cut" in result.stdout and "seq 5" in result.stdout


def test_tail_cut_above_the_kept_head_is_not_provable_but_the_head_still_matches(
    filled, ledger_key
):
    _keep_head(filled, ledger_key, 4)
    tamper(filled, "DELETE FROM records WHERE seq = 6")
    # Records after the last head are the terminal's word alone: the ledger never saw them.
    assert audit.verify_journal(filled).last_seq == 5


def test_kept_head_edited(filled, ledger_key):
    _keep_head(filled, ledger_key, 5)
    tamper(filled, "UPDATE heads SET head = replace(head, '\"seq\":5', '\"seq\":6'), seq = 6")
    err = broken_at(filled)
    assert (err.seq, err.code) == (6, "bad_head")


def test_journal_rewritten_under_another_key(filled, tmp_path):
    # Someone rebuilds a whole plausible journal with a key of their own and puts it in place.
    from terminal.journal import Journal

    forged_dir = tmp_path / "forged"
    forged = Journal.create(forged_dir, "T-TEST-01", keys.generate())
    for amount in AMOUNTS:
        forged.append("payment", {"amount": amount // 10, "wallet": "W-1"})
    forged.close()
    (filled / DB_FILE).unlink()
    for name in ("-wal", "-shm"):
        (filled / (DB_FILE + name)).unlink(missing_ok=True)
    (forged_dir / DB_FILE).rename(filled / DB_FILE)
    err = broken_at(filled)
    assert err.code == "foreign_key"


def test_export_then_verify_the_export(filled, tmp_path):
    out = tmp_path / "audit.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "terminal", "journal", "export", "--data", str(filled),
         "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0 and "exported 6 records" in run.stdout
    lines = out.read_bytes().splitlines()
    assert len(lines) == 6 and record.parse(lines[2])["body"]["amount"] == 1500
    check = subprocess.run(
        [sys.executable, "-m", "terminal", "journal", "verify", "--jsonl", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0 and "6 records" in check.stdout
    lines[3] = lines[3].replace(b'"amount":800', b'"amount":80')
    out.write_bytes(b"\n".join(lines) + b"\n")
    check = subprocess.run(
        [sys.executable, "-m", "terminal", "journal", "verify", "--jsonl", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 1 and "seq 4" in check.stdout


def test_verify_of_a_missing_or_garbage_journal_is_a_clear_failure(tmp_path):
    result = cli_verify(tmp_path / "nothing-here")
    assert result.returncode == 1 and "no journal" in result.stdout
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / DB_FILE).write_bytes(b"\x00garbage" * 512)
    result = cli_verify(tmp_path / "garbage")
    assert result.returncode == 1 and "NOT verified" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
