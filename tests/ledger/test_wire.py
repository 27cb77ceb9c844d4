"""Every answer the real ledger process sends a terminal passes its sync.wire checker, and
the checkers refuse broken rows with a message naming the row and field (issue 18 point 8).

The ledger (tests/ledger/helpers.py LedgerProcess, SQLite and PostgreSQL) gets a shop, a
card wallet holding ¥5,000 charged and ¥500 of points that expire, a staff member, the
demo's Hokuto coupon (seed 000: 「5,000 円(税込)以上で 1,500円割引」) and Koko voucher
set; a terminal enrolls, pushes its start record and a payment of ¥1,200, pulls the
snapshot, reads the wallet (¥5,000 − ¥1,200 = ¥3,800 charged + ¥500 points = ¥4,300),
checks a sale online, releases it (nothing was claimed: 0 released), takes a lease of 3
coupons and returns it unused (3 back), claims a voucher set online, then leases the shop's
whole stock (the demo gives the coupon a quantity of 400 a shop) and asks once more
(none left)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ledger import service
from ledger.demo import CAMPAIGNS
from sync import ids, wire
from tests.ledger.helpers import Terminal

HOKUTO = next(c for c in CAMPAIGNS if c["id"] == "hokuto-coupon")
KOKO = next(c for c in CAMPAIGNS if c["id"] == "koko-voucher")


def every_key(shape: Any) -> set[str]:
    return set(shape.__required_keys__) | set(shape.__optional_keys__)


@pytest.fixture
def answers(ledger_server, tmp_path) -> dict[str, Any]:
    db = ledger_server.db()
    service.create_merchant(db, "M-SAKURA", "さくら商店", "small", 1)
    wallet = service.create_wallet(db, "card", "W-1")
    card = service.create_card(db, wallet, pin="1234")
    service.issue_value(db, wallet, "charged", 5_000, "opening-cash")
    service.issue_value(db, wallet, "points", 500, "hokuto-city", expires="2027-03-31")
    service.create_staff(db, "M-SAKURA", "店長", "manager", "4321")
    for rules in (HOKUTO, KOKO):
        service.create_campaign(db, copy.deepcopy(rules))
    term = Terminal(ledger_server.url, tmp_path / "till")
    term.enroll(service.create_terminal(db, "M-SAKURA")["code"])
    out: dict[str, Any] = {"enroll": term.enrolled, "card": card}
    lot = term.wallet(wallet)["lots"][0]
    assert lot["pocket"] == "charged"
    term.pay(wallet, [(lot["lot"], 1_200)])
    out["push"] = term.push()
    out["snapshot"] = term.snapshot()
    out["wallet"] = term.wallet(wallet)

    def post(path: str, body: dict) -> dict:
        reply = term.signed("POST", path, json.dumps(body).encode())
        reply.raise_for_status()
        return reply.json()

    tx = ids.new_id()
    out["check"] = post("/v1/check", {"tx": tx, "card": card})
    out["release"] = post("/v1/check/release", {"tx": tx})
    out["lease"] = post("/v1/leases", {"campaign": "hokuto-coupon", "pool": "shop.M-SAKURA",
                                       "units": 3})
    out["lease_return"] = post("/v1/leases/return",
                               {"lease_id": out["lease"]["lease"]["lease_id"], "used": 0})
    out["claim"] = post("/v1/check", {"tx": ids.new_id(), "card": card, "campaign": {
        "id": "koko-voucher", "day": "2026-11-22", "units": 1}})
    every = post("/v1/leases", {"campaign": "hokuto-coupon", "pool": "shop.M-SAKURA",
                                "units": 1_000})
    out["lease_all"], out["lease_none"] = every, post("/v1/leases", {
        "campaign": "hokuto-coupon", "pool": "shop.M-SAKURA", "units": 1})
    term.close()
    db.close()
    return out


def test_the_real_ledgers_answers_pass_their_checkers(answers):
    page = wire.check_snapshot_page(answers["snapshot"])
    assert set(page) == every_key(wire.SnapshotPage)  # the ledger sends every field
    (row,) = page["wallets"]
    assert set(row) == every_key(wire.WalletRow)
    assert sorted((lot["pocket"], lot["remaining"]) for lot in row["lots"]) == [
        ("charged", 3_800), ("points", 500)]
    (card,) = page["cards"]
    assert set(card) == every_key(wire.CardRow) and card["card"] == answers["card"]
    assert sorted(c["id"] for c in page["campaigns"]) == ["hokuto-coupon", "koko-voucher"]
    merchant = page["merchant"]
    assert merchant is not None and set(merchant) == every_key(wire.MerchantRow)
    assert [m["name"] for m in page["staff"]] == ["店長"]
    assert set(page["ledger_keys"][0]) == every_key(wire.LedgerKeyRow)

    push = wire.check_push_answer(answers["push"], 2)  # the journal's start, the payment
    assert push["acked_seq"] == 2
    assert [r["status"] for r in push["results"]] == ["created", "created"]
    view = wire.check_wallet_view(answers["wallet"])
    assert set(view) == every_key(wire.WalletView)
    assert (view["total"], view["pockets"]) == (4_300, {"charged": 3_800, "points": 500})
    check = wire.check_check_answer(answers["check"])
    assert check.get("card") is not None and check["wallet"] is not None
    assert wire.check_release_answer(answers["release"])["released"] == 0
    lease = wire.check_lease_answer(answers["lease"])["lease"]
    assert lease is not None and lease["count"] == 3
    assert wire.check_lease_return_answer(answers["lease_return"])["returned"] == 3
    assert wire.check_check_answer(answers["claim"]).get("campaign") == "claimed"
    everything = wire.check_lease_answer(answers["lease_all"])["lease"]
    assert everything is not None and everything["count"] == 400  # the shop's whole stock
    assert wire.check_lease_answer(answers["lease_none"]) == {"lease": None, "left": 0}
    enrolled = wire.check_enroll_answer(answers["enroll"])
    assert set(enrolled) == every_key(wire.EnrollAnswer)


def _set(path: list[Any], value: Any):
    def breaker(answer: dict) -> None:
        target = answer
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return breaker


DELETE = object()
# (answer, checker, what is broken, the path the message must name)
BROKEN = [
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "lots", 0, "remaining"], "120",
     "snapshot.wallets[0].lots[0].remaining"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "lots", 0, "pocket"], "gold",
     "snapshot.wallets[0].lots[0].pocket"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "lots", 0, "classes"], ["huge"],
     "snapshot.wallets[0].lots[0].classes"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "lots", 0, "expires"], "31/3/2027",
     "snapshot.wallets[0].lots[0].expires"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "wallet"], DELETE,
     "snapshot.wallets[0].wallet"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "version"], None,
     "snapshot.wallets[0].version"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "debt"], -5,
     "snapshot.wallets[0].debt"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0, "usage"], [],
     "snapshot.wallets[0].usage"),
    ("snapshot", wire.check_snapshot_page, ["wallets", 0], "W-1", "snapshot.wallets[0]"),
    ("snapshot", wire.check_snapshot_page, ["cards", 0, "status"], "lost",
     "snapshot.cards[0].status"),
    ("snapshot", wire.check_snapshot_page, ["cards", 0, "wallet"], "W 1",
     "snapshot.cards[0].wallet"),
    ("snapshot", wire.check_snapshot_page, ["campaigns", 0, "kind"], "lottery",
     "snapshot.campaigns[0].kind"),
    ("snapshot", wire.check_snapshot_page, ["merchant", "class"], "medium",
     "snapshot.merchant.class"),
    ("snapshot", wire.check_snapshot_page, ["staff", 0, "pin"], "1234",
     "snapshot.staff[0].pin"),
    ("snapshot", wire.check_snapshot_page, ["cursor"], DELETE, "snapshot.cursor"),
    ("snapshot", wire.check_snapshot_page, ["wallets"], {}, "snapshot.wallets"),
    ("push", wire.check_push_answer, ["results", 0, "status"], "maybe",
     "push.results[0].status"),
    ("push", wire.check_push_answer, ["acked_seq"], "2", "push.acked_seq"),
    ("push", wire.check_push_answer, ["results"], None, "push.results"),
    ("wallet", wire.check_wallet_view, ["pockets", "gold"], 5, "wallet_view.pockets.gold"),
    ("wallet", wire.check_wallet_view, ["kind"], "paper", "wallet_view.kind"),
    ("check", wire.check_check_answer, ["wallet", "lots", 0, "lot"], "",
     "check.wallet.lots[0].lot"),
    ("check", wire.check_check_answer, ["wallet"], DELETE, "check.wallet"),
    ("release", wire.check_release_answer, ["released"], True, "release.released"),
    ("lease", wire.check_lease_answer, ["lease", "count"], 0, "lease.lease.count"),
    ("lease_return", wire.check_lease_return_answer, ["returned"], DELETE,
     "lease_return.returned"),
    ("enroll", wire.check_enroll_answer, ["merchant"], None, "enroll.merchant"),
]


def test_broken_rows_are_refused_naming_row_and_field(answers):
    for name, checker, path, value, where in BROKEN:
        answer = copy.deepcopy(answers[name])
        _set(path, value)(answer)
        with pytest.raises(wire.WireError) as refused:
            checker(answer)
        assert refused.value.code == "bad_answer", (path, value)
        assert refused.value.details["where"] == where, (path, value)
        assert str(refused.value).startswith(f"the ledger's answer is malformed at {where}: ")


def test_a_push_answer_must_hold_one_result_per_record(answers):
    with pytest.raises(wire.WireError, match="one result per record sent"):
        wire.check_push_answer(answers["push"], 1)
