"""KPIs for the town's reports to the state, and the fraud flags with what to do about them.

KPIs (seed 002's, and the subsidy reports'): registered users by app or card, age band and
area; monthly volume; points and premium value issued and spent; the share of payments by
card and by app; per shop, customers, repeat rate and average spend. As CSV and as a PDF
with charts where a person would rather look than read.

Flags: what ingest raised (overdrafts, forks, campaign and class violations...) plus the
velocity rules run over the stored journals: many payments from one wallet within an hour,
one wallet paying at two shops minutes apart, and top-ups of nearly the whole balance cap
again and again (money moved through the scheme just under the limit). Each comes with what to do.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.db import Database
from ledger.postings import WALLET_BALANCE_CAP
from sync import cells
from sync import tally as sheet

VELOCITY_PAYMENTS = 10  # payments from one wallet within VELOCITY_WINDOW
VELOCITY_WINDOW = timedelta(hours=1)
TWO_SHOPS_WINDOW = timedelta(minutes=3)  # one wallet, two shops, less time apart than this
NEAR_CAP_SHARE_BP = 9_500  # a top-up of >= 95 % of the balance cap (structuring)...
BP = 10_000
BAR_COLOUR = "#1f3a5f"
NEAR_CAP_REPEATS = 3  # ...this many times in the period
ACTIONS = {
    "overdraft": "Contact the holder to settle the debt; the wallet stays denied until then.",
    "fork": "Inspect the terminal (restored backup? cloned disk?); it stays suspended.",
    "bad_signature": "A record was altered in transit or on the terminal: inspect it.",
    "unknown_lot": "The terminal spent value the ledger does not know: check its snapshot.",
    "takeback_short": "A voided sale's cash-back or prize was spent already: it was kept "
                      "from the money given back and the funder repaid. A `debt` above 0 is "
                      "owed by the holder (the wallet is denied until it is settled).",
    "class_violation": "Small-shop vouchers spent at a large shop: remind the shop.",
    "expired_lot": "Expired value was spent: check the terminal's clock.",
    "over_refund": "More refunded than paid: ask the shop for the receipts.",
    "over_cap": "A wallet above the cap: check the booth's top-ups.",
    "velocity": "Many payments in an hour: call the holder; block the card if lost.",
    "two_shops": "One wallet at two shops minutes apart: a copied card? Call the holder.",
    "near_cap": "Top-ups kept just under the cap: possible money laundering; review.",
    "wrong_pocket": "A lot spent as the wrong kind of value: check the terminal's snapshot.",
    "campaign_quantity": "A campaign unit taken beyond a lease (or without one): the pool "
                         "may be over-issued; check the terminal's leases.",
    "campaign_wallet_limit": "A campaign used more often than its rules allow: check the "
                             "terminal's snapshot age.",
    "campaign_out_of_period": "A campaign used outside its dates: check the terminal's clock.",
    "campaign_stamped_here_already": "Two stamps of one shop on one rally card: remind the "
                                     "shop.",
    "campaign_prize_sold_out": "A rally card completed (its prize owed) after all the "
                               "prizes were given: tell the holder the prizes ran out.",
    "campaign_wrong_funder": "A record names another funder than the rules: the rules' "
                             "funder was billed; inspect the terminal.",
    "gift_code_reused": "One gift code taken twice (offline terminals): ask both shops; a "
                        "second payment is held, not paid to the shop.",
    "app_token_reused": "One app code paid twice (offline terminals, a screenshot?): call "
                        "the holder; block the app if it was copied.",
    "unknown_gift_code": "A gift code the ledger never made: a forgery? Inspect the record.",
    "clock_backwards": "The terminal's record times went backwards (its clock was turned "
                       "back, or its software is old or altered): check the terminal's clock "
                       "and software; read this sale's time with care.",
    "grant_over_cap": "A manual point grant above the merchant's cap per grant (the counter "
                      "refuses it, so it was forced past it): ask the shop who granted it.",
    "grant_day_cap": "Manual point grants at one terminal above the day's cap: ask the shop "
                     "who granted them and why.",
    "approver_not_manager": "A record names an approver who is no manager of that shop: "
                            "inspect the terminal.",
    "approval_missing": "A cashier's or booth member's void, refund above the limit, cash "
                        "out, Z close or manual grant that needs a manager, with no approver "
                        "named (the counter asks one, so it was forced past it): ask the shop.",
    "staff_id_taken": "A staff member made at a counter with the id of another shop's "
                      "member: not stored; inspect the terminal.",
    "unknown_staff": "A record names a staff member the ledger does not know: inspect the "
                     "terminal (its staff record may not have arrived).",
    "staff_not_by_manager": "A staff member made at a counter by someone who is no manager: "
                            "not stored; ask the shop.",
    "clock_outside_window": "A record dated after the ledger received it, or before the "
                            "terminal was enrolled: set the terminal's clock right (and check "
                            "it is not being moved); read the sale's day with care.",
}


def _records(db: Database, date_from: str, date_to: str) -> list[tuple[str, str, dict]]:
    """(terminal, merchant, record) for records whose sale time falls in the period."""
    with db.reading() as conn:
        rows = conn.all("SELECT r.terminal_id, t.merchant_id, r.record FROM records r JOIN "
                        "terminals t ON t.terminal_id = r.terminal_id ORDER BY r.terminal_id, "
                        "r.seq")
    out = []
    for terminal_id, merchant_id, text in rows:
        rec = json.loads(text)
        if date_from <= rec["at"][:10] <= date_to:
            out.append((terminal_id, merchant_id, rec))
    return out


def kpi(db: Database, date_from: str, date_to: str, merchant_id: str | None = None) -> dict:
    with db.reading() as conn:
        wallets = conn.all("SELECT kind, age_band, area FROM wallets")
    users = {"by_kind": dict(Counter(k for k, _, _ in wallets)),
             "by_age_band": dict(Counter(a or "?" for _, a, _ in wallets)),
             "by_area": dict(Counter(a or "?" for _, _, a in wallets))}
    volume: dict[str, int] = defaultdict(int)
    issued: dict[str, int] = defaultdict(int)
    spent: dict[str, int] = defaultdict(int)
    by_credential: dict[str, int] = defaultdict(int)
    shops: dict[str, dict] = defaultdict(lambda: {"payments": 0, "yen": 0,
                                                  "wallets": Counter()})
    for _, merchant, rec in _records(db, date_from, date_to):
        body = rec["body"]
        if merchant_id and merchant != merchant_id:
            continue
        sign = {"payment": 1, "refund": -1, "void": -1}.get(rec["type"], 0)
        if sign:
            volume[rec["at"][:7]] += sign * body.get("amount", 0)
        if rec["type"] == "payment":
            by_credential[body.get("credential", {}).get("kind", "?")] += body.get("amount", 0)
            for line in body.get("lots", []):
                spent[line.get("pocket", "unknown")] += line.get("amount", 0)
            shop = shops[merchant]
            shop["payments"] += 1
            shop["yen"] += body.get("amount", 0)
            shop["wallets"][body.get("wallet", "?")] += 1
        if rec["type"] in ("charge", "grant"):
            for line in body.get("lots", []):
                if line.get("pocket") != "charged":
                    issued[line.get("pocket", "?")] += line.get("amount", 0) - line.get("paid", 0)
    per_shop = {}
    for merchant, shop in sorted(shops.items()):
        customers = len(shop["wallets"])
        repeat = sum(1 for n in shop["wallets"].values() if n > 1)
        per_shop[merchant] = {"customers": customers, "payments": shop["payments"],
                              "repeat_rate_pct": round(100 * repeat / customers) if customers
                              else 0, "average_spend": shop["yen"] // max(1, shop["payments"])}
    total = sum(by_credential.values())
    with db.reading() as conn:
        shop_names = {m: n for m, n in conn.all("SELECT merchant_id, name FROM merchants")
                      if m in per_shop}
    return {"from": date_from, "to": date_to, "users": users, "volume_by_month": dict(volume),
            "issued_by_pocket": dict(issued), "spent_by_pocket": dict(spent),
            "share_by_credential_pct": {k: round(100 * v / total) for k, v in
                                        by_credential.items()} if total else {},
            "shops": per_shop, "shop_names": shop_names}


def flags(db: Database, date_from: str, date_to: str) -> list[dict]:
    """Stored flags in the period plus the velocity rules, each with what to do."""
    with db.reading() as conn:
        stored = conn.all("SELECT kind, terminal_id, seq, wallet_id, detail FROM flags "
                          "ORDER BY created_us")
    out = [{"kind": k, "terminal_id": t, "seq": s, "wallet_id": w, "detail": json.loads(d),
            "action": ACTIONS.get(k, "Review.")} for k, t, s, w, d in stored]
    payments: dict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
    near_cap: Counter = Counter()
    for _terminal, merchant, rec in _records(db, date_from, date_to):
        body = rec["body"]
        if rec["type"] == "payment":
            payments[body.get("wallet", "?")].append(
                (datetime.fromisoformat(rec["at"]), merchant, rec["seq"]))
        if rec["type"] == "charge" and body.get("amount", 0) * BP >= \
                WALLET_BALANCE_CAP * NEAR_CAP_SHARE_BP:
            near_cap[body.get("wallet", "?")] += 1
    for wallet, items in payments.items():
        items.sort()
        for i in range(len(items)):
            window = [x for x in items[i:] if x[0] - items[i][0] <= VELOCITY_WINDOW]
            if len(window) >= VELOCITY_PAYMENTS:
                out.append({"kind": "velocity", "wallet_id": wallet, "detail": {
                    "payments": len(window), "from": items[i][0].isoformat()},
                    "action": ACTIONS["velocity"]})
                break
        for (t1, m1, _), (t2, m2, _) in zip(items, items[1:], strict=False):
            if m1 != m2 and t2 - t1 < TWO_SHOPS_WINDOW:
                out.append({"kind": "two_shops", "wallet_id": wallet, "detail": {
                    "shops": [m1, m2], "minutes": round((t2 - t1).total_seconds() / 60, 1)},
                    "action": ACTIONS["two_shops"]})
                break
    for wallet, count in near_cap.items():
        if count >= NEAR_CAP_REPEATS:
            out.append({"kind": "near_cap", "wallet_id": wallet, "detail": {"times": count},
                        "action": ACTIONS["near_cap"]})
    return out


def kpi_csv(report: dict, path: Path) -> Path:
    rows: list[list] = [["section", "key", "value"]]
    for section in ("users",):
        for group, table in report[section].items():
            for key, value in sorted(table.items()):
                rows.append([f"{section}.{group}", key, value])
    for section in ("volume_by_month", "issued_by_pocket", "spent_by_pocket",
                    "share_by_credential_pct"):
        for key, value in sorted(report[section].items()):
            rows.append([section, key, value])
    for shop, figures in report["shops"].items():
        for key, value in figures.items():
            rows.append([f"shops.{shop}", key, value])
    return cells.write_csv(path, rows)


# --- the charts' words (#18.5: no internal key on a page a person reads) ----------------------

LANGS = ("ja", "en")
SMALL_COUNT = 10  # a chart whose tallest bar is at most this is counted in steps of 1
NOT_GIVEN = "?"  # a wallet without an age band or area, a payment without a credential kind
KIND_NAMES = {"app": ("アプリ", "App"), "card": ("カード", "Card"),
              "nfc": ("ICカード", "IC card"), "wallet": ("ウォレットID", "Wallet ID"),
              "unknown": ("不明", "Unknown"),  # a wallet first met in a record (postings)
              NOT_GIVEN: ("不明", "Unknown")}
KPI_POCKET_NAMES = {**sheet.POCKET_NAMES, "tickets": ("回数券", "Tickets"),
                    NOT_GIVEN: ("不明", "Unknown")}
NOT_GIVEN_NAMES = ("未登録", "Not given")
TITLES = {
    "heading": ("地域通貨 KPI", "Regional currency KPIs"),
    "by_kind": ("登録者数 (アプリ/カード)", "Registered users (app / card)"),
    "by_age_band": ("登録者数 (年代)", "Registered users by age"),
    "by_area": ("登録者数 (地域)", "Registered users by area"),
    "volume_by_month": ("月別 決済額 (円)", "Payments by month (yen)"),
    "issued_by_pocket": ("ポイント・プレミアム 発行額 (円)", "Points and premium issued (yen)"),
    "spent_by_pocket": ("利用額 (財布の種類別, 円)", "Spent by kind of value (yen)"),
    "share_by_credential_pct": ("決済の割合 (カード/アプリ, %)", "Share of payments (%)"),
    "average_spend": ("店舗別 平均単価 (円)", "Average spend by shop (yen)"),
    "no_data": ("データなし", "No data"),
}
_DECADE = re.compile(r"^(\d{1,2})0s$")  # "40s": the forties
_AND_OVER = re.compile(r"^(\d{1,3})\+$")  # "80+": eighty and over
MONTH_NAMES_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                  "Nov", "Dec")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(lang)]


def age_band_name(band: str, lang: str = "ja") -> str:
    """'40s' -> 40代 / 40-49, '80+' -> 80歳以上 / 80 and over, '?' -> 未登録 / Not given;
    a band of another shape is the office's own word, shown as given."""
    if band == NOT_GIVEN:
        return _pick(NOT_GIVEN_NAMES, lang)
    decade, over = _DECADE.match(band), _AND_OVER.match(band)
    if decade:
        low = int(decade.group(1)) * 10
        return f"{low}代" if lang == "ja" else f"{low}-{low + 9}"
    if over:
        return f"{over.group(1)}歳以上" if lang == "ja" else f"{over.group(1)} and over"
    return band


def month_name(month: str, lang: str = "ja") -> str:
    """'2026-11' -> 2026年11月 / Nov 2026."""
    year, number = month.split("-")
    if lang == "ja":
        return f"{year}年{int(number)}月"
    return f"{MONTH_NAMES_EN[int(number) - 1]} {year}"


def charts(report: dict, lang: str = "ja") -> list[tuple[str, list[tuple[str, int]]]]:
    """(title, [(label, value)]) of every chart of the KPI PDF, in the reader's words: kinds,
    pockets and age bands by name, months as months, shops by their names. An area is the
    office's own word (a wallet without one: 未登録)."""
    assert lang in LANGS, lang

    def named(table: dict, key: str) -> str:
        return _pick(table[key], lang) if key in table else key

    def area(key: str) -> str:
        return _pick(NOT_GIVEN_NAMES, lang) if key == NOT_GIVEN else key

    def ordered(table: dict) -> list[tuple[str, Any]]:  # the missing one last
        return sorted(table.items(), key=lambda item: (item[0] == NOT_GIVEN, item[0]))

    users = report["users"]
    names = report.get("shop_names", {})
    return [
        (_pick(TITLES["by_kind"], lang),
         [(named(KIND_NAMES, k), v) for k, v in ordered(users["by_kind"])]),
        (_pick(TITLES["by_age_band"], lang),
         [(age_band_name(k, lang), v) for k, v in ordered(users["by_age_band"])]),
        (_pick(TITLES["by_area"], lang),
         [(area(k), v) for k, v in ordered(users.get("by_area", {}))]),
        (_pick(TITLES["volume_by_month"], lang),
         [(month_name(k, lang), v) for k, v in ordered(report["volume_by_month"])]),
        (_pick(TITLES["issued_by_pocket"], lang),
         [(named(KPI_POCKET_NAMES, k), v) for k, v in
          ordered(report["issued_by_pocket"])]),
        (_pick(TITLES["spent_by_pocket"], lang),
         [(named(KPI_POCKET_NAMES, k), v) for k, v in
          ordered(report["spent_by_pocket"])]),
        (_pick(TITLES["share_by_credential_pct"], lang),
         [(named(KIND_NAMES, k), v) for k, v in
          ordered(report["share_by_credential_pct"])]),
        (_pick(TITLES["average_spend"], lang),
         [(names.get(k, k), v["average_spend"]) for k, v in ordered(report["shops"])]),
    ]


def kpi_pdf(report: dict, path: Path, lang: str = "ja") -> Path:
    """One page per subject, with bar charts (reportlab's own charts: nothing to install),
    every title and label in `lang` (charts())."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(sheet.JAPANESE_FONT))
    page = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    heading = _pick(TITLES["heading"], lang)
    page.setTitle(heading)
    page.setFont(sheet.JAPANESE_FONT, 18)
    page.drawString(50, height - 50, f"{heading}  {report['from']} – {report['to']}")
    y = height - 80
    for title, data in charts(report, lang):
        if y < 220:
            page.showPage()
            y = height - 50
        drawing = Drawing(width - 100, 170)
        drawing.add(String(0, 155, title, fontName=sheet.JAPANESE_FONT, fontSize=12))
        if data:
            chart = VerticalBarChart()
            chart.x, chart.y, chart.width, chart.height = 40, 20, width - 180, 120
            chart.data = [[int(value) for _, value in data]]
            chart.categoryAxis.categoryNames = [label for label, _ in data]
            chart.categoryAxis.labels.fontName = sheet.JAPANESE_FONT
            chart.categoryAxis.labels.fontSize = 7
            chart.valueAxis.valueMin = 0
            chart.valueAxis.labels.fontName = sheet.JAPANESE_FONT
            chart.valueAxis.labelTextFormat = "{:,.0f}".format
            if max(value for _, value in data) <= SMALL_COUNT:  # 1, 2, 3: no half steps
                chart.valueAxis.valueStep = 1
            chart.bars[0].fillColor = colors.HexColor(BAR_COLOUR)
            drawing.add(chart)
        else:
            drawing.add(String(40, 80, _pick(TITLES["no_data"], lang),
                               fontName=sheet.JAPANESE_FONT, fontSize=10))
        drawing.drawOn(page, 50, y - 170)
        y -= 190
    page.save()
    return path
