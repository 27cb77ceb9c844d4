"""One full business day per seed scheme, against a real ledger process (SQLite) on
127.0.0.1, driven only through the register's command line (tests/terminal/seedday.py):
the terminals' 日計表 after the Z close, the ledger's tally of the same day, its campaigns
report, settlement and KPIs, and the wallets' balances at the ledger, compared figure by
figure with the hand computation in each test's docstring, made from the seed documents
(../shared/seeds), and the town's liability report (ledger/liability.py)."""

from __future__ import annotations

from datetime import date, timedelta

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
    after the Z closes gave the leases back and the closes' rounds leased afresh for the next
    day (#16.4): gas 3 of 3 granted (all used), café 3 of 3 (1 used, the 2 left leased again).
    Settlement (plan 2, 1.88 %): gas turnover ¥12,480 + ¥3,150 from the city = ¥15,630, fee
    ¥293 (15,630 × 1.88 % = 293.8), payout ¥15,337; café ¥2,700 + 300 = ¥3,000, fee ¥56,
    payout ¥2,944.
    Balances at the ledger: A 10,000 − 4,500 − 1,000 + 1,000 = ¥5,500; B 10,000 − 480 −
    2,850 + 850 − 1,200 = ¥6,320; C ¥6,500; D 3,000 − 2,000 − 800 = ¥200; E ¥1,300.
    Liability (charged money only): issued ¥35,000, spent 14,330 − 1,000 − 850 + 2,700 =
    ¥15,180 (net of the void and the refund), outstanding ¥19,820 = the balances' sum, the
    holders' own cash."""
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

    x_report = gas.sheet()  # the X report: the open day so far, nothing written
    gas_sheet, cafe_sheet = gas.close_day(counted=0), cafe.close_day(counted=0)
    day = gas_sheet.business_date
    assert (x_report.closed, gas_sheet.closed) == (False, True)
    assert (x_report.counts, x_report.yen, x_report.campaigns) == \
        (gas_sheet.counts, gas_sheet.yen, gas_sheet.campaigns)

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
    # the printed sheets, the shop's and the town office's, are the same file
    assert gas.tally_csv(day) == town.tally_csv("M-GAS", day)
    town.cli("report", "reconcile", "--date", day)  # exit 0: every close matches

    hokuto = town.campaigns(day)["hokuto"]
    assert (hokuto.uses, hokuto.discounts) == (4, 3_450)
    assert hokuto.funders == {"hokuto-city": 3_450}
    assert hokuto.pools == {"shop.M-GAS": (3, 3), "shop.M-CAFE": (3, 3)}
    settled = town.settlement(day[:7], 2)
    assert (settled["M-GAS"].turnover, settled["M-GAS"].campaign, settled["M-GAS"].fee,
            settled["M-GAS"].payout) == (12_480, 3_150, 293, 15_337)
    assert (settled["M-CAFE"].turnover, settled["M-CAFE"].campaign, settled["M-CAFE"].fee,
            settled["M-CAFE"].payout) == (2_700, 300, 56, 2_944)
    totals = {card: town.balance(town.wallet_of(card))["total"] for card in (a, b, c, d)}
    assert totals == {a: 5_500, b: 6_320, c: 6_500, d: 200}
    assert town.balance(town.wallet_of("8000000000001233"))["total"] == 1_300
    owed = town.liability(day)
    assert {p: (f.issued, f.spent, f.outstanding) for p, f in owed.pockets.items()
            if f.issued} == {"charged": (35_000, 15_180, 19_820)}
    assert {f: x.outstanding for f, x in owed.funders.items() if x.outstanding} == \
        {"cash": 19_820}
    assert not town.flags()


def test_seed_001_lovesaijo_fee_plans_for_a_day(town):
    """Seed 001 (LOVESAIJO 地域応援協力金の見直し): 見直し案① 「基本料金 1,100円/月」 +
    「取引額の1.55% (還元1% + ポイント活用推進費0.55%)」, billed as 「地域応援協力金が1100円を
    超えない場合は基本料金のみのご請求、1100円を超えた場合は、基本料金＋超過部分のご請求」
    (the larger of ¥1,100 and 1.55 %); 見直し案② 「取引額の1.88%」; 見直し案③ 「取引額の2.1%」;
    the 1 % 還元 goes back to users as points (a cash_back campaign of 1 %, funded by the
    council, here expiring so that points are spent first). Every figure rounds down.

    Booth: cash top-ups W1..W4 ¥40,000 each = ¥160,000; float in ¥10,000, out ¥5,000; cash
    expected 160,000 + 10,000 − 5,000 = ¥165,000, counted ¥164,000: difference −¥1,000.

    BIG:   b1 W1 ¥40,000 (+400 pt), b2 W2 ¥40,000 (+400 pt), refund ¥10,000 of b1 (the
           points stay: a partial refund keeps the campaigns) → turnover ¥70,000
    MID:   m1 W3 ¥35,000 (+350 pt), m2 W4 ¥25,000 (+250 pt) → ¥60,000
    SMALL: s1 W3 ¥5,000: 350 pt + ¥4,650 charged (+50 pt); s2 W4 ¥15,000: 250 pt + ¥14,750
           (+150 pt); s3 W1 ¥400 in points (+4 pt); s4 W2 ¥1,000: holds 400 pt, refused
           (insufficient, ¥400 usable); s5 W2 ¥400 in points (+4 pt) → ¥20,800, of which
           points 350 + 250 + 400 + 400 = 1,400 and charged 4,650 + 14,750 = 19,400.

    Cash-back: BIG 2 uses 800 pt, MID 2 uses 600 pt, SMALL 4 uses 50 + 150 + 4 + 4 = 208 pt;
    the report: 8 uses, 1,608 pt issued, paid by the council.

    Settlement (fee; 1 % returned; payout = turnover − fee):
      plan 1  BIG max(1,100, 70,000 × 1.55 % = 1,085) = 1,100 → 68,900;
              MID max(1,100, 930) = 1,100 → 58,900; SMALL max(1,100, 322) = 1,100 → 19,700
      plan 2  BIG 1,316 → 68,684; MID 1,128 → 58,872; SMALL 391 (391.04) → 20,409
      plan 3  BIG 1,470 → 68,530; MID 1,260 → 58,740; SMALL 436 (436.8) → 20,364
      returned: BIG 700, MID 600, SMALL 208. As the seed says, plan 1 is the cheaper above
      about ¥58,000 a month (「月間取引額58,000円以上の店舗の場合割安」: MID 1,100 < 1,128)
      and plan 2 below (「58,000円以下の店舗の場合割安」: SMALL 391 < 1,100). The booth has
      no turnover: nothing under any plan, plan 1's ¥1,100 base included (#16 rule 5: the
      base is paid toward the 協力金 on 取引額, and there is none).
    Balances: W1 40,000 − 40,000 + 10,000 + 400 − 400 + 4 = ¥10,004; W2 ¥4; W3 350 + 50 =
    ¥400; W4 250 + 150 = ¥400.
    Liability: charged issued ¥160,000, spent 70,000 + 60,000 + 19,400 = ¥149,400,
    outstanding ¥10,600 (cash); points issued ¥1,608, spent ¥1,400, outstanding ¥208
    (saijo-council); 10,600 + 208 = ¥10,808 = the balances' sum."""
    town.merchant("M-BOOTH", "LOVESAIJO 窓口")
    town.merchant("M-BIG", "西条スーパー")
    town.merchant("M-MID", "西条書店")
    town.merchant("M-SMALL", "西条パン")
    town.campaign({"id": "saijo-return", "kind": "cash_back", "name": "LOVESAIJO 還元1%",
                   "funder": "saijo-council", "rate_pct": 1, "cap": 3_000,
                   "cap_per": "month", "expires": "2030-12-31",
                   "shops": ["M-BIG", "M-MID", "M-SMALL"]})
    w1, w2, w3, w4 = (town.card() for _ in range(4))
    booth = town.till("M-BOOTH")
    booth.do("cash", amount=10_000, direction="in", reason="釣銭準備")
    for card in (w1, w2, w3, w4):
        booth.do("charge", credential=card, amount=40_000)
    booth.do("cash", amount=5_000, direction="out")
    booth_sheet = booth.close_day(counted=164_000)

    big, mid, small = town.till("M-BIG"), town.till("M-MID"), town.till("M-SMALL")
    b1 = big.do("sale", credential=w1, amount=40_000)
    assert b1["campaigns"][0]["points"] == 400 and b1["balance_after"] == 400
    big.do("sale", credential=w2, amount=40_000)
    assert big.do("refund", tx=b1["tx_id"], amount=10_000)["campaigns"] == []
    mid.do("sale", credential=w3, amount=35_000)
    code, m2 = mid.run("sale", "--credential", w4, "--amount", "25,000")  # a real process
    assert (code, m2["status"], m2["amount"], m2["campaigns"][0]["points"]) == \
        (0, "approved", 25_000, 250)
    assert small.do("sale", credential=w3, amount=5_000)["paid_by"] == \
        {"points": 350, "charged": 4_650}
    assert small.do("sale", credential=w4, amount=15_000)["paid_by"] == \
        {"points": 250, "charged": 14_750}
    assert small.do("sale", credential=w1, amount=400)["paid_by"] == {"points": 400}
    refused = small.do("sale", credential=w2, amount=1_000, expect="refused")
    assert (refused["code"], refused["details"]) == ("insufficient", {"available": 400})
    assert small.do("sale", credential=w2, amount=400)["paid_by"] == {"points": 400}
    sheets = {till: till.close_day(counted=0) for till in (big, mid, small)}
    day = booth_sheet.business_date

    assert booth_sheet.yen == {"charge": 160_000}
    assert (booth_sheet.float_in, booth_sheet.float_out) == (10_000, 5_000)
    assert (booth_sheet.cash_expected, booth_sheet.cash_difference) == (165_000, -1_000)
    assert (sheets[big].yen, sheets[big].net_sales) == \
        ({"payment": 80_000, "refund": 10_000}, 70_000)
    assert sheets[mid].net_sales == 60_000
    assert sheets[small].by_pocket == {"points": 1_400, "charged": 19_400}
    assert sheets[small].net_sales == 20_800
    assert [sheets[till].campaigns["saijo-return"] for till in (big, mid, small)] == \
        [{"uses": 2, "points": 800}, {"uses": 2, "points": 600}, {"uses": 4, "points": 208}]
    for till, sheet in ((booth, booth_sheet), *sheets.items()):
        assert_same_sheet(sheet, town.ledger_sheet(till, day))

    cash_back = town.campaigns(day)["saijo-return"]
    assert (cash_back.uses, cash_back.issued, cash_back.funders) == \
        (8, 1_608, {"saijo-council": 1_608})
    expected = {1: {"M-BIG": (1_100, 68_900), "M-MID": (1_100, 58_900),
                    "M-SMALL": (1_100, 19_700), "M-BOOTH": (0, 0)},
                2: {"M-BIG": (1_316, 68_684), "M-MID": (1_128, 58_872), "M-SMALL": (391, 20_409),
                    "M-BOOTH": (0, 0)},
                3: {"M-BIG": (1_470, 68_530), "M-MID": (1_260, 58_740), "M-SMALL": (436, 20_364),
                    "M-BOOTH": (0, 0)}}
    for plan, shops in expected.items():
        settled = town.settlement(day[:7], plan)
        assert {m: (settled[m].fee, settled[m].payout) for m in shops} == shops, plan
        assert {m: settled[m].user_return for m in ("M-BIG", "M-MID", "M-SMALL")} == \
            {"M-BIG": 700, "M-MID": 600, "M-SMALL": 208}
        assert {m: settled[m].turnover for m in ("M-BIG", "M-MID", "M-SMALL")} == \
            {"M-BIG": 70_000, "M-MID": 60_000, "M-SMALL": 20_800}
    # the town office's own command line says the same (plan 1, CSV)
    rows = town.cli("report", "settlement", "--month", day[:7], "--plan", "1").splitlines()
    assert any("M-BIG" in row and "68900" in row.replace(",", "") for row in rows), rows
    totals = [town.balance(town.wallet_of(card))["total"] for card in (w1, w2, w3, w4)]
    assert totals == [10_004, 4, 400, 400]
    owed = town.liability(day)
    assert {p: (f.issued, f.spent, f.outstanding) for p, f in owed.pockets.items()
            if f.issued} == {"charged": (160_000, 149_400, 10_600), "points": (1_608, 1_400, 208)}
    assert {f: x.outstanding for f, x in owed.funders.items() if x.outstanding} == \
        {"cash": 10_600, "saijo-council": 208}
    assert not town.flags()


def test_seed_002_tomamae_kpis_for_a_day(town):
    """Seed 002 (苫前町 デジタル地域通貨): KPI① 「デジタル地域通貨サービス登録者数」 and KPI②
    「デジタル地域通貨決済額（流通額）」, from a day with what the document names: cards for
    those without a phone (「カードタイプでも発行ができるため、スマートフォンを持たない高齢者等
    でも利用可能」), 「各種給付事業」 (出産祝い金 as points), volunteer points (「ボランティア等に
    参加した住民への地域ポイントの付与」), demand-transit ride tickets (「デマンド交通の利用者
    認証や利用チケットの配布」) and hometown-tax digital gifts (「ふるさと納税の返礼品として
    使えるデジタルギフト」). The amounts are the day's (the document gives yearly targets).

    Users: A an app wallet (30s, 苫前) made at the ledger; K1 (70s, 古丹別) and K2 (80s,
    苫前, PIN 4321 typed on standard input) cards issued at the town office's booth.
    Booth: top-ups A ¥10,000 (by the app's code), K1 ¥5,000, K2 ¥5,000; volunteer points to
    K1 500 + 500 pt (2 a month: the third is refused); 10 rides to A; 出産祝い金 10,000 pt
    to A. Booth sheet: card_issue 2, charge 3 (¥20,000), grant 4.

    Shop (small): s1 A ¥1,200 (app), s2 A ¥800 (app), s3 K1 ¥2,000: the volunteer points
    expire, so they go first: 1,000 pt + ¥1,000 charged; s4 a ¥3,000 gift code for ¥3,500 of
    goods: ¥3,000 paid by the code, ¥500 left to pay otherwise. Sheet: payments 3 ¥4,000,
    gift 1 ¥3,000, net sales ¥7,000; charged 1,200 + 800 + 1,000 = ¥3,000, points ¥1,000,
    gift ¥3,000.
    Co-op (large): c1 K2 ¥3,500 without the PIN: refused (pin_required, above ¥3,000);
    c2 the same with the PIN: ¥3,500; c3 A ¥5,000 (app); c4 K1 ¥1,000. Payments ¥9,500.
    Bus: A one ride (¥500 to the operator from the town; 9 left); K1 has no rides: refused.

    KPIs of the day: users app 1, card 2; age bands 30s, 70s, 80s one each; areas 苫前 2,
    古丹別 1. 流通額 (payments) 4,000 + 9,500 = ¥13,500. Issued: points 500 + 500 + 10,000 =
    11,000, rides 10. Spent: charged 1,200 + 800 + 1,000 + 3,500 + 5,000 + 1,000 = ¥12,500,
    points ¥1,000. By credential: app 1,200 + 800 + 5,000 = ¥7,000 (52 %), card 2,000 +
    3,500 + 1,000 = ¥6,500 (48 %). Shop: 2 customers, 3 payments, A came twice (repeat 50
    %), average ¥4,000 / 3 = ¥1,333; co-op: 3 customers, 3 payments, repeat 0 %, average
    ¥9,500 / 3 = ¥3,166.
    Campaigns: volunteer 2 uses, 1,000 pt issued by the town; rides 10 granted, 1 taken,
    the town pays ¥500; the gift code: 1 use, ¥3,000 spent, paid by the hometown-tax fund.
    Balances: A 10,000 − 1,200 − 800 − 5,000 + 10,000 pt = ¥13,000; K1 5,000 + 1,000 −
    2,000 − 1,000 = ¥3,000; K2 5,000 − 3,500 = ¥1,500.
    Liability (rides are counts, the gift code no wallet's: neither is in it): charged
    issued ¥20,000, spent ¥12,500, outstanding ¥7,500 (cash); points issued ¥11,000, spent
    ¥1,000, outstanding ¥10,000 (tomamae-town); ¥17,500 = the balances' sum."""
    town.merchant("M-TOWN", "苫前町役場 窓口")
    town.merchant("M-SHOP", "苫前商店")
    town.merchant("M-COOP", "Aコープ苫前", "large")
    town.merchant("M-BUS", "苫前デマンド交通")
    town.campaign({"id": "volunteer", "kind": "point_grant", "name": "ボランティアポイント",
                   "funder": "tomamae-town", "points": 500, "expires": "2030-12-31",
                   "per_wallet": {"max": 2, "per": "month"}, "shops": ["M-TOWN"]})
    town.campaign({"id": "ride", "kind": "ticket", "name": "デマンド交通", "rides": 10,
                   "ride_value": 500, "funder": "tomamae-town"})
    town.campaign({"id": "furusato", "kind": "gift_code", "name": "ふるさと納税デジタルギフト",
                   "value": 3_000, "funder": "tomamae-furusato"})
    phone = town.phone(age_band="30s", area="苫前")
    k1, k2 = "8000 0000 0000 4567", "8000000000007891"
    booth = town.till("M-TOWN")
    booth.do("issue-card", card=k1, age_band="70s", area="古丹別")
    code, issued = booth.run("issue-card", "--card", k2, "--age-band", "80s", "--area", "苫前",
                             "--pin-stdin", stdin="4321\n")
    assert (code, issued["status"]) == (0, "approved")
    assert booth.do("charge", credential=phone.code(), amount=10_000)["balance_after"] == 10_000
    booth.do("charge", credential=k1, amount=5_000)
    booth.do("charge", credential=k2, amount=5_000)
    assert booth.do("grant", credential=k1, campaign="volunteer")["paid_by"] == {"points": 500}
    booth.do("grant", credential=k1, campaign="volunteer")
    assert booth.do("grant", credential=k1, campaign="volunteer",
                    expect="refused")["code"] == "campaign_limit"
    booth.do("grant", credential=phone.code(), campaign="ride")
    assert booth.do("grant", credential=phone.code(), points=10_000,
                    funder="tomamae-town")["balance_after"] == 20_000
    booth_sheet = booth.close_day(counted=20_000)

    shop, coop, bus = town.till("M-SHOP"), town.till("M-COOP"), town.till("M-BUS")
    shop.do("sale", credential=phone.code(), amount=1_200)
    shop.do("sale", credential=phone.code(), amount=800)
    assert shop.do("sale", credential=k1, amount=2_000)["paid_by"] == \
        {"points": 1_000, "charged": 1_000}
    gift = shop.do("sale", credential=town.gift_codes("furusato")[0], amount=3_500)
    assert (gift["kind"], gift["amount"], gift["rest"]) == ("gift", 3_000, 500)
    refused = coop.do("sale", credential=k2, amount=3_500, expect="refused")
    assert (refused["code"], refused["details"]) == ("pin_required", {"above": 3_000})
    code, paid = coop.run("sale", "--credential", k2, "--amount", "3500",
                          env={"MACHI_CARD_PIN": "4321"})
    assert (code, paid["amount"]) == (0, 3_500)
    coop.do("sale", credential=phone.code(), amount=5_000)
    coop.do("sale", credential=k1, amount=1_000)
    ride = bus.do("ride", credential=phone.code())
    assert ride["campaigns"][0]["rides_left"] == 9
    assert bus.do("ride", credential=k1, expect="refused")["code"] == "no_tickets"
    sheets = {till: till.close_day(counted=0) for till in (shop, coop, bus)}
    day = booth_sheet.business_date

    assert booth_sheet.counts == {"card_issue": 2, "charge": 3, "grant": 4}
    assert booth_sheet.yen["charge"] == 20_000
    assert booth_sheet.campaigns == {"volunteer": {"uses": 2, "points": 1_000},
                                     "ride": {"uses": 1, "rides": 10}}
    assert (sheets[shop].counts, sheets[shop].yen) == \
        ({"payment": 3, "gift": 1}, {"payment": 4_000, "gift": 3_000})
    assert sheets[shop].net_sales == 7_000
    assert sheets[shop].by_pocket == {"charged": 3_000, "points": 1_000, "gift": 3_000}
    assert sheets[coop].yen == {"payment": 9_500}
    assert sheets[bus].yen == {"ticket": 500}
    for till, sheet in ((booth, booth_sheet), *sheets.items()):
        assert_same_sheet(sheet, town.ledger_sheet(till, day))

    kpis = town.kpi(day)
    assert kpis["users"] == {"by_kind": {"app": 1, "card": 2},
                             "by_age_band": {"30s": 1, "70s": 1, "80s": 1},
                             "by_area": {"苫前": 2, "古丹別": 1}}
    assert kpis["volume_by_month"] == {day[:7]: 13_500}
    assert kpis["issued_by_pocket"] == {"points": 11_000, "tickets": 10}
    assert kpis["spent_by_pocket"] == {"charged": 12_500, "points": 1_000}
    assert kpis["share_by_credential_pct"] == {"app": 52, "card": 48}
    assert kpis["shops"] == {
        "M-SHOP": {"customers": 2, "payments": 3, "repeat_rate_pct": 50,
                   "average_spend": 1_333},
        "M-COOP": {"customers": 3, "payments": 3, "repeat_rate_pct": 0,
                   "average_spend": 3_166}}
    figures = town.campaigns(day)
    assert (figures["volunteer"].uses, figures["volunteer"].issued,
            figures["volunteer"].funders) == (2, 1_000, {"tomamae-town": 1_000})
    assert (figures["ride"].rides_granted, figures["ride"].rides_taken,
            figures["ride"].funders) == (10, 1, {"tomamae-town": 500})
    assert (figures["furusato"].uses, figures["furusato"].gifts_spent,
            figures["furusato"].funders) == (1, 3_000, {"tomamae-furusato": 3_000})
    assert town.balance(phone.wallet_id)["total"] == 13_000
    assert [town.balance(town.wallet_of(card.replace(" ", "")))["total"]
            for card in (k1, k2)] == [3_000, 1_500]
    owed = town.liability(day)
    assert {p: (f.issued, f.spent, f.outstanding) for p, f in owed.pockets.items()
            if f.issued} == {"charged": (20_000, 12_500, 7_500), "points": (11_000, 1_000, 10_000)}
    assert {f: x.outstanding for f, x in owed.funders.items() if x.outstanding} == \
        {"cash": 7_500, "tomamae-town": 10_000}
    assert not town.flags()


MAKINOHARA = {"id": "makinohara-rally", "kind": "stamp_rally",
              "name": "RIDE ON MAKINOHARA スタンプラリー", "funder": "makinohara-city",
              "threshold": 600, "double_tag": "banquet", "stamps_to_complete": 3,
              "max_completions": 6,
              "prize": {"value": 1_000, "quantity": 3_000, "expires": "2030-12-31"},
              "shop_discount": {"off": 200, "first": 100},
              "restaurants": ["M-IROHA"], "lodgings": ["M-SAGARA-HOTEL"],
              "no_discount": ["M-BIG"],
              "shop_names": {"M-IROHA": "いろは亭", "M-SAGARA-HOTEL": "相良ホテル"}}


def test_seed_004_makinohara_rally_for_a_day(town):
    """Seed 004 (RIDE ON MAKINOHARA 開催要領), the rule of docs/campaigns.md (funder
    makinohara-city, plan 2 for every shop):
    「参加店舗における1回の支払いが600円以上の場合に、支払いをした人に限り1スタンプ」;
    「飲食店については、1人当たり600円以上の飲食での1スタンプ付与を可」 (いろは亭 is the
    restaurant: each diner's share is the bill split evenly); 「各店舗先着100スタンプについて、
    1スタンプにつき200円をお買い物総額から割り引きます」; 「割引対象外の店舗もあります」
    (M-BIG); 「宿泊業者におけるスタンプは、宴会利用に限り2個」 (相良ホテル, tag banquet);
    「異なる店舗のスタンプを3個集めて…1,000円分と交換」; 「1カード上で同じ店舗のスタンプは
    発行されません」.

    Booth: cards A, B, C, D, E, ¥10,000 cash each = ¥50,000; Z counted ¥50,000. Every shop's
    terminal is enrolled (its snapshot pulled) before the day's first sale.

    Café (any shop):  c1 A ¥1,000 ≥ 600 → 1 stamp, ¥200 off, pays ¥800
                      c2 B ¥500 < 600 → nothing, pays ¥500
      payments 2, ¥1,300; rally uses 1, stamps 1, discount ¥200.
    いろは亭 (restaurant):
      i1 A ¥1,800, diners C and D (party 3, ¥600 each) → A, C, D a stamp each, 3 × ¥200 =
         ¥600 off, A pays ¥1,200
      i2 B ¥1,500, party 3 with diner E (¥500 each < 600) → only the payer B (¥1,500 ≥
         600): 1 stamp, ¥200 off, B pays ¥1,300; E nothing
      payments 2, ¥2,500; uses 4, stamps 4, discount ¥800.
    相良ホテル (lodging):
      h1 E ¥8,000 banquet → 2 stamps, ¥400 off (2 of the shop's first 100), pays ¥7,600
      h2 A ¥1,000 offline (the hotel knows A's stamps only as at its enrolment: none) →
         1 stamp, ¥200 off, pays ¥800, complete false; A holds café + いろは亭 + hotel: the
         ledger completes the card when the record arrives and grants the ¥1,000 prize
         (owed_prizes 1), seen in A's premium_common at the hotel's next pull
      payments 2, ¥8,400; uses 2, stamps 3, discount ¥600; 3 of the hotel's 100 used.
    M-BIG (no discount): b1 D ¥2,000 → 1 stamp, no discount, pays ¥2,000.

    Campaigns report: stamps 1 + 4 + 3 + 1 = 9, discounts 200 + 800 + 600 = ¥1,600,
    1 completion made by the ledger (owed_prizes 1), issued ¥1,000 (the prize); the city
    pays 1,600 + 1,000 = ¥2,600.
    Settlement (plan 2, 1.88 % of turnover + campaign, rounded down):
      café 1,300 + 200 = 1,500 → fee 28 (28.2), payout 1,472
      いろは亭 2,500 + 800 = 3,300 → fee 62 (62.04), payout 3,238
      hotel 8,400 + 600 = 9,000 → fee 169 (169.2), payout 8,831
      M-BIG 2,000 + 0 → fee 37 (37.6), payout 1,963
    Balances: A 10,000 − 800 − 1,200 − 800 + 1,000 = ¥8,200; B 10,000 − 500 − 1,300 =
    ¥8,200; C ¥10,000; D ¥8,000; E ¥2,400.
    Liability: charged issued ¥50,000, spent 800 + 500 + 1,200 + 1,300 + 7,600 + 800 +
    2,000 = ¥14,200, outstanding ¥35,800 (funder cash); premium_common issued ¥1,000 (the
    prize), outstanding ¥1,000 (makinohara-city); total ¥36,800 = the balances' sum."""
    from terminal.node import Node

    town.merchant("M-BOOTH", "牧之原市 窓口", plan=2)
    town.merchant("M-CAFE", "カフェ牧之原", plan=2)
    town.merchant("M-IROHA", "いろは亭", plan=2)
    town.merchant("M-SAGARA-HOTEL", "相良ホテル", plan=2)
    town.merchant("M-BIG", "牧之原スーパー", plan=2)
    town.campaign(MAKINOHARA)
    a, b, c, d, e = (town.card() for _ in range(5))
    booth = town.till("M-BOOTH")
    for card in (a, b, c, d, e):
        booth.do("charge", credential=card, amount=10_000)
    booth_sheet = booth.close_day(counted=50_000)
    cafe, iroha = town.till("M-CAFE"), town.till("M-IROHA")
    hotel, big = town.till("M-SAGARA-HOTEL"), town.till("M-BIG")

    c1 = cafe.do("sale", credential=a, amount=1_000)
    assert (c1["amount"], c1["campaigns"][0]["stamps"], c1["campaigns"][0]["discount"]) == \
        (800, 1, 200)
    assert cafe.do("sale", credential=b, amount=500)["campaigns"] == []
    i1 = iroha.do("sale", credential=a, amount=1_800, diners=[c, d])
    assert (i1["amount"], i1["price"]) == (1_200, 1_800)
    assert sorted((entry.get("diner", ""), entry["stamps"], entry["discount"])
                  for entry in i1["campaigns"]) == sorted(
        [("", 1, 200)] + [(town.wallet_of(card), 1, 200) for card in (c, d)])
    i2 = iroha.do("sale", credential=b, amount=1_500, people=3, diners=[e])
    assert (i2["amount"], len(i2["campaigns"])) == (1_300, 1)
    assert "diner" not in i2["campaigns"][0]
    h1 = hotel.do("sale", credential=e, amount=8_000, tags=["banquet"])
    assert (h1["amount"], h1["campaigns"][0]["stamps"], h1["campaigns"][0]["discount"],
            h1["campaigns"][0]["units"]) == (7_600, 2, 400, 2)
    h2 = hotel.do("sale", credential=a, amount=1_000, offline=True)
    assert (h2["decision"], h2["amount"]) == ("offline", 800)
    assert h2["campaigns"][0]["complete"] is False and h2["notes"]
    b1 = big.do("sale", credential=d, amount=2_000)
    assert (b1["amount"], b1["campaigns"][0]["stamps"]) == (2_000, 1)
    assert not b1["campaigns"][0].get("discount")

    hotel.sync()  # the offline record goes up; the ledger completes A's card
    assert town.balance(town.wallet_of(a))["usage"]["makinohara-rally"]["done"] == 1
    with Node(hotel.data, offline=True) as node:  # what the hotel knows after that pull
        assert node.counter.view(town.wallet_of(a)).pockets["premium_common"] == 1_000

    x_report = hotel.sheet()  # the X report of the open day
    sheets = {till: till.close_day(counted=0) for till in (cafe, iroha, hotel, big)}
    day = booth_sheet.business_date
    assert (x_report.closed, x_report.yen, x_report.campaigns) == \
        (False, sheets[hotel].yen, sheets[hotel].campaigns)
    assert booth_sheet.yen == {"charge": 50_000} and booth_sheet.cash_difference == 0
    expected = {cafe: ({"payment": 1_300}, {"uses": 1, "stamps": 1, "discount": 200}),
                iroha: ({"payment": 2_500}, {"uses": 4, "stamps": 4, "discount": 800}),
                hotel: ({"payment": 8_400}, {"uses": 2, "stamps": 3, "discount": 600}),
                big: ({"payment": 2_000}, {"uses": 1, "stamps": 1})}
    for till, (yen, rally) in expected.items():
        assert (sheets[till].yen, sheets[till].campaigns) == \
            (yen, {"makinohara-rally": rally}), till.merchant_id
    assert sheets[hotel].by_decision == {"online": 7_600, "offline": 800}
    for till, sheet in ((booth, booth_sheet), *sheets.items()):
        assert_same_sheet(sheet, town.ledger_sheet(till, day))

    rally = town.campaigns(day)["makinohara-rally"]
    assert (rally.stamps, rally.discounts, rally.owed_prizes, rally.issued) == \
        (9, 1_600, 1, 1_000)
    assert rally.funders == {"makinohara-city": 2_600}
    with town.db.reading() as conn:
        assert conn.value("SELECT sum(used) FROM leases WHERE campaign_id = ? AND pool = ?",
                          ("makinohara-rally", "shop.M-SAGARA-HOTEL")) == 3
        assert conn.value("SELECT coalesce(sum(used), 0) FROM leases WHERE campaign_id = ? "
                          "AND pool = ?", ("makinohara-rally", "shop.M-BIG")) == 0
    settled = town.settlement(day[:7], 2)
    assert {m: (settled[m].turnover, settled[m].campaign, settled[m].fee, settled[m].payout)
            for m in ("M-CAFE", "M-IROHA", "M-SAGARA-HOTEL", "M-BIG")} == {
        "M-CAFE": (1_300, 200, 28, 1_472), "M-IROHA": (2_500, 800, 62, 3_238),
        "M-SAGARA-HOTEL": (8_400, 600, 169, 8_831), "M-BIG": (2_000, 0, 37, 1_963)}
    totals = [town.balance(town.wallet_of(card))["total"] for card in (a, b, c, d, e)]
    assert totals == [8_200, 8_200, 10_000, 8_000, 2_400]
    owed = town.liability(day)
    assert {p: (f.issued, f.spent, f.outstanding) for p, f in owed.pockets.items()
            if f.issued or f.spent} == {"charged": (50_000, 14_200, 35_800),
                                        "premium_common": (1_000, 0, 1_000)}
    assert {f: figures.outstanding for f, figures in owed.funders.items()
            if figures.outstanding} == {"cash": 35_800, "makinohara-city": 1_000}
    assert sum(totals) == 35_800 + 1_000
    assert not town.flags()


def koko_rule(campaign_id: str, today: date, use_in: int, periods: list[tuple[int, int]]
              ) -> dict:
    """Seed 003's campaign (docs/campaigns.md) with its dates moved to `today`: the use
    period starts `use_in` days from today, the sale periods are (from, to) days from today."""
    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    return {"id": campaign_id, "kind": "premium_voucher", "name": "ココクーポン",
            "funder": "shiga-pref", "starts": day(-40), "ends": day(60),
            "sets": [{"price": 5_000, "common": 3_000, "exclusive": 4_500},
                     {"price": 10_000, "common": 6_000, "exclusive": 9_000}],
            "common_expires": day(60), "exclusive_expires": day(60),
            "exclusive_classes": ["small"], "min_spend": 1_500, "quantity": 90_000,
            "quantity_unit": 10_000, "use_starts": day(use_in),
            "sale_periods": [{"id": str(n), "starts": day(a), "ends": day(b)}
                             for n, (a, b) in enumerate(periods, 1)],
            "per_wallet": {"max": 1, "per": "sale_period"}, "channels": ["app"]}


def test_seed_003_shiga_koko_vouchers_for_a_day(town):
    """Seed 003 (湖国のお店応援！ココクーポン), the rule of docs/campaigns.md with its dates
    moved to today (T): `koko` is the 2次販売 the seed announces — 「利用期間：令和4年1月8日
    ～」 began three days ago, today is in sale period 2 (「2次販売：1月11日～1月28日」) —
    and `koko-early` the same rule on a day of its 1次販売, before its use period (T+7), as
    on 12月20日 before 1月8日. Sets 「① 7,500円 (販売額 5,000円) 全店共通 3,000円・専用
    4,500円」 and 「② 15,000円 (販売額 10,000円) 共通 6,000円・専用 9,000円」; 「専用：中小規模
    店 でのみ利用可能」 (M-SMALL small, M-LARGE large); 「約90,000セット(10,000円換算)」:
    quantity 90,000 units of ¥10,000, a ① half a unit (2 parts a unit); 「販売期ごとに1人
    あたり…いずれか1回購入可」; 「ココクーポン専用アプリから購入」: app wallets only;
    「1回あたり1,500円以上の支払いが対象」. Value pays restricted (専用) first (DESIGN §2).

    Booth 1: v1 P1 ② koko ¥10,000 (2 parts); v2 P2 ① koko ¥5,000 (1 part); v3 card K ①:
      refused app_only; v4 P3 ① koko-early ¥5,000 (1 part; its lots usable from T+7).
      Cash ¥20,000; 日計表 charge 3 ¥20,000; koko uses 2 (¥15,000 of sets), koko-early 1.
    Booth 2 (online, the ledger knows booth 1's records): v5 P1 ① koko: refused
      campaign_limit (P1 bought in this sale period at booth 1); v6 P4 ① koko ¥5,000.
      Cash ¥5,000.
    M-SMALL: s1 P1 ¥12,000 = exclusive 9,000 + common 3,000; s2 P2 ¥1,000: refused
      below_min_spend (min ¥1,500); s3 P3 ¥2,000: refused voucher_not_usable_yet (day T+7);
      s4 P2 ¥1,500 = exclusive 1,500; s5 P4 ¥7,500 = exclusive 4,500 + common 3,000.
      Payments 3, ¥21,000: exclusive 15,000, common 6,000.
    M-LARGE: l1 P1 ¥3,000 = common 3,000; l2 P2 ¥2,000 = common 2,000 (its exclusive ¥4,500
      − 1,500 is not usable at a large shop). Payments 2, ¥5,000 common.

    Campaigns report: koko 3 sets, 2 + 1 + 1 = 4 parts = 2 units (¥20,000 of sale price);
    value made 15,000 + 7,500 + 7,500 = ¥30,000 for ¥20,000 cash: the prefecture pays the
    ¥10,000 premium. koko-early 1 set, 1 part, ¥7,500 for ¥5,000: ¥2,500.
    Settlement (plan 2, 1.88 %): M-SMALL 21,000 → fee 394 (394.8), payout 20,606; M-LARGE
    5,000 → fee 94, payout 4,906; the booths have no turnover: nothing.
    Balances: P1 15,000 − 12,000 − 3,000 = 0; P2 7,500 − 1,500 − 2,000 = ¥4,000 (common
    1,000, exclusive 3,000); P3 ¥7,500 (waiting for T+7); P4 0.
    Liability: sold (cash, each set's price split in proportion) common 4,000 + 2,000 +
    2,000 + 2,000 = ¥10,000, exclusive 6,000 + 3,000 + 3,000 + 3,000 = ¥15,000; issued
    common 6,000 + 3,000 × 3 = ¥15,000, exclusive 9,000 + 4,500 × 3 = ¥22,500; spent common
    3,000 + 3,000 + 2,000 + 3,000 = ¥11,000, exclusive 9,000 + 1,500 + 4,500 = ¥15,000;
    outstanding common ¥4,000, exclusive ¥7,500 (= P2 + P3), all funded by shiga-pref."""
    today = date.today()
    town.merchant("M-BOOTH1", "ココクーポン 窓口1", plan=2)
    town.merchant("M-BOOTH2", "ココクーポン 窓口2", plan=2)
    town.merchant("M-SMALL", "近江商店", "small", plan=2)
    town.merchant("M-LARGE", "滋賀百貨店", "large", plan=2)
    town.campaign(koko_rule("koko", today, -3, [(-40, -25), (-2, 10), (20, 30)]))
    town.campaign(koko_rule("koko-early", today, 7, [(-2, 3)]))
    p1, p2, p3, p4 = (town.phone() for _ in range(4))
    card = town.card()
    booth1, booth2 = town.till("M-BOOTH1"), town.till("M-BOOTH2")
    v1 = booth1.do("voucher", credential=p1.code(), campaign="koko", price=10_000)
    assert v1["paid_by"] == {"premium_common": 6_000, "premium_exclusive": 9_000}
    assert v1["campaigns"][0].get("units") == 2
    v2 = booth1.do("voucher", credential=p2.code(), campaign="koko", price=5_000)
    assert "units" not in v2["campaigns"][0]  # one part: half a unit
    assert booth1.do("voucher", credential=card, campaign="koko", price=5_000,
                     expect="refused")["code"] == "app_only"
    booth1.do("voucher", credential=p3.code(), campaign="koko-early", price=5_000)
    assert booth2.do("voucher", credential=p1.code(), campaign="koko", price=5_000,
                     expect="refused")["code"] == "campaign_limit"
    booth2.do("voucher", credential=p4.code(), campaign="koko", price=5_000)
    booth_sheets = {till: till.close_day(counted=cash)
                    for till, cash in ((booth1, 20_000), (booth2, 5_000))}

    small, large = town.till("M-SMALL"), town.till("M-LARGE")
    assert small.do("sale", credential=p1.code(), amount=12_000)["paid_by"] == \
        {"premium_exclusive": 9_000, "premium_common": 3_000}
    short = small.do("sale", credential=p2.code(), amount=1_000, expect="refused")
    assert (short["code"], short["details"]["min"]) == ("below_min_spend", 1_500)
    early = small.do("sale", credential=p3.code(), amount=2_000, expect="refused")
    assert (early["code"], early["details"]["day"]) == \
        ("voucher_not_usable_yet", (today + timedelta(days=7)).isoformat())
    assert early["details"]["day"] in early["message"]
    assert small.do("sale", credential=p2.code(), amount=1_500)["paid_by"] == \
        {"premium_exclusive": 1_500}
    assert small.do("sale", credential=p4.code(), amount=7_500)["paid_by"] == \
        {"premium_exclusive": 4_500, "premium_common": 3_000}
    assert large.do("sale", credential=p1.code(), amount=3_000)["paid_by"] == \
        {"premium_common": 3_000}
    assert large.do("sale", credential=p2.code(), amount=2_000)["paid_by"] == \
        {"premium_common": 2_000}
    x_report = small.sheet()  # the X report of the open day
    sheets = {till: till.close_day(counted=0) for till in (small, large)}
    day = booth_sheets[booth1].business_date
    assert (x_report.closed, x_report.counts, x_report.yen, x_report.by_pocket) == \
        (False, sheets[small].counts, sheets[small].yen, sheets[small].by_pocket)

    assert (booth_sheets[booth1].counts, booth_sheets[booth1].yen) == \
        ({"charge": 3}, {"charge": 20_000})
    assert booth_sheets[booth1].campaigns == {
        "koko": {"uses": 2, "vouchers": 15_000}, "koko-early": {"uses": 1, "vouchers": 5_000}}
    assert (booth_sheets[booth2].yen, booth_sheets[booth2].campaigns) == \
        ({"charge": 5_000}, {"koko": {"uses": 1, "vouchers": 5_000}})
    assert [sheet.cash_difference for sheet in booth_sheets.values()] == [0, 0]
    assert (sheets[small].counts, sheets[small].net_sales, sheets[small].by_pocket) == \
        ({"payment": 3}, 21_000, {"premium_exclusive": 15_000, "premium_common": 6_000})
    assert (sheets[large].net_sales, sheets[large].by_pocket) == \
        (5_000, {"premium_common": 5_000})
    for till, sheet in (*booth_sheets.items(), *sheets.items()):
        assert_same_sheet(sheet, town.ledger_sheet(till, day))

    figures = town.campaigns(day)
    koko, koko_early = figures["koko"], figures["koko-early"]
    assert (koko.uses, koko.units_sold, koko.quantity_unit) == (3, 4, 10_000)
    assert (koko.issued, koko.funders) == (30_000, {"shiga-pref": 10_000})
    # the stock: 90,000 units of ¥10,000 are 180,000 parts (a ① is one part)
    assert (koko.pools["all"][1], koko.pool_units["all"][1]) == (180_000, "90,000")
    assert (koko_early.uses, koko_early.units_sold, koko_early.issued,
            koko_early.funders) == (1, 1, 7_500, {"shiga-pref": 2_500})
    settled = town.settlement(day[:7], 2)
    assert {m: (settled[m].turnover, settled[m].fee, settled[m].payout) for m in settled} == {
        "M-SMALL": (21_000, 394, 20_606), "M-LARGE": (5_000, 94, 4_906),
        "M-BOOTH1": (0, 0, 0), "M-BOOTH2": (0, 0, 0)}
    totals = [town.balance(phone.wallet_id)["total"] for phone in (p1, p2, p3, p4)]
    assert totals == [0, 4_000, 7_500, 0]
    owed = town.liability(day)
    assert {p: (f.sold, f.issued, f.spent, f.outstanding) for p, f in owed.pockets.items()
            if f.issued} == {"premium_common": (10_000, 15_000, 11_000, 4_000),
                             "premium_exclusive": (15_000, 22_500, 15_000, 7_500)}
    assert {f: figures.outstanding for f, figures in owed.funders.items()
            if figures.outstanding} == {"shiga-pref": 11_500}
    assert not town.flags()
