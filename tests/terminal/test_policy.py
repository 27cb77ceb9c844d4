"""Which lots pay, in which order: pure rules, checked on hand-made lots."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal import policy
from terminal.policy import Refused

TODAY = date(2027, 1, 20)


def lot(lot_id, pocket, remaining, expires=None, classes=("small", "large")):
    return {"lot": lot_id, "pocket": pocket, "remaining": remaining, "expires": expires,
            "classes": list(classes)}


WALLET = [
    lot("charged", "charged", 5_000),
    lot("common", "premium_common", 3_000, "2027-02-28"),
    lot("exclusive", "premium_exclusive", 4_500, "2027-02-28", ("small",)),
    lot("points-soon", "points", 300, "2027-01-31"),
    lot("points-late", "points", 500, "2027-06-30"),
    lot("expired", "points", 900, "2027-01-19"),
]


def paid(lines):
    return [(line["lot"], line["amount"]) for line in lines]


def test_restricted_first_then_earliest_expiry():
    lines = policy.draw(WALLET, 9_000, 0, "small", TODAY)
    assert paid(lines) == [("exclusive", 4_500), ("points-soon", 300), ("common", 3_000),
                           ("points-late", 500), ("charged", 700)]


def test_large_shop_never_takes_small_shop_value():
    lines = policy.draw(WALLET, 4_000, 0, "large", TODAY)
    assert "exclusive" not in {line["lot"] for line in lines}
    with pytest.raises(Refused) as info:
        policy.draw(WALLET, 9_000, 0, "large", TODAY)
    assert info.value.code == "insufficient" and info.value.details["available"] == 8_800


def test_expired_value_is_not_spent():
    lines = policy.draw(WALLET, 13_300, 0, "small", TODAY)
    assert "expired" not in {line["lot"] for line in lines}
    with pytest.raises(Refused):
        policy.draw(WALLET, 13_301, 0, "small", TODAY)


def test_excluded_goods_are_not_paid_with_vouchers():
    lines = policy.draw(WALLET, 6_000, 4_000, "small", TODAY)
    vouchers = sum(line["amount"] for line in lines if line["pocket"].startswith("premium"))
    assert vouchers == 2_000
    assert sum(line["amount"] for line in lines) == 6_000


def test_limits_from_merchant_config_ignore_nonsense():
    limits = policy.Limits.from_config({"max_offline_payment": 5_000, "wallet_balance_cap": -1,
                                        "max_offline_per_wallet": "lots", "other": 1})
    assert limits.max_offline_payment == 5_000
    assert limits.wallet_balance_cap == policy.DEFAULT_LIMITS["wallet_balance_cap"]
    assert limits.max_offline_per_wallet == policy.DEFAULT_LIMITS["max_offline_per_wallet"]


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True, policy.MAX_TRANSACTION_YEN + 1])
def test_amount_must_be_whole_yen(amount):
    with pytest.raises(Refused) as info:
        policy.check_amount(amount)
    assert info.value.code == "bad_amount"


lots_strategy = st.lists(
    st.builds(lot, st.uuids().map(str), st.sampled_from(["charged", "premium_common",
                                                         "premium_exclusive", "points"]),
              st.integers(0, 20_000), st.sampled_from([None, "2027-01-01", "2027-03-01"]),
              st.sampled_from([("small",), ("small", "large"), ("large",)])),
    max_size=8, unique_by=lambda item: item["lot"])


@given(lots_strategy, st.integers(1, 60_000), st.integers(0, 60_000),
       st.sampled_from(["small", "large"]))
def test_a_draw_pays_exactly_from_usable_lots_or_refuses(lots, amount, excluded, klass):
    excluded = min(excluded, amount)
    try:
        lines = policy.draw(lots, amount, excluded, klass, TODAY)
    except Refused as exc:
        assert exc.code == "insufficient"
        return
    by_id = {item["lot"]: item for item in lots}
    assert sum(line["amount"] for line in lines) == amount
    for line in lines:
        source = by_id[line["lot"]]
        assert 0 < line["amount"] <= source["remaining"]
        assert policy.usable_here(source, klass, TODAY)
    vouchers = sum(line["amount"] for line in lines if line["pocket"] in policy.VOUCHER_POCKETS)
    assert vouchers <= amount - excluded
