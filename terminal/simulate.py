"""A load generator: a day at the counter, driven through the real services.

Customers are the snapshot's active cards (an app user pays with a code their phone signs,
which a terminal cannot make, and a wallet id pays nothing); amounts are shop-like (a few
hundred to a few thousand yen, some with excluded goods); now and then a sale is refunded.
Every sale goes through `Counter.pay` exactly as the UI's would, so refusals come out with
their reasons.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter as Tally
from dataclasses import dataclass, field

from terminal.counter import Presented
from terminal.policy import Refused

MIN_SALE_YEN = 100
MAX_SALE_YEN = 4_000
EXCLUDED_SHARE = 0.1
REFUND_SHARE = 0.03
SYNC_EVERY_SALES = 500


@dataclass
class SimulationReport:
    sales: int = 0
    approved: int = 0
    approved_yen: int = 0
    refunds: int = 0
    decisions: Tally = field(default_factory=Tally)
    refusals: Tally = field(default_factory=Tally)
    commit_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def text(self) -> str:
        refused = ", ".join(f"{code} {n}" for code, n in self.refusals.most_common()) or "none"
        decided = ", ".join(f"{k} {n}" for k, n in sorted(self.decisions.items()))
        p50 = statistics.median(self.commit_ms) if self.commit_ms else 0.0
        return (f"{self.sales} sales in {self.seconds:.1f} s: {self.approved} approved "
                f"(¥{self.approved_yen:,}; {decided}), {self.refunds} refunds; refused: {refused};"
                f" median decision-to-commit {p50:.2f} ms")


def customers(node) -> list[Presented]:
    """Everyone in the snapshot who could pay with what they carry: the active cards."""
    cards, _apps = node.state.payers()
    return [Presented("card", c) for c in cards]


def run(node, sales: int, seed: int = 1, sync: bool = True) -> SimulationReport:
    rng = random.Random(seed)
    people = customers(node)
    report = SimulationReport()
    if not people:
        return report
    if node.counter.staff.enforcing:  # the demo's shop has staff: its manager sells
        from terminal.staff import sign_in_demo

        sign_in_demo(node.counter.staff)
    paid: list[str] = []
    started = time.perf_counter()
    for n in range(sales):
        report.sales += 1
        if paid and rng.random() < REFUND_SHARE:
            try:
                node.counter.refund(paid.pop(rng.randrange(len(paid))))
                report.refunds += 1
            except Refused as exc:
                report.refusals[exc.code] += 1
            continue
        amount = rng.randrange(MIN_SALE_YEN, MAX_SALE_YEN + 1, 10)
        excluded = rng.randrange(0, amount // 2 + 1, 10) if rng.random() < EXCLUDED_SHARE else 0
        t0 = time.perf_counter()
        try:
            done = node.counter.pay(rng.choice(people), amount, excluded)
        except Refused as exc:
            report.refusals[exc.code] += 1
            continue
        report.commit_ms.append((time.perf_counter() - t0) * 1000)
        report.approved += 1
        report.approved_yen += amount
        report.decisions[done.decision] += 1
        paid.append(done.tx_id)
        if sync and node.worker is not None and (n + 1) % SYNC_EVERY_SALES == 0:
            node.sync_once()
    if sync and node.worker is not None:
        node.sync_once()
    report.seconds = time.perf_counter() - started
    return report
