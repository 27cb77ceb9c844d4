"""Ledger fixtures: every ledger test runs on SQLite and on a real, throwaway PostgreSQL.

The PostgreSQL cluster starts once per test session (initdb + pg_ctl on a temp dir, unix
socket); each test gets a database of its own. Where PostgreSQL is not installed the
postgres half is skipped with the reason, except under CI, where it must run.
"""

from __future__ import annotations

import itertools
import os

import pytest

from bench.pgcluster import Cluster, PostgresUnavailable
from ledger.db import Database
from ledger.schema import migrate
from tests.ledger.helpers import LedgerProcess

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = Cluster(fast=True).start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{os.getpid()}_{next(_names)}")


@pytest.fixture
def ledger_db(db_url):
    db = Database(db_url)
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def ledger_server(db_url, tmp_path):
    """The real ledger process on 127.0.0.1, on this test's database."""
    server = LedgerProcess(db_url, tmp_path / "ledger-home").start()
    yield server
    server.stop()
