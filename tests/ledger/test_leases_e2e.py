"""Leases of campaign quantities end to end, on both engines: a real ledger process on
127.0.0.1 (SQLite and PostgreSQL), a real terminal enrolled over HTTP selling the Hokuto
coupons of seed 000, and the two sides' figures compared.

Seed 000 (北斗市商工会 LINEクーポン): 「割引額は 500 円(税込)以上で 150 円割引、5,000 円(税込)
以上で 1,500円割引など、参加店が割引率を選択することができる」; each shop's stock runs out
(「10 日程でクーポンが無くなる」), so the campaign's quantity is per shop, lent to the
terminal in leases (here blocks of 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import check, reports, service
from terminal import tally
from terminal.counter import Presented
from terminal.node import Node, enroll

HOKUTO = {"id": "hokuto", "kind": "threshold_coupon", "name": "北斗市 LINEクーポン",
          "starts": "2026-01-01", "ends": "2030-12-31", "funder": "hokuto-city",
          "tiers": [{"min": 500, "off": 150}, {"min": 5000, "off": 1500}],
          "quantity": 400, "quantity_per": "shop", "lease_block": 3}
POOL = "shop.M-A"


@pytest.fixture
def town(ledger_server, tmp_path):
    db = ledger_server.db()
    service.create_merchant(db, "M-A", "北斗のガソリンスタンド", "small", 1)
    wallet_id = service.create_wallet(db, "card", "W-1")
    card = Presented("card", service.create_card(db, wallet_id))
    service.issue_value(db, wallet_id, "charged", 40_000, "opening-cash")
    service.create_campaign(db, HOKUTO)
    made: list[Node] = []

    class Town:
        def __init__(self):
            self.db, self.card, self.ledger, self.data = db, card, ledger_server, None

        def terminal(self) -> Node:
            self.data = tmp_path / "till"
            enroll(self.data, ledger_server.url, service.create_terminal(db, "M-A")["code"])
            return self.reopen()

        def reopen(self, offline: bool = False) -> Node:
            for node in made:
                node.close()
            made.clear()
            made.append(Node(self.data, offline=offline))
            return made[0]

        def leases(self) -> dict[str, tuple[int, int, int | None, str]]:
            with db.reading() as conn:
                return {row[0]: (int(row[1]), int(row[2]),
                                 None if row[3] is None else int(row[3]), row[4])
                        for row in conn.all("SELECT lease_id, count, used, consumed, status "
                                            "FROM leases WHERE campaign_id = 'hokuto'")}

        def granted(self) -> int:
            return {p["pool"]: p["granted"] for p in service.pool_view(db, "hokuto")}[POOL]

        def coupon(self) -> reports.CampaignFigures:
            return {c.campaign_id: c for c in reports.campaign_report(db)}["hokuto"]

    try:
        yield Town()
    finally:
        for node in made:
            node.close()
        db.close()


def coupon_of(outcome) -> dict | None:
    found = [e for e in outcome.record["body"].get("campaigns", [])
             if e["kind"] == "threshold_coupon"]
    return found[0] if found else None


def test_a_void_gives_its_coupon_back_to_the_lease_or_to_the_pool(town):
    """Seed 000's tiers: ¥600 → ¥150 off, ¥5,000 → ¥1,500 off, ¥800 → ¥150 off; the lease
    of 3 is used up. The ¥5,000 sale is voided while the lease is held: its coupon goes
    back to the shop's stock at the terminal, and the next ¥5,000 sale gets ¥1,500 off from
    the same lease. The ledger counts the lease 3 used (4 uses − 1 given back).

    Day 1 (closed): uses 4 − 1 = 3, discount 150 + 1,500 + 150 + 1,500 − 1,500 = ¥1,800.

    The sync round after the day's sales topped up a second lease of 3 (the first ran dry);
    the Z close returns both (3 and 0 kept: pool granted 3) and the next round leases 3
    afresh (granted 6). Then the day-1 ¥600 sale is voided: its lease is no longer held, so the
    coupon goes back to the pool: the old lease keeps 2, granted 6 − 1 = 5, and the fresh
    lease still holds 3 (the unit did not go to it).

    Day 2 (open): uses −1, discount −¥150. Both days: uses 2, discount ¥1,650, which the
    ledger's campaign report and the funder's account (hokuto-city −¥1,650) say too."""
    node = town.terminal()
    node.sync_once()
    [(first, (count, _, _, _))] = town.leases().items()
    assert count == 3 and town.granted() == 3
    counter = node.counter
    small = counter.pay(town.card, 600)
    big = counter.pay(town.card, 5_000)
    counter.pay(town.card, 800)
    assert [coupon_of(s)["discount"] for s in (small, big)] == [150, 1_500]
    assert node.journal.units_left("hokuto", POOL, 0) == 0
    void = counter.refund(big.tx_id, void=True)
    assert coupon_of(void) == {**coupon_of(big), "undo": True, "day": big.record["at"][:10]}
    assert node.journal.units_left("hokuto", POOL, 0) == 1  # back in the shop's stock
    again = counter.pay(town.card, 5_000)
    assert coupon_of(again) == coupon_of(big)
    assert again.amount == 3_500
    node.sync_once()
    assert town.leases()[first][:2] == (3, 3)
    day1 = tally.x_report(node.journal).campaigns["hokuto"]
    assert day1 == {"uses": 3, "discount": 1_800}
    assert (town.coupon().uses, town.coupon().discounts) == (3, 1_800)

    closed, _ = tally.z_close(node.journal)
    node.sync_once()  # returns the day's lease, leases afresh
    assert town.leases()[first] == (3, 3, 3, "returned")
    [fresh] = [lease for lease, row in town.leases().items() if row[3] == "open"]
    assert town.granted() == 6
    late = counter.refund(small.tx_id, void=True)
    assert coupon_of(late)["lease"] == first
    assert node.journal.units_left("hokuto", POOL, 0) == 3  # not into the fresh lease
    node.sync_once()
    assert town.leases()[first] == (3, 2, 2, "returned")
    assert town.leases()[fresh][1] == 0 and town.granted() == 5
    day2 = tally.x_report(node.journal).campaigns["hokuto"]
    assert day2 == {"uses": -1, "discount": -150}
    assert closed.campaigns["hokuto"] == day1
    # The ledger's sheet of the closed day, from its records, is the terminal's.
    [ledger_day] = [d for d in reports.tally(town.db, closed.business_date) if d.closed]
    assert ledger_day.campaigns["hokuto"] == day1
    figures = town.coupon()
    assert (figures.uses, figures.discounts, figures.funders) == (2, 1_650,
                                                                  {"hokuto-city": 1_650})
    assert figures.pools == {POOL: (5, 400)}
    with town.db.reading() as conn:
        assert conn.value("SELECT sum(amount) FROM balances WHERE account = "
                          "'funder:hokuto-city'") == -1_650
    assert not [f for f in service.list_flags(town.db) if f["kind"] == "campaign_quantity"]
    assert check.check(town.db).ok


def test_the_first_sale_after_a_z_close_gets_its_coupon(town):
    """The day boundary (#16.4). Before: the Z close closed the day's leases and no lease
    was taken again until a sale had been made and synced, so the next day's first ¥600
    sale paid ¥600, not ¥600 − ¥150 = ¥450 (seed 000's first tier).

    At close: the sync round after the close returns the lease and leases 3 afresh, so the
    first sale is discounted even offline (¥450). Online, on the first sale: a sale that
    finds no unit on hand (the round has not run yet) leases before it decides (¥450)."""
    node = town.terminal()
    node.sync_once()
    assert coupon_of(node.counter.pay(town.card, 600))["discount"] == 150
    tally.z_close(node.journal)
    node.sync_once()  # the worker's round after the close
    assert [lease["status"] for lease in node.journal.leases()] == ["returned", "open"]
    offline = town.reopen(offline=True)
    first = offline.counter.pay(town.card, 600)
    assert first.decision == "offline" and first.amount == 450
    assert coupon_of(first)["lease"] == offline.journal.leases()[1]["lease_id"]

    online = town.reopen()
    online.sync_once()
    # closed again (the test's day cannot wait for tomorrow: a manager approved a second
    # close today), and no sync round since
    tally.z_close(online.journal, approved_by="MGR-1")
    assert online.journal.units_left("hokuto", POOL, 0) == 0
    first = online.counter.pay(town.card, 600)
    assert first.decision == "online" and first.amount == 450
    assert coupon_of(first)["lease"] == online.journal.leases()[-1]["lease_id"]
    assert online.journal.leases()[-1]["status"] == "open"
    online.sync_once()
    assert not [f for f in service.list_flags(town.db) if f["kind"] == "campaign_quantity"]


def test_an_online_sale_finding_the_pool_empty_goes_on_without_the_coupon(town):
    """A shop's last coupon (a stock of 1 here): the first ¥600 sale gets ¥150 off; the next
    online sale finds no unit, asks the ledger, hears the pool is empty, and is taken at the
    full ¥600 with the cashier told none is left — nothing is over-issued."""
    service.create_campaign(town.db, {**HOKUTO, "quantity": 1, "lease_block": 1})
    node = town.terminal()
    node.sync_once()
    assert coupon_of(node.counter.pay(town.card, 600))["discount"] == 150
    last = node.counter.pay(town.card, 600)
    assert last.decision == "online" and last.amount == 600 and coupon_of(last) is None
    assert "sold_out" in [note.code for note in last.notes]
    assert town.granted() == 1 and len(town.leases()) == 1


def test_a_campaign_that_begins_the_next_day_is_leased_at_close(town):
    """Seed 000's coupons ran in rounds (「７月～９月のサマークーポン、11月～１月の年末年始
    クーポン」): a round that begins tomorrow is not leased during the day, but the round after
    the Z close leases it (3 units), so the first sale of its first day has them, offline
    too."""
    node = town.terminal()
    tomorrow = (node.journal._clock().date() + timedelta(days=1)).isoformat()
    service.create_campaign(town.db, {**HOKUTO, "id": "hokuto-next", "starts": tomorrow})
    node.sync_once()
    assert "hokuto-next" in {rule["id"] for rule in node.state.campaigns()}
    assert not [lease for lease in node.journal.leases() if lease["campaign"] == "hokuto-next"]
    tally.z_close(node.journal)
    node.sync_once()
    [lease] = [lease for lease in node.journal.leases() if lease["campaign"] == "hokuto-next"]
    assert (lease["status"], lease["count"]) == ("open", 3)
