"""The events every reader emits, and the small interface every reader implements.

A reader turns a device into `Credential` events (something was scanned or tapped) and
`ReaderStatus` events (the device is ready, unavailable, failing). Readers call the callback
from their own thread; the UI layer marshals the event to the Qt thread with a signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from cardreader.errors import ReaderStateError

CredentialKind = Literal["qr", "barcode", "nfc"]
CREDENTIAL_KINDS: tuple[str, ...] = ("qr", "barcode", "nfc")

ReaderState = Literal["ready", "unavailable", "error", "stopped"]
READER_STATES: tuple[str, ...] = ("ready", "unavailable", "error", "stopped")

# A payload longer than this is not one of our credentials (app tokens are ~300 characters,
# card numbers and NFC UIDs far shorter); readers drop it rather than hand megabytes upward.
MAX_PAYLOAD_CHARS = 4096

# How long stop() waits for a reader thread to finish; devices answer within their own poll
# interval, so this is a bound for a wedged driver, not an expected wait.
STOP_JOIN_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Credential:
    """One read of a QR code, a barcode or an NFC card.

    payload: the decoded text; for NFC the UID / FeliCa IDm as uppercase hex.
    source: which reader saw it, e.g. "camera:0", "wedge", "pcsc:<reader>", "file:<path>".
    read_at: time.monotonic() seconds when it was read, for scan-to-decision timing.
    symbology: "QRCode" or "Code128" when the decoder knows it.
    """

    kind: CredentialKind
    payload: str
    source: str
    read_at: float
    symbology: str | None = None

    def __post_init__(self) -> None:
        assert self.kind in CREDENTIAL_KINDS, f"unknown credential kind {self.kind!r}"
        assert isinstance(self.payload, str), "payload must be text"


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """A reader's state changed; `message` is English text the UI can show or translate."""

    reader: str
    state: ReaderState
    message: str
    code: str = ""

    def __post_init__(self) -> None:
        assert self.state in READER_STATES, f"unknown reader state {self.state!r}"


ReaderEvent = Credential | ReaderStatus
Callback = Callable[[ReaderEvent], None]


@runtime_checkable
class Reader(Protocol):
    """What the terminal needs from any input device."""

    name: str

    def start(self, callback: Callback) -> None:
        """Begin reading; events go to `callback`, from the reader's own thread."""

    def stop(self) -> None:
        """Stop reading and release the device; returns within a bounded time."""


class ThreadedReader:
    """Start/stop bookkeeping shared by readers that block on a device in worker threads.

    Subclasses implement `_run_threads()` returning the threads to start; they check
    `self._stopping` (an Event) at every bounded wait so stop() returns promptly.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._callback: Callback | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self, callback: Callback) -> None:
        with self._lock:
            if self._threads:
                raise ReaderStateError(f"reader {self.name} is already started")
            self._callback = callback
            self._stopping.clear()
            self._threads = self._make_threads()
            for thread in self._threads:
                thread.start()

    def stop(self, timeout: float = STOP_JOIN_TIMEOUT_S) -> None:
        with self._lock:
            self._stopping.set()
            self._wake()
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(timeout)
            self._threads = []

    def wait(self, timeout: float) -> bool:
        """Wait for the reader's threads to end by themselves (finite sources); True if so."""
        for thread in list(self._threads):
            thread.join(timeout)
        return not self.running

    def _make_threads(self) -> list[threading.Thread]:
        raise NotImplementedError

    def _wake(self) -> None:
        """Interrupt a blocking device wait; readers whose waits are bounded need nothing."""

    def _emit(self, event: ReaderEvent) -> None:
        # A callback that raises is a bug in the consumer: it propagates and ends this
        # reader's thread (threading.excepthook logs it) rather than being swallowed here.
        callback = self._callback
        if callback is not None:
            callback(event)

    def _status(self, state: ReaderState, message: str, code: str = "") -> None:
        self._emit(ReaderStatus(reader=self.name, state=state, message=message, code=code))
