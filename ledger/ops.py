"""Operating the ledger: what an office sees (listings), backups and restores.

Backups: a SQLite ledger is copied with SQLite's online backup API (a consistent copy while
the server keeps writing); a PostgreSQL ledger with pg_dump's custom format, restored with
pg_restore. A restore refuses to write over a database that holds tables unless forced.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ledger.db import Database, DatabaseError, redact_url
from ledger.errors import LedgerPackageError
from sync import files

# What a backup file starts with, by engine (SQLite's header; pg_dump's custom format).
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# SQLite's online backup copies this many pages per step (the writer gets the lock back
# between steps); -1 would hold the database for the whole copy.
SQLITE_BACKUP_PAGES = 1024
# pg_dump / pg_restore of a town's ledger: minutes at most; a hung one is an error.
PG_TOOL_TIMEOUT_S = 3600
# Backup files are the owner's only (they hold PIN hashes and every wallet).
BACKUP_FILE_MODE = 0o600
# A card number in a listing shows only its last digits (the list goes to screens, files).
CARD_SHOWN_DIGITS = 4


class OpsError(LedgerPackageError):
    """An expected failure of an operations command; the message is one line."""

    code = "ops"


def missing_database(url: str) -> str | None:
    """Why `url` names no database to read (a SQLite file that does not exist), else None.
    Commands that only read or administer a ledger must not make an empty one."""
    db = Database(url)
    if db.engine == "sqlite" and not _sqlite_file(db).is_file():
        return (f"no ledger database at {db.path} (check --db; `python -m ledger migrate` "
                "or `serve` makes a new one)")
    return None


# -- listings --------------------------------------------------------------------------------


def mask_card(number: str) -> str:
    return "*" * max(len(number) - CARD_SHOWN_DIGITS, 0) + number[-CARD_SHOWN_DIGITS:]


def _require(conn, table: str, column: str, value: str | None, what: str) -> None:
    if value is not None and conn.one(f"SELECT 1 FROM {table} WHERE {column} = ?",
                                      (value,)) is None:
        raise OpsError(f"no {what} {value}")


def require_merchant(db: Database, merchant: str) -> None:
    with db.reading() as conn:
        _require(conn, "merchants", "merchant_id", merchant, "merchant")


def list_merchants(db: Database) -> list[dict]:
    with db.reading() as conn:
        rows = conn.all(
            "SELECT m.merchant_id, m.name, m.class, m.fee_plan, "
            "(SELECT COUNT(*) FROM terminals t WHERE t.merchant_id = m.merchant_id), "
            "(SELECT COUNT(*) FROM staff s WHERE s.merchant_id = m.merchant_id) "
            "FROM merchants m ORDER BY m.merchant_id")
    return [{"merchant_id": r[0], "name": r[1], "class": r[2], "plan": r[3],
             "terminals": r[4], "staff": r[5]} for r in rows]


def list_terminals(db: Database, merchant: str | None = None) -> list[dict]:
    with db.reading() as conn:
        _require(conn, "merchants", "merchant_id", merchant, "merchant")
        rows = conn.all(
            "SELECT terminal_id, merchant_id, status, status_reason, last_seq, enrolled_us "
            # CAST: PostgreSQL cannot type a bare `? IS NULL`
            "FROM terminals WHERE (CAST(? AS TEXT) IS NULL OR merchant_id = ?) "
            "ORDER BY terminal_id",
            (merchant, merchant))
    return [{"terminal_id": r[0], "merchant_id": r[1], "status": r[2], "reason": r[3] or "",
             "last_seq": r[4], "enrolled": r[5] is not None} for r in rows]


def list_cards(db: Database, wallet: str | None = None) -> list[dict]:
    with db.reading() as conn:
        _require(conn, "wallets", "wallet_id", wallet, "wallet")
        rows = conn.all(
            "SELECT card_id, wallet_id, status, nfc_uid IS NOT NULL, pin IS NOT NULL "
            "FROM cards WHERE (CAST(? AS TEXT) IS NULL OR wallet_id = ?) "
            "ORDER BY wallet_id, card_id",
            (wallet, wallet))
    return [{"card": mask_card(r[0]), "wallet_id": r[1], "status": r[2], "nfc": bool(r[3]),
             "pin": bool(r[4])} for r in rows]


def list_staff(db: Database, merchant: str | None = None) -> list[dict]:
    with db.reading() as conn:
        _require(conn, "merchants", "merchant_id", merchant, "merchant")
        rows = conn.all(  # never the PIN hash
            "SELECT staff_id, merchant_id, name, role FROM staff "
            "WHERE (CAST(? AS TEXT) IS NULL OR merchant_id = ?) ORDER BY merchant_id, staff_id",
            (merchant, merchant))
    return [{"staff_id": r[0], "merchant_id": r[1], "name": r[2], "role": r[3]} for r in rows]


def show_wallet(db: Database, wallet: str) -> dict:
    """One wallet as the office looks it up: its state, what it holds by pocket and funder,
    and its cards (in full: the office asked for this wallet by id, and blocking or moving
    a card needs the number)."""
    with db.reading() as conn:
        row = conn.one("SELECT wallet_id, kind, status, status_reason, age_band, area "
                       "FROM wallets WHERE wallet_id = ?", (wallet,))
        if row is None:
            raise OpsError(f"no wallet {wallet}")
        lots = conn.all(
            "SELECT pocket, funder, expires, SUM(remaining) FROM lots "
            "WHERE wallet_id = ? AND remaining > 0 GROUP BY pocket, funder, expires "
            "ORDER BY pocket, expires, funder", (wallet,))
        cards = conn.all("SELECT card_id, status FROM cards WHERE wallet_id = ? "
                         "ORDER BY card_id", (wallet,))
    return {"wallet_id": row[0], "kind": row[1], "status": row[2], "reason": row[3] or "",
            "age_band": row[4] or "", "area": row[5] or "",
            "holds": [{"pocket": p, "funder": f or "", "expires": e or "", "yen": int(y)}
                      for p, f, e, y in lots],
            "total_yen": sum(int(r[3]) for r in lots),
            "cards": [{"card": c, "status": s} for c, s in cards]}


def table(rows: list[dict]) -> str:
    """Rows as aligned columns with a header line (what a terminal window shows)."""
    if not rows:
        return "(none)"
    headers = list(rows[0])
    cells = [[str(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()
              for cell in cells]
    return "\n".join(lines)


# -- backup and restore ----------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the newest installed server version's (a dump must come from a
    pg_dump at least as new as the server), else the one on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise OpsError(f"{name} is not installed (PostgreSQL client programs: apt-get install "
                   "postgresql-client)")


def _pg_target(url: str) -> tuple[str, dict]:
    """The URL without its password, and the environment that passes the password (never on
    a command line, where `ps` shows it)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    password = parts.password
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key == "password":
            password = value
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username}@{host}" if parts.username else host
    if password:
        env["PGPASSWORD"] = password
    clean = urlunsplit(parts._replace(
        netloc=netloc, query=urlencode([(k, v) for k, v in query if k != "password"])))
    return clean.replace("postgres://", "postgresql://", 1), env


def _run_pg(args: list[str], url: str) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT_S,
                              env=_pg_target(url)[1])
    except subprocess.TimeoutExpired as exc:
        raise OpsError(f"{Path(args[0]).name} took over {PG_TOOL_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise OpsError(f"{Path(args[0]).name} failed on {redact_url(url)}: "
                       f"{last.replace(url, redact_url(url))}")



def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database through the online backup API (the source
    opened read-only, so a live ledger goes on writing)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=SQLITE_BACKUP_PAGES)
        finally:
            dst.close()
    finally:
        src.close()

def backup(url: str, out: Path) -> str:
    """Copy the ledger at `url` to the file `out` (written beside it, then renamed, so a
    failed backup never leaves a half file under the name). Returns what was done."""
    reason = missing_database(url)
    if reason:
        raise OpsError(reason)
    out = Path(out)
    if not out.parent.is_dir():
        raise OpsError(f"cannot write {out}: no directory {out.parent}")
    partial = out.with_name(out.name + ".partial")
    db = Database(url)
    try:
        partial.unlink(missing_ok=True)
        # a backup holds what the ledger holds (PIN hashes, wallets): its owner's only
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_FILE_MODE))
        if db.engine == "sqlite":
            _sqlite_copy(_sqlite_file(db), partial)
        else:
            clean, _env = _pg_target(url)
            _run_pg([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                     f"--file={partial}", f"--dbname={clean}"], url)
        os.chmod(partial, BACKUP_FILE_MODE)  # pg_dump may have made it anew
        os.replace(partial, out)
    except sqlite3.Error as exc:
        raise OpsError(f"backup of {db.path} failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return f"backed up {redact_url(url)} ({db.engine}) to {out}: {out.stat().st_size:,} bytes"


def _sqlite_file(db: Database) -> Path:
    """The file of a SQLite ledger (a PostgreSQL one has none)."""
    assert db.engine == "sqlite" and db.path is not None, db.engine
    return db.path


def _has_tables(db: Database) -> bool:
    if db.engine == "sqlite":
        path = _sqlite_file(db)
        if not path.is_file() or path.stat().st_size == 0:
            return False
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                                ).fetchone()[0] > 0
        finally:
            conn.close()
    with db.reading() as conn:
        return conn.value("SELECT COUNT(*) FROM information_schema.tables "
                          "WHERE table_schema = 'public'") > 0


def restore(source: Path, url: str, force: bool = False) -> str:
    """Put the backup file `source` into the database at `url`; refuses a database that
    already holds tables unless `force` (then what it held is replaced)."""
    source = Path(source)
    try:
        with source.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise OpsError(f"cannot read {source}: {exc.strerror or exc}") from exc
    kind = "sqlite" if head == SQLITE_MAGIC else \
        "postgres" if head.startswith(PG_DUMP_MAGIC) else None
    if kind is None:
        raise OpsError(f"{source} is not a ledger backup (neither a SQLite file nor a "
                       "pg_dump custom-format file)")
    db = Database(url)
    if kind != db.engine:
        raise OpsError(f"{source} is a {kind} backup; it restores into a {kind} database, "
                       f"not {db.engine}")
    try:
        if _has_tables(db) and not force:
            raise OpsError(f"{redact_url(url)} is not empty: restore refuses to write over "
                           "it (use --force to replace what it holds)")
        if db.engine == "sqlite":
            path = _sqlite_file(db)
            if not path.parent.is_dir():
                raise OpsError(f"cannot write {path}: no directory {path.parent}")
            for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            files.private_db(path)  # owner-only, as the ledger makes its database
            _sqlite_copy(source, path)
        else:
            clean, _env = _pg_target(url)
            args = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                    f"--dbname={clean}"]
            if force:
                args += ["--clean", "--if-exists"]
            _run_pg([*args, str(source)], url)
    except sqlite3.Error as exc:
        raise OpsError(f"restore into {db.path} failed: {exc}") from exc
    except DatabaseError:
        raise
    finally:
        db.close()
    return f"restored {source} into {redact_url(url)} ({db.engine})"
