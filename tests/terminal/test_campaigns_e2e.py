"""Campaigns end to end: a real ledger process on 127.0.0.1 (SQLite), real terminals enrolled
over HTTP, leases taken while online, campaigns spent offline, and the ledger's checks after
the sync: units issued never pass the total and none is counted twice; a gift code taken
twice, a rally stamp given twice and a monthly limit passed across terminals are flagged."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ledger import service
from sync import giftcodes
from terminal import tally
from terminal.counter import Presented
from terminal.node import Node, enroll
from terminal.policy import Refused
from tests.ledger.helpers import LedgerProcess

ROOT = Path(__file__).resolve().parents[2]

DAYS = {"starts": "2026-01-01", "ends": "2030-12-31"}
MERCHANTS = (("M-A", "small"), ("M-B", "small"), ("M-C", "small"), ("M-BIG", "large"))


@pytest.fixture
def town(tmp_path):
    """A ledger with four shops and a few card wallets with money; returns a helper."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = LedgerProcess(url, tmp_path / "home").start()
    db = ledger.db()
    for merchant_id, merchant_class in MERCHANTS:
        service.create_merchant(db, merchant_id, merchant_id, merchant_class, 1)
    wallets = []
    for n in range(4):
        wallet_id = service.create_wallet(db, "card", f"W-{n}")
        card = service.create_card(db, wallet_id)
        service.issue_value(db, wallet_id, "charged", 40_000, "opening-cash")
        wallets.append((wallet_id, Presented("card", card)))
    made: list[Node] = []

    class Town:
        def __init__(self):
            self.ledger, self.db, self.wallets = ledger, db, wallets

        def terminal(self, merchant: str) -> Node:
            code = service.create_terminal(db, merchant)["code"]
            data = tmp_path / f"t{len(made)}-{merchant}"
            enroll(data, ledger.url, code)
            node = Node(data)
            made.append(node)
            return node

        def campaign(self, **rules) -> None:
            service.create_campaign(db, {**DAYS, "funder": "town", **rules})

        def flags(self, kind: str) -> list[dict]:
            return [f for f in service.list_flags(db) if f["kind"] == kind]

        def restart(self) -> None:
            self.ledger = LedgerProcess(url, ledger.home, port=ledger.port).start()

    made_town = Town()
    try:
        yield made_town
    finally:
        for node in made:
            node.close()
        db.close()
        made_town.ledger.stop()  # the one running now: a restart made a new process


def coupon_entries(db) -> list[tuple[str, int, str]]:
    """(terminal, seq, lease) of every coupon entry the ledger stored."""
    import json

    out = []
    with db.reading() as conn:
        for terminal_id, seq, text in conn.all(
                "SELECT terminal_id, seq, record FROM records WHERE type = 'payment'"):
            for entry in json.loads(text)["body"].get("campaigns", []):
                if entry["kind"] == "threshold_coupon":
                    out.append((terminal_id, seq, entry["lease"]))
    return out


def test_three_offline_terminals_never_issue_more_than_the_stock(town):
    town.campaign(id="coupon", kind="threshold_coupon", name="クーポン",
                  tiers=[{"min": 500, "off": 100}], quantity=20, lease_block=8)
    terminals = [town.terminal(m) for m in ("M-A", "M-B", "M-C")]
    for node in terminals:
        node.sync_once()  # pulls the rules and leases a block: 8 + 8 + 4 of 20
    assert sorted(sum(lease["count"] for lease in node.journal.leases())
                  for node in terminals) == [4, 8, 8]
    town.ledger.stop()
    given = 0
    for node in terminals:
        for n in range(12):
            _, card = town.wallets[n % len(town.wallets)]
            sale = node.counter.pay(card, 600)
            given += bool(sale.record["body"].get("campaigns"))
    assert given == 20  # the rest of the 36 sales paid full price
    town.restart()
    for node in terminals:
        node.sync_once()
    entries = coupon_entries(town.db)
    assert len(entries) == 20 and len(set(entries)) == 20
    assert not town.flags("campaign_quantity")
    # The ledger counted each use once, against the lease it came from, and no lease over.
    with town.db.reading() as conn:
        counted = {lease: (count, used) for lease, count, used in conn.all(
            "SELECT lease_id, count, used FROM leases WHERE campaign_id = 'coupon'")}
    per_lease = Counter(lease for _, _, lease in entries)
    assert {lease: used for lease, (_, used) in counted.items()} == dict(per_lease)
    assert all(used <= count for count, used in counted.values())
    # The day closes: leases go back, and no unit is left lent or counted twice.
    for node in terminals:
        tally.z_close(node.journal)
        node.sync_once()
        assert all(lease["status"] == "returned" for lease in node.journal.leases())
    with town.db.reading() as conn:
        total, granted = conn.one("SELECT sum(total), sum(granted) FROM pools "
                                  "WHERE campaign_id = 'coupon'")
    assert (total, granted) == (20, 20)


def test_a_gift_code_taken_on_two_offline_terminals_is_flagged(town):
    town.campaign(id="gift", kind="gift_code", name="ギフト", value=3000)
    first, second = town.terminal("M-A"), town.terminal("M-B")
    for node in (first, second):
        node.sync_once()
    key = service.LedgerHome(town.ledger.home).signing_key()
    code = service.create_gift_codes(town.db, key, "gift", 1)[0].text()
    town.ledger.stop()
    assert first.counter.pay_gift(code, 3_000).amount == 3_000
    assert second.counter.pay_gift(code, 1_000).amount == 1_000
    town.restart()
    first.sync_once()
    assert not town.flags("gift_code_reused")
    second.sync_once()
    [flag] = town.flags("gift_code_reused")
    assert flag["terminal_id"] == second.terminal_id
    assert flag["seq"] is not None
    assert giftcodes.parse(code).value == 3_000


def test_a_rally_across_three_shops_and_the_ledgers_checks(town):
    town.campaign(id="rally", kind="stamp_rally", name="ラリー", threshold=600,
                  stamps_to_complete=3, max_completions=6,
                  prize={"value": 1000, "quantity": 3000},
                  shop_discount={"off": 200, "first": 100})
    wallet_id, card = town.wallets[0]
    shops = [town.terminal(m) for m in ("M-A", "M-B", "M-C")]
    for n, node in enumerate(shops):
        node.sync_once()  # the stamps of the shops before arrive with the snapshot
        sale = node.counter.pay(card, 800)
        [stamp] = sale.record["body"]["campaigns"]
        assert stamp["discount"] == 200 and stamp["complete"] == (n == 2)
        node.sync_once()
    assert not [f for f in service.list_flags(town.db) if f["kind"].startswith("campaign_")]
    view = service.wallet_view(town.db, wallet_id)
    assert view["pockets"]["premium_common"] == 1_000  # the prize
    assert view["total"] == 40_000 - 3 * 600 + 1_000
    # The same shop stamping one card on two offline terminals is caught at the ledger.
    # Both know the card is complete and a new one starts: each stamps it here, offline.
    again = town.terminal("M-A")
    for node in (shops[0], again):
        node.sync_once()
    town.ledger.stop()
    for node in (shops[0], again):
        [stamp] = node.counter.pay(card, 700).record["body"]["campaigns"]
        assert stamp["stamps"] == 1 and stamp["shop"] == "M-A"
    town.restart()
    shops[0].sync_once()
    again.sync_once()
    assert town.flags("campaign_stamped_here_already")


def test_offline_stamps_and_a_diner_meet_at_the_ledger_and_complete_the_card(town):
    """Three shops stamp W-0's card offline, none knowing the others' stamps, so none says
    `complete`; the restaurant M-C also stamps the diner W-1 (¥1,300 for two: ¥650 each ≥
    ¥600, ¥200 off per stamp: ¥900 paid). When the records meet, the ledger completes W-0's
    card (「3つのスタンプを取得」) and grants the ¥1,000 prize from the pool; the next pull
    shows it on W-0's wallet at a counter. W-0 paid 800 − 200 twice and 900: ¥40,000 −
    ¥600 − ¥600 − ¥900 + ¥1,000 = ¥38,900. No campaign flag: nothing was wrong."""
    town.campaign(id="rally", kind="stamp_rally", name="ラリー", threshold=600,
                  stamps_to_complete=3, max_completions=6,
                  prize={"value": 1000, "quantity": 3000},
                  shop_discount={"off": 200, "first": 100}, restaurants=["M-C"])
    (payer, card), (diner, diner_card) = town.wallets[0], town.wallets[1]
    shops = [town.terminal(m) for m in ("M-A", "M-B", "M-C")]
    for node in shops:
        node.sync_once()  # leases taken while online
    town.ledger.stop()
    for node in shops[:2]:
        [stamp] = node.counter.pay(card, 800).record["body"]["campaigns"]
        assert not stamp["complete"]
    sale = shops[2].counter.pay(card, 1_300, diners=[diner_card])
    assert sale.decision == "offline" and sale.amount == 900
    assert not sale.record["body"]["campaigns"][0]["complete"]
    assert {"completion_owed", "completion_offline"} & {note.code for note in sale.notes}
    assert sale.record["body"]["diners"][0]["wallet"] == diner
    town.restart()
    for node in shops:
        node.sync_once()
    assert not [f for f in service.list_flags(town.db) if f["kind"].startswith("campaign_")]
    view = service.wallet_view(town.db, payer)
    assert view["usage"]["rally"]["done"] == 1 and view["usage"]["rally"]["card"] == []
    assert view["total"] == 38_900
    assert service.wallet_view(town.db, diner)["usage"]["rally"]["card"] == [["M-C", 1]]
    shops[0].sync_once()  # the next pull
    assert shops[0].counter.view(payer).pockets["premium_common"] == 1_000
    # 「取得したスタンプには店舗名が表示されます」: the diner asks at M-C's terminal, from the
    # command line: the card shows M-C's stamp under its name (the shop's own, M-C here).
    shops[2].close()
    asked = subprocess.run(
        [sys.executable, "-m", "terminal", "balance", "--data", str(shops[2].data_dir),
         "--card", diner_card.value, "--offline"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert asked.returncode == 0, asked.stderr
    assert "rally ラリー: 1/3 stamps — M-C ×1 (completed 0)" in asked.stdout


def test_a_monthly_limit_passed_on_two_offline_terminals_is_flagged(town):
    town.campaign(id="bus", kind="point_grant", name="バス", points=200,
                  per_wallet={"max": 2, "per": "month"})
    wallet_id, card = town.wallets[1]
    first, second = town.terminal("M-A"), town.terminal("M-B")
    for node in (first, second):
        node.sync_once()
    town.ledger.stop()
    for node in (first, second):
        node.counter.grant_campaign(card, "bus")
        node.counter.grant_campaign(card, "bus")
    town.restart()
    first.sync_once()
    second.sync_once()
    assert len(town.flags("campaign_wallet_limit")) == 2
    # After the pull, both terminals know: no third grant this month anywhere.
    first.sync_once()
    with pytest.raises(Refused) as info:
        first.counter.grant_campaign(card, "bus")
    assert info.value.code == "campaign_limit"
    assert service.wallet_view(town.db, wallet_id)["pockets"]["points"] == 800


def test_a_booth_that_only_sells_voucher_sets_sells_its_first_set_after_a_z_close(town):
    """#16.4: after a Z close a terminal takes no lease until it has sold (terminal.leases),
    and a booth that only sells voucher sets needs a lease for its very first sale: online,
    the sale leases a block itself. Seed 003's stock: 90,000 units of ¥10,000 (lease_block
    2 units = 4 halves). Before the close W-0 buys ① (¥5,000: half a unit, 1 half; its
    ¥40,000 + ¥7,500 of value stays under the ¥50,000 cap); the close gives the
    day's lease back and its round leases a fresh block of 4 halves; W-1 buys ① from it, 1
    half used. The ledger counts 1 + 1 = 2 halves, nothing flagged.

    #16.7: `python -m terminal balance` then lists W-1's pockets: ¥40,000 charged, the set's
    ¥3,000 common and ¥4,500 exclusive, each "expires 2030-12-31, usable from 2030-01-01"
    (the use period of this campaign starts after its sale)."""
    town.campaign(id="koko", kind="premium_voucher", name="ここクーポン",
                  sets=[{"price": 5000, "common": 3000, "exclusive": 4500},
                        {"price": 10000, "common": 6000, "exclusive": 9000}],
                  quantity=90000, quantity_unit=10000, lease_block=2, min_spend=1500,
                  common_expires="2030-12-31", exclusive_expires="2030-12-31",
                  use_starts="2030-01-01")
    node = town.terminal("M-A")
    node.sync_once()
    assert [lease["count"] for lease in node.journal.leases()] == [4]
    node.counter.buy_voucher(town.wallets[0][1], "koko", 5_000)
    tally.z_close(node.journal)
    node.sync_once()
    (first,) = node.journal.leases("returned")  # the day's lease goes back at the close
    assert [(lease["count"], lease["used"]) for lease in node.journal.leases("open")] == \
        [(4, 0)]  # and the close's round leases afresh for the next day's first sale
    sold = node.counter.buy_voucher(town.wallets[1][1], "koko", 5_000)
    assert sold.record["body"]["campaigns"][0]["lease"] != first["lease_id"]
    open_leases = node.journal.leases("open")
    assert [(lease["count"], lease["used"]) for lease in open_leases] == [(4, 1)]
    node.sync_once()
    assert not town.flags("campaign_quantity")
    with town.db.reading() as conn:
        assert conn.value("SELECT sum(used) FROM leases WHERE campaign_id = 'koko'") == 2
    shown = subprocess.run(
        [sys.executable, "-m", "terminal", "balance", "--card", town.wallets[1][1].value,
         "--data", str(node.data_dir), "--offline"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    assert "charged ¥40,000" in lines
    assert "premium_common ¥3,000 (expires 2030-12-31, usable from 2030-01-01)" in lines
    assert "premium_exclusive ¥4,500 (expires 2030-12-31, usable from 2030-01-01)" in lines
