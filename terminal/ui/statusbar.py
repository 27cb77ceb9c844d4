"""The status line (#18.4): what the sync says, truthfully, always in view.

Online or offline (in words and a sign, the colour only repeats them), how many records
are not yet sent, when the last sync succeeded and how long ago (aged every second by a
timer, so it stays true when no new status comes), and why the last attempt failed, in the
cashier's words (`FAILURE_WORDS`, keyed by `SyncStatus.failure_code`; the technical
`last_error` is the tooltip). Storage and clock warnings the frame knows go below it.

It reads sync.client.SyncStatus with getattr defaults: `failure_code`, `failure_at` and
`last_attempt` are newer than the status itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

CONTEXT = "StatusLine"
AGE_TICK_MS = 1_000  # the "… ago" words are brought up to date this often
STATUS_POINT_SIZE = 13
MINUTE_S, HOUR_S, DAY_S = 60, 3_600, 86_400
# Ages under this many seconds are said in seconds, under an hour in minutes, and so on.
SECONDS_UP_TO_S = 2 * MINUTE_S
MINUTES_UP_TO_S = 2 * HOUR_S
HOURS_UP_TO_S = 2 * DAY_S

# Why the last sync failed, in the cashier's words (SyncStatus.failure_code).
FAILURE_WORDS = {
    "offline": "no network connection",
    "timeout": "the ledger did not answer in time",
    "tls": "the ledger's certificate could not be verified",
    "auth": "the ledger did not accept this terminal's key",
    "refused": "the ledger refused records",
    "server": "the ledger had an error",
    "bad_answer": "the ledger's answer could not be read",
    "clock": "this terminal's clock is wrong",
    "internal": "an error in this terminal's sync",
}
UNKNOWN_FAILURE = "the last sync failed"

COLOURS = {  # online / offline / starting, then warnings: (background, text) per look
    False: {"yes": ("#dff3e4", "#14532d"), "no": ("#fdecc8", "#7c2d12"),
            "unknown": ("#e6ebf1", "#111111"), "warning": ("#fde2e1", "#7f1d1d")},
    True: {"yes": ("#000000", "#00ff00"), "no": ("#000000", "#ffff00"),
           "unknown": ("#000000", "#ffffff"), "warning": ("#000000", "#ff6060")},
}


def _tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def age_words(seconds: float) -> str:
    """"12 s ago", "5 min ago", "3 h ago", "4 d ago" in the interface's language."""
    seconds = max(0, int(seconds))
    if seconds < SECONDS_UP_TO_S:
        return _tr("{0} s ago").format(seconds)
    if seconds < MINUTES_UP_TO_S:
        return _tr("{0} min ago").format(seconds // MINUTE_S)
    if seconds < HOURS_UP_TO_S:
        return _tr("{0} h ago").format(seconds // HOUR_S)
    return _tr("{0} d ago").format(seconds // DAY_S)


def failure_words(code: str) -> str:
    return _tr(FAILURE_WORDS.get(code, UNKNOWN_FAILURE))


def waiting_words(what: str) -> str:
    """What the sync waits for now, or "" when it waits for nothing (or for something this
    table does not know: the status line says no more than it knows)."""
    words = {"push": _tr("sending records…"), "pull": _tr("fetching the ledger's news…"),
             "leases": _tr("asking for offline limits…")}  # SyncStatus.waiting_for
    return words.get(what, "")


class StatusLine(QWidget):
    """One line of sync status plus any warnings; `update_status` with each SyncStatus.
    `clock` gives the time for the ages (time.time; tests pass their own)."""

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("status_line")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.clock = clock
        self.status: Any = None
        self.terminal_id = ""
        self._warnings: list[str] = []
        self._high_contrast = False
        self.state = QLabel()
        self.state.setObjectName("sl_state")
        self.pending = QLabel()
        self.pending.setObjectName("sl_pending")
        self.last_sync = QLabel()
        self.last_sync.setObjectName("sl_last_sync")
        self.failure = QLabel()
        self.failure.setObjectName("sl_failure")
        self.failure.setWordWrap(True)
        self.terminal = QLabel()
        self.terminal.setObjectName("sl_terminal")
        self.warnings = QLabel()
        self.warnings.setObjectName("sl_warnings")
        self.warnings.setWordWrap(True)
        font = self.font()
        font.setPointSize(STATUS_POINT_SIZE)
        font.setBold(True)
        for label in (self.state, self.pending, self.last_sync, self.failure, self.terminal,
                      self.warnings):
            label.setFont(font)
            label.setTextFormat(Qt.TextFormat.PlainText)
        # The sync's state on the first line, why it failed and the terminal on the second:
        # all of it fits 1024 px in large type, each part wrapping before it is cut.
        first = QHBoxLayout()
        first.setContentsMargins(0, 0, 0, 0)
        first.setSpacing(16)
        first.addWidget(self.state)
        first.addWidget(self.pending)
        first.addWidget(self.last_sync, 1)
        second = QHBoxLayout()
        second.setContentsMargins(0, 0, 0, 0)
        second.setSpacing(16)
        second.addWidget(self.failure, 1)
        second.addStretch(0)  # keeps the terminal to the right while nothing failed
        second.addWidget(self.terminal)
        for label in (self.pending, self.last_sync, self.terminal):
            label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.warnings)
        self.ticker = QTimer(self)
        self.ticker.setInterval(AGE_TICK_MS)
        self.ticker.timeout.connect(self.refresh)
        self.ticker.start()
        self.refresh()

    # --- inputs -----------------------------------------------------------------------

    def update_status(self, status: Any) -> None:
        """A sync.client.SyncStatus (or None before the first)."""
        self.status = status
        self.refresh()

    def set_terminal_id(self, terminal_id: str) -> None:
        self.terminal_id = terminal_id
        self.refresh()

    def set_warnings(self, lines: list[str]) -> None:
        """Lines the frame adds below (the storage's and the clock's), already worded."""
        self._warnings = list(lines)
        self.refresh()

    def set_high_contrast(self, on: bool) -> None:
        self._high_contrast = on
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    # --- words ------------------------------------------------------------------------

    def text(self) -> str:
        """All it says now, line by line (tests, and what a screen reader would read)."""
        first = " · ".join(label.text() for label in (self.state, self.pending,
                                                      self.last_sync) if label.text())
        second = " · ".join(label.text() for label in (self.failure, self.terminal)
                            if label.text())
        return "\n".join(part for part in (first, second, self.warnings.text()) if part)

    def online(self) -> str:
        """"yes", "no", or "unknown" before the first status."""
        if self.status is None:
            return "unknown"
        return "yes" if self.status.online else "no"

    def refresh(self) -> None:
        """Say the status again with the ages as of now."""
        status, now = self.status, self.clock()
        self.terminal.setText(_tr("terminal {0}").format(self.terminal_id)
                              if self.terminal_id else "")
        self.terminal.setVisible(bool(self.terminal_id))
        self.warnings.setText("\n".join(self._warnings))
        self.warnings.setVisible(bool(self._warnings))
        if status is None:
            self.state.setText(_tr("◌ Starting…"))
            for label in (self.pending, self.last_sync, self.failure):
                label.clear()
                label.hide()
            self.failure.setToolTip("")
            self._restyle()
            return
        self.state.setText(_tr("● Online") if status.online else _tr("○ Offline"))
        self.pending.setText(_tr("{0} unsent").format(f"{status.pending:,}"))
        self.pending.show()
        waiting = waiting_words(getattr(status, "waiting_for", "") or "")
        self.last_sync.setText(" · ".join(
            part for part in (self._last_sync_words(status, now), waiting) if part))
        self.last_sync.show()
        failure = self._failure_words(status, now)
        self.failure.setText(failure)
        self.failure.setVisible(bool(failure))
        self.failure.setToolTip(status.last_error if failure else "")
        self._restyle()

    def _last_sync_words(self, status: Any, now: float) -> str:
        if not status.last_success:
            return _tr("never synced")
        when = datetime.fromtimestamp(status.last_success)
        clock = when.strftime("%H:%M") if when.date() == datetime.fromtimestamp(now).date() \
            else when.strftime("%Y-%m-%d %H:%M")
        return _tr("last sync {0} ({1})").format(clock, age_words(now - status.last_success))

    def _failure_words(self, status: Any, now: float) -> str:
        """Why the last attempt failed, while no success came after it; else nothing."""
        code = getattr(status, "failure_code", "") or ""
        failed_at = getattr(status, "failure_at", None)
        refused = list(getattr(status, "refused", []) or [])
        if not code and not status.last_error and not refused:
            return ""
        if failed_at is not None and status.last_success and failed_at < status.last_success \
                and not refused:
            return ""  # it failed once and has synced since: nothing is wrong now
        if not code and refused:
            code = "refused"
        reason = failure_words(code)
        if refused:
            reason = _tr("{0} ({1} records)").format(reason, len(refused))
        if failed_at is not None:
            return _tr("✘ {0}, {1}").format(reason, age_words(now - failed_at))
        return _tr("✘ {0}").format(reason)

    def _restyle(self) -> None:
        look = COLOURS[self._high_contrast]
        background, text = look[self.online()]
        warn_background, warn_text = look["warning"]
        bad = bool(self.failure.text()) or bool(self._warnings)
        self.setProperty("online", self.online())
        sheet = (
            f"QWidget#status_line {{ background: {background}; }}"
            # its own size in large type too: the style's larger labels would push the
            # screens above it off a 1024x768 window (tests/terminal/ui/test_fit.py)
            f" QWidget#status_line QLabel {{ color: {text}; background: transparent;"
            f" font-size: {STATUS_POINT_SIZE}pt; }}"
            f" QWidget#status_line QLabel#sl_failure, QWidget#status_line QLabel#sl_warnings"
            f" {{ color: {warn_text if bad else text}; }}"
            + (f" QWidget#status_line QLabel#sl_warnings {{ background: {warn_background}; }}"
               if self._warnings else ""))
        if sheet != self.styleSheet():  # the ages change each second, the colours seldom
            self.setStyleSheet(sheet)
