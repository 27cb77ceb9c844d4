"""The root of every expected failure of `ledger` (one exception root a package, as
sync.errors.SyncPackageError is sync's and terminal.errors.TerminalError the terminal's).

`code` is stable (what an HTTP refusal's `error` and the logs say), `message` the English
text, `details` the values it was made from. Bugs are assertions, not these.
"""

from __future__ import annotations

from typing import Any


class LedgerPackageError(Exception):
    """Base of every expected failure in `ledger`."""

    code: str = "ledger_error"

    def __init__(self, message: str = "", code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})
