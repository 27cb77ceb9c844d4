"""The snapshot page's row check (sync.client.snapshot_page_problem): every field the
terminal's state store reads is there and of its type, or the page is refused with the
row named. (The real ledger's pages pass it in tests/terminal/test_node_status.py and
every sync test.)"""

from __future__ import annotations

import copy

import pytest

from sync import pins
from sync.client import card_row_problem, snapshot_page_problem, wallet_row_problem

PIN = pins.make("4321")
PAGE = {
    "cursor": "abc", "more": False, "basis_seq": 0, "server_time_ms": 1_790_000_000_000,
    "wallets": [{"wallet": "W-1", "status": "active", "version": 3, "debt": 0, "usage": {},
                 "lots": [{"lot": "L-1", "pocket": "charged", "remaining": 5_000,
                           "expires": None, "classes": ["small"], "campaign": "c1"}]}],
    "cards": [{"card": "1234", "wallet": "W-1", "status": "active", "nfc_uid": None,
               "version": 1, "pin": PIN}],
    "campaigns": [{"id": "c1", "kind": "coupon"}],
    "merchant": {"merchant_id": "M-1"},
    "staff": [{"staff_id": "S-1", "name": "山田", "role": "manager", "pin": PIN}],
    "ledger_keys": [],
}


def broken(path: tuple, value: object) -> dict:
    """PAGE with the field at `path` set to `value` (or removed, for `...`)."""
    page = copy.deepcopy(PAGE)
    where: object = page
    for step in path[:-1]:
        where = where[step]  # type: ignore[index]
    if value is ...:
        del where[path[-1]]  # type: ignore[attr-defined]
    else:
        where[path[-1]] = value  # type: ignore[index]
    return page


def test_a_good_page_passes():
    assert snapshot_page_problem(copy.deepcopy(PAGE)) is None


@pytest.mark.parametrize(("path", "value", "said"), [
    (("cursor",), ..., "the page has no 'cursor'"),
    (("server_time_ms",), "soon", "the page has a malformed 'server_time_ms'"),
    (("more",), "yes", "the page has a malformed 'more'"),
    (("wallets",), {}, "the page has a malformed 'wallets'"),
    (("wallets", 0), "W-1", "wallets[0] is not an object"),
    (("wallets", 0, "wallet"), ..., "wallets[0] has no 'wallet'"),
    (("wallets", 0, "version"), 3.0, "wallets[0] has a malformed 'version'"),
    (("wallets", 0, "debt"), True, "wallets[0] has a malformed 'debt'"),
    (("wallets", 0, "usage"), [], "wallets[0] has a malformed 'usage'"),
    (("wallets", 0, "lots", 0, "remaining"), "5000", "wallets[0].lots[0] has a malformed "
                                                     "'remaining'"),
    (("wallets", 0, "lots", 0, "classes"), [1], "wallets[0].lots[0] has a malformed "
                                               "'classes'"),
    (("wallets", 0, "lots", 0, "lot"), ..., "wallets[0].lots[0] has no 'lot'"),
    (("cards", 0, "card"), ..., "cards[0] has no 'card'"),
    (("cards", 0, "pin"), {"hash": "00"}, "cards[0] has a malformed 'pin'"),
    (("cards", 0, "nfc_uid"), 7, "cards[0] has a malformed 'nfc_uid'"),
    (("campaigns", 0, "id"), ..., "campaigns[0] has no 'id'"),
    (("campaigns", 0), None, "campaigns[0] is not an object"),
    (("staff", 0, "pin"), "4321", "staff[0] has a malformed 'pin'"),
])
def test_a_bad_row_is_named(path, value, said):
    assert snapshot_page_problem(broken(path, value)) == said


def test_optional_fields_may_be_absent_or_null():
    page = broken(("cards", 0, "pin"), ...)
    page["wallets"][0]["usage"] = None
    del page["wallets"][0]["lots"][0]["campaign"]
    del page["staff"], page["merchant"], page["more"]
    assert snapshot_page_problem(page) is None


def test_the_online_checks_wallet_and_card_are_checked_the_same_way():
    """The online check's fresh wallet and card are stored as one-row snapshot pages
    (terminal.state.apply_wallet_view, apply_card): the same check, by name."""
    wallet = {**copy.deepcopy(PAGE["wallets"][0]), "pockets": {}, "total": 5_000}
    assert wallet_row_problem(wallet) is None
    del wallet["lots"][0]["pocket"]
    assert wallet_row_problem(wallet) == "the wallet.lots[0] has no 'pocket'"
    card = copy.deepcopy(PAGE["cards"][0])
    assert card_row_problem(card) is None
    card["version"] = "1"
    assert card_row_problem(card) == "the card has a malformed 'version'"
