"""Campaigns decided at the counter, offline, one test per seed scheme with its figures.

Each terminal here is a real journal and state store on disk, fed a snapshot page as the
ledger would send it (rules, wallets with their lots and usage) and leases as the ledger
would lend them; no ledger is running: these are the decisions made while the network is
gone. The ledger's side (postings, checks, leases) is tested in tests/ledger and end to end
in test_campaigns_e2e.py.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta, timezone

import pytest

from sync import bodies, campaigns, cards, giftcodes, keys, pins
from terminal.counter import Counter, Presented
from terminal.journal import Journal
from terminal.policy import Refused
from terminal.state import StateStore

JST = timezone(timedelta(hours=9))
LEDGER_KEY = keys.generate()
WALLET = "W-1"


def card_of(wallet_id: str) -> str:
    """The card each test wallet carries (a wallet id is no credential: DESIGN §10)."""
    body = cards.CARD_PREFIX + f"{zlib.crc32(wallet_id.encode()):014d}"
    return body + cards.luhn_digit(body)


CARD = Presented("card", card_of(WALLET))
FAR = 2**62


def rule(**fields):
    base = {"starts": "2026-11-01", "ends": "2027-03-31", "funder": "town"}
    return campaigns.validate({**base, **fields})


class Till:
    """One terminal of one shop, on a fixed day."""

    def __init__(self, tmp_path, merchant="M-A", merchant_class="small", day="2026-12-10",
                 name=None):
        self.day = date.fromisoformat(day)
        self.dir = tmp_path / (name or merchant)
        key = keys.generate()
        self.journal = Journal.create(self.dir, f"T-{merchant}", key, clock=self.clock)
        self.journal.add_ledger_key(keys.public_key_hex(LEDGER_KEY.public_key()))
        self.state = StateStore(self.dir, pins.seal_key(key.seed()))
        self.state.put("merchant", {"merchant_id": merchant, "class": merchant_class,
                                    "config": {}})
        self.counter = Counter(self.journal, self.state, today=lambda: self.day)

    def clock(self) -> datetime:
        return datetime.combine(self.day, datetime.min.time(), JST).replace(hour=12)

    def snapshot(self, rules=(), wallets=()):
        # pulled on the till's day: its snapshot is fresh by the till's own clock
        self.state.apply_snapshot({"cursor": "c", "server_time_ms": int(
            self.clock().timestamp() * 1000), "wallets": list(wallets),
            "campaigns": list(rules),
            "cards": [{"card": card_of(w["wallet"]), "wallet": w["wallet"], "status": "active",
                       "version": 1} for w in wallets]}, self.journal.last_seq)

    def lease(self, campaign_id, pool, count, lease_id=None):
        self.journal.add_lease({"lease_id": lease_id or f"LS-{campaign_id}-{pool}",
                                "campaign": campaign_id, "pool": pool, "count": count,
                                "expires_ms": FAR})


def wallet(lots, usage=None, wallet_id=WALLET):
    return {"wallet": wallet_id, "status": "active", "version": 1, "debt": 0,
            "lots": [{"lot": lot_id, "pocket": pocket, "remaining": amount,
                      "expires": expires, "classes": list(classes), "campaign": campaign}
                     for lot_id, pocket, amount, expires, classes, campaign in lots],
            "usage": usage or {}}


def cash(amount, lot_id="L-cash"):
    return (lot_id, "charged", amount, None, ("small", "large"), None)


def entry_of(outcome, kind):
    found = [e for e in outcome.record["body"].get("campaigns", []) if e["kind"] == kind]
    return found[0] if found else None


# --- Hokuto (000): threshold coupons with tiers a shop chooses, and a stock that runs out --


HOKUTO = rule(id="hokuto", kind="threshold_coupon", name="北斗クーポン",
              tiers=[{"min": 500, "off": 150}, {"min": 5000, "off": 1500}],
              quantity=400, quantity_per="shop",
              shop_tiers={"M-GS": [{"min": 3000, "off": 300}]})


def test_hokuto_tiers_and_stock_running_out(tmp_path):
    till = Till(tmp_path)
    till.snapshot([HOKUTO], [wallet([cash(40_000)])])
    till.lease("hokuto", "shop.M-A", 3)

    small = till.counter.pay(CARD, 600)
    assert small.price == 600 and small.amount == 450
    assert entry_of(small, "threshold_coupon")["discount"] == 150
    assert small.campaigns[0]["name"] == "北斗クーポン"
    big = till.counter.pay(CARD, 5_000)
    assert big.amount == 3_500 and entry_of(big, "threshold_coupon")["discount"] == 1_500
    under = till.counter.pay(CARD, 499)
    assert under.amount == 499 and entry_of(under, "threshold_coupon") is None
    assert till.journal.units_left("hokuto", "shop.M-A", 0) == 1
    till.counter.pay(CARD, 800)
    # Like the gas station's coupons after ten days: the stock is gone, the sale goes on.
    gone = till.counter.pay(CARD, 5_000)
    assert gone.amount == 5_000 and entry_of(gone, "threshold_coupon") is None
    assert "sold_out" in [note.code for note in gone.notes]
    assert till.journal.leases()[0]["used"] == 3


def test_a_shop_chooses_its_own_tiers_and_excluded_goods_are_not_discounted(tmp_path):
    till = Till(tmp_path, merchant="M-GS")
    till.snapshot([HOKUTO], [wallet([cash(40_000)])])
    till.lease("hokuto", "shop.M-GS", 10)
    assert entry_of(till.counter.pay(CARD, 2_999), "threshold_coupon") is None
    assert entry_of(till.counter.pay(CARD, 3_000), "threshold_coupon")["discount"] == 300
    # ¥3,500 of which ¥1,000 tobacco: only ¥2,500 counts toward the threshold.
    assert entry_of(till.counter.pay(CARD, 3_500, excluded=1_000), "threshold_coupon") is None


def test_without_a_lease_no_coupon_is_given(tmp_path):
    till = Till(tmp_path)
    till.snapshot([HOKUTO], [wallet([cash(10_000)])])
    sale = till.counter.pay(CARD, 5_000)
    assert sale.amount == 5_000 and "campaigns" not in sale.record["body"]


# --- Shiga Koko coupon (003): +50 % vouchers, common and small-shop parts, ¥1,500 minimum ---


KOKO = rule(id="koko", kind="premium_voucher", name="ここクーポン", starts="2026-12-01",
            ends="2027-02-28", funder="shiga",
            sets=[{"price": 5000, "common": 3000, "exclusive": 4500},
                  {"price": 10000, "common": 6000, "exclusive": 9000}],
            common_expires="2027-02-28", exclusive_expires="2027-02-28", min_spend=1500,
            quantity=90000)


def test_koko_voucher_split_once_per_period(tmp_path):
    booth = Till(tmp_path, merchant="M-BOOTH")
    booth.snapshot([KOKO], [wallet([cash(1_000)])])
    booth.lease("koko", "all", 20)
    sold = booth.counter.buy_voucher(CARD, "koko", 10_000)
    lots = {lot["pocket"]: lot for lot in sold.record["body"]["lots"]}
    assert lots["premium_common"]["amount"] == 6_000
    assert lots["premium_exclusive"]["amount"] == 9_000
    assert lots["premium_exclusive"]["classes"] == ["small"]
    # ¥10,000 cash pays for ¥15,000 of value: the prefecture funds the other ¥5,000.
    assert sum(lot["paid"] for lot in lots.values()) == 10_000
    assert all(lot["funder"] == "shiga" for lot in lots.values())
    assert sold.balance_after == 16_000
    with pytest.raises(Refused) as info:
        booth.counter.buy_voucher(CARD, "koko", 5_000)
    assert info.value.code == "campaign_limit"
    with pytest.raises(Refused) as info:
        booth.counter.buy_voucher(Presented("card", card_of("W-2")), "koko", 7_000)
    assert info.value.code == "no_voucher_set" and "¥5,000" in info.value.message


def koko_wallet():
    return wallet([cash(2_000),
                   ("L-common", "premium_common", 3_000, "2027-02-28", ("small", "large"),
                    "koko"),
                   ("L-excl", "premium_exclusive", 4_500, "2027-02-28", ("small",), "koko")])


def test_koko_exclusive_part_refused_at_a_large_shop(tmp_path):
    large = Till(tmp_path, merchant="M-MARUI", merchant_class="large")
    large.snapshot([KOKO], [koko_wallet()])
    sale = large.counter.pay(CARD, 5_000)
    assert sale.paid_by == {"premium_common": 3_000, "charged": 2_000}
    with pytest.raises(Refused) as info:
        large.counter.pay(CARD, 1_500)
    assert info.value.code == "insufficient"
    small = Till(tmp_path, merchant="M-A")
    small.snapshot([KOKO], [koko_wallet()])
    assert small.counter.pay(CARD, 5_000).paid_by == {"premium_exclusive": 4_500,
                                                      "premium_common": 500}


def test_koko_minimum_spend_per_use(tmp_path):
    till = Till(tmp_path)
    till.snapshot([KOKO], [koko_wallet()])
    below = till.counter.pay(CARD, 1_499)
    assert below.paid_by == {"charged": 1_499}
    at = till.counter.pay(CARD, 1_500)
    assert at.paid_by == {"premium_exclusive": 1_500}
    # Tobacco does not count toward the minimum, and is never paid with vouchers.
    with pytest.raises(Refused) as info:
        till.counter.pay(CARD, 2_000, excluded=1_000)
    assert info.value.code == "insufficient"


# --- Makinohara stamp rally (004) ----------------------------------------------------------


RALLY = rule(id="rally", kind="stamp_rally", name="まきのはらスタンプラリー",
             threshold=600, double_tag="banquet", stamps_to_complete=3, max_completions=6,
             prize={"value": 1000, "quantity": 3000, "expires": "2027-03-31"},
             shop_discount={"off": 200, "first": 100}, restaurants=["M-R", "M-HOTEL"],
             lodgings=["M-HOTEL"], no_discount=["M-ND"],
             shop_names={"M-A": "相良食堂", "M-B": "榛原商店", "M-R": "いろは亭"})
DINER = "W-2"
DINER_CARD = Presented("card", card_of(DINER))


def rally_till(tmp_path, merchant, usage=None, discount_units=100, prize_units=10, name=None):
    till = Till(tmp_path, merchant=merchant, name=name)
    till.snapshot([RALLY], [wallet([cash(30_000)], {"rally": usage} if usage else None),
                            wallet([cash(5_000, "L-cash2")], wallet_id=DINER)])
    till.lease("rally", f"shop.{merchant}", discount_units)
    till.lease("rally", "prize", prize_units)
    return till


def test_rally_stamps_from_distinct_shops_complete_a_card(tmp_path):
    first = rally_till(tmp_path, "M-A")
    sale = first.counter.pay(CARD, 600)
    stamp = entry_of(sale, "stamp_rally")
    assert stamp["stamps"] == 1 and not stamp["complete"]
    assert stamp["discount"] == 200 and sale.amount == 400  # one of the shop's first 100
    again = first.counter.pay(CARD, 2_000)
    assert entry_of(again, "stamp_rally") is None
    assert "stamped_here" in [note.code for note in again.notes]
    # Two shops on the card already (the ledger's count): the third completes it.
    third = rally_till(tmp_path, "M-C", {"n": 2, "card": [["M-A", 1], ["M-B", 1]]})
    done = third.counter.pay(CARD, 700)
    stamp = entry_of(done, "stamp_rally")
    assert stamp["complete"] and stamp["prize"] == 1_000
    prize = done.record["body"]["grants"][0]
    assert prize["amount"] == 1_000 and prize["funder"] == "town" and prize["paid"] == 0
    # A fresh card starts: the same shop may stamp it.
    assert entry_of(third.counter.pay(CARD, 600), "stamp_rally")["stamps"] == 1


def test_a_void_of_the_completing_sale_puts_the_cards_stamps_back(tmp_path):
    """The third shop's stamp completed the card; the sale is voided: the card is back to
    the two stamps it had and the completion is not counted, so the same sale typed again
    completes it again."""
    till = rally_till(tmp_path, "M-C", {"n": 2, "card": [["M-A", 1], ["M-B", 1]]})
    done = till.counter.pay(CARD, 700)
    assert entry_of(done, "stamp_rally")["complete"]
    assert till.counter.view(WALLET).usage["rally"]["card"] == []
    till.counter.refund(done.tx_id, void=True)
    usage = till.counter.view(WALLET).usage["rally"]
    assert usage["card"] == [["M-A", 1], ["M-B", 1]] and usage.get("done", 0) == 0
    again = till.counter.pay(CARD, 700)
    assert entry_of(again, "stamp_rally")["complete"]


def test_the_payer_is_stamped_whatever_the_party(tmp_path):
    """「1回の支払いが600円以上の場合に、支払いをした人に限り1スタンプ」: a party of three at
    the restaurant いろは亭 pays ¥1,500, below ¥600 × 3 = ¥1,800: the payer's ¥1,500 ≥ ¥600
    earns the payer's stamp (¥200 off: ¥1,300 paid); a diner's share ¥1,500 // 3 = ¥500 <
    ¥600 earns the diner none. A ¥599 payment earns nothing."""
    till = rally_till(tmp_path, "M-R")
    sale = till.counter.pay(CARD, 1_500, people=3, diners=[DINER_CARD])
    stamp = entry_of(sale, "stamp_rally")
    assert stamp["stamps"] == 1 and stamp["discount"] == 200 and sale.amount == 1_300
    assert "diners" not in sale.record["body"]
    assert any(note.code == "diner_no_stamp" and
               (note.params["share"], note.params["threshold"]) == (500, 600)
               for note in sale.notes)
    other = rally_till(tmp_path, "M-A")
    assert entry_of(other.counter.pay(CARD, 599), "stamp_rally") is None


def test_each_diner_is_stamped_on_their_own_card_by_their_share(tmp_path):
    """「飲食店では…1人当たり600円以上の飲食での1スタンプ付与を可」: two diners at いろは亭
    pay ¥1,300 together: ¥1,300 // 2 = ¥650 ≥ ¥600 a person, so the payer's card and the
    other diner's card get a stamp each; ¥200 a stamp: ¥400 off, ¥900 paid, two of the
    shop's first 100 used. The diner's card shows いろは亭's stamp; the diner paid nothing.
    At a shop not on the restaurant list, only the payer is stamped."""
    till = rally_till(tmp_path, "M-R", discount_units=100)
    sale = till.counter.pay(CARD, 1_300, diners=[DINER_CARD])
    assert sale.amount == 900 and sale.price == 1_300
    assert entry_of(sale, "stamp_rally")["discount"] == 200
    (diner,) = sale.record["body"]["diners"]
    assert diner["wallet"] == DINER and diner["credential"]["kind"] == "card"
    assert diner["campaigns"][0]["stamps"] == 1 and diner["campaigns"][0]["discount"] == 200
    assert bodies.discounts(sale.record["body"]) == 400
    lease = next(lease for lease in till.journal.leases() if lease["pool"] == "shop.M-R")
    assert lease["used"] == 2
    assert till.counter.view(DINER).usage["rally"]["card"] == [["M-R", 1]]
    assert till.counter.view(DINER).total == 5_000
    assert till.counter.view(WALLET).usage["rally"]["card"] == [["M-R", 1]]
    # 「割引(キャッシュバック)の回数については、店舗側で日計表による管理」: the day's sheet
    # counts both stamps and both discounts, ¥400.
    from terminal import tally

    day = tally.x_report(till.journal)
    assert day.campaigns["rally"]["stamps"] == 2 and day.campaigns["rally"]["discount"] == 400
    shop = rally_till(tmp_path, "M-A")
    sale = shop.counter.pay(CARD, 1_300, diners=[DINER_CARD])
    assert "diners" not in sale.record["body"] and sale.amount == 1_100
    assert "diners_not_here" in [note.code for note in sale.notes]
    # A void takes the diner's stamp back as well.
    till.counter.refund(till.journal.recent("payment", 1)[0]["tx_id"], void=True)
    assert till.counter.view(DINER).usage["rally"]["card"] == []


def test_a_banquet_at_a_lodging_gives_two_stamps_and_400_yen(tmp_path):
    """「宴会場の営業を行う宿泊業者におけるスタンプは、宴会利用に限り2個付与」 and 「1スタンプ
    につき200円」: a ¥9,000 banquet at the hotel: 2 stamps, 2 × ¥200 = ¥400 off (¥8,600
    paid), two of the hotel's first 100. The same banquet word at a restaurant that is not a
    lodging gives one stamp and ¥200."""
    hotel = rally_till(tmp_path, "M-HOTEL", {"n": 1, "card": [["M-A", 1]]})
    sale = hotel.counter.pay(CARD, 9_000, tags={"banquet"})
    stamp = entry_of(sale, "stamp_rally")
    assert stamp["stamps"] == 2 and stamp["double"] and stamp["complete"]
    assert stamp["discount"] == 400 and stamp["units"] == 2 and sale.amount == 8_600
    lease = next(lease for lease in hotel.journal.leases() if lease["pool"] == "shop.M-HOTEL")
    assert lease["used"] == 2
    restaurant = rally_till(tmp_path, "M-R")
    stamp = entry_of(restaurant.counter.pay(CARD, 9_000, tags={"banquet"}), "stamp_rally")
    assert stamp["stamps"] == 1 and not stamp["double"] and stamp["discount"] == 200
    # one unit left at the hotel: one stamp's ¥200 of the two
    last = rally_till(tmp_path, "M-HOTEL", discount_units=1, name="hotel-2")
    stamp = entry_of(last.counter.pay(CARD, 9_000, tags={"banquet"}), "stamp_rally")
    assert stamp["stamps"] == 2 and stamp["discount"] == 200 and "units" not in stamp


def test_a_shop_without_the_discount_stamps_at_full_price(tmp_path):
    """「割引対象外の店舗もあります」: at a shop on no_discount a ¥600 payment is stamped and
    paid in full, ¥600; nothing is funded by the city."""
    till = rally_till(tmp_path, "M-ND")
    sale = till.counter.pay(CARD, 600)
    stamp = entry_of(sale, "stamp_rally")
    assert stamp["stamps"] == 1 and "discount" not in stamp and sale.amount == 600
    assert bodies.discounts(sale.record["body"]) == 0


def test_a_completion_without_a_prize_unit_is_owed_not_lost(tmp_path):
    """「3つのスタンプを取得後」: the card has 相良食堂's and 榛原商店's stamps; the third
    shop's ¥700 sale completes it while this terminal's prize lease holds none: the card is
    complete, the prize is owed (the ledger grants it from the pool), and the counter says
    completion will be confirmed."""
    till = rally_till(tmp_path, "M-C", {"n": 2, "card": [["M-A", 1], ["M-B", 1]]},
                      prize_units=0)
    sale = till.counter.pay(CARD, 700)
    stamp = entry_of(sale, "stamp_rally")
    assert stamp["complete"] and stamp["prize_owed"] and "prize" not in stamp
    assert "grants" not in sale.record["body"]
    assert {"completion_owed", "completion_offline"} & {note.code for note in sale.notes}


def test_rally_at_most_six_completions_and_first_stamps_discount_runs_out(tmp_path):
    finished = rally_till(tmp_path, "M-A", {"n": 18, "card": [], "done": 6})
    sale = finished.counter.pay(CARD, 600)
    assert entry_of(sale, "stamp_rally") is None and sale.notes[0].code == "rally_finished" \
        and sale.notes[0].params["max"] == 6
    till = rally_till(tmp_path, "M-B", discount_units=1)
    assert entry_of(till.counter.pay(CARD, 600), "stamp_rally")["discount"] == 200
    fresh = rally_till(tmp_path, "M-B2", {"n": 3, "card": [], "done": 1}, discount_units=0)
    stamp = entry_of(fresh.counter.pay(CARD, 600), "stamp_rally")
    assert stamp["stamps"] == 1 and "discount" not in stamp


# --- LOVESAIJO (001): bus points twice a month, 1 % cash-back -----------------------------


BUS = rule(id="bus", kind="point_grant", name="バスポイント", points=200,
           per_wallet={"max": 2, "per": "month"}, expires="2027-05-31")
CASHBACK = rule(id="back", kind="cash_back", name="1%還元", rate_pct=1, cap=30,
                cap_per="month")


def test_bus_points_twice_a_month(tmp_path):
    till = Till(tmp_path, merchant="M-BUS")
    till.snapshot([BUS], [wallet([cash(0)])])
    for _ in range(2):
        granted = till.counter.grant_campaign(CARD, "bus")
        assert granted.amount == 200 and granted.record["body"]["lots"][0]["funder"] == "town"
    with pytest.raises(Refused) as info:
        till.counter.grant_campaign(CARD, "bus")
    assert info.value.code == "campaign_limit"
    till.day = date(2027, 1, 5)
    assert till.counter.grant_campaign(CARD, "bus").balance_after == 600


def test_a_late_record_from_last_month_is_held_to_last_months_limit():
    """A grant made offline on 30 November and synced in December is counted against
    November (where the wallet had its two already), not lost with November's keys."""
    entry = {"campaign": "bus", "kind": "point_grant", "points": 200}
    usage = None
    for day in ("2026-11-20", "2026-11-21", "2026-12-02"):
        usage = campaigns.fold(usage, entry, day)
    assert not campaigns.within_limit(BUS, usage, "2026-11-30")
    assert campaigns.within_limit(BUS, usage, "2026-12-03")  # December has had one
    usage = campaigns.fold(usage, entry, "2027-01-10")  # November is now two months back
    assert sorted(usage["p"]) == ["2026-12", "2026-12-02", "2027-01", "2027-01-10"]
    assert campaigns.previous_month("2027-01") == "2026-12"


def test_one_percent_cash_back_with_a_monthly_cap(tmp_path):
    till = Till(tmp_path)
    till.snapshot([CASHBACK], [wallet([cash(20_000)])])
    sale = till.counter.pay(CARD, 1_234)
    assert entry_of(sale, "cash_back")["points"] == 12
    assert sale.record["body"]["grants"][0]["pocket"] == "points"
    assert sale.balance_after == 20_000 - 1_234 + 12
    assert entry_of(till.counter.pay(CARD, 5_000, excluded=1_000), "cash_back")["points"] == 18
    assert entry_of(till.counter.pay(CARD, 5_000), "cash_back") is None  # the ¥30 cap


# --- premium charge capped per wallet -------------------------------------------------------


def test_premium_charge_bonus_capped_per_wallet(tmp_path):
    bonus = rule(id="bonus", kind="premium_charge", name="チャージ20%", rate_pct=20,
                 bonus_cap=2_000)
    till = Till(tmp_path, merchant="M-BOOTH")
    till.snapshot([bonus], [wallet([cash(0)])])
    first = till.counter.charge(CARD, 5_000)
    assert entry_of(first, "premium_charge")["bonus"] == 1_000
    assert first.balance_after == 6_000
    second = till.counter.charge(CARD, 10_000)
    assert entry_of(second, "premium_charge")["bonus"] == 1_000  # 2,000 would pass the cap
    third = till.counter.charge(CARD, 10_000)
    assert entry_of(third, "premium_charge") is None and third.balance_after == 27_000
    # Near the ¥50,000 balance cap the bonus is trimmed to what still fits.
    other = Till(tmp_path, merchant="M-BOOTH", name="other")
    other.snapshot([bonus], [wallet([cash(45_000)])])
    near = other.counter.charge(CARD, 4_500)
    assert entry_of(near, "premium_charge")["bonus"] == 500 and near.balance_after == 50_000


# --- Tomamae (002): ride tickets, points exchanged for vouchers ----------------------------


RIDES = rule(id="ride", kind="ticket", name="デマンド交通回数券", rides=10, ride_value=500,
             shops=["M-BUS"])
EXCHANGE = rule(id="swap", kind="exchange", name="ポイント交換", points=1000, value=1000)


def test_tomamae_ten_rides_scan_and_done(tmp_path):
    bus = Till(tmp_path, merchant="M-BUS")
    bus.snapshot([RIDES], [wallet([cash(0)])])
    granted = bus.counter.grant_campaign(CARD, "ride")
    assert granted.record["body"]["lots"][0]["pocket"] == bodies.TICKET_POCKET
    assert granted.balance_after == 0  # rides are not yen
    for left in range(9, -1, -1):
        ride = bus.counter.use_ticket(CARD)
        assert ride.campaigns[0]["rides_left"] == left
        assert ride.record["body"]["ride_value"] == 500
    with pytest.raises(Refused) as info:
        bus.counter.use_ticket(CARD)
    assert info.value.code == "no_tickets"
    shop = Till(tmp_path, merchant="M-A")
    shop.snapshot([RIDES], [wallet([("L-r", "tickets", 3, None, ("small", "large"), "ride")])])
    with pytest.raises(Refused):
        shop.counter.use_ticket(CARD)  # not a transit operator
    with pytest.raises(Refused) as info:
        shop.counter.pay(CARD, 100)
    assert info.value.code == "insufficient"  # rides are never spent as money


def test_tomamae_points_exchanged_for_vouchers(tmp_path):
    booth = Till(tmp_path, merchant="M-BOOTH")
    booth.snapshot([EXCHANGE], [wallet([
        ("L-p1", "points", 700, "2027-01-31", ("small", "large"), "volunteer"),
        ("L-p2", "points", 900, "2027-05-31", ("small", "large"), "volunteer")])])
    swapped = booth.counter.exchange(CARD, "swap")
    body = swapped.record["body"]
    assert body["points"] == 1_000 and body["value"] == 1_000
    assert [(line["lot"], line["amount"]) for line in body["lots"]] == [("L-p1", 700),
                                                                         ("L-p2", 300)]
    assert body["grants"][0]["pocket"] == "premium_common"
    view = booth.counter.view(WALLET)
    assert view.pockets == {"points": 600, "premium_common": 1_000}
    with pytest.raises(Refused) as info:
        booth.counter.exchange(CARD, "swap")
    assert info.value.code == "not_enough_points"


# --- gift codes -----------------------------------------------------------------------------


GIFT = rule(id="furusato", kind="gift_code", name="ふるさとギフト", value=3000)


def test_gift_code_pays_once_with_no_change(tmp_path):
    till = Till(tmp_path)
    till.snapshot([GIFT])
    code = giftcodes.make(LEDGER_KEY, "furusato", 3_000)
    paid = till.counter.pay_gift(code.text(), 2_000)
    assert paid.amount == 2_000 and paid.campaigns[0]["unused"] == 1_000
    with pytest.raises(Refused) as info:
        till.counter.pay_gift(code.text(), 2_000)
    assert info.value.code == "gift_used"
    other = giftcodes.make(LEDGER_KEY, "furusato", 3_000)
    more = till.counter.pay_gift(other.text(), 5_000)
    assert more.amount == 3_000 and more.rest == 2_000
    forged = giftcodes.make(keys.generate(), "furusato", 3_000)
    with pytest.raises(Refused) as info:
        till.counter.pay_gift(forged.text(), 100)
    assert info.value.code == "gift_unknown_key"
    tampered = giftcodes.GiftCode("furusato", code.serial, 30_000, code.ledger_kid_prefix,
                                  code.signature)
    with pytest.raises(Refused) as info:
        till.counter.pay_gift(tampered.text(), 100)
    assert info.value.code == "gift_forged"


def test_gift_code_redeemed_into_a_wallet_at_a_booth(tmp_path):
    booth = Till(tmp_path, merchant="M-BOOTH")
    booth.snapshot([GIFT], [wallet([cash(100)])])
    code = giftcodes.make(LEDGER_KEY, "furusato", 3_000)
    done = booth.counter.redeem_gift(CARD, code.text())
    assert done.balance_after == 3_100 and done.record["body"]["gift"]["code"] == code.code_id
    with pytest.raises(Refused):
        booth.counter.pay_gift(code.text(), 500)


# --- usage across the snapshot and the journal -----------------------------------------------


def test_usage_is_the_snapshot_plus_this_terminals_records(tmp_path):
    till = Till(tmp_path, merchant="M-BUS")
    till.snapshot([BUS], [wallet([cash(0)], {"bus": {"n": 1, "p": {"2026-12": 1}}})])
    till.counter.grant_campaign(CARD, "bus")
    assert till.counter.view(WALLET).usage["bus"]["p"]["2026-12"] == 2
    with pytest.raises(Refused):
        till.counter.grant_campaign(CARD, "bus")


def test_rules_reject_what_cannot_run():
    with pytest.raises(campaigns.RuleError, match="tiers"):
        rule(id="x", kind="threshold_coupon", tiers=[{"min": 100, "off": 100}])
    with pytest.raises(campaigns.RuleError, match="ends"):
        rule(id="x", kind="point_grant", points=1, ends="2026-13-01")
    with pytest.raises(campaigns.RuleError, match="funder"):
        campaigns.validate({"id": "x", "kind": "point_grant", "points": 5,
                            "starts": "2026-01-01", "ends": "2026-02-01"})
    with pytest.raises(campaigns.RuleError, match="worth less"):
        rule(id="x", kind="premium_voucher", sets=[{"price": 5000, "common": 1000,
                                                     "exclusive": 1000}])
    rally = {"id": "x", "kind": "stamp_rally", "threshold": 600, "stamps_to_complete": 3}
    with pytest.raises(campaigns.RuleError, match="restaurants"):
        rule(**rally, restaurants="M-R")
    with pytest.raises(campaigns.RuleError, match="lodgings"):
        rule(**rally, lodgings=["not an id!"])
    with pytest.raises(campaigns.RuleError, match="shop_names"):
        rule(**rally, shop_names={"M-R": ""})


# --- the day's figures per campaign (日計表) --------------------------------------------------


def test_the_tally_sheet_shows_each_campaign(tmp_path):
    from sync import tally as sheet
    from terminal import tally

    till = Till(tmp_path)
    till.snapshot([HOKUTO, GIFT, CASHBACK], [wallet([cash(20_000)])])
    till.lease("hokuto", "shop.M-A", 5)
    till.counter.pay(CARD, 5_000)
    till.counter.pay(CARD, 600)
    till.counter.pay_gift(giftcodes.make(LEDGER_KEY, "furusato", 3_000).text(), 2_000)
    day = tally.x_report(till.journal)
    assert day.campaigns["hokuto"] == {"uses": 2, "discount": 1_650}
    assert day.campaigns["back"]["points"] == 30  # 35 + 4, capped at ¥30 a month
    assert day.campaigns["furusato"] == {"uses": 1, "gifts": 3_000}
    assert day.net_sales == 3_500 + 450 + 2_000
    day.campaign_names = {"hokuto": "北斗クーポン"}
    lines = dict(sheet.rows(day))
    assert lines["北斗クーポン 件"] == "2 件" and lines["北斗クーポン 値引"] == "¥1,650"
    pdf = sheet.to_pdf(day, tmp_path / "day.pdf")
    assert pdf.stat().st_size > 1_000


# --- a void takes back what the campaigns did -----------------------------------------------


@pytest.mark.parametrize("parts", [[None], [1_000, None]], ids=["at_once", "in_parts"])
def test_a_refund_of_the_whole_sale_takes_its_campaigns_back(tmp_path, parts):
    """Refunded whole, at once or in parts, a sale keeps no cash-back: the refund that
    gives back the rest takes its campaigns back as a void does."""
    till = Till(tmp_path)
    till.snapshot([CASHBACK], [wallet([cash(20_000)])])
    sale = till.counter.pay(CARD, 2_000)
    granted = sum(line["amount"] for line in sale.record["body"]["grants"])
    assert granted and sale.balance_after == 20_000 - 2_000 + granted
    for part in parts[:-1]:
        kept = till.counter.refund(sale.tx_id, part)
        assert "grants_back" not in kept.record["body"]  # a part keeps the campaigns
    last = till.counter.refund(sale.tx_id)
    assert [line["amount"] for line in last.record["body"]["grants_back"]] == [granted]
    assert till.counter.view(WALLET).total == 20_000  # the cash-back went with the sale


def test_a_void_takes_back_the_coupon_the_stamp_and_the_cash_back(tmp_path):
    """A sale typed wrong and voided: the coupon's once-a-day is free again, the stamp is
    off the card, the cash-back points are taken back; the lease units go back."""
    from terminal import tally

    once = rule(id="once", kind="threshold_coupon", name="一日一回", quantity=10,
                tiers=[{"min": 500, "off": 100}], per_wallet={"max": 1, "per": "day"})
    till = Till(tmp_path)
    till.snapshot([once, RALLY, CASHBACK], [wallet([cash(20_000)])])
    till.lease("once", "all", 5)
    till.lease("rally", "shop.M-A", 5)
    wrong = till.counter.pay(CARD, 2_000)
    assert {e["kind"] for e in wrong.record["body"]["campaigns"]} == \
        {"threshold_coupon", "stamp_rally", "cash_back"}
    paid = wrong.amount  # 2,000 - 100 - 200
    assert paid == 1_700 and wrong.balance_after == 20_000 - 1_700 + 17
    void = till.counter.refund(wrong.tx_id, void=True)
    body = void.record["body"]
    assert all(e["undo"] and e["day"] == "2026-12-10" for e in body["campaigns"])
    assert {e["kind"]: e.get("lease") for e in body["campaigns"]} == {
        "threshold_coupon": "LS-once-all", "stamp_rally": "LS-rally-shop.M-A",
        "cash_back": None}
    assert body["grants_back"] == [{"lot": wrong.record["body"]["grants"][0]["lot"],
                                    "amount": 17, "campaign": "back", "funder": "town"}]
    assert void.balance_after == 20_000  # the points are gone with the sale
    view = till.counter.view(WALLET)
    assert view.usage["once"]["n"] == 0 and view.usage["rally"].get("card") == []
    assert view.usage["back"]["yen"] == 0
    right = till.counter.pay(CARD, 1_500)  # typed again: the coupon and the stamp again
    assert entry_of(right, "threshold_coupon")["discount"] == 100
    assert entry_of(right, "stamp_rally")["stamps"] == 1
    assert till.journal.units_left("once", "all", 0) == 4  # two spent, the void's back
    day = tally.x_report(till.journal)
    assert day.campaigns["once"] == {"uses": 1, "discount": 100}
    assert day.campaigns["back"]["points"] == 12


def test_a_refund_to_a_spent_out_lot_of_an_older_payment_is_shown_not_spent(tmp_path):
    """A payment written before its lines named their lot's classes and expiry: money given
    back to its lot, spent out and gone from the snapshot, counts in the balance at once
    but pays nowhere until the ledger's snapshot lists the lot again."""
    till = Till(tmp_path)
    small = ("L-small", "premium_exclusive", 500, "2027-02-28", ("small",), None)
    till.snapshot([], [wallet([cash(1_000), small])])
    old = till.journal.append("payment", {
        "amount": 500, "wallet": WALLET, "decision": "offline",
        "credential": {"kind": "card", "id": CARD.value},
        "lots": [{"lot": "L-small", "amount": 500, "pocket": "premium_exclusive"}]})
    till.snapshot([], [wallet([cash(1_000)])])  # the ledger has it: L-small is spent out
    part = till.counter.refund(old.tx_id, 200)
    view = till.counter.view(WALLET)
    assert part.balance_after == view.total == 1_200
    assert view.pockets == {"charged": 1_000, "premium_exclusive": 200}
    with pytest.raises(Refused) as info:
        till.counter.pay(CARD, 1_100)
    assert info.value.code == "insufficient"
    till.snapshot([], [wallet([cash(1_000), (*small[:2], 200, *small[3:])])])
    assert till.counter.pay(CARD, 1_100).record["body"]["lots"][0]["lot"] == "L-small"


def test_a_void_of_a_grant_spent_beyond_the_sale_leaves_debt_in_the_view(tmp_path):
    """¥1,000 granted on a ¥600 sale and spent here, then the sale voided: the ¥600 goes to
    the funder, and the ¥400 left is owed: the view says so at once, as the ledger will
    (sync.givebacks), and the wallet pays no more until it is settled."""
    till = Till(tmp_path)
    till.snapshot([CASHBACK], [wallet([cash(1_000)])])
    sale = till.journal.append("payment", {
        "amount": 600, "wallet": WALLET, "decision": "offline",
        "credential": {"kind": "card", "id": CARD.value},
        "lots": [{"lot": "L-cash", "amount": 600, "pocket": "charged"}],
        "campaigns": [{"campaign": "back", "kind": "cash_back", "points": 1_000}],
        "grants": [{"lot": "L-GRANT", "pocket": "points", "amount": 1_000, "paid": 0,
                    "funder": "town", "campaign": "back"}]})
    spend = till.counter.pay(CARD, 1_000)
    assert [line["lot"] for line in spend.record["body"]["lots"]] == ["L-GRANT"]
    void = till.counter.refund(sale.tx_id, void=True)
    assert void.record["body"]["grants_back"][0]["amount"] == 1_000
    assert [note.as_json() for note in void.notes] == [
        {"code": "grant_spent_kept", "params": {"yen": 600}},
        {"code": "grant_spent_owed", "params": {"yen": 400}}]
    view = till.counter.view(WALLET)
    assert (view.total, view.debt) == (400, 400)
    with pytest.raises(Refused) as info:
        till.counter.pay(CARD, 100)
    assert info.value.code == "denied"


def test_a_refund_keeps_the_campaigns_and_only_a_void_may_undo_them(tmp_path):
    till = Till(tmp_path)
    till.snapshot([CASHBACK], [wallet([cash(20_000)])])
    sale = till.counter.pay(CARD, 1_000)
    part = till.counter.refund(sale.tx_id, 300)
    assert "campaigns" not in part.record["body"]
    body = {"amount": 300, "wallet": WALLET, "of": sale.tx_id,
            "lots": [{"lot": "L-cash", "amount": 300}],
            "campaigns": [{"campaign": "back", "kind": "cash_back", "points": 10}]}
    with pytest.raises(bodies.BodyError, match="only to undo"):
        bodies.check("refund", body)
    body["campaigns"][0].update(undo=True, units=2, day="2026-12-10")
    with pytest.raises(bodies.BodyError, match="units only to a lease"):
        bodies.check("void", body)
    body["campaigns"][0]["lease"] = "LS-1"
    bodies.check("void", body)  # the sale's units go back to the lease they came from


def test_the_balance_shows_the_rally_card_with_the_shops_by_name(tmp_path):
    """「取得したスタンプには店舗名が表示されます」: a card stamped by 相良食堂 (M-A) and then
    here at いろは亭 (M-R) shows those names, 2 of 3 stamps; a shop the terminal has no
    name for is shown by its id."""
    till = rally_till(tmp_path, "M-R", {"n": 1, "card": [["M-A", 1]]})
    till.counter.pay(CARD, 600)
    view, _ = till.counter.balance(CARD)
    (card,) = view.rally
    assert [(shop["name"], shop["stamps"]) for shop in card["shops"]] == [
        ("相良食堂", 1), ("いろは亭", 1)]
    assert card["needed"] == 3 and card["done"] == 0
    other = rally_till(tmp_path, "M-X", {"n": 1, "card": [["M-Z", 1]]})
    view, _ = other.counter.balance(CARD)
    assert [shop["name"] for shop in view.rally[0]["shops"]] == ["M-Z"]


def test_a_diners_body_is_checked_and_old_payments_still_read():
    """A payment naming diners: each a distinct wallet other than the payer's, with a
    credential and only rally stamps; price = amount + every discount (¥1,300 = ¥900 +
    ¥200 + ¥200). A payment made before diners existed reads as before."""
    stamp = {"campaign": "rally", "kind": "stamp_rally", "stamps": 1, "shop": "M-R",
             "discount": 200}
    body = {"amount": 900, "price": 1_300, "wallet": "W-1", "decision": "online",
            "credential": {"kind": "card", "id": "c"}, "lots": [{"lot": "L", "amount": 900}],
            "campaigns": [stamp],
            "diners": [{"wallet": "W-2", "credential": {"kind": "card", "id": "d"},
                        "campaigns": [stamp]}]}
    bodies.check("payment", body)
    assert bodies.entries_for(body, "W-2") == [stamp] and bodies.discounts(body) == 400
    for change, words in (
            ({"price": 1_100}, "price"),
            ({"diners": [{**body["diners"][0], "wallet": "W-1"}]}, "twice"),
            ({"diners": [{**body["diners"][0], "credential": {}}]}, "credential"),
            ({"diners": [{**body["diners"][0], "campaigns": [
                {"campaign": "c", "kind": "cash_back", "points": 1}]}]}, "stamp rally")):
        with pytest.raises(bodies.BodyError, match=words):
            bodies.check("payment", {**body, **change})
    old = {k: v for k, v in body.items() if k != "diners"}
    old.update(amount=1_100, lots=[{"lot": "L", "amount": 1_100}])
    bodies.check("payment", old)
    assert bodies.entries_for(old, "W-2") == []


def test_a_diner_card_unknown_here_refuses_the_payment_and_says_so(tmp_path):
    """A diner's card this terminal does not know: the payment is refused as
    `diner_refused` (naming why), nothing is written, and without the diner the same ¥1,300
    is taken with the payer's stamp (¥200 off: ¥1,100)."""
    from terminal.policy import Refused

    till = rally_till(tmp_path, "M-R")
    seq = till.journal.last_seq
    with pytest.raises(Refused) as info:
        till.counter.pay(CARD, 1_300, diners=[Presented("card", card_of("W-NOBODY"))])
    assert info.value.code == "diner_refused" and "not known" in info.value.message
    assert till.journal.last_seq == seq
    assert till.counter.pay(CARD, 1_300).amount == 1_100


def test_a_card_with_one_shops_stamp_twice_is_not_completed_by_a_third(tmp_path):
    """The ledger's snapshot shows M-A's stamp twice on the card (two offline terminals of
    M-A both stamped it; the ledger flagged the second): the card counts stamps of different
    shops only (「異なる店舗のスタンプを3個集めて」), so M-C's stamp is the second that counts:
    no completion, no ¥1,000 prize."""
    till = rally_till(tmp_path, "M-C", {"n": 2, "card": [["M-A", 1], ["M-A", 1]]})
    done = till.counter.pay(CARD, 700)
    stamp = entry_of(done, "stamp_rally")
    assert stamp["stamps"] == 1 and not stamp["complete"] and "prize" not in stamp
    assert not done.record["body"].get("grants")


@pytest.mark.parametrize("change, why", [({"debt": 1_000}, "owes ¥1,000"),
                                         ({"status": "suspended"}, "suspended")])
def test_a_diner_whose_wallet_is_denied_refuses_the_payment(tmp_path, change, why):
    """A wallet that owes (a voided sale's prize it had spent) or is suspended is denied at
    the counter as a payer; shown as a diner it must not collect stamps (or a ¥1,000 prize)
    either: the payment is refused `diner_refused`, naming why, and nothing is written."""
    from terminal.policy import Refused

    till = Till(tmp_path, merchant="M-R")
    till.snapshot([RALLY], [wallet([cash(30_000)]),
                            {**wallet([cash(5_000, "L-cash2")], wallet_id=DINER), **change}])
    till.lease("rally", "shop.M-R", 100)
    seq = till.journal.last_seq
    with pytest.raises(Refused) as info:
        till.counter.pay(CARD, 1_300, diners=[Presented("card", card_of(DINER))])
    assert info.value.code == "diner_refused" and why in info.value.message
    assert till.journal.last_seq == seq
