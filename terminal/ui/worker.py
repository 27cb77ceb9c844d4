"""The journal worker: every journal call runs on this thread, never on the UI thread.

The window sends requests by calling slots through queued signals; results come back as
signals carrying plain Python values.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from sync.keyfile import KeyFileError
from terminal import audit
from terminal.demo import open_demo_journal
from terminal.errors import JournalBroken, TerminalError
from terminal.journal import Journal

# How many recent records the window shows.
RECENT_ROWS = 200


class JournalWorker(QObject):
    opened = Signal(str, list)  # terminal id, recent rows
    appended = Signal(tuple)  # one row
    verified = Signal(bool, str)  # intact?, one-line summary or the first bad seq and why
    failed = Signal(str)

    def __init__(self, data_dir: Path, demo: bool) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._demo = demo
        self._journal: Journal | None = None

    @Slot()
    def open(self) -> None:
        try:
            if self._demo:
                self._journal = open_demo_journal(self._data_dir)
            else:
                self._journal = Journal.open(self._data_dir)
            first = max(1, self._journal.last_seq - RECENT_ROWS + 1)
            rows = [tuple(r) for r in self._journal.rows(first)]
            self.opened.emit(self._journal.terminal_id, rows)
        except TerminalError as exc:
            self.failed.emit(exc.message)
        except KeyFileError as exc:
            self.failed.emit(str(exc))

    @Slot(int)
    def record_training_sale(self, amount: int) -> None:
        if self._journal is None:
            self.failed.emit("the journal is not open")
            return
        try:
            done = self._journal.append("training", {"amount": amount, "note": "demo sale"})
        except TerminalError as exc:
            self.failed.emit(exc.message)
            return
        rec = done.record
        self.appended.emit((done.seq, done.tx_id, rec["type"], rec["at"], amount, done.hash))

    @Slot()
    def verify(self) -> None:
        try:
            report = audit.verify_journal(self._data_dir)
        except JournalBroken as exc:
            self.verified.emit(False, f"seq {exc.seq}: {exc.reason}")
        except TerminalError as exc:
            self.verified.emit(False, exc.message)
        else:
            self.verified.emit(True, report.summary())

    @Slot()
    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
