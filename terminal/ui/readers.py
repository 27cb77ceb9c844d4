"""The card readers the window listens to: a camera (when one is plugged in) and a PC/SC NFC
reader, each on its own thread (cardreader), their events brought to the UI thread by Qt
signals. A reader that is missing says so once in the status; nothing waits on it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from cardreader.camera import CameraReader, OpenCVSource
from cardreader.events import Credential, ReaderStatus, ThreadedReader
from cardreader.pcsc import PcscReader
from sync.platform import camera as os_camera

log = logging.getLogger(__name__)
# reader states worth a line in the counter's log (a reader that works says nothing)
LOGGED_STATES = frozenset({"unavailable", "error", "stopped"})


class ReaderHub(QObject):
    scanned = Signal(str)  # a QR or barcode payload
    tapped = Signal(str)  # an NFC UID / IDm
    status = Signal(str, str, str)  # reader, state, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.readers: list[ThreadedReader] = []

    def start(self, camera: bool = True, nfc: bool = True) -> None:
        if camera and os_camera.may_be_present():
            self.readers.append(CameraReader(OpenCVSource(0)))
        elif camera:
            log.info("camera: unavailable: no camera is plugged in")
            self.status.emit("camera", "unavailable", "no camera is plugged in")
        if nfc:
            self.readers.append(PcscReader())
        for reader in self.readers:
            reader.start(self._on_event)  # called on the reader's thread: only emit here

    def _on_event(self, event) -> None:
        if isinstance(event, Credential):
            if event.kind == "nfc":
                self.tapped.emit(event.payload)
            else:
                self.scanned.emit(event.payload)
        elif isinstance(event, ReaderStatus):
            if event.state in LOGGED_STATES:
                log.warning("%s: %s: %s", event.reader, event.state, event.message)
            self.status.emit(event.reader, event.state, event.message)

    def stop(self) -> None:
        for reader in self.readers:
            reader.stop()
        self.readers = []
