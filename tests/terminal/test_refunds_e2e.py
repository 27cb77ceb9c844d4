"""Refunds and voids end to end: a real ledger process on 127.0.0.1 (SQLite), real terminals
enrolled over HTTP. After every refund and void the terminal's view of the wallet is, to the
yen, what the ledger computes once it has the record: when the money goes back to a lot the
snapshot no longer lists (spent out), and when a void takes back cash-back points another
terminal has spent (sync.givebacks: kept from the money given back, flagged
`takeback_short`), with the terminal online or offline."""

from __future__ import annotations

import pytest

from ledger import service
from sync import bodies
from terminal.counter import Presented
from terminal.node import Node, enroll
from tests.ledger.helpers import LedgerProcess

DAYS = {"starts": "2026-01-01", "ends": "2030-12-31"}
# 1 % back in points that expire before charged money does: the next payment draws them first.
CASH_BACK = {"id": "back", "kind": "cash_back", "name": "還元", "rate_pct": 1, "cap": 3_000,
             "cap_per": "month", "expires": "2030-12-31"}


@pytest.fixture
def town(tmp_path):
    """A ledger with one small shop; wallets, campaigns and terminals made by the test."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = LedgerProcess(url, tmp_path / "home").start()
    db = ledger.db()
    service.create_merchant(db, "M-SHOP", "店", "small", 1)
    made: list[Node] = []

    class Town:
        def __init__(self):
            self.ledger, self.db = ledger, db

        def wallet(self, *charged: int) -> tuple[str, Presented]:
            wallet_id = service.create_wallet(self.db, "card", f"W-{len(charged)}")
            card = service.create_card(self.db, wallet_id)
            for amount in charged:  # one lot each, drawn in this order
                service.issue_value(self.db, wallet_id, "charged", amount, "opening-cash")
            return wallet_id, Presented("card", card)

        def terminal(self) -> Node:
            code = service.create_terminal(self.db, "M-SHOP")["code"]
            data = tmp_path / f"t{len(made)}"
            enroll(data, self.ledger.url, code)
            node = Node(data)
            node.sync_once()
            made.append(node)
            return node

        def offline(self) -> None:
            self.ledger.stop()

        def online(self) -> None:
            self.ledger = LedgerProcess(url, ledger.home, port=ledger.port).start()

        def balance(self, account: str) -> int:
            with self.db.reading() as conn:
                return int(conn.value("SELECT sum(amount) FROM balances WHERE account = ?",
                                      (account,), default=0))

        def flags(self, kind: str) -> list[dict]:
            return [f for f in service.list_flags(self.db) if f["kind"] == kind]

    made_town = Town()
    try:
        yield made_town
    finally:
        for node in made:
            node.close()
        db.close()
        made_town.ledger.stop()


def assert_same(view, ledger: dict) -> None:
    """The terminal's view of a wallet and the ledger's, to the yen."""
    pockets = {pocket: yen for pocket, yen in ledger["pockets"].items()
               if pocket in bodies.YEN_POCKETS and yen}
    assert (view.total, view.pockets, view.debt) == (ledger["total"], pockets, ledger["debt"])


def spent_out(node: Node, wallet_id: str, sale) -> str:
    """The lot the sale drew, now spent out and gone from the terminal's snapshot."""
    [line] = sale.record["body"]["lots"]
    assert line["amount"] == sale.amount
    stored = node.state.wallet(wallet_id)
    assert stored is not None
    assert line["lot"] not in {lot["lot"] for lot in stored.lots}
    return line["lot"]


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_a_void_to_a_spent_out_lot_is_shown_at_once(town, online):
    wallet_id, card = town.wallet(8_400, 2)
    shop = town.terminal()
    sale = shop.counter.pay(card, 8_400)
    shop.sync_once()
    spent_out(shop, wallet_id, sale)
    assert shop.counter.view(wallet_id).total == 2
    if not online:
        town.offline()
    void = shop.counter.refund(sale.tx_id, void=True)
    if online:
        # an online look-up puts the ledger's view (without the void yet) under the record
        assert shop.counter.balance(card)[1] == "online"
    seen = shop.counter.view(wallet_id)
    assert void.balance_after == seen.total == 8_402
    if not online:
        town.online()
    shop.sync_once()
    ledger = service.wallet_view(town.db, wallet_id)
    assert_same(seen, ledger)
    assert_same(shop.counter.view(wallet_id), ledger)
    assert not town.flags("unknown_lot")


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_a_partial_refund_to_a_spent_out_lot_is_shown_and_spendable(town, online):
    wallet_id, card = town.wallet(8_400, 2)
    shop = town.terminal()
    sale = shop.counter.pay(card, 8_400)
    shop.sync_once()
    lot = spent_out(shop, wallet_id, sale)
    if not online:
        town.offline()
    part = shop.counter.refund(sale.tx_id, 3_000)
    seen = shop.counter.view(wallet_id)
    assert part.balance_after == seen.total == 3_002
    # The lot given back to is known as the payment drew it: it pays again at once.
    again = shop.counter.pay(card, 2_500)
    assert again.decision == ("online" if online else "offline")
    assert [line["lot"] for line in again.record["body"]["lots"]] == [lot]
    after = shop.counter.view(wallet_id)
    assert after.total == 502
    if not online:
        town.online()
    shop.sync_once()
    ledger = service.wallet_view(town.db, wallet_id)
    assert_same(after, ledger)
    assert_same(shop.counter.view(wallet_id), ledger)
    assert not town.flags("unknown_lot") and not town.flags("overdraft")


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_a_void_of_cash_back_spent_at_another_terminal(town, online):
    """Points a sale granted, spent at a second terminal, then the sale voided at the first:
    the points are kept from the money given back (the town is paid back in full), the
    first terminal shows what the ledger computes, and the ledger names the shortfall."""
    service.create_campaign(town.db, {**DAYS, "funder": "town", **CASH_BACK})
    wallet_id, card = town.wallet(20_000)
    first, second = town.terminal(), town.terminal()
    sale = first.counter.pay(card, 8_400)
    [grant] = sale.record["body"]["grants"]
    assert grant["amount"] == 84
    first.sync_once()
    second.sync_once()
    spend = second.counter.pay(card, 84)
    assert [(line["lot"], line["amount"]) for line in spend.record["body"]["lots"]] == \
        [(grant["lot"], 84)]  # the points, all of them
    second.sync_once()
    if online:
        assert first.counter.balance(card)[1] == "online"  # it hears the points are spent
    else:
        town.offline()  # its snapshot still says 84 points
    void = first.counter.refund(sale.tx_id, void=True)
    assert void.record["body"]["grants_back"] == [
        {"lot": grant["lot"], "amount": 84, "campaign": "back", "funder": "town"}]
    seen = first.counter.view(wallet_id)
    if online:
        assert [note.as_json() for note in void.notes] == [
            {"code": "grant_spent_kept", "params": {"yen": 84}}]
        assert seen.total == void.balance_after == 20_000 - 84
    else:
        # What it cannot know yet: its snapshot says the points were there to take back.
        assert seen.total == 20_000
        town.online()
    first.sync_once()
    ledger = service.wallet_view(town.db, wallet_id)
    assert ledger["total"] == 20_000 - 84 and ledger["debt"] == 0
    assert ledger["status"] == "active"
    if online:
        assert_same(seen, ledger)
    assert_same(first.counter.view(wallet_id), ledger)
    assert town.balance("funder:town") == 0  # no cash-back paid on a cancelled sale
    assert [f["detail"]["short"] for f in town.flags("takeback_short")] == [84]
    assert not town.flags("unknown_lot")


def test_a_sale_refunded_whole_in_parts_keeps_no_cash_back_at_the_ledger(town):
    """Two refunds that give back all of a sale: the second takes the cash-back back, and
    the ledger posts the same (the town pays no cash-back on a cancelled sale)."""
    service.create_campaign(town.db, {**DAYS, "funder": "town", **CASH_BACK})
    wallet_id, card = town.wallet(20_000)
    till = town.terminal()
    sale = till.counter.pay(card, 8_400)
    till.counter.refund(sale.tx_id, 4_000)
    last = till.counter.refund(sale.tx_id)
    assert last.record["body"]["grants_back"][0]["amount"] == 84
    till.sync_once()
    ledger = service.wallet_view(town.db, wallet_id)
    assert ledger["total"] == 20_000
    assert_same(till.counter.view(wallet_id), ledger)
    assert town.balance("funder:town") == 0
    assert not town.flags("over_refund") and not town.flags("unknown_lot")


def test_an_online_void_asks_the_ledger_what_the_grants_still_hold(town):
    """No look-up before the void: the void itself asks, so the cashier's note and the view
    match what the ledger posts at once."""
    service.create_campaign(town.db, {**DAYS, "funder": "town", **CASH_BACK})
    wallet_id, card = town.wallet(20_000)
    first, second = town.terminal(), town.terminal()
    sale = first.counter.pay(card, 8_400)
    first.sync_once()
    second.sync_once()
    second.counter.pay(card, 84)  # the points, spent at the other terminal
    second.sync_once()
    void = first.counter.refund(sale.tx_id, void=True)
    assert [note.as_json() for note in void.notes] == [
        {"code": "grant_spent_kept", "params": {"yen": 84}}]
    first.sync_once()
    ledger = service.wallet_view(town.db, wallet_id)
    assert void.balance_after == ledger["total"] == 20_000 - 84
    assert_same(first.counter.view(wallet_id), ledger)
