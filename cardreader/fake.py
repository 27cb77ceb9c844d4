"""A reader driven by code: tests and the demo call present() to "scan" a credential."""

from __future__ import annotations

import threading
import time

from cardreader.errors import ReaderStateError
from cardreader.events import (
    CREDENTIAL_KINDS,
    Callback,
    Credential,
    CredentialKind,
    ReaderState,
    ReaderStatus,
)


class FakeReader:
    """Emits exactly what it is told to, synchronously on the caller's thread.

    Every event emitted is also kept in `events`, so a test can check what went out.
    """

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.events: list[Credential | ReaderStatus] = []
        self._callback: Callback | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._callback is not None

    def start(self, callback: Callback) -> None:
        with self._lock:
            if self._callback is not None:
                raise ReaderStateError(f"reader {self.name} is already started")
            self._callback = callback
        self._send(ReaderStatus(self.name, "ready", "fake reader ready"))

    def stop(self) -> None:
        with self._lock:
            self._callback = None

    def present(
        self, kind: CredentialKind, payload: str, symbology: str | None = None
    ) -> Credential:
        """Emit a Credential as if a card or code had just been read; returns it."""
        if kind not in CREDENTIAL_KINDS:
            raise ReaderStateError(f"unknown credential kind {kind!r}")
        credential = Credential(
            kind=kind,
            payload=payload,
            source=self.name,
            read_at=time.monotonic(),
            symbology=symbology,
        )
        self._send(credential)
        return credential

    def set_status(self, state: ReaderState, message: str, code: str = "") -> ReaderStatus:
        """Emit a status change, e.g. to show the UI an "unavailable" reader."""
        status = ReaderStatus(self.name, state, message, code)
        self._send(status)
        return status

    def _send(self, event: Credential | ReaderStatus) -> None:
        with self._lock:
            callback = self._callback
        if callback is None:
            raise ReaderStateError(f"reader {self.name} is not started")
        self.events.append(event)
        callback(event)
