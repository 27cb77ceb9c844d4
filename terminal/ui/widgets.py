"""Small building blocks of the counter screens: the amount keypad and big labels.

Everything is sized for a touch screen read from a metre away (DESIGN §11): digits are
large, buttons are at least `TOUCH_MIN_PX` tall, and every key has a keyboard equivalent.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

TOUCH_MIN_PX = 60
AMOUNT_POINT_SIZE = 44
# The keypad refuses digits past this many (¥9,999,999): a typo guard, not a limit.
MAX_DIGITS = 7
DISPLAY_HEIGHT_PX = 96
KEY_POINT_SIZE = 20
AMOUNT_MIN_POINT_SIZE = 20
DISPLAY_MARGIN_PX = 12


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def big_font(points: int, bold: bool = True) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(bold)
    return font


class AmountPad(QWidget):
    """A yen amount typed on big keys (or the keyboard's digits, Backspace and Escape)."""

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._digits = ""
        self.setObjectName("pad")  # large type keeps its keys lower (large_type.qss)
        self.display = QLabel(yen(0))
        self.display.setObjectName("amount")
        self.display.setFont(big_font(AMOUNT_POINT_SIZE))
        self.display.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.display.setFixedHeight(DISPLAY_HEIGHT_PX)
        # a long amount never widens the keypad's column (the screen's columns stay put)
        self.display.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        grid = QGridLayout()
        keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", "⌫"]
        for index, key in enumerate(keys):
            button = QPushButton(key)
            button.setMinimumHeight(TOUCH_MIN_PX)
            button.setFont(big_font(KEY_POINT_SIZE))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(button, index // 3, index % 3)
        self.clear_button = QPushButton(tr("Clear"))  # クリア in Japanese
        self.clear_button.setObjectName("pad_clear")
        self.clear_button.setFont(big_font(KEY_POINT_SIZE))
        self.clear_button.setMinimumHeight(TOUCH_MIN_PX)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.clicked.connect(self.clear)
        grid.addWidget(self.clear_button, 4, 0, 1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.display)
        layout.addLayout(grid)

    @property
    def amount(self) -> int:
        return int(self._digits or 0)

    def press(self, key: str) -> None:
        if key == "⌫":
            self._digits = self._digits[:-1]
        elif len(self._digits + key) <= MAX_DIGITS and not (key.startswith("0") and
                                                            not self._digits):
            self._digits += key
        self._show()

    def clear(self) -> None:
        self._digits = ""
        self._show()

    def set_amount(self, amount: int) -> None:
        self._digits = str(amount) if amount else ""
        self._show()

    def _show(self) -> None:
        self.display.setText(yen(self.amount))
        self._fit()
        self.changed.emit(self.amount)

    def _fit(self) -> None:
        """A long amount in a smaller size rather than cut off (never below
        AMOUNT_MIN_POINT_SIZE): the look's size when it fits."""
        fit_to_width(self.display, AMOUNT_MIN_POINT_SIZE)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.clear_button.setText(tr("Clear"))
        super().changeEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        text = event.text()
        if text.isdigit() and text.isascii():
            self.press(text)
        elif event.key() == Qt.Key.Key_Backspace:
            self.press("⌫")
        elif event.key() == Qt.Key.Key_Delete:
            self.clear()
        else:
            super().keyPressEvent(event)


def fit_to_width(label: QLabel, min_point_size: float) -> None:
    """One line of `label` in a smaller size rather than cut off (never below
    `min_point_size`); the look's own size whenever it fits."""
    label.setStyleSheet("")
    label.ensurePolished()
    font = QFont(label.font())
    room = label.contentsRect().width() - DISPLAY_MARGIN_PX
    size = font.pointSizeF()
    while size > min_point_size and room > 0 and \
            QFontMetrics(font).horizontalAdvance(label.text()) > room:
        size -= 2
        font.setPointSizeF(size)
    if size != label.font().pointSizeF():
        label.setStyleSheet(f"font-size: {size:g}pt;")


class FitLabel(QLabel):
    """A one-line figure (a balance) that shrinks to its width instead of being cut off."""

    def __init__(self, min_point_size: float) -> None:
        super().__init__()
        self._min_point_size = min_point_size
        self._fitting = False  # fitting sets a style sheet, which is itself a style change

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit()  # large type switched on or off

    def _fit(self) -> None:
        if self._fitting:
            return
        self._fitting = True
        try:
            fit_to_width(self, self._min_point_size)
        finally:
            self._fitting = False


def touch_button(text: str, object_name: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setMinimumHeight(TOUCH_MIN_PX)
    button.setFont(big_font(16))
    if object_name:
        button.setObjectName(object_name)
    return button
