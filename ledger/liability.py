"""The town's money (issue #16, rule 6): what the scheme owes its wallet holders, as the
town office reports it to its council: outstanding value by pocket (charged money, common
and exclusive premium vouchers, points) and by funder, the value that expires next month,
and the voucher money sold against spent and expired.

Figures come from the double-entry books and the lots behind them:

- `issued` and `spent` per pocket are the postings to the wallets' pocket accounts
  (`wallet:W:<pocket>`), sorted by the record (or admin operation) that made them: value
  made by a charge, a grant, an exchange, a payment's grants (cash-back, a prize) or an
  admin issue is issued; a payment, ticket or exchange drawing on a lot is spent, and money
  a refund or void gives back is spent the less; grants a void takes back are issued the
  less. So issued − spent is each pocket's balance (`wallet:*:<pocket>`), and that balance
  is what the pocket's lots still hold: `check()` says where either does not hold.
- `expired` is what lots past their expiry still hold on the day (`on`): value the holder
  can no longer spend (the ledger does not write it off; a payment from it is flagged
  `expired_lot`). `outstanding` is the rest: issued − spent − expired, per pocket.
- `sold` is the cash customers paid for the value (the `paid` of the lots their charge and
  voucher records made): for vouchers, sold against issued is the premium the funder pays.
- By funder: the outstanding value each lot's funder stands behind (charged money: the
  holders' own cash, `FUNDER_CASH`); a voucher lot's remaining value counts whole under its
  funder, its paid part included (lots keep no split of what is left).

Rides on tickets are counts, not yen, and a wallet's debt is owed to the scheme: neither is
in these figures.
"""

from __future__ import annotations

import calendar
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ledger.db import Database
from sync import bodies, vocab

# The pockets the council's report lists, in its order; others found are listed after.
POCKETS = vocab.YEN_POCKETS
VOUCHER_POCKETS = vocab.VOUCHER_POCKETS
# Wallet accounts that are not yen owed to holders: rides, and what holders owe.
NOT_LIABILITY = (bodies.TICKET_POCKET, "debt", "ride_debt")
FUNDER_CASH = "cash"  # charged money: the holders' own
POCKET_NAMES = {"charged": "チャージ残高", "premium_common": "プレミアム商品券(共通)",
                "premium_exclusive": "プレミアム商品券(中小店)", "points": "ポイント"}
# Records whose new lots are value made; whose drawn lots are value spent.
MAKING = ("charge", "grant", "payment", "exchange")
DRAWING = ("payment", "ticket", "exchange")
GIVING_BACK = ("refund", "void")
LIABILITY_FORMATS = ("csv", "xlsx", "pdf", "json")


@dataclass
class PocketFigures:
    pocket: str
    sold: int = 0         # cash customers paid for value in this pocket
    issued: int = 0       # value made (charged, sold as vouchers, granted)
    spent: int = 0        # value paid at shops, net of refunds
    expired: int = 0      # held by lots past their expiry
    outstanding: int = 0  # held by lots still usable
    expiring_next_month: int = 0
    balance: int = 0      # the pocket accounts' balance (issued − spent)
    lots: int = 0         # what the pocket's lots hold (expired + outstanding)


@dataclass
class FunderFigures:
    funder: str
    outstanding: int = 0
    expiring_next_month: int = 0


@dataclass
class Liability:
    on: str  # the day expiry is judged
    next_month: str
    pockets: dict[str, PocketFigures] = field(default_factory=dict)
    funders: dict[str, FunderFigures] = field(default_factory=dict)

    @property
    def outstanding(self) -> int:
        return sum(p.outstanding for p in self.pockets.values())

    def vouchers(self) -> PocketFigures:
        """The voucher pockets together: money sold, value issued, spent, expired, left."""
        total = PocketFigures("vouchers")
        for name in VOUCHER_POCKETS:
            item = self.pockets.get(name)
            for key in ("sold", "issued", "spent", "expired", "outstanding",
                        "expiring_next_month", "balance", "lots"):
                setattr(total, key, getattr(total, key) + (getattr(item, key) if item else 0))
        return total

    def check(self) -> list[str]:
        """Where the figures do not add up (nothing: they do)."""
        problems = []
        for p in self.pockets.values():
            if p.issued - p.spent != p.balance:
                problems.append(f"{p.pocket}: issued {p.issued} − spent {p.spent} ≠ balance "
                                f"{p.balance}")
            if p.balance != p.lots:
                problems.append(f"{p.pocket}: accounts {p.balance} ≠ lots {p.lots}")
            if p.issued - p.spent - p.expired != p.outstanding:
                problems.append(f"{p.pocket}: issued − spent − expired ≠ outstanding "
                                f"{p.outstanding}")
        return problems

    def as_dict(self) -> dict:
        return {"on": self.on, "next_month": self.next_month,
                "outstanding": self.outstanding,
                "pockets": [dataclasses.asdict(p) for p in self.pockets.values()],
                "funders": [dataclasses.asdict(f) for f in self.funders.values()],
                "vouchers": dataclasses.asdict(self.vouchers())}


def _next_month(on: date) -> tuple[str, str]:
    year, month = (on.year + 1, 1) if on.month == 12 else (on.year, on.month + 1)
    last = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"


def _pocket_of(account: str) -> str:
    return account.rsplit(":", 1)[1]


def liability(db: Database, on: str | None = None) -> Liability:
    """The scheme's liability to wallet holders now, expiry judged on `on` (YYYY-MM-DD,
    default today)."""
    day = date.fromisoformat(on) if on else date.today()
    first, last = _next_month(day)
    out = Liability(day.isoformat(), first[:7])

    def pocket(name: str) -> PocketFigures:
        if name not in out.pockets:
            out.pockets[name] = PocketFigures(name)
        return out.pockets[name]

    for name in POCKETS:
        pocket(name)
    with db.reading(snapshot=True) as conn:
        postings = conn.all("SELECT entry, account, amount FROM postings WHERE account LIKE "
                            "'wallet:%' ORDER BY entry, n")
        terminals = sorted({entry.split("/", 1)[0] for entry, _, _ in postings
                            if "/" in entry})
        types: dict[str, str] = {}
        for terminal_id in terminals:
            for seq, rtype in conn.all("SELECT seq, type FROM records WHERE terminal_id = ?",
                                       (terminal_id,)):
                types[f"{terminal_id}/{seq}"] = rtype
        balances = conn.all("SELECT account, sum(amount) FROM balances WHERE account LIKE "
                            "'wallet:%' GROUP BY account")
        lots = conn.all("SELECT pocket, funder, expires, remaining FROM lots")
        charges = [json.loads(text) for (text,) in conn.all(
            "SELECT record FROM records WHERE type = 'charge'")]

    admin_net: dict[tuple[str, str], int] = {}
    for entry, account, amount in postings:
        name = _pocket_of(account)
        if name in NOT_LIABILITY:
            continue
        item, amount = pocket(name), int(amount)
        rtype = types.get(entry)
        if rtype is None:  # an admin operation: its net per pocket (a move nets to 0)
            admin_net[(entry, name)] = admin_net.get((entry, name), 0) + amount
        elif rtype in GIVING_BACK:
            if amount > 0:
                item.spent -= amount  # money given back
            else:
                item.issued += amount  # a grant taken back
        elif amount > 0 and rtype in MAKING:
            item.issued += amount
        elif amount < 0 and rtype in DRAWING:
            item.spent -= amount
        else:  # nothing posts so today; counted where its sign says
            if amount > 0:
                item.issued += amount
            else:
                item.spent -= amount
    for (_, name), amount in admin_net.items():
        if amount > 0:
            pocket(name).issued += amount
        else:
            pocket(name).spent -= amount
    for account, amount in balances:
        name = _pocket_of(account)
        if name not in NOT_LIABILITY:
            pocket(name).balance += int(amount)
    for name, funder, expires, remaining in lots:
        if name in NOT_LIABILITY or not remaining:
            continue
        item, remaining = pocket(name), int(remaining)
        item.lots += remaining
        if expires and expires < out.on:
            item.expired += remaining
            continue
        item.outstanding += remaining
        key = FUNDER_CASH if name == "charged" and not funder else funder or "unknown"
        backer = out.funders.setdefault(key, FunderFigures(key))
        backer.outstanding += remaining
        if expires and first <= expires <= last:
            item.expiring_next_month += remaining
            backer.expiring_next_month += remaining
    for rec in charges:
        for line in rec["body"].get("lots", []):
            if isinstance(line, dict) and line.get("pocket") not in NOT_LIABILITY:
                pocket(line.get("pocket", "charged")).sold += int(line.get("paid", 0))
    out.funders = dict(sorted(out.funders.items()))
    return out


def table(report: Liability) -> tuple[list[str], list[list]]:
    """The report as one table: a row per pocket, the vouchers together, then per funder."""
    headers = ["区分", "名前", "販売額", "発行額", "利用額", "失効額", "未使用残高",
               f"{report.next_month} 失効予定"]
    rows: list[list] = []
    for p in report.pockets.values():
        rows.append(["ポケット", POCKET_NAMES.get(p.pocket, p.pocket), p.sold, p.issued,
                     p.spent, p.expired, p.outstanding, p.expiring_next_month])
    v = report.vouchers()
    rows.append(["商品券 計", "プレミアム商品券", v.sold, v.issued, v.spent, v.expired,
                 v.outstanding, v.expiring_next_month])
    rows.append(["合計", f"{report.on} 現在", "", "", "", "", report.outstanding,
                 sum(p.expiring_next_month for p in report.pockets.values())])
    for f in report.funders.values():
        rows.append(["負担者", "利用者チャージ" if f.funder == FUNDER_CASH else f.funder, "", "",
                     "", "", f.outstanding, f.expiring_next_month])
    return headers, rows


def write(report: Liability, fmt: str, path: Path) -> Path:
    """CSV (UTF-8 with BOM), XLSX, PDF (A4, Japanese) or JSON, like the other reports."""
    if fmt == "json":
        path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2),
                        encoding="utf-8")
        return path
    from ledger import reports

    headers, rows = table(report)
    return reports.write_table(f"未使用残高 {report.on}", headers, rows, fmt, path)
