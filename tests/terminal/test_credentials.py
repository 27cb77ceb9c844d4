"""Only credentials pay (DESIGN §5, §10), at the services: text is told apart by
terminal.credentials, a wallet id never names a payer for any service that moves value, and a
card's PIN and an app's offline limit hold whichever way the wallet is named. Real journal and
state files, no ledger (offline); the window's side is tests/terminal/ui/test_credentials_ui."""

from __future__ import annotations

import pytest

from sync import cards, keys, pins, tokens
from terminal import credentials, simulate
from terminal.counter import CREDENTIAL_KINDS, Presented
from terminal.policy import REASONS, Refused
from tests.terminal.test_campaigns import LEDGER_KEY, Till, cash, wallet

WALLET = "W-BOTH"
UID = "04A1B2C3D4E5F6"
PIN, PIN_ABOVE = "2580", 1_000
APP_LIMIT = 3_000


def refused(call) -> Refused:
    with pytest.raises(Refused) as info:
        call()
    return info.value


@pytest.mark.parametrize("text, code", [
    ("W-DEMO-00001", "scan_wallet_id"),
    ("w-demo-00001", "scan_wallet_id"),
    ("  W-01J9ZQ3K7D8M4N5P6R7S8T9V0W \r\n", "scan_wallet_id"),
    ("https://machi.example/pay?w=W-DEMO-00001", "scan_url"),
    ("HTTP://EXAMPLE.JP", "scan_url"),
    ("machi://pay/W-DEMO-00001", "scan_url"),
    ("www.example.jp", "scan_url"),
    ("hello world", "scan_unknown"),
    ("W-", "scan_unknown"),
    ("W-DEMO 00001", "scan_unknown"),
    ("8123 4567 8901 2345\x00", "scan_unknown"),
    ("MP1" + "A" * 40, "scan_unknown"),
    ("X" * (credentials.MAX_SCAN_CHARS + 1), "scan_unknown"),
    ("", "scan_empty"),
    ("   \t\r\n", "scan_empty"),
    ("\x00\x1d\x04", "scan_empty"),
    (None, "scan_empty"),
])
def test_what_is_not_a_credential_is_refused_with_its_reason(text, code):
    assert refused(lambda: credentials.classify(text)).code == code
    assert code in REASONS


@pytest.mark.parametrize("text, kind", [
    ("MP1:ANYTHING", "app"),  # checked as a token where it is used
    ("MG1:ANYTHING", "gift"),
    ("8123 4567 8901 2346", "card"),
    ("8123-4567-8901-2346", "card"),
    ("1234", "card"),  # meant as a card number: refused there with the reason
])
def test_credentials_are_told_apart(text, kind):
    assert credentials.classify(" " + text + "\n") == (kind, text)


def till_with_card_and_app(tmp_path):
    """A wallet with both a card (with a PIN and an NFC UID) and a phone app."""
    till = Till(tmp_path)
    number = cards.new_card_number()
    till.state.apply_snapshot({
        "cursor": "c", "server_time_ms": int(till.clock().timestamp() * 1000), "campaigns": [],
        "wallets": [wallet([cash(40_000)], wallet_id=WALLET)],
        "cards": [{"card": number, "wallet": WALLET, "status": "active", "version": 1,
                   "nfc_uid": UID, "pin": pins.make(PIN, PIN_ABOVE)}]}, till.journal.last_seq)
    device = keys.generate()
    cert = tokens.issue_certificate(LEDGER_KEY, WALLET, device.public_key(), APP_LIMIT,
                                    int(till.clock().timestamp()) + 3_600)
    counter = iter(range(1, 1_000))

    def app() -> Presented:
        # shown at the till's time: its trusted clock runs on the till's day
        return Presented("app", tokens.make_token(cert, device, next(counter),
                                                  int(till.clock().timestamp())))

    return till, number, app


def test_a_wallet_id_pays_for_nothing(tmp_path):
    """By no name: the old kind "wallet", or as scanned text; no service moves value for it,
    and nothing is written."""
    till, _number, _app = till_with_card_and_app(tmp_path)
    assert "wallet" not in CREDENTIAL_KINDS
    counter, seq = till.counter, till.journal.last_seq
    for who, code in ((Presented("wallet", WALLET), "bad_credential"),
                      (Presented("scan", WALLET), "scan_wallet_id"),
                      (Presented("scan", "https://example.jp/" + WALLET), "scan_url"),
                      (Presented("scan", "pay me"), "scan_unknown"),
                      (Presented("scan", " "), "scan_empty"),
                      (Presented("nfc", WALLET), "unknown_card"),
                      (Presented("card", WALLET), "bad_credential")):
        for service in (lambda w: counter.pay(w, 500), lambda w: counter.charge(w, 500),
                        lambda w: counter.grant(w, 500, "town"), counter.balance,
                        counter.use_ticket):
            assert refused(lambda service=service, who=who: service(who)).code == code, who
    assert till.journal.last_seq == seq
    logged = {row[4] for row in till.state.refusals()}
    assert {"bad_credential", "scan_wallet_id", "scan_url", "scan_unknown", "scan_empty",
            "unknown_card"} <= logged


def test_a_scanned_card_or_app_code_pays_as_itself(tmp_path):
    till, number, app = till_with_card_and_app(tmp_path)
    paid = till.counter.pay(Presented("scan", cards.printed(number)), 500)
    assert paid.record["body"]["credential"]["kind"] == "card"
    paid = till.counter.pay(Presented("scan", app().value), 500)
    assert paid.record["body"]["credential"]["kind"] == "app"
    gift = refused(lambda: till.counter.balance(Presented("scan", "MG1:ANYTHING")))
    assert gift.code == "scan_gift_code"


def test_the_admin_looks_a_wallet_up_by_id_read_only(tmp_path):
    till, _number, _app = till_with_card_and_app(tmp_path)
    seq = till.journal.last_seq
    view, how = till.counter.look_up_wallet(f" {WALLET} ")
    assert (view.wallet_id, view.total, how) == (WALLET, 40_000, "offline")
    assert refused(lambda: till.counter.look_up_wallet("W-NOBODY")).code == "unknown_wallet"
    assert refused(lambda: till.counter.look_up_wallet("not an id")).code == "bad_wallet_id"
    assert till.journal.last_seq == seq


def test_the_pin_is_asked_however_the_card_is_shown(tmp_path):
    till, number, _app = till_with_card_and_app(tmp_path)
    above = PIN_ABOVE + 1
    for who in (Presented("card", number), Presented("card", cards.printed(number)),
                Presented("scan", number), Presented("nfc", UID), Presented("nfc", UID.lower())):
        assert refused(lambda who=who: till.counter.pay(who, above)).code == "pin_required"
    assert till.counter.pay(Presented("nfc", UID), above, pin=PIN).amount == above
    # wrong PINs count against the card whether it was tapped or typed
    assert refused(lambda: till.counter.pay(Presented("nfc", UID), above, pin="0000")) \
        .details == {"left": pins.MAX_PIN_TRIES - 1}
    assert refused(lambda: till.counter.pay(Presented("card", number), above, pin="0000")) \
        .details == {"left": pins.MAX_PIN_TRIES - 2}


def test_the_app_limit_counts_what_the_card_spent_offline(tmp_path):
    """The wallet's card paid offline first: the app may spend only what its certificate's
    limit leaves, and the card's own sales still ask its PIN."""
    till, number, app = till_with_card_and_app(tmp_path)
    till.counter.pay(Presented("card", number), PIN_ABOVE)  # at the card's amount: no PIN
    till.counter.pay(Presented("nfc", UID), PIN_ABOVE)
    over = refused(lambda: till.counter.pay(app(), APP_LIMIT - 2 * PIN_ABOVE + 1))
    assert (over.code, over.details) == ("over_app_limit",
                                         {"limit": APP_LIMIT, "left": APP_LIMIT - 2 * PIN_ABOVE})
    assert till.counter.pay(app(), APP_LIMIT - 2 * PIN_ABOVE).decision == "offline"
    assert refused(lambda: till.counter.pay(app(), 10)).code == "over_app_limit"


def test_the_load_generator_pays_only_with_cards(tmp_path):
    till, number, _app = till_with_card_and_app(tmp_path)
    till.state.apply_snapshot({
        "cursor": "c2", "server_time_ms": int(till.clock().timestamp() * 1000), "campaigns": [],
        "cards": [],
        "wallets": [wallet([cash(5_000)], wallet_id="W-APP-ONLY")]}, till.journal.last_seq)

    class Node:  # what simulate reads of a terminal
        state = till.state

    assert simulate.customers(Node()) == [Presented("card", number)]
