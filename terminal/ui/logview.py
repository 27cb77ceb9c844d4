"""The last lines of the counter's log on the admin screen (#18.7).

`read_lines` gives the log's last lines (the terminal's rotating log file in its data
directory); it must be quick and bounded (a tail of a local file), since it runs on the UI
thread when the view is shown and when the refresh button is pressed. The view keeps at most
`MAX_LINES` lines, in a fixed-width font, and scrolls inside itself.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QFontDatabase, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

CONTEXT = "LogView"
MAX_LINES = 500  # lines kept on screen; older ones are dropped
LOG_POINT_SIZE = 11
BUTTON_MIN_PX = 48  # a button a finger can press (the admin screen is a touch screen too)


def _tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


class LogView(QWidget):
    """The log's last lines with a refresh button; refreshed each time it is shown."""

    def __init__(self, read_lines: Callable[[], list[str]], parent: QWidget | None = None,
                 max_lines: int = MAX_LINES) -> None:
        super().__init__(parent)
        self.setObjectName("log_view")
        self.read_lines = read_lines
        self.max_lines = max_lines
        self.title = QLabel()
        self.title.setObjectName("log_title")
        title_font = self.title.font()
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.info = QLabel()
        self.info.setObjectName("log_info")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.refresh_button = QPushButton()
        self.refresh_button.setObjectName("log_refresh")
        self.refresh_button.setMinimumHeight(BUTTON_MIN_PX)
        self.refresh_button.clicked.connect(self.refresh)
        self.text = QPlainTextEdit()
        self.text.setObjectName("log_text")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(max_lines)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(LOG_POINT_SIZE)
        self.text.setFont(font)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.info, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        self._count = 0
        self._error = ""
        self.retranslate()

    def lines(self) -> list[str]:
        """The lines on screen."""
        text = self.text.toPlainText()
        return text.split("\n") if text else []

    def refresh(self) -> None:
        """Read the log again and show its last `max_lines` lines, the newest at the foot."""
        try:
            lines = [line.rstrip("\n") for line in self.read_lines()][-self.max_lines:]
        except OSError as exc:  # the log cannot be read: say so, keep what was shown
            self._error = str(exc)
            self.retranslate()
            return
        self._error = ""
        self._count = len(lines)
        self.text.setPlainText("\n".join(lines))
        self.text.moveCursor(QTextCursor.MoveOperation.End)
        self.text.ensureCursorVisible()
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(_tr("Log"))
        self.refresh_button.setText(_tr("Refresh"))
        if self._error:
            self.info.setText(_tr("The log could not be read: {0}").format(self._error))
        elif self._count:
            self.info.setText(_tr("last {0} lines").format(self._count))
        else:
            self.info.setText(_tr("No log lines yet."))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
