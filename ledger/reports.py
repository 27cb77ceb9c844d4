"""The ledger's reports for the town office (DESIGN §8): the daily tally from ledger data,
the reconciliation of each terminal's day close, the monthly merchant settlement under each
fee plan (with what campaign funders owe each shop), and what each campaign did.

The tally is computed from the stored journal records by `sync.tally`, the very code the
terminal used for its own sheet, so any difference between the two is a difference in the
records, never in the arithmetic. Fees are integer yen, rounded down (basis points, no
floats).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ledger.db import Database
from ledger.errors import LedgerPackageError
from ledger.postings import OWED_PRIZE_LOT, OWED_PRIZE_ORIGIN
from sync import bodies, campaigns, cells, vocab
from sync import tally as sheet

# Fee plans of the LOVESAIJO review (seed 001): (basis points of turnover, monthly base that
# is credited against the percentage: the bill is the larger of the two). The base is billed
# only for a month with turnover (docs/campaigns.md, "Fee plans"): 「基本料金は地域応援協力金
# のお支払い分に充てさせていただきます」 — it is paid toward the 協力金 on 取引額, and a shop
# or booth with no 取引額 that month owes none.
FEE_PLANS = {1: (155, 1_100), 2: (188, 0), 3: (210, 0)}
USER_RETURN_BP = 100  # 1 % of turnover goes back to users as points, in every plan
BP = 10_000
REPORT_FORMATS = ("csv", "xlsx", "pdf")


class ReportError(LedgerPackageError, ValueError):
    """A report that cannot be made; the message says why."""

    code = "report"


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


def _runs(records: list[dict]) -> list[sheet.Run]:
    """A terminal's records as the ledger holds them, cut into shifts and business days by
    the same rule the terminal used (sync.tally.day_runs)."""
    last = records[-1]["at"][:10] if records else "0000-01-01"
    return sheet.day_runs(records, last)


def campaign_names(db: Database) -> dict[str, str]:
    """Each campaign's name as the town gave it in its rules."""
    return {cid: rule.get("name") or cid for cid, rule in _rules(db).items()}


def _merchant(db: Database, merchant_id: str) -> str:
    with db.reading() as conn:
        return conn.value("SELECT name FROM merchants WHERE merchant_id = ?", (merchant_id,),
                          default="") or ""


def tally(db: Database, business_date: str, merchant_id: str | None = None) -> list[sheet.Tally]:
    """The sheet of each terminal (of a merchant, or all) for a business date: every shift
    of that day, with the shop's name and id and the campaigns' names."""
    out = []
    names = campaign_names(db)
    for terminal_id, merchant in _terminals(db, merchant_id):
        records = _records(db, terminal_id)
        runs = _runs(records)
        closes = [r.close for r in runs if r.close is not None and
                  r.business_date == business_date]
        perpetual = closes[-1]["body"].get("perpetual", {}) if closes else records[-1]["totals"]
        day = sheet.day_sheet(terminal_id, runs, business_date, perpetual)
        if day is None:
            continue
        day.shop_id, day.shop_name, day.campaign_names = merchant, _merchant(db, merchant), names
        out.append(day)
    return out


def tally_by_staff(db: Database, business_date: str, merchant_id: str | None = None
                   ) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, str]]:
    """The business date's records of the same terminals as `tally`, by staff member
    (sync.tally.by_staff, summed over terminals), and the members' names."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for terminal_id, _ in _terminals(db, merchant_id):
        run = [rec for day in _runs(_records(db, terminal_id))  # every shift of the day
               if day.business_date == business_date for rec in day.records]
        for staff, types in sheet.by_staff(run).items():
            for rtype, line in types.items():
                into = table.setdefault(staff, {}).setdefault(
                    rtype, {"n": 0, "yen": 0, "approved": 0})
                for key, value in line.items():
                    into[key] += value
    with db.reading() as conn:
        names = dict(conn.all("SELECT staff_id, name FROM staff"))
    return table, names


FIGURES = ("first_seq", "last_seq", "counts", "yen", "by_pocket", "by_decision", "float_in",
           "float_out", "cash_expected")


@dataclass
class Difference:
    terminal_id: str
    what: str
    terminal_says: object
    ledger_says: object


def reconcile(db: Database, business_date: str) -> list[Difference]:
    """Each terminal's closes of a business day against the ledger's own records: every
    record of the day covered by a close (else: which seqs are not, or which are missing),
    and each close's figures equal to what the ledger computes from that close's records,
    and its business day and shift those the rule gives (sync.tally.rule_day): a close
    naming another day is reported on both days."""
    found: list[Difference] = []
    for terminal_id, _ in _terminals(db, None):
        records = _records(db, terminal_id)
        held = records[-1]["seq"] if records else 0
        previous = None
        for run in _runs(records):
            if run.close is not None:
                # The day and shift a close names are checked against the rule, not taken
                # on its word: one naming another day would move its sales to that day's
                # sheet and leave both days reconciled.
                rule, previous = sheet.rule_day(previous, run), run.close
                named = (run.business_date, run.shift)
                if rule is not None and named != rule and business_date in (named[0], rule[0]):
                    found.append(Difference(
                        terminal_id, f"shift {run.shift}: business day and shift",
                        f"{named[0]} shift {named[1]}", f"{rule[0]} shift {rule[1]}"))
            if run.business_date != business_date:
                continue
            if run.close is None:
                if run.records:
                    found.append(Difference(
                        terminal_id, "records covered by no close (day close not received: "
                        f"records missing after seq {held}, or the day is not closed)",
                        "closed?", f"seq {run.records[0]['seq']}..{run.records[-1]['seq']} "
                        f"uncovered, up to seq {held} held"))
                continue
            ours = sheet.compute(terminal_id, run.records, business_date, True, {}).close_body()
            for name in FIGURES:
                if run.close["body"].get(name) != ours.get(name):
                    found.append(Difference(terminal_id, f"shift {run.shift}: {name}",
                                            run.close["body"].get(name), ours.get(name)))
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
    campaign: int = 0  # owed by campaign funders: discounts, gift codes, rides (yen)


def fee(turnover: int, plan: int) -> int:
    """The month's fee in whole yen (rounded down); plan 1's base is credited against it.
    Seed 001, plan 1: 「地域応援協力金が1100円を超えない場合は基本料金のみのご請求、1100円を
    超えた場合は、基本料金＋超過部分のご請求」: max(¥1,100, 1.55 %) — for a month with
    turnover; with none (a charge booth, a shop that sold nothing, or one whose refunds
    outweigh its sales) nothing is billed."""
    if plan not in FEE_PLANS:
        raise ReportError("the fee plan is 1, 2 or 3")
    rate_bp, base = FEE_PLANS[plan]
    if turnover <= 0:
        return 0
    return max(base, turnover * rate_bp // BP)


def _check_month(month: str) -> None:
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ReportError("the month is YYYY-MM")


def _rules(db: Database) -> dict[str, dict]:
    with db.reading() as conn:
        return {cid: json.loads(text) for cid, text in
                conn.all("SELECT campaign_id, rules FROM campaigns ORDER BY campaign_id")}


def _funder(rules: dict[str, dict], campaign_id: str, named: str | None) -> str:
    """Who pays for a campaign's part of a record: the rules (as the ledger posted it)."""
    rule = rules.get(campaign_id)
    return rule["funder"] if rule else named or "unknown"


def held_gifts(db: Database) -> set[tuple[str, int]]:
    """(terminal, seq) of gift payments the ledger holds instead of owing them to the shop:
    their code was taken by another sale first (ledger.postings posts them to
    `merchant:M:held`, flagged `gift_code_reused`)."""
    with db.reading() as conn:
        return {(terminal_id, seq) for terminal_id, seq in conn.all(
            "SELECT f.terminal_id, f.seq FROM flags f JOIN records r ON r.terminal_id = "
            "f.terminal_id AND r.seq = f.seq WHERE f.kind = 'gift_code_reused' AND "
            "r.type = 'gift'")}


def campaign_share(rec: dict, rules: dict[str, dict]) -> dict[str, int]:
    """Yen a shop is owed by campaign funders for one of its records (its receivable beyond
    what wallets paid): funded discounts, gift codes taken, rides given; by funder."""
    body = rec["body"]
    owed: dict[str, int] = {}
    # A void's entries take its sale's back; so do those of the refund that gives back all
    # that was left of a sale (terminal.counter.refund); a partial refund carries none.
    if rec["type"] in ("payment", "void", "refund"):
        for entry in bodies.all_entries(body):  # the other diners' stamps' discounts too
            funder = _funder(rules, entry.get("campaign", ""), entry.get("funder"))
            if entry.get("discount") and funder != campaigns.SHOP_FUNDED:
                sign = -1 if entry.get("undo") is True else 1
                owed[funder] = owed.get(funder, 0) + sign * entry["discount"]
    elif rec["type"] == "gift":
        gift = body.get("gift", {})
        funder = _funder(rules, gift.get("campaign", ""), gift.get("funder"))
        owed[funder] = owed.get(funder, 0) + body.get("amount", 0)
    elif rec["type"] == "ticket":
        funder = _funder(rules, body.get("campaign", ""), body.get("funder"))
        owed[funder] = owed.get(funder, 0) + body.get("ride_value", 0)
    return owed


def settlement(db: Database, month: str, plan: int) -> list[Settlement]:
    """Per merchant: turnover of the month (payments less refunds and voids, by sale time),
    what campaign funders owe it (discounts they fund, gift codes, rides; not a gift code's
    second use, which is held), the fee under `plan` on both, the 1 % returned to users, and
    what is paid out: the shop's receivable less the fee."""
    _check_month(month)
    turnover: dict[str, int] = {}
    owed: dict[str, int] = {}
    with db.reading() as conn:
        merchants = conn.all("SELECT merchant_id, name FROM merchants ORDER BY merchant_id")
    rules = _rules(db)
    held = held_gifts(db)
    terminals = dict(_terminals(db, None))
    for terminal_id, merchant_id in terminals.items():
        for rec in _records(db, terminal_id):
            if rec["at"][:7] != month or (terminal_id, rec["seq"]) in held:
                continue
            amount = rec["body"].get("amount", 0)
            sign = {"payment": 1, "refund": -1, "void": -1}.get(rec["type"], 0)
            turnover[merchant_id] = turnover.get(merchant_id, 0) + sign * amount
            share = sum(campaign_share(rec, rules).values())
            if share:
                owed[merchant_id] = owed.get(merchant_id, 0) + share
    out = []
    for merchant_id, name in merchants:
        amount, campaign = turnover.get(merchant_id, 0), owed.get(merchant_id, 0)
        charged = fee(amount + campaign, plan)
        out.append(Settlement(merchant_id, name, plan, amount, charged,
                              (amount + campaign) * USER_RETURN_BP // BP,
                              amount + campaign - charged, campaign))
    return out


# --- campaigns -------------------------------------------------------------------------------


@dataclass
class CampaignFigures:
    """What one campaign did in a period, from the records the ledger holds."""

    campaign_id: str
    name: str
    kind: str
    uses: int = 0
    discounts: int = 0        # yen off payments (paid to shops by the funder)
    issued: int = 0           # yen of value made: premium, bonus, points, prizes, gifts
    stamps: int = 0
    completions: int = 0
    gifts_spent: int = 0      # yen paid at counters with the campaign's gift codes
    owed_prizes: int = 0      # rally prizes the ledger granted for completions owed
    rides_granted: int = 0
    rides_taken: int = 0
    pools: dict[str, tuple[int, int]] = field(default_factory=dict)  # pool: (granted, total)
    funders: dict[str, int] = field(default_factory=dict)  # yen each funder pays
    # The stock in the campaign's own unit (約90,000セット(10,000円換算): `quantity_unit` yen
    # of sale price a unit, a ¥5,000 set half of one): pools and leases count parts of a
    # unit (sync.campaigns.unit_parts); these are the same figures in units, as text.
    quantity_unit: int | None = None  # yen a unit stands for; None: a unit is one use
    units_sold: int = 0  # parts the records' entries took from the stock
    pool_units: dict[str, tuple[str, str]] = field(default_factory=dict)

    def fund(self, funder: str, yen: int) -> None:
        if yen:
            self.funders[funder] = self.funders.get(funder, 0) + yen


CAMPAIGN_RECORD_TYPES = (*vocab.CAMPAIGN_ENTRY_RECORD_TYPES, vocab.RecordType.REFUND.value)


def campaign_report(db: Database, date_from: str = "0000-01-01",
                    date_to: str = "9999-12-31") -> list[CampaignFigures]:
    """Per campaign, over the records made from `date_from` to `date_to` (inclusive): uses,
    discounts given, value issued, stamps and completions, gift codes and rides, units of
    each pool given out against its total (now), and what each funder pays for it."""
    rules = _rules(db)
    held = held_gifts(db)  # not paid by the funder
    figures = {cid: CampaignFigures(cid, rule.get("name", cid), rule["kind"])
               for cid, rule in rules.items()}

    def of(campaign_id: str) -> CampaignFigures:
        if campaign_id not in figures:
            figures[campaign_id] = CampaignFigures(campaign_id, campaign_id, "unknown")
        return figures[campaign_id]

    with db.reading() as conn:
        types = ", ".join(f"'{t}'" for t in CAMPAIGN_RECORD_TYPES)
        texts = conn.all(f"SELECT record FROM records WHERE type IN ({types}) AND "
                         "substr(at, 1, 10) >= ? AND substr(at, 1, 10) <= ?",
                         (date_from, date_to))
        pool_rows = conn.all("SELECT campaign_id, pool, granted, total FROM pools "
                             "ORDER BY campaign_id, pool")
        # Rally prizes the ledger granted itself (a completion owed: ledger.postings), by
        # the day it granted them (UTC).
        owed_rows = [row for row in conn.all(
            "SELECT campaign, amount, funder, created_us, lot_id FROM lots WHERE origin = ?",
            (OWED_PRIZE_ORIGIN,)) if date_from <= _utc_day(row[3]) <= date_to]
    voided = set()
    for (text,) in texts:
        rec = json.loads(text)
        body, rtype = rec["body"], rec["type"]
        if rtype == "void" or (rtype == "refund" and (body.get("campaigns") or
                                                       bodies.diners(body))):
            voided.add(body.get("of"))  # its campaigns undone, the prizes taken back
        for entry in bodies.all_entries(body):
            item = of(entry.get("campaign", ""))
            sign = -1 if entry.get("undo") is True else 1  # a void takes its sale's back
            item.uses += sign
            if "lease" in entry:  # a void's undone entry gives its units back (seed 000)
                item.units_sold += sign * entry.get("units", 1)
            item.stamps += sign * entry.get("stamps", 0)
            item.completions += sign if entry.get("complete") else 0
            if entry.get("discount"):
                item.discounts += sign * entry["discount"]
                item.fund(_funder(rules, item.campaign_id, entry.get("funder")),
                          sign * entry["discount"])
            if entry.get("kind") == "ticket":
                item.rides_granted += entry.get("rides", 0)
        for line in body.get("grants_back", []) + [
                line for diner in bodies.diners(body) for line in diner.get("grants_back", [])]:
            if line.get("campaign"):
                item = of(line["campaign"])
                item.issued -= line.get("amount", 0)
                item.fund(line.get("funder") or "unknown", -line.get("amount", 0))
        made = body.get("grants", []) + (body.get("lots", []) if rtype in ("charge", "grant")
                                         else []) + [
            line for diner in bodies.diners(body) for line in diner.get("grants", [])
            if rtype == "payment"]
        for line in made:
            if not line.get("campaign"):
                continue
            item = of(line["campaign"])
            if line.get("pocket") == "tickets":
                continue
            item.issued += line.get("amount", 0)
            funded = line.get("amount", 0) - line.get("paid", 0)
            if rtype == "exchange":
                funded -= body.get("points", 0)
            item.fund(line.get("funder") or "unknown", funded)
        if rtype == "gift" and (rec["terminal_id"], rec["seq"]) not in held:
            gift = body.get("gift", {})
            item = of(gift.get("campaign", ""))
            item.uses += 1
            item.gifts_spent += body.get("amount", 0)
            item.fund(_funder(rules, item.campaign_id, gift.get("funder")),
                      body.get("amount", 0))
        elif rtype == "grant" and isinstance(body.get("gift"), dict):
            of(body["gift"].get("campaign", "")).uses += 1
        elif rtype == "ticket":
            item = of(body.get("campaign", ""))
            item.uses += 1
            item.rides_taken += 1
            item.fund(_funder(rules, item.campaign_id, body.get("funder")),
                      body.get("ride_value", 0))
    for campaign_id, amount, funder, _, lot_id in owed_rows:
        if lot_id[len(OWED_PRIZE_LOT):].rsplit("-", 1)[0] in voided:
            continue  # the void took it back (ledger.postings)
        item = of(campaign_id or "")
        item.issued += int(amount)
        item.owed_prizes += 1
        item.fund(funder or "unknown", int(amount))
    for campaign_id, pool, granted, total in pool_rows:
        item = of(campaign_id)
        item.pools[pool] = (int(granted), int(total))
        rule = rules.get(campaign_id)
        item.pool_units[pool] = (campaigns.units_text(rule, int(granted)),
                                 campaigns.units_text(rule, int(total)))
    for campaign_id, rule in rules.items():
        figures[campaign_id].quantity_unit = rule.get("quantity_unit")
    return [figures[cid] for cid in sorted(figures)]


def _utc_day(us: int) -> str:
    return datetime.fromtimestamp(int(us) / 1_000_000, UTC).date().isoformat()


def campaign_table(items: list[CampaignFigures]) -> tuple[list[str], list[list]]:
    headers = ["キャンペーン", "名称", "種類", "利用", "値引き", "発行額", "スタンプ", "達成",
               "ギフト利用", "回数券 付与/利用", "配分 (済/総数)", "負担"]
    rows = []
    for c in items:
        # in the campaign's unit (a ¥5,000 set of a 10,000円換算 stock: 0.5)
        unit = f" (¥{c.quantity_unit:,})" if c.quantity_unit else ""
        pools = " ".join(f"{pool} {granted}/{total}{unit}"
                         for pool, (granted, total) in sorted(c.pool_units.items()))
        funders = " ".join(f"{funder} {yen:,}" for funder, yen in sorted(c.funders.items()))
        rows.append([c.campaign_id, c.name, c.kind, c.uses, c.discounts, c.issued, c.stamps,
                     c.completions, c.gifts_spent, f"{c.rides_granted}/{c.rides_taken}",
                     pools, funders])
    return headers, rows


def campaign_json(items: list[CampaignFigures], path: Path) -> Path:
    path.write_text(json.dumps([dataclasses.asdict(c) for c in items], ensure_ascii=False,
                               indent=2), encoding="utf-8")
    return path


# --- writing reports -----------------------------------------------------------------------


def write_table(title: str, headers: list[str], rows: list[list], fmt: str, path: Path) -> Path:
    if fmt == "csv":
        cells.write_csv(path, [headers, *rows])
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.active.title = title[:31]
        for row in [headers, *rows]:
            cells.xlsx_append(book.active, row)
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
    headers = ["加盟店ID", "店名", "プラン", "売上", "キャンペーン負担分", "手数料",
               "利用者還元(1%)", "支払額"]
    return headers, [[s.merchant_id, s.name, s.plan, s.turnover, s.campaign, s.fee,
                      s.user_return, s.payout] for s in items]


def gift_codes_pdf(codes: list, campaign_name: str, out: Path, expires: str | None = None
                   ) -> Path:
    """Printable gift cards, two to a row on A4: the code's QR (made by segno, as the demo
    cards' are), its value in yen and the campaign's name in Japanese."""
    import tempfile

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    from sync.refwallet import CARD_H, CARD_W, JAPANESE_FONT, card_slots, write_qr_png

    pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    page = canvas.Canvas(str(out), pagesize=A4)
    page.setTitle(f"{campaign_name} ギフトコード")
    side = CARD_H - 16
    with tempfile.TemporaryDirectory() as scratch:
        for code, (x, y) in zip(codes, card_slots(page, len(codes)), strict=True):
            png = Path(scratch) / f"{code.code_id}.png"
            write_qr_png(code.text(), png)
            page.drawImage(str(png), x + CARD_W - side - 8, y + 8, side, side)
            page.setFont(JAPANESE_FONT, 8)
            for n, start in enumerate(range(0, min(len(campaign_name), 30), 10)):
                page.drawString(x + 10, y + CARD_H - 20 - 10 * n,
                                campaign_name[start : start + 10])
            page.setFont(JAPANESE_FONT, 18)
            page.drawString(x + 10, y + CARD_H / 2, f"{code.value:,}円")
            page.setFont(JAPANESE_FONT, 7)
            page.drawString(x + 10, y + 36, "ギフトコード (1回限り)")
            if expires:
                page.drawString(x + 10, y + 26, f"有効期限 {expires}")
            page.setFont("Courier", 6)
            page.drawString(x + 10, y + 12, code.code_id[:16])
    page.save()
    return out


def reconcile_table(items: list[Difference]) -> tuple[list[str], list[list]]:
    headers = ["端末", "項目", "端末の締め", "台帳"]
    return headers, [[d.terminal_id, d.what, json.dumps(d.terminal_says, ensure_ascii=False),
                      json.dumps(d.ledger_says, ensure_ascii=False)] for d in items]
