"""Shiga's Koko Coupon (seed 003) at the counter, rule by rule, offline (no ledger running:
the snapshot and the leases decide). The seed's calendar is used as it is (令和3年 = 2021,
令和4年 = 2022):

    1次販売(令和3年12月6日～20日)   2次販売：令和4年1月11日～1月28日   3次販売：2月5日～2月21日
    利用期間：令和4年1月8日(土)～令和4年2月28日(月)
    ① 7,500円 (販売額 5,000円) 全店共通 3,000円・専用 4,500円
    ② 15,000円 (販売額 10,000円) 全店共通 6,000円・専用 9,000円
    約90,000セット(10,000円換算)   販売期ごとに1人あたり…いずれか1回購入可
    購入方法：ココクーポン専用アプリから購入   ※1回あたり1,500円以上の支払いが対象

The ledger's side of each rule is in tests/ledger/test_koko_vouchers.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from sync import campaigns, keys, tokens
from terminal.clock import TrustedClock
from terminal.counter import Counter, Presented
from terminal.policy import REASONS, Refused
from tests.terminal.test_campaigns import LEDGER_KEY, Till, card_of, cash, rule, wallet

SETS = [{"price": 5000, "common": 3000, "exclusive": 4500},
        {"price": 10000, "common": 6000, "exclusive": 9000}]
PERIODS = [{"id": "1", "starts": "2021-12-06", "ends": "2021-12-20"},
           {"id": "2", "starts": "2022-01-11", "ends": "2022-01-28"},
           {"id": "3", "starts": "2022-02-05", "ends": "2022-02-21"}]


def koko(**change):
    fields = dict(id="koko", kind="premium_voucher", name="ここクーポン", starts="2021-12-06",
                  ends="2022-02-28", funder="shiga", sets=SETS, common_expires="2022-02-28",
                  exclusive_expires="2022-02-28", min_spend=1500, quantity=90000,
                  quantity_unit=10000, use_starts="2022-01-08", sale_periods=PERIODS,
                  per_wallet={"max": 1, "per": "sale_period"})
    return rule(**{**fields, **change})


def card(wallet_id):
    return Presented("card", card_of(wallet_id))


class TillClock(TrustedClock):
    """The trusted clock of a till living on the seed's calendar: noon of the till's day
    (snapshot ages and app codes are measured on it)."""

    def __init__(self, till: Till) -> None:
        super().__init__()
        self.till = till

    def now_s(self) -> float:
        return self.till.clock().timestamp()


def seed_till(tmp_path, day, merchant="M-BOOTH", name=None) -> Till:
    till = Till(tmp_path, merchant=merchant, day=day, name=name)
    till.counter = Counter(till.journal, till.state, today=lambda: till.day,
                           clock=TillClock(till))
    return till


def days_later(till, day):
    """The till on another day, with a snapshot pulled that day (its wallets as they were)."""
    till.day = date.fromisoformat(day)
    till.snapshot(till.state.campaigns(), [])


def booth(tmp_path, day, rules, wallets=("W-1",), parts=40, name="booth"):
    till = seed_till(tmp_path, day, name=name)
    till.snapshot(rules, [wallet([], wallet_id=w) for w in wallets])
    till.lease("koko", "all", parts)
    return till


def test_the_stock_is_counted_in_10000_yen_units():
    """約90,000セット(10,000円換算): the pool is 90,000 units of ¥10,000 of sale price; a
    ¥5,000 set (①) is half a unit, a ¥10,000 set (②) one unit. Pools and leases count halves
    (2 parts a unit): 90,000 × 2 = 180,000 parts; a lease block of 20 units is 40 parts."""
    rules = koko()
    assert campaigns.unit_parts(rules) == 2
    assert campaigns.pools(rules, "M-BOOTH") == [("all", 180_000)]
    assert campaigns.pool_total(rules, "all") == 180_000
    assert campaigns.lease_block(rules, 180_000) == 40
    assert (campaigns.set_units(rules, 5000), campaigns.set_units(rules, 10000)) == (1, 2)
    assert (campaigns.units_text(rules, 1), campaigns.units_text(rules, 3),
            campaigns.units_text(rules, 180_000)) == ("0.5", "1.5", "90,000")
    # Without a unit the stock counts uses, as before: 90,000 sets of any price.
    plain = koko(quantity_unit=None)
    assert campaigns.pools(plain, "M-BOOTH") == [("all", 90_000)]
    assert campaigns.set_units(plain, 10000) == 1
    with pytest.raises(campaigns.RuleError, match="quantity_unit"):
        # ¥10,001 a unit: the sets would be 5,000/10,001 of one, too fine to count
        koko(quantity_unit=10_001)


def test_a_lease_of_one_and_a_half_units_sells_a_10000_and_a_5000_set(tmp_path):
    """A lease of 3 parts = 1.5 units: ② (¥10,000, one unit = 2 parts) to W-1 and ① (¥5,000,
    half a unit = 1 part) to W-2 use it up (2 + 1 = 3); W-3's ① finds none left."""
    till = booth(tmp_path, "2021-12-10", [koko()], ("W-1", "W-2", "W-3"), parts=3)
    big = till.counter.buy_voucher(card("W-1"), "koko", 10_000)
    assert big.record["body"]["campaigns"][0]["units"] == 2
    small = till.counter.buy_voucher(card("W-2"), "koko", 5_000)
    assert "units" not in small.record["body"]["campaigns"][0]  # one part: the default
    assert till.journal.leases()[0]["used"] == 3
    with pytest.raises(Refused) as info:
        till.counter.buy_voucher(card("W-3"), "koko", 5_000)
    assert info.value.code == "sold_out"


def test_a_set_sold_in_the_first_period_waits_for_the_use_period(tmp_path):
    """Bought on 2021-12-10 (1次販売): ¥3,000 common + ¥4,500 exclusive, usable from
    2022-01-08. A ¥2,000 purchase on 2021-12-25 is refused naming 2022-01-08 (the wallet has
    no other money); on 2022-01-08 it is paid: ¥2,000 from the exclusive part (restricted
    value first), ¥2,500 of it left. A set bought in the 2次販売 (2022-01-11), inside the use
    period, is usable at once."""
    till = booth(tmp_path, "2021-12-10", [koko()])
    sold = till.counter.buy_voucher(card("W-1"), "koko", 5_000)
    assert {lot["usable_from"] for lot in sold.record["body"]["lots"]} == {"2022-01-08"}
    days_later(till, "2021-12-25")
    with pytest.raises(Refused) as info:
        till.counter.pay(card("W-1"), 2_000)
    assert info.value.code == "voucher_not_usable_yet"
    assert "2022-01-08" in info.value.message and "ここクーポン" in info.value.message
    days_later(till, "2022-01-08")
    paid = till.counter.pay(card("W-1"), 2_000)
    assert paid.paid_by == {"premium_exclusive": 2_000} and paid.balance_after == 5_500
    later = booth(tmp_path, "2022-01-11", [koko()], ("W-2",), name="later")
    assert all("usable_from" not in lot for lot in later.counter.buy_voucher(
        card("W-2"), "koko", 5_000).record["body"]["lots"])


def test_one_purchase_per_person_per_sale_period(tmp_path):
    """販売期ごとに1人あたり…いずれか1回購入可: W-1 buys ② on 2021-12-10 (period 1); a ① on
    2021-12-15 (still period 1) is refused; on 2021-12-25 (between periods) nothing is sold;
    on 2022-01-11 (period 2) W-1 buys again. Each entry names its period."""
    till = booth(tmp_path, "2021-12-10", [koko()])
    first = till.counter.buy_voucher(card("W-1"), "koko", 10_000)
    assert first.record["body"]["campaigns"][0]["period"] == "1"
    days_later(till, "2021-12-15")
    with pytest.raises(Refused) as info:
        till.counter.buy_voucher(card("W-1"), "koko", 5_000)
    assert info.value.code == "campaign_limit"
    days_later(till, "2021-12-25")
    with pytest.raises(Refused) as info:
        till.counter.buy_voucher(card("W-1"), "koko", 5_000)
    assert info.value.code == "not_in_sale_period" and "2022-01-11–2022-01-28" in \
        info.value.message
    days_later(till, "2022-01-11")
    second = till.counter.buy_voucher(card("W-1"), "koko", 5_000)
    assert second.record["body"]["campaigns"][0]["period"] == "2"
    assert till.counter.view("W-1").usage["koko"]["sp"] == {"1": 1, "2": 1}


def phone(till, wallet_id="W-1"):
    device = keys.generate()
    cert = tokens.issue_certificate(LEDGER_KEY, wallet_id, device.public_key(), 20_000,
                                    int(till.clock().timestamp()) + 3_600)
    counter = iter(range(1, 100))
    return lambda: Presented("app", tokens.make_token(cert, device, next(counter),
                                                      int(till.clock().timestamp())))


def test_a_campaign_sold_through_the_app_only_refuses_a_card(tmp_path):
    """購入方法：ココクーポン専用アプリから購入: with channels ["app"], W-1's card is refused
    (app_only, naming the campaign) and nothing is written; W-1's app buys ② (¥10,000) and
    the charge says it was shown as an app. A cards-only campaign refuses the app."""
    till = booth(tmp_path, "2021-12-10", [koko(channels=["app"])])
    app = phone(till)
    seq = till.journal.last_seq
    with pytest.raises(Refused) as info:
        till.counter.buy_voucher(card("W-1"), "koko", 10_000)
    assert info.value.code == "app_only" and "ここクーポン" in info.value.message
    assert till.journal.last_seq == seq
    sold = till.counter.buy_voucher(app(), "koko", 10_000)
    assert sold.record["body"]["credential"]["kind"] == "app" and sold.amount == 10_000
    cards_only = booth(tmp_path, "2021-12-10", [koko(channels=["card"])], name="cards")
    with pytest.raises(Refused) as info:
        cards_only.counter.buy_voucher(phone(cards_only)(), "koko", 5_000)
    assert info.value.code == "card_only"


def test_a_payment_below_the_minimum_is_refused_with_the_minimum_named(tmp_path):
    """※1回あたり1,500円以上の支払いが対象: a wallet holding only a ① set (¥3,000 common +
    ¥4,500 exclusive) pays ¥1,499: refused `below_min_spend` naming ¥1,500 (not "not enough
    balance": ¥7,500 is held). ¥1,500 is paid, all from the exclusive part (¥3,000 left
    there). With ¥2,000 of charged money besides, ¥1,000 is paid from that money."""
    till = seed_till(tmp_path, "2022-01-20", merchant="M-A")
    till.snapshot([koko()], [wallet([
        ("L-c", "premium_common", 3_000, "2022-02-28", ("small", "large"), "koko"),
        ("L-e", "premium_exclusive", 4_500, "2022-02-28", ("small",), "koko")])])
    with pytest.raises(Refused) as info:
        till.counter.pay(card("W-1"), 1_499)
    assert info.value.code == "below_min_spend"
    assert "¥1,500" in info.value.message and "¥1,499" in info.value.message
    assert "insufficient" not in info.value.message
    at = till.counter.pay(card("W-1"), 1_500)
    assert at.paid_by == {"premium_exclusive": 1_500} and at.balance_after == 6_000
    other = seed_till(tmp_path, "2022-01-20", merchant="M-A", name="other")
    other.snapshot([koko()], [wallet([cash(2_000), ("L-c", "premium_common", 3_000,
                                                    "2022-02-28", ("small", "large"), "koko")])])
    assert other.counter.pay(card("W-1"), 1_000).paid_by == {"charged": 1_000}


def test_rules_the_seed_does_not_allow_are_refused():
    with pytest.raises(campaigns.RuleError, match="sale_period"):
        koko(sale_periods=None)
    with pytest.raises(campaigns.RuleError, match="channels"):
        koko(channels=["fax"])
    with pytest.raises(campaigns.RuleError, match="use_starts"):
        koko(use_starts="2023-01-01")
    with pytest.raises(campaigns.RuleError, match="overlap"):
        koko(sale_periods=[PERIODS[1], PERIODS[0]])
    assert REASONS["below_min_spend"].count("{min:,}") == 1


def test_a_lots_usable_from_day_is_checked_in_the_body():
    """A lot's `usable_from` is a date not after its expiry (2022-01-08 ≤ 2022-02-28); a
    charge says how the wallet was shown, or nothing (charges written before it said)."""
    from sync import bodies

    def charge(**lot_fields):
        lot = {"lot": "L-1", "pocket": "premium_common", "amount": 7_500, "paid": 5_000,
               "funder": "shiga", "expires": "2022-02-28", **lot_fields}
        return {"amount": 5_000, "wallet": "W-1", "lots": [lot]}

    bodies.check("charge", charge(usable_from="2022-01-08"))
    bodies.check("charge", charge())  # before the field: usable at once
    bodies.check("charge", {**charge(), "credential": {"kind": "app"}})
    for bad, words in ((charge(usable_from="2022-03-01"), "after it expires"),
                       (charge(usable_from="1月8日"), "usable_from"),
                       ({**charge(), "credential": {"kind": "fax"}}, "credential")):
        with pytest.raises(bodies.BodyError, match=words):
            bodies.check("charge", bad)
