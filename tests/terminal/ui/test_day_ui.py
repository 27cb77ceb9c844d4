"""The business day through the real window (offscreen, on the real demo): today's
receipts with voids shown as such and reprints marked 再発行, cash tendered and change at the
booth, a receipt that did not print kept for reprint, the second Z refused, the day's sheet
exported as data."""

from __future__ import annotations

import csv
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from sync.staff import DEMO_MANAGER_PIN
from terminal.journal import Journal
from terminal.ui.day import ROW_MIN_PX
from tests.terminal.loopback_printer import LoopbackPrinter
from tests.terminal.ui.helpers import (
    DONE_MS,
    confirm,
    first,
    settle,
    sign_in,
    staff_id,
    type_amount,
    unlock_admin,
)


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-day")


def pay(qtbot, window, amount: int):
    window.modes["shop"].click()
    type_amount(window, window.shop, amount)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    return window.last_outcome


def day_closes(window) -> list[dict]:
    journal = Journal.open_read_only(window.bridge._data_dir)
    try:
        return [json.loads(row[6]) for row in journal.rows() if row[2] == "day_close"]
    finally:
        journal.close()


def test_todays_receipts_show_voids_and_reprint_marked(qtbot, window):
    kept = pay(qtbot, window, 1_234)
    voided = pay(qtbot, window, 777)
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    assert window.shop.sales.visualItemRect(window.shop.sales.item(0)).height() >= ROW_MIN_PX
    window.shop.sales.setCurrentRow(0)  # the newest: the ¥777 sale
    window.shop.void_button.click()
    confirm(window)  # "really?", answered by the manager signed in
    assert settle(qtbot, window.shop) == "approved"
    window.shop.buttons["refunds"].click()  # the refund list says it too
    sales = window.shop.sales
    qtbot.waitUntil(lambda: sales.count() > 1 and "【" in sales.item(0).text(), timeout=DONE_MS)
    assert "【VOIDED】" in window.shop.sales.item(0).text()
    assert window.shop.sales.item(0).font().strikeOut()
    assert "【" not in window.shop.sales.item(1).text()  # the ¥1,234 sale stands

    QTest.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.shop.history.list.count() > 0, timeout=DONE_MS)
    rows = [window.shop.history.list.item(r) for r in range(window.shop.history.list.count())]
    by_seq = {row.data(Qt.ItemDataRole.UserRole): row for row in rows}
    assert "【VOIDED】" in by_seq[voided.seq].text()
    assert by_seq[voided.seq].font().strikeOut()
    assert "【" not in by_seq[kept.seq].text()
    for row in rows:  # rows a finger can tap
        assert window.shop.history.list.visualItemRect(row).height() >= ROW_MIN_PX
    window.shop.history.search.setText(f"¥{kept.amount:,}")
    assert [window.shop.history.list.item(r).data(Qt.ItemDataRole.UserRole)
            for r in range(window.shop.history.list.count())] == [kept.seq]
    window.shop.history.search.setText(kept.record["at"][11:16])
    assert window.shop.history.list.count() >= 1
    window.shop.history.search.setText(str(kept.amount))
    QTest.keyClick(window.shop.history.search, Qt.Key.Key_Return)  # reprints the one found
    qtbot.waitUntil(lambda: "REPRINT" in window.shop.result.receipt.text(), timeout=DONE_MS)
    assert f"No.{kept.seq}" in window.shop.result.receipt.text()
    assert f"¥{kept.amount:,}" in window.shop.result.receipt.text()
    assert f"Receipt no. {kept.seq} printed again" in window.shop.result.headline.text()
    QTest.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.shop.history.list.count() > 0, timeout=DONE_MS)
    window.shop.history.last_button.click()  # the last receipt: the void's
    qtbot.waitUntil(lambda: "printed again" in window.shop.result.headline.text() and
                    "Void" in window.shop.result.receipt.text(), timeout=DONE_MS)


def test_a_top_up_takes_cash_and_shows_the_change(qtbot, window):
    """¥3,000 topped up with a ¥5,000 note: change ¥2,000, on screen and on the receipt.
    Too little cash typed: the card waits, and the box says by how much."""
    window.modes["booth"].click()
    type_amount(window, window.booth, 3_000)
    window.booth.buttons["charge"].click()
    assert window.booth.tender.isVisible()
    window.booth.tender.field.setText("2500")  # typed (keyClicks this fast would be a scan)
    assert window.booth.tender.change.text() == "short by ¥500"
    window.present("card", first(window, "card"))
    assert window.booth.result.property("state") == "waiting"  # nothing sent
    window.booth.tender.field.setText("5000")
    assert window.booth.tender.change.text() == "Change ¥2,000"
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.booth) == "approved"
    assert window.booth.result.balance.text() == "Change ¥2,000"
    qtbot.waitUntil(lambda: "Cash received" in window.booth.result.receipt.text(),
                    timeout=DONE_MS)
    text = window.booth.result.receipt.text()
    assert "¥5,000" in text and "Change" in text and "¥2,000" in text


def test_a_receipt_the_printer_could_not_print_is_kept_for_reprint(qtbot, window):
    """A network printer out of paper (it says so to DLE EOT): the sale goes through, its
    receipt is not sent and never reported printed; the list marks it (not printed). Paper
    in, Enter on it in the list reprints it (再発行) and the printer shows ready again."""
    with LoopbackPrinter(6, paper="out") as device:
        try:
            unlock_admin(qtbot, window)
            window.admin.printer_kind.setCurrentIndex(window.admin.printer_kind.findData("network"))
            window.admin.printer_address.setText(f"127.0.0.1:{device.port}")
            window.admin.printer_button.click()
            qtbot.waitUntil(lambda: "out of paper" in window.admin.readers_info.text(),
                            timeout=DONE_MS)
            sale = pay(qtbot, window, 640)
            qtbot.waitUntil(lambda: f"receipt no. {sale.seq} was not printed" in
                            window.admin.readers_info.text(), timeout=DONE_MS)
            assert "kept for reprint" in window.admin.readers_info.text()
            assert sale.seq in window.bridge.unprinted
            QTest.keyClick(window, Qt.Key.Key_F11)
            qtbot.waitUntil(lambda: window.shop.history.list.count() > 0, timeout=DONE_MS)
            assert "(not printed)" in window.shop.history.list.item(0).text()
            assert all(b"\x1dV" not in data for data in device.got)  # nothing cut: unprinted
            device.paper = "ok"  # paper put in: the kept receipt is reprinted from the list
            QTest.keyClick(window.shop.history.list, Qt.Key.Key_Return)
            qtbot.waitUntil(lambda: "(paper ok)" in window.admin.readers_info.text(),
                            timeout=DONE_MS)
            assert sale.seq not in window.bridge.unprinted
            qtbot.waitUntil(lambda: any(b"\x1dV" in data for data in device.got),
                            timeout=DONE_MS)
            printed = next(data for data in device.got if b"\x1dV" in data)
            assert "再発行".encode("shift_jis") in printed
        finally:
            window.modes["admin"].click()
            window.admin.printer_kind.setCurrentIndex(window.admin.printer_kind.findData("pdf"))
            window.admin.printer_button.click()
            qtbot.waitUntil(lambda: "printer — no printer" in window.admin.readers_info.text(),
                            timeout=DONE_MS)


def test_second_z_asks_a_manager_saying_what_the_first_covered(qtbot, window):
    """The Z pressed twice: the second is refused and the staff bar asks a manager's PIN,
    saying what the first close covered, even of the manager signed in; nothing is written
    until then. Approved, it closes the sales since as shift 2 of the same business day,
    naming who closed and who approved."""
    pay(qtbot, window, 450)
    unlock_admin(qtbot, window)
    window.admin.counted.setText("0")
    window.admin.buttons["close_day"].click()
    qtbot.waitUntil(lambda: ".pdf" in window.admin.verify_info.text(), timeout=DONE_MS)
    assert "Sales from now on belong to the next business day" in window.admin.verify_info.text()
    closes = day_closes(window)
    day = closes[-1]["body"]["business_date"]
    assert closes[-1]["body"]["staff"] == staff_id(window, "manager")
    assert f"Business day {day} is closed. Sales from now on belong to the next business " \
        "day" in window.shop.result.headline.text()  # said on the counter too
    qtbot.waitUntil(lambda: window.staff_bar.signed_in is None, timeout=DONE_MS)  # shift over
    sign_in(qtbot, window, "manager")
    window.admin.counted.setText("0")
    window.admin.buttons["close_day"].click()  # pressed twice
    bar = window.staff_bar
    qtbot.waitUntil(lambda: bar.mode == "approve", timeout=DONE_MS)
    said = bar.message.text()
    assert "closing a business day already closed (Z) again" in said
    assert f"the close of {day} shift 1" in said
    assert f"seq {closes[-1]['body']['first_seq']}..{closes[-1]['body']['last_seq']}" in said
    assert len(day_closes(window)) == len(closes)  # nothing written
    bar.pin.setText(DEMO_MANAGER_PIN)
    bar.ok.click()
    qtbot.waitUntil(lambda: len(day_closes(window)) == len(closes) + 1, timeout=DONE_MS)
    second = day_closes(window)[-1]["body"]
    assert (second["business_date"], second["shift"]) == (day, 2)
    assert second["approved_by"] == staff_id(window, "manager")


def test_the_days_sheet_is_exported_and_says_where(qtbot, window, tmp_path):
    sale = pay(qtbot, window, 300)  # the next business day's first sale
    unlock_admin(qtbot, window)
    for fmt in ("csv", "xlsx", "pdf"):
        window.admin.day_controls.format.setCurrentIndex(window.admin.day_controls.format.findData(fmt))
        window.admin.day_controls.export_button.click()
        qtbot.waitUntil(lambda fmt=fmt: window.admin.day_controls.info.text().endswith(f".{fmt}"),
                        timeout=DONE_MS)
    path = window.admin.day_controls.info.text().removeprefix("Saved: ")
    assert path.endswith(".pdf")
    with open(path[:-4] + ".csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    payments = next(row for row in rows if row[6] == "Payments")
    assert rows[0][:5] == ["shop", "shop_id", "terminal", "business_date", "shift"]
    assert payments[7] == "1" and payments[8] == str(sale.amount) and payments[9] == "JPY"
