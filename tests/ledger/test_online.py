"""The online check at the ledger (ledger.online), on both engines: claims of app tokens, gift
codes and per-wallet campaign uses made for a sale's tx, the records of those very sales
taken without a flag, other sales using the same token or code flagged (a second gift
payment held, not owed to the shop, and left out of the settlement), and the migration."""

from __future__ import annotations

import pytest

from ledger import online, reports, service
from ledger.schema import migrate, now_us
from ledger.service import LedgerError
from sync import bodies, cards, ids
from tests.ledger.test_campaigns import GIFT, gift_body
from tests.ledger.test_ingest import Region

DEVICE = "0123456789abcdef"
VOUCHER = {"id": "voucher", "kind": "premium_voucher", "name": "プレミアム商品券",
           "starts": "2026-11-01", "ends": "2027-03-31", "funder": "city",
           "sets": [{"price": 10_000, "common": 6_000, "exclusive": 9_000}],
           "common_expires": "2027-03-31", "exclusive_expires": "2027-03-31",
           "exclusive_classes": ["small"], "per_wallet": {"max": 1, "per": "campaign"}}
DAY = "2026-11-22"


@pytest.fixture
def region(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    for rules in (GIFT, VOUCHER):
        service.create_campaign(ledger_db, rules)
    return region


def app_pay(term, lot: str, amount: int, counter: int, tx_id: str | None = None,
            wallet: str = "W-1"):
    return term.append("payment", {
        "amount": amount, "wallet": wallet, "lots": [{"lot": lot, "amount": amount}],
        "decision": "online", "credential": {"kind": "app", "id": wallet, "device": DEVICE,
                                             "counter": counter}}, tx_id)


# --- app tokens ------------------------------------------------------------------------------


def test_a_token_claimed_online_pays_once_and_its_own_record_is_no_second_use(region):
    one, two = region.terminal(), region.terminal("M-LARGE")
    tx_id = ids.new_id()
    asked = {"tx": tx_id, "wallet": "W-1", "token": {"device": DEVICE, "counter": 7}}
    assert online.check(region.db, one.terminal_id, asked)["token"] == "fresh"
    # asked again for the same sale (an answer lost on the way): the same
    assert online.check(region.db, one.terminal_id, asked)["token"] == "fresh"
    again = {**asked, "tx": ids.new_id()}
    assert online.check(region.db, two.terminal_id, again)["token"] == "used"
    assert online.check(region.db, one.terminal_id, again)["token"] == "used"
    app_pay(one, region.charged, 100, 7, tx_id)
    region.push(one)
    assert not region.flags("app_token_reused")
    region.assert_consistent()


def test_one_token_used_on_two_offline_terminals_is_flagged(region):
    one, two = region.terminal(), region.terminal("M-LARGE")
    first = app_pay(one, region.charged, 100, 3)
    second = app_pay(two, region.charged, 200, 3)
    app_pay(two, region.charged, 300, 4)  # the phone's next token: no second use
    region.push(one)
    assert not region.flags("app_token_reused")
    region.push(two)
    [flag] = region.flags("app_token_reused")
    assert flag["terminal_id"] == two.terminal_id and flag["seq"] == second.seq
    assert flag["detail"] == {"device": DEVICE, "counter": 3, "first_terminal":
                              one.terminal_id, "first_tx": first.tx_id}
    # posted all the same (the goods were handed over)
    assert region.balance("merchant:M-LARGE:receivable") == 500
    # once the token is known, an online check refuses it too
    assert online.check(region.db, two.terminal_id, {
        "tx": ids.new_id(), "wallet": "W-1",
        "token": {"device": DEVICE, "counter": 3}})["token"] == "used"
    region.assert_consistent()


def test_a_token_claimed_online_by_one_sale_and_recorded_by_another_is_flagged(region):
    one, two = region.terminal(), region.terminal("M-LARGE")
    claimed = ids.new_id()
    online.check(region.db, one.terminal_id, {"tx": claimed, "wallet": "W-1",
                                              "token": {"device": DEVICE, "counter": 9}})
    app_pay(two, region.charged, 100, 9)  # offline elsewhere, with the same token
    region.push(two)
    assert [f["detail"]["first_tx"] for f in region.flags("app_token_reused")] == [claimed]


# --- gift codes ------------------------------------------------------------------------------


def test_a_gift_code_claimed_online_is_used_everywhere_and_its_record_is_owed(region):
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    one, two = region.terminal(), region.terminal("M-LARGE")
    tx_id = ids.new_id()
    assert online.check(region.db, one.terminal_id,
                        {"tx": tx_id, "gift": code.code_id})["gift"] == "claimed"
    assert online.check(region.db, two.terminal_id,
                        {"tx": ids.new_id(), "gift": code.code_id})["gift"] == "used"
    assert online.check(region.db, two.terminal_id,
                        {"tx": ids.new_id(), "gift": "NO-SUCH-CODE"})["gift"] == "unknown"
    one.append("gift", {**gift_body(code, 3_000), "decision": "online"}, tx_id)
    region.push(one)
    assert not region.flags("gift_code_reused")
    assert region.balance("merchant:M-SMALL:receivable") == 3_000
    assert region.balance("funder:city") == -3_000


def test_a_released_gift_claim_frees_the_code_unless_its_record_came(region):
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    one, two = region.terminal(), region.terminal()
    refused_tx, kept_tx = ids.new_id(), ids.new_id()
    ask = online.check
    assert ask(region.db, one.terminal_id, {"tx": refused_tx, "gift": code.code_id})[
        "gift"] == "claimed"
    assert online.release(region.db, two.terminal_id, refused_tx)["released"] == 0  # not two's
    assert online.release(region.db, one.terminal_id, refused_tx)["released"] == 1
    assert ask(region.db, two.terminal_id, {"tx": kept_tx, "gift": code.code_id})[
        "gift"] == "claimed"
    two.append("gift", {**gift_body(code, 3_000), "decision": "online"}, kept_tx)
    region.push(two)
    assert online.release(region.db, two.terminal_id, kept_tx)["released"] == 0  # it came
    assert ask(region.db, one.terminal_id, {"tx": ids.new_id(), "gift": code.code_id})[
        "gift"] == "used"


def test_a_second_payment_of_one_gift_code_is_held_not_owed(region):
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    one, two = region.terminal(), region.terminal("M-LARGE")
    first = one.append("gift", gift_body(code, 2_500))
    second = two.append("gift", gift_body(code, 3_000))
    region.push(one)
    region.push(two)
    [flag] = region.flags("gift_code_reused")
    assert (flag["terminal_id"], flag["seq"]) == (two.terminal_id, second.seq)
    assert flag["detail"]["first_tx"] == first.tx_id
    assert region.balance("merchant:M-LARGE:receivable") == 0
    assert region.balance("merchant:M-LARGE:held") == 3_000
    assert region.balance("funder:city") == -2_500
    assert region.balance("funder:city:held") == -3_000
    region.assert_consistent()
    # the settlement pays the shop nothing for it; the campaign's funder pays the first only
    month = second.record["at"][:7]
    owed = {s.merchant_id: s.campaign for s in reports.settlement(region.db, month, 1)}
    assert owed["M-SMALL"] == 2_500 and owed["M-LARGE"] == 0
    [figures] = [c for c in reports.campaign_report(region.db) if c.campaign_id == "gift"]
    assert figures.gifts_spent == 2_500 and figures.funders == {"city": 2_500}


# --- cards and wallets ---------------------------------------------------------------------


def test_the_check_answers_the_card_now_and_claims_only_for_a_card_it_accepts(region):
    term = region.terminal()
    card = service.create_card(region.db, "W-1")
    answer = online.check(region.db, term.terminal_id, {"tx": ids.new_id(), "card": card})
    assert answer["card"]["status"] == "active" and answer["wallet"]["wallet"] == "W-1"
    service.block_card(region.db, card)
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    answer = online.check(region.db, term.terminal_id, {
        "tx": ids.new_id(), "card": card, "gift": code.code_id,
        "campaign": {"id": "voucher", "day": DAY, "units": 1}})
    assert answer["card"]["status"] == "blocked"
    assert answer["gift"] == answer["campaign"] == online.NOT_ASKED
    unknown = cards.new_card_number()
    answer = online.check(region.db, term.terminal_id, {"tx": ids.new_id(), "card": unknown})
    assert answer["card"] is None and answer["wallet"] is None
    with pytest.raises(LedgerError) as refused:
        online.check(region.db, term.terminal_id, {
            "tx": ids.new_id(), "token": {"device": DEVICE, "counter": 1}})
    assert refused.value.status == 400
    with region.db.reading() as conn:
        assert conn.value("SELECT used_tx FROM gift_codes") is None
        assert conn.value("SELECT count(*) FROM campaign_claims") == 0


# --- one per person ------------------------------------------------------------------------


def voucher_claim(region, term, tx_id: str, day: str = DAY) -> str:
    return online.check(region.db, term.terminal_id, {
        "tx": tx_id, "wallet": "W-1",
        "campaign": {"id": "voucher", "day": day, "units": 1}})["campaign"]


def test_one_voucher_set_per_person_across_online_booths(region):
    one, two = region.terminal("M-BOOTH"), region.terminal("M-BOOTH")
    tx_id = ids.new_id()
    assert voucher_claim(region, one, tx_id) == "claimed"
    assert voucher_claim(region, one, tx_id) == "claimed"  # the same sale, asked again
    assert voucher_claim(region, two, ids.new_id()) == "limit"
    # The record of the sale arrives: the use is in the wallet's usage, the claim ends.
    one.append("charge", {"amount": 10_000, "wallet": "W-1", "lots": [
        bodies.new_lot("L-V1", "premium_common", 6_000, 4_000, "city", "2027-03-31",
                       campaign="voucher"),
        bodies.new_lot("L-V2", "premium_exclusive", 9_000, 6_000, "city", "2027-03-31",
                       ["small"], "voucher")],
        "campaigns": [{"campaign": "voucher", "kind": "premium_voucher", "set": 10_000}]},
        tx_id)
    region.push(one)
    assert not region.flags("campaign_wallet_limit")
    with region.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM campaign_claims") == 0
    assert voucher_claim(region, two, ids.new_id()) == "limit"


def test_a_claim_released_by_its_terminal_stops_counting_at_once(region):
    one, two = region.terminal("M-BOOTH"), region.terminal("M-BOOTH")
    tx = ids.new_id()
    assert voucher_claim(region, one, tx) == "claimed"
    assert online.release(region.db, two.terminal_id, tx)["released"] == 0  # not two's
    assert voucher_claim(region, two, ids.new_id()) == "limit"
    assert online.release(region.db, one.terminal_id, tx) == {"tx": tx, "released": 1}
    assert online.release(region.db, one.terminal_id, tx)["released"] == 0
    assert voucher_claim(region, two, ids.new_id()) == "claimed"


def test_a_claim_whose_record_never_comes_stops_counting(region):
    one, two = region.terminal("M-BOOTH"), region.terminal("M-BOOTH")
    assert voucher_claim(region, one, ids.new_id()) == "claimed"
    stale = now_us() - (online.CAMPAIGN_CLAIM_TTL_S + 1) * 1_000_000
    region.db.transaction(lambda conn: conn.execute(
        "UPDATE campaign_claims SET created_us = ?", (stale,)))
    assert voucher_claim(region, two, ids.new_id()) == "claimed"


# --- the schema ----------------------------------------------------------------------------


def test_a_version_5_ledger_is_upgraded_to_hold_claims(region):
    def back_to_5(conn) -> None:
        for table in ("token_uses", "campaign_claims"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_migrations WHERE version = 6")

    region.db.transaction(back_to_5)
    assert migrate(region.db) == [6]
    term = region.terminal()
    app_pay(term, region.charged, 100, 1)
    region.push(term)
    with region.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM token_uses") == 1
