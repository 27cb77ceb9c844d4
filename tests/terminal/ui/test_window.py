"""The counter window through Qt (offscreen), on the real demo: a ledger process with the
demo region, this terminal enrolled with it, every flow driven as a cashier would."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from sync import cards
from terminal.clock import ClockSources
from terminal.sounds import SoundPlayer
from tests.terminal.loopback_printer import LoopbackPrinter
from tests.terminal.ui.helpers import (
    DONE_MS,
    confirm,
    first,
    issued,
    settle,
    type_amount,
    unlock_admin,
)


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


def test_pay_with_a_card_is_approved_with_the_balance_left(qtbot, window):
    type_amount(window, window.shop, 1_200)
    window.shop.buttons["pay"].click()
    assert window.shop.result.property("state") == "waiting"
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    # the demo's winter campaigns run here: a coupon and the rally's shop discount may take
    # something off the ¥1,200, and the screen says what the customer paid
    outcome = window.last_outcome
    off = sum(entry.get("discount", 0) for entry in outcome.campaigns)
    assert f"Paid ¥{1_200 - off:,}" in window.shop.result.headline.text()
    if off:
        assert f"Goods ¥1,200 → to pay ¥{1_200 - off:,}" in window.shop.result.detail.text()
    assert window.shop.result.balance.text().startswith("Remaining ¥")
    assert "decided online" in window.shop.result.detail.text()


def test_pay_with_a_demo_phone_uses_a_real_token(qtbot, window):
    type_amount(window, window.shop, 300)
    window.shop.buttons["pay"].click()
    window._demo_present(next(window.demo_list.item(r) for r in range(window.demo_list.count())
                              if window.demo_list.item(r).data(256)[0] == "phone"))
    assert settle(qtbot, window.shop) == "approved"


def test_refusal_shows_the_reason_in_words(qtbot, window):
    type_amount(window, window.shop, 999_000)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "refused"
    assert "Not enough balance" in window.shop.result.detail.text()
    window.present_text("8000 0000 0000 0001")  # a scan with no action asks the balance
    assert settle(qtbot, window.shop) == "refused"
    assert "check digit" in window.shop.result.detail.text()


def test_approve_and_refuse_are_heard(qtbot, window, tmp_path):
    played = tmp_path / "played.txt"
    script = tmp_path / "player.py"  # a real child process standing in for aplay
    script.write_text(f"import sys\nopen({str(played)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    window.sounds = SoundPlayer(tmp_path / "sounds", [sys.executable, str(script)])
    window.sounds.prepare()
    type_amount(window, window.shop, 300)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    type_amount(window, window.shop, 999_000)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "refused"
    qtbot.waitUntil(lambda: played.exists() and len(played.read_text().split()) == 2,
                    timeout=DONE_MS)
    assert [line.rsplit("/", 1)[-1] for line in played.read_text().split()] == \
        ["approve.wav", "refuse.wav"]


def test_offline_sale_with_the_ledger_stopped(qtbot, window):
    window.bridge.demo.stop()
    type_amount(window, window.shop, 500)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    assert "decided offline" in window.shop.result.detail.text()


def test_refund_from_the_list_of_sales(qtbot, window):
    type_amount(window, window.shop, 800)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    settle(qtbot, window.shop)
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    window.shop.sales.setCurrentRow(0)
    type_amount(window, window.shop, 300)
    window.shop.refund_button.click()
    confirm(window)
    assert settle(qtbot, window.shop) == "approved"
    assert "Refunded ¥300" in window.shop.result.headline.text()


def test_top_up_at_the_cap_is_refused(qtbot, window):
    window.modes["booth"].click()
    type_amount(window, window.booth, 49_000)
    window.booth.buttons["charge"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.booth) == "refused"
    assert "at most ¥50,000" in window.booth.result.detail.text()


def test_new_card_issued_then_charged(qtbot, window):
    window.modes["booth"].click()
    number = issued("812345678901234" + cards.luhn_digit("812345678901234"))
    window.booth.buttons["card"].click()
    window.booth.age_band.setCurrentText("80+")
    window.present_text(cards.printed(number))
    assert settle(qtbot, window.booth) == "approved"
    type_amount(window, window.booth, 3_000)
    window.booth.buttons["charge"].click()
    window.present_text(number)
    assert settle(qtbot, window.booth) == "approved"
    # a premium-charge campaign (the demo's winter one) adds its bonus to the new wallet
    bonus = sum(entry.get("bonus", 0) for entry in window.last_outcome.campaigns)
    assert window.booth.result.balance.text() == f"Remaining ¥{3_000 + bonus:,}"
    if bonus:
        assert f"+¥{bonus:,}" in window.booth.result.campaigns.text()


def test_a_card_with_a_pin_asks_for_it_above_its_amount(qtbot, window):
    window.modes["booth"].click()
    number = issued("812345678905555" + cards.luhn_digit("812345678905555"))
    window.booth.buttons["card"].click()
    assert window.booth.new_pin.isVisible() and \
        window.booth.new_pin.echoMode() == window.booth.new_pin.EchoMode.Password
    window.booth.new_pin.setText("4826")
    window.present_text(number)
    assert settle(qtbot, window.booth) == "approved"
    assert window.booth.new_pin.text() == ""  # never left on screen for the next customer
    type_amount(window, window.booth, 10_000)
    window.booth.buttons["charge"].click()
    window.present_text(number)
    assert settle(qtbot, window.booth) == "approved"
    window.modes["shop"].click()
    assert pay_card(qtbot, window, number, 800) == "approved"  # at most ¥3,000: no PIN
    type_amount(window, window.shop, 4_000)
    window.shop.buttons["pay"].click()
    window.present("card", number)
    qtbot.waitUntil(lambda: window.shop.pin_box.isVisible(), timeout=DONE_MS)
    assert window.shop.result.headline.text() == "PIN, please"
    assert "needs its PIN" in window.shop.result.detail.text()
    window.shop.pin_entry.setText("1111")
    window.shop.pin_button.click()
    qtbot.waitUntil(lambda: window.shop.pin_box.isVisible() and
                    "2 tries left" in window.shop.result.detail.text(), timeout=DONE_MS)
    window.shop.pin_entry.setText("4826")
    window.shop.pin_entry.returnPressed.emit()
    assert settle(qtbot, window.shop) == "approved"
    assert window.last_outcome.kind == "payment"
    assert window.shop.result.headline.text().startswith("✔ Paid")
    assert not window.shop.pin_box.isVisible()


def pay_card(qtbot, window, number: str, amount: int) -> str:
    type_amount(window, window.shop, amount)
    window.shop.buttons["pay"].click()
    window.present("card", number)
    return settle(qtbot, window.shop)


def test_language_switch(qtbot, window):
    assert window.shop.buttons["pay"].text() == "Pay"
    window.lang_button.click()  # Qt delivers the language change as an event
    qtbot.waitUntil(lambda: window.shop.buttons["pay"].text() == "お支払い", timeout=DONE_MS)
    assert window.lang_button.text() == "English"
    assert window.modes["booth"].text() == "窓口"
    window.lang_button.click()
    qtbot.waitUntil(lambda: window.shop.buttons["pay"].text() == "Pay", timeout=DONE_MS)


def test_a_scanner_burst_is_a_scan_and_does_not_type_digits(qtbot, window):
    number = first(window, "card")
    window.shop.pad.setFocus()
    QTest.keyClicks(window.shop.pad, number)  # a scanner types fast...
    QTest.keyClick(window.shop.pad, "\r")  # ...and ends with Enter
    assert settle(qtbot, window.shop) == "approved"  # a scan alone: the balance
    assert window.shop.result.headline.text().startswith("Balance")
    assert window.shop.pad.amount == 0


def test_admin_needs_the_pin_and_verifies_the_journal(qtbot, window):
    window.modes["admin"].click()
    window.admin.pin.setText("1234")  # the demo's cashier's would not open it either
    window.admin.unlock_button.click()
    qtbot.waitUntil(lambda: "not right" in window.admin.pin_message.text(), timeout=DONE_MS)
    assert window.admin.admin_panel.isHidden()
    unlock_admin(qtbot, window)
    qtbot.waitUntil(lambda: "journal intact" in window.admin.verify_info.text(), timeout=DONE_MS)


def test_screen_stays_responsive_while_sync_hangs_on_a_dead_ledger(qtbot, window):
    # A "ledger" that accepts connections and never answers.
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        sink.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sink.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        worker = window.bridge.node.worker
        worker.client.base_url = f"http://127.0.0.1:{sink.getsockname()[1]}"
        window.admin.sync_now()
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(50)
        qtbot.wait(1_500)  # the sync is stuck in its read timeout all this while
        timer.stop()
        assert held, "the sync never reached the dead ledger"
        gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
        assert len(ticks) >= 20 and max(gaps) < 0.5  # events kept flowing
        type_amount(window, window.shop, 700)  # and the cashier can still type
        assert window.shop.pad.display.text() == "¥700"
    finally:
        stop.set()
        sink.close()
        for conn in held:
            conn.close()


def test_admin_shows_readers_and_limits(qtbot, window):
    unlock_admin(qtbot, window)
    qtbot.waitUntil(lambda: "pcsc" in window.admin.readers_info.text(), timeout=DONE_MS)
    assert "unavailable" in window.admin.readers_info.text()  # no reader or pcscd here: said once
    assert "sound — " in window.admin.readers_info.text()  # ready, or what to install
    assert "¥10,000 per payment" in window.admin.admin_info.text()


def test_admin_sets_a_network_printer_that_answers_and_keeps_it(qtbot, window):
    from terminal.node import CONFIG_FILE

    settings = window.bridge._data_dir / CONFIG_FILE
    unlock_admin(qtbot, window)
    window.admin.printer_kind.setCurrentIndex(window.admin.printer_kind.findData("network"))
    # nobody listens on port 1: not saved, the PDF "printer" stays
    window.admin.printer_address.setText("127.0.0.1:1")
    window.admin.printer_button.click()
    qtbot.waitUntil(lambda: "not saved" in window.admin.readers_info.text(), timeout=DONE_MS)
    assert "printer" not in json.loads(settings.read_text("utf-8"))
    # checked at "Save and test", asked for its status, then sent a receipt
    with LoopbackPrinter(3, paper="ok") as device:
        try:
            window.admin.printer_address.setText(f"127.0.0.1:{device.port}")
            window.admin.printer_button.click()
            qtbot.waitUntil(lambda: "printer — ready" in window.admin.readers_info.text(),
                            timeout=DONE_MS)
            saved = json.loads(settings.read_text("utf-8"))
            assert saved["printer"] == {"kind": "network", "columns": 48,
                                        "host": "127.0.0.1", "port": device.port}
            assert saved["terminal_id"] == window.info["terminal_id"]  # the rest is kept
            window.modes["shop"].click()
            type_amount(window, window.shop, 120)
            window.shop.buttons["pay"].click()
            window.present("card", first(window, "card"))
            assert settle(qtbot, window.shop) == "approved"
            qtbot.waitUntil(lambda: any(b"\x1dV" in data for data in device.got),
                            timeout=DONE_MS)
        finally:
            window.modes["admin"].click()
            window.admin.printer_kind.setCurrentIndex(window.admin.printer_kind.findData("pdf"))
            window.admin.printer_button.click()  # back to PDFs for the other tests
            qtbot.waitUntil(lambda: "printer — no printer" in window.admin.readers_info.text(),
                            timeout=DONE_MS)


def test_each_sale_shows_a_receipt_and_writes_it_as_a_pdf(qtbot, window):
    type_amount(window, window.shop, 640)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    qtbot.waitUntil(lambda: "640" in window.shop.result.receipt.text(), timeout=DONE_MS)
    receipts = window.bridge._data_dir / "receipts"
    qtbot.waitUntil(lambda: receipts.exists() and any(receipts.glob("*.pdf")), timeout=DONE_MS)


def test_keyboard_only(qtbot, window):
    """Digits, Enter and function keys do everything a touch would."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DONE_MS)  # shortcuts need the focus
    QTest.keyClick(window, Qt.Key.Key_F2)
    assert window.stack.currentWidget() is window.booth
    QTest.keyClick(window, Qt.Key.Key_F1)
    assert window.stack.currentWidget() is window.shop
    for digit in "250":
        time.sleep(0.08)  # a person, not a scanner
        QTest.keyClick(window, digit)
    qtbot.waitUntil(lambda: window.shop.pad.amount == 250, timeout=DONE_MS)
    time.sleep(0.08)
    QTest.keyClick(window, Qt.Key.Key_Return)  # held back briefly: it could end a scan
    qtbot.waitUntil(lambda: window.shop.result.property("state") == "waiting",
                    timeout=DONE_MS)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.pending() is None, timeout=DONE_MS)


def test_admin_closes_the_day_and_writes_the_sheet(qtbot, window):
    type_amount(window, window.shop, 450)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    settle(qtbot, window.shop)
    unlock_admin(qtbot, window)
    window.admin.buttons["close_day"].click()
    assert "Count the cash" in window.admin.verify_info.text()  # nothing closed without a count
    window.admin.counted.setText("0")
    window.admin.buttons["close_day"].click()
    qtbot.waitUntil(lambda: ".pdf" in window.admin.verify_info.text(), timeout=DONE_MS)
    assert "Daily tally sheet" in window.admin.verify_info.text()
    sheets = list((window.bridge._data_dir / "tallies").glob("*-Z-*.pdf"))
    assert sheets


def test_a_wall_clock_turned_back_is_shown_on_the_status_line(qtbot, window):
    """The node's wall clock is moved back two days (its clock sources replaced, the
    machine's clock untouched): after the next action the status line says so, in the
    cashier's language, and stops saying so once the clock is right again."""
    clock = window.bridge.node.clock
    real = clock.sources
    clock.anchor(int(real.wall() * 1000), persist=False)  # the ledger's time: now
    clock.sources = ClockSources(wall=lambda: real.wall() - 2 * 86_400, elapsed=real.elapsed,
                                 boot_id=real.boot_id)
    try:
        window.shop.show_refunds()  # any action: the bridge reports the clock after it
        qtbot.waitUntil(lambda: "behind the ledger's time" in window.status_line.text(),
                        timeout=DONE_MS)
        assert "clock is 2 d behind" in window.status_line.text()
        assert window.status_line.property("clock") == "wrong"
        window.lang_button.click()
        qtbot.waitUntil(lambda: "2日遅れています" in window.status_line.text(), timeout=DONE_MS)
        window.lang_button.click()
        qtbot.waitUntil(lambda: window.shop.buttons["pay"].text() == "Pay", timeout=DONE_MS)
    finally:
        clock.sources = real
    window.shop.show_refunds()
    qtbot.waitUntil(lambda: window.status_line.property("clock") == "ok", timeout=DONE_MS)
    assert "behind" not in window.status_line.text()


# --- #18.9: demo and keyboard ---------------------------------------------------------------


def test_esc_clears_a_refused_amount(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DONE_MS)  # keys need the focus
    type_amount(window, window.shop, 999_000)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "refused"
    assert window.shop.pad.amount == 999_000  # still there: the cashier sees what was refused
    QTest.keyClick(window, Qt.Key.Key_Escape)  # held back a moment by the scanner filter
    qtbot.waitUntil(lambda: window.shop.pad.amount == 0, timeout=DONE_MS)
    assert window.shop.result.property("state") == "idle"


def test_the_clear_key_says_clear_in_the_cashiers_language(qtbot, window):
    assert window.shop.pad.clear_button.text() == "Clear"
    window.lang_button.click()
    try:
        qtbot.waitUntil(lambda: window.shop.pad.clear_button.text() == "クリア",
                        timeout=DONE_MS)
    finally:
        window.lang_button.click()
    qtbot.waitUntil(lambda: window.shop.pad.clear_button.text() == "Clear", timeout=DONE_MS)


def test_after_tapping_a_demo_customer_the_keyboard_is_the_counters(qtbot, window):
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DONE_MS)
    row = next(r for r in range(window.demo_list.count())
               if (window.demo_list.item(r).data(Qt.ItemDataRole.UserRole) or ("",))[0]
               == "card")
    rect = window.demo_list.visualItemRect(window.demo_list.item(row))
    qtbot.mouseClick(window.demo_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert settle(qtbot, window.shop) == "approved"  # a tap alone: the balance
    focused = QApplication.focusWidget()
    assert focused is not None and focused is not window.demo_list
    assert focused.window() is window
    window.shop.pad.clear()
    for digit in "70":
        time.sleep(0.08)  # a person, not a scanner
        QTest.keyClick(focused, digit)
    qtbot.waitUntil(lambda: window.shop.pad.amount == 70, timeout=DONE_MS)


def test_the_admin_screen_quits_the_counter_after_asking(qtbot, window):
    unlock_admin(qtbot, window)
    window.admin.buttons["quit"].click()
    assert window.confirm.isVisible() and window.isVisible()  # asked first
    QTest.keyClick(window, Qt.Key.Key_Escape)  # no: nothing happens
    qtbot.waitUntil(lambda: not window.confirm.isVisible(), timeout=DONE_MS)
    assert window.isVisible()
    window.admin.buttons["quit"].click()
    confirm(window)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=DONE_MS)
    assert window.bridge.node is None  # the services stopped with it
