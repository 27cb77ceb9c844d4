"""The training register, driven through Qt offscreen: sale, verify, refusal of bad input."""

from __future__ import annotations

from PySide6.QtCore import Qt

from terminal import audit
from terminal.ui.window import TrainingWindow

WAIT_MS = 10_000


def open_window(qtbot, data_dir):
    window = TrainingWindow(data_dir, demo=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.sale_button.isEnabled, timeout=WAIT_MS)
    return window


def test_demo_sale_is_signed_into_the_journal(qtbot, data_dir):
    window = open_window(qtbot, data_dir)
    assert window.table.rowCount() == 1  # the start record
    qtbot.keyClicks(window.amount, "1500")
    qtbot.keyClick(window.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.table.rowCount() == 2, timeout=WAIT_MS)
    assert window.table.item(0, 2).text() == "training"
    assert window.table.item(0, 3).text() == "¥1,500"
    assert "seq 2" in window.message.text()

    qtbot.mouseClick(window.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "journal intact" in window.message.text(), timeout=WAIT_MS)
    window.close()
    report = audit.verify_journal(data_dir)
    assert report.records == 2 and report.terminal_id == "DEMO-0001"


def test_bad_amount_is_refused_and_nothing_is_written(qtbot, data_dir):
    window = open_window(qtbot, data_dir)
    window.amount.setText("")
    qtbot.mouseClick(window.sale_button, Qt.MouseButton.LeftButton)
    assert "Enter an amount" in window.message.text()
    qtbot.keyClicks(window.amount, "abc")  # the validator takes digits only
    assert window.amount.text() == ""
    window.close()
    assert audit.verify_journal(data_dir).records == 1


def test_the_demo_reopens_its_own_journal(qtbot, data_dir):
    first = open_window(qtbot, data_dir)
    qtbot.keyClicks(first.amount, "300")
    qtbot.keyClick(first.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: first.table.rowCount() == 2, timeout=WAIT_MS)
    first.close()
    second = open_window(qtbot, data_dir)
    assert second.table.rowCount() == 2
    second.close()


def test_no_journal_outside_demo_says_so(qtbot, tmp_path):
    window = TrainingWindow(tmp_path / "never-set-up", demo=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "No journal" in window.status.text(), timeout=WAIT_MS)
    assert not window.sale_button.isEnabled()
    window.close()
