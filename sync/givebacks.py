"""What a refund or void does to a wallet's lots, as both sides compute it.

A refund or void gives `lots` lines back to the lots its payment drew. A void also takes
back what the payment's campaigns granted (`grants_back`: cash-back points, a rally prize),
each line naming the whole value granted. The customer may have spent some of it already,
at this counter or another; the rule (docs/campaigns.md, "Voids take campaigns back"):

- each grant lot gives back what it still holds, at most the line's amount;
- the rest, the value already spent (`short`), is kept from the money the void gives back
  (`netted`, taken from the refund's lines last first), so the funder is paid back in full
  and the customer ends as if the sale had never been;
- what the refund cannot cover (a prize worth more than the sale) is owed by the wallet
  (`debt`), as an overdraft is.

The ledger posts this (ledger.postings) and flags a shortfall `takeback_short`; the terminal
folds the same function into its view of the wallet (terminal.counter), so both show the same
yen. Each side gives it what it knows each grant lot holds; a lot it does not know holds 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settled:
    """The yen a give-back moves, lot by lot."""

    credited: list[tuple[str, int]]  # (lot, yen) given back, after netting, in body order
    taken: list[tuple[str, int]]  # (grant lot, yen) taken back from what it still holds
    short: list[tuple[str, int]] = field(default_factory=list)  # (grant lot, yen spent)
    netted: int = 0  # of the short, kept from the money given back
    debt: int = 0  # of the short, beyond the money given back: the wallet owes it

    @property
    def short_total(self) -> int:
        return sum(amount for _, amount in self.short)


def settle(lines: list[dict], grants_back: list[dict], holds: Mapping[str, int]) -> Settled:
    """The give-back of `lines` ({lot, amount}) less the take-back of `grants_back`
    ({lot, amount}), given what each grant lot `holds` now (absent: 0)."""
    taken, short = [], []
    for line in grants_back:
        take = max(0, min(line["amount"], holds.get(line["lot"], 0)))
        if take:
            taken.append((line["lot"], take))
        if line["amount"] > take:
            short.append((line["lot"], line["amount"] - take))
    owed = sum(amount for _, amount in short)
    credited = [(line["lot"], line["amount"]) for line in lines]
    netted = 0
    for n in range(len(credited) - 1, -1, -1):
        if netted == owed:
            break
        lot, amount = credited[n]
        cut = min(amount, owed - netted)
        credited[n] = (lot, amount - cut)
        netted += cut
    return Settled(credited, taken, short, netted, owed - netted)
