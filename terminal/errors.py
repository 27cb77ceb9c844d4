"""Expected failures of the terminal, as exception classes with stable codes.

`TerminalError` is the root of every expected failure in `terminal` (one root a package,
as sync.errors.SyncPackageError is sync's). `code` is what the UI and logs key translations
on; the message is the English text; `details` the values it was made from. Bugs are
assertions, not these.
"""

from __future__ import annotations

from typing import Any


class TerminalError(Exception):
    """Base of every expected terminal failure."""

    code = "terminal_error"

    def __init__(self, message: str = "", code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})


class JournalError(TerminalError):
    """The journal cannot be opened or written."""

    code = "journal"


class JournalFull(JournalError):
    """A record did not fit on the disk; nothing of it was kept."""

    code = "disk_full"


class JournalBroken(JournalError):
    """Verification found the first record that does not hold."""

    code = "journal_broken"

    def __init__(self, seq: int, reason: str, code: str = "journal_broken") -> None:
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason
        self.code = code


class StorageDamaged(TerminalError):
    """A database of the terminal cannot even be opened; `part` is "journal" or "state"
    (terminal.health says what can be done)."""

    code = "storage_damaged"

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
