"""Campaigns at the ledger (docs/campaigns.md), on both engines: rules validated, each entry a
record carries checked and posted (balanced, in yen and in rides), usage folded and sent in
snapshots, quantities lent in leases and counted, gift codes taken once, and the reports."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from ledger import demo, reports, service
from ledger.service import LedgerError
from sync import bodies, giftcodes, ids, keyfile
from tests.ledger.helpers import HTTP_TIMEOUT_S, Terminal
from tests.ledger.test_ingest import Region

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-22"  # the day tests.conftest.StepClock's records are made on
STARTS, ENDS = "2026-11-01", "2027-03-31"

COUPON = {"id": "coupon", "kind": "threshold_coupon", "name": "冬のクーポン", "starts": STARTS,
          "ends": ENDS, "funder": "city", "tiers": [{"min": 500, "off": 150},
                                                    {"min": 5000, "off": 1500}],
          "per_wallet": {"max": 1, "per": "day"}}
SHOP_COUPON = {"id": "shop-coupon", "kind": "threshold_coupon", "starts": STARTS, "ends": ENDS,
               "funder": "merchant", "tiers": [{"min": 500, "off": 100}]}
LATER = {"id": "later", "kind": "threshold_coupon", "starts": "2027-01-08", "ends": ENDS,
         "funder": "city", "tiers": [{"min": 500, "off": 150}]}
STOCKED = {"id": "stocked", "kind": "threshold_coupon", "starts": STARTS, "ends": ENDS,
           "funder": "city", "tiers": [{"min": 100, "off": 10}], "quantity": 10}
RALLY = {"id": "rally", "kind": "stamp_rally", "starts": STARTS, "ends": ENDS, "funder": "city",
         "threshold": 600, "stamps_to_complete": 3, "max_completions": 6,
         "prize": {"value": 1000, "expires": ENDS}}
GIFT = {"id": "gift", "kind": "gift_code", "name": "ふるさとギフト", "starts": STARTS,
        "ends": ENDS, "funder": "city", "value": 3000}
RIDES = {"id": "rides", "kind": "ticket", "starts": STARTS, "ends": ENDS, "funder": "bus-co",
         "rides": 10, "ride_value": 500}
EXCHANGE = {"id": "exchange", "kind": "exchange", "starts": STARTS, "ends": ENDS,
            "funder": "city", "points": 1000, "value": 1100}


@pytest.fixture
def region(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    for rules in (COUPON, SHOP_COUPON, LATER, STOCKED, RALLY, GIFT, RIDES, EXCHANGE):
        service.create_campaign(ledger_db, rules)
    return region


def coupon_pay(term, lot: str, price: int, off: int, campaign: str = "coupon",
               funder: str = "city", wallet: str = "W-1", **entry):
    return term.append("payment", {
        "amount": price - off, "price": price, "wallet": wallet,
        "lots": [{"lot": lot, "amount": price - off}], "decision": "online",
        "credential": {"kind": "card", "id": wallet},
        "campaigns": [{"campaign": campaign, "kind": "threshold_coupon", "discount": off,
                       "funder": funder, **entry}]})


def flag_details(region: Region, kind: str) -> list[dict]:
    return [f["detail"] for f in region.flags(kind)]


def all_flag_kinds(region: Region) -> set[str]:
    return {f["kind"] for f in service.list_flags(region.db)}


# --- rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("change, words", [
    ({"funder": None}, "funder"),
    ({"tiers": [{"min": 500, "off": 500}]}, "tiers"),
    ({"starts": "2026-13-01"}, "starts"),
    ({"ends": "2026-10-01"}, "end before it starts"),
    ({"kind": "lottery"}, "kind must be one of"),
    ({"per_wallet": {"max": 1, "per": "week"}}, "per_wallet"),
    ({"quantity": 0}, "quantity"),
])
def test_rules_are_refused_with_the_field_named(ledger_db, change, words):
    rules = {k: v for k, v in {**COUPON, **change}.items() if v is not None}
    with pytest.raises(LedgerError) as refused:
        service.create_campaign(ledger_db, rules)
    assert words in refused.value.message and refused.value.status == 400
    with ledger_db.reading() as conn:
        assert conn.value("SELECT count(*) FROM campaigns") == 0


def test_rules_are_stored_normalized(ledger_db):
    service.create_campaign(ledger_db, {**STOCKED, "tiers": [{"min": 900, "off": 90},
                                                            {"min": 100, "off": 10}]})
    with ledger_db.reading() as conn:
        stored = json.loads(conn.value("SELECT rules FROM campaigns WHERE campaign_id = ?",
                                       ("stocked",)))
    assert stored["quantity_per"] == "campaign" and stored["name"] == "stocked"
    assert [tier["min"] for tier in stored["tiers"]] == [100, 900]


def test_the_demo_campaigns_are_valid_and_active_today(ledger_db):
    demo.seed_demo(ledger_db, 5)
    with ledger_db.reading() as conn:
        rows = dict(conn.all("SELECT campaign_id, rules FROM campaigns"))
    assert {"hokuto-coupon", "koko-voucher", "makinohara-rally", "bus-points", "charge-bonus",
            "cash-back", "tomamae-ride", "point-exchange", "furusato-gift"} == set(rows)
    for text in rows.values():
        rules = json.loads(text)
        assert rules["starts"] <= DAY <= rules["ends"]


# --- payments with campaigns ----------------------------------------------------------------


def test_a_funded_coupon_pays_the_shop_the_price(region):
    term = region.terminal()
    coupon_pay(term, region.charged, 1_000, 150)
    region.push(term)
    assert region.balance("merchant:M-SMALL:receivable") == 1_000
    assert region.balance("funder:city") == -150
    assert region.lot(region.charged) == 3_000 - 850
    assert region.balance("wallet:W-1:charged") == 3_000 - 850
    assert all_flag_kinds(region) == set()
    region.assert_consistent()


def test_a_shop_funded_coupon_posts_no_funder(region):
    term = region.terminal()
    coupon_pay(term, region.charged, 1_000, 100, "shop-coupon", "merchant")
    region.push(term)
    assert region.balance("merchant:M-SMALL:receivable") == 900
    with region.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM postings WHERE account LIKE 'funder:%' "
                          "AND part = ?", (term.terminal_id,)) == 0
    region.assert_consistent()


def test_usage_is_folded_and_sent_with_the_wallet(region):
    with region.db.reading() as conn:
        before = conn.value("SELECT version FROM wallets WHERE wallet_id = 'W-1'")
    term = region.terminal()
    coupon_pay(term, region.charged, 600, 150)
    region.push(term)
    snap = service.snapshot(region.db, term.terminal_id, None, overlap_us=0)
    wallet = next(w for w in snap["wallets"] if w["wallet"] == "W-1")
    assert wallet["usage"]["coupon"]["n"] == 1
    assert wallet["usage"]["coupon"]["p"] == {DAY[:7]: 1, DAY: 1}
    assert wallet["version"] > before
    assert next(w for w in snap["wallets"] if w["wallet"] == "W-2")["usage"] == {}
    assert service.wallet_view(region.db, "W-1")["usage"] == wallet["usage"]


def test_a_wallet_over_its_limit_is_flagged_and_still_posted(region):
    term = region.terminal()
    coupon_pay(term, region.charged, 600, 150)
    region.push(term)
    coupon_pay(term, region.charged, 700, 150)  # once a day: this one is too many
    coupon_pay(term, region.charged, 2_000, 1_500)  # and a too-large discount besides
    region.push(term)
    problems = sorted(d["problem"] for f in service.list_flags(region.db)
                      for d in [f["detail"]] if f["kind"].startswith("campaign_"))
    assert problems == ["discount_too_large", "wallet_limit", "wallet_limit"]
    assert flag_details(region, "campaign_wallet_limit")[0]["campaign"] == "coupon"
    assert region.balance("funder:city") == -1_800  # the goods were handed over
    assert service.wallet_view(region.db, "W-1")["usage"]["coupon"]["n"] == 3
    region.assert_consistent()


def test_a_campaign_out_of_its_period_is_flagged(region):
    term = region.terminal()
    coupon_pay(term, region.charged, 600, 150, "later")
    coupon_pay(term, region.charged, 600, 150, "no-such-campaign", "someone")
    region.push(term)
    assert flag_details(region, "campaign_out_of_period") == [
        {"campaign": "later", "problem": "out_of_period"}]
    assert flag_details(region, "campaign_unknown_campaign")[0]["campaign"] == \
        "no-such-campaign"
    assert region.balance("funder:someone") == -150  # posted as the record says
    region.assert_consistent()


def test_a_rally_stamped_twice_at_one_shop_is_flagged(region):
    term = region.terminal()

    def stamp(complete: bool = False):
        return term.append("payment", {
            "amount": 800, "price": 800, "wallet": "W-1", "decision": "online",
            "lots": [{"lot": region.charged, "amount": 800}],
            "credential": {"kind": "card", "id": "W-1"},
            "campaigns": [{"campaign": "rally", "kind": "stamp_rally", "stamps": 1,
                           "shop": "M-SMALL", "people": 1, "double": False,
                           "complete": complete, "funder": "city"}]})

    stamp()
    region.push(term)
    assert service.wallet_view(region.db, "W-1")["usage"]["rally"]["card"] == [["M-SMALL", 1]]
    assert all_flag_kinds(region) == set()
    stamp()
    region.push(term)
    assert flag_details(region, "campaign_stamped_here_already") == [
        {"campaign": "rally", "problem": "stamped_here_already"}]
    assert service.wallet_view(region.db, "W-1")["usage"]["rally"]["card"] == \
        [["M-SMALL", 1], ["M-SMALL", 1]]


def test_cash_back_and_prizes_become_lots(region):
    service.create_campaign(region.db, {"id": "back", "kind": "cash_back", "starts": STARTS,
                                        "ends": ENDS, "funder": "saijo", "rate_pct": 1,
                                        "cap": 3000})
    term = region.terminal()
    term.append("payment", {
        "amount": 2_000, "price": 2_000, "wallet": "W-1", "decision": "online",
        "lots": [{"lot": region.charged, "amount": 2_000}],
        "credential": {"kind": "card", "id": "W-1"},
        "campaigns": [{"campaign": "back", "kind": "cash_back", "points": 20}],
        "grants": [{"lot": "L-BACK", "pocket": "points", "amount": 20, "paid": 0,
                    "funder": "saijo", "campaign": "back"}]})
    term.append("payment", {
        "amount": 1_000, "price": 1_000, "wallet": "W-1", "decision": "online",
        "lots": [{"lot": region.charged, "amount": 1_000}],
        "credential": {"kind": "card", "id": "W-1"},
        "campaigns": [{"campaign": "back", "kind": "cash_back", "points": 50}],
        "grants": [{"lot": "L-BACK2", "pocket": "points", "amount": 50, "paid": 0,
                    "funder": "saijo", "campaign": "back"}]})
    region.push(term)
    assert region.lot("L-BACK") == 20 and region.balance("funder:saijo") == -70
    assert flag_details(region, "campaign_cash_back_too_large") == [
        {"campaign": "back", "problem": "cash_back_too_large"}]
    assert service.wallet_view(region.db, "W-1")["usage"]["back"]["yen"] == 70
    region.assert_consistent()


def test_a_void_takes_back_the_discount_the_points_and_the_use(region):
    service.create_campaign(region.db, {"id": "back", "kind": "cash_back", "starts": STARTS,
                                        "ends": ENDS, "funder": "saijo", "rate_pct": 1,
                                        "cap": 3000})
    term = region.terminal()
    sale = term.append("payment", {
        "amount": 850, "price": 1_000, "wallet": "W-1", "decision": "online",
        "lots": [{"lot": region.charged, "amount": 850}],
        "credential": {"kind": "card", "id": "W-1"},
        "campaigns": [{"campaign": "coupon", "kind": "threshold_coupon", "discount": 150,
                       "funder": "city"},
                      {"campaign": "back", "kind": "cash_back", "points": 8}],
        "grants": [{"lot": "L-BACK", "pocket": "points", "amount": 8, "paid": 0,
                    "funder": "saijo", "campaign": "back"}]})
    region.push(term)
    assert service.wallet_view(region.db, "W-1")["usage"]["coupon"]["n"] == 1
    term.append("void", {
        "amount": 850, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 850}],
        "campaigns": [{"campaign": "coupon", "kind": "threshold_coupon", "discount": 150,
                       "funder": "city", "undo": True, "day": DAY},
                      {"campaign": "back", "kind": "cash_back", "points": 8, "undo": True,
                       "day": DAY}],
        "grants_back": [{"lot": "L-BACK", "amount": 8, "campaign": "back",
                         "funder": "saijo"}]})
    region.push(term)
    assert region.balance("merchant:M-SMALL:receivable") == 0
    assert region.balance("funder:city") == 0 and region.balance("funder:saijo") == 0
    assert region.lot("L-BACK") == 0 and region.lot(region.charged) == 3_000
    usage = service.wallet_view(region.db, "W-1")["usage"]
    assert usage["coupon"]["n"] == 0 and usage["coupon"]["p"] == {DAY[:7]: 0, DAY: 0}
    assert usage["back"]["yen"] == 0
    # the coupon again the same day is no second use: nothing flagged
    coupon_pay(term, region.charged, 600, 150)
    region.push(term)
    assert all_flag_kinds(region) == set()
    [figures] = [c for c in reports.campaign_report(region.db) if c.campaign_id == "coupon"]
    assert (figures.uses, figures.discounts, figures.funders) == (1, 150, {"city": 150})
    [back] = [c for c in reports.campaign_report(region.db) if c.campaign_id == "back"]
    assert back.issued == 0 and back.funders.get("saijo", 0) == 0
    region.assert_consistent()


def test_a_void_taking_back_points_already_spent_is_flagged(region):
    term = region.terminal()
    sale = coupon_pay(term, region.charged, 1_000, 150)
    region.push(term)
    term.append("void", {
        "amount": 850, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 850}],
        "campaigns": [{"campaign": "coupon", "kind": "threshold_coupon", "discount": 150,
                       "funder": "city", "undo": True, "day": DAY}],
        "grants_back": [{"lot": "L-NONE", "amount": 5}]})
    region.push(term)
    assert [f["lot"] for f in flag_details(region, "unknown_lot")] == ["L-NONE"]
    assert region.balance("funder:city") == 0
    region.assert_consistent()


def back_campaign(region: Region) -> None:
    service.create_campaign(region.db, {"id": "back", "kind": "cash_back", "starts": STARTS,
                                        "ends": ENDS, "funder": "saijo", "rate_pct": 1,
                                        "cap": 3000})


def granting_pay(term, lot: str, amount: int, grant: int, grant_lot: str = "L-BACK",
                 campaign: str = "back", kind: str = "cash_back", funder: str = "saijo"):
    """A payment of `amount` from `lot` whose campaign granted `grant` yen in `grant_lot`."""
    entry = {"campaign": campaign, "kind": kind,
             **({"points": grant} if kind == "cash_back" else {})}
    return term.append("payment", {
        "amount": amount, "wallet": "W-1", "decision": "online",
        "lots": [{"lot": lot, "amount": amount}], "credential": {"kind": "card", "id": "W-1"},
        "campaigns": [entry],
        "grants": [{"lot": grant_lot, "pocket": "points", "amount": grant, "paid": 0,
                    "funder": funder, "campaign": campaign}]})


def void_of(term, sale, lot: str, amount: int, grant: int, grant_lot: str = "L-BACK",
            campaign: str = "back", kind: str = "cash_back"):
    return term.append("void", {
        "amount": amount, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": lot, "amount": amount}],
        "campaigns": [{"campaign": campaign, "kind": kind, "undo": True, "day": DAY,
                       **({"points": grant} if kind == "cash_back" else {})}],
        "grants_back": [{"lot": grant_lot, "amount": grant}]})


def test_cash_back_spent_elsewhere_is_kept_from_the_voids_refund(region):
    """Points a voided sale granted and another terminal spent: the void takes back what the
    lot still holds, and the rest out of the money it gives back; the funder is paid back in
    full, nothing is owed, and the flag names the shortfall (not an unknown lot)."""
    back_campaign(region)
    shop, other = region.terminal(), region.terminal()
    sale = granting_pay(shop, region.charged, 2_000, 20)
    region.push(shop)
    assert region.lot("L-BACK") == 20 and region.balance("funder:saijo") == -20
    other.append("payment", {"amount": 15, "wallet": "W-1", "decision": "offline",
                             "lots": [{"lot": "L-BACK", "amount": 15}],
                             "credential": {"kind": "card", "id": "W-1"}})
    region.push(other)
    assert region.lot("L-BACK") == 5
    void_of(shop, sale, region.charged, 2_000, 20)  # signed offline: it saw 20 points
    region.push(shop)
    assert region.lot("L-BACK") == 0
    assert region.lot(region.charged) == 3_000 - 15  # ¥15 of the ¥2,000 kept
    assert region.balance("funder:saijo") == 0
    assert region.balance("wallet:W-1:debt") == 0
    assert flag_details(region, "takeback_short") == [
        {"of": sale.tx_id, "lots": {"L-BACK": 15}, "short": 15, "netted": 15, "debt": 0}]
    assert not region.flags("unknown_lot")
    view = service.wallet_view(region.db, "W-1")
    assert view["status"] == "active" and view["debt"] == 0
    assert view["total"] == 3_000 - 15 + 4_500
    region.assert_consistent()


def test_a_prize_spent_beyond_the_voided_sale_is_owed_like_an_overdraft(region):
    """A ¥1,000 prize granted on a ¥600 sale and spent, then the sale voided: the ¥600
    goes to the funder instead of the wallet, and the ¥400 left is debt: the wallet is denied
    as after an overdraft."""
    shop = region.terminal()
    sale = granting_pay(shop, region.charged, 600, 1_000, "L-PRIZE", "rally", "stamp_rally",
                        "city")
    shop.append("payment", {"amount": 1_000, "wallet": "W-1", "decision": "online",
                            "lots": [{"lot": "L-PRIZE", "amount": 1_000}],
                            "credential": {"kind": "card", "id": "W-1"}})
    void_of(shop, sale, region.charged, 600, 1_000, "L-PRIZE", "rally", "stamp_rally")
    region.push(shop)
    assert region.lot("L-PRIZE") == 0 and region.lot(region.charged) == 3_000 - 600
    assert region.balance("funder:city") == 0
    assert region.balance("wallet:W-1:debt") == -400
    [flag] = flag_details(region, "takeback_short")
    assert (flag["short"], flag["netted"], flag["debt"]) == (1_000, 600, 400)
    view = service.wallet_view(region.db, "W-1")
    assert view["status"] == "denied" and view["debt"] == 400
    region.assert_consistent()


# --- leases --------------------------------------------------------------------------------


def lease(region: Region, term, units: int, campaign: str = "stocked", pool: str = "all",
          **kw) -> dict | None:
    return service.request_lease(region.db, term.terminal_id, campaign, pool, units,
                                 **kw)["lease"]


def pool_granted(region: Region, campaign: str = "stocked", pool: str = "all") -> int:
    return {p["pool"]: p["granted"] for p in service.pool_view(region.db, campaign)}[pool]


def test_leases_are_first_come_first_served_and_never_exceed_the_pool(region):
    one, two = region.terminal(), region.terminal("M-LARGE")
    first = lease(region, one, 4)
    assert first["count"] == 4 and first["campaign"] == "stocked" and first["pool"] == "all"
    assert lease(region, two, 4)["count"] == 4
    assert lease(region, one, 4)["count"] == 2  # what is left
    assert service.request_lease(region.db, two.terminal_id, "stocked", "all", 4) == \
        {"lease": None, "left": 0}
    assert pool_granted(region) == 10
    # Given back with 1 used: 3 units go back to the pool, once.
    assert service.return_lease(region.db, one.terminal_id, first["lease_id"], 1) == \
        {"returned": 3}
    assert service.return_lease(region.db, one.terminal_id, first["lease_id"], 0) == \
        {"returned": 3}
    assert pool_granted(region) == 7
    with pytest.raises(LedgerError) as refused:
        service.return_lease(region.db, two.terminal_id, first["lease_id"], 0)
    assert refused.value.status == 403
    assert lease(region, two, 10)["count"] == 3
    assert pool_granted(region) == 10


def test_a_lease_request_sent_twice_is_granted_once(region):
    term = region.terminal()
    first = lease(region, term, 4, request_id="LR-1")
    assert lease(region, term, 4, request_id="LR-1") == first  # a retry, or a replay
    assert pool_granted(region) == 4
    assert lease(region, term, 4, request_id="LR-2")["lease_id"] != first["lease_id"]
    assert pool_granted(region) == 8
    with pytest.raises(LedgerError) as refused:
        lease(region, term, 1, campaign="per-shop", pool="shop.M-SAKURA", request_id="LR-1")
    assert refused.value.code == "request_id_used"


def test_lease_refusals(region):
    term = region.terminal()
    for args, status, words in [
        (("stocked", "prize", 1), 400, "no pool prize"),
        (("coupon", "all", 1), 400, "no pool all"),
        (("nothing", "all", 1), 404, "no campaign"),
        (("stocked", "all", 0), 400, "units"),
    ]:
        with pytest.raises(LedgerError) as refused:
            service.request_lease(region.db, term.terminal_id, *args)
        assert refused.value.status == status and words in refused.value.message
    service.create_campaign(region.db, {**STOCKED, "id": "per-shop", "quantity_per": "shop"})
    with pytest.raises(LedgerError) as refused:
        service.request_lease(region.db, term.terminal_id, "per-shop", "shop.M-LARGE", 1)
    assert refused.value.status == 403
    assert lease(region, term, 50, "per-shop", "shop.M-SMALL")["count"] == 10
    with pytest.raises(LedgerError) as refused:
        service.return_lease(region.db, term.terminal_id, "LS-NONE", 0)
    assert refused.value.status == 404


def test_an_expired_lease_never_returned_is_taken_back_as_counted(region):
    term, other = region.terminal(), region.terminal()
    long_ago = service.now_us() - (service.LEASE_TTL_S + service.LEASE_GRACE_S + 60) * 10**6
    old = lease(region, term, 6, now=long_ago)
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=old["lease_id"])
    region.push(term)
    fresh = lease(region, other, 4)  # the pool is full until the old lease is taken back
    assert fresh["count"] == 4 and pool_granted(region) == 1 + 4
    with region.db.reading() as conn:
        assert conn.one("SELECT status, consumed FROM leases WHERE lease_id = ?",
                        (old["lease_id"],)) == ("reclaimed", 1)
    # A late use of the taken-back lease is counted into the pool once, and flagged.
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=old["lease_id"])
    region.push(term)
    assert pool_granted(region) == 6
    assert [d["why"] for d in flag_details(region, "campaign_quantity")] == ["after_return"]


def test_lease_uses_are_counted_and_overruns_flagged(region):
    term, other = region.terminal(), region.terminal()
    mine = lease(region, term, 2)
    theirs = lease(region, other, 2)
    for _ in range(3):  # one more than the lease holds
        coupon_pay(term, region.charged, 200, 10, "stocked", lease=mine["lease_id"])
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=theirs["lease_id"])
    coupon_pay(term, region.charged, 200, 10, "stocked")  # a stocked coupon with no lease
    region.push(term)
    assert sorted(d["why"] for d in flag_details(region, "campaign_quantity")) == \
        ["another_terminal", "beyond_lease", "no_lease"]
    with region.db.reading() as conn:
        assert conn.value("SELECT used FROM leases WHERE lease_id = ?",
                          (mine["lease_id"],)) == 3
    # The terminal says it used 2, the ledger counted 3: the pool keeps 3.
    assert service.return_lease(region.db, term.terminal_id, mine["lease_id"], 2) == \
        {"returned": 0}
    assert pool_granted(region) == 3 + 2
    region.assert_consistent()


def test_a_use_after_return_beyond_what_was_kept_is_counted_once(region):
    term = region.terminal()
    mine = lease(region, term, 5)
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=mine["lease_id"])
    region.push(term)
    # Returned saying 2 used: a second use pushed later is within what the lease kept.
    service.return_lease(region.db, term.terminal_id, mine["lease_id"], 2)
    assert pool_granted(region) == 2
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=mine["lease_id"])
    region.push(term)
    assert pool_granted(region) == 2 and not region.flags("campaign_quantity")
    coupon_pay(term, region.charged, 200, 10, "stocked", lease=mine["lease_id"])
    region.push(term)
    assert pool_granted(region) == 3
    assert [d["why"] for d in flag_details(region, "campaign_quantity")] == ["after_return"]


# --- gift codes, tickets, exchanges --------------------------------------------------------


def gift_body(code: giftcodes.GiftCode, amount: int, funder: str = "city") -> dict:
    return {"amount": amount, "decision": "offline",
            "gift": {"code": code.code_id, "campaign": code.campaign, "value": code.value,
                     "funder": funder}}


def test_a_gift_code_taken_twice_is_flagged(region):
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    assert giftcodes.verify(code.text(), {region.ledger_key.public_key().key_id:
                                          region.ledger_key.public_key()}).value == 3_000
    one, two = region.terminal(), region.terminal("M-LARGE")
    first = one.append("gift", gift_body(code, 2_500))
    two.append("gift", gift_body(code, 3_000))
    region.push(one)
    region.push(two)
    assert flag_details(region, "gift_code_reused") == [
        {"code": code.code_id, "first_tx": first.tx_id, "first_terminal": one.terminal_id}]
    assert region.balance("merchant:M-SMALL:receivable") == 2_500
    # the second payment is held, not owed to the shop (tests/ledger/test_online.py)
    assert region.balance("merchant:M-LARGE:receivable") == 0
    assert region.balance("merchant:M-LARGE:held") == 3_000
    assert region.balance("funder:city") == -2_500
    forged = giftcodes.make(region.ledger_key, "gift", 3_000)  # signed, never stored
    one.append("gift", gift_body(forged, 1_000))
    region.push(one)
    assert flag_details(region, "unknown_gift_code")[0]["code"] == forged.code_id
    with region.db.reading() as conn:
        assert conn.one("SELECT used_tx, used_terminal FROM gift_codes WHERE code_id = ?",
                        (code.code_id,)) == (first.tx_id, one.terminal_id)
    region.assert_consistent()


def test_a_gift_code_redeemed_into_two_wallets_funds_the_second_from_held(region):
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    one, two = region.terminal(), region.terminal("M-LARGE")

    def redeem(term, wallet: str):
        lot = bodies.new_lot("L-" + ids.new_id(), "points", 3_000, 0, "city", campaign="gift")
        return term.append("grant", {"amount": 3_000, "wallet": wallet, "lots": [lot],
                                     "gift": {"code": code.code_id, "campaign": "gift",
                                              "value": 3_000}})

    redeem(one, "W-1")
    redeem(two, "W-2")  # offline at another booth: the same code again
    region.push(one)
    region.push(two)
    assert [d["code"] for d in flag_details(region, "gift_code_reused")] == [code.code_id]
    assert region.balance("funder:city") == -3_000  # the town funds the code once
    assert region.balance("funder:city:held") == -3_000  # the second is held apart
    region.assert_consistent()


def test_gift_codes_are_made_only_for_gift_campaigns(region):
    with pytest.raises(LedgerError, match="not a gift_code campaign"):
        service.create_gift_codes(region.db, region.ledger_key, "coupon", 1)
    with pytest.raises(LedgerError, match="count"):
        service.create_gift_codes(region.db, region.ledger_key, "gift", 0)
    made = service.create_gift_codes(region.db, region.ledger_key, "gift", 3, 500)
    assert {code.value for code in made} == {500} and len({c.code_id for c in made}) == 3


def test_tickets_are_rides_never_yen(region):
    booth, bus = region.terminal("M-BOOTH"), region.terminal()
    booth.append("grant", {"amount": 10, "wallet": "W-2", "lots": [
        {"lot": "L-RIDES", "pocket": "tickets", "amount": 10, "paid": 0, "funder": "bus-co",
         "campaign": "rides"}], "campaigns": [{"campaign": "rides", "kind": "ticket",
                                                "rides": 10}]})
    region.push(booth)
    ride = {"wallet": "W-2", "campaign": "rides", "decision": "offline", "ride_value": 500,
            "funder": "bus-co", "credential": {"kind": "card", "id": "W-2"},
            "lots": [{"lot": "L-RIDES", "amount": 1, "pocket": "tickets"}]}
    bus.append("ticket", ride)
    region.push(bus)
    assert region.balance("wallet:W-2:tickets") == 9 and region.lot("L-RIDES") == 9
    assert region.balance("funder:bus-co:rides") == -10
    assert region.balance("merchant:M-SMALL:rides") == 1
    assert region.balance("merchant:M-SMALL:receivable") == 500
    assert region.balance("funder:bus-co") == -500
    view = service.wallet_view(region.db, "W-2")
    assert view["pockets"]["tickets"] == 9 and view["total"] == 800  # rides are no yen
    # A ride from a yen lot is refused as rides (a shortfall of rides, not of money).
    bus.append("ticket", dict(ride, lots=[{"lot": region.points, "amount": 1}]))
    region.push(bus)
    assert flag_details(region, "wrong_pocket")[0]["lot"] == region.points
    assert region.balance("wallet:W-2:ride_debt") == -1
    assert region.lot(region.points) == 800
    region.assert_consistent()


def test_an_exchange_turns_points_into_value(region):
    extra = service.issue_value(region.db, "W-2", "points", 400, "council")
    booth = region.terminal("M-BOOTH")
    booth.append("exchange", {
        "wallet": "W-2", "campaign": "exchange", "points": 1_000, "value": 1_100,
        "lots": [{"lot": region.points, "amount": 800, "pocket": "points"},
                 {"lot": extra, "amount": 200, "pocket": "points"}],
        "grants": [{"lot": "L-EXCH", "pocket": "premium_common", "amount": 1_100, "paid": 0,
                    "funder": "city", "campaign": "exchange"}],
        "campaigns": [{"campaign": "exchange", "kind": "exchange"}]})
    region.push(booth)
    assert region.balance("wallet:W-2:points") == 200
    assert region.balance("wallet:W-2:premium_common") == 1_100
    assert region.balance("funder:city") == -100  # the value beyond the points
    assert service.wallet_view(region.db, "W-2")["usage"]["exchange"]["n"] == 1
    assert all_flag_kinds(region) == set()
    region.assert_consistent()


# --- reports -------------------------------------------------------------------------------


def test_the_campaigns_report_and_the_settlement(region, tmp_path):
    term = region.terminal()
    mine = lease(region, term, 3)
    coupon_pay(term, region.charged, 1_000, 150)
    coupon_pay(term, region.charged, 500, 10, "stocked", lease=mine["lease_id"])
    coupon_pay(term, region.charged, 600, 100, "shop-coupon", "merchant")
    (code,) = service.create_gift_codes(region.db, region.ledger_key, "gift", 1)
    term.append("gift", gift_body(code, 2_000))
    region.push(term)
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db, DAY, DAY)}
    coupon, stocked = figures["coupon"], figures["stocked"]
    assert (coupon.uses, coupon.discounts, coupon.funders) == (1, 150, {"city": 150})
    assert (stocked.uses, stocked.discounts, stocked.pools) == (1, 10, {"all": (3, 10)})
    assert figures["shop-coupon"].funders == {"merchant": 100}
    assert (figures["gift"].uses, figures["gift"].gifts_spent) == (1, 2_000)
    assert figures["rally"].uses == 0
    assert reports.campaign_report(region.db, "2027-01-01", "2027-01-31")[0].uses == 0
    headers, rows = reports.campaign_table(list(figures.values()))
    out = reports.write_table("キャンペーン", headers, rows, "pdf", tmp_path / "c.pdf")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "冬のクーポン" in text and "値引き" in text
    # The shop is owed its receivable: wallets paid 850 + 490 + 500 and funders 150 + 10 +
    # the gift's 2,000 (the shop's own coupon is its own price cut).
    (small,) = [s for s in reports.settlement(region.db, DAY[:7], 2) if s.merchant_id == "M-SMALL"]
    assert (small.turnover, small.campaign) == (1_840, 2_160)
    assert small.fee == (1_840 + 2_160) * 188 // 10_000
    assert small.payout == 1_840 + 2_160 - small.fee
    assert small.turnover + small.campaign == region.balance("merchant:M-SMALL:receivable")


# --- over HTTP, and the admin CLI ----------------------------------------------------------


def test_leases_over_http_never_over_grant_under_concurrency(ledger_server, tmp_path):
    db = ledger_server.db()
    try:
        service.create_merchant(db, "M-A", "A", "small", 1)
        service.create_merchant(db, "M-B", "B", "small", 1)
        service.create_campaign(db, {**STOCKED, "quantity": 50})
        terminals = [Terminal(ledger_server.url, tmp_path / f"t{n}").enroll(
            service.create_terminal(db, merchant)["code"])
            for n, merchant in enumerate(("M-A", "M-B", "M-A", "M-B"))]
        got: list[dict] = []
        errors: list[str] = []
        lock = threading.Lock()

        def ask(term: Terminal) -> None:
            for _ in range(8):
                reply = term.signed("POST", "/v1/leases", json.dumps(
                    {"campaign": "stocked", "pool": "all", "units": 3}).encode())
                with lock:
                    if reply.status_code != 200:
                        errors.append(reply.text)
                    elif reply.json()["lease"] is not None:
                        got.append(reply.json()["lease"] | {"by": term})

        threads = [threading.Thread(target=ask, args=(t,)) for t in terminals for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(item["count"] for item in got) == 50  # all of it, and never more
        assert service.pool_view(db, "stocked") == [{"pool": "all", "total": 50, "granted": 50}]
        empty = terminals[0].signed("POST", "/v1/leases", json.dumps(
            {"campaign": "stocked", "pool": "all", "units": 3}).encode())
        assert empty.json() == {"lease": None, "left": 0}
        # Giving back over HTTP: only the owner, and the pool gets the unused units.
        first = got[0]
        body = json.dumps({"lease_id": first["lease_id"], "used": 1}).encode()
        stranger = next(t for t in terminals if t is not first["by"])
        refused = stranger.signed("POST", "/v1/leases/return", body)
        assert refused.status_code == 403 and refused.json()["error"] == "not_your_lease"
        back = first["by"].signed("POST", "/v1/leases/return", body)
        assert back.status_code == 200 and back.json() == {"returned": first["count"] - 1}
        assert service.pool_view(db, "stocked")[0]["granted"] == 50 - first["count"] + 1
        bad = terminals[0].signed("POST", "/v1/leases", json.dumps(
            {"campaign": "stocked", "pool": "all", "units": "3"}).encode())
        assert bad.status_code == 400 and "units" in bad.json()["message"]
        unsigned = requests.post(ledger_server.url + "/v1/leases", timeout=HTTP_TIMEOUT_S,
                                 json={"campaign": "stocked", "pool": "all", "units": 3})
        assert unsigned.status_code == 401
        for term in terminals:
            term.close()
    finally:
        db.close()


def ledger_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args[:2], "--db", f"sqlite:///{tmp_path / 'l.db'}",
         "--home", str(tmp_path / "home"), *args[2:]],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_gift_codes_and_campaign_report_from_the_cli(tmp_path):
    rules = tmp_path / "gift.json"
    rules.write_text(json.dumps(GIFT, ensure_ascii=False), encoding="utf-8")
    assert ledger_cli(tmp_path, "migrate").returncode == 0  # admin never makes a database
    assert ledger_cli(tmp_path, "admin", "create-campaign", "--file", str(rules)).returncode == 0
    made = ledger_cli(tmp_path, "admin", "create-gift-codes", "--campaign", "gift", "--count",
                      "3", "--pdf", str(tmp_path / "gift.pdf"))
    assert made.returncode == 0, made.stderr
    texts = made.stdout.splitlines()
    key = keyfile.load(tmp_path / "home" / service.LEDGER_KEY_FILE, None).public_key()
    assert [giftcodes.verify(text, {key.key_id: key}).value for text in texts] == [3_000] * 3
    pdf = subprocess.run(["pdftotext", str(tmp_path / "gift.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert pdf.count("3,000円") == 3 and "ふるさとギフト" in pdf
    refused = ledger_cli(tmp_path, "admin", "create-gift-codes", "--campaign", "none",
                         "--count", "1")
    assert refused.returncode == 1 and "no campaign none" in refused.stderr
    report = ledger_cli(tmp_path, "report", "campaigns", "--format", "json", "--out",
                        str(tmp_path / "c.json"))
    assert report.returncode == 0, report.stderr
    assert json.loads((tmp_path / "c.json").read_text("utf-8"))[0]["campaign_id"] == "gift"


# --- Makinohara rally as seed 004 says ----------------------------------------------------


MAKINOHARA = {"id": "maki", "kind": "stamp_rally", "name": "まきのはら", "starts": STARTS,
              "ends": ENDS, "funder": "city", "threshold": 600, "double_tag": "banquet",
              "stamps_to_complete": 3, "max_completions": 6,
              "prize": {"value": 1000, "quantity": 1, "expires": ENDS},
              "shop_discount": {"off": 200, "first": 100},
              "restaurants": ["M-SMALL"], "lodgings": ["M-LARGE"], "no_discount": ["M-BOOTH"]}


def stamp_entry(shop: str, stamps: int = 1, complete: bool = False, **more) -> dict:
    return {"campaign": "maki", "kind": "stamp_rally", "stamps": stamps, "shop": shop,
            "people": more.pop("people", 1), "double": stamps == 2, "complete": complete,
            "funder": "city", **more}


def maki_pay(term, lot: str, price: int, entries: list[dict], wallet: str = "W-1", **extra):
    off = sum(entry.get("discount", 0) for entry in entries) + sum(
        entry.get("discount", 0) for diner in extra.get("diners", [])
        for entry in diner["campaigns"])
    return term.append("payment", {
        "amount": price - off, "price": price, "wallet": wallet, "decision": "offline",
        "lots": [{"lot": lot, "amount": price - off}],
        "credential": {"kind": "card", "id": wallet}, "campaigns": entries, **extra})


def test_ledger_stamps_each_diner_and_pays_200_yen_a_stamp(region):
    """A party of two at the restaurant M-SMALL pays ¥1,300: ¥650 a person ≥ ¥600, so the
    payer W-1 and the diner W-2 each get a stamp on their own card (「1人当たり600円以上」),
    ¥200 a stamp off (「1スタンプにつき200円」): W-1 pays ¥900, the shop is owed ¥1,300
    (¥900 + ¥400 from the city), two units of the shop's lease are counted. A diner's stamp
    at a shop that is no restaurant is flagged stamps_not_earned."""
    service.create_campaign(region.db, MAKINOHARA)
    service.issue_value(region.db, "W-2", "charged", 1_000, "opening")
    term = region.terminal()
    lease = service.request_lease(region.db, term.terminal_id, "maki", "shop.M-SMALL",
                                  10)["lease"]["lease_id"]
    receivable = region.balance("merchant:M-SMALL:receivable")
    maki_pay(term, region.charged, 1_300,
             [stamp_entry("M-SMALL", people=2, discount=200, lease=lease)],
             diners=[{"wallet": "W-2", "credential": {"kind": "card", "id": "W-2"},
                      "campaigns": [stamp_entry("M-SMALL", people=2, discount=200,
                                                lease=lease)]}])
    region.push(term)
    assert all_flag_kinds(region) == set()
    assert region.lot(region.charged) == 3_000 - 900
    assert region.balance("merchant:M-SMALL:receivable") - receivable == 1_300
    assert region.balance("funder:city") == -400
    for wallet in ("W-1", "W-2"):
        assert service.wallet_view(region.db, wallet)["usage"]["maki"]["card"] == \
            [["M-SMALL", 1]]
    with region.db.reading() as conn:
        used = conn.value("SELECT used FROM leases WHERE lease_id = ?", (lease,))
    assert used == 2
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db)}
    assert figures["maki"].stamps == 2 and figures["maki"].discounts == 400
    # The large shop is no restaurant: a diner's stamp there was not earned; and no
    # discount at the booth (割引対象外).
    large = region.terminal("M-LARGE")
    maki_pay(large, region.charged, 1_300, [stamp_entry("M-LARGE", people=2)],
             diners=[{"wallet": "W-2", "credential": {"kind": "card", "id": "W-2"},
                      "campaigns": [stamp_entry("M-LARGE", people=2)]}])
    booth = region.terminal("M-BOOTH")
    maki_pay(booth, region.charged, 600, [stamp_entry("M-BOOTH", discount=200)],
             wallet="W-2")
    region.push(large)
    region.push(booth)
    assert [f["wallet_id"] for f in region.flags("campaign_stamps_not_earned")] == ["W-2"]
    assert len(region.flags("campaign_discount_too_large")) == 1
    region.assert_consistent()


def test_ledger_completes_a_card_when_the_records_meet_and_grants_the_prize(region):
    """Three shops stamp W-1's card, each offline and none knowing the others' stamps, so
    none says `complete`: when the third record reaches the ledger the card holds 3 stamps
    from different shops (「異なる店舗のスタンプを3個集めて」): the ledger completes it and
    grants the ¥1,000 prize from the pool (quantity 1: the pool's one unit); W-1's wallet
    shows it at the next pull. No completion_wrong flag: the terminal could not know. A
    completion the terminal marked owed when the pool is empty is flagged, not granted."""
    service.create_campaign(region.db, MAKINOHARA)
    for shop in ("M-SMALL", "M-LARGE", "M-BOOTH"):
        term = region.terminal(shop)
        maki_pay(term, region.charged, 600, [stamp_entry(shop)])
        region.push(term)
    view = service.wallet_view(region.db, "W-1")
    assert view["usage"]["maki"]["card"] == [] and view["usage"]["maki"]["done"] == 1
    prizes = [lot for lot in view["lots"] if lot.get("campaign") == "maki"]
    assert [lot["remaining"] for lot in prizes] == [1_000]
    assert region.balance("funder:city") == -1_000
    assert all_flag_kinds(region) == set()
    assert service.pool_view(region.db, "maki") == [
        {"pool": "prize", "total": 1, "granted": 1}]
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db)}
    assert figures["maki"].owed_prizes == 1 and figures["maki"].issued == 1_000
    # The next card completes at a terminal whose prize lease ran dry: owed, but the
    # pool's one prize is gone (「先着で3,000回分」): flagged, nothing granted.
    more = service.issue_value(region.db, "W-1", "charged", 1_800, "opening")
    for shop, complete in (("M-SMALL", False), ("M-LARGE", False), ("M-BOOTH", True)):
        term = region.terminal(shop)
        entry = stamp_entry(shop, complete=complete)
        if complete:
            entry["prize_owed"] = True
        maki_pay(term, more, 600, [entry])
        region.push(term)
    assert all_flag_kinds(region) == {"campaign_prize_sold_out"}
    assert service.wallet_view(region.db, "W-1")["usage"]["maki"]["done"] == 2
    assert region.balance("funder:city") == -1_000
    region.assert_consistent()


def test_ledger_grants_a_prize_owed_when_the_lease_ran_dry(region):
    """The card holds two shops' stamps; the third shop's terminal completes it with no
    prize unit on hand (`prize_owed`): the ledger grants the ¥1,000 prize from the pool
    (0 of 1 given out), so the prize is not lost."""
    service.create_campaign(region.db, MAKINOHARA)
    for shop in ("M-SMALL", "M-LARGE"):
        term = region.terminal(shop)
        maki_pay(term, region.charged, 600, [stamp_entry(shop)])
        region.push(term)
    term = region.terminal("M-BOOTH")
    maki_pay(term, region.charged, 600, [stamp_entry("M-BOOTH", complete=True,
                                                     prize_owed=True)])
    region.push(term)
    view = service.wallet_view(region.db, "W-1")
    assert view["usage"]["maki"]["done"] == 1 and "owed" not in view["usage"]["maki"]
    assert sum(lot["remaining"] for lot in view["lots"] if lot.get("campaign") == "maki") \
        == 1_000
    assert all_flag_kinds(region) == set()
    region.assert_consistent()


def test_a_void_takes_back_the_diners_stamp_and_prize(region):
    """The diner W-2 already holds M-LARGE's and M-BOOTH's stamps; at the restaurant M-SMALL
    a party of two pays ¥1,300 (¥650 each): W-1's stamp with ¥200 off, W-2's third stamp
    completes W-2's card with the ¥1,000 prize and ¥200 off: W-1 pays ¥900. The sale is
    voided: W-1 gets ¥900 back, the city pays nothing (¥400 discounts and the ¥1,000 prize
    taken back), W-2's card holds its two earlier stamps again and no completion."""
    service.create_campaign(region.db, MAKINOHARA)
    w2_lot = service.issue_value(region.db, "W-2", "charged", 2_000, "opening")
    for shop in ("M-LARGE", "M-BOOTH"):
        term = region.terminal(shop)
        maki_pay(term, w2_lot, 600, [stamp_entry(shop)], wallet="W-2")
        region.push(term)
    term = region.terminal()
    shop_lease = service.request_lease(region.db, term.terminal_id, "maki", "shop.M-SMALL",
                                       10)["lease"]["lease_id"]
    prize_lease = service.request_lease(region.db, term.terminal_id, "maki", "prize",
                                        1)["lease"]["lease_id"]
    payer = stamp_entry("M-SMALL", people=2, discount=200, lease=shop_lease)
    diner = stamp_entry("M-SMALL", people=2, complete=True, discount=200, lease=shop_lease,
                        prize=1_000, prize_lease=prize_lease)
    prize = {"lot": "L-DPRIZE", "pocket": "premium_common", "amount": 1_000, "paid": 0,
             "funder": "city", "campaign": "maki"}
    sale = maki_pay(term, region.charged, 1_300, [payer], diners=[{
        "wallet": "W-2", "credential": {"kind": "card", "id": "W-2"}, "campaigns": [diner],
        "grants": [prize]}])
    region.push(term)
    assert all_flag_kinds(region) == set()
    assert region.lot("L-DPRIZE") == 1_000 and region.balance("funder:city") == -1_400
    assert service.wallet_view(region.db, "W-2")["usage"]["maki"]["done"] == 1

    def undone(entry):
        return {**{k: v for k, v in entry.items() if k not in ("lease", "prize_lease")},
                "undo": True, "day": DAY}

    term.append("void", {
        "amount": 900, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 900}], "campaigns": [undone(payer)],
        "diners": [{"wallet": "W-2", "campaigns": [undone(diner)],
                    "grants_back": [{"lot": "L-DPRIZE", "amount": 1_000, "campaign": "maki",
                                     "funder": "city"}]}]})
    region.push(term)
    assert all_flag_kinds(region) == set()
    assert region.lot(region.charged) == 3_000 and region.lot("L-DPRIZE") == 0
    assert region.balance("funder:city") == 0
    usage = service.wallet_view(region.db, "W-2")["usage"]["maki"]
    assert usage["card"] == [["M-LARGE", 1], ["M-BOOTH", 1]] and usage["done"] == 0
    assert service.wallet_view(region.db, "W-1")["usage"]["maki"]["card"] == []
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db)}
    assert (figures["maki"].stamps, figures["maki"].discounts, figures["maki"].issued) == \
        (2, 0, 0)
    region.assert_consistent()


def test_a_void_of_a_stamp_the_ledger_completed_takes_the_prize_back(region):
    """Three offline stamps (M-SMALL, M-LARGE, M-BOOTH at ¥600) meet at the ledger, which
    completes W-1's card and grants the ¥1,000 prize. The third sale is voided: its stamp
    and the completion are undone (the card holds M-SMALL's and M-LARGE's stamps again, no
    completion), the prize lot is taken back (the city pays nothing), W-1 gets ¥600 back:
    ¥3,000 − ¥600 − ¥600 = ¥1,800 in the charged lot. The campaigns report counts no prize."""
    service.create_campaign(region.db, MAKINOHARA)
    sales = []
    for shop in ("M-SMALL", "M-LARGE", "M-BOOTH"):
        term = region.terminal(shop)
        sales.append((term, maki_pay(term, region.charged, 600, [stamp_entry(shop)])))
        region.push(term)
    assert region.balance("funder:city") == -1_000
    term, sale = sales[-1]
    term.append("void", {
        "amount": 600, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 600}],
        "campaigns": [{**stamp_entry("M-BOOTH"), "undo": True, "day": DAY}]})
    region.push(term)
    assert all_flag_kinds(region) == set()
    usage = service.wallet_view(region.db, "W-1")["usage"]["maki"]
    assert usage["card"] == [["M-SMALL", 1], ["M-LARGE", 1]] and usage["done"] == 0
    assert region.balance("funder:city") == 0 and region.lot(region.charged) == 1_800
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db)}
    assert figures["maki"].owed_prizes == 0 and figures["maki"].issued == 0
    # The prize goes back to the pool too (「先着で3,000回分」: the next completion gets it).
    assert service.pool_view(region.db, "maki") == [
        {"pool": "prize", "total": 1, "granted": 0}]
    region.assert_consistent()


def test_a_void_of_an_earlier_stamp_keeps_the_completion_its_prize_paid_for(region):
    """Three offline stamps (M-SMALL, M-LARGE, M-BOOTH at ¥600) meet at the ledger: the
    third record (M-BOOTH's) completes W-1's card and gets the ¥1,000 prize (the pool's one
    unit). Then the *first* sale (M-SMALL's) is voided. The prize was granted to M-BOOTH's
    record and stays (as when a terminal completed the card and an earlier stamp is voided),
    so the completion must stay too: were the card reopened with M-LARGE's and M-BOOTH's
    stamps, a new ¥600 stamp at M-SMALL would complete it a second time from the same two
    stamps (「異なる店舗のスタンプを3個集めて応募」: one prize per three stamps). After the
    void and a new M-SMALL stamp: done 1, the card holds [M-SMALL] only; the city paid
    ¥1,000 once; W-1's charged lot: ¥3,000 − 3 × ¥600 + ¥600 back − ¥600 = ¥1,200."""
    service.create_campaign(region.db, MAKINOHARA)
    sales = []
    for shop in ("M-SMALL", "M-LARGE", "M-BOOTH"):
        term = region.terminal(shop)
        sales.append((term, maki_pay(term, region.charged, 600, [stamp_entry(shop)])))
        region.push(term)
    assert region.balance("funder:city") == -1_000
    term, sale = sales[0]
    term.append("void", {
        "amount": 600, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 600}],
        "campaigns": [{**stamp_entry("M-SMALL"), "undo": True, "day": DAY}]})
    region.push(term)
    usage = service.wallet_view(region.db, "W-1")["usage"]["maki"]
    assert usage["card"] == [] and usage["done"] == 1
    maki_pay(term, region.charged, 600, [stamp_entry("M-SMALL")])
    region.push(term)
    usage = service.wallet_view(region.db, "W-1")["usage"]["maki"]
    assert usage["card"] == [["M-SMALL", 1]] and usage["done"] == 1
    assert all_flag_kinds(region) == set()
    assert region.balance("funder:city") == -1_000 and region.lot(region.charged) == 1_200
    region.assert_consistent()


def test_a_refund_of_all_of_a_sale_takes_back_the_prize_and_the_discount(region):
    """A refund that gives back all that is left of a sale takes its campaigns back as a
    void does (terminal.counter.refund). Three offline stamps meet at the ledger: ¥600 at
    M-BOOTH and M-LARGE, then ¥600 at the restaurant M-SMALL with ¥200 off (「1スタンプにつき
    200円」: W-1 pays ¥400), whose record completes W-1's card: the ledger grants the ¥1,000
    prize. M-SMALL refunds ¥200, later the ¥200 left, the second refund undoing the stamp.
    The completion is undone (the card holds M-BOOTH's and M-LARGE's stamps again), so the
    prize goes too (else one new stamp would complete the card again: a second prize), and
    the city owes M-SMALL nothing for the ¥200 discount (its settlement: turnover ¥400 −
    ¥400 = 0, campaign 0). The campaigns report counts 2 stamps, 2 uses, no discount, no
    prize. W-1's charged lot: ¥3,000 − ¥600 − ¥600 − ¥400 + ¥400 = ¥1,800."""
    service.create_campaign(region.db, MAKINOHARA)
    sales = []
    for shop in ("M-BOOTH", "M-LARGE", "M-SMALL"):
        term = region.terminal(shop)
        extra = {}
        if shop == "M-SMALL":
            extra = {"discount": 200, "lease": service.request_lease(
                region.db, term.terminal_id, "maki", "shop.M-SMALL", 10)["lease"]["lease_id"]}
        entry = stamp_entry(shop, **extra)
        sales.append((term, entry, maki_pay(term, region.charged, 600, [entry])))
        region.push(term)
    assert region.balance("funder:city") == -1_200
    term, entry, sale = sales[-1]
    term.append("refund", {"amount": 200, "wallet": "W-1", "of": sale.tx_id,
                           "lots": [{"lot": region.charged, "amount": 200}]})
    term.append("refund", {
        "amount": 200, "wallet": "W-1", "of": sale.tx_id,
        "lots": [{"lot": region.charged, "amount": 200}],
        "campaigns": [{**entry, "undo": True, "day": DAY}]})
    region.push(term)
    assert all_flag_kinds(region) == set()
    usage = service.wallet_view(region.db, "W-1")["usage"]["maki"]
    assert usage["card"] == [["M-BOOTH", 1], ["M-LARGE", 1]] and usage["done"] == 0
    assert not [lot for lot in service.wallet_view(region.db, "W-1")["lots"]
                if lot.get("campaign") == "maki" and lot["remaining"]]
    assert region.balance("funder:city") == 0 and region.lot(region.charged) == 1_800
    figures = {c.campaign_id: c for c in reports.campaign_report(region.db)}
    maki = figures["maki"]
    assert (maki.stamps, maki.uses, maki.discounts, maki.owed_prizes, maki.issued) == \
        (2, 2, 0, 0, 0)
    assert [p for p in service.pool_view(region.db, "maki") if p["pool"] == "prize"] == [
        {"pool": "prize", "total": 1, "granted": 0}]
    # The discount's unit of the shop's first 100 went back to its lease: none used.
    assert maki.units_sold == 0
    small = {s.merchant_id: s for s in reports.settlement(region.db, DAY[:7], 1)}["M-SMALL"]
    assert (small.turnover, small.campaign) == (0, 0)
    region.assert_consistent()


def test_a_card_stamped_twice_at_one_shop_is_not_completed_by_the_ledger(region):
    """「異なる店舗のスタンプを3個集めて」 and 「1カード上で同じ店舗のスタンプは発行されません」:
    two offline terminals of the restaurant M-SMALL each stamp W-2's card (once as the
    payer, once as a diner of W-1's party of two paying ¥1,300: ¥650 a share), neither
    knowing the other's stamp, then M-LARGE stamps it (¥600). The card holds stamps of two
    shops only: the second M-SMALL stamp is flagged stamped_here_already, and the ledger
    must not complete the card from it, nor grant the ¥1,000 prize (the city pays
    nothing); usage done 0. A third shop's stamp (M-BOOTH, ¥600) then completes it: done 1,
    one prize (city −¥1,000)."""
    service.create_campaign(region.db, MAKINOHARA)
    w2_lot = service.issue_value(region.db, "W-2", "charged", 3_000, "opening")
    first = region.terminal("M-SMALL")
    maki_pay(first, w2_lot, 600, [stamp_entry("M-SMALL")], wallet="W-2")
    second = region.terminal("M-SMALL")
    maki_pay(second, region.charged, 1_300, [stamp_entry("M-SMALL", people=2)],
             diners=[{"wallet": "W-2", "credential": {"kind": "card", "id": "W-2"},
                      "campaigns": [stamp_entry("M-SMALL", people=2)]}])
    large = region.terminal("M-LARGE")
    maki_pay(large, w2_lot, 600, [stamp_entry("M-LARGE")], wallet="W-2")
    for term in (first, second, large):
        region.push(term)
    assert [f["wallet_id"] for f in region.flags("campaign_stamped_here_already")] == ["W-2"]
    usage = service.wallet_view(region.db, "W-2")["usage"]["maki"]
    assert usage.get("done", 0) == 0
    assert region.balance("funder:city") == 0
    booth = region.terminal("M-BOOTH")
    maki_pay(booth, w2_lot, 600, [stamp_entry("M-BOOTH")], wallet="W-2")
    region.push(booth)
    usage = service.wallet_view(region.db, "W-2")["usage"]["maki"]
    assert usage["done"] == 1 and usage["card"] == []
    assert region.balance("funder:city") == -1_000
    region.assert_consistent()


def test_a_diners_share_counts_the_whole_party(region):
    """「1人当たり600円以上の飲食」: the share is the bill split among the party, and the party
    is at least the payer and each diner named. A record stamping the diner W-2 on a ¥1,000
    bill while saying `people: 1` gives W-2 a share of ¥1,000 // 2 = ¥500 < ¥600: the
    ledger flags W-2's stamp stamps_not_earned (the payer's ¥1,000 payment earns its own)."""
    service.create_campaign(region.db, MAKINOHARA)
    service.issue_value(region.db, "W-2", "charged", 1_000, "opening")
    term = region.terminal()
    maki_pay(term, region.charged, 1_000, [stamp_entry("M-SMALL")],
             diners=[{"wallet": "W-2", "credential": {"kind": "card", "id": "W-2"},
                      "campaigns": [stamp_entry("M-SMALL")]}])
    region.push(term)
    assert [f["wallet_id"] for f in region.flags("campaign_stamps_not_earned")] == ["W-2"]
    region.assert_consistent()


def test_a_completion_the_ledger_finds_wrong_gets_no_prize_from_the_pool(region):
    """W-1's card holds M-SMALL's and M-LARGE's stamps. Two offline terminals of M-BOOTH,
    both with that snapshot and no prize unit on hand, each complete the card with the
    prize owed (`prize_owed`). The first is right: the ledger grants the ¥1,000 prize from
    the pool (10 here). The second completes a card that holds no stamp by then (its
    stamp is the new card's first): flagged completion_wrong, and the ledger must not
    grant a second prize itself (「異なる店舗のスタンプを3個集めて…先着で3,000回分」): the city
    pays ¥1,000 once, the pool counts 1 given."""
    service.create_campaign(region.db, {**MAKINOHARA, "prize": {
        "value": 1000, "quantity": 10, "expires": ENDS}})
    for shop in ("M-SMALL", "M-LARGE"):
        term = region.terminal(shop)
        maki_pay(term, region.charged, 600, [stamp_entry(shop)])
        region.push(term)
    first, second = region.terminal("M-BOOTH"), region.terminal("M-BOOTH")
    for term in (first, second):
        maki_pay(term, region.charged, 600, [stamp_entry("M-BOOTH", complete=True,
                                                         prize_owed=True)])
    region.push(first)
    region.push(second)
    assert all_flag_kinds(region) == {"campaign_completion_wrong"}
    assert region.balance("funder:city") == -1_000
    assert [p for p in service.pool_view(region.db, "maki") if p["pool"] == "prize"] == [
        {"pool": "prize", "total": 10, "granted": 1}]
    region.assert_consistent()


def test_a_stamp_the_ledger_finds_not_earned_does_not_complete_a_card(region):
    """W-2's card holds M-SMALL's and M-BOOTH's stamps. A terminal at M-LARGE (no
    restaurant: 「飲食店では1人当たり600円以上」 does not apply there) stamps W-2 as a diner
    of W-1's ¥1,300 bill: flagged stamps_not_earned. That stamp must not count on W-2's card:
    the ledger does not complete the card from it nor grant the ¥1,000 prize (the city
    pays nothing); the card keeps its two earned stamps, and a third shop's earned stamp
    would complete it."""
    service.create_campaign(region.db, MAKINOHARA)
    w2_lot = service.issue_value(region.db, "W-2", "charged", 2_000, "opening")
    for shop in ("M-SMALL", "M-BOOTH"):
        term = region.terminal(shop)
        maki_pay(term, w2_lot, 600, [stamp_entry(shop)], wallet="W-2")
        region.push(term)
    large = region.terminal("M-LARGE")
    maki_pay(large, region.charged, 1_300, [stamp_entry("M-LARGE", people=2)],
             diners=[{"wallet": "W-2", "credential": {"kind": "card", "id": "W-2"},
                      "campaigns": [stamp_entry("M-LARGE", people=2)]}])
    region.push(large)
    assert [f["wallet_id"] for f in region.flags("campaign_stamps_not_earned")] == ["W-2"]
    usage = service.wallet_view(region.db, "W-2")["usage"]["maki"]
    assert usage.get("done", 0) == 0
    assert usage["card"] == [["M-SMALL", 1], ["M-BOOTH", 1]]
    assert region.balance("funder:city") == 0
    region.assert_consistent()
