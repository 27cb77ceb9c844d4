"""The daily tally sheet (日計表), computed from journal records by the same code on the
terminal and at the ledger, so the two sheets of one day can be compared line by line; and
its renderings: CSV (UTF-8 with BOM, for Excel), XLSX, and a one-page A4 PDF in Japanese
(English available) with a signature line.

`training` records are counted apart and never in the money. Cash expected is the cash taken
for top-ups plus the float put in, less the float taken out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync import cells

CSV_ENCODING = cells.CSV_ENCODING
JAPANESE_FONT = "HeiseiKakuGo-W5"
PDF_ROW_PT = 24
PDF_MIN_ROW_PT = 15
MONEY_TYPES = ("payment", "refund", "void", "charge", "grant", "cash_move", "gift", "ticket",
               "exchange")
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



class TallyError(ValueError):
    """A sheet that cannot be made; the message says why."""


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
        gift = body.get("gift")
        if isinstance(gift, dict):
            _campaign_figures(tally, gift.get("campaign", "?"),
                              {"uses": 1, "gifts": gift.get("value", 0)})
        for entry in body.get("campaigns", []) if isinstance(body.get("campaigns"), list) \
                else []:
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


def _campaign_figures(tally: Tally, campaign: str, figures: dict[str, int]) -> None:
    table = tally.campaigns.setdefault(campaign, {})
    for key, amount in figures.items():
        if isinstance(amount, int) and amount:
            _add(table, key, amount)


# --- the sheet -----------------------------------------------------------------------------


def rows(tally: Tally, lang: str = "ja") -> list[tuple[str, str]]:
    """The sheet as (label, value) rows, in the order a person reads it."""
    ja = lang == "ja"

    def name(table: dict, key: str) -> str:
        pair = table.get(key, (key, key))
        return pair[0] if ja else pair[1]

    def yen(amount: int | None) -> str:
        if amount is None:
            return ""
        return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"

    out = [("日計表" if ja else "Daily tally sheet", "" if tally.closed else
            ("(締め前・途中集計)" if ja else "(not closed: running totals)")),
           ("端末" if ja else "Terminal", tally.terminal_id),
           ("営業日" if ja else "Business date", tally.business_date),
           ("取引番号" if ja else "Records", f"{tally.first_seq} – {tally.last_seq}")]
    for rtype in ("payment", "gift", "refund", "void", "charge", "grant", "exchange", "ticket",
                  "card_issue", "training"):
        if tally.counts.get(rtype):
            value = f"{tally.counts[rtype]}" + (" 件" if ja else "")
            if rtype in tally.yen:
                value += f"  {yen(tally.yen[rtype])}" if rtype != "grant" else \
                    f"  {tally.yen[rtype]:,} pt"
            out.append((name(TYPE_NAMES, rtype), value))
    out.append(("売上(返金・取消後)" if ja else "Net sales", yen(tally.net_sales)))
    for pocket, amount in sorted(tally.by_pocket.items()):
        out.append(((" 内 " if ja else "  of which ") + name(POCKET_NAMES, pocket), yen(amount)))
    for decision, amount in sorted(tally.by_decision.items()):
        label = {"online": ("オンライン判定", "Decided online"),
                 "offline": ("オフライン判定", "Decided offline")}.get(decision, (decision,) * 2)
        out.append(((" " if ja else "  ") + (label[0] if ja else label[1]), yen(amount)))
    for campaign, figures in sorted(tally.campaigns.items()):
        parts = []
        for key, ja_label, en_label in CAMPAIGN_FIGURES:
            if figures.get(key):
                amount = yen(figures[key]) if key in YEN_FIGURES else f"{figures[key]:,}"
                parts.append(f"{ja_label if ja else en_label} {amount}")
        out.append((("キャンペーン " if ja else "Campaign ") + campaign, "  ".join(parts)))
    out += [("釣銭 入金" if ja else "Float in", yen(tally.float_in)),
            ("釣銭 出金" if ja else "Float out", yen(tally.float_out)),
            ("現金 予定額" if ja else "Cash expected", yen(tally.cash_expected)),
            ("現金 実査額" if ja else "Cash counted", yen(tally.cash_counted)),
            ("過不足" if ja else "Difference", yen(tally.cash_difference))]
    return out


def to_csv(tally: Tally, path: Path, lang: str = "ja") -> Path:
    return cells.write_csv(path, rows(tally, lang))


def to_xlsx(tally: Tally, path: Path, lang: str = "ja") -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "日計表" if lang == "ja" else "Tally"
    for label, value in rows(tally, lang):
        cells.xlsx_append(sheet, [label, value])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 28
    book.save(path)
    return path


def to_pdf(tally: Tally, path: Path, shop_name: str = "", lang: str = "ja") -> Path:
    """One A4 page a shop owner can sign and hand to the town office."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    page = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    lines = rows(tally, lang)
    page.setTitle(f"{lines[0][0]} {tally.business_date}")
    page.setFont(JAPANESE_FONT, 20)
    page.drawString(56, height - 70, f"{lines[0][0]}  {lines[0][1]}")
    page.setFont(JAPANESE_FONT, 12)
    page.drawString(56, height - 92, shop_name)
    y = height - 130
    # Rows close up (down to PDF_MIN_ROW_PT) when a day with many campaigns has many lines.
    step = max(PDF_MIN_ROW_PT, min(PDF_ROW_PT, (y - 140) / max(1, len(lines) - 1)))
    for label, value in lines[1:]:
        page.drawString(70, y, label)
        page.setFont(JAPANESE_FONT, 12 if pdfmetrics.stringWidth(
            value, JAPANESE_FONT, 12) < width - 300 else 9)
        page.drawRightString(width - 80, y, value)
        page.setFont(JAPANESE_FONT, 12)
        page.setLineWidth(0.3)
        page.line(66, y - 5, width - 76, y - 5)
        y -= step
    page.setFont(JAPANESE_FONT, 12)
    sign = "確認者 署名" if lang == "ja" else "Checked by (signature)"
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
