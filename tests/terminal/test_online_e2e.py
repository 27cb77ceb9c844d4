"""Online, the ledger decides (DESIGN §10), end to end: a real ledger process on 127.0.0.1
(SQLite), two real terminals enrolled over HTTP that pulled their snapshots, and no pull or
push between the two sales. The second terminal's snapshot knows nothing of what the first
did (or of a card blocked since), yet its one online check per sale refuses: a blocked card,
a used gift code, the same app token, a second voucher set. A card issued since the last
pull is found, not refused. The records of the online sales then arrive at the ledger
without a flag, and offline the snapshot decides as before."""

from __future__ import annotations

import pytest

from ledger import certs, service
from sync import cards, keyfile, keys, tokens
from terminal.counter import Presented
from terminal.node import Node, enroll
from terminal.policy import Refused
from tests.ledger.helpers import LedgerProcess

DAYS = {"starts": "2026-01-01", "ends": "2030-12-31"}
VOUCHER = {"id": "voucher", "kind": "premium_voucher", "name": "商品券",
           "sets": [{"price": 5_000, "common": 3_000, "exclusive": 3_000}],
           "exclusive_classes": ["small"], "per_wallet": {"max": 1, "per": "campaign"}}


@pytest.fixture
def town(tmp_path):
    """A ledger with a shop and a booth, a card wallet with money, and two terminals of the
    shop and two of the booth, each with its snapshot pulled."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = LedgerProcess(url, tmp_path / "home").start()
    db = ledger.db()
    service.create_merchant(db, "M-SHOP", "店", "small", 1)
    service.create_merchant(db, "M-BOOTH", "窓口", "small", 1)
    service.create_campaign(db, {**DAYS, "funder": "town", **VOUCHER})
    service.create_campaign(db, {**DAYS, "funder": "town", "id": "gift", "kind": "gift_code",
                                 "name": "ギフト", "value": 3_000})
    wallet_id = service.create_wallet(db, "card", "W-ONE")
    card = service.create_card(db, wallet_id)
    service.issue_value(db, wallet_id, "charged", 20_000, "opening-cash")
    made: list[Node] = []

    def terminal(merchant: str) -> Node:
        code = service.create_terminal(db, merchant)["code"]
        data = tmp_path / f"t{len(made)}"
        enroll(data, ledger.url, code)
        node = Node(data)
        node.sync_once()
        made.append(node)
        return node

    class Town:
        pass

    town = Town()
    town.ledger, town.db, town.wallet_id = ledger, db, wallet_id
    town.card = Presented("card", card)
    town.shops = [terminal("M-SHOP"), terminal("M-SHOP")]
    town.booths = [terminal("M-BOOTH"), terminal("M-BOOTH")]
    town.flags = lambda kind: [f for f in service.list_flags(db) if f["kind"] == kind]
    try:
        yield town
    finally:
        for node in made:
            node.close()
        db.close()
        ledger.stop()


def phone(town):
    """A phone app of the town's wallet: its certificate from the ledger, and its key."""
    ledger_key = keyfile.load(town.ledger.home / "ledger.key")
    device = keys.generate()
    issued = certs.issue(town.db, ledger_key, town.wallet_id, device.public_key().hex)
    return tokens.parse_certificate(tokens.b45decode(issued["certificate"])), device


def refusal(call, *args) -> str:
    with pytest.raises(Refused) as info:
        call(*args)
    return info.value.code


def test_a_card_blocked_a_second_ago_is_refused_at_once(town):
    first, second = town.shops
    assert first.counter.pay(town.card, 500).decision == "online"
    service.block_card(town.db, town.card.value)
    # The second terminal's snapshot still says active; the ledger says blocked.
    assert second.state.card(town.card.value)[1] == "active"
    assert refusal(second.counter.pay, town.card, 500) == "card_blocked"
    assert second.state.card(town.card.value)[1] == "blocked"  # and it keeps knowing
    assert second.state.refusals()[-1][4] == "card_blocked"
    # Offline, each snapshot decides: the second terminal's now has the card blocked; the
    # first's has not heard (it is flagged at the ledger as today).
    town.ledger.stop()
    assert refusal(second.counter.pay, town.card, 500) == "card_blocked"
    assert first.counter.pay(town.card, 500).decision == "offline"


def test_a_card_issued_since_the_last_pull_is_looked_up_not_refused(town):
    shop = town.shops[0]
    new = service.create_card(town.db, town.wallet_id)
    assert shop.state.card(new) is None
    sale = shop.counter.pay(Presented("card", new), 700)
    assert sale.decision == "online" and sale.wallet_id == town.wallet_id
    assert refusal(shop.counter.pay, Presented("card", cards.new_card_number()), 700) == \
        "unknown_card"
    shop.sync_once()
    assert not service.list_flags(town.db)


def test_a_used_gift_code_is_refused_at_every_terminal(town):
    first, second = town.shops
    key = service.LedgerHome(town.ledger.home).signing_key()
    code = service.create_gift_codes(town.db, key, "gift", 1)[0].text()
    assert first.counter.pay_gift(code, 3_000).decision == "online"
    assert refusal(second.counter.pay_gift, code, 1_000) == "gift_used"
    assert refusal(town.booths[0].counter.redeem_gift, town.card, code) == "gift_used"
    first.sync_once()
    assert not town.flags("gift_code_reused")
    with town.db.reading() as conn:
        assert conn.value("SELECT sum(amount) FROM balances WHERE account = "
                          "'merchant:M-SHOP:receivable'") == 3_000


def test_the_same_app_token_pays_once_in_the_region(town):
    first, second = town.shops
    cert, device = phone(town)
    shown = Presented("app", tokens.make_token(cert, device, 1))
    assert first.counter.pay(shown, 400).decision == "online"
    # The second terminal never saw this token: its own replay check lets it through.
    assert refusal(second.counter.pay, shown, 400) == "replayed"
    assert second.counter.pay(Presented("app", tokens.make_token(cert, device, 2)),
                              400).decision == "online"
    for node in (first, second):
        node.sync_once()
    assert not town.flags("app_token_reused")
    assert service.wallet_view(town.db, town.wallet_id)["total"] == 20_000 - 800


def test_a_second_voucher_set_at_a_second_online_booth_is_refused(town):
    first, second = town.booths
    assert first.counter.buy_voucher(town.card, "voucher", 5_000).amount == 5_000
    assert refusal(second.counter.buy_voucher, town.card, "voucher", 5_000) == \
        "campaign_limit"
    first.sync_once()
    second.sync_once()
    assert not town.flags("campaign_wallet_limit")
    assert service.wallet_view(town.db, town.wallet_id)["pockets"]["premium_common"] == 3_000
    with town.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM campaign_claims") == 0


def test_a_voucher_sale_refused_after_its_check_gives_its_claim_back(town):
    first, second = town.booths
    service.issue_value(town.db, town.wallet_id, "charged", 26_000, "opening-cash")
    # 46,000 + a set's 6,000 is over the ¥50,000 cap: refused after the ledger claimed it
    assert refusal(first.counter.buy_voucher, town.card, "voucher", 5_000) == "over_cap"
    assert town.shops[0].counter.pay(town.card, 10_000).decision == "online"
    town.shops[0].sync_once()  # the ledger knows the wallet has room again
    assert second.counter.buy_voucher(town.card, "voucher", 5_000).amount == 5_000
    with town.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM campaign_claims") == 1  # second's, live


def test_offline_the_snapshot_decides_as_before(town):
    first, second = town.booths
    town.ledger.stop()
    assert first.counter.buy_voucher(town.card, "voucher", 5_000).amount == 5_000
    assert second.counter.buy_voucher(town.card, "voucher", 5_000).amount == 5_000
    assert first.counter.pay(town.card, 300).decision == "offline"


def test_scans_are_asked_online_as_the_credential_they_are(town):
    """The window hands every scan over as kind "scan": the ledger must still decide the card
    it names and claim the app token it carries (a merge once asked only for the wallet)."""
    first, second = town.shops
    as_scan = Presented("scan", town.card.value)
    assert first.counter.pay(as_scan, 500).decision == "online"
    service.block_card(town.db, town.card.value)
    assert refusal(second.counter.pay, as_scan, 500) == "card_blocked"
    new = service.create_card(town.db, town.wallet_id)
    sale = first.counter.pay(Presented("scan", new), 300)
    assert sale.decision == "online" and sale.wallet_id == town.wallet_id
    cert, device = phone(town)
    shown = Presented("scan", tokens.make_token(cert, device, 1))
    assert first.counter.pay(shown, 400).decision == "online"
    assert refusal(second.counter.pay, shown, 400) == "replayed"


def test_a_gift_sale_refused_at_its_write_leaves_the_code_usable(town, monkeypatch):
    """The ledger claims the code at the check; the record then does not fit on the disk:
    the claim is given back, so the customer's code pays at the next terminal."""
    import sqlite3

    from terminal import journal as journal_module

    first, second = town.shops
    key = service.LedgerHome(town.ledger.home).signing_key()
    code = service.create_gift_codes(town.db, key, "gift", 1)[0].text()
    real = journal_module._insert_effects

    def full(conn, seq, rtype, body):
        real(conn, seq, rtype, body)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal_module, "_insert_effects", full)
    assert refusal(first.counter.pay_gift, code, 3_000) == "disk_full"
    monkeypatch.setattr(journal_module, "_insert_effects", real)
    assert second.counter.pay_gift(code, 3_000).decision == "online"
    assert refusal(first.counter.pay_gift, code, 3_000) == "gift_used"
