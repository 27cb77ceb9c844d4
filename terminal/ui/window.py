"""The training register window: record demo sales into the signed journal and verify it.

The UI thread only draws: it hands every journal call to `JournalWorker` on its own thread
and updates from the worker's signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtGui import QFont, QIntValidator
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.ui.worker import RECENT_ROWS, JournalWorker

# The largest single training sale the keypad takes (yen).
MAX_AMOUNT_YEN = 9_999_999
AMOUNT_POINT_SIZE = 36
BODY_POINT_SIZE = 15
WORKER_STOP_MS = 5_000
AMOUNT_COLUMN = 3


def yen(amount: int) -> str:
    return f"¥{amount:,}"


class TrainingWindow(QMainWindow):
    request_open = Signal()
    request_sale = Signal(int)
    request_verify = Signal()
    request_close = Signal()

    def __init__(self, data_dir: Path, demo: bool) -> None:
        super().__init__()
        self.setWindowTitle(self.tr("Machi POS — training register"))
        self.resize(1024, 700)
        base = QFont()
        base.setPointSize(BODY_POINT_SIZE)
        self.setFont(base)

        self.status = QLabel(self.tr("Opening the journal…"))
        self.status.setObjectName("status")
        self.amount = QLineEdit()
        self.amount.setPlaceholderText(self.tr("Amount in yen"))
        self.amount.setValidator(QIntValidator(1, MAX_AMOUNT_YEN, self))
        big = QFont()
        big.setPointSize(AMOUNT_POINT_SIZE)
        self.amount.setFont(big)
        self.sale_button = QPushButton(self.tr("Record training sale (Enter)"))
        self.verify_button = QPushButton(self.tr("Verify journal"))
        for button in (self.sale_button, self.verify_button):
            button.setMinimumHeight(64)
        self.sale_button.setEnabled(False)
        self.verify_button.setEnabled(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            [self.tr("seq"), self.tr("time"), self.tr("type"), self.tr("amount"), self.tr("hash")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        entry = QHBoxLayout()
        entry.addWidget(self.amount, 2)
        entry.addWidget(self.sale_button, 1)
        entry.addWidget(self.verify_button, 1)
        layout = QVBoxLayout()
        layout.addWidget(self.status)
        layout.addLayout(entry)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)

        self._thread = QThread(self)
        self._worker = JournalWorker(data_dir, demo)
        self._worker.moveToThread(self._thread)
        self.request_open.connect(self._worker.open)
        self.request_sale.connect(self._worker.record_training_sale)
        self.request_verify.connect(self._worker.verify)
        self.request_close.connect(self._worker.close)
        self._worker.opened.connect(self._on_opened)
        self._worker.appended.connect(self._on_appended)
        self._worker.verified.connect(self._on_verified)
        self._worker.failed.connect(self._on_failed)
        self.sale_button.clicked.connect(self._submit)
        self.amount.returnPressed.connect(self._submit)
        self.verify_button.clicked.connect(self._verify)
        self._thread.start()
        self.request_open.emit()

    # --- user actions -----------------------------------------------------------------

    def _submit(self) -> None:
        text = self.amount.text().strip()
        if not self.amount.hasAcceptableInput():
            self.message.setText(self.tr("Enter an amount from 1 to {0} yen.").format(
                f"{MAX_AMOUNT_YEN:,}"))
            return
        self.amount.clear()
        self.request_sale.emit(int(text))

    def _verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.message.setText(self.tr("Verifying every signature…"))
        self.request_verify.emit()

    # --- worker results ---------------------------------------------------------------

    @Slot(str, list)
    def _on_opened(self, terminal_id: str, rows: list) -> None:
        self.terminal_id = terminal_id
        for row in rows:
            self._add_row(row)
        self._show_status()
        self.sale_button.setEnabled(True)
        self.verify_button.setEnabled(True)
        self.amount.setFocus()

    @Slot(tuple)
    def _on_appended(self, row: tuple) -> None:
        self._add_row(row)
        self._show_status()
        self.message.setText(
            self.tr("Recorded seq {0}: {1}, signed and on disk.").format(row[0], yen(row[4]))
        )

    @Slot(bool, str)
    def _on_verified(self, intact: bool, text: str) -> None:
        self.verify_button.setEnabled(True)
        prefix = self.tr("✔ ") if intact else self.tr("✘ Journal broken at ")
        self.message.setText(prefix + text)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.message.setText(self.tr("Not done: {0}").format(text))
        if not hasattr(self, "terminal_id"):
            self.status.setText(self.tr("No journal: {0}").format(text))

    def _add_row(self, row: tuple) -> None:
        seq, _tx_id, rtype, at, amount, digest = row[:6]
        self.table.insertRow(0)
        values = [str(seq), at[:19].replace("T", " "), rtype, yen(amount), digest[:16]]
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            if column == AMOUNT_COLUMN:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(0, column, item)
        while self.table.rowCount() > RECENT_ROWS:
            self.table.removeRow(self.table.rowCount() - 1)

    def _show_status(self) -> None:
        last = self.table.item(0, 0).text() if self.table.rowCount() else "0"
        self.status.setText(
            self.tr("Terminal {0} · {1} records · training mode: nothing here settles").format(
                self.terminal_id, last
            )
        )

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.request_close.emit()
        self._thread.quit()
        self._thread.wait(WORKER_STOP_MS)
        super().closeEvent(event)
