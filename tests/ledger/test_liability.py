"""The town's money (`python -m ledger report liability`, issue #16 rule 6) on both engines:
outstanding value by pocket and by funder, value expiring next month, voucher money sold
against spent and expired, from the ledger's accounts and lots, worked out by hand; the
same figures from the CLI (CSV, XLSX, PDF, JSON) and from the admin API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from ledger import liability
from tests.ledger.helpers import HTTP_TIMEOUT_S
from tests.ledger.test_ingest import Region, pay

ROOT = Path(__file__).resolve().parents[2]
ON = "2027-01-15"  # expiry judged mid-January: "next month" is February 2027
# Seed 003 (ここクーポン): 「② 15,000円 (販売額 10,000円/プレミアム率 50%) 全店共通ポイント/
# 6,000円・専用ポイント/9,000円」, 「利用期間：令和4年1月8日(土)～令和4年2月28日(月)」
VOUCHER_EXPIRES = "2027-02-28"


def town_day(region: Region) -> dict[str, str]:
    """The records of the test below, pushed to the ledger; the tx ids by name."""
    booth, shop = region.terminal("M-BOOTH"), region.terminal("M-SMALL")
    booth.append("charge", {"amount": 5_000, "wallet": "W-1", "lots": [
        {"lot": "L-CASH", "pocket": "charged", "amount": 5_000, "paid": 5_000}]})
    booth.append("charge", {"amount": 10_000, "wallet": "W-1", "lots": [
        {"lot": "L-COMMON", "pocket": "premium_common", "amount": 6_000, "paid": 4_000,
         "funder": "shiga-pref", "expires": VOUCHER_EXPIRES},
        {"lot": "L-EXCL", "pocket": "premium_exclusive", "amount": 9_000, "paid": 6_000,
         "funder": "shiga-pref", "expires": VOUCHER_EXPIRES, "classes": ["small"]}]})
    booth.append("grant", {"amount": 200, "wallet": "W-2", "lots": [
        {"lot": "L-BUS", "pocket": "points", "amount": 200, "paid": 0,
         "funder": "sdgs-council", "expires": "2026-12-31"}]})
    big = pay(shop, "W-1", [("L-COMMON", 6_000), ("L-CASH", 1_000)])
    wrong = pay(shop, "W-1", [("L-EXCL", 2_000)])
    shop.append("void", {"amount": 2_000, "wallet": "W-1", "of": wrong.tx_id,
                         "lots": [{"lot": "L-EXCL", "amount": 2_000}]})
    shop.append("refund", {"amount": 500, "wallet": "W-1", "of": big.tx_id,
                           "lots": [{"lot": "L-CASH", "amount": 500}]})
    pay(shop, "W-2", [(region.points, 300)])
    for term in (booth, shop):
        region.push(term)
    return {"big": big.tx_id, "wrong": wrong.tx_id}


# Worked out by hand (test_the_towns_money_by_pocket_and_funder's docstring).
POCKETS = {
    #                  sold    issued  spent  expired outstanding next month
    "charged":         (5_000, 8_000,  500,   0,      7_500,      0),
    "premium_common":  (4_000, 6_000,  6_000, 0,      0,          0),
    "premium_exclusive": (6_000, 13_500, 0,   0,      13_500,     13_500),
    "points":          (0,     1_000,  300,   200,    500,        0),
}
FUNDERS = {"cash": (4_500, 0), "council": (500, 0), "opening": (3_000, 0),
           "shiga-pref": (9_000, 9_000), "town": (4_500, 4_500)}


def figures(report: liability.Liability) -> dict[str, tuple]:
    return {p.pocket: (p.sold, p.issued, p.spent, p.expired, p.outstanding,
                       p.expiring_next_month) for p in report.pockets.values()}


def test_the_towns_money_by_pocket_and_funder(ledger_db, tmp_path):
    """The region starts with admin issues: W-1 ¥3,000 charged (funder "opening") and
    ¥4,500 exclusive vouchers (funder "town", expiring 2027-02-28); W-2 800 pt ("council").

    At the booth: W-1 charges ¥5,000 cash; W-1 buys seed 003's set ②, ¥10,000 for ¥6,000
    common + ¥9,000 exclusive (paid in proportion: 4,000 + 6,000); W-2 gets seed 001's bus
    grant, 200 pt (「LOVESAIJOポイント200pt」), here expiring 2026-12-31.
    At the small shop: W-1 pays ¥7,000 (common 6,000 + cash 1,000); pays ¥2,000 from the
    exclusive lot, voided; ¥500 of the ¥7,000 refunded (to the cash lot); W-2 pays 300 pt.

    By pocket, judged on 2027-01-15 (next month: 2027-02):
      charged: sold 5,000; issued 3,000 + 5,000 = 8,000; spent 1,000 − 500 = 500;
               outstanding 8,000 − 500 = 7,500.
      common:  sold 4,000; issued 6,000; spent 6,000; outstanding 0.
      exclusive: sold 6,000; issued 4,500 + 9,000 = 13,500; spent 2,000 − 2,000 = 0;
               outstanding 13,500, all expiring 2027-02-28, i.e. next month.
      points:  issued 800 + 200 = 1,000; spent 300; the bus lot's 200 expired 2026-12-31;
               outstanding 1,000 − 300 − 200 = 500.
      Vouchers together: sold 10,000, issued 19,500, spent 6,000, expired 0, left 13,500.
      Total outstanding 7,500 + 0 + 13,500 + 500 = 21,500.
    By funder (outstanding, expiring next month): cash 5,000 − 1,000 + 500 = 4,500;
      opening 3,000; town 4,500 (4,500); shiga-pref 9,000 (9,000); council 800 − 300 = 500
      (sdgs-council's 200 expired: not outstanding). 4,500 + 3,000 + 4,500 + 9,000 + 500 =
      21,500."""
    region = Region(ledger_db, tmp_path)
    town_day(region)
    report = liability.liability(region.db, ON)
    assert report.next_month == "2027-02"
    assert figures(report) == POCKETS
    assert {f.funder: (f.outstanding, f.expiring_next_month)
            for f in report.funders.values()} == FUNDERS
    vouchers = report.vouchers()
    assert (vouchers.sold, vouchers.issued, vouchers.spent, vouchers.expired,
            vouchers.outstanding) == (10_000, 19_500, 6_000, 0, 13_500)
    assert report.outstanding == 21_500 == sum(f[0] for f in FUNDERS.values())
    # It adds up, per pocket: issued − spent is the accounts' balance, which the lots hold,
    # and outstanding = issued − spent − expired.
    assert report.check() == []
    for p in report.pockets.values():
        assert p.issued - p.spent == p.balance == p.lots == p.expired + p.outstanding
    with region.db.reading() as conn:
        points = conn.value("SELECT sum(amount) FROM balances WHERE account LIKE "
                            "'wallet:%:points'")
    assert points == 1_000 - 300
    # Judged before the bus points expired, nothing is expired and they are outstanding.
    early = liability.liability(region.db, "2026-11-22")
    assert early.pockets["points"].expired == 0 and early.pockets["points"].outstanding == 700
    assert early.pockets["points"].expiring_next_month == 200  # December 2026
    assert early.check() == []
    region.assert_consistent()


def test_the_liability_report_from_the_cli_and_the_api(ledger_db, ledger_server, db_url,
                                                       tmp_path):
    """The same figures as above, written by `python -m ledger report liability` in each
    format and answered by GET /v1/admin/reports/liability with the admin token."""
    region = Region(ledger_db, tmp_path)
    town_day(region)
    base = [sys.executable, "-m", "ledger", "report", "liability", "--db", db_url,
            "--home", str(tmp_path / "cli-home"), "--on", ON]
    for fmt in liability.LIABILITY_FORMATS:
        out = tmp_path / f"liability.{fmt}"
        done = subprocess.run([*base, "--format", fmt, "--out", str(out)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 100
    assert "21,500" in done.stdout and "プレミアム商品券(中小店)" in done.stdout
    written = json.loads((tmp_path / "liability.json").read_text(encoding="utf-8"))
    assert {p["pocket"]: (p["sold"], p["issued"], p["spent"], p["expired"], p["outstanding"],
                          p["expiring_next_month"]) for p in written["pockets"]} == \
        {k: v for k, v in POCKETS.items()}
    csv = (tmp_path / "liability.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and "未使用残高".encode() in csv
    text = subprocess.run(["pdftotext", str(tmp_path / "liability.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "未使用残高" in text and "shiga-pref" in text

    url = ledger_server.url + "/v1/admin/reports/liability"
    assert requests.get(url, params={"on": ON}, timeout=HTTP_TIMEOUT_S).status_code == 401
    answer = requests.get(url, params={"on": ON}, timeout=HTTP_TIMEOUT_S, headers={
        "Authorization": f"Bearer {ledger_server.admin_token}"})
    assert answer.status_code == 200
    assert answer.json() == {**written, "adds_up": True}
    bad = requests.get(url, params={"on": "2027-13-01"}, timeout=HTTP_TIMEOUT_S, headers={
        "Authorization": f"Bearer {ledger_server.admin_token}"})
    assert bad.status_code == 400
