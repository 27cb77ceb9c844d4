"""Only credentials pay (DESIGN §5, §10), through the counter window (offscreen) on the real
demo: whatever a scanner, the camera or a typist hands the window that is not an app code, a
gift code, a card number or an NFC card (a bare wallet id such as every app code carries in
clear, a web address, other text, an empty read) is refused with its own reason, said in
words in the screen's language, logged as a refusal, and never reaches a wallet: nothing is
written to the journal. A wallet is looked up by its id only on the PIN-locked admin screen,
and only to read it."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtTest import QTest

from sync import tokens
from terminal.policy import REASONS
from terminal.ui import look as uiapp
from tests.terminal.ui.helpers import (
    DONE_MS,
    demo,
    first,
    settle,
    type_amount,
    unlock_admin,
)


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-credentials")


def said(screen) -> str:
    return screen.result.headline.text() + "\n" + screen.result.detail.text()


def live_code(qtbot, win) -> str:
    """A demo phone's live app code, as the phone would show it."""
    shown: list[str] = []
    win.phone_code.connect(shown.append)
    try:
        win.demo_phone(demo(win, "phone")[0], scan=False)  # shown, not scanned
        qtbot.waitUntil(lambda: bool(shown), timeout=DONE_MS)
    finally:
        win.phone_code.disconnect(shown.append)
    return shown[0]


class Watch:
    """The refusal codes the services answer with, the journal's length and the refusal
    log's, from before a scan to after it."""

    def __init__(self, win) -> None:
        self.win = win
        self.codes: list[str] = []
        win.refusal.connect(lambda code, _message: self.codes.append(code))
        self.seq = win.bridge.node.journal.last_seq

    def refused(self, qtbot, screen, code: str) -> None:
        """The screen settles refused with `code`'s words, and nothing was written."""
        assert settle(qtbot, screen) == "refused", said(screen)
        qtbot.waitUntil(lambda: bool(self.codes), timeout=DONE_MS)
        assert self.codes == [code], said(screen)
        assert screen.result.headline.text() == "✘ Not accepted"
        assert REASONS[code] in said(screen)
        node = self.win.bridge.node
        assert node.journal.last_seq == self.seq, "a non-credential reached the journal"
        assert node.state.refusals()[-1][4] == code
        self.codes.clear()


def scan_by_wedge(win, text: str) -> None:
    """`text` typed as a keyboard-wedge scanner types: a fast burst ending in Enter."""
    win.shop.pad.setFocus()
    QTest.keyClicks(win.shop.pad, text)
    QTest.keyClick(win.shop.pad, "\r")


def not_credentials(qtbot, win) -> list[tuple[str, str, str]]:
    """(what it is, the text, the refusal code) for everything that must not pay."""
    phone = demo(win, "phone")[0]
    code = live_code(qtbot, win)
    carried = tokens.parse_token(code).cert.wallet_id  # the wallet id an app code carries
    return [
        ("a demo phone's wallet id", phone, "scan_wallet_id"),
        ("the wallet id out of a live app code", carried, "scan_wallet_id"),
        ("a wallet id typed in lower case", phone.lower(), "scan_wallet_id"),
        ("a wallet id with blanks round it", f"  {phone}\t", "scan_wallet_id"),
        ("a web address", f"https://machi.example/pay?wallet={phone}", "scan_url"),
        ("a web address without its scheme", "www.example.jp/machi", "scan_url"),
        ("random text", "hello world", "scan_unknown"),
        ("an app code without its prefix", code[len(tokens.TOKEN_PREFIX):], "scan_unknown"),
        ("a card-sized text of letters", "ABCD EFGH IJKL MNOP", "scan_unknown"),
        ("far too long", "X" * 5_000, "scan_unknown"),
        ("nothing", "", "scan_empty"),
        ("blanks", " \t\r\n ", "scan_empty"),
        ("control characters", "\x00\x1d\x04", "scan_empty"),
    ]


def test_a_non_credential_never_pays(qtbot, window):
    """Each, scanned while a sale waits for the customer: its own reason, nothing paid."""
    watch = Watch(window)
    for what, text, code in not_credentials(qtbot, window):
        type_amount(window, window.shop, 500)
        window.shop.buttons["pay"].click()
        window.present_text(text)  # the camera's and the readers' path
        try:
            watch.refused(qtbot, window.shop, code)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {exc}") from exc
    # the same through the wedge scanner's key filter
    phone = demo(window, "phone")[0]
    for text, code in ((phone, "scan_wallet_id"), ("http://example.jp/x", "scan_url"),
                       ("NOT-A-CODE-AT-ALL!", "scan_unknown")):
        type_amount(window, window.shop, 500)
        window.shop.buttons["pay"].click()
        scan_by_wedge(window, text)
        watch.refused(qtbot, window.shop, code)
    # a real credential still pays, and is recorded as what it is
    type_amount(window, window.shop, 500)
    window.shop.buttons["pay"].click()
    scan_by_wedge(window, first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    assert window.last_outcome.record["body"]["credential"]["kind"] == "card"


def test_a_wallet_id_reaches_no_wallet_by_any_action(qtbot, window):
    """A scan with no action (the balance), a top-up, a point grant, a ride: all refused."""
    watch = Watch(window)
    phone = demo(window, "phone")[1]
    window.present_text(phone)  # no action chosen: a scan alone asks the balance
    watch.refused(qtbot, window.shop, "scan_wallet_id")
    window.modes["booth"].click()
    for button in ("charge", "grant", "balance"):
        type_amount(window, window.booth, 1_000)
        window.booth.buttons[button].click()
        window.present_text(phone)
        watch.refused(qtbot, window.booth, "scan_wallet_id")


def test_the_reason_is_said_in_japanese(qtbot, window):
    watch = Watch(window)
    try:
        assert uiapp.set_language("ja")
        for text, code in ((demo(window, "phone")[0], "scan_wallet_id"),
                           ("https://example.jp/", "scan_url"), ("hello", "scan_unknown"),
                           ("   ", "scan_empty")):
            type_amount(window, window.shop, 500)
            window.shop.buttons["pay"].click()
            window.present_text(text)
            assert settle(qtbot, window.shop) == "refused"
            japanese = QCoreApplication.translate("Refusal", REASONS[code])
            assert japanese != REASONS[code] and re.search(r"[\u3040-\u30ff]", japanese)
            assert japanese in window.shop.result.detail.text()
            qtbot.waitUntil(lambda code=code: watch.codes == [code], timeout=DONE_MS)
            watch.codes.clear()
        assert window.bridge.node.journal.last_seq == watch.seq
    finally:
        uiapp.set_language("en")


def test_the_admin_looks_a_wallet_up_by_id_and_cannot_pay(qtbot, window):
    phone = demo(window, "phone")[0]
    window.modes["admin"].click()
    assert not window.admin.lookup_row.isVisible()  # locked: no look-up before the admin PIN
    unlock_admin(qtbot, window)
    assert window.admin.lookup_row.isVisible()
    seq = window.bridge.node.journal.last_seq
    window.admin.lookup_id.setText(phone)
    window.admin.lookup_button.click()
    qtbot.waitUntil(lambda: phone in window.admin.lookup_info.text(), timeout=DONE_MS)
    assert "¥" in window.admin.lookup_info.text()
    window.admin.lookup_id.setText("W-NOBODY-HERE")
    window.admin.lookup_button.click()
    qtbot.waitUntil(lambda: REASONS["unknown_wallet"] in window.admin.lookup_info.text(),
                    timeout=DONE_MS)
    window.admin.lookup_id.setText("not an id!")
    window.admin.lookup_button.click()
    qtbot.waitUntil(lambda: REASONS["bad_wallet_id"] in window.admin.lookup_info.text(),
                    timeout=DONE_MS)
    assert window.bridge.node.journal.last_seq == seq  # a look-up writes nothing
    # the look-up is no action a scan can finish: a code scanned here pays nothing
    window.present_text(first(window, "card"))
    QTest.qWait(300)
    assert window.pending() is None and window.bridge.node.journal.last_seq == seq
    window.admin.buttons["lock"].click()
    assert not window.admin.lookup_row.isVisible()
