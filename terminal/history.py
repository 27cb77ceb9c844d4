"""Today's sales and their receipts: the business day's records as a list that says what
became of each sale (voided, refunded in part or whole), found by amount or by time, and any
of their receipts again, marked 再発行 (reprint).

A receipt is rebuilt from its signed record, so a reprint says what the record says: the
kind, the amount, the pockets it drew on or filled, the campaigns by name, the approval and
the transaction id (its QR). What the record does not hold (the balance the card had after)
is left off rather than guessed. No Qt here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sync import vocab
from terminal import receipt as paper
from terminal.counter import Outcome
from terminal.errors import TerminalError
from terminal.journal import Journal
from terminal.tally import runs

# The records a customer gets a receipt for, as listed for the day.
LISTED_KINDS = paper.KINDS
MAX_LISTED = 500  # a day's list on the screen; the busiest booth does fewer
AMOUNT_RE = re.compile(r"^¥?\s*(\d{1,3}(?:,\d{3})+|\d+)\s*(円)?$")
TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{0,2}))?$")


class HistoryError(TerminalError):
    """A receipt that cannot be found or made again; the message says why."""

    code = "no_receipt"


@dataclass(frozen=True)
class Sale:
    """One line of the day's list."""

    seq: int
    tx_id: str
    kind: str
    at: str  # the record's time, ISO with its offset
    amount: int
    status: str = ""  # "", "voided", "refunded" (all of it), "part_refunded"
    refunded: int = 0  # yen refunded or voided against it

    @property
    def time(self) -> str:
        return self.at[11:16]


def _records(journal: Journal) -> list[dict]:
    """The records of the business day now open (every shift of it); after a Z, until the
    next day's first record, the day just closed."""
    all_runs = runs(journal)
    day = all_runs[-1].business_date
    mine = [rec for run in all_runs if run.business_date == day for rec in run.records]
    if not mine and len(all_runs) > 1:
        day = all_runs[-2].business_date
        mine = [rec for run in all_runs if run.business_date == day for rec in run.records]
    return mine


def day_sales(journal: Journal) -> list[Sale]:
    """The day's records that have receipts, newest first, each saying whether it was voided
    or refunded (in part or whole) since."""
    records = _records(journal)
    taken: dict[str, tuple[int, bool]] = {}  # tx_id -> (yen given back, voided)
    for rec in records:
        if rec["type"] in ("refund", "void"):
            of = rec["body"].get("of")
            amount = rec["body"].get("amount", 0)
            before, voided = taken.get(of, (0, False))
            taken[of] = (before + (amount if type(amount) is int else 0),
                         voided or rec["type"] == "void")
    out = []
    for rec in reversed(records):
        if rec["type"] not in LISTED_KINDS:
            continue
        amount = rec["body"].get("amount", 0)
        amount = amount if type(amount) is int else 0
        back, voided = taken.get(rec["tx_id"], (0, False))
        out.append(Sale(rec["seq"], rec["tx_id"], rec["type"], rec["at"], amount,
                        _status(amount, back, voided), back))
        if len(out) >= MAX_LISTED:
            break
    return out


def _status(amount: int, back: int, voided: bool) -> str:
    return "voided" if voided else ("refunded" if back and back >= amount else
                                    "part_refunded" if back else "")


def recent_payments(journal: Journal, limit: int) -> list[Sale]:
    """The newest payments of any day (the refund list), newest first, each saying whether
    it was voided or refunded (in part or whole) since."""
    out = []
    for row in journal.recent("payment", limit):
        back, voided = 0, False
        for rec in journal.givebacks_of(row["tx_id"]):
            amount = rec["body"].get("amount", 0)
            back += amount if type(amount) is int else 0
            voided = voided or rec["type"] == "void"
        out.append(Sale(row["seq"], row["tx_id"], "payment", row["at"], row["amount"],
                        _status(row["amount"], back, voided), back))
    return out


def matches(sale: Sale, query: str) -> bool:
    """Does `sale` answer a search: an amount ("1500", "¥1,500", "1500円") is that amount;
    a time ("14", "14:0", "14:05") is a sale made then; a receipt number ("#41" / "No.41")
    is that receipt. Empty matches everything."""
    query = query.strip()
    if not query:
        return True
    if query.startswith("#") or query.lower().startswith("no."):
        digits = query.lstrip("#").lower().removeprefix("no.").strip()
        return digits.isdigit() and sale.seq == int(digits)
    moment = TIME_RE.match(query)
    if moment and (":" in query or len(query) <= 2):
        hour = int(moment.group(1))
        minutes = moment.group(2) or ""
        return sale.time.startswith(f"{hour:02d}:{minutes}")
    amount = AMOUNT_RE.match(query)
    if amount:
        return sale.amount == int(amount.group(1).replace(",", ""))
    return False


def find(sales: list[Sale], query: str) -> list[Sale]:
    return [sale for sale in sales if matches(sale, query)]


def outcome_of(rec: dict, names: dict[str, str] | None = None) -> Outcome:
    """A signed record as the Outcome its receipt is built from (no balance: the record does
    not hold it)."""
    names = names or {}
    body: dict[str, Any] = rec.get("body", {})
    paid_by: dict[str, int] = {}
    if rec["type"] in ("payment", "charge", "grant"):
        for line in body.get("lots", []) or []:
            if isinstance(line, dict) and isinstance(line.get("pocket"), str) and \
                    type(line.get("amount")) is int:
                paid_by[line["pocket"]] = paid_by.get(line["pocket"], 0) + line["amount"]
    entries = [{**entry, "name": names.get(entry.get("campaign", ""), entry.get("campaign", ""))}
               for entry in body.get("campaigns", []) or [] if isinstance(entry, dict)]
    amount = body.get("amount", 0)
    decision = body["decision"] if body.get("decision") in vocab.DECISIONS else ""
    price = body.get("price")
    return Outcome(rec["type"], rec["seq"], rec["tx_id"], amount if type(amount) is int else 0,
                   body.get("wallet") if isinstance(body.get("wallet"), str) else None,
                   decision, paid_by, None, rec, entries,
                   price=price if type(price) is int else None)


def record_of(journal: Journal, seq: int | None = None) -> dict:
    """The record of receipt number `seq`, or of the last receipt made (None)."""
    if seq is None:
        marks = ", ".join("?" * len(LISTED_KINDS))
        for row in journal.conn.execute(
                f"SELECT record FROM records WHERE type IN ({marks}) ORDER BY seq DESC LIMIT 1",
                LISTED_KINDS):
            return json.loads(row[0])
        raise HistoryError("no receipt has been made on this terminal yet")
    row = journal.conn.execute("SELECT record FROM records WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        raise HistoryError(f"there is no receipt no. {seq}")
    rec = json.loads(row[0])
    if rec["type"] not in LISTED_KINDS:
        raise HistoryError(f"no. {seq} is a {rec['type']} record, which has no receipt")
    return rec


def reprint(journal: Journal, merchant: dict, names: dict[str, str] | None = None,
            seq: int | None = None, lang: str = "ja") -> paper.Receipt:
    """Receipt number `seq` (else the last one) again, marked 再発行."""
    rec = record_of(journal, seq)
    return paper.build_receipt(outcome_of(rec, names), merchant, journal.terminal_id, lang,
                               reprint=True)
