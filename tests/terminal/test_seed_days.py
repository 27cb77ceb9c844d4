"""One full business day per seed scheme, against a real ledger process (SQLite) on
127.0.0.1, driven only through the register's command line (tests/terminal/seedday.py):
the terminals' 日計表 after the Z close, the ledger's tally of the same day, its campaigns
report, settlement and KPIs, and the wallets' balances at the ledger, compared figure by
figure with the hand computation in each test's docstring, made from the seed documents
(../shared/seeds). Seeds 003 and 004 follow when their rules are merged."""

from __future__ import annotations

import pytest

from tests.terminal.seedday import Town, assert_same_sheet

pytestmark = pytest.mark.slow


@pytest.fixture
def town(tmp_path):
    with Town(tmp_path) as made:
        yield made


def test_seed_000_hokuto_coupons_for_a_day(town):
    """Seed 000 (北斗市商工会「LINEクーポン」): 「割引額は 500 円(税込)以上で 150 円割引、
    5,000 円(税込)以上で 1,500円割引など、参加店が割引率を選択することができる」; the
    coupons are the city's (「北斗市地域商業ウィズコロナ対策支援補助金」: funder
    hokuto-city); 「10 日程でクーポンが無くなる」: each shop's stock runs out (here 3 a
    shop); 「北斗市商工会会員が参加登録」: only the shops that signed up (the booth did not).
    One coupon per customer a day (the docs/campaigns.md example's rule).

    Booth (窓口, not taking part): cards A, B, C, D at the ledger; card E issued here; cash
    top-ups A ¥10,000, B ¥10,000, C ¥10,000, D ¥3,000, E ¥2,000 = ¥35,000 cash; Z close
    counted ¥35,000.

    Gas station (town tiers ≥¥500 → ¥150, ≥¥5,000 → ¥1,500; 3 coupons):
      g1 A ¥6,000 → ¥1,500 off, pays ¥4,500            (coupon 1 of 3)
      g2 B ¥480   → under ¥500: no coupon, pays ¥480
      g3 B ¥3,000 → ¥150 off, pays ¥2,850               (coupon 2 of 3)
      g4 A ¥1,000 → A had today's coupon: pays ¥1,000
      g5 C ¥5,000 → ¥1,500 off, pays ¥3,500             (coupon 3 of 3)
      g6 D ¥2,000 → stock gone: pays ¥2,000
      g7 D ¥5,000 → D holds ¥1,000: refused (insufficient), nothing recorded
      void of g4 (¥1,000 back to A); refund ¥850 of g3 (to B)
    payments 6, ¥4,500 + 480 + 2,850 + 1,000 + 3,500 + 2,000 = ¥14,330; void 1, ¥1,000;
    refund 1, ¥850; net sales ¥14,330 − 1,000 − 850 = ¥12,480; coupon uses 3, discount
    ¥1,500 + 150 + 1,500 = ¥3,150.

    Café (its own tiers: ≥¥1,000 → ¥300):
      k1 B ¥1,200 → B had today's coupon at the gas station: pays ¥1,200
      k2 E ¥1,000 → ¥300 off, pays ¥700
      k3 D ¥800   → ≥¥500 but under the café's ¥1,000: pays ¥800
    payments 3, ¥2,700; coupon uses 1, discount ¥300.

    Campaigns report (hokuto): uses 4, discounts ¥3,450, funded by hokuto-city ¥3,450; pools
    after the Z closes gave the leases back: gas 3 of 3 used, café 1 of 3.
    Settlement (plan 2, 1.88 %): gas turnover ¥12,480 + ¥3,150 from the city = ¥15,630, fee
    ¥293 (15,630 × 1.88 % = 293.8), payout ¥15,337; café ¥2,700 + 300 = ¥3,000, fee ¥56,
    payout ¥2,944.
    Balances at the ledger: A 10,000 − 4,500 − 1,000 + 1,000 = ¥5,500; B 10,000 − 480 −
    2,850 + 850 − 1,200 = ¥6,320; C ¥6,500; D 3,000 − 2,000 − 800 = ¥200; E ¥1,300."""
    town.merchant("M-BOOTH", "北斗市商工会 窓口")
    town.merchant("M-GAS", "北斗石油", plan=2)
    town.merchant("M-CAFE", "カフェ北斗", plan=2)
    town.campaign({"id": "hokuto", "kind": "threshold_coupon", "name": "北斗 LINEクーポン",
                   "funder": "hokuto-city", "shops": ["M-GAS", "M-CAFE"],
                   "tiers": [{"min": 500, "off": 150}, {"min": 5_000, "off": 1_500}],
                   "shop_tiers": {"M-CAFE": [{"min": 1_000, "off": 300}]},
                   "quantity": 3, "quantity_per": "shop",
                   "per_wallet": {"max": 1, "per": "day"}})
    a, b, c, d = (town.card() for _ in range(4))
    e = "8000 0000 0000 1233"  # as printed on the card
    booth = town.till("M-BOOTH")
    issued = booth.do("issue-card", card=e, age_band="40s", area="北斗")
    assert issued["kind"] == "card_issue"
    for card, cash in ((a, 10_000), (b, 10_000), (c, 10_000), (d, 3_000), (e, 2_000)):
        assert booth.do("charge", credential=card, amount=cash)["paid_by"] == \
            {"charged": cash}
    booth_sheet = booth.close_day(counted=35_000)

    gas = town.till("M-GAS")
    g1 = gas.do("sale", credential=a, amount=6_000)
    assert (g1["price"], g1["amount"], g1["campaigns"][0]["discount"]) == (6_000, 4_500, 1_500)
    assert gas.do("sale", credential=b, amount=480)["campaigns"] == []
    g3 = gas.do("sale", credential=b, amount=3_000)
    assert g3["amount"] == 2_850
    g4 = gas.do("sale", credential=a, amount=1_000)
    assert g4["amount"] == 1_000 and g4["notes"]  # the customer's coupon of the day is used
    assert gas.do("sale", credential=c, amount=5_000)["amount"] == 3_500
    g6 = gas.do("sale", credential=d, amount=2_000)
    assert g6["amount"] == 2_000 and g6["notes"]  # sold out at this shop
    refused = gas.do("sale", credential=d, amount=5_000, expect="refused")
    assert refused["code"] == "insufficient" and refused["details"] == {"available": 1_000}
    assert gas.do("void", tx=g4["tx_id"])["amount"] == 1_000
    assert gas.do("refund", tx=g3["tx_id"], amount=850)["amount"] == 850
    gas.sync()  # the café's online check then knows B's coupon of the day

    cafe = town.till("M-CAFE")
    assert cafe.do("sale", credential=b, amount=1_200)["amount"] == 1_200
    assert cafe.do("sale", credential=e, amount=1_000)["amount"] == 700
    assert cafe.do("sale", credential=d, amount=800)["amount"] == 800

    gas_sheet, cafe_sheet = gas.close_day(counted=0), cafe.close_day(counted=0)
    day = gas_sheet.business_date

    assert booth_sheet.counts == {"card_issue": 1, "charge": 5}
    assert booth_sheet.yen == {"charge": 35_000}
    assert (booth_sheet.cash_expected, booth_sheet.cash_difference) == (35_000, 0)
    assert gas_sheet.counts == {"payment": 6, "void": 1, "refund": 1}
    assert gas_sheet.yen == {"payment": 14_330, "void": 1_000, "refund": 850}
    assert gas_sheet.net_sales == 12_480
    assert gas_sheet.by_pocket == {"charged": 14_330}
    assert gas_sheet.by_decision == {"online": 14_330}
    assert gas_sheet.campaigns == {"hokuto": {"uses": 3, "discount": 3_150}}
    assert cafe_sheet.yen == {"payment": 2_700} and cafe_sheet.net_sales == 2_700
    assert cafe_sheet.campaigns == {"hokuto": {"uses": 1, "discount": 300}}
    for till, sheet in ((booth, booth_sheet), (gas, gas_sheet), (cafe, cafe_sheet)):
        assert_same_sheet(sheet, town.ledger_sheet(till, day))

    hokuto = town.campaigns(day)["hokuto"]
    assert (hokuto.uses, hokuto.discounts) == (4, 3_450)
    assert hokuto.funders == {"hokuto-city": 3_450}
    assert hokuto.pools == {"shop.M-GAS": (3, 3), "shop.M-CAFE": (1, 3)}
    settled = town.settlement(day[:7], 2)
    assert (settled["M-GAS"].turnover, settled["M-GAS"].campaign, settled["M-GAS"].fee,
            settled["M-GAS"].payout) == (12_480, 3_150, 293, 15_337)
    assert (settled["M-CAFE"].turnover, settled["M-CAFE"].campaign, settled["M-CAFE"].fee,
            settled["M-CAFE"].payout) == (2_700, 300, 56, 2_944)
    totals = {card: town.balance(town.wallet_of(card))["total"] for card in (a, b, c, d)}
    assert totals == {a: 5_500, b: 6_320, c: 6_500, d: 200}
    assert town.balance(town.wallet_of("8000000000001233"))["total"] == 1_300
    assert not town.flags()
