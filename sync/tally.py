"""The daily tally sheet (日計表), computed from journal records by the same code on the
terminal and at the ledger, so the two sheets of one day can be compared line by line; and
its renderings: CSV (UTF-8 with BOM, for Excel), XLSX, and a one-page A4 PDF in Japanese
(English available) with a signature line.

`training` records are counted apart and never in the money. Cash expected is the cash taken
for top-ups plus the float put in, less the float taken out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sync import cells, vocab
from sync.errors import SyncPackageError

CSV_ENCODING = cells.CSV_ENCODING
JAPANESE_FONT = "HeiseiKakuGo-W5"
PDF_ROW_PT = 18  # one figure's line
MONEY_TYPES = vocab.MONEY_RECORD_TYPES
# What a day's campaign entries add up to, per campaign (yen, points, stamps, rides, units).
CAMPAIGN_FIGURES = (("uses", "件", "uses"), ("discount", "値引", "discount"),
                    ("stamps", "スタンプ", "stamps"), ("completions", "完成", "completed"),
                    ("prizes", "賞品", "prizes"), ("points", "ポイント", "points"),
                    ("bonus", "ボーナス", "bonus"), ("vouchers", "商品券販売", "vouchers sold"),
                    ("rides", "乗車", "rides"), ("gifts", "ギフト", "gift codes"))
YEN_FIGURES = ("discount", "prizes", "bonus", "vouchers", "gifts")
POCKET_NAMES = {"charged": ("チャージ残高", "Charged money"),
                "premium_common": ("プレミアム商品券(共通)", "Vouchers (all shops)"),
                "premium_exclusive": ("プレミアム商品券(中小店)", "Vouchers (small shops)"),
                "points": ("ポイント", "Points"), "gift": ("ギフトコード", "Gift codes"),
                "unknown": ("不明", "Unknown")}
TYPE_NAMES = {"payment": ("お支払い", "Payments"), "refund": ("返金", "Refunds"),
              "void": ("取消", "Voids"), "charge": ("チャージ", "Top-ups"),
              "grant": ("ポイント付与", "Points granted"), "card_issue": ("カード発行",
                                                                "Cards issued"),
              "cash_move": ("釣銭", "Cash float"), "training": ("練習", "Training"),
              "gift": ("ギフトコード払い", "Gift code payments"),
              "ticket": ("回数券 利用", "Ticket rides"),
              "exchange": ("ポイント交換", "Points exchanged")}



class TallyError(SyncPackageError, ValueError):
    """A sheet that cannot be made; the message says why."""

    code = "tally"


# --- business days and shifts ----------------------------------------------------------------
#
# A journal is cut into runs by its day_close records. Each close names the business day and
# the shift it closes (`shift`, from 1) and whether it closes the business day (`day_closed`:
# a Z) or only a shift (the day stays open for the next shift). Records after a Z belong to
# the next business day: the later of the day after the closed one and their own calendar
# date. A close made before shifts existed has neither field: it is shift 1 and a Z.


@dataclass
class Run:
    """The records between two closes: the close that ends them (None: still open), and the
    business day and shift they belong to."""

    close: dict | None
    records: list[dict]
    business_date: str
    shift: int


def shift_of(close: dict) -> int:
    shift = close["body"].get("shift")
    return shift if type(shift) is int and shift >= 1 else 1


def closes_day(close: dict) -> bool:
    return close["body"].get("day_closed", True) is not False


def next_business_day(last_close: dict | None, calendar_date: str) -> tuple[str, int]:
    """(business date, shift) of records made on `calendar_date` after `last_close`."""
    if last_close is None:
        return calendar_date, 1
    closed = str(last_close["body"].get("business_date", ""))
    if not closes_day(last_close):
        return closed, shift_of(last_close) + 1
    try:
        following = (date.fromisoformat(closed) + timedelta(days=1)).isoformat()
    except ValueError:
        return calendar_date, 1
    return max(calendar_date, following), 1


def rule_day(previous: dict | None, run: Run) -> tuple[str, int] | None:
    """The (business date, shift) a closed `run` must name by the rule its terminal applied
    (terminal.tally.z_close): what follows `previous` (the close before it) for records
    from the run's first record's date (the close's own, for an empty run), except that a
    close on the calendar day of a Z is another shift of the Z's business day (a second
    close, approved). None for a close made before shifts existed (no `shift`): not
    checked."""
    close = run.close
    assert close is not None, "an open run names no day"
    if "shift" not in close["body"]:
        return None
    closed_on = str(close.get("at", ""))[:10]
    if previous is not None and closes_day(previous) and \
            str(previous.get("at", ""))[:10] == closed_on:
        return str(previous["body"].get("business_date", "")), shift_of(previous) + 1
    return next_business_day(previous, run.records[0]["at"][:10] if run.records
                             else closed_on)


def day_runs(records: list[dict], today: str) -> list[Run]:
    """`records` (a terminal's, in seq order) cut into runs; the last one is the open run (its
    business day from its first record's date, or `today` when it has none)."""
    runs: list[Run] = []
    current: list[dict] = []
    last: dict | None = None
    for rec in records:
        if rec["type"] == "day_close":
            runs.append(Run(rec, current, str(rec["body"].get("business_date", "")),
                            shift_of(rec)))
            last, current = rec, []
        elif rec["type"] != "start":
            current.append(rec)
    business_date, shift = next_business_day(last, current[0]["at"][:10] if current else today)
    runs.append(Run(None, current, business_date, shift))
    return runs


@dataclass
class Shift:
    """One shift's line on a day's sheet."""

    shift: int
    first_seq: int
    last_seq: int
    closed: bool  # its close is signed
    day_closed: bool  # that close was the day's Z
    net_sales: int
    cash_expected: int
    cash_counted: int | None
    closed_at: str = ""  # the close record's time
    close_seq: int = 0


@dataclass
class TerminalLine:
    """One terminal's line on a sheet of several (a two-lane shop, a town)."""

    terminal_id: str
    closed: bool
    net_sales: int
    cash_expected: int
    cash_counted: int | None


@dataclass
class Tally:
    terminal_id: str
    business_date: str
    first_seq: int
    last_seq: int
    closed: bool
    counts: dict[str, int] = field(default_factory=dict)
    yen: dict[str, int] = field(default_factory=dict)
    by_pocket: dict[str, int] = field(default_factory=dict)
    by_decision: dict[str, int] = field(default_factory=dict)
    float_in: int = 0
    float_out: int = 0
    cash_counted: int | None = None
    perpetual: dict[str, Any] = field(default_factory=dict)
    # campaign id -> figure -> amount (see CAMPAIGN_FIGURES)
    campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    # Premium voucher sets sold (charge records with a premium_voucher entry): inside
    # counts/yen["charge"], as the records are, but shown as voucher sales, not top-ups.
    voucher_sales: int = 0
    voucher_yen: int = 0
    shifts: list[Shift] = field(default_factory=list)
    terminals: list[TerminalLine] = field(default_factory=list)  # a sheet of several
    shop_name: str = ""
    shop_id: str = ""
    campaign_names: dict[str, str] = field(default_factory=dict)  # id -> the town's name
    # The close being signed: its shift, whether it closes the day, who approved it.
    shift: int = 1
    day_closed: bool = True
    approved_by: str | None = None

    @property
    def net_sales(self) -> int:
        """What customers paid from wallets and gift codes, less refunds and voids (campaign
        discounts are paid to the shop by their funders, and shown apart)."""
        return self.yen.get("payment", 0) + self.yen.get("gift", 0) - \
            self.yen.get("refund", 0) - self.yen.get("void", 0)

    @property
    def cash_expected(self) -> int:
        """Cash in the drawer from the day: top-ups taken, plus float in, less float out."""
        return self.yen.get("charge", 0) + self.float_in - self.float_out

    @property
    def cash_difference(self) -> int | None:
        return None if self.cash_counted is None else self.cash_counted - self.cash_expected

    def close_body(self) -> dict[str, Any]:
        """The body of the signed day_close record."""
        body = {"business_date": self.business_date, "first_seq": self.first_seq,
                "last_seq": self.last_seq, "counts": self.counts, "yen": self.yen,
                "by_pocket": self.by_pocket, "by_decision": self.by_decision,
                "float_in": self.float_in, "float_out": self.float_out,
                "cash_expected": self.cash_expected, "perpetual": self.perpetual}
        if self.campaigns:
            body["campaigns"] = self.campaigns
        body["shift"] = self.shift
        body["day_closed"] = self.day_closed
        if self.approved_by is not None:
            body["approved_by"] = self.approved_by
        if self.cash_counted is not None:
            body["cash_counted"] = self.cash_counted
            body["cash_difference"] = self.cash_difference
        return body


def _add(table: dict[str, int], key: str, amount: int) -> None:
    table[key] = table.get(key, 0) + amount


def compute(terminal_id: str, records: list[dict], business_date: str, closed: bool,
            perpetual: dict[str, Any]) -> Tally:
    tally = Tally(terminal_id, business_date, records[0]["seq"] if records else 0,
                  records[-1]["seq"] if records else 0, closed, perpetual=perpetual)
    for rec in records:
        rtype, body = rec["type"], rec["body"]
        _add(tally.counts, rtype, 1)
        amount = body.get("amount", 0) if isinstance(body.get("amount"), int) else 0
        if rtype == "training" or rtype not in MONEY_TYPES:
            continue
        if rtype == "cash_move":
            if body.get("direction") == "in":
                tally.float_in += amount
            else:
                tally.float_out += amount
            continue
        if rtype == "ticket":
            _add(tally.yen, rtype, body.get("ride_value", 0))
            _campaign_figures(tally, body.get("campaign", "?"), {"uses": 1, "rides": 1})
        elif rtype == "exchange":
            _add(tally.yen, rtype, body.get("value", 0))
        else:
            _add(tally.yen, rtype, amount)
        if rtype == "payment":
            _add(tally.by_decision, body.get("decision", "unknown"), amount)
            for line in body.get("lots", []):
                _add(tally.by_pocket, line.get("pocket", "unknown"), line.get("amount", 0))
        if rtype == "gift":
            _add(tally.by_pocket, "gift", amount)
        # A voucher set sold is a voucher sale, not a top-up (seed 003: 「② 15,000円 (販売額
        # 10,000円/プレミアム率 50%)」: the ¥10,000 paid is the sale); see docs/campaigns.md.
        if rtype == "charge" and any(isinstance(e, dict) and e.get("kind") == "premium_voucher"
                                     for e in body.get("campaigns", []) or []):
            tally.voucher_sales += 1
            tally.voucher_yen += amount
        gift = body.get("gift")
        if isinstance(gift, dict):
            _campaign_figures(tally, gift.get("campaign", "?"),
                              {"uses": 1, "gifts": gift.get("value", 0)})
        for entry in _entries(body):
            sign = -1 if entry.get("undo") is True else 1  # a void takes its sale's back
            _campaign_figures(tally, entry.get("campaign", "?"), {
                key: sign * value for key, value in (
                    ("uses", 1), ("discount", entry.get("discount", 0)),
                    ("stamps", entry.get("stamps", 0)),
                    ("completions", int(bool(entry.get("complete")))),
                    ("prizes", entry.get("prize", 0)), ("points", entry.get("points", 0)),
                    ("bonus", entry.get("bonus", 0)), ("vouchers", entry.get("set", 0)),
                    ("rides", entry.get("rides", 0))) if isinstance(value, int)})
    return tally


def _entries(body: dict) -> list[dict]:
    """A record's campaign entries, the other diners' stamps of a restaurant payment too
    (each a stamp, and its ¥200, on the day's sheet), as far as they are well formed."""
    out = [e for e in body.get("campaigns", []) if isinstance(e, dict)] \
        if isinstance(body.get("campaigns"), list) else []
    diners = body.get("diners")
    for diner in diners if isinstance(diners, list) else []:
        entries = diner.get("campaigns") if isinstance(diner, dict) else None
        out += [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return out


def day_sheet(terminal_id: str, runs: list[Run], business_date: str,
              perpetual: dict[str, Any]) -> Tally | None:
    """The sheet of one business day at one terminal: every shift of that day (each run
    of `runs` on that date), with a line per shift. None when the day has nothing."""
    mine = [run for run in runs if run.business_date == business_date and
            (run.records or run.close is not None)]
    if not mine:
        return None
    records = [rec for run in mine for rec in run.records]
    last = mine[-1].close
    closed = all(run.close is not None for run in mine) and last is not None and \
        closes_day(last)
    tally = compute(terminal_id, records, business_date, closed, perpetual)
    if mine[0].close is not None and not mine[0].records:
        tally.first_seq = tally.first_seq or mine[0].close["seq"]
    counted = []
    for number, run in enumerate(mine, 1):
        part = compute(terminal_id, run.records, business_date, run.close is not None, {})
        close = run.close["body"] if run.close is not None else {}
        cash = close.get("cash_counted")
        cash = cash if type(cash) is int else None
        if cash is not None:
            counted.append(cash)
        tally.shifts.append(Shift(
            run.shift if run.close is not None else number, part.first_seq, part.last_seq,
            run.close is not None, run.close is not None and closes_day(run.close),
            part.net_sales, part.cash_expected, cash,
            run.close["at"] if run.close is not None else "",
            run.close["seq"] if run.close is not None else 0))
    # a difference over part of the day would mislead: the sum only when every shift counted
    tally.cash_counted = sum(counted) if len(counted) == len(mine) else None
    tally.shift = tally.shifts[-1].shift
    return tally


def merge(days: list[Tally]) -> Tally:
    """One sheet for several terminals' sheets of one day: every figure summed, campaign
    lines kept, and a line per terminal with its own net sales and counted cash."""
    assert days, "a merged sheet needs at least one terminal's"
    one_shop = len({d.shop_id for d in days}) == 1
    merged = Tally("+".join(d.terminal_id for d in days), days[0].business_date, 0, 0,
                   all(d.closed for d in days),
                   shop_name=days[0].shop_name if one_shop else "",
                   shop_id=days[0].shop_id if one_shop else "",
                   campaign_names=dict(days[0].campaign_names))
    counted = [d.cash_counted for d in days if d.cash_counted is not None]
    for day in days:
        for name in ("counts", "yen", "by_pocket", "by_decision"):
            for key, value in getattr(day, name).items():
                _add(getattr(merged, name), key, value)
        for campaign, figures in day.campaigns.items():
            for key, value in figures.items():
                _add(merged.campaigns.setdefault(campaign, {}), key, value)
        merged.float_in += day.float_in
        merged.float_out += day.float_out
        merged.voucher_sales += day.voucher_sales
        merged.voucher_yen += day.voucher_yen
        merged.campaign_names.update(day.campaign_names)
        merged.terminals.append(TerminalLine(day.terminal_id, day.closed, day.net_sales,
                                             day.cash_expected, day.cash_counted))
    merged.cash_counted = sum(counted) if len(counted) == len(days) else None
    return merged


def _campaign_figures(tally: Tally, campaign: str, figures: dict[str, int]) -> None:
    table = tally.campaigns.setdefault(campaign, {})
    for key, amount in figures.items():
        if isinstance(amount, int) and amount:
            _add(table, key, amount)


# --- the sheet -----------------------------------------------------------------------------

UNITS = {"ja": {"yen": "円", "pt": "pt", "n": "件", "stamps": "個", "rides": "回"},
         "en": {"yen": "JPY", "pt": "pt", "n": "", "stamps": "stamps", "rides": "rides"}}
# The unit of each campaign figure (CAMPAIGN_FIGURES); yen ones are YEN_FIGURES.
CAMPAIGN_UNITS = {"uses": "n", "stamps": "stamps", "completions": "n", "points": "pt",
                  "rides": "rides"}
HEADERS = {"ja": ("店舗名", "店舗ID", "端末", "営業日", "シフト", "区分", "項目", "件数", "金額",
                  "単位"),
           "en": ("shop", "shop_id", "terminal", "business_date", "shift", "section", "item",
                  "count", "amount", "unit")}


@dataclass(frozen=True)
class Figure:
    """One figure of a sheet: a row of the CSV and XLSX, a line of the PDF. `shift` is the
    shift's number for a shift's own line, "" for the whole day."""

    section: str
    item: str
    count: int | None
    amount: int | None
    unit: str
    shift: int | str = ""


def campaign_name(tally: Tally, campaign: str) -> str:
    """The campaign as the town named it (its rules' name), else its id."""
    return tally.campaign_names.get(campaign) or campaign


def figures(tally: Tally, lang: str = "ja") -> list[Figure]:
    """The sheet as figures, in the order a person reads it. Every breakdown adds up to the
    line it breaks down: payments by pocket and by decision to the payments line; the net
    sales line is payments + gift codes - refunds - voids, each a line above it."""
    ja = lang == "ja"
    unit = UNITS["ja" if ja else "en"]

    def name(table: dict, key: str) -> str:
        pair = table.get(key, (key, key))
        return pair[0] if ja else pair[1]

    sales, breakdown, campaign_section = ("取引", "内訳", "キャンペーン") if ja else \
        ("Transactions", "Breakdown", "Campaigns")
    out: list[Figure] = []
    for rtype in ("payment", "gift", "refund", "void", "charge", "grant", "exchange", "ticket",
                  "card_issue", "training"):
        count = tally.counts.get(rtype, 0)
        amount: int | None = tally.yen.get(rtype, 0) if rtype in MONEY_TYPES else None
        if rtype == "charge":  # voucher sets are sold, not charged: their own line below
            count -= tally.voucher_sales
            amount = (amount or 0) - tally.voucher_yen
        if not count and rtype not in ("payment", "refund", "void", "charge"):
            continue
        out.append(Figure(sales, name(TYPE_NAMES, rtype), count, amount,
                          unit["pt"] if rtype == "grant" else
                          (unit["yen"] if amount is not None else unit["n"])))
        if rtype == "charge" and tally.voucher_sales:
            out.append(Figure(sales, "プレミアム商品券 販売" if ja else "Voucher sets sold",
                              tally.voucher_sales, tally.voucher_yen, unit["yen"]))
    of_payments = "お支払い 内訳 " if ja else "Payments by "
    for pocket, amount in sorted(tally.by_pocket.items()):
        if pocket != "gift":  # gift codes are their own line, not a payment pocket
            out.append(Figure(breakdown, of_payments + name(POCKET_NAMES, pocket), None,
                              amount, unit["yen"]))
    for decision, amount in sorted(tally.by_decision.items()):
        both = {"online": ("オンライン判定", "decided online"),
                "offline": ("オフライン判定", "decided offline")}.get(decision, (decision,) * 2)
        out.append(Figure(breakdown, of_payments + (both[0] if ja else both[1]), None, amount,
                          unit["yen"]))
    out.append(Figure(sales, "売上(返金・取消後)" if ja else "Net sales", None, tally.net_sales,
                      unit["yen"]))
    for campaign, table in sorted(tally.campaigns.items(),
                                  key=lambda kv: (campaign_name(tally, kv[0]), kv[0])):
        for key, ja_label, en_label in CAMPAIGN_FIGURES:
            if table.get(key):
                label = f"{campaign_name(tally, campaign)} {ja_label if ja else en_label}"
                figure_unit = unit["yen"] if key in YEN_FIGURES else \
                    unit[CAMPAIGN_UNITS.get(key, "n")]
                uses, total = (table[key], None) if key == "uses" else (None, table[key])
                out.append(Figure(campaign_section, label, uses, total, figure_unit))
    cash = "現金" if ja else "Cash"
    out += [Figure(cash, "釣銭 入金" if ja else "Float in", None, tally.float_in, unit["yen"]),
            Figure(cash, "釣銭 出金" if ja else "Float out", None, tally.float_out, unit["yen"]),
            Figure(cash, "現金 予定額" if ja else "Cash expected", None, tally.cash_expected,
                   unit["yen"]),
            Figure(cash, "現金 実査額" if ja else "Cash counted", None, tally.cash_counted,
                   unit["yen"]),
            Figure(cash, "過不足" if ja else "Difference", None, tally.cash_difference,
                   unit["yen"])]
    if len(tally.shifts) > 1 or any(not s.day_closed and s.closed for s in tally.shifts):
        section = "シフト" if ja else "Shifts"
        for part in tally.shifts:
            word = f"シフト{part.shift}" if ja else f"Shift {part.shift}"
            state = ("" if part.closed else (" (締め前)" if ja else " (open)"))
            out += [Figure(section, f"{word} 売上{state}" if ja else f"{word} net sales{state}",
                           None, part.net_sales, unit["yen"], part.shift),
                    Figure(section, f"{word} 現金 予定額" if ja else f"{word} cash expected",
                           None, part.cash_expected, unit["yen"], part.shift),
                    Figure(section, f"{word} 現金 実査額" if ja else f"{word} cash counted",
                           None, part.cash_counted, unit["yen"], part.shift)]
    if tally.terminals:
        section = "端末別" if ja else "By terminal"
        for line in tally.terminals:
            out += [Figure(section, f"{line.terminal_id} " + ("売上" if ja else "net sales"),
                           None, line.net_sales, unit["yen"]),
                    Figure(section, f"{line.terminal_id} " + ("現金 予定額" if ja else
                                                               "cash expected"),
                           None, line.cash_expected, unit["yen"]),
                    Figure(section, f"{line.terminal_id} " + ("現金 実査額" if ja else
                                                               "cash counted"),
                           None, line.cash_counted, unit["yen"])]
    return out


def shift_text(tally: Tally, lang: str = "ja") -> str:
    """The shifts a sheet covers, in words: "1", "1-2"."""
    numbers = [s.shift for s in tally.shifts] or [tally.shift]
    return str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"


def table(tally: Tally, lang: str = "ja") -> list[list[Any]]:
    """The sheet as a table, one row per figure: who (shop, terminal, day, shift) on every
    row, then the figure with its count, amount and unit in columns of their own."""
    numbers = {s.shift for s in tally.shifts} or {tally.shift}
    whole: int | str = numbers.pop() if len(numbers) == 1 else shift_text(tally, lang)
    head = [tally.shop_name, tally.shop_id, tally.terminal_id, tally.business_date]
    rows: list[list[Any]] = [list(HEADERS["ja" if lang == "ja" else "en"])]
    return rows + [[*head, f.shift if f.shift != "" else whole, f.section, f.item, f.count,
                    f.amount, f.unit] for f in figures(tally, lang)]


def _money(amount: int | None, unit: str) -> str:
    if amount is None:
        return ""
    text = f"{abs(amount):,}"
    if unit in ("円", "JPY"):
        return f"-¥{text}" if amount < 0 else f"¥{text}"
    return f"{'-' if amount < 0 else ''}{text} {unit}".strip()


def _count(count: int | None, lang: str) -> str:
    return "" if count is None else f"{count:,}" + (" 件" if lang == "ja" else "")


def rows(tally: Tally, lang: str = "ja") -> list[tuple[str, str]]:
    """The sheet as (label, value) lines for the screen, in the order a person reads it."""
    ja = lang == "ja"
    out = [("日計表" if ja else "Daily tally sheet", "" if tally.closed else
            ("(締め前・途中集計)" if ja else "(not closed: running totals)")),
           ("端末" if ja else "Terminal", tally.terminal_id),
           ("営業日" if ja else "Business date", tally.business_date),
           ("シフト" if ja else "Shift", shift_text(tally, lang)),
           ("取引番号" if ja else "Records", f"{tally.first_seq} – {tally.last_seq}")]
    for figure in figures(tally, lang):
        value = "  ".join(part for part in (_count(figure.count, lang),
                                            _money(figure.amount, figure.unit)) if part)
        out.append((figure.item, value))
    return out


def to_csv(tally: Tally, path: Path, lang: str = "ja") -> Path:
    return cells.write_csv(path, table(tally, lang))


def to_xlsx(tally: Tally, path: Path, lang: str = "ja") -> Path:
    """Numbers are numbers (int cells, yen with a thousands format); text is text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "日計表" if lang == "ja" else "Tally"
    for row in table(tally, lang):
        cells.xlsx_append(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2, min_col=8, max_col=9):
        for cell in row:
            if isinstance(cell.value, int):
                cell.number_format = "#,##0"
    for column, width in zip("ABCDEFGHIJ", (20, 12, 14, 12, 8, 12, 34, 8, 14, 6), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return path


PDF_TOP_PT = 130  # the first figure's line, from the top of the page
PDF_BOTTOM_PT = 140  # room kept under the last line for the signature


def pdf_lines(tally: Tally, lang: str = "ja") -> list[tuple[str, str, str]]:
    """The PDF's lines under its heading: (item, count, amount) as printed."""
    return [(f.item, _count(f.count, lang), _money(f.amount, f.unit))
            for f in figures(tally, lang)]


def to_pdf(tally: Tally, path: Path, shop_name: str = "", lang: str = "ja") -> Path:
    """A4 pages a shop owner can sign and hand to the town office: the heading (shop, its
    id, terminal, business day, shift), then one line per figure (item, count, amount)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    ja = lang == "ja"
    pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    page = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    title = ("日計表" if ja else "Daily tally sheet") + ("" if tally.closed else (
        "  (締め前・途中集計)" if ja else "  (not closed: running totals)"))
    page.setTitle(f"{title} {tally.business_date}")
    shop = shop_name or tally.shop_name

    def heading() -> float:
        page.setFont(JAPANESE_FONT, 20)
        page.drawString(56, height - 70, title)
        page.setFont(JAPANESE_FONT, 11)
        page.drawString(56, height - 92, f"{shop}  ({tally.shop_id})" if tally.shop_id
                        else shop)
        words = ("端末", "営業日", "シフト") if ja else ("Terminal", "Business date", "Shift")
        page.drawString(56, height - 110, f"{words[0]} {tally.terminal_id}   {words[1]} "
                        f"{tally.business_date}   {words[2]} {shift_text(tally, lang)}")
        return height - PDF_TOP_PT

    y = heading()
    for item, count, amount in pdf_lines(tally, lang):
        if y < PDF_BOTTOM_PT:
            page.showPage()
            y = heading()
        size = 11 if pdfmetrics.stringWidth(item, JAPANESE_FONT, 11) < width - 330 else 8
        page.setFont(JAPANESE_FONT, size)
        page.drawString(70, y, item)
        page.setFont(JAPANESE_FONT, 11)
        page.drawRightString(width - 200, y, count)
        page.drawRightString(width - 80, y, amount)
        page.setLineWidth(0.3)
        page.line(66, y - 5, width - 76, y - 5)
        y -= PDF_ROW_PT
    page.setFont(JAPANESE_FONT, 12)
    sign = "確認者 署名" if ja else "Checked by (signature)"
    page.drawString(70, 110, sign)
    page.line(200, 105, width - 80, 105)
    page.save()
    return path


def export(tally: Tally, fmt: str, path: Path, shop_name: str = "", lang: str = "ja") -> Path:
    if fmt == "pdf":
        return to_pdf(tally, path, shop_name, lang)
    if fmt == "xlsx":
        return to_xlsx(tally, path, lang)
    if fmt == "csv":
        return to_csv(tally, path, lang)
    raise TallyError(f"unknown format {fmt!r}: csv, xlsx or pdf")


# --- by staff member (a section of its own, apart from the sheet's figures) ----------------

# Records that name no staff member (made before staff, or in a shop's first setup).
NO_STAFF = "-"


def by_staff(records: list[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """The day's money records by the staff member who made them (the body's `staff`):
    staff id -> record type -> {"n": count, "yen": yen, "approved": how many a manager
    approved}. Training records are left out, as from the sheet; the yen of each type add
    up to the sheet's line of that type."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for rec in records:
        rtype, body = rec["type"], rec["body"]
        if rtype not in MONEY_TYPES:
            continue
        if rtype == "ticket":
            amount = body.get("ride_value", 0)
        elif rtype == "exchange":
            amount = body.get("value", 0)
        else:
            amount = body.get("amount", 0) if isinstance(body.get("amount"), int) else 0
        staff = body.get("staff") if isinstance(body.get("staff"), str) else NO_STAFF
        line = out.setdefault(staff, {}).setdefault(rtype, {"n": 0, "yen": 0, "approved": 0})
        line["n"] += 1
        line["yen"] += amount
        line["approved"] += 1 if "approver" in body else 0
    return out


def staff_rows(table: dict[str, dict[str, dict[str, int]]], names: dict[str, str],
               lang: str = "ja") -> list[tuple[str, str, int, int, int]]:
    """(member's name, record type's name, count, yen, approved) per member and type, in
    the order of the sheet's types; `names` maps staff ids to names."""
    index = 0 if lang == "ja" else 1
    unnamed = ("担当者なし", "No staff named")[index]
    rows = []
    for staff in sorted(table, key=lambda s: (s == NO_STAFF, names.get(s, s))):
        who = unnamed if staff == NO_STAFF else names.get(staff, staff)
        for rtype in MONEY_TYPES:
            line = table[staff].get(rtype)
            if line:
                rows.append((who, TYPE_NAMES[rtype][index], line["n"], line["yen"],
                             line["approved"]))
    return rows
