"""What the town's campaigns do for one sale, decided here, offline (DESIGN §2, §6).

The rules come from the snapshot (`sync.campaigns` reads them); what a wallet has already
used of each campaign is the ledger's count in the snapshot plus this terminal's records
since; quantities come from leases the ledger lent this terminal (`terminal.journal`). A
campaign that would need a unit this terminal has not got is skipped, never over-issued.

`Plan` is what a payment gets: entries for the record's `campaigns`, new lots for its
`grants`, the discount, and notes for the screen about what did not apply and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync import bodies, campaigns, ids
from terminal.journal import Journal
from terminal.state import StateStore

# Why a campaign did nothing for a sale, shown to the cashier (translated by code).
SKIP_REASONS = {
    "sold_out": "{name}: none left at this terminal.",
    "wallet_limit": "{name}: this customer has had it as often as the rules allow.",
    "stamped_here": "{name}: this card already has this shop's stamp.",
    "rally_finished": "{name}: this customer has finished the rally {max} times already.",
    "prize_sold_out": "{name}: the card is complete, but the prizes are all gone.",
}


@dataclass
class Plan:
    entries: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    discount: int = 0
    skipped: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def skip(self, rule: dict, code: str, **details: Any) -> None:
        self.skipped.append((rule["id"], code, {"name": rule["name"], **details}))

    def notes(self) -> list[str]:
        return [SKIP_REASONS[code].format(**details) for _, code, details in self.skipped]


def now_ms() -> int:
    return int(time.time() * 1000)


class Offers:
    """The campaigns of this shop on one day."""

    def __init__(self, journal: Journal, state: StateStore, merchant_id: str,
                 merchant_class: str, day: str,
                 ask_lease: Callable[[dict, str], bool] | None = None) -> None:
        self.journal = journal
        # Online, a unit not on hand is asked of the ledger before the sale decides
        # (terminal.leases.take): True when a lease came.
        self._ask_lease = ask_lease
        self.merchant_id = merchant_id
        self.merchant_class = merchant_class
        self.day = day
        self.rules = {}
        for rule in state.campaigns():
            checked = _checked(rule)
            if checked is not None:
                self.rules[checked["id"]] = checked

    def rule(self, campaign_id: str) -> dict[str, Any] | None:
        return self.rules.get(campaign_id)

    def active(self, kind: str) -> list[dict[str, Any]]:
        return [rule for _, rule in sorted(self.rules.items())
                if rule["kind"] == kind and campaigns.active(
                    rule, self.day, self.merchant_id, self.merchant_class)]

    def unit(self, rule: dict, pool: str) -> str | None:
        """A lease with a unit left in the pool, or None (asked of the ledger first when
        online: the first sale after a Z close, a lease run dry, a campaign begun today)."""
        lease = self.journal.usable_lease(rule["id"], pool, now_ms())
        if lease is None and self._ask_lease is not None and self._ask_lease(rule, pool):
            lease = self.journal.usable_lease(rule["id"], pool, now_ms())
        return lease

    def blocked_campaigns(self, base: int) -> set[str]:
        """Campaigns whose value may not pay for a purchase of `base` yen (a minimum spend
        per use, e.g. ¥1,500 for Shiga's vouchers)."""
        return {cid for cid, rule in self.rules.items()
                if rule["kind"] == "premium_voucher" and base < rule.get("min_spend", 0)}

    # --- a payment ------------------------------------------------------------------------

    def for_payment(self, usage: dict[str, dict], amount: int, excluded: int, people: int,
                    tags: frozenset[str]) -> Plan:
        plan = Plan()
        base = amount - excluded
        self._coupon(plan, usage, base)
        for rule in self.active("stamp_rally"):
            self._stamp(plan, rule, usage.get(rule["id"]), base, people, tags)
        for rule in self.active("cash_back"):
            self._cash_back(plan, rule, usage.get(rule["id"]), base - plan.discount)
        return plan

    def _coupon(self, plan: Plan, usage: dict[str, dict], base: int) -> None:
        best: tuple[int, dict, str | None] | None = None
        for rule in self.active("threshold_coupon"):
            off = campaigns.coupon_off(rule, self.merchant_id, base)
            if not off:
                continue
            if not campaigns.within_limit(rule, usage.get(rule["id"]), self.day):
                plan.skip(rule, "wallet_limit")
                continue
            lease = None
            pool = campaigns.main_pool(rule, self.merchant_id)
            if pool is not None:
                lease = self.unit(rule, pool)
                if lease is None:
                    plan.skip(rule, "sold_out")
                    continue
            if best is None or off > best[0]:
                best = (off, rule, lease)
        if best is None:
            return
        off, rule, lease = best
        entry = {"campaign": rule["id"], "kind": rule["kind"], "discount": off,
                 "funder": rule["funder"]}
        if lease:
            entry["lease"] = lease
        plan.entries.append(entry)
        plan.discount += off

    def _stamp(self, plan: Plan, rule: dict, usage: dict | None, base: int, people: int,
               tags: frozenset[str]) -> None:
        stamps = campaigns.rally_stamps(rule, base, people, tags)
        if not stamps:
            return
        if not campaigns.within_limit(rule, usage, self.day):
            plan.skip(rule, "wallet_limit")
            return
        most = rule.get("max_completions")
        if most and (usage or {}).get("done", 0) >= most:
            plan.skip(rule, "rally_finished", max=most)
            return
        card = campaigns.rally_card(usage)
        if any(shop == self.merchant_id for shop, _ in card):
            plan.skip(rule, "stamped_here")
            return
        complete = sum(n for _, n in card) + stamps >= rule["stamps_to_complete"]
        entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"], "stamps": stamps,
                                 "shop": self.merchant_id, "people": max(1, people),
                                 "double": stamps == 2, "complete": complete,
                                 "funder": rule["funder"]}
        prize = rule.get("prize")
        if complete and prize:
            lease = self.unit(rule, campaigns.POOL_PRIZE) if prize.get("quantity") else None
            if prize.get("quantity") and lease is None:
                plan.skip(rule, "prize_sold_out")
            else:
                if lease:
                    entry["prize_lease"] = lease
                entry["prize"] = prize["value"]
                plan.grants.append(bodies.new_lot(
                    "L-" + ids.new_id(), "premium_common", prize["value"], 0, rule["funder"],
                    prize.get("expires"), campaign=rule["id"]))
        discount = rule.get("shop_discount")
        if discount and base - plan.discount > discount["off"]:
            lease = self.unit(rule, campaigns.POOL_SHOP_PREFIX + self.merchant_id)
            if lease is not None:
                entry["discount"], entry["lease"] = discount["off"], lease
                plan.discount += discount["off"]
        plan.entries.append(entry)

    def _cash_back(self, plan: Plan, rule: dict, usage: dict | None, paid: int) -> None:
        if not campaigns.within_limit(rule, usage, self.day):
            return
        points = campaigns.cash_back_points(rule, usage, paid, self.day)
        if points <= 0:
            return
        entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"], "points": points}
        pool = campaigns.main_pool(rule, self.merchant_id)
        if pool is not None:
            lease = self.unit(rule, pool)
            if lease is None:
                plan.skip(rule, "sold_out")
                return
            entry["lease"] = lease
        plan.entries.append(entry)
        plan.grants.append(bodies.new_lot("L-" + ids.new_id(), "points", points, 0,
                                          rule["funder"], rule.get("expires"),
                                          campaign=rule["id"]))


def _checked(rule: Any) -> dict[str, Any] | None:
    """The rules as the ledger validated them; rules this version cannot run are left out."""
    try:
        return campaigns.validate(rule)
    except campaigns.RuleError:
        return None
