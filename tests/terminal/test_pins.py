"""Card PINs (sync.pins): asked above the card's amount, offline, from the hash the snapshot
or this terminal's own card_issue record carries; wrong PINs counted and the card locked
after `MAX_PIN_TRIES`; a new PIN set at the ledger unlocks it. Real journal and state files."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from sync import keys, pins
from terminal.counter import Counter, Presented
from terminal.policy import Refused
from terminal.state import PinKeyMissing, StateStore
from tests.terminal.test_campaigns import Till, cash, wallet


def card_number() -> str:
    from sync import cards

    return cards.new_card_number()


def till_with_card(tmp_path, stored):
    till = Till(tmp_path)
    number = card_number()
    till.state.apply_snapshot({
        # pulled on the till's day (its records are dated by the till's clock)
        "cursor": "c", "server_time_ms": int(till.clock().timestamp() * 1000), "campaigns": [],
        "wallets": [wallet([cash(20_000)], wallet_id="W-PIN")],
        "cards": [{"card": number, "wallet": "W-PIN", "status": "active", "version": 1,
                   **({"pin": stored} if stored else {})}]}, till.journal.last_seq)
    return till, Presented("card", number)


def refused(call) -> Refused:
    with pytest.raises(Refused) as info:
        call()
    return info.value


def test_a_pin_is_hashed_salted_and_checked():
    stored = pins.make("0426", 5_000)
    assert set(stored) == {"salt", "hash", "above", "n", "r", "p"} and \
        "0426" not in json.dumps(stored)
    assert pins.matches("0426", stored) and not pins.matches("0427", stored)
    assert not pins.matches("04a6", stored) and not pins.matches(None, stored)
    assert pins.make("0426")["hash"] != stored["hash"]  # a fresh salt each time
    for bad in ("123", "1234567", "12 4", "１２３４", 1234):
        with pytest.raises(pins.PinError):
            pins.make(bad)
    with pytest.raises(pins.PinError):
        pins.check_stored({**stored, "hash": "zz"})
    with pytest.raises(pins.PinError):
        pins.make("1234", -1)
    assert not pins.asked(stored, 5_000) and pins.asked(stored, 5_001)
    assert pins.asked(pins.make("1234", 0), 1)


def test_asked_above_the_cards_amount_and_locked_after_three_wrong(tmp_path):
    till, card = till_with_card(tmp_path, pins.make("2580", 3_000))
    assert till.counter.pay(card, 3_000).amount == 3_000  # at the amount: no PIN
    assert refused(lambda: till.counter.pay(card, 3_001)).code == "pin_required"
    first = refused(lambda: till.counter.pay(card, 4_000, pin="1111"))
    assert (first.code, first.details["left"]) == ("pin_wrong", 2)
    assert till.counter.pay(card, 4_000, pin="2580").amount == 4_000  # right: count reset
    for left in (2, 1):
        assert refused(lambda: till.counter.pay(card, 4_000, pin="0000")).details == \
            {"left": left}
    assert refused(lambda: till.counter.pay(card, 4_000, pin="0000")).code == "pin_locked"
    assert refused(lambda: till.counter.pay(card, 4_000, pin="2580")).code == "pin_locked"
    assert till.counter.pay(card, 500).amount == 500  # small sales go on without a PIN
    # Restarting the app gives no fresh tries: the count is kept with the terminal's state.
    till.counter = Counter(till.journal, till.state, today=lambda: till.day)
    assert refused(lambda: till.counter.pay(card, 4_000, pin="2580")).code == "pin_locked"
    # The booth sets a new PIN at the ledger; the next snapshot unlocks the card here.
    till.state.apply_snapshot({
        "cursor": "c2", "server_time_ms": int(till.clock().timestamp() * 1000), "campaigns": [],
        "wallets": [],
        "cards": [{"card": card.value, "wallet": "W-PIN", "status": "active", "version": 2,
                   "pin": pins.make("9999", 3_000)}]}, till.journal.last_seq)
    assert till.counter.pay(card, 4_000, pin="9999").amount == 4_000


def test_a_card_without_a_pin_never_asks(tmp_path):
    till, card = till_with_card(tmp_path, None)
    assert till.counter.pay(card, 9_000).amount == 9_000


def test_a_card_issued_here_with_a_pin_asks_for_it_before_any_sync(tmp_path):
    till = Till(tmp_path)
    till.snapshot()
    number = card_number()
    issued = till.counter.issue_card(number, pin="7351", pin_above=1_000)
    body = issued.record["body"]
    assert pins.check_stored(body["pin"])["above"] == 1_000 and "7351" not in json.dumps(body)
    till.counter.charge(Presented("card", number), 5_000)
    card = Presented("card", number)
    assert refused(lambda: till.counter.pay(card, 2_000)).code == "pin_required"
    assert till.counter.pay(card, 2_000, pin="7351").amount == 2_000
    assert refused(lambda: till.counter.issue_card(card_number(), pin="12")).code == "bad_pin"


def test_a_hash_stored_before_parameters_were_kept_still_verifies():
    salt = bytes(range(pins.SALT_BYTES))
    legacy = {"salt": salt.hex(), "above": 0, "hash": hashlib.scrypt(
        b"8642", salt=salt, n=2**14, r=8, p=1, maxmem=pins.SCRYPT_MAXMEM,
        dklen=pins.HASH_BYTES).hex()}
    assert pins.check_stored(legacy) is legacy
    assert pins.matches("8642", legacy) and not pins.matches("8643", legacy)


def stored_row(till, card) -> dict:
    conn = sqlite3.connect(till.state.path)
    try:
        return json.loads(conn.execute("SELECT pin FROM cards WHERE card_id = ?",
                                       (card.value,)).fetchone()[0])
    finally:
        conn.close()


def test_a_copied_state_db_cannot_test_a_pin(tmp_path):
    stored = pins.make("2580", 0)
    till, card = till_with_card(tmp_path, stored)
    row = stored_row(till, card)
    assert row["hash"] != stored["hash"] and row["salt"] == stored["salt"]
    # Without the terminal's key the right PIN cannot be told from a wrong one.
    with pytest.raises(pins.PinError, match="sealed"):
        pins.matches("2580", row)
    assert not pins.matches("2580", row, pins.seal_key(keys.generate().seed()))
    assert till.counter.pay(card, 100, pin="2580").amount == 100  # the terminal can


def test_pins_an_older_state_db_kept_bare_are_sealed_when_opened(tmp_path):
    till, card = till_with_card(tmp_path, pins.make("2580", 0))
    bare = pins.make("1470", 0)
    conn = sqlite3.connect(till.state.path)
    conn.execute("UPDATE cards SET pin = ? WHERE card_id = ?", (json.dumps(bare), card.value))
    conn.commit()
    conn.close()
    key = till.state.pin_key
    till.state.close()
    till.state = StateStore(till.dir, key)
    assert stored_row(till, card)["hash"] != bare["hash"]
    assert pins.matches("1470", till.state.card_pin(card.value), key)


def test_a_state_store_without_the_key_refuses_pins(tmp_path):
    state = StateStore(tmp_path / "bare")
    with pytest.raises(PinKeyMissing):
        state.apply_snapshot({"cursor": "c", "server_time_ms": 0, "campaigns": [],
                              "wallets": [], "cards": [{"card": card_number(), "wallet": "W",
                                                        "status": "active", "version": 1,
                                                        "pin": pins.make("1234")}]}, 0)
    state.close()
