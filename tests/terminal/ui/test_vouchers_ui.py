"""#16.7 at the counter window (offscreen), on the real demo region: the balance look-up shows
each pocket with its expiry and, for voucher value bought before its use period (seed 003's
利用期間), the day it becomes usable; in English and in Japanese."""

from __future__ import annotations

import pytest

from ledger.demo import VOUCHER_ENDS
from terminal.counter import WalletView
from terminal.ui import look as uiapp
from tests.terminal.ui.helpers import choose, demo, settle


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-vouchers")


def test_the_balance_shows_each_pocket_with_its_expiry(qtbot, window):
    """The demo's ここクーポン ① (¥5,000 → ¥3,000 all shops + ¥4,500 small shops, both to
    VOUCHER_ENDS) sold at the booth; the balance look-up of that card lists both parts with
    "until VOUCHER_ENDS", beside the card's charged money (no expiry)."""
    window.modes["booth"].click()
    who = demo(window, "card")[3]
    choose(qtbot, window, "ここクーポン: sell the ¥5,000 set (worth ¥7,500)")
    window.present("card", who)
    assert settle(qtbot, window.booth) == "approved"
    window.booth.buttons["balance"].click()
    window.present("card", who)
    assert settle(qtbot, window.booth) == "approved"
    lines = window.booth.result.detail.text().splitlines()
    assert f"Vouchers (all shops): ¥3,000 (until {VOUCHER_ENDS})" in lines
    assert f"Vouchers (small shops): ¥4,500 (until {VOUCHER_ENDS})" in lines
    assert any(line.startswith("Charged money: ¥") and "until" not in line for line in lines)


def seed_003_view() -> WalletView:
    """A wallet holding a ① bought in the 1次販売 (令和3年12月): ¥3,000 + ¥4,500, usable
    2022-01-08..2022-02-28, and ¥1,200 of charged money."""
    lots = [{"lot": "L-c", "pocket": "premium_common", "remaining": 3_000,
             "expires": "2022-02-28", "usable_from": "2022-01-08",
             "classes": ["small", "large"], "campaign": "koko"},
            {"lot": "L-e", "pocket": "premium_exclusive", "remaining": 4_500,
             "expires": "2022-02-28", "usable_from": "2022-01-08", "classes": ["small"],
             "campaign": "koko"},
            {"lot": "L-m", "pocket": "charged", "remaining": 1_200, "expires": None,
             "classes": ["small", "large"], "campaign": None}]
    return WalletView("W-SEED", "active", "", lots, 0, 0)


def test_voucher_value_not_usable_yet_says_from_when(qtbot, window):
    """The look-up's lines for seed 003's ①, in the counter's order (charged money first,
    then the vouchers), in English and then in Japanese (¥8,700 in all)."""
    window.shop.balance_shown((seed_003_view(), "offline"))
    lines = window.shop.result.detail.text().splitlines()
    assert lines == ["Charged money: ¥1,200",
                     "Vouchers (all shops): ¥3,000 (until 2022-02-28, usable from 2022-01-08)",
                     "Vouchers (small shops): ¥4,500 (until 2022-02-28, usable from "
                     "2022-01-08)"]
    assert window.shop.result.balance.text() == "¥8,700"
    uiapp.set_language("ja")
    try:
        window.shop.balance_shown((seed_003_view(), "offline"))
        text = window.shop.result.detail.text()
        assert "2022-02-28まで" in text and "2022-01-08から利用可" in text
    finally:
        uiapp.set_language("en")
