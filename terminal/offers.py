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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync import bodies, campaigns, ids
from terminal.effects import Note
from terminal.journal import Journal
from terminal.state import StateStore

# Why a campaign did nothing for a sale: a terminal.effects.Note, worded by the receipt and
# the UI. (completion_owed and completion_offline are not skips: the card completed here but
# no prize unit is on hand, or the stamp was made offline; the ledger confirms the
# completion and grants the prize from the pool, and the customer's app or card shows it at
# the next pull.)


@dataclass
class Plan:
    entries: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    discount: int = 0
    skipped: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # The other diners' stamps: {"wallet", "campaigns", "grants"?} each, in the order given.
    diners: list[dict[str, Any]] = field(default_factory=list)
    # Units this plan takes from each lease (several stamps of one sale share a lease).
    taken: dict[str, int] = field(default_factory=dict)

    def skip(self, rule: dict, code: str, **details: Any) -> None:
        self.skipped.append((rule["id"], code, {"name": rule["name"], **details}))

    def notes(self) -> list[Note]:
        return [Note(code, details) for _, code, details in self.skipped]


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

    def unit(self, rule: dict, pool: str, units: int = 1) -> str | None:
        """A lease with `units` left in the pool, or None (asked of the ledger first when
        online: the first sale after a Z close, a lease run dry, a campaign begun today)."""
        lease = self.journal.usable_lease(rule["id"], pool, now_ms(), units)
        if lease is None and self._ask_lease is not None and self._ask_lease(rule, pool):
            lease = self.journal.usable_lease(rule["id"], pool, now_ms(), units)
        return lease

    def take(self, plan: Plan, rule: dict, pool: str, want: int) -> tuple[str | None, int]:
        """Up to `want` units of one lease of the pool, counting what the plan took already
        (the diners' stamps of one sale draw on the same leases): (lease, units) or
        (None, 0). With none on hand, the ledger is asked as in `unit`."""
        got = self._take_held(plan, rule, pool, want)
        if got[0] is None and self._ask_lease is not None and self._ask_lease(rule, pool):
            got = self._take_held(plan, rule, pool, want)
        return got

    def _take_held(self, plan: Plan, rule: dict, pool: str, want: int
                   ) -> tuple[str | None, int]:
        now = now_ms()
        for lease in self.journal.leases("open"):
            if lease["campaign"] != rule["id"] or lease["pool"] != pool or \
                    lease["expires_ms"] <= now:
                continue
            left = lease["count"] - lease["used"] - plan.taken.get(lease["lease_id"], 0)
            if left > 0:
                got = min(left, want)
                plan.taken[lease["lease_id"]] = plan.taken.get(lease["lease_id"], 0) + got
                return lease["lease_id"], got
        return None, 0

    def blocked_campaigns(self, base: int) -> set[str]:
        """Campaigns whose value may not pay for a purchase of `base` yen (a minimum spend
        per use, e.g. ¥1,500 for Shiga's vouchers)."""
        return {cid for cid, rule in self.rules.items()
                if rule["kind"] == "premium_voucher" and base < rule.get("min_spend", 0)}

    # --- a payment ------------------------------------------------------------------------

    def for_payment(self, usage: dict[str, dict], amount: int, excluded: int, people: int,
                    tags: frozenset[str], diners: Sequence[tuple[str, dict[str, dict]]] = (),
                    offline: bool = False) -> Plan:
        """`diners`: the other diners' (wallet, usage), each stamped on their own card by
        their share at a restaurant; `offline`: the sale decides on the snapshot."""
        plan = Plan()
        base = amount - excluded
        people = max(people, 1 + len(diners))
        self._coupon(plan, usage, base)
        for rule in self.active("stamp_rally"):
            entry = self._stamp(plan, rule, usage.get(rule["id"]), base, people, tags)
            if entry is not None:
                plan.entries.append(entry)
                if offline and not entry["complete"]:
                    plan.skip(rule, "completion_offline")
            self._diners(plan, rule, diners, base, people, tags)
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

    def _diners(self, plan: Plan, rule: dict, diners: Sequence[tuple[str, dict[str, dict]]],
                base: int, people: int, tags: frozenset[str]) -> None:
        if not diners:
            return
        if not campaigns.diners_here(rule, self.merchant_id):
            plan.skip(rule, "diners_not_here")
            return
        if base // people < rule["threshold"]:
            plan.skip(rule, "diner_no_stamp", share=base // people,
                      threshold=rule["threshold"])
            return
        for wallet_id, usage in diners:
            grants_before = len(plan.grants)
            entry = self._stamp(plan, rule, usage.get(rule["id"]), base, people, tags,
                                diner=True)
            # a diner's prize is the diner's own lot, not the payer's
            grants, plan.grants = plan.grants[grants_before:], plan.grants[:grants_before]
            if entry is None:
                continue
            found = next((d for d in plan.diners if d["wallet"] == wallet_id), None)
            if found is None:
                found = {"wallet": wallet_id, "campaigns": []}
                plan.diners.append(found)
            found["campaigns"].append(entry)
            if grants:
                found.setdefault("grants", []).extend(grants)

    def _stamp(self, plan: Plan, rule: dict, usage: dict | None, base: int, people: int,
               tags: frozenset[str], diner: bool = False) -> dict[str, Any] | None:
        """The stamp entry for one card (the payer's, or a `diner`'s), or None."""
        stamps = campaigns.rally_stamps(rule, base, people, tags, self.merchant_id, diner)
        if not stamps:
            return None
        if not campaigns.within_limit(rule, usage, self.day):
            plan.skip(rule, "wallet_limit")
            return None
        most = rule.get("max_completions")
        if most and (usage or {}).get("done", 0) >= most:
            plan.skip(rule, "rally_finished", max=most)
            return None
        card = campaigns.rally_card(usage)
        if any(shop == self.merchant_id for shop, _ in card):
            plan.skip(rule, "stamped_here")
            return None
        complete = campaigns.card_stamps(card) + stamps >= rule["stamps_to_complete"]
        entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"], "stamps": stamps,
                                 "shop": self.merchant_id, "people": max(1, people),
                                 "double": stamps == 2, "complete": complete,
                                 "funder": rule["funder"]}
        prize = rule.get("prize")
        if complete and prize:
            lease = None
            if prize.get("quantity"):
                lease, _ = self.take(plan, rule, campaigns.POOL_PRIZE, 1)
            if prize.get("quantity") and lease is None:
                # 「先着で3,000回分」: the pool may still hold prizes this terminal has not
                # got (its lease ran dry); the ledger grants it from the pool, or says the
                # prizes are all gone. The completion is never lost.
                entry["prize_owed"] = True
                plan.skip(rule, "completion_owed")
            else:
                if lease:
                    entry["prize_lease"] = lease
                entry["prize"] = prize["value"]
                plan.grants.append(bodies.new_lot(
                    "L-" + ids.new_id(), "premium_common", prize["value"], 0, rule["funder"],
                    prize.get("expires"), campaign=rule["id"]))
        # 「各店舗先着100スタンプについて、1スタンプにつき200円をお買い物総額から割り引きます」:
        # ¥200 per stamp (a banquet's two: ¥400, two of the shop's first 100), none at a
        # shop 割引対象外; only as many as the shop's lease still holds.
        off = campaigns.discount_here(rule, self.merchant_id)
        if off:
            want = min(stamps, max(0, base - plan.discount - 1) // off)
            lease, units = self.take(plan, rule, campaigns.POOL_SHOP_PREFIX + self.merchant_id,
                                     want) if want else (None, 0)
            if lease is not None:
                entry["discount"], entry["lease"] = off * units, lease
                if units != 1:
                    entry["units"] = units
                plan.discount += off * units
        return entry

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
