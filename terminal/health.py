"""Is this terminal's storage sound, and is there room left on its disk? (DESIGN §4, §10)

A bit flipped in `journal.db` or `state.db` must not stop the terminal from starting, and
must not let it go on selling as if nothing happened. At start the window's worker runs
`StorageHealth.start` in the background: the journal is verified (every record's chain and
signature, terminal.audit) and SQLite's `PRAGMA quick_check` runs on both databases, all
through read-only connections. A damaged part is also marked when reading it fails while the
terminal runs (`StorageHealth.mark`). The counter asks `refusal()` before each sale: while a
part is damaged every sale is refused (`storage_damaged`) until a manager takes a way out:

- the state (`state.db`, the ledger's snapshot) is rebuilt from a fresh snapshot:
  `python -m terminal repair rebuild-state` (terminal.repair; the journal, and so every
  record not yet sent, is left as it is);
- a damaged journal cannot be mended (its records are signed): what verifies is exported
  (`python -m terminal journal export`), sent, and the terminal is enrolled anew.

A full disk is not damage: the sale that did not fit is refused (`disk_full`) and nothing of
it is kept (the journal's transaction rolls back). Free space is part of every report, and
below `LOW_SPACE_BYTES` the counter's status line and `terminal status` say how much is left
before it runs out.

What is found damaged is also written to `DAMAGE_MARK_FILE` in the data directory, so a
restart does not forget it while a new check (which takes a while on a long journal) has
not yet found it again; only a way out clears it (`clear`, by the state's rebuild; a damaged
journal's data directory is left for a new one).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from terminal.errors import JournalBroken, TerminalError
from terminal.journal import DB_FILE, connect_read_only, is_disk_full
from terminal.policy import Refused

log = logging.getLogger(__name__)

# Below this much free space on the data directory's disk the terminal warns (status line,
# `terminal status`): a day of sales is a few MiB of journal, a snapshot tens of MiB.
LOW_SPACE_BYTES = 50 * 1024 * 1024
MIB = 1024 * 1024
# The parts of a terminal's storage that can be damaged.
JOURNAL = "journal"
STATE = "state"
STATE_FILE = "state.db"  # terminal.state.STATE_FILE (not imported: state imports journal)
# SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB.
DAMAGE_CODES = (11, 26)
# Lines of `PRAGMA quick_check` kept in a report (it lists every problem it finds).
QUICK_CHECK_LINES = 3
# The damage found, kept across restarts until a way out clears it (see the module's text).
DAMAGE_MARK_FILE = "storage-damaged.json"


@dataclass(frozen=True)
class Damage:
    part: str  # JOURNAL or STATE
    detail: str  # what was found, in English (for the log, `status` and the admin screen)


@dataclass(frozen=True)
class HealthReport:
    """What is known of the storage: damage found so far, whether the full check at start
    has finished, and the free space on the data directory's disk (None: unknown)."""

    damage: tuple[Damage, ...]
    checked: bool
    free_bytes: int | None
    verified: bool = False  # the check walked every record's signature

    @property
    def damaged(self) -> bool:
        return bool(self.damage)

    def part_damaged(self, part: str) -> bool:
        return any(d.part == part for d in self.damage)

    @property
    def low_space(self) -> bool:
        return self.free_bytes is not None and self.free_bytes < LOW_SPACE_BYTES

    def lines(self) -> list[str]:
        """The report in English, one line per finding, for `terminal status`."""
        out = []
        for damage in self.damage:
            out.append(f"{damage.part} DAMAGED: {damage.detail}")
        if self.part_damaged(STATE):
            out.append("  way out: `python -m terminal repair rebuild-state` (pulls a fresh "
                       "snapshot from the ledger; the journal and its unsent records stay)")
        if self.part_damaged(JOURNAL):
            out.append("  way out: `python -m terminal journal export --out FILE` (what "
                       "verifies), `python -m terminal sync`, then enroll this terminal anew "
                       "in a new data directory; keep the damaged one for the auditor")
        if self.damage:
            out.append("  sales are refused until then")
        elif self.checked:
            out.append("storage: " + ("journal verified, " if self.verified else "")
                       + "both databases pass quick_check")
        if self.free_bytes is not None:
            low = f" — LOW (below {LOW_SPACE_BYTES // MIB} MiB): free space before the disk " \
                  "is full" if self.low_space else ""
            out.append(f"disk: {self.free_bytes / MIB:.1f} MiB free{low}")
        return out


def free_bytes(data_dir: Path) -> int | None:
    """Free space for this user on the disk of `data_dir`, or None when it cannot be read."""
    try:
        return shutil.disk_usage(data_dir).free
    except OSError:
        return None


def quick_check(path: Path) -> str | None:
    """None when SQLite's quick_check finds `path` sound, else what it found."""
    if not path.exists():
        return f"{path.name} is missing"
    try:
        conn = connect_read_only(path)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"{path.name} cannot be read: {exc}"
    if rows == ["ok"]:
        return None
    return f"{path.name} fails quick_check: " + "; ".join(rows[:QUICK_CHECK_LINES])


def check_journal(data_dir: Path, verify: bool = True) -> str | None:
    """None when journal.db passes quick_check and (with `verify`) verifies record by
    record (about 0.25 ms a record on a terminal: seconds for a year of sales)."""
    from terminal import audit  # audit imports the journal; health is imported early

    problem = quick_check(data_dir / DB_FILE)
    if problem is not None or not verify:
        return problem
    try:
        audit.verify_journal(data_dir)
    except JournalBroken as exc:
        return f"journal.db does not verify at seq {exc.seq}: {exc.reason} [{exc.code}]"
    except TerminalError as exc:
        return exc.message
    return None


def check_state(data_dir: Path) -> str | None:
    return quick_check(data_dir / STATE_FILE)


class StorageHealth:
    """Thread-safe: the background check and any thread that meets a damaged file mark it;
    the counter reads it before each sale."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._damage: dict[str, Damage] = {}
        self._checked = False
        self._verified = False
        self._thread: threading.Thread | None = None
        for part, detail in self._marked().items():
            if part in (JOURNAL, STATE) and isinstance(detail, str):
                self._damage[part] = Damage(part, detail)

    def _mark_path(self) -> Path | None:
        return self.data_dir / DAMAGE_MARK_FILE if self.data_dir is not None else None

    def _marked(self) -> dict:
        path = self._mark_path()
        if path is None or not path.exists():
            return {}
        try:
            kept = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            # The mark itself unreadable: the storage was found damaged, say so.
            return {JOURNAL: "marked damaged earlier (the mark is unreadable)"}
        return kept if isinstance(kept, dict) else {}

    def _write_mark_locked(self) -> None:
        path = self._mark_path()
        if path is None:
            return
        damage = {d.part: d.detail for d in self._damage.values()}
        try:
            if damage:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(json.dumps(damage, ensure_ascii=False), "utf-8")
                os.replace(tmp, path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:  # a full disk: the damage is still refused in this run
            log.warning("storage: the damage could not be written down: %s", exc)

    def mark(self, part: str, detail: str) -> None:
        """Take `part` as damaged (the first finding of each part is kept), across restarts."""
        with self._lock:
            if part not in self._damage:
                log.error("storage: the %s is damaged: %s", part, detail)
                self._damage[part] = Damage(part, detail)
                self._write_mark_locked()

    def clear(self, part: str) -> None:
        """A way out was taken for `part` (the state was rebuilt)."""
        with self._lock:
            if self._damage.pop(part, None) is not None or self._marked():
                self._write_mark_locked()

    def report(self) -> HealthReport:
        with self._lock:
            damage = tuple(self._damage.values())
            checked, verified = self._checked, self._verified
        free = free_bytes(self.data_dir) if self.data_dir is not None else None
        return HealthReport(damage, checked, free, verified)

    def run_check(self, verify: bool = True) -> HealthReport:
        """Verify the journal (unless not `verify`) and quick_check both databases, now,
        on this thread."""
        assert self.data_dir is not None, "a check needs the data directory"
        checks = ((JOURNAL, lambda d: check_journal(d, verify)), (STATE, check_state))
        for part, check in checks:
            try:
                problem = check(self.data_dir)
            except (OSError, sqlite3.Error) as exc:
                problem = f"cannot be checked: {exc}"
            if problem is not None:
                self.mark(part, problem)
        with self._lock:
            self._checked = True
            self._verified = self._verified or verify
        return self.report()

    def start(self, on_done: Callable[[HealthReport], None] | None = None) -> None:
        """Run the check on a thread of its own; `on_done` gets its report (on that thread)."""
        def work() -> None:
            report = self.run_check()
            if on_done is not None:
                on_done(report)

        if self._thread is not None and self._thread.is_alive():
            return  # one check at a time: the one running reports what it finds
        self._thread = threading.Thread(target=work, name="storage-check", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def refusal(self) -> Refused | None:
        """Why no sale may be made now (damaged storage), or None."""
        with self._lock:
            damaged = bool(self._damage)
        return Refused("storage_damaged") if damaged else None

    def failed_write(self, part: str, exc: BaseException) -> Refused | None:
        """The refusal for a write that failed with `exc`: `disk_full` when the disk is full
        (nothing is damaged), `storage_damaged` when SQLite found `part` damaged (it is
        marked so); None for any other failure (a lock held too long...)."""
        if is_disk_full(exc):
            free = free_bytes(self.data_dir) if self.data_dir is not None else None
            return Refused("disk_full", free_mib=f"{(free or 0) / MIB:.1f}")
        if not is_damage(exc):
            return None
        self.mark(part, f"{type(exc).__name__}: {exc}")
        return self.refusal()


class DayNotClosable(TerminalError):
    """A Z close signs the day's figures: never on a journal found damaged."""

    code = "journal_damaged"


def check_closable(monitor: StorageHealth) -> None:
    """DayNotClosable when the journal was found damaged (now or before a restart): its
    figures cannot be trusted, and a damaged journal cannot be mended, only exported."""
    if monitor.report().part_damaged(JOURNAL):
        raise DayNotClosable("the journal is damaged: the day cannot be closed on it. Export "
                             "what verifies (python -m terminal journal export) and enroll "
                             "this terminal anew")


def storage_refusal(monitor: StorageHealth, exc: BaseException) -> Refused | None:
    """The refusal for a sale that failed on `exc` somewhere in the storage (which file is
    not known): `disk_full`; or, when SQLite found a file damaged, `storage_damaged` and a
    full check started to say which; None for anything else."""
    if is_disk_full(exc):
        return monitor.failed_write(STATE, exc)
    if not is_damage(exc):
        return None
    if monitor.data_dir is not None:
        monitor.start()
    return Refused("storage_damaged")


def is_damage(exc: BaseException) -> bool:
    """Whether SQLite says the file itself is damaged (corrupt, or not a database)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return not isinstance(exc, sqlite3.OperationalError)
    return code & 0xFF in DAMAGE_CODES
