"""The terminal's files on disk (DESIGN §10): its data directory owner-only (0700), its
databases, their WAL files and its settings owner-only (0600), whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from sync import files
from terminal import keystore
from terminal.journal import DB_FILE, Journal
from terminal.node import CONFIG_FILE, TerminalConfig, save_settings
from terminal.state import STATE_FILE, StateStore
from tests.filemodes import mode, open_umask  # noqa: F401 - the fixture applies here


def test_a_new_terminal_directory_and_its_files_are_owner_only(tmp_path):
    data_dir = tmp_path / "machi-pos" / "terminal"
    key = keystore.create_key(data_dir)
    journal = Journal.create(data_dir, "T-TEST-01", key)
    journal.append("payment", {"amount": 500})  # the WAL and its index exist while open
    state = StateStore(data_dir)
    state.put("merchant", {"name": "shop"})
    TerminalConfig("T-TEST-01", "http://127.0.0.1:8700", "M-1").save(data_dir)
    assert mode(tmp_path / "machi-pos") == 0o700
    assert mode(data_dir) == 0o700
    for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", STATE_FILE, STATE_FILE + "-wal",
                 STATE_FILE + "-shm", CONFIG_FILE, keystore.KEY_FILE):
        assert mode(data_dir / name) == 0o600, name
    journal.close()
    state.close()


def test_databases_left_readable_by_others_are_closed_up_when_opened(journal, data_dir):
    journal.close()
    for name in (DB_FILE, STATE_FILE):
        (data_dir / name).touch()
        os.chmod(data_dir / name, 0o644)
    Journal.open(data_dir).close()
    StateStore(data_dir).close()
    assert mode(data_dir / DB_FILE) == 0o600
    assert mode(data_dir / STATE_FILE) == 0o600


def test_settings_stay_owner_only_when_changed(data_dir):
    data_dir.mkdir(parents=True)
    save_settings(data_dir, {"printer": "loopback"})
    save_settings(data_dir, {"lang": "en"})
    assert mode(data_dir / CONFIG_FILE) == 0o600
    assert not (data_dir / (CONFIG_FILE + ".tmp")).exists()


def test_an_existing_directory_chosen_by_the_operator_keeps_its_mode(tmp_path):
    shared = tmp_path / "chosen"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)
    keystore.create_key(shared)
    assert mode(shared) == 0o750
    assert mode(shared / keystore.KEY_FILE) == 0o600


def test_making_sure_of_the_mode_keeps_sqlites_locks(tmp_path):
    """Opening and closing the database file again would drop this process's POSIX locks on
    it: another process could then write while we hold the write lock."""
    path = tmp_path / "locked.db"
    conn = sqlite3.connect(files.private_db(path), isolation_level=None)
    conn.execute("CREATE TABLE t (x)")  # a rollback journal: the locks are on the file itself
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1)")
    files.private_db(path)  # as a second connection of this process does
    other = subprocess.run(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
         "timeout=0, isolation_level=None); c.execute('BEGIN IMMEDIATE')", str(path)],
        capture_output=True, text=True, timeout=60)
    conn.execute("COMMIT")
    conn.close()
    assert other.returncode != 0 and "locked" in other.stderr
