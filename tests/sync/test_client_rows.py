"""The snapshot page's row check, as the terminal makes it once per page where the page
arrives (sync.client.LedgerClient.snapshot calls sync.wire.check_snapshot_page): every field
the terminal's state store reads is there and of its type, or the page is refused with the
row and field named. The node part's own row check, which this replaced, was stricter in
one place, a stored PIN's form (sync.pins.check_stored): that is the wire checker's now.
(The real ledger's pages pass it in tests/ledger/test_wire.py, tests/terminal/
test_node_status.py and every sync test.)"""

from __future__ import annotations

import copy

import pytest

from sync import pins, wire

PIN = pins.make("4321")
PAGE = {
    "cursor": "abc", "more": False, "basis_seq": 0, "server_time_ms": 1_790_000_000_000,
    "wallets": [{"wallet": "W-1", "status": "active", "version": 3, "debt": 0, "usage": {},
                 "lots": [{"lot": "L-1", "pocket": "charged", "remaining": 5_000,
                           "expires": None, "classes": ["small"], "campaign": "c1"}]}],
    "cards": [{"card": "1234", "wallet": "W-1", "status": "active", "nfc_uid": None,
               "version": 1, "pin": PIN}],
    "campaigns": [{"id": "c1", "kind": "threshold_coupon"}],
    "merchant": {"merchant_id": "M-1", "name": "さくら商店", "class": "small"},
    "staff": [{"staff": "S-1", "name": "山田", "role": "manager", "pin": PIN}],
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


def refused_at(page: object) -> str:
    with pytest.raises(wire.WireError) as refused:
        wire.check_snapshot_page(page)
    assert refused.value.code == "bad_answer"
    return refused.value.details["where"]


def test_a_good_page_passes():
    page = copy.deepcopy(PAGE)
    assert wire.check_snapshot_page(page) is page


@pytest.mark.parametrize(("path", "value", "where"), [
    (("cursor",), ..., "snapshot.cursor"),
    (("server_time_ms",), "soon", "snapshot.server_time_ms"),
    (("more",), "yes", "snapshot.more"),
    (("basis_seq",), -1, "snapshot.basis_seq"),
    (("wallets",), {}, "snapshot.wallets"),
    (("wallets", 0), "W-1", "snapshot.wallets[0]"),
    (("wallets", 0, "wallet"), ..., "snapshot.wallets[0].wallet"),
    (("wallets", 0, "version"), 3.0, "snapshot.wallets[0].version"),
    (("wallets", 0, "debt"), True, "snapshot.wallets[0].debt"),
    (("wallets", 0, "usage"), [], "snapshot.wallets[0].usage"),
    (("wallets", 0, "lots", 0, "remaining"), "5000", "snapshot.wallets[0].lots[0].remaining"),
    (("wallets", 0, "lots", 0, "classes"), [1], "snapshot.wallets[0].lots[0].classes"),
    (("wallets", 0, "lots", 0, "lot"), ..., "snapshot.wallets[0].lots[0].lot"),
    (("cards", 0, "card"), ..., "snapshot.cards[0].card"),
    (("cards", 0, "nfc_uid"), 7, "snapshot.cards[0].nfc_uid"),
    (("campaigns", 0, "id"), ..., "snapshot.campaigns[0].id"),
    (("campaigns", 0), None, "snapshot.campaigns[0]"),
    (("merchant", "class"), "huge", "snapshot.merchant.class"),
])
def test_a_bad_row_is_named(path, value, where):
    assert refused_at(broken(path, value)) == where


@pytest.mark.parametrize(("path", "value", "where"), [
    (("cards", 0, "pin"), {"hash": "00"}, "snapshot.cards[0].pin"),
    (("cards", 0, "pin", "salt"), "00", "snapshot.cards[0].pin"),  # 16 bytes in hex, not 1
    (("cards", 0, "pin", "above"), -1, "snapshot.cards[0].pin"),
    # more scrypt work than a crafted row may make a counter do
    (("cards", 0, "pin", "n"), 2**20, "snapshot.cards[0].pin"),
    (("staff", 0, "pin"), "4321", "snapshot.staff[0].pin"),
    (("staff", 0, "pin"), {"salt": PIN["salt"], "hash": PIN["hash"]}, "snapshot.staff[0].pin"),
])
def test_a_stored_pin_not_of_its_form_is_refused(path, value, where):
    """Stricter than shape alone: the state store seals every PIN as it comes (sync.pins.
    seal), so a PIN it could not seal refuses the page here, named, not later in a
    PinError the sync worker would take for a bug."""
    assert refused_at(broken(path, value)) == where


def test_optional_fields_may_be_absent_or_null():
    page = broken(("cards", 0, "pin"), ...)
    del page["wallets"][0]["usage"]
    del page["wallets"][0]["lots"][0]["campaign"]
    page["cards"][0]["nfc_uid"] = None
    del page["staff"], page["merchant"], page["more"], page["basis_seq"]
    assert wire.check_snapshot_page(page) is page
    del page["wallets"], page["cards"], page["campaigns"]
    assert wire.check_snapshot_page(page) is page


def test_the_online_checks_wallet_and_card_are_checked_the_same_way():
    """The online check's fresh wallet and card are stored as one-row snapshot pages
    (terminal.state.apply_wallet_view, apply_card): the same row checks, by name."""
    wallet = {**copy.deepcopy(PAGE["wallets"][0]), "kind": "card", "status_reason": None,
              "pockets": {"charged": 5_000}, "total": 5_000, "basis_seq": 0,
              "server_time_ms": 1_790_000_000_000}
    answer = {"tx": "T-1", "card": copy.deepcopy(PAGE["cards"][0]), "wallet": wallet,
              "token": "fresh"}
    assert wire.check_check_answer(answer) is answer
    del wallet["lots"][0]["pocket"]
    with pytest.raises(wire.WireError) as refused:
        wire.check_check_answer(answer)
    assert refused.value.details["where"] == "check.wallet.lots[0].pocket"
    wallet["lots"][0]["pocket"] = "charged"
    answer["card"]["pin"] = {**PIN, "hash": "zz" * pins.HASH_BYTES}
    with pytest.raises(wire.WireError) as refused:
        wire.check_check_answer(answer)
    assert refused.value.details["where"] == "check.card.pin"
