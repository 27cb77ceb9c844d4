"""Files that hold money or secrets, for terminals and the ledger alike (DESIGN §10).

Data directories are made owner-only (0700) and databases owner-only (0600) before SQLite
first opens them; SQLite gives a database's `-wal` and `-shm` files the database's own mode,
so they are owner-only too. A database left readable by others (by an older version, or a
copy) is closed up when it is opened. Secrets (key files, the ledger's admin token) are read
only when no other user can read them, as ssh does; the refusal says which chmod to run.
How "owner-only" is made and checked on each OS is sync.platform.perms (POSIX modes; on
Windows the file's access list).
"""

from __future__ import annotations

import os
from pathlib import Path

from sync.errors import SyncPackageError
from sync.platform import perms
from sync.platform.perms import OTHERS_BITS, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

__all__ = ["OTHERS_BITS", "PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "UnsafeFileError",
           "private_db", "private_dir", "read_secret", "write_private"]
# SQLite's companions of a database in WAL mode.
SQLITE_COMPANIONS = ("-wal", "-shm")
# A secret here (a PEM key, a token) is a few hundred bytes; refuse to read anything larger.
MAX_SECRET_BYTES = 64 * 1024


class UnsafeFileError(SyncPackageError):
    """A secret other users could read, or one that belongs to another user; the one-line
    message says what to do."""

    code = "unsafe_file"


def private_dir(path: Path) -> Path:
    """Make `path` (and any missing parents) owner-only; a directory that already exists is
    left as it is (it may be one the operator chose and shares on purpose)."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            perms.make_private_dir(directory)
        except FileExistsError:
            continue  # made meanwhile by another process
    return path


def private_db(path: Path) -> Path:
    """Make sure the database file at `path` exists owner-only before SQLite opens it (SQLite
    would make it with the umask's mode, usually readable by all), and close up an existing
    one and its WAL files."""
    private_dir(path.parent)
    # Never open an existing database here: closing any descriptor of a file drops every
    # POSIX lock this process holds on it, SQLite's included, and readers elsewhere would
    # then see a stale or torn database. O_EXCL opens only a file nobody has open yet.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    for candidate in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        perms.close_up(candidate)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically as an owner-only file (a settings file, say)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_secret(path: Path, what: str = "secret") -> bytes:
    """The bytes of a secret file, refusing one that other users could read or that another
    user owns. FileNotFoundError passes through."""
    fd = os.open(path, os.O_RDONLY)
    try:
        problem = perms.secret_problem(fd, path, what)
        if problem:
            raise UnsafeFileError(problem)
        return os.read(fd, MAX_SECRET_BYTES)
    finally:
        os.close(fd)
