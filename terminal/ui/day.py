"""The day's parts of the counter window, kept apart from window.py: today's receipts (the
sales list with voids and refunds, search by amount or time, reprint), the cash handed over
for a top-up and its change, and the admin's shift close, second-Z refusal and exports.

Each widget only shows and asks; the window connects its signals to the bridge. Sentences
are translated in the window's context ("MainWindow"), as every sentence of the counter is.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QRegularExpression, QSize, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal import history
from terminal.ui.widgets import big_font, touch_button, yen

ROW_MIN_PX = 44  # a row a finger can tap (Apple HIG / WCAG 2.5.5 target size)
ROW_POINT_SIZE = 14
TENDER_MAX_DIGITS = 7  # ¥9,999,999
EXPORT_FORMATS = ("csv", "xlsx", "pdf")


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


class _Translated(QWidget):
    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        raise NotImplementedError


class HistoryPanel(_Translated):
    """Today's receipts, newest first: each sale says whether it was voided or refunded;
    the search field finds an amount ("1500", "¥1,500") or a time ("14:05", "14"); Enter or
    the button reprints the chosen receipt, the other the last one."""

    reprint = Signal(int)  # receipt no.; 0: the last receipt

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("history")
        self.sales: list[history.Sale] = []
        self.unprinted: set[int] = set()
        self.search = QLineEdit()
        self.search.setObjectName("history_search")
        self.search.setFont(big_font(ROW_POINT_SIZE, bold=False))
        self.search.setMinimumHeight(ROW_MIN_PX)
        self.list = QListWidget()
        self.list.setObjectName("history_list")
        self.list.setFont(big_font(ROW_POINT_SIZE, bold=False))
        self.reprint_button = touch_button("", "action_reprint")
        self.last_button = touch_button("", "action_reprint_last")
        buttons = QHBoxLayout()
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.last_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.search.textChanged.connect(self._fill)
        self.search.returnPressed.connect(self._first_or_chosen)
        self.list.itemActivated.connect(lambda item: self.reprint.emit(
            item.data(Qt.ItemDataRole.UserRole)))
        self.reprint_button.clicked.connect(self._chosen)
        self.last_button.clicked.connect(lambda: self.reprint.emit(0))
        self.retranslate()

    def retranslate(self) -> None:
        self.search.setPlaceholderText(tr("Find by amount (1500) or time (14:05)"))
        self.reprint_button.setText(tr("Reprint the chosen receipt"))
        self.last_button.setText(tr("Reprint the last receipt"))
        self._fill()

    def show_sales(self, sales: list[history.Sale]) -> None:
        self.sales = sales
        self._fill()
        self.search.setFocus()

    def mark(self, seq: int, why: str) -> None:
        """A receipt printed ("") or not (kept for reprint): shown on its row."""
        if why:
            self.unprinted.add(seq)
        else:
            self.unprinted.discard(seq)
        self._fill()

    def row_text(self, sale: history.Sale) -> str:
        kinds = {"payment": tr("Payment"), "refund": tr("Refund"), "void": tr("Void"),
                 "charge": tr("Top-up"), "grant": tr("Points"), "card_issue": tr("New card"),
                 "cash_move": tr("Cash float"), "gift": tr("Gift code"), "ticket": tr("Ride"),
                 "exchange": tr("Exchange")}
        status = {"voided": tr("VOIDED"),
                  "refunded": tr("REFUNDED"),
                  "part_refunded": tr("refunded {0}").format(yen(sale.refunded))}.get(
                      sale.status, "")
        parts = [f"No.{sale.seq}", sale.time, kinds.get(sale.kind, sale.kind),
                 yen(sale.amount) if sale.kind != "grant" else f"{sale.amount:,} pt"]
        if status:
            parts.append(f"【{status}】")
        if sale.seq in self.unprinted:
            parts.append(tr("(not printed)"))
        return "  ".join(parts)

    def _fill(self) -> None:
        chosen = self.list.currentItem()
        keep = chosen.data(Qt.ItemDataRole.UserRole) if chosen is not None else None
        self.list.clear()
        for sale in history.find(self.sales, self.search.text()):
            item = QListWidgetItem(self.row_text(sale))
            item.setData(Qt.ItemDataRole.UserRole, sale.seq)
            item.setSizeHint(QSize(0, max(ROW_MIN_PX, item.sizeHint().height())))
            if sale.status in ("voided", "refunded"):
                font = item.font()
                font.setStrikeOut(True)
                item.setFont(font)
            self.list.addItem(item)
            if sale.seq == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)

    def _chosen(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.reprint.emit(item.data(Qt.ItemDataRole.UserRole))

    def _first_or_chosen(self) -> None:
        self._chosen()


class TenderBox(_Translated):
    """The cash handed over for a top-up (optional): the change shows as it is typed."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("tender")
        self.amount = 0  # the top-up being made
        self.label = QLabel()
        self.field = QLineEdit()
        self.field.setObjectName("tendered")
        self.field.setMaxLength(TENDER_MAX_DIGITS)
        self.field.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d*"),
                                                            self.field))
        self.change = QLabel()
        self.change.setObjectName("change")
        for widget in (self.label, self.field, self.change):
            widget.setFont(big_font(16))
        self.field.setMinimumHeight(ROW_MIN_PX)
        row = QHBoxLayout(self)
        row.addWidget(self.label)
        row.addWidget(self.field, 1)
        row.addWidget(self.change)
        self.field.textChanged.connect(self._show_change)
        self.retranslate()

    def retranslate(self) -> None:
        self.label.setText(tr("Cash received"))
        self.field.setPlaceholderText("¥")
        self._show_change()

    def start(self, amount: int) -> None:
        self.amount = amount
        self.field.clear()
        self._show_change()

    def value(self) -> int | None:
        text = self.field.text()
        return int(text) if text.isdigit() else None

    def short(self) -> bool:
        """Cash received was typed and is less than the top-up."""
        given = self.value()
        return given is not None and given < self.amount

    def _show_change(self) -> None:
        given = self.value()
        if given is None:
            self.change.setText("")
        elif given < self.amount:
            self.change.setText(tr("short by {0}").format(yen(self.amount - given)))
        else:
            self.change.setText(tr("Change {0}").format(yen(given - self.amount)))


class DayControls(_Translated):
    """The admin's part of the business day: a shift close beside the Z, the sheet of the
    day as CSV, XLSX or PDF (saying where it went), and why a second Z was refused."""

    close_shift = Signal()
    export = Signal(str)  # the format

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("day_controls")
        self.shift_button = touch_button("", "action_close_shift")
        self.format = QComboBox()
        self.format.setObjectName("export_format")
        self.format.setMinimumHeight(ROW_MIN_PX)
        for fmt in EXPORT_FORMATS:
            self.format.addItem(fmt.upper(), fmt)
        self.export_button = touch_button("", "action_export")
        self.info = QLabel()
        self.info.setObjectName("day_info")
        self.info.setWordWrap(True)
        self.info.setFont(big_font(13, bold=False))
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.shift_button)
        row.addWidget(self.format)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.info)
        self.shift_button.clicked.connect(self.close_shift.emit)
        self.export_button.clicked.connect(lambda: self.export.emit(self.format.currentData()))
        self.retranslate()

    def retranslate(self) -> None:
        self.shift_button.setText(tr("Close this shift"))
        self.export_button.setText(tr("Export the day's sheet"))

    def saved(self, path: str) -> None:
        self.info.setText(tr("Saved: {0}").format(path))

    def second_close(self, details: dict) -> None:
        self.info.setText("✘ " + tr(
            "Not closed: this business day is already closed ({first}). Sales since belong to "
            "the next business day, {next}. A second close today needs a manager's approval; "
            "it then closes them as another shift of {day}.").format(**details))
