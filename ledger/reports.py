"""The ledger's reports for the town office (DESIGN §8): the daily tally from ledger data,
the reconciliation of each terminal's day close, and the monthly merchant settlement under
each fee plan.

The tally is computed from the stored journal records by `sync.tally`, the very code the
terminal used for its own sheet, so any difference between the two is a difference in the
records, never in the arithmetic. Fees are integer yen, rounded down (basis points, no
floats).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ledger.db import Database
from sync import tally as sheet

# Fee plans of the LOVESAIJO review (seed 001): (basis points of turnover, monthly base that
# is credited against the percentage: the bill is the larger of the two).
FEE_PLANS = {1: (155, 1_100), 2: (188, 0), 3: (210, 0)}
USER_RETURN_BP = 100  # 1 % of turnover goes back to users as points, in every plan
BP = 10_000
REPORT_FORMATS = ("csv", "xlsx", "pdf")


class ReportError(ValueError):
    """A report that cannot be made; the message says why."""


def _records(db: Database, terminal_id: str) -> list[dict]:
    with db.reading() as conn:
        return [json.loads(text) for (text,) in conn.all(
            "SELECT record FROM records WHERE terminal_id = ? ORDER BY seq", (terminal_id,))]


def _terminals(db: Database, merchant_id: str | None) -> list[tuple[str, str]]:
    sql = "SELECT terminal_id, merchant_id FROM terminals WHERE last_seq > 0"
    params: tuple = ()
    if merchant_id:
        sql += " AND merchant_id = ?"
        params = (merchant_id,)
    with db.reading() as conn:
        return conn.all(sql + " ORDER BY terminal_id", params)


def _day(records: list[dict], business_date: str) -> tuple[dict | None, list[dict], int]:
    """The records of one business day at a terminal: (its day_close or None, the records,
    the terminal's last seq the ledger holds)."""
    run: list[dict] = []
    for rec in records:
        if rec["type"] == "day_close":
            if rec["body"].get("business_date") == business_date:
                return rec, run, records[-1]["seq"]
            run = []
        elif rec["type"] != "start":
            run.append(rec)
    open_day = [r for r in run if r["at"][:10] == business_date]
    return None, open_day, records[-1]["seq"] if records else 0


def tally(db: Database, business_date: str, merchant_id: str | None = None) -> list[sheet.Tally]:
    """The sheet of each terminal (of a merchant, or all) for a business date."""
    out = []
    for terminal_id, _ in _terminals(db, merchant_id):
        records = _records(db, terminal_id)
        close, run, _ = _day(records, business_date)
        if not run and close is None:
            continue
        perpetual = close["body"].get("perpetual", {}) if close else records[-1]["totals"]
        day = sheet.compute(terminal_id, run, business_date, close is not None, perpetual)
        if close is not None:
            day.cash_counted = close["body"].get("cash_counted")
        out.append(day)
    return out


FIGURES = ("first_seq", "last_seq", "counts", "yen", "by_pocket", "by_decision", "float_in",
           "float_out", "cash_expected")


@dataclass
class Difference:
    terminal_id: str
    what: str
    terminal_says: object
    ledger_says: object


def reconcile(db: Database, business_date: str) -> list[Difference]:
    """Each terminal's day close against the ledger's own records of that day."""
    found: list[Difference] = []
    for terminal_id, _ in _terminals(db, None):
        records = _records(db, terminal_id)
        close, run, held = _day(records, business_date)
        if close is None:
            if run:
                found.append(Difference(terminal_id, "day close not received (records missing"
                                        f" after seq {held}, or the day is not closed)",
                                        "closed?", f"up to seq {held}"))
            continue
        ours = sheet.compute(terminal_id, run, business_date, True, {}).close_body()
        for name in FIGURES:
            if close["body"].get(name) != ours.get(name):
                found.append(Difference(terminal_id, name, close["body"].get(name),
                                        ours.get(name)))
    return found


@dataclass
class Settlement:
    merchant_id: str
    name: str
    plan: int
    turnover: int
    fee: int
    user_return: int
    payout: int


def fee(turnover: int, plan: int) -> int:
    """The month's fee in whole yen (rounded down); plan 1's base is credited against it."""
    if plan not in FEE_PLANS:
        raise ReportError("the fee plan is 1, 2 or 3")
    rate_bp, base = FEE_PLANS[plan]
    return max(base, turnover * rate_bp // BP)


def settlement(db: Database, month: str, plan: int) -> list[Settlement]:
    """Per merchant: turnover of the month (payments less refunds and voids, by sale time),
    the fee under `plan`, the 1 % returned to users, and what is paid out."""
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ReportError("the month is YYYY-MM")
    turnover: dict[str, int] = {}
    with db.reading() as conn:
        merchants = conn.all("SELECT merchant_id, name FROM merchants ORDER BY merchant_id")
    terminals = dict(_terminals(db, None))
    for terminal_id, merchant_id in terminals.items():
        for rec in _records(db, terminal_id):
            if rec["at"][:7] != month:
                continue
            amount = rec["body"].get("amount", 0)
            sign = {"payment": 1, "refund": -1, "void": -1}.get(rec["type"], 0)
            turnover[merchant_id] = turnover.get(merchant_id, 0) + sign * amount
    out = []
    for merchant_id, name in merchants:
        amount = turnover.get(merchant_id, 0)
        charged = fee(amount, plan)
        out.append(Settlement(merchant_id, name, plan, amount, charged,
                              amount * USER_RETURN_BP // BP, amount - charged))
    return out


# --- writing reports -----------------------------------------------------------------------


def write_table(title: str, headers: list[str], rows: list[list], fmt: str, path: Path) -> Path:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding=sheet.CSV_ENCODING)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.active.title = title[:31]
        book.active.append(headers)
        for row in rows:
            book.active.append(row)
        book.save(path)
    elif fmt == "pdf":
        _table_pdf(title, headers, rows, path)
    else:
        raise ReportError(f"the format is one of {', '.join(REPORT_FORMATS)}")
    return path


def _table_pdf(title: str, headers: list[str], rows: list[list], path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(sheet.JAPANESE_FONT))
    style = getSampleStyleSheet()["Title"]
    style.fontName = sheet.JAPANESE_FONT
    table = Table([headers] + [[f"{v:,}" if isinstance(v, int) else str(v) for v in row]
                               for row in rows], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), sheet.JAPANESE_FONT, 10),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ebf1")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
    ]))
    SimpleDocTemplate(str(path), pagesize=landscape(A4), title=title).build(
        [Paragraph(title, style), table])


def settlement_table(items: list[Settlement]) -> tuple[list[str], list[list]]:
    headers = ["加盟店ID", "店名", "プラン", "売上", "手数料", "利用者還元(1%)", "支払額"]
    return headers, [[s.merchant_id, s.name, s.plan, s.turnover, s.fee, s.user_return, s.payout]
                     for s in items]


def reconcile_table(items: list[Difference]) -> tuple[list[str], list[list]]:
    headers = ["端末", "項目", "端末の締め", "台帳"]
    return headers, [[d.terminal_id, d.what, json.dumps(d.terminal_says, ensure_ascii=False),
                      json.dumps(d.ledger_says, ensure_ascii=False)] for d in items]
