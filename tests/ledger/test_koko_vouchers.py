"""Shiga's Koko Coupon (seed 003) at the ledger, on both engines: each rule the counter keeps
is re-checked when the records arrive.

The records here are made on tests.conftest.StepClock's day, 2026-11-22, so the seed's
calendar is moved to put that day in the first sale period, keeping its shape:

    1次販売 (seed: 12月6日～20日)       here 2026-11-16..2026-11-30
    2次販売 (seed: 1月11日～1月28日)     here 2027-01-11..2027-01-28
    利用期間 (seed: 1月8日～2月28日)     here 2027-01-08..2027-02-28

The figures are the seed's: ① ¥5,000 → ¥3,000 common + ¥4,500 exclusive, ② ¥10,000 →
¥6,000 + ¥9,000, 約90,000セット(10,000円換算), one purchase per person per sale period.
"""

from __future__ import annotations

import pytest

from ledger import online, reports, service
from ledger.schema import MIGRATIONS, migrate
from sync import campaigns, ids
from tests.ledger.test_campaigns import DAY, flag_details
from tests.ledger.test_ingest import Region

USE_STARTS, ENDS = "2027-01-08", "2027-02-28"
SETS = {5000: (3000, 4500), 10000: (6000, 9000)}
KOKO = {"id": "koko", "kind": "premium_voucher", "name": "ここクーポン", "starts": "2026-11-16",
        "ends": ENDS, "funder": "shiga",
        "sets": [{"price": p, "common": c, "exclusive": e} for p, (c, e) in SETS.items()],
        "common_expires": ENDS, "exclusive_expires": ENDS, "min_spend": 1500,
        "quantity": 90000, "quantity_unit": 10000, "use_starts": USE_STARTS,
        "sale_periods": [{"id": "1", "starts": "2026-11-16", "ends": "2026-11-30"},
                         {"id": "2", "starts": "2027-01-11", "ends": "2027-01-28"}],
        "per_wallet": {"max": 1, "per": "sale_period"}}


@pytest.fixture
def region(ledger_db, tmp_path):
    region = Region(ledger_db, tmp_path)
    service.create_campaign(ledger_db, KOKO)
    service.create_campaign(ledger_db, {**KOKO, "id": "koko-app", "channels": ["app"]})
    return region


def booth(region: Region):
    """A voucher booth with a lease of 20 units (40 halves) of each campaign's stock."""
    term = region.terminal("M-BOOTH")
    term.koko_leases = {cid: service.request_lease(region.db, term.terminal_id, cid, "all",
                                                   40)["lease"]["lease_id"]
                        for cid in ("koko", "koko-app")}
    return term


def sell(term, price: int, wallet: str = "W-1", units: int | None = None,
         period: str = "1", shown: str = "card", campaign: str = "koko",
         tx_id: str | None = None, usable_from: str | None = USE_STARTS):
    """A voucher set sold at a booth as Counter.buy_voucher writes it (its units: halves
    of a 10,000円 unit, unless told otherwise)."""
    common, exclusive = SETS[price]
    paid = campaigns.split_paid(price, [common, exclusive])
    entry = {"campaign": campaign, "kind": "premium_voucher", "set": price, "period": period,
             "lease": term.koko_leases[campaign]}
    units = campaigns.set_units(KOKO_RULE, price) if units is None else units
    if units != 1:
        entry["units"] = units
    lots = [{"lot": "L-" + ids.new_id(), "pocket": pocket, "amount": amount, "paid": cash,
             "funder": "shiga", "expires": ENDS, "campaign": campaign,
             **({"usable_from": usable_from} if usable_from else {}), **extra}
            for (pocket, amount, extra), cash in zip(
                (("premium_common", common, {}),
                 ("premium_exclusive", exclusive, {"classes": ["small"]})), paid,
                strict=True)]
    return term.append("charge", {"amount": price, "wallet": wallet, "lots": lots,
                                  "campaigns": [entry], "credential": {"kind": shown}},
                       tx_id=tx_id)


def problems(region: Region) -> list[str]:
    return sorted(f["detail"]["problem"] for f in service.list_flags(region.db)
                  if f["kind"].startswith("campaign_"))


def test_usable_from_is_kept_sent_and_early_spending_flagged(region):
    """② sold on 2026-11-22 (1次販売): lots of ¥6,000 common and ¥9,000 exclusive, both
    usable from 2027-01-08, kept by the ledger and sent with the wallet. A ¥2,000 payment
    from the exclusive lot on 2026-11-22, before the use period, is flagged
    `lot_not_usable_yet` (and posted: the goods were handed over): ¥7,000 left there."""
    shop, seller = region.terminal(), booth(region)
    sale = sell(seller, 10_000)
    region.push(seller)
    lots = {lot["pocket"]: lot for lot in service.wallet_view(region.db, "W-1")["lots"]
            if lot.get("campaign") == "koko"}
    assert {(p, lot["remaining"], lot["usable_from"]) for p, lot in lots.items()} == {
        ("premium_common", 6_000, USE_STARTS), ("premium_exclusive", 9_000, USE_STARTS)}
    snap = service.snapshot(region.db, shop.terminal_id, None, overlap_us=0)
    sent = next(w for w in snap["wallets"] if w["wallet"] == "W-1")
    assert {lot.get("usable_from") for lot in sent["lots"] if lot.get("campaign")} == \
        {USE_STARTS}
    exclusive = next(line["lot"] for line in sale.record["body"]["lots"]
                     if line["pocket"] == "premium_exclusive")
    shop.append("payment", {"amount": 2_000, "wallet": "W-1", "decision": "offline",
                            "credential": {"kind": "card", "id": "W-1"},
                            "lots": [{"lot": exclusive, "amount": 2_000}]})
    region.push(shop)
    assert flag_details(region, "lot_not_usable_yet") == [
        {"lot": exclusive, "usable_from": USE_STARTS}]
    assert region.lot(exclusive) == 7_000
    region.assert_consistent()


def test_a_set_sold_before_the_use_period_without_its_usable_from_day_is_flagged(region):
    """① sold on 2026-11-22 (before 利用期間 starts 2027-01-08) with lots usable at once:
    both lots (¥3,000 + ¥4,500) are flagged `campaign_usable_from`; the sale is posted."""
    seller = booth(region)
    sale = sell(seller, 5_000, usable_from=None)
    region.push(seller)
    flagged = sorted(d["lot"] for d in flag_details(region, "campaign_usable_from"))
    assert flagged == sorted(line["lot"] for line in sale.record["body"]["lots"])
    assert {d["usable_from"] for d in flag_details(region, "campaign_usable_from")} == \
        {USE_STARTS}
    region.assert_consistent()


def test_voucher_value_paying_below_the_minimum_is_flagged(region):
    """※1回あたり1,500円以上の支払いが対象: ② bought (its lots written usable at once, so
    that only the minimum is in question); a ¥1,499 purchase paid from its ¥9,000 exclusive
    lot is flagged `campaign_min_spend` (¥1,499 < ¥1,500); a ¥1,500 one is not. Both are
    posted: ¥9,000 − ¥1,499 − ¥1,500 = ¥6,001 left."""
    seller, shop = booth(region), region.terminal()
    sale = sell(seller, 10_000, usable_from=None, period="1")
    region.push(seller)
    exclusive = next(line["lot"] for line in sale.record["body"]["lots"]
                     if line["pocket"] == "premium_exclusive")
    for amount in (1_499, 1_500):
        shop.append("payment", {"amount": amount, "wallet": "W-1", "decision": "online",
                                "credential": {"kind": "card", "id": "W-1"},
                                "lots": [{"lot": exclusive, "amount": amount}]})
    region.push(shop)
    assert flag_details(region, "campaign_min_spend") == [
        {"campaign": "koko", "problem": "min_spend", "lot": exclusive, "base": 1_499,
         "min_spend": 1_500}]
    assert region.lot(exclusive) == 9_000 - 1_499 - 1_500
    region.assert_consistent()


def test_two_offline_booths_selling_one_person_in_one_period_are_flagged(region):
    """販売期ごとに1人あたり…1回購入可: two booths offline each sell W-1 a set in sale period
    1 (② ¥10,000 and ① ¥5,000): the second to arrive is flagged `wallet_limit`; both are
    posted (¥15,000 cash taken, ¥22,500 of value). W-2's one set is not flagged."""
    one, two = booth(region), booth(region)
    sell(one, 10_000)
    sell(two, 5_000)
    sell(two, 5_000, wallet="W-2")
    region.push(one)
    region.push(two)
    assert problems(region) == ["wallet_limit"]
    (flag,) = region.flags("campaign_wallet_limit")
    assert flag["wallet_id"] == "W-1" and flag["terminal_id"] == two.terminal_id
    assert service.wallet_view(region.db, "W-1")["usage"]["koko"]["sp"] == {"1": 2}
    region.assert_consistent()


def test_online_one_set_per_person_per_period_holds_across_booths(region):
    """Online, the ledger decides: booth 1 asks to sell W-1 a set in period 1 (claimed);
    booth 2 asking for W-1 in the same period is refused (`limit`) though booth 1's record
    has not arrived; after it arrives booth 2 is still refused. The 2nd period's day is
    another period: claimed."""
    one, two = region.terminal("M-BOOTH"), region.terminal("M-BOOTH")
    tx = ids.new_id()

    def ask(term, day=DAY, tx_id=None):
        return online.check(region.db, term.terminal_id, {
            "tx": tx_id or ids.new_id(), "wallet": "W-1",
            "campaign": {"id": "koko", "day": day, "units": 1}})["campaign"]

    assert ask(one, tx_id=tx) == "claimed"
    assert ask(two) == "limit"
    one.koko_leases = booth(region).koko_leases
    sell(one, 10_000, tx_id=tx)
    region.push(one)
    assert ask(two) == "limit"
    assert ask(two, day="2027-01-12") == "claimed"


def test_a_set_sold_onto_a_card_where_only_the_app_may_buy_is_flagged(region):
    """購入方法：ココクーポン専用アプリから購入: `koko-app` sells through the app only. ① sold
    to W-1 shown as a card is flagged `channel`; ① sold to W-2 through the app is not. The
    campaign open to both (`koko`) takes a card."""
    seller = booth(region)
    sell(seller, 5_000, campaign="koko-app", shown="card")
    sell(seller, 5_000, wallet="W-2", campaign="koko-app", shown="app")
    sell(seller, 5_000, wallet="W-3", campaign="koko", shown="card")
    service.create_wallet(region.db, "card", "W-3")
    region.push(seller)
    assert problems(region) == ["channel"]
    (flag,) = region.flags("campaign_channel")
    assert flag["wallet_id"] == "W-1" and flag["detail"]["campaign"] == "koko-app"


def test_the_stock_leases_and_report_count_10000_yen_units(region):
    """約90,000セット(10,000円換算): the pool holds 90,000 units = 180,000 halves. A booth
    leases 20 units (40 halves). It sells ② to W-1 (one unit: 2 halves), ① to W-2 and W-3
    (half a unit each: 1 half), and ② to W-4 written as taking 1 half, flagged
    `wrong_units`. The lease counts what the records say: 2 + 1 + 1 + 1 = 5 halves = 2.5
    units. The campaigns report: 20 of 90,000 units lent, 2.5 sold, value issued ¥15,000 +
    ¥7,500 + ¥7,500 + ¥15,000 = ¥45,000."""
    seller = booth(region)
    for wallet_id in ("W-3", "W-4"):
        service.create_wallet(region.db, "card", wallet_id)
    sell(seller, 10_000)
    sell(seller, 5_000, wallet="W-2")
    sell(seller, 5_000, wallet="W-3")
    sell(seller, 10_000, wallet="W-4", units=1)
    region.push(seller)
    assert problems(region) == ["wrong_units"]
    with region.db.reading() as conn:
        assert conn.value("SELECT used FROM leases WHERE lease_id = ?",
                          (seller.koko_leases["koko"],)) == 5
    (koko,) = [c for c in reports.campaign_report(region.db, DAY, DAY)
               if c.campaign_id == "koko"]
    assert koko.pools == {"all": (40, 180_000)}
    assert koko.pool_units == {"all": ("20", "90,000")}
    assert (koko.quantity_unit, campaigns.units_text(KOKO_RULE, koko.units_sold)) == \
        (10_000, "2.5")
    assert koko.issued == 45_000
    headers, rows = reports.campaign_table([koko])
    assert "all 20/90,000 (¥10,000)" in rows[0][headers.index("配分 (済/総数)")]


KOKO_RULE = campaigns.validate(KOKO)


def test_a_ledger_from_before_usable_from_is_upgraded_and_its_lots_kept(region):
    """A ledger migrated before lots had a usable-from day: the migration adds the column
    (found by its name, whatever its number), W-1's ¥4,500 exclusive lot is kept and sent
    with no usable-from day (usable at once), and a set sold afterwards keeps 2027-01-08."""
    (number, name, _) = next(m for m in MIGRATIONS if "usable-from" in m[1])

    def back(conn) -> None:
        conn.execute("ALTER TABLE lots DROP COLUMN usable_from")
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", (number,))

    region.db.transaction(back)
    assert migrate(region.db) == [number]
    lots = {lot["lot"]: lot for lot in service.wallet_view(region.db, "W-1")["lots"]}
    assert lots[region.exclusive]["remaining"] == 4_500
    assert "usable_from" not in lots[region.exclusive]
    seller = booth(region)
    sell(seller, 5_000)
    region.push(seller)
    assert {lot.get("usable_from") for lot in service.wallet_view(region.db, "W-1")["lots"]
            if lot.get("campaign") == "koko"} == {USE_STARTS}
    assert name.startswith("lots' usable-from day")
