"""The offline-first engine end to end: a real ledger process on 127.0.0.1 (SQLite), real
terminals enrolled over HTTP, sales decided offline while the ledger is down, and after the
sync the ledger and the terminals agree to the yen."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger import certs, check, demo, service
from sync import cards, keyfile, keys, tokens
from sync import client as sync_client
from terminal.counter import Presented
from terminal.node import Node, enroll
from terminal.policy import Refused
from tests.ledger.helpers import ROOT, LedgerProcess


@pytest.fixture
def world(tmp_path):
    """A demo region on a ledger process; returns (ledger, db, make_terminal)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = LedgerProcess(url, tmp_path / "home").start()
    db = ledger.db()
    demo.seed_demo(db, 30, campaigns=False)  # campaigns: tests/terminal/test_campaigns*
    made = []

    def make_terminal(merchant="M-SAKURA", name=None) -> Node:
        code = service.create_terminal(db, merchant)["code"]
        data = tmp_path / (name or f"term{len(made)}")
        enroll(data, ledger.url, code)
        node = Node(data)
        node.sync_once()
        made.append(node)
        return node

    yield ledger, db, make_terminal
    for node in made:
        node.close()
    db.close()
    ledger.stop()


def lots_of(db, wallet: str) -> list[tuple[str, str, int]]:
    with db.reading() as conn:
        return conn.all("SELECT lot_id, pocket, remaining FROM lots WHERE wallet_id = ? "
                        "ORDER BY lot_id", (wallet,))


def phone(ledger: LedgerProcess, db, wallet_id: str,
          offline_limit: int = 1_000_000) -> Callable[[], Presented]:
    """The wallet's phone app, certified by the ledger: each call shows a fresh code (a
    wallet id is no credential: DESIGN §10)."""
    device = keys.generate()
    issued = certs.issue(db, keyfile.load(ledger.home / "ledger.key"), wallet_id,
                         device.public_key().hex, offline_limit=offline_limit)
    cert = tokens.parse_certificate(tokens.b45decode(issued["certificate"]))
    counter = itertools.count(1)
    return lambda: Presented("app", tokens.make_token(cert, device, next(counter)))


def restart(ledger: LedgerProcess) -> LedgerProcess:
    return LedgerProcess(ledger.db_url, ledger.home, port=ledger.port).start()


def agree(node: Node, db, wallets) -> None:
    """The terminal's view of each wallet equals the ledger's, lot by lot, to the yen."""
    for wallet in wallets:
        ours = node.counter.view(wallet)
        theirs = service.wallet_view(db, wallet)
        assert ours.total == theirs["total"], wallet
        assert {lot["lot"]: lot["remaining"] for lot in ours.lots if lot["remaining"]} == \
            {lot["lot"]: lot["remaining"] for lot in theirs["lots"]}, wallet


def test_offline_sales_within_and_past_limits_then_sync(world):
    ledger, db, make_terminal = world
    node = make_terminal()
    card_wallets = {}
    with db.reading() as conn:
        for card, wallet in conn.all("SELECT card_id, wallet_id FROM cards ORDER BY card_id"):
            card_wallets[card] = wallet
    card, wallet = next(iter(card_wallets.items()))
    ledger.stop()  # the network is gone; the counter goes on

    sale = node.counter.pay(Presented("card", card), 1_200)
    assert sale.decision == "offline" and sale.balance_after is not None
    with pytest.raises(Refused) as info:
        node.counter.pay(Presented("card", card), 10_010)
    assert info.value.code == "over_offline_payment" and "10,000" in info.value.message
    spent = 1_200
    while spent + 9_000 <= 30_000:
        try:
            node.counter.pay(Presented("card", card), 9_000)
        except Refused as exc:  # the card ran out before the limit did
            assert exc.code == "insufficient"
            break
        spent += 9_000
    else:
        with pytest.raises(Refused) as info:
            node.counter.pay(Presented("card", card), 9_000)
        assert info.value.code == "over_offline_wallet"
    with pytest.raises(Refused) as info:
        node.counter.pay(Presented("card", "8000 0000 0000 0000"), 500)
    assert info.value.code == "bad_credential"
    refused_codes = {row[4] for row in node.state.refusals()}
    assert {"over_offline_payment", "bad_credential"} <= refused_codes

    status = node.sync_once()
    assert not status.online and status.pending >= 2  # still down: nothing lost, all waiting
    ledger = restart(ledger)
    try:
        status = node.sync_once()
        assert status.online and status.pending == 0 and not status.refused
        agree(node, db, [wallet])
        assert check.check(db).ok
    finally:
        ledger.stop()


def test_double_spend_from_two_offline_terminals(world):
    ledger, db, make_terminal = world
    a, b = make_terminal(name="a"), make_terminal("M-HOKUTO-GS", name="b")
    # A wallet one offline payment can empty: each terminal alone sees enough for it.
    totals = {w: a.counter.view(w).total for w in (f"W-DEMO-{n:05d}" for n in range(1, 31))}
    wallet = min((w for w, t in totals.items() if t > 0), key=totals.get)
    total = totals[wallet]
    assert total <= a.counter.limits.max_offline_payment
    show = phone(ledger, db, wallet)
    ledger.stop()
    first = total
    a.counter.pay(show(), first)
    b.counter.pay(show(), first)
    ledger = restart(ledger)
    try:
        a.sync_once()
        b.sync_once()
        a.sync_once()  # a pulls after b's records landed
        view = service.wallet_view(db, wallet)
        assert view["status"] == "denied" and view["debt"] == total
        assert [f["kind"] for f in service.list_flags(db)] == ["overdraft"]
        for node in (a, b):
            with pytest.raises(Refused) as info:
                node.counter.pay(show(), 100)
            assert info.value.code == "denied" and f"owes ¥{total:,}" in info.value.message
    finally:
        ledger.stop()


def test_online_sale_uses_the_fresh_balance(world):
    ledger, db, make_terminal = world
    node = make_terminal()
    wallet = "W-DEMO-00007"
    # The ledger gives the wallet value after this terminal's snapshot was taken.
    service.issue_value(db, wallet, "charged", 2_000, "opening-cash")
    before = node.counter.view(wallet).total
    show = phone(ledger, db, wallet)
    sale = node.counter.pay(show(), 100)
    assert sale.decision == "online" and sale.balance_after == before + 2_000 - 100
    view, how = node.counter.balance(show())
    assert how == "online" and view.total == before + 1_900


def test_a_batch_landing_before_its_ack_is_counted_once(world):
    """The sync worker has pushed a sale and the ledger holds it, but the answer has not
    been recorded yet (the acknowledgement is in flight) when the counter's online check or
    a pull reads the wallet: the ledger says how far its answer holds this terminal's
    records, so the sale is neither counted twice nor missed."""
    ledger, db, make_terminal = world
    node = make_terminal()  # its sync worker is not running: pushes happen when told
    wallet = "W-DEMO-00005"
    before = node.counter.view(wallet).total
    show = phone(ledger, db, wallet)
    node.counter.pay(show(), 300)
    pending = node.journal.pending()
    answer = node.worker.client.push(pending)  # landed; the ack is not kept yet
    assert answer["acked_seq"] == pending[-1][0] > node.journal.acked_seq()
    view, how = node.counter.balance(show())
    assert how == "online" and view.total == before - 300
    sync_client.pull_all(node.worker.client, node.worker.sink, node.journal)
    assert node.counter.view(wallet).total == before - 300
    node.sync_once()
    agree(node, db, [wallet])


def test_stale_snapshot_allows_only_small_payments(world):
    ledger, db, make_terminal = world
    node = make_terminal()
    node.state.put("snapshot_at_ms", 0)  # last complete pull long ago
    show = phone(ledger, db, "W-DEMO-00009")
    ledger.stop()
    small = node.counter.limits.small_payment_when_stale
    node.counter.pay(show(), small)
    with pytest.raises(Refused) as info:
        node.counter.pay(show(), small + 10)
    assert info.value.code == "snapshot_stale"


def test_lot_order_class_and_excluded_goods(world):
    ledger, db, make_terminal = world
    small, large = make_terminal(name="small"), make_terminal("M-MARUI", name="large")
    ledger.stop()
    wallet = next(w for w in (f"W-DEMO-{n:05d}" for n in range(1, 31))
                  if "premium_exclusive" in small.counter.view(w).pockets)
    pockets = small.counter.view(wallet).pockets
    show = phone(ledger, db, wallet)
    sale = small.counter.pay(show(), 2_000)
    assert sale.paid_by == {"premium_exclusive": 2_000}  # restricted value goes first
    at_large = large.counter.pay(show(), 1_000)
    assert "premium_exclusive" not in at_large.paid_by  # small shops only
    tobacco = small.counter.pay(show(), 1_000, excluded=600)
    vouchers = sum(v for p, v in tobacco.paid_by.items() if p.startswith("premium"))
    assert vouchers <= 400
    assert small.counter.view(wallet).pockets["premium_exclusive"] == \
        pockets["premium_exclusive"] - 2_000 - vouchers


def test_refund_void_charge_cap_and_new_card(world):
    ledger, db, make_terminal = world
    booth = make_terminal("M-BOOTH", name="booth")
    wallet = "W-DEMO-00011"
    before = booth.counter.view(wallet).total
    show = phone(ledger, db, wallet)
    sale = booth.counter.pay(show(), 1_500)
    part = booth.counter.refund(sale.tx_id, 500)
    assert part.balance_after == before - 1_000
    with pytest.raises(Refused) as info:
        booth.counter.refund(sale.tx_id, 1_001)
    assert info.value.code == "over_refund"
    with pytest.raises(Refused):
        booth.counter.refund(sale.tx_id, void=True)  # part already refunded
    other = booth.counter.pay(show(), 700)
    voided = booth.counter.refund(other.tx_id, void=True)
    assert voided.kind == "void" and voided.amount == 700
    cap = booth.counter.limits.wallet_balance_cap
    room = cap - booth.counter.view(wallet).total
    with pytest.raises(Refused) as info:
        booth.counter.charge(show(), room + 1)
    assert info.value.code == "over_cap"
    booth.counter.charge(show(), room)
    # a new card for someone without a smartphone, charged and used at once, offline
    ledger.stop()
    number = "81234567890123" + "5"
    number += cards.luhn_digit(number)
    issued = booth.counter.issue_card(number, age_band="80+", area="中央")
    booth.counter.charge(Presented("card", number), 3_000)
    booth.counter.grant(Presented("card", number), 200, "sdgs-council", "bus-points")
    paid = booth.counter.pay(Presented("card", number), 2_500)
    assert paid.wallet_id == issued.wallet_id and paid.balance_after == 700
    ledger = restart(ledger)
    try:
        status = booth.sync_once()
        assert status.pending == 0 and not status.refused, status
        agree(booth, db, [wallet, issued.wallet_id])
        assert check.check(db).ok
        assert not [f for f in service.list_flags(db) if f["kind"] != "over_cap"]
    finally:
        ledger.stop()


def test_worker_pushes_when_woken(world):
    ledger, db, make_terminal = world
    node = make_terminal()
    statuses = []
    node.worker._on_status = statuses.append
    node.worker.start()
    node.counter.pay(phone(ledger, db, "W-DEMO-00013")(), 300)
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and node.journal.pending_count():
        time.sleep(0.05)
    node.worker.stop()
    assert node.journal.pending_count() == 0
    assert statuses and statuses[-1].online and statuses[-1].last_success


def test_cli_enroll_sync_simulate_balance(world, tmp_path):
    ledger, db, _ = world
    code = service.create_terminal(db, "M-SAKURA")["code"]
    data = tmp_path / "cli"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "terminal", *args, "--data", str(data)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert run("enroll", "--ledger", ledger.url, "--code", code).returncode == 0
    synced = run("sync")
    assert synced.returncode == 0 and "30 wallets" in synced.stdout
    sim = run("simulate", "--sales", "60", "--offline")
    assert sim.returncode == 0 and "60 sales" in sim.stdout and "approved" in sim.stdout
    assert run("sync").returncode == 0
    balance = run("balance", "--wallet", "W-DEMO-00001")
    assert balance.returncode == 0 and "W-DEMO-00001" in balance.stdout
    status = run("status")
    assert "0 not yet acknowledged" in status.stdout
    assert run("journal", "verify").returncode == 0
    ledger.stop()
    down = run("sync")
    assert down.returncode == 1 and "sync failed" in down.stdout
    again = run("enroll", "--ledger", ledger.url, "--code", code)
    assert again.returncode == 1 and "already terminal" in again.stderr
    assert Path(data / "terminal.json").exists()


def test_app_token_payments(world):
    """A phone app's QR token: paid with offline within the certificate's limit; a replay,
    a stale screenshot and a token for a denied wallet are refused with their reasons."""
    ledger, db, make_terminal = world
    node = make_terminal()
    ledger_key = keyfile.load(ledger.home / "ledger.key")
    device = keys.generate()
    issued = certs.issue(db, ledger_key, "W-DEMO-00002", device.public_key().hex,
                         offline_limit=1_500)
    cert = tokens.parse_certificate(tokens.b45decode(issued["certificate"]))
    counter = iter(range(1, 100))

    def show(at=None):
        return Presented("app", tokens.make_token(cert, device, next(counter), at))

    ledger.stop()
    paid = node.counter.pay(show(), 1_000)
    assert paid.decision == "offline" and paid.record["body"]["credential"]["kind"] == "app"
    shown = show()
    node.counter.pay(shown, 100)
    with pytest.raises(Refused) as info:
        node.counter.pay(shown, 100)  # the same code again
    assert info.value.code == "replayed"
    with pytest.raises(Refused) as info:
        node.counter.pay(show(), 500)  # 1,100 spent offline; the app may spend 1,500
    assert info.value.code == "over_app_limit"
    import time

    with pytest.raises(Refused) as info:
        node.counter.pay(show(at=int(time.time()) - 3_600), 100)
    assert info.value.code == "stale" and "screenshot" in info.value.message
    with pytest.raises(Refused) as info:
        node.counter.pay(Presented("app", "MP1:NOT-A-TOKEN"), 100)
    assert info.value.code == "malformed"
