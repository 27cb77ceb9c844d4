"""The Qt side of the keyboard-wedge scanner: an application-wide key event filter.

Every printable key goes to `cardreader.wedge.WedgeReader`, which holds it back for at most
a few tens of milliseconds to see whether a scanner is typing. Keys that turn out to be a
person's typing are posted again to the focused widget (marked, so this filter lets them
pass); a scan becomes a `scanned` signal and never reaches the widget, so a card number
scanned while the keypad has focus does not become an amount.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from cardreader.events import Credential
from cardreader.wedge import WedgeReader

POLL_MS = 20
# Marks key events this filter posted itself (Qt carries the native scan code through).
REPOSTED_SCAN_CODE = 0x4D50
_NAMED = {
    Qt.Key.Key_Return: "Return", Qt.Key.Key_Enter: "Enter", Qt.Key.Key_Backspace: "Backspace",
    Qt.Key.Key_Tab: "Tab", Qt.Key.Key_Escape: "Escape", Qt.Key.Key_Delete: "Delete",
}
_KEYS = {name: key for key, name in _NAMED.items()}


class WedgeFilter(QObject):
    scanned = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reader = WedgeReader()
        self.reader.start(self._on_event)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def _on_event(self, event) -> None:
        if isinstance(event, Credential):
            self.scanned.emit(event.payload)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if event.nativeScanCode() == REPOSTED_SCAN_CODE:
            return False
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                | Qt.KeyboardModifier.AltModifier):
            return False
        name = _NAMED.get(Qt.Key(event.key()))
        text = event.text()
        if name is None and not (len(text) == 1 and text.isprintable()):
            return False
        self._deliver(self.reader.feed(name or text, time.monotonic()))
        return True

    def _poll(self) -> None:
        self._deliver(self.reader.poll())

    def _deliver(self, keys) -> None:
        target = QApplication.focusWidget()
        if target is None:
            return
        for item in keys:
            key = _KEYS.get(item.key)
            text = "" if key is not None else item.key
            if key is None:
                key = Qt.Key(ord(item.key.upper())) if len(item.key) == 1 else Qt.Key.Key_unknown
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QCoreApplication.postEvent(target, QKeyEvent(
                    kind, key, Qt.KeyboardModifier.NoModifier, REPOSTED_SCAN_CODE, 0, 0,
                    "\r" if item.key in ("Return", "Enter") else text))
