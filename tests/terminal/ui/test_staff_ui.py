"""Staff through the real counter window on the real demo (its ready-made staff, PINs
from the demo panel): what each role may and may not do, the manager's PIN asked on the
same screen, a member locked after wrong PINs, the admin screen locking itself, the
"really?" before a void, and training mode's banner and 練習 receipts."""

from __future__ import annotations

import pytest

from sync.staff import DEMO_MANAGER_PIN, DEMO_STAFF
from terminal import staff as staff_rules
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
    return tmp_path_factory.mktemp("demo-staff")


def pay(win, amount: int) -> None:
    type_amount(win, win.shop, amount)
    win.shop.buttons["pay"].click()
    win.present("card", first(win, "card"))


def test_the_demo_says_its_staff_and_their_pins(qtbot, window):
    lines = [window.demo_list.item(row).text() for row in range(window.demo_list.count())]
    for name, _, pin in DEMO_STAFF:
        assert any(name in line and f"PIN {pin}" in line for line in lines)


def test_a_cashier_pays_but_may_not_top_up(qtbot, window):
    sign_in(qtbot, window, "cashier")
    assert "Signed in" in window.staff_bar.message.text()
    pay(window, 400)
    assert settle(qtbot, window.shop) == "approved"
    assert window.last_outcome.record["body"]["staff"] == staff_id(window, "cashier")
    window.modes["booth"].click()
    type_amount(window, window.booth, 1_000)
    window.booth.buttons["charge"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.booth) == "refused"
    assert "A cashier may not do this" in window.booth.result.detail.text()


def test_a_booth_tops_up_but_may_not_take_a_payment(qtbot, window):
    sign_in(qtbot, window, "booth")
    window.modes["booth"].click()
    type_amount(window, window.booth, 1_000)
    window.booth.buttons["charge"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.booth) == "approved"
    window.modes["shop"].click()
    pay(window, 400)
    assert settle(qtbot, window.shop) == "refused"
    assert "A booth may not do this" in window.shop.result.detail.text()


def test_a_booths_manual_grant_asks_a_manager(qtbot, window):
    """The booth's grant button grants outside any campaign: the bar asks a manager's PIN,
    saying why and the points; once given, the same grant is made, naming both."""
    sign_in(qtbot, window, "booth")
    window.modes["booth"].click()
    type_amount(window, window.booth, 500)
    window.booth.buttons["grant"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.booth) == "refused"
    bar = window.staff_bar
    assert "a grant outside a running campaign" in bar.message.text()
    assert "500 pt" in bar.message.text()
    bar.pin.setText(DEMO_MANAGER_PIN)
    bar.ok.click()
    qtbot.waitUntil(lambda: window.last_outcome is not None and
                    window.last_outcome.kind == "grant", timeout=DONE_MS)
    body = window.last_outcome.record["body"]
    assert body["amount"] == 500 and body["staff"] == staff_id(window, "booth")
    assert body["approver"] == staff_id(window, "manager")
    window.modes["shop"].click()


def test_a_void_asks_really_then_a_managers_pin_on_the_same_screen(qtbot, window):
    """The cashier voids a ¥600 sale: "really?" with what it gives back in large type (the
    wallet's part, after the demo's coupons), then the staff bar
    asks a manager's PIN; a wrong one is said, the manager's approves and the void is made,
    naming the cashier and the approving manager."""
    sign_in(qtbot, window, "cashier")
    pay(window, 600)
    assert settle(qtbot, window.shop) == "approved"
    sale, paid = window.last_outcome.tx_id, window.last_outcome.amount  # after coupons
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    window.shop.sales.setCurrentRow(0)
    window.shop.void_button.click()
    assert window.confirm.amount.text() == f"¥{paid:,}"  # what the void gives back
    confirm(window)
    assert settle(qtbot, window.shop) == "refused"
    bar = window.staff_bar
    assert bar.mode == "approve" and "Manager's PIN" in bar.message.text()
    assert [bar.who.itemData(i) for i in range(bar.who.count())] == \
        [staff_id(window, "manager")]  # only managers approve
    bar.pin.setText("9999")
    bar.ok.click()
    qtbot.waitUntil(lambda: "not right" in bar.message.text(), timeout=DONE_MS)
    bar.pin.setText(DEMO_MANAGER_PIN)
    bar.ok.click()
    qtbot.waitUntil(lambda: window.last_outcome.kind == "void", timeout=DONE_MS)
    body = window.last_outcome.record["body"]
    assert body["of"] == sale and body["staff"] == staff_id(window, "cashier")
    assert body["approver"] == staff_id(window, "manager")


def test_escape_answers_really_with_no(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    sign_in(qtbot, window, "manager")
    pay(window, 300)
    assert settle(qtbot, window.shop) == "approved"
    seq = window.bridge.node.journal.last_seq
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    window.shop.sales.setCurrentRow(0)
    window.shop.void_button.click()
    assert window.confirm.isVisible()
    QTest.keyClick(window, Qt.Key.Key_Escape)  # delivered through the scanner's filter
    qtbot.waitUntil(lambda: not window.confirm.isVisible(), timeout=DONE_MS)
    assert window.bridge.node.journal.last_seq == seq  # nothing voided


def test_wrong_pins_lock_the_member(qtbot, window):
    """MAX_STAFF_PIN_TRIES wrong PINs for the booth member: locked, and the right PIN is
    refused too until the lock ends; the cashier is not locked."""
    bar = window.staff_bar
    bar.out.click()
    qtbot.waitUntil(lambda: bar.signed_in is None, timeout=DONE_MS)
    bar.who.setCurrentIndex(bar.who.findData(staff_id(window, "booth")))
    for _ in range(staff_rules.MAX_STAFF_PIN_TRIES):
        bar.message.clear()
        bar.pin.setText("0001")
        bar.ok.click()
        qtbot.waitUntil(lambda: bool(bar.message.text()), timeout=DONE_MS)
    assert "locked" in bar.message.text()
    booth_pin = next(p for _, r, p in DEMO_STAFF if r == "booth")
    bar.message.clear()
    bar.pin.setText(booth_pin)
    bar.ok.click()
    qtbot.waitUntil(lambda: bool(bar.message.text()), timeout=DONE_MS)
    assert bar.signed_in is None and "locked" in bar.message.text()
    sign_in(qtbot, window, "cashier")


def test_the_admin_screen_needs_a_managers_pin_and_locks_itself(qtbot, window):
    sign_in(qtbot, window, "cashier")
    window.modes["admin"].click()
    window.admin.pin.setText(next(p for _, r, p in DEMO_STAFF if r == "cashier"))
    window.admin.unlock_button.click()
    qtbot.waitUntil(lambda: "not right" in window.admin.pin_message.text(), timeout=DONE_MS)
    assert window.admin.admin_panel.isHidden()
    unlock_admin(qtbot, window)
    window.modes["shop"].click()  # left: locked
    assert window.admin.admin_panel.isHidden()
    unlock_admin(qtbot, window)
    assert window.admin.idle_lock.isActive()  # and it locks itself when left idle:
    window.admin.idle_lock.timeout.emit()
    assert window.admin.admin_panel.isHidden() and not window.admin.lookup_row.isVisible()


def test_training_mode_banner_and_training_records(qtbot, window):
    """The manager switches training on: the banner is on every screen, a sale is decided,
    its receipt says 練習, its record is a training record and the balance is untouched."""
    sign_in(qtbot, window, "manager")
    unlock_admin(qtbot, window)
    window.admin.staff_admin.training_button.click()
    qtbot.waitUntil(lambda: window.training_banner.isVisible(), timeout=DONE_MS)
    for mode in ("shop", "booth", "admin"):
        window.modes[mode].click()
        assert window.training_banner.isVisible()
    window.modes["shop"].click()
    pay(window, 700)
    assert settle(qtbot, window.shop) == "approved"
    assert window.last_outcome.record["type"] == "training"
    qtbot.waitUntil(lambda: "練習" in window.shop.result.receipt.text(), timeout=DONE_MS)
    unlock_admin(qtbot, window)
    window.admin.staff_admin.training_button.click()
    qtbot.waitUntil(lambda: not window.training_banner.isVisible(), timeout=DONE_MS)


def test_opening_the_admin_screen_signs_the_manager_in(qtbot, window):
    """The cashier calls the manager, who types the PIN at the admin screen: the manager is
    signed in from then on (what the admin screen does is the manager's)."""
    sign_in(qtbot, window, "cashier")
    unlock_admin(qtbot, window)
    qtbot.waitUntil(lambda: (window.staff_bar.signed_in or {}).get("role") == "manager",
                    timeout=DONE_MS)


def test_leaving_the_admin_screen_gives_the_counter_back(qtbot, window):
    """The manager signed in by the admin screen leaves it (back to the shop screen): the
    cashier who was signed in before is again, with a cashier's rights."""
    sign_in(qtbot, window, "cashier")
    unlock_admin(qtbot, window)
    qtbot.waitUntil(lambda: (window.staff_bar.signed_in or {}).get("role") == "manager",
                    timeout=DONE_MS)
    window.modes["shop"].click()
    qtbot.waitUntil(lambda: (window.staff_bar.signed_in or {}).get("role") == "cashier",
                    timeout=DONE_MS)
    assert window.bridge.node.counter.staff.current().role == "cashier"


def test_a_manager_adds_a_cashier_at_the_counter(qtbot, window):
    """A shop without ledger access: the manager adds 花子 (cashier, PIN 5550) on the admin
    screen; she can sign in at once, and a `staff` record carries her (PIN hashed) to the
    ledger."""
    unlock_admin(qtbot, window)
    admin = window.admin.staff_admin
    admin.name.setText("花子")
    admin.role.setCurrentIndex(admin.role.findData("cashier"))
    admin.pin.setText("5550")
    admin.add_button.click()
    bar = window.staff_bar
    qtbot.waitUntil(lambda: any(m["name"] == "花子" for m in bar.staff), timeout=DONE_MS)
    made = window.bridge.node.journal.recent("staff", 1)
    assert made  # the signed record, on its way to the ledger
    record = window.bridge.node.journal.record_by_tx(made[0]["tx_id"])
    assert record["body"]["member"]["name"] == "花子" and "5550" not in str(record)
    hanako = next(m["staff"] for m in bar.staff if m["name"] == "花子")
    bar.out.click()
    qtbot.waitUntil(lambda: bar.signed_in is None, timeout=DONE_MS)
    bar.who.setCurrentIndex(bar.who.findData(hanako))
    bar.pin.setText("5550")
    bar.ok.click()
    qtbot.waitUntil(lambda: (bar.signed_in or {}).get("staff") == hanako, timeout=DONE_MS)


def test_a_lapsed_sign_in_is_shown_without_waiting_for_a_sale(qtbot, window):
    """The shop's idle time passes (the core's clock moved on past staff_idle_s): the next
    check says so in the bar, which asks for a PIN again."""
    sign_in(qtbot, window, "cashier")
    desk = window.bridge.node.counter.staff
    idle = desk.config["staff_idle_s"]
    was = desk.now
    desk.now = lambda: was() + idle + 1
    try:
        window.staff.check.timeout.emit()
        qtbot.waitUntil(lambda: window.staff_bar.signed_in is None, timeout=DONE_MS)
        assert window.staff_bar.pin.isVisible()
    finally:
        desk.now = was
