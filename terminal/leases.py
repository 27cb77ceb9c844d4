"""Keeping campaign quantities on hand (DESIGN §6): while the ledger is reachable, the sync
worker tops up a lease for each pool this shop draws on (first 3,000 prizes, a coupon's
stock, this shop's first 100 discounted stamps), and gives back leases that are closed (the
day was closed) or expired, once every record that used them is at the ledger.

The day boundary loses nothing (issue #16.4): a Z close closes the day's leases, and the
sync round that follows returns them and leases afresh at once, so the next day's first
sale finds its units even offline; and a sale the ledger answers online that finds no unit
on hand asks for a lease itself (`take`, within the online check's time) before it decides.

The counter spends units offline from the journal's leases; it never uses more than a
lease holds, so a terminal never over-issues, and the ledger counts each use once. A void
gives its sale's units back to the lease they came from (terminal.effects).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta

from sync import campaigns, ids
from sync.client import READ_TIMEOUT_S, LedgerClient
from terminal.journal import Journal
from terminal.state import StateStore

log = logging.getLogger(__name__)

# A lease is topped up when fewer than this share of a block is left (percent).
LOW_WATER_PCT = 50
# An expired lease is given back this long after its end, so a sale that took a unit just
# before it expired has been written and pushed.
RETURN_AFTER_EXPIRY_S = 60
# The state store's key for lease requests sent but not yet answered, by "campaign/pool":
# a request whose answer was lost is sent again with the same id, and the ledger answers
# the lease it granted then instead of granting a second one.
LEASE_REQUESTS_KEY = "lease_requests"


class LeaseKeeper:
    """Called by the sync worker after each good round, on its thread, with its journal."""

    def __init__(self, journal: Journal, state: StateStore,
                 today: Callable[[], str] | None = None) -> None:
        self.journal = journal
        self.state = state
        self._today = today or (lambda: time.strftime("%Y-%m-%d"))

    def __call__(self, client: LedgerClient) -> None:
        self.give_back(client)
        self.top_up(client)

    def give_back(self, client: LedgerClient) -> int:
        """Return closed and expired leases; only when no record is waiting to be pushed, so
        the ledger has counted every use before it takes the rest back."""
        if self.journal.pending_count():
            return 0
        now_ms = int(time.time() * 1000)
        returned = 0
        for lease in self.journal.leases():
            expired = lease["expires_ms"] + RETURN_AFTER_EXPIRY_S * 1000 < now_ms
            if lease["status"] == "returned" or (lease["status"] == "open" and not expired):
                continue
            client.return_lease(lease["lease_id"], lease["used"])
            self.journal.lease_returned(lease["lease_id"], lease["used"])
            returned += 1
            log.info("lease %s returned (%d of %d used)", lease["lease_id"], lease["used"],
                     lease["count"])
        return returned

    def top_up(self, client: LedgerClient) -> int:
        """Lease a block for each pool that runs low; the units got. Right after a Z close
        too: its leases were closed, so the next day's first sale has fresh ones, also of a
        campaign that begins the next day."""
        merchant = self.state.merchant()
        merchant_id, merchant_class = merchant.get("merchant_id", ""), merchant.get("class",
                                                                                   "small")
        day, now_ms, got = self._today(), int(time.time() * 1000), 0
        days = [day]
        if self.journal.last_type() == "day_close":
            days.append((date.fromisoformat(day) + timedelta(days=1)).isoformat())
        for rule in self.state.campaigns():
            try:
                rule = campaigns.validate(rule)
            except campaigns.RuleError:
                continue
            if not any(campaigns.in_period(rule, when) for when in days) or (
                    rule["kind"] not in ("gift_code", "ticket")
                    and not campaigns.shop_takes_part(rule, merchant_id, merchant_class)):
                continue
            for pool, total in campaigns.pools(rule, merchant_id):
                block = campaigns.lease_block(rule, total)
                if self.journal.units_left(rule["id"], pool, now_ms) * 100 >= \
                        block * LOW_WATER_PCT:
                    continue
                lease = take(client, self.journal, self.state, rule["id"], pool, block)
                if lease is not None:
                    got += lease["count"]
        return got


def block_for(rule: dict, pool: str, merchant_id: str) -> int:
    """The units one lease of the rule's pool asks for (0: the rule has no such pool)."""
    for name, total in campaigns.pools(rule, merchant_id):
        if name == pool:
            return campaigns.lease_block(rule, total)
    return 0


def take(client: LedgerClient, journal: Journal, state: StateStore, campaign: str, pool: str,
         block: int, timeout: float = READ_TIMEOUT_S) -> dict | None:
    """Lease `block` units of a pool and keep the lease in the journal; None when the pool
    is empty. Used by the sync worker (top_up) and by the counter (a sale online with no
    unit on hand); a request whose answer was lost is sent again with the same id (state
    LEASE_REQUESTS_KEY), so the ledger grants it once. Raises SyncError when unanswered."""
    asked = state.get(LEASE_REQUESTS_KEY) or {}
    slot = f"{campaign}/{pool}"
    request_id = asked.get(slot)
    if request_id is None:
        request_id = "LR-" + ids.new_id()
        state.put(LEASE_REQUESTS_KEY, {**asked, slot: request_id})
    lease = client.lease(campaign, pool, block, request_id=request_id, timeout=timeout)
    if lease is not None:
        journal.add_lease(lease)  # kept once, whatever how often it was answered
    asked = state.get(LEASE_REQUESTS_KEY) or {}
    asked.pop(slot, None)
    state.put(LEASE_REQUESTS_KEY, asked)
    return lease
