"""The town's campaigns at the counter window (offscreen), on the real demo region: what each
campaign did is on the result screen and the receipt; the rally's party size and banquet
inputs; a printed gift code pays once; the booth sells voucher sets, grants points and rides,
exchanges points and redeems gift codes; a ride is taken at the shop."""

from __future__ import annotations

import pytest

from tests.terminal.ui.helpers import (
    DONE_MS,
    choose,
    confirm,
    demo,
    points_of,
    settle,
    type_amount,
)

EXCHANGE_POINTS = 1_000  # the demo's exchange: 1,000 pt → ¥1,000 of vouchers


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-campaigns")


def card(win, n: int) -> str:
    """The n-th demo card: each test takes its own, the coupon is once a day a wallet."""
    return demo(win, "card")[n]


def pay(qtbot, win, kind: str, value: str, amount: int) -> str:
    type_amount(win, win.shop, amount)
    win.shop.buttons["pay"].click()
    win.present(kind, value)
    return settle(qtbot, win.shop)


def booth_present(qtbot, win, kind: str, value: str) -> str:
    win.present(kind, value)
    return settle(qtbot, win.booth)


def test_the_result_and_the_receipt_say_what_each_campaign_did(qtbot, window):
    shop = window.shop
    assert window.shop.party_box.isVisible()  # a stamp rally runs: the party size is asked
    assert window.shop.double_button.isVisible() and window.shop.double_button.text() == "Banquet"
    window.shop.party.setValue(2)  # ¥1,300 for two: ¥650 a person, one stamp
    assert pay(qtbot, window, "card", card(window, 0), 1_300) == "approved"
    outcome = window.last_outcome
    kinds = {entry["kind"]: entry for entry in outcome.campaigns}
    assert kinds["threshold_coupon"]["discount"] == 150
    assert kinds["stamp_rally"]["stamps"] == 1 and kinds["stamp_rally"]["people"] == 2
    off = 150 + kinds["stamp_rally"].get("discount", 0)
    assert outcome.price == 1_300 and outcome.amount == 1_300 - off
    assert f"Paid ¥{1_300 - off:,}" in shop.result.headline.text()
    assert f"Goods ¥1,300 → to pay ¥{1_300 - off:,}" in shop.result.detail.text()
    said = shop.result.campaigns.text()
    assert "北斗市 冬のクーポン −¥150" in said
    assert "牧之原 スタンプラリー: 1 stamp(s)" in said
    assert "お買い物ポイント還元 1%" in said  # cash-back on what the wallet paid
    qtbot.waitUntil(lambda: "北斗市 冬のクーポン" in shop.result.receipt.text(),
                    timeout=DONE_MS)
    receipt = shop.result.receipt.text()
    assert "Goods total" in receipt and "-¥150" in receipt and "Campaigns" in receipt
    assert window.shop.party.value() == 1  # the next customer starts from one person
    # the same wallet again today: the coupon is once a day, the screen says why
    assert pay(qtbot, window, "card", card(window, 0), 800) == "approved"
    assert "北斗市 冬のクーポン: this customer has had it as often as the rules allow." in \
        shop.result.notes.text()


def test_a_banquet_earns_two_stamps(qtbot, window):
    window.shop.double_button.click()
    assert window.shop.double_button.isChecked()
    assert pay(qtbot, window, "card", card(window, 1), 700) == "approved"
    assert "牧之原 スタンプラリー: 2 stamp(s)" in window.shop.result.campaigns.text()
    assert not window.shop.double_button.isChecked()


def test_other_diners_cards_are_added_to_a_sale(qtbot, window):
    """「飲食店では1人当たり600円以上の飲食で1スタンプ付与を可」: the cashier adds another
    diner's card (Ctrl+D from the keyboard, then the scan), types ¥1,300 and the payer's
    card: ¥1,300 // 2 = ¥650 a person ≥ ¥600, so the payer's card and the diner's card are
    stamped, each on its own card; the party size follows the diners (2)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    assert window.shop.diner_button.isVisible()
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.pending().action == "diner"
    assert "Other diner" in window.shop.result.headline.text()
    window.present("card", card(window, 9))
    assert window.shop.diners == [("card", card(window, 9))] and window.shop.party.value() == 2
    assert window.shop.diner_button.text() == "Add diner (1)"
    assert pay(qtbot, window, "card", card(window, 6), 1_300) == "approved"
    body = window.last_outcome.record["body"]
    (diner,) = body["diners"]
    assert diner["campaigns"][0]["stamps"] == 1 and diner["credential"]["kind"] == "card"
    assert [entry["kind"] for entry in body["campaigns"]].count("stamp_rally") == 1
    assert "other diner's card" in window.shop.result.campaigns.text()
    assert window.shop.diners == [] and window.shop.diner_button.text() == "Add diner"
    # 「取得したスタンプには店舗名が表示されます」: the diner's balance names the shop
    window.shop.buttons["balance"].click()
    window.present("card", card(window, 9))
    assert settle(qtbot, window.shop) == "approved"
    assert "1 of 3 stamps さくら商店 ×1" in window.shop.result.detail.text()


def test_a_printed_gift_code_pays_once(qtbot, window):
    code = demo(window, "gift")[0]
    assert pay(qtbot, window, "gift", code, 2_000) == "approved"
    result = window.shop.result
    assert result.headline.text() == "✔ Paid ¥2,000 with a gift code"
    assert "No change is given" in result.detail.text()
    assert "Not used (not refunded)" in result.campaigns.text()
    assert pay(qtbot, window, "gift", code, 500) == "refused"
    assert "This gift code has already been used." in result.headline.text() + \
        result.detail.text()


def test_a_gift_code_scanned_without_a_sale_says_what_to_do(qtbot, window):
    window.present("gift", demo(window, "gift")[1])
    assert window.shop.result.property("state") == "refused"
    assert "A gift code pays for a sale" in window.shop.result.headline.text()
    assert window.pending() is None


def test_the_booth_sells_a_voucher_set_once_a_person(qtbot, window):
    window.modes["booth"].click()
    choose(qtbot, window, "ここクーポン: sell the ¥5,000 set (worth ¥7,500)")
    assert booth_present(qtbot, window, "card", card(window, 2)) == "approved"
    said = window.booth.result.campaigns.text()
    assert "ここクーポン ¥5,000 set: all shops ¥3,000 + small shops ¥4,500" in said
    assert window.last_outcome.paid_by == {"premium_common": 3_000, "premium_exclusive": 4_500}
    choose(qtbot, window, "ここクーポン: sell the ¥10,000 set")
    assert booth_present(qtbot, window, "card", card(window, 2)) == "refused"
    assert "ここクーポン: this customer has had it as often as the rules allow." in \
        window.booth.result.headline.text() + window.booth.result.detail.text()


def test_rides_granted_at_the_booth_are_taken_at_the_shop(qtbot, window):
    who = card(window, 3)
    window.modes["booth"].click()
    choose(qtbot, window, "苫前 デマンド交通回数券: grant 10 rides")
    assert booth_present(qtbot, window, "card", who) == "approved"
    assert window.booth.result.headline.text() == "✔ Granted 10 rides"
    window.modes["shop"].click()
    ride = window.shop.buttons["ride"]
    assert ride.isVisible()
    ride.click()
    window.present("card", who)
    assert settle(qtbot, window.shop) == "approved"
    assert window.shop.result.headline.text() == "✔ Ride recorded"
    assert window.shop.result.balance.text() == "9 rides left"
    # a card without rides is refused in words
    ride.click()
    window.present("card", card(window, 4))
    assert settle(qtbot, window.shop) == "refused"
    assert "No rides left" in window.shop.result.headline.text() + \
        window.shop.result.detail.text()


def test_bus_points_then_points_exchanged_for_vouchers(qtbot, window):
    who = card(window, 5)
    before = points_of(qtbot, window, who)
    choose(qtbot, window, "バス乗車ポイント: grant 200 pt")
    assert booth_present(qtbot, window, "card", who) == "approved"
    assert "バス乗車ポイント +200 pt" in window.booth.result.campaigns.text()
    assert points_of(qtbot, window, who) == before + 200
    rich = next(c for c in demo(window, "card")[6:]
                if points_of(qtbot, window, c) >= EXCHANGE_POINTS)
    choose(qtbot, window, "ポイント交換")
    assert booth_present(qtbot, window, "card", rich) == "approved"
    assert window.booth.result.headline.text() == "✔ Exchanged: ¥1,000 added"
    assert "1,000 pt → ¥1,000" in window.booth.result.campaigns.text()


def test_a_gift_code_redeemed_into_a_wallet_at_the_booth(qtbot, window):
    window.modes["booth"].click()
    choose(qtbot, window, "Gift code into a wallet")
    window.present("gift", demo(window, "gift")[2])
    assert window.booth.result.property("state") == "waiting"
    assert "now tap the card" in window.booth.result.headline.text()
    assert booth_present(qtbot, window, "card", card(window, 7)) == "approved"
    assert window.booth.result.headline.text() == "✔ Gift code added: ¥3,000"


def test_a_voided_sale_gives_the_coupon_back(qtbot, window):
    who = card(window, 8)
    assert pay(qtbot, window, "card", who, 1_300) == "approved"
    assert "北斗市 冬のクーポン −¥150" in window.shop.result.campaigns.text()
    sale = window.last_outcome
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    window.shop.sales.setCurrentRow(0)
    assert f"No.{sale.seq} " in window.shop.sales.currentItem().text()
    window.shop.void_button.click()
    confirm(window)
    assert settle(qtbot, window.shop) == "approved"
    assert "北斗市 冬のクーポン: taken back" in window.shop.result.campaigns.text()
    # typed again: the coupon is once a day, and the voided sale no longer counts
    assert pay(qtbot, window, "card", who, 1_300) == "approved"
    assert "北斗市 冬のクーポン −¥150" in window.shop.result.campaigns.text()
