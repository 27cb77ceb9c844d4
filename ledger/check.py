"""The ledger's invariants, checked from the stored data alone (`python -m ledger check`).

1. The postings of every entry sum to zero.
2. Every stored balance equals the sum of its postings (per account and part).
3. Every wallet pocket equals the sum of its lots' remaining value (rides included).
4. No record is stored twice (by terminal and seq, or by tx_id).
5. Every stored record verifies: each terminal's chain re-walked from seq 1 (signatures,
   prev hashes, totals) ends where the terminal's row says it ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ledger.db import Database
from ledger.postings import RIDE_DEBT
from sync import record

# Problems listed per invariant before the rest are only counted.
MAX_LISTED = 20
# Wallet accounts that are no pocket of lots: money and rides taken beyond what was there.
DEBT_POCKETS = ("debt", RIDE_DEBT)


@dataclass
class CheckReport:
    entries: int = 0
    accounts: int = 0
    records: int = 0
    terminals: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (f"{self.records} records from {self.terminals} terminals, {self.entries} "
                f"entries, {self.accounts} accounts")
        if self.ok:
            return f"ledger consistent: {head}"
        return f"ledger INCONSISTENT ({len(self.problems)} problems): {head}"


def _note(report: CheckReport, rows: list, describe) -> None:
    for row in rows[:MAX_LISTED]:
        report.problems.append(describe(row))
    if len(rows) > MAX_LISTED:
        report.problems.append(f"... and {len(rows) - MAX_LISTED} more like it")


def check(db: Database) -> CheckReport:
    report = CheckReport()
    with db.reading() as conn:
        report.entries = conn.value("SELECT count(DISTINCT entry) FROM postings", default=0)
        _note(report, conn.all("SELECT entry, sum(amount) FROM postings GROUP BY entry "
                               "HAVING sum(amount) <> 0"),
              lambda r: f"entry {r[0]} does not balance (off by {r[1]})")
        postings = {(a, p): int(s) for a, p, s in conn.all(
            "SELECT account, part, sum(amount) FROM postings GROUP BY account, part")}
        balances = {(a, p): int(s) for a, p, s in conn.all(
            "SELECT account, part, amount FROM balances")}
        report.accounts = len({a for a, _ in balances})
        wrong = [(k, balances.get(k, 0), postings.get(k, 0))
                 for k in sorted(set(postings) | set(balances))
                 if balances.get(k, 0) != postings.get(k, 0)]
        _note(report, wrong, lambda r: f"balance {r[0][0]} ({r[0][1]}) is {r[1]} but its "
                                       f"postings sum to {r[2]}")
        lots = {(w, p): int(s) for w, p, s in conn.all(
            "SELECT wallet_id, pocket, sum(remaining) FROM lots GROUP BY wallet_id, pocket")}
        pockets = {}
        for account, total in conn.all("SELECT account, sum(amount) FROM balances "
                                       "WHERE account LIKE 'wallet:%' GROUP BY account"):
            _, wallet_id, pocket = account.split(":")  # ids hold no ":" (bodies.ID_RE)
            if pocket not in DEBT_POCKETS:
                pockets[(wallet_id, pocket)] = int(total)
        lot_wrong = [(k, pockets.get(k, 0), lots.get(k, 0))
                     for k in sorted(set(lots) | set(pockets))
                     if pockets.get(k, 0) != lots.get(k, 0)]
        _note(report, lot_wrong, lambda r: f"wallet {r[0][0]} pocket {r[0][1]} holds {r[1]} "
                                           f"but its lots hold {r[2]}")
        _note(report, conn.all("SELECT tx_id, count(*) FROM records GROUP BY tx_id "
                               "HAVING count(*) > 1"),
              lambda r: f"tx_id {r[0]} stored {r[1]} times")
        terminals = conn.all("SELECT terminal_id, last_seq, last_hash FROM terminals "
                             "WHERE last_seq > 0 ORDER BY terminal_id")
        report.terminals = len(terminals)
        for terminal_id, last_seq, last_hash in terminals:
            _check_chain(conn, report, terminal_id, last_seq, last_hash)
    return report


def _check_chain(conn, report: CheckReport, terminal_id: str, last_seq: int,
                 last_hash: str) -> None:
    chain = record.Chain(terminal_id)
    for seq, stored_hash, text in conn.execute(
        "SELECT seq, hash, record FROM records WHERE terminal_id = ? ORDER BY seq",
        (terminal_id,),
    ):
        data = text.encode("utf-8")
        try:
            chain.advance(data)
        except record.RecordError as exc:
            report.problems.append(f"terminal {terminal_id}: stored {exc}")
            return
        if stored_hash != chain.hash:
            report.problems.append(f"terminal {terminal_id} seq {seq}: stored hash differs")
            return
        report.records += 1
    if (chain.seq, chain.hash) != (last_seq, last_hash):
        report.problems.append(
            f"terminal {terminal_id}: records end at seq {chain.seq} but the terminal row says "
            f"{last_seq}")


def as_json(report: CheckReport) -> str:
    return json.dumps({"ok": report.ok, "records": report.records, "terminals": report.terminals,
                       "entries": report.entries, "accounts": report.accounts,
                       "problems": report.problems}, ensure_ascii=False, indent=2)
