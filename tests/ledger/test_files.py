"""The ledger's files and secrets (DESIGN §10): its home and SQLite database owner-only, an
admin token other users could read refused in one line, database passwords never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import service
from ledger.db import Database, DatabaseError, redact_url
from ledger.schema import migrate
from sync.keyfile import KeyFileError
from tests.filemodes import mode, open_umask  # noqa: F401 - the fixture applies here

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "hunter2-s3cret"


def test_a_new_sqlite_ledger_and_its_wal_files_are_owner_only(tmp_path):
    path = tmp_path / "new" / "ledger.db"
    db = Database(f"sqlite:///{path}")
    migrate(db)
    assert mode(path.parent) == 0o700
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        assert mode(path.parent / name) == 0o600, name
    db.close()


def test_a_ledger_file_left_readable_is_closed_up(tmp_path):
    path = tmp_path / "ledger.db"
    path.touch()
    os.chmod(path, 0o644)
    Database(f"sqlite:///{path}").connection()
    assert mode(path) == 0o600


def test_the_ledger_home_is_owner_only(tmp_path):
    home = service.LedgerHome(tmp_path / "machi-pos" / "ledger")
    home.signing_key()
    home.admin_token()
    assert mode(tmp_path / "machi-pos") == 0o700
    assert mode(home.path) == 0o700
    assert mode(home.path / service.ADMIN_TOKEN_FILE) == 0o600
    assert mode(home.path / service.LEDGER_KEY_FILE) == 0o600


def test_an_admin_token_readable_by_others_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(service.ADMIN_TOKEN_ENV, raising=False)
    home = service.LedgerHome(tmp_path / "home")
    token = home.admin_token()
    path = home.path / service.ADMIN_TOKEN_FILE
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match=f"run: chmod 600 {path}"):
        home.admin_token()
    os.chmod(path, 0o600)
    assert home.admin_token() == token


def test_serve_refuses_a_readable_admin_token_in_one_line(tmp_path):
    home = service.LedgerHome(tmp_path / "home")
    home.admin_token()
    os.chmod(home.path / service.ADMIN_TOKEN_FILE, 0o640)
    env = {k: v for k, v in os.environ.items() if k != service.ADMIN_TOKEN_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "ledger", "serve", "--db", f"sqlite:///{tmp_path / 'l.db'}",
         "--home", str(home.path), "--port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "admin token" in lines[0] and "chmod 600" in lines[0]


@pytest.mark.parametrize("url, shown", [
    (f"postgresql://machi:{PASSWORD}@db.example/ledger", "postgresql://machi:***@db.example/ledger"),
    (f"postgres://machi:{PASSWORD}@db:5433/l?sslmode=require",
     "postgres://machi:***@db:5433/l?sslmode=require"),
    (f"postgresql://machi@db/l?password={PASSWORD}&sslmode=require",
     "postgresql://machi@db/l?password=***&sslmode=require"),
    ("postgresql://machi@db/ledger", "postgresql://machi@db/ledger"),
    ("sqlite:///var/lib/ledger.db", "sqlite:///var/lib/ledger.db"),
    (f"postgresql://machi:{PASSWORD}@[::1/ledger", "postgresql://***"),
])
def test_a_url_is_shown_without_its_password(url, shown):
    assert redact_url(url) == shown


def test_an_unknown_url_is_refused_without_its_password():
    with pytest.raises(DatabaseError) as caught:
        Database(f"postgresq://machi:{PASSWORD}@db/ledger")
    assert PASSWORD not in str(caught.value) and "machi:***@db" in str(caught.value)


def test_a_driver_error_does_not_echo_the_password():
    pytest.importorskip("psycopg")
    # libpq repeats a password with a space in it in its error message
    db = Database("postgresql://machi:hunter 2@127.0.0.1:1/ledger")
    with pytest.raises(DatabaseError) as caught:
        db.connection()
    assert "hunter 2" not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_cli_never_prints_the_password(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ledger", "check", "--db",
         f"postgresql://machi:{PASSWORD}@127.0.0.1:1/ledger", "--home", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert PASSWORD not in result.stdout + result.stderr
    assert "machi:***@127.0.0.1:1" in result.stderr
