"""Card PINs at the ledger, on both engines: a booth's card_issue record brings the PIN's
salted hash, the admin sets or clears one (read from standard input, never an argument),
and snapshots carry it to every terminal; malformed PINs are refused with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import service
from ledger.db import Database
from ledger.schema import migrate
from ledger.service import LedgerError
from sync import bodies, cards, pins
from tests.ledger.test_ingest import Region

ROOT = Path(__file__).resolve().parents[2]


def snapshot_card(db, terminal_id: str, card: str) -> dict:
    snap = service.snapshot(db, terminal_id, None, overlap_us=0)
    return next(c for c in snap["cards"] if c["card"] == card)


def test_a_card_issued_at_a_booth_with_a_pin_reaches_every_terminal(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    booth, shop = region.terminal("M-BOOTH"), region.terminal()
    number = cards.new_card_number()
    stored = pins.make("4711", 2_000)
    booth.append("card_issue", {"card": number, "wallet": "W-NEW", "new_wallet": True,
                                "pin": stored})
    assert region.push(booth)["acked_seq"] == booth.last_seq
    sent = snapshot_card(ledger_db, shop.terminal_id, number)
    assert sent["pin"] == stored and pins.matches("4711", sent["pin"])
    region.assert_consistent()


def test_the_admin_sets_changes_and_clears_a_pin(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    shop = region.terminal()
    number = service.create_card(ledger_db, "W-1", pin="1357", pin_above=0)
    assert snapshot_card(ledger_db, shop.terminal_id, number)["pin"]["above"] == 0
    before = snapshot_card(ledger_db, shop.terminal_id, number)
    assert service.set_card_pin(ledger_db, number, "2468", 5_000) == \
        {"card": number, "pin": True, "above": 5_000}
    after = snapshot_card(ledger_db, shop.terminal_id, number)
    assert after["version"] > before["version"] and pins.matches("2468", after["pin"])
    service.set_card_pin(ledger_db, number, None)
    assert "pin" not in snapshot_card(ledger_db, shop.terminal_id, number)
    with pytest.raises(LedgerError, match="PIN: a PIN is 4 to 6 digits"):
        service.set_card_pin(ledger_db, number, "12")
    with pytest.raises(LedgerError, match="no card"):
        service.set_card_pin(ledger_db, cards.new_card_number(), "1234")


def test_a_malformed_pin_in_a_record_is_refused():
    body = {"card": cards.new_card_number(), "wallet": "W-1", "new_wallet": False,
            "pin": {"salt": "00", "hash": "11", "above": 1}}
    with pytest.raises(bodies.BodyError, match="pin: the PIN's salt is 16 bytes"):
        bodies.check("card_issue", body)
    body["pin"] = "1234"  # the PIN itself never travels
    with pytest.raises(bodies.BodyError, match="pin: a stored PIN is"):
        bodies.check("card_issue", body)


def test_the_pin_is_read_from_standard_input(tmp_path):
    def admin(*args, stdin=""):
        return subprocess.run(
            [sys.executable, "-m", "ledger", "admin", args[0], "--db",
             f"sqlite:///{tmp_path / 'ledger.db'}", "--home", str(tmp_path / "home"),
             *args[1:]], cwd=ROOT, capture_output=True, text=True, input=stdin, timeout=120)

    migrate(Database(f"sqlite:///{tmp_path / 'ledger.db'}"))  # admin never makes one
    wallet = admin("create-wallet", "--kind", "card").stdout.strip()
    made = admin("create-card", "--wallet", wallet, "--pin-stdin", "--pin-above", "1000",
                 stdin="8642\n")
    assert made.returncode == 0, made.stderr
    number = made.stdout.strip()
    changed = admin("set-card-pin", "--card", number, "--pin-stdin", stdin="97531\n")
    assert json.loads(changed.stdout) == {"card": number, "pin": True, "above": 3_000}
    bad = admin("set-card-pin", "--card", number, "--pin-stdin", stdin="12ab\n")
    assert bad.returncode == 1 and "a PIN is 4 to 6 digits" in bad.stderr
    cleared = admin("set-card-pin", "--card", number, "--clear")
    assert json.loads(cleared.stdout) == {"card": number, "pin": False}


def test_a_blocked_cards_pin_hash_is_not_sent(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    shop = region.terminal()
    number = service.create_card(ledger_db, "W-1", pin="1357", pin_above=0)
    assert "pin" in snapshot_card(ledger_db, shop.terminal_id, number)
    service.block_card(ledger_db, number)
    blocked = snapshot_card(ledger_db, shop.terminal_id, number)
    assert blocked["status"] == "blocked" and "pin" not in blocked


def test_a_record_cannot_ask_for_an_expensive_hash():
    stored = pins.make("1234", 0)
    for n, r, p in ((2**20, 8, 1), (2**14, 8, 4), (3000, 8, 1), (2**13, 0, 1), (2**5, 8, 1)):
        body = {"card": cards.new_card_number(), "wallet": "W-1", "new_wallet": False,
                "pin": {**stored, "n": n, "r": r, "p": p}}
        with pytest.raises(bodies.BodyError, match="scrypt parameters"):
            bodies.check("card_issue", body)
