"""The day at one terminal: the X report (totals so far, read only) and the Z close (a signed
`day_close` record). The sheet itself is `sync.tally`'s, the same code the ledger uses.

A business day is the run of records after the previous `day_close` up to this one, so a
sale after the close belongs to the next day whatever the clock says. The close carries what
the town office reconciles against the ledger: first and last seq, counts and yen per record
type, what each pocket paid, refunds and voids, the cash float, cash expected against cash
counted, and the perpetual totals.
"""

from __future__ import annotations

import json
from datetime import date

from sync.tally import (  # noqa: F401 - the terminal's API too
    Tally,
    by_staff,
    compute,
    export,
    rows,
    staff_rows,
)
from terminal.errors import TerminalError
from terminal.journal import Journal


class TallyError(TerminalError):
    """A tally that cannot be made (no such day, a bad count); the message says why."""


def _day_runs(journal: Journal) -> list[tuple[dict | None, list[dict]]]:
    """The journal cut into business days: (the close record or None if open, records)."""
    runs: list[tuple[dict | None, list[dict]]] = []
    current: list[dict] = []
    for row in journal.rows():
        rec = json.loads(row[6])
        if rec["type"] == "day_close":
            runs.append((rec, current))
            current = []
        elif rec["type"] != "start":
            current.append(rec)
    runs.append((None, current))
    return runs


def x_report(journal: Journal) -> Tally:
    """The open day's totals so far (nothing is written)."""
    _, records = _day_runs(journal)[-1]
    today = records[0]["at"][:10] if records else journal._clock().date().isoformat()
    return compute(journal.terminal_id, records, today, False, journal.totals)


def z_close(journal: Journal, cash_counted: int | None = None) -> tuple[Tally, dict]:
    """Close the open day: sign a day_close record with its figures. Later sales belong to
    the next day. Returns the tally and the committed record."""
    tally = x_report(journal)
    if cash_counted is not None:
        if type(cash_counted) is not int or cash_counted < 0:
            raise TallyError("counted cash is a whole number of yen, 0 or more")
        tally.cash_counted = cash_counted
    tally.closed = True
    done = journal.append("day_close", tally.close_body())
    # Quantities lent for the day go back: the sync worker returns them once every record
    # is at the ledger, and leases afresh with the next sale's sync.
    journal.close_leases()
    return tally, done.record


def for_date(journal: Journal, business_date: str) -> Tally:
    """The tally of a business date: a closed day from its day_close, else the open day."""
    date.fromisoformat(business_date)  # ValueError for a malformed date
    for close, records in _day_runs(journal):
        if close is not None and close["body"].get("business_date") == business_date:
            tally = compute(journal.terminal_id, records, business_date, True,
                            close["body"].get("perpetual", {}))
            tally.cash_counted = close["body"].get("cash_counted")
            return tally
    current = x_report(journal)
    if current.business_date == business_date:
        return current
    raise TallyError(f"no business day {business_date} in this terminal's journal")


def day_records(journal: Journal, business_date: str | None = None) -> list[dict]:
    """The records of a business day (the open day when no date is given), for sections
    computed apart from the sheet (sync.tally.by_staff)."""
    runs = _day_runs(journal)
    if business_date is None:
        return runs[-1][1]
    for close, records in runs:
        if close is not None and close["body"].get("business_date") == business_date:
            return records
    return runs[-1][1]
