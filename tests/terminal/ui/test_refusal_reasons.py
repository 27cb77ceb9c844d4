"""Refusal reasons as the cashier meets them, through the counter window (offscreen) on the
real demo: each case drives the flow that leads to one reason and checks the panel says it
in words (the policy's English template). The reasons not here are tested elsewhere: the
PIN ones in test_window, gift codes used twice in test_campaigns_ui, what is no credential
and a wallet unknown to the admin's look-up in test_credentials_ui, and every reason at the
service level in tests/terminal."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from sync import cards
from terminal.policy import REASONS
from tests.terminal.ui.helpers import (
    DONE_MS,
    choose,
    confirm,
    demo,
    points_of,
    settle,
    type_amount,
)

EXCHANGE_POINTS = 1_000


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-refusal-reasons")


def card_from_end(win, n: int) -> str:
    """Demo cards counted from the end: the other modules take theirs from the front."""
    return demo(win, "card")[-1 - n]


def said(win, screen) -> str:
    return screen.result.headline.text() + "\n" + screen.result.detail.text()


def words_of(code: str) -> str:
    """The fixed words of a reason's template (up to its first placeholder)."""
    return re.split(r"\{", REASONS[code])[0].strip()


def pay(win, kind: str, value: str, amount: int) -> None:
    type_amount(win, win.shop, amount)
    win.shop.buttons["pay"].click()
    win.present(kind, value)


def mistyped_card(win):
    number = card_from_end(win, 0)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    pay(win, "card", wrong, 500)


def unknown_card(win):
    pay(win, "card", cards.new_card_number(), 500)


def a_wallet_id(win):
    win.present_text("W-NOBODY-HERE")  # scanned with no action: the balance, refused


def more_than_the_balance(win):
    pay(win, "card", card_from_end(win, 1), 60_000)  # online: no offline limit, past the cap


def top_up_past_the_cap(win):
    win.modes["booth"].click()
    type_amount(win, win.booth, 49_000)
    win.booth.buttons["charge"].click()
    win.present("card", card_from_end(win, 2))


def card_already_in_use(win):
    win.modes["booth"].click()
    win.booth.buttons["card"].click()
    win.present("card", card_from_end(win, 3))


def malformed_gift_code(win):
    pay(win, "gift", "MG1:THIS IS NOT A CODE", 500)


CASES = [
    ("bad_credential", mistyped_card, "shop"),
    ("unknown_card", unknown_card, "shop"),
    ("scan_wallet_id", a_wallet_id, "shop"),
    ("insufficient", more_than_the_balance, "shop"),
    ("over_cap", top_up_past_the_cap, "booth"),
    ("card_exists", card_already_in_use, "booth"),
    ("gift_malformed", malformed_gift_code, "shop"),
]


@pytest.mark.parametrize("code, drive, where", CASES, ids=[c[0] for c in CASES])
def test_each_reason_is_said_in_words(qtbot, window, code, drive, where):
    drive(window)
    screen = getattr(window, where)
    assert settle(qtbot, screen) == "refused"
    assert words_of(code) in said(window, screen)


def test_a_refund_beyond_what_is_left(qtbot, window):
    pay(window, "card", card_from_end(window, 4), 500)
    assert settle(qtbot, window.shop) == "approved"
    paid = window.last_outcome.amount
    window.shop.buttons["refunds"].click()
    qtbot.waitUntil(lambda: window.shop.sales.count() > 0, timeout=DONE_MS)
    window.shop.sales.setCurrentRow(0)
    type_amount(window, window.shop, paid + 100)
    window.shop.refund_button.click()
    confirm(window)
    assert settle(qtbot, window.shop) == "refused"
    assert REASONS["over_refund"].format(left=paid) in said(window, window.shop)


def test_a_phone_code_shown_twice_is_a_replay(qtbot, window):
    shown: list[str] = []
    window.phone_code.connect(shown.append)
    phone = next(window.demo_list.item(r) for r in range(window.demo_list.count())
                 if window.demo_list.item(r).data(Qt.ItemDataRole.UserRole)[0] == "phone")
    type_amount(window, window.shop, 200)
    window.shop.buttons["pay"].click()
    window._demo_present(phone)
    assert settle(qtbot, window.shop) == "approved"
    assert shown
    pay(window, "app", shown[-1], 200)  # the same code again: a screenshot, say
    assert settle(qtbot, window.shop) == "refused"
    assert words_of("replayed") in said(window, window.shop)


def test_campaign_refusals(qtbot, window):
    """The bus points twice a month, rides with none left, points short of an exchange."""
    who = card_from_end(window, 5)
    window.modes["booth"].click()
    for _ in range(2):
        choose(qtbot, window, "バス乗車ポイント: grant 200 pt")
        window.present("card", who)
        assert settle(qtbot, window.booth) == "approved"
    choose(qtbot, window, "バス乗車ポイント: grant 200 pt")
    window.present("card", who)
    assert settle(qtbot, window.booth) == "refused"
    assert REASONS["campaign_limit"].format(name="バス乗車ポイント") in \
        said(window, window.booth)
    window.modes["shop"].click()
    window.shop.buttons["ride"].click()
    window.present("card", who)
    assert settle(qtbot, window.shop) == "refused"
    assert REASONS["no_tickets"] in said(window, window.shop)
    poor = next(c for c in demo(window, "card")[-12:-6]
                if points_of(qtbot, window, c) < EXCHANGE_POINTS)
    choose(qtbot, window, "苫前 ポイント交換")
    window.present("card", poor)
    assert settle(qtbot, window.booth) == "refused"
    assert words_of("not_enough_points") in said(window, window.booth)


def test_offline_one_payment_is_limited(qtbot, window):
    window.bridge.demo.stop()
    limit = window.bridge.node.state.merchant()["config"]["max_offline_payment"]
    # twice the limit: what the wallet pays is still past it after any coupon or stamp
    pay(window, "card", card_from_end(window, 6), 2 * limit)
    assert settle(qtbot, window.shop) == "refused", said(window, window.shop)
    assert REASONS["over_offline_payment"].format(limit=limit) in said(window, window.shop)
