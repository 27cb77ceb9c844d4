"""The ledger's storage: one small interface over SQLite (default) and PostgreSQL.

The ledger's SQL is written once, with `?` placeholders and portable types (TEXT, BIGINT),
and runs on both engines. What differs lives here: connecting, placeholder style, row locks
(`FOR UPDATE` on PostgreSQL; SQLite takes its one write lock with BEGIN IMMEDIATE), and which
errors mean "run the transaction again" (serialization failures and deadlocks on PostgreSQL
and on Postgres-wire distributed engines, a busy database on SQLite).

A PostgreSQL server can go away under a running ledger (a restart, a crash, a fail-over).
Each thread's connection is checked before it is handed out and replaced when it is found
dead; a transaction that lost its connection before its COMMIT was sent did not happen, so
it is run again on a new connection like one that lost a serialization race. One that lost
it during the COMMIT may or may not have happened: that is an error (503) for the client to
send again, never a silent second run.

A replicated PostgreSQL is named with a libpq multi-host URL, e.g.
`postgresql://machi@/ledger?host=/run/pg-a,/run/pg-b&target_session_attrs=read-write` (or
`host=a.example,b.example&port=5432,5432`): libpq tries the hosts in order and keeps the
first that takes writes. When the primary dies the ledger's connections break; each is
replaced by connecting again through the same list, backing off from PG_RECONNECT_PAUSE_S to
PG_RECONNECT_PAUSE_MAX_S for up to PG_RECONNECT_WAIT_S, by which time the standby has
usually been promoted; until then requests are answered 503 and terminals send again. A
server found to take no writes (a standby, or an old primary come back as one: SQLSTATE
25006) is treated as a lost connection too. Reads for reports may go to a standby
(`replica_lag` says how far behind it is).

No ordering relies on a global sequence: ids are made by the writer (sortable ids) and
change feeds use per-row timestamps, so a distributed engine can serve the same SQL.
docs/scaling.md has the tested topologies.
"""

from __future__ import annotations

import logging
import random
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ledger.errors import LedgerPackageError
from sync import files

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Page cache per connection (SQLite's default is 2 MiB, ~500 pages). An ingest batch of
# 1,000 records touches ~800 pages (lots, wallets, usage, indexes); with the default they
# were read again from the OS for each batch. With 64 MiB: ~6 % less CPU per record in
# ingest (6 of 7 alternating runs) and pushes ~8 % faster (mean of 5 alternating runs).
SQLITE_CACHE_KIB = 64 * 1024
# Transactions that lose a serialization race are run again this many times, backing off
# exponentially (with jitter) from the first delay.
TX_RETRIES = 8
TX_RETRY_FIRST_DELAY_S = 0.005
# libpq's connect_timeout, per host of a multi-host URL: a dead machine listed before the
# primary (no answer, not even a refusal) costs each new connection this long, so keep it
# short enough that a connection made after a failover lands well inside the reconnect wait.
PG_CONNECT_TIMEOUT_S = 5
# PostgreSQL SQLSTATEs that mean "try again": serialization failure, deadlock detected.
PG_RETRY_STATES = {"40001", "40P01"}
# SQLSTATEs of a connection the server has ended or cannot serve: the class of connection
# exceptions, and shutdown by an administrator, crash shutdown, "cannot connect now".
PG_GONE_CLASS = "08"
PG_GONE_STATES = {"57P01", "57P02", "57P03"}
# "read_only_sql_transaction": a write reached a server that takes none (a standby, or a
# demoted primary). With target_session_attrs=read-write a new connection finds the primary.
PG_READ_ONLY_STATE = "25006"
# Once the database has been reached, a lost connection is replaced by trying to connect
# again, pausing PG_RECONNECT_PAUSE_S at first and twice as long after each failure (with
# jitter, so a ledger's threads and several ledgers do not knock in step) up to
# PG_RECONNECT_PAUSE_MAX_S, for up to PG_RECONNECT_WAIT_S (a restart or a promotion takes
# seconds; a terminal waits READ_TIMEOUT_S = 30 s for an answer); then the request is
# answered 503 database_unavailable, which a terminal sends again later.
PG_RECONNECT_WAIT_S = 10.0
PG_RECONNECT_PAUSE_S = 0.1
PG_RECONNECT_PAUSE_MAX_S = 1.0


# What a database URL's password is shown as wherever the URL is printed or logged.
REDACTED = "***"


def _passwords(url: str) -> list[str]:
    """The secrets a database URL holds: the password after the user name, and libpq's
    `password=` in the query."""
    parts = urlsplit(url)
    found = [parts.password, unquote(parts.password)] if parts.password else []
    found += [value for key, value in parse_qsl(parts.query) if key == "password" and value]
    return found


def redact_url(url: str) -> str:
    """`url` fit to print: its password, if any, replaced (postgresql://u:***@host/db)."""
    try:
        parts = urlsplit(url)
        secrets = _passwords(url)
    except ValueError:  # not even a URL: show only its scheme, if it has one
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme}://{REDACTED}" if scheme else REDACTED
    if not secrets:
        return url
    netloc = parts.netloc
    if parts.password:
        netloc = f"{parts.username or ''}:{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = urlencode([(key, REDACTED if key == "password" else value)
                       for key, value in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _without_secret(text: str, url: str) -> str:
    """A driver's error message with the URL's password taken out, should it echo it."""
    try:
        secrets = _passwords(url)
    except ValueError:
        secrets = []
    text = text.replace(url, redact_url(url))
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class DatabaseError(LedgerPackageError):
    """The database is unreachable, misconfigured or refused a statement."""

    code = "database"


class RetryableError(LedgerPackageError):
    """Raised inside a transaction to ask for it to be run again."""

    code = "retry"


class ConnectionLost(DatabaseError):
    """The connection to the database broke (the server restarted, crashed or cannot be
    reached) where the work cannot simply be run again."""

    code = "connection_lost"


class CommitUnknown(ConnectionLost):
    """The connection broke while a COMMIT was on its way: the transaction may or may not
    have taken effect."""

    code = "commit_unknown"


def _sqlite_path(url: str) -> Path:
    # sqlite:///relative/file.db and sqlite:////absolute/file.db, as SQLAlchemy spells them
    rest = url[len("sqlite:///") :]
    if not rest:
        raise DatabaseError("a SQLite URL names a file: sqlite:///path/to/ledger.db")
    return Path(rest)


class Connection:
    """One connection, used by one thread at a time."""

    def __init__(self, engine: str, raw: Any) -> None:
        self.engine = engine
        self.raw = raw
        self.for_update = " FOR UPDATE" if engine == "postgres" else ""
        self._sql_cache: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        if self.engine == "sqlite":
            return sql
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = self._sql_cache[sql] = sql.replace("%", "%%").replace("?", "%s")
        return cached

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        if self.engine == "sqlite":
            self.raw.executemany(sql, rows)
        else:
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Insert many rows: one COPY on PostgreSQL (a row costs a few microseconds there,
        against tens in executemany), executemany on SQLite (already in-process and fast).
        Constraint violations raise just as an INSERT's would."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.engine == "sqlite":
            marks = ",".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def update_rows(self, table: str, key: str, columns: Sequence[tuple[str, str]],
                    rows: list[tuple], also: str = "") -> None:
        """`UPDATE table SET column = value, ... [, also] WHERE key = ?` for each row, a row
        being (the values of `columns`..., key). `columns` pairs each name with its SQL type.
        On PostgreSQL this is one statement over arrays (unnest) instead of one per row."""
        if not rows:
            return
        names = [name for name, _ in columns]
        if self.engine == "sqlite":
            sets = ", ".join([f"{name} = ?" for name in names] + ([also] if also else []))
            self.raw.executemany(f"UPDATE {table} SET {sets} WHERE {key} = ?", rows)
            return
        sets = ", ".join([f"{name} = v.{name}" for name in names] + ([also] if also else []))
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns) + ", %s::TEXT[]"
        sql = (f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}, "
               f"key_) WHERE {table}.{key} = v.key_")
        self.raw.execute(sql, [list(column) for column in zip(*rows, strict=True)])

    def update_rows_by(self, table: str, keys: Sequence[str], columns: Sequence[tuple[str, str]],
                       rows: list[tuple]) -> None:
        """`update_rows` for a table whose key is several TEXT columns: each row is (the
        values of `columns`..., the key values...)."""
        if not rows:
            return
        names = [name for name, _ in columns]
        if self.engine == "sqlite":
            sets = ", ".join(f"{name} = ?" for name in names)
            where = " AND ".join(f"{key} = ?" for key in keys)
            self.raw.executemany(f"UPDATE {table} SET {sets} WHERE {where}", rows)
            return
        sets = ", ".join(f"{name} = v.{name}" for name in names)
        key_names = [f"key_{n}" for n in range(len(keys))]
        arrays = ", ".join([f"%s::{kind}[]" for _, kind in columns] + ["%s::TEXT[]"] * len(keys))
        where = " AND ".join(f"{table}.{key} = v.{alias}"
                             for key, alias in zip(keys, key_names, strict=True))
        self.raw.execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS "
                         f"v({', '.join(names + key_names)}) WHERE {where}",
                         [list(column) for column in zip(*rows, strict=True)])

    def insert_new(self, table: str, columns: Sequence[str], types: Sequence[str],
                   keys: Sequence[str], rows: list[tuple]) -> int:
        """Insert the rows whose keys are not taken yet (ON CONFLICT DO NOTHING, so a row
        another transaction inserted meanwhile is no error); the count inserted."""
        if not rows:
            return 0
        names = ", ".join(columns)
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        if self.engine == "sqlite":
            marks = ",".join("?" * len(columns))
            cur = self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                                       f"{conflict}", rows)
            return cur.rowcount
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        cur = self.raw.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
                               f"{conflict}", [list(column) for column in zip(*rows, strict=True)])
        return cur.rowcount

    def add_to_rows(self, table: str, keys: Sequence[str], column: str,
                    types: Sequence[str], rows: list[tuple]) -> None:
        """For each (keys..., amount) row: insert it, or add `amount` to `column` of the row
        with those keys. On PostgreSQL one statement over arrays instead of one per row."""
        if not rows:
            return
        names = ", ".join([*keys, column])
        conflict = (f"ON CONFLICT ({', '.join(keys)}) DO UPDATE "
                    f"SET {column} = {table}.{column} + excluded.{column}")
        if self.engine == "sqlite":
            marks = ",".join("?" * (len(keys) + 1))
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}",
                                 rows)
            return
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        self.raw.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
                         f"{conflict}", [list(column) for column in zip(*rows, strict=True)])

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    def value(self, sql: str, params: Sequence[Any] = (), default: Any = None) -> Any:
        row = self.one(sql, params)
        return default if row is None or row[0] is None else row[0]

    def in_list(self, values: Sequence[Any]) -> str:
        """Placeholders for an IN (...) list of this many values."""
        return ",".join("?" * len(values))

    def in_values(self, column: str, values: Sequence[str]) -> tuple[str, list]:
        """`column IN (values)` as SQL, and its parameters, for text values. On PostgreSQL
        it is `column = ANY(array)`: one parameter, so the statement text is the same
        whatever the count and psycopg parses it once instead of every time."""
        if self.engine == "postgres":
            return f"{column} = ANY(?::TEXT[])", [list(values)]
        return f"{column} IN ({self.in_list(values)})", list(values)

    def begin(self) -> None:
        if self.engine == "sqlite":
            self.raw.execute("BEGIN IMMEDIATE")
        # psycopg opens the transaction itself on the first statement

    def commit(self) -> None:
        if self.engine == "sqlite":
            self.raw.execute("COMMIT")
        else:
            self.raw.commit()

    def rollback(self) -> None:
        if self.engine == "sqlite":
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
        else:
            self.raw.rollback()

    def close(self) -> None:
        self.raw.close()

    def usable(self) -> bool:
        """False when this connection is seen to be dead. A PostgreSQL connection is dead
        when the driver has found it closed or broken, or when it is idle and its socket
        has something to read: an idle connection is sent nothing unasked but the server's
        notice that it ends the session (a shutdown) or end of file (a crash); then one
        round trip tells. A connection in a transaction is the caller's, never judged here."""
        if self.engine != "postgres":
            return True
        import psycopg

        raw = self.raw
        if raw.closed or raw.broken:
            return False
        if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return True
        try:
            readable, _, _ = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        try:
            raw.execute("SELECT 1")
            raw.rollback()
        except psycopg.Error:
            return False
        return True


class Database:
    """A ledger database by URL; hands each thread its own connection."""

    def __init__(self, url: str) -> None:
        self.url = url  # holds the password: print redact_url(url), never this
        self.path: Path | None
        if url.startswith("sqlite:///"):
            self.engine = "sqlite"
            self.path = _sqlite_path(url)
        elif url.startswith(("postgresql://", "postgres://")):
            self.engine = "postgres"
            self.path = None
        else:
            raise DatabaseError(f"unknown database URL {redact_url(url)!r}: "
                                "use sqlite:///file.db or postgresql://...")
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()
        # Set at the first connection made: from then on a server that cannot be reached
        # is waited for (it is restarting); before, the URL is more likely wrong.
        self._reached = False
        # SQLite has one writer at a time. Threads of this process queue for it here, and
        # the next one starts the moment the last commits; left to SQLite, a waiting
        # writer sleeps and polls (1, 2, 5, ... 100 ms), which idled a pushed batch behind
        # the one before it for up to tens of milliseconds. (PostgreSQL: row locks.)
        self._writing: threading.Lock | nullcontext = \
            threading.Lock() if self.engine == "sqlite" else nullcontext()

    def _open(self) -> Connection:
        if self.engine == "sqlite":
            assert self.path is not None
            files.private_db(self.path)
            lite = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            lite.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            lite.execute("PRAGMA journal_mode = WAL")
            lite.execute("PRAGMA synchronous = FULL")
            lite.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            return Connection("sqlite", lite)
        import psycopg

        try:
            raw = psycopg.connect(self.url, connect_timeout=PG_CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            # `from None`: the driver's exception may hold the URL itself
            raise DatabaseError(f"cannot connect to PostgreSQL at {redact_url(self.url)}: "
                                f"{_without_secret(str(exc), self.url)}") from None
        return Connection("postgres", raw)

    def _open_waiting(self) -> Connection:
        """A new connection; if the database was reached before, waiting up to
        PG_RECONNECT_WAIT_S for it to be back (or for a standby to be promoted)."""
        deadline = time.monotonic() + PG_RECONNECT_WAIT_S
        pause = PG_RECONNECT_PAUSE_S
        while True:
            try:
                conn = self._open()
            except DatabaseError as exc:
                left = deadline - time.monotonic()
                if not self._reached or left <= 0:
                    raise
                log.debug("database not back yet: %s", exc)
                time.sleep(min(left, pause * (0.5 + random.random())))
                pause = min(pause * 2, PG_RECONNECT_PAUSE_MAX_S)
                continue
            self._reached = True
            return conn

    def connection(self) -> Connection:
        """This thread's connection: checked, and replaced when it is found dead."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.usable():
            log.warning("ledger: a database connection was found dead; replacing it")
            self._discard(conn)
            conn = None
        if conn is None:
            conn = self._local.conn = self._open_waiting()
            with self._lock:
                self._all.append(conn)
        return conn

    def _discard(self, conn: Connection) -> None:
        """Close a dead connection and forget it, so this thread's next use opens another."""
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.close()
        except Exception as exc:  # noqa: BLE001 - it is dead already; closing is tidying up
            log.debug("closing a dead connection: %s", exc)

    def _lost(self, conn: Connection, exc: BaseException, writing: bool = False) -> bool:
        """Whether `exc` means `conn` is gone (the server ended it or cannot be reached),
        or, for a write, that it reached a server that takes no writes."""
        if self.engine != "postgres" or not isinstance(exc, Exception):
            return False
        if conn.raw.closed or conn.raw.broken:
            return True
        state = getattr(exc, "sqlstate", None) or ""
        if writing and state == PG_READ_ONLY_STATE:
            return True
        return state.startswith(PG_GONE_CLASS) or state in PG_GONE_STATES

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception as exc:  # noqa: BLE001 - closing must go on for the others
                    log.debug("closing a connection: %s", exc)
            self._all.clear()
        self._local = threading.local()

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RetryableError):
            return True
        if self.engine == "sqlite":
            return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
        return getattr(exc, "sqlstate", None) in PG_RETRY_STATES

    def _rollback(self, conn: Connection) -> None:
        """Roll back; a connection found gone meanwhile is dropped instead (the server has
        ended its transaction), and whatever error brought us here is the one to tell."""
        try:
            conn.rollback()
        except Exception as exc:
            if not self._lost(conn, exc):
                raise
            self._discard(conn)

    def _gone(self, conn: Connection, exc: BaseException, committing: bool = False,
              waited: bool = False) -> ConnectionLost:
        """The error to raise for a connection lost with `exc`, the connection dropped."""
        self._discard(conn)
        text = _without_secret(str(exc), self.url).strip()
        if committing:
            return CommitUnknown("the connection to the database broke while a transaction "
                                 f"was being committed; it may or may not have taken effect: "
                                 f"{text}")
        again = f" again and again for {PG_RECONNECT_WAIT_S:g} s" if waited else ""
        return ConnectionLost(f"the connection to the database broke{again}: {text}")

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in one transaction, again if it loses a serialization race, and
        again on a new connection if the connection broke before the COMMIT was sent."""
        delay = TX_RETRY_FIRST_DELAY_S
        attempt = 0
        reconnect_until: float | None = None
        while True:
            conn = self.connection()
            committing = False
            try:
                with self._writing:
                    try:
                        conn.begin()
                        result = work(conn)
                        committing = True
                        conn.commit()
                    except BaseException:
                        self._rollback(conn)  # before the next writer of this process begins
                        raise
                return result
            except BaseException as exc:
                if self._lost(conn, exc, writing=True):
                    now = time.monotonic()
                    if reconnect_until is None:
                        reconnect_until = now + PG_RECONNECT_WAIT_S
                    if committing or now >= reconnect_until:
                        raise self._gone(conn, exc, committing, waited=True) from None
                    log.warning("ledger: the database connection broke (%s); running the "
                                "transaction again on a new one",
                                _without_secret(str(exc), self.url).strip())
                    self._discard(conn)
                    continue
                if attempt < TX_RETRIES and self._retryable(exc):
                    attempt += 1
                    log.info("transaction retry %d after %s", attempt, exc)
                    time.sleep(delay * (0.5 + random.random()))
                    delay *= 2
                    continue
                raise

    @contextmanager
    def reading(self, snapshot: bool = False):
        """A connection for reads outside any write transaction.

        With `snapshot`, all its reads see the database as of one moment (one read
        transaction: SQLite's WAL snapshot, PostgreSQL's REPEATABLE READ), so rows read by
        several statements agree with each other even while batches are being written.
        """
        conn = self.connection()
        began = False
        try:
            if snapshot:
                if self.engine == "sqlite":
                    if not conn.raw.in_transaction:
                        conn.raw.execute("BEGIN")
                        began = True
                else:
                    conn.raw.rollback()
                    conn.raw.execute(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn
        except Exception as exc:
            # The reads cannot be run again from here: the request is answered 503, and
            # this thread's next use has a new connection.
            if self._lost(conn, exc):
                raise self._gone(conn, exc) from None
            raise
        finally:
            if self.engine == "postgres":
                if getattr(self._local, "conn", None) is conn:  # not dropped as dead
                    self._rollback(conn)  # end the implicit read transaction
            elif began:
                conn.raw.execute("ROLLBACK")



# --- reading from a standby ------------------------------------------------------------


@dataclass(frozen=True)
class Replica:
    """Where a database's reads come from: a primary (`standby` False: up to date), or a
    standby and how far behind its primary it is."""

    standby: bool
    # Seconds between now and the last transaction the standby replayed, 0.0 when it has
    # replayed all it received; None when it has replayed none since it started.
    lag_s: float | None = None
    # The commit time of that last transaction replayed (ISO 8601), if any.
    replayed_at: str | None = None

    def text(self) -> str:
        if not self.standby:
            return "reading from a primary: up to date"
        if self.lag_s is None:
            return "reading from a standby that has replayed no transaction yet: staleness unknown"
        return (f"reading from a standby: {self.lag_s:.1f} s behind its primary (last "
                f"transaction replayed committed at {self.replayed_at})")


def replica_lag(db: Database) -> Replica:
    """How stale reads from `db` are. A standby that has replayed everything it received
    is 0 s behind (pg_last_xact_replay_timestamp would age on a quiet primary); otherwise
    the age of the last transaction it replayed (PostgreSQL's usual replay lag measure).
    SQLite and a primary are up to date."""
    if db.engine != "postgres":
        return Replica(standby=False)
    with db.reading() as conn:
        row = conn.one(
            "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
            "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), "
            "pg_last_xact_replay_timestamp()")
    assert row is not None
    in_recovery, caught_up, age_s, replayed_at = row
    if not in_recovery:
        return Replica(standby=False)
    stamp = replayed_at.isoformat(timespec="seconds") if replayed_at is not None else None
    if caught_up:
        return Replica(True, 0.0, stamp)
    return Replica(True, None if age_s is None else max(float(age_s), 0.0), stamp)
