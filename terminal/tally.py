"""The day at one terminal: the X report (totals so far, read only), the shift close and the
Z close (signed `day_close` records). The sheet itself is `sync.tally`'s, the same code the
ledger uses.

A business day is whole. A Z close closes it: records after it belong to the next business
day (the later of the day after and their own date), whatever the clock says. A shop that
closes more than once a day makes shift closes: each closes its shift, the business day stays
open, and the day's sheet covers every shift with a line per shift. A second close on the
calendar day of a Z is refused as an accident unless a manager approved it (`approved_by`):
it then closes the late records as another shift of that same business day, so no record is
left off every sheet. Each close carries what the town office reconciles against the ledger:
its business day and shift, first and last seq, counts and yen per record type, what each
pocket paid, refunds and voids, the cash float, cash expected against cash counted, and the
perpetual totals.
"""

from __future__ import annotations

import json

from sync import bodies
from sync.tally import (  # noqa: F401 - the terminal's API too
    Run,
    Tally,
    by_staff,
    closes_day,
    compute,
    day_runs,
    day_sheet,
    export,
    figures,
    rows,
    shift_of,
    staff_rows,
)
from terminal.errors import TerminalError
from terminal.journal import Journal


class TallyError(TerminalError):
    """A tally that cannot be made (no such day, a bad count); the message says why."""

    code = "tally"


class SecondClose(TallyError):
    """A close on the calendar day of a Z close, without a manager's approval: most likely
    the Z pressed twice. The message says what the first close covered."""

    code = "second_close"

    def __init__(self, message: str, first: dict) -> None:
        super().__init__(message)
        self.first = first  # the Z close record this one would follow


def _records(journal: Journal) -> list[dict]:
    return [json.loads(row[6]) for row in journal.rows()]


def _today(journal: Journal) -> str:
    return journal._clock().date().isoformat()


def runs(journal: Journal) -> list[Run]:
    """The journal cut into shifts and business days (the last run is the open one)."""
    return day_runs(_records(journal), _today(journal))


def describe_close(close: dict, lang: str = "en") -> str:
    """What a close covered, in one line: its day, shift, records, net sales and time."""
    body = close["body"]
    day = compute("", [], "", True, {})
    day.yen = body.get("yen", {}) if isinstance(body.get("yen"), dict) else {}
    when = str(close.get("at", ""))[11:16]
    if lang == "ja":
        return (f"{body.get('business_date')} シフト{shift_of(close)} の締め ({when}, "
                f"取引番号 {body.get('first_seq')}–{body.get('last_seq')}, 売上 "
                f"¥{day.net_sales:,}, No.{close['seq']})")
    return (f"the close of {body.get('business_date')} shift {shift_of(close)} at {when} "
            f"(seq {body.get('first_seq')}..{body.get('last_seq')}, net sales "
            f"¥{day.net_sales:,}; the close is seq {close['seq']})")


def last_close(journal: Journal) -> dict | None:
    found = None
    for rec in _records(journal):
        if rec["type"] == "day_close":
            found = rec
    return found


def after_close_notice(journal: Journal) -> tuple[str, str] | None:
    """(closed business day, business day sales now belong to) when the last close was a Z:
    for the screen's "sales now belong to the next business day"."""
    all_runs = runs(journal)
    if len(all_runs) < 2 or all_runs[-2].close is None or not closes_day(all_runs[-2].close):
        return None
    return all_runs[-2].business_date, all_runs[-1].business_date


def x_report(journal: Journal) -> Tally:
    """The open shift's totals so far (nothing is written)."""
    run = runs(journal)[-1]
    tally = compute(journal.terminal_id, run.records, run.business_date, False,
                    journal.totals)
    tally.shift = run.shift
    return tally


def z_close(journal: Journal, cash_counted: int | None = None, *, shift: bool = False,
            approved_by: str | None = None, names: dict[str, str] | None = None
            ) -> tuple[Tally, dict]:
    """Close the open shift: sign a day_close record with its figures. `shift=False` (a Z)
    closes the business day too, so later sales belong to the next one; `shift=True` leaves
    the day open for the next shift. A close on the calendar day of a Z close raises
    SecondClose unless `approved_by` names the manager who approved it; approved, it closes
    the records since as another shift of that business day. Returns the tally and the
    committed record. `names`: the staff member who closed and the manager who approved
    the close (`staff`, `approver`: Counter.close_day), put in the record."""
    if cash_counted is not None and (type(cash_counted) is not int or cash_counted < 0):
        raise TallyError("counted cash is a whole number of yen, 0 or more")
    if approved_by is not None and (not isinstance(approved_by, str) or not approved_by):
        raise TallyError("approved_by names the manager who approved the close")
    all_runs = runs(journal)
    run, previous = all_runs[-1], all_runs[-2].close if len(all_runs) > 1 else None
    business_date, number = run.business_date, run.shift
    if previous is not None and closes_day(previous) and \
            str(previous.get("at", ""))[:10] == _today(journal):
        if approved_by is None:
            raise SecondClose(
                f"this business day is already closed: {describe_close(previous)}. Sales "
                f"since belong to the next business day ({run.business_date}). Closing again "
                "today needs a manager's approval; it then closes them as another shift of "
                f"{previous['body'].get('business_date')}.", previous)
        business_date, number = str(previous["body"].get("business_date")), \
            shift_of(previous) + 1
    tally = compute(journal.terminal_id, run.records, business_date, True, journal.totals)
    tally.cash_counted = cash_counted
    tally.shift, tally.day_closed, tally.approved_by = number, not shift, approved_by
    body = {**tally.close_body(), **(names or {})}
    bodies.check("day_close", body)
    done = journal.append("day_close", body)
    # Quantities lent for the day go back: the sync worker returns them once every record
    # is at the ledger, and leases afresh with the next sale's sync.
    journal.close_leases()
    return tally, done.record


def name_sheet(sheet: Tally, state) -> Tally:
    """The shop's name and id and the campaigns' names (as the town named them) from the
    terminal's snapshot, for the sheet's heading and campaign lines."""
    merchant = state.merchant()
    sheet.shop_name = merchant.get("name", "") or ""
    sheet.shop_id = merchant.get("merchant_id", "") or ""
    sheet.campaign_names = {rule["id"]: rule.get("name") or rule["id"]
                            for rule in state.campaigns() if isinstance(rule, dict) and
                            isinstance(rule.get("id"), str)}
    return sheet


def for_date(journal: Journal, business_date: str) -> Tally:
    """The sheet of a business date: every shift of it, closed or still open."""
    from datetime import date

    date.fromisoformat(business_date)  # ValueError for a malformed date
    all_runs = runs(journal)
    closes = [run.close for run in all_runs if run.close is not None and
              run.business_date == business_date]
    perpetual = closes[-1]["body"].get("perpetual", {}) if closes else journal.totals
    sheet = day_sheet(journal.terminal_id, all_runs, business_date, perpetual)
    if sheet is None:
        raise TallyError(f"no business day {business_date} in this terminal's journal")
    return sheet


def day_records(journal: Journal, business_date: str | None = None) -> list[dict]:
    """The records of a business day, every shift of it (the open shift when no date is
    given), for sections computed apart from the sheet (sync.tally.by_staff)."""
    all_runs = runs(journal)
    if business_date is None:
        return all_runs[-1].records
    return [rec for run in all_runs if run.business_date == business_date
            for rec in run.records]
