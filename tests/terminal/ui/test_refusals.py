"""More refusal reasons as the cashier meets them, through the counter window (offscreen) on
the real demo: each case drives the flow that leads to one reason, the way a cashier, a
customer or the town office would, and checks the panel says it in words (the policy's
English template, formatted). test_refusal_reasons covers the everyday ones (a mistyped or
unknown card, past the balance or the cap, a refund beyond the sale, a replayed phone code,
the campaigns' limits, offline one payment); these are the rest a counter can meet: amounts
past the typo guards, a void after a partial refund, card PINs, forged and stale codes, a
card reported lost, the offline limits of an app and of a wallet, gift codes of unknown or
ended campaigns, a campaign's stock run out, and a wallet the ledger suspended.

Where the town office acts (a card blocked, a campaign created, a balance moved), the test
runs the ledger's own admin command on the demo ledger, as the office would."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import struct
import subprocess
import sys
import time
from contextlib import closing

import pytest
from PySide6.QtCore import Qt

from sync import cards, giftcodes, pins, tokens
from sync.refwallet import ReferenceWallet
from terminal.demo import ROOT, DemoRegion
from terminal.journal import DB_FILE
from terminal.policy import MAX_EXCHANGE_STEPS, MAX_TRANSACTION_YEN, REASONS
from terminal.ui.window import MainWindow
from tests.terminal.ui.helpers import (
    DONE_MS,
    READY_MS,
    choose,
    confirm,
    demo,
    issued,
    settle,
    sign_in,
    type_amount,
    unlock_admin,
)

CLI_TIMEOUT_S = 120
EXCHANGE = "苫前 ポイント交換"


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-refusals")


# --- helpers ---------------------------------------------------------------------------------


def card_from_end(win, n: int) -> str:
    """Demo cards counted from the end, one (or two) per test: none is used twice here."""
    return demo(win, "card")[-1 - n]


def phone_from_end(win, n: int) -> str:
    return demo(win, "phone")[-1 - n]


def said(screen) -> str:
    return screen.result.headline.text() + "\n" + screen.result.detail.text()


def reason(code: str, **details) -> str:
    return REASONS[code].format(**details)


def refused(qtbot, screen, words: str) -> None:
    """The screen settles on a refusal that says `words` (and says it is not accepted)."""
    assert settle(qtbot, screen) == "refused", said(screen)
    assert screen.result.headline.text() == "✘ Not accepted"
    assert words in said(screen), said(screen)


def pay(win, kind: str, value: str, amount: int) -> None:
    type_amount(win, win.shop, amount)
    win.shop.buttons["pay"].click()
    win.present(kind, value)


def wallet_of(win, number: str) -> str:
    found = win.bridge.node.state.card(cards.normalize(number))
    assert found is not None, number
    return found[0]


def balance_of(qtbot, win, number: str) -> int:
    """The card's value, by a balance look-up at the booth."""
    win.modes["booth"].click()
    win.booth.buttons["balance"].click()
    win.present("card", number)
    assert settle(qtbot, win.booth) == "approved"
    return int(win.booth.result.balance.text().lstrip("¥").replace(",", ""))


def office(base, action: str, *args: str) -> str:
    """The town office at work: `python -m ledger admin ...` on the demo's ledger."""
    region = DemoRegion(base)  # only for where its ledger lives
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "admin", action, "--db", region.db_url, "--home",
         str(region.ledger_home), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_campaign(base, tmp_path, rules: dict) -> None:
    path = tmp_path / f"{rules['id']}.json"
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    office(base, "create-campaign", "--file", str(path))


def gift_code_of(base, campaign_id: str) -> str:
    return office(base, "create-gift-codes", "--campaign", campaign_id, "--count", "1").strip()


def sync_now(qtbot, win) -> None:
    """Admin screen: unlock, then "Sync now" (push, and pull the snapshot)."""
    unlock_admin(qtbot, win)
    assert not win.admin.admin_panel.isHidden()
    win.admin.buttons["sync"].click()


def gift_rules(campaign_id: str, starts: str, ends: str) -> dict:
    return {"id": campaign_id, "kind": "gift_code", "name": f"ギフト {campaign_id}",
            "starts": starts, "ends": ends, "funder": "town-office", "value": 2_000,
            "pocket": "premium_common", "expires": ends}


def live_code(qtbot, win, wallet: str) -> str:
    """A demo phone's live code, as the window received it (it asks the balance with it)."""
    shown: list[str] = []
    win.phone_code.connect(shown.append)
    win.demo_phone(wallet)
    assert settle(qtbot, win.shop) == "approved"
    qtbot.waitUntil(lambda: bool(shown), timeout=DONE_MS)
    return shown[-1]


def token_text(cert: tokens.Certificate, issued_at: int, counter: int, signature: bytes) -> str:
    return tokens.TOKEN_PREFIX + tokens.b45encode(
        cert.to_bytes() + struct.pack(">II", issued_at, counter) + signature)


# --- at the counter --------------------------------------------------------------------------


def test_amounts_past_the_typo_guards(qtbot, window):
    """The keypad takes seven digits; a sale is at most ¥1,000,000 and an exchange at most
    100 steps at once."""
    pay(window, "card", card_from_end(window, 0), MAX_TRANSACTION_YEN + 1)
    refused(qtbot, window.shop, reason("bad_amount", max=MAX_TRANSACTION_YEN))
    window.modes["booth"].click()
    type_amount(window, window.booth, MAX_EXCHANGE_STEPS + 1)  # how many exchanges at once
    choose(qtbot, window, EXCHANGE)
    assert f"× {MAX_EXCHANGE_STEPS + 1}:" in window.booth.result.headline.text()
    window.present("card", card_from_end(window, 0))
    refused(qtbot, window.booth, reason("bad_steps", max=MAX_EXCHANGE_STEPS))


def test_a_sale_partly_refunded_cannot_be_voided(qtbot, window):
    pay(window, "card", card_from_end(window, 1), 800)
    assert settle(qtbot, window.shop) == "approved"
    sale = window.last_outcome

    def open_the_sale() -> None:
        window.shop.buttons["refunds"].click()
        qtbot.waitUntil(lambda: window.shop.result.property("state") == "waiting" and
                        window.shop.sales.isVisible() and window.shop.sales.count() > 0,
                        timeout=DONE_MS)
        window.shop.sales.setCurrentRow(0)
        assert window.shop.sales.currentItem().text().startswith(f"No.{sale.seq} ")

    open_the_sale()
    type_amount(window, window.shop, 100)
    window.shop.refund_button.click()
    confirm(window)
    assert settle(qtbot, window.shop) == "approved"
    open_the_sale()
    window.shop.void_button.click()
    confirm(window)
    refused(qtbot, window.shop, reason("not_refundable",
                                       detail="part of it was refunded already"))


def test_a_gift_code_cannot_pay_for_excluded_goods_only(qtbot, window):
    type_amount(window, window.shop, 500)
    window.shop.buttons["excluded"].click()  # ¥500 of tobacco...
    pay(window, "gift", demo(window, "gift")[0], 500)  # ...and nothing else
    refused(qtbot, window.shop, reason("gift_excluded_only"))


def test_esc_drops_excluded_goods_so_the_next_customer_starts_clean(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DONE_MS)  # keys need the focus
    type_amount(window, window.shop, 600)
    window.shop.buttons["excluded"].click()
    assert window.shop.excluded == 600
    type_amount(window, window.shop, 1_000)
    window.shop.buttons["pay"].click()
    assert window.pending() is not None
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # the customer pays another way
    qtbot.waitUntil(lambda: window.pending() is None, timeout=DONE_MS)
    assert window.shop.excluded == 0
    type_amount(window, window.shop, 300)
    window.shop.buttons["excluded"].click()  # set, and no sale follows
    assert window.shop.excluded == 300
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.shop.excluded == 0, timeout=DONE_MS)
    assert said(window.shop).startswith("Cancelled.")


def test_altered_gift_codes_are_refused_and_the_real_one_still_pays(qtbot, window):
    code = demo(window, "gift")[1]
    real = giftcodes.parse(code)
    raised = dataclasses.replace(real, value=real.value * 10).text()  # its value changed
    pay(window, "gift", raised, 500)
    refused(qtbot, window.shop, reason("gift_forged"))
    elsewhere = dataclasses.replace(real, ledger_kid_prefix=bytes(4)).text()  # another ledger
    pay(window, "gift", elsewhere, 500)
    refused(qtbot, window.shop, reason("gift_unknown_key"))
    pay(window, "gift", code, 500)
    assert settle(qtbot, window.shop) == "approved"


def test_card_pins_too_short_then_locked_after_three_wrong(qtbot, window):
    number = issued(cards.new_card_number())
    window.modes["booth"].click()
    window.booth.buttons["card"].click()
    window.booth.new_pin.setText("12")
    window.present_text(number)
    refused(qtbot, window.booth, reason(
        "bad_pin", detail=f"a PIN is {pins.PIN_MIN_DIGITS} to {pins.PIN_MAX_DIGITS} digits"))
    window.booth.buttons["card"].click()  # the card was not issued: again, a good PIN
    window.booth.new_pin.setText("4826")
    window.present_text(number)
    assert settle(qtbot, window.booth) == "approved"
    type_amount(window, window.booth, 10_000)
    window.booth.buttons["charge"].click()
    window.present_text(number)
    assert settle(qtbot, window.booth) == "approved"
    window.modes["shop"].click()
    pay(window, "card", number, 4_000)  # above ¥3,000: the PIN is asked
    for left in range(pins.MAX_PIN_TRIES - 1, -1, -1):
        qtbot.waitUntil(lambda: window.shop.pin_box.isVisible(), timeout=DONE_MS)
        window.shop.pin_entry.setText("1111")
        window.shop.pin_button.click()
        if left:
            qtbot.waitUntil(lambda left=left: window.shop.pin_box.isVisible() and
                            reason("pin_wrong", left=left) in said(window.shop),
                            timeout=DONE_MS)
    refused(qtbot, window.shop, reason("pin_locked"))
    assert not window.shop.pin_box.isVisible()
    pay(window, "card", number, 4_000)  # locked: not even asked any more
    refused(qtbot, window.shop, reason("pin_locked"))


def test_codes_that_are_not_a_live_phone_code(qtbot, window):
    wallet = phone_from_end(window, 0)
    text = live_code(qtbot, window, wallet)
    token = tokens.parse_token(text)
    cert = token.cert
    altered = {
        # half of it read by the camera
        "malformed": text[:64],
        # a certificate of some other ledger
        "unknown_ledger_key": token_text(dataclasses.replace(cert, ledger_kid_prefix=bytes(4)),
                                         token.issued_at, token.counter, token.signature),
        # an app that raised its own offline limit
        "bad_certificate": token_text(dataclasses.replace(cert, offline_limit=1_000_000),
                                      token.issued_at, token.counter, token.signature),
        # the certificate copied onto a code its phone did not sign
        "bad_device_signature": token_text(cert, token.issued_at, token.counter + 100,
                                           token.signature),
        # a screenshot from two minutes ago, made by the phone itself
        "stale": ReferenceWallet(window.bridge.demo.base / "phones" / wallet).token(
            issued_at=int(time.time()) - 2 * tokens.FRESH_WINDOW_S),
    }
    for code, shown in altered.items():
        type_amount(window, window.shop, 200)
        window.shop.buttons["pay"].click()
        window.present_text(shown)  # as scanned
        refused(qtbot, window.shop, reason(code))


def test_a_card_reported_lost_is_refused_after_the_next_sync(qtbot, window, demo_base):
    number = card_from_end(window, 2)
    blocked = json.loads(office(demo_base, "block-card", "--card", number))
    assert blocked["status"] == "blocked"
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: window.bridge.node.state.card(number)[1] == "blocked",
                    timeout=DONE_MS)
    window.modes["shop"].click()
    pay(window, "card", number, 500)
    refused(qtbot, window.shop, reason("card_blocked"))


# --- offline ---------------------------------------------------------------------------------


def test_offline_an_app_spends_at_most_its_certificate_limit(qtbot, window):
    wallet = phone_from_end(window, 1)
    shown: list[str] = []
    window.phone_code.connect(shown.append)
    window.bridge.demo.stop()
    type_amount(window, window.shop, 9_000)  # within one offline payment, past the app's
    window.shop.buttons["pay"].click()
    window.demo_phone(wallet)  # the phone shows its live code
    assert settle(qtbot, window.shop) == "refused", said(window.shop)
    limit = tokens.parse_token(shown[-1]).cert.offline_limit
    refused(qtbot, window.shop, reason("over_app_limit", limit=limit, left=limit))


def test_offline_a_wallet_spends_at_most_its_limit_until_the_next_sync(qtbot, window):
    number = card_from_end(window, 3)
    limits = window.bridge.node.state.merchant()["config"]
    cap, per_wallet = limits["wallet_balance_cap"], limits["max_offline_per_wallet"]
    # enough on the card for the offline payments below (a charge bonus may add ¥2,000)
    top_up = cap - 2_000 - balance_of(qtbot, window, number)
    type_amount(window, window.booth, top_up)
    window.booth.buttons["charge"].click()
    window.present("card", number)
    assert settle(qtbot, window.booth) == "approved"
    window.bridge.demo.stop()
    window.modes["shop"].click()
    spent = 0
    for _ in range(per_wallet // limits["max_offline_payment"] + 2):
        pay(window, "card", number, limits["max_offline_payment"])
        if settle(qtbot, window.shop) == "refused":
            break
        assert window.last_outcome.decision == "offline"
        spent += window.last_outcome.amount  # what the wallet paid, after any coupon
    refused(qtbot, window.shop, reason("over_offline_wallet", limit=per_wallet,
                                       left=per_wallet - spent))
    assert spent > per_wallet - limits["max_offline_payment"]


# --- what the town office does ---------------------------------------------------------------


def test_gift_codes_of_an_ended_campaign_and_of_one_not_heard_of_yet(qtbot, window,
                                                                      demo_base, tmp_path):
    new_campaign(demo_base, tmp_path, gift_rules("last-year-gift", "2025-01-01", "2025-03-31"))
    code = gift_code_of(demo_base, "last-year-gift")
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: any(rule["id"] == "last-year-gift"
                                for rule in window.bridge.node.state.campaigns()),
                    timeout=DONE_MS)
    window.modes["shop"].click()
    pay(window, "gift", code, 1_000)
    refused(qtbot, window.shop, reason("gift_expired"))
    window.bridge.demo.stop()  # offline: this terminal will not hear of the next one for now
    new_campaign(demo_base, tmp_path, gift_rules("spring-gift", "2026-01-01", "2099-12-31"))
    pay(window, "gift", gift_code_of(demo_base, "spring-gift"), 1_000)
    refused(qtbot, window.shop, reason("gift_unknown_campaign"))


def test_a_campaign_whose_stock_ran_out(qtbot, window, demo_base, tmp_path):
    name = "記念ポイント"
    new_campaign(demo_base, tmp_path, {
        "id": "one-only", "kind": "point_grant", "name": name, "starts": "2026-01-01",
        "ends": "2099-12-31", "funder": "town-office", "points": 100, "quantity": 1})
    sync_now(qtbot, window)
    journal = window.bridge.demo.terminal_dir / DB_FILE

    def leased() -> bool:  # the one unit lent to this terminal, kept in its journal
        with closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM leases WHERE campaign = 'one-only'"
                                ).fetchone()[0] > 0

    qtbot.waitUntil(leased, timeout=DONE_MS)
    window.modes["booth"].click()  # the booth asks for today's campaigns again
    qtbot.waitUntil(lambda: any(rule["id"] == "one-only"
                                for rule in window.offers.get("point_grant", [])),
                    timeout=DONE_MS)
    choose(qtbot, window, f"{name}: grant 100 pt")
    window.present("card", card_from_end(window, 4))
    assert settle(qtbot, window.booth) == "approved"
    choose(qtbot, window, f"{name}: grant 100 pt")
    window.present("card", card_from_end(window, 5))
    refused(qtbot, window.booth, reason("sold_out", name=name))


def test_a_wallet_spent_offline_after_its_balance_moved_is_suspended(qtbot, window,
                                                                     demo_base):
    """The office moved a card's balance to another wallet while this terminal was offline;
    the card paid here offline all the same. At the next start the sale reaches the ledger,
    which finds the wallet overdrawn and suspends it: the card is refused from then on."""
    number = card_from_end(window, 6)
    wallet = wallet_of(window, number)
    window.bridge.demo.stop()
    office(demo_base, "move-balance", "--from", wallet, "--to",
           wallet_of(window, card_from_end(window, 7)))
    pay(window, "card", number, 500)
    assert settle(qtbot, window.shop) == "approved"
    assert window.last_outcome.decision == "offline"
    window.close()  # the counter is switched off, and on again the next morning
    again = MainWindow(demo_base / "terminal", demo_base)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: bool(again.info) and bool(again.offers), timeout=READY_MS)
    assert again.bridge.node.state.wallet(wallet).status == "denied"
    sign_in(qtbot, again, "cashier")  # switched on again: nobody is signed in
    pay(again, "card", number, 500)
    # the template's words around its detail (the terminal knows the status, not the why)
    before, after = REASONS["denied"].split("{detail}")
    refused(qtbot, again.shop, before)
    assert after in said(again.shop)
