"""The root of every expected failure of `sync` (DESIGN §3: one exception root a package).

Each failure carries a stable `code` (what the UI and the logs key translations on), its
English `message`, and `details` (the values the message was made from, for a translation
to fill in again). A class says its code as a class attribute; an instance may narrow it
(a refusal's reason). Classes that callers catch as ValueError or KeyError keep those bases
beside this one. Bugs are assertions, not these.
"""

from __future__ import annotations

from typing import Any


class SyncPackageError(Exception):
    """Base of every expected failure in `sync`."""

    code: str = "sync_error"

    def __init__(self, message: str = "", code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})
