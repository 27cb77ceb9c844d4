"""The admin screen's receipt printer: its kind, one address field, the paper width;
saved (in terminal.json, by the services) only once the printer answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from terminal.printer import PRINTER_KINDS
from terminal.printer import address_of as printer_address_of
from terminal.ui.ops import PRINTER_TIMEOUT_S, Op, OpFailure
from terminal.ui.screen import failure_words, said_details, tr
from terminal.ui.widgets import big_font, touch_button

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

PRINTER_COLUMN_CHOICES = (32, 42, 48)  # 58 mm Font A, 80 mm Font B, 80 mm Font A
FIELD_POINT_SIZE = 13


class PrinterRow(QWidget):
    def __init__(self, frame: MainWindow) -> None:
        super().__init__()
        self.frame = frame
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.kind = QComboBox()
        self.kind.setObjectName("printer_kind")
        for kind in PRINTER_KINDS:
            self.kind.addItem(kind, kind)
        self.address = QLineEdit()
        self.address.setObjectName("printer_address")
        self.columns = QComboBox()
        for columns in PRINTER_COLUMN_CHOICES:
            self.columns.addItem(str(columns), columns)
        self.button = touch_button("", "action_printer")
        for widget in (self.label, self.kind, self.address, self.columns):
            widget.setFont(big_font(FIELD_POINT_SIZE, bold=False))
            row.addWidget(widget, 1 if widget is self.address else 0)
        row.addWidget(self.button)
        self.kind.currentIndexChanged.connect(self._hint)
        self.button.clicked.connect(self._save)

    def retranslate(self) -> None:
        self.label.setText(tr("Printer"))
        kinds = {"pdf": tr("None (PDF)"), "network": tr("Network"), "usb": "USB",
                 "serial": tr("Serial"), "file": tr("Device file")}
        for index in range(self.kind.count()):
            self.kind.setItemText(index, kinds[self.kind.itemData(index)])
        self.button.setText(tr("Save and test"))
        self._hint()

    def _hint(self) -> None:
        hints = {"pdf": tr("no printer: receipts as PDF"),
                 "network": "192.168.1.50:9100", "usb": "04b8:0202",
                 "serial": "/dev/ttyUSB0@9600", "file": "/dev/usb/lp0"}
        kind = self.kind.currentData()
        self.address.setPlaceholderText(hints.get(kind, ""))
        self.address.setEnabled(kind != "pdf")

    def show_settings(self, config: dict) -> None:
        kind, address, columns = printer_address_of(config)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.address.setText(address)
        self.columns.setCurrentIndex(max(0, self.columns.findData(columns)))
        self._hint()

    def _save(self) -> None:
        self.frame.reader_state("printer", tr("checking…"))
        kind, address = self.kind.currentData(), self.address.text()
        columns = self.columns.currentData()
        Op(self, lambda s: s.configure_printer(kind, address, columns),
           success=lambda status: self.frame.reader_state("printer", status),
           failure=self._failed, label=tr("the printer"), timeout_s=PRINTER_TIMEOUT_S).run()

    def _failed(self, failure: OpFailure) -> None:
        if failure.code == "printer":  # the new printer did not answer: the old one stays
            self.frame.reader_state("printer", tr("not saved: {0}").format(failure.message))
            return
        self.frame.reader_state("printer", "✘ " + failure_words(failure))
        self.frame.staff.refused(failure.code, failure_words(failure), said_details(failure))
