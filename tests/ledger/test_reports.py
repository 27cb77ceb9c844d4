"""The ledger's reports against figures worked out by hand, on both engines: the fee plans,
the terminal's sheet equal to the ledger's, and a withheld record found by reconcile."""

from __future__ import annotations

import json
import subprocess

import pytest

from ledger import reports, service
from terminal import tally as terminal_tally
from tests.ledger.test_ingest import Region, pay


@pytest.mark.parametrize("turnover, plan1, plan2, plan3, returned", [
    (0, 0, 0, 0, 0),                          # no turnover: not billed, base or not
    (-3_000, 0, 0, 0, -30),                   # refunds of last month's sales only
    (1, 1_100, 0, 0, 0),
    (50_000, 1_100, 940, 1_050, 500),
    (70_968, 1_100, 1_334, 1_490, 709),     # where plan 1's base and 1.55 % meet
    (70_967, 1_100, 1_334, 1_490, 709),
    (1_000_000, 15_500, 18_800, 21_000, 10_000),
])
def test_fee_plans(turnover, plan1, plan2, plan3, returned):
    assert [reports.fee(turnover, p) for p in (1, 2, 3)] == [plan1, plan2, plan3]
    assert turnover * reports.USER_RETURN_BP // reports.BP == returned
    with pytest.raises(reports.ReportError):
        reports.fee(turnover, 4)


@pytest.fixture
def region(ledger_db, tmp_path):
    return Region(ledger_db, tmp_path)


def test_the_ledgers_sheet_equals_the_terminals(region):
    term = region.terminal()
    first = pay(term, "W-1", [(region.exclusive, 1_200)])
    pay(term, "W-1", [(region.charged, 800)])
    term.append("refund", {"amount": 200, "wallet": "W-1", "of": first.tx_id,
                           "lots": [{"lot": region.exclusive, "amount": 200}]})
    term.append("cash_move", {"amount": 5_000, "direction": "in"})
    ours, close = terminal_tally.z_close(term, cash_counted=5_000)
    region.push(term)
    (theirs,) = reports.tally(region.db, ours.business_date)
    assert theirs.close_body() | {"perpetual": None} == ours.close_body() | {"perpetual": None}
    assert theirs.net_sales == 1_800 and theirs.cash_difference == 0
    assert reports.reconcile(region.db, ours.business_date) == []


def test_reconcile_finds_a_withheld_record(region):
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    pay(term, "W-1", [(region.charged, 400)])
    day, _ = terminal_tally.z_close(term)
    records = [json.loads(data) for _, data in term.pending()]
    region.push(term, records[:-2])  # the last sale and the close never reach the ledger
    (found,) = reports.reconcile(region.db, day.business_date)
    assert found.terminal_id == term.terminal_id
    assert f"after seq {records[-3]['seq']}" in found.what


def test_settlement_by_merchant(region):
    small, large = region.terminal("M-SMALL"), region.terminal("M-LARGE")
    sale = pay(small, "W-1", [(region.charged, 1_000)])
    pay(large, "W-1", [(region.charged, 500)])
    small.append("void", {"amount": 1_000, "wallet": "W-1", "of": sale.tx_id,
                          "lots": [{"lot": region.charged, "amount": 1_000}]})
    pay(small, "W-1", [(region.charged, 700)])
    region.push(small)
    region.push(large)
    month = sale.record["at"][:7]
    by_id = {s.merchant_id: s for s in reports.settlement(region.db, month, 1)}
    assert (by_id["M-SMALL"].turnover, by_id["M-SMALL"].fee, by_id["M-SMALL"].payout) == \
        (700, 1_100, -400)
    assert (by_id["M-BOOTH"].fee, by_id["M-BOOTH"].payout) == (0, 0)  # no turnover
    assert by_id["M-LARGE"].turnover == 500 and by_id["M-BOOTH"].turnover == 0
    assert reports.settlement(region.db, "2001-01", 2)[0].turnover == 0
    with pytest.raises(reports.ReportError):
        reports.settlement(region.db, "November", 1)


def test_plan_1_base_is_billed_only_with_turnover(region):
    """Seed 001, 見直し案①: 「基本料金 1,100円/月 ※基本料金は地域応援協力金のお支払い分に充て
    させていただきます。地域応援協力金が1100円を超えない場合は基本料金のみのご請求、1100円を
    超えた場合は、基本料金＋超過部分のご請求。」 and 「地域応援協力金 取引額の1.55%」.

    A month: 小さな店 takes ¥60,000 (3 × ¥20,000): 1.55 % = ¥930 ≤ ¥1,100, so the base only,
    ¥1,100 (under plan 2, 1.88 % = ¥1,128: plan 1 is the cheaper one, as the seed says of
    「月間取引額58,000円以上の店舗」); payout 60,000 − 1,100 = ¥58,900. 大きな店 takes
    ¥100,000 (5 × ¥20,000): 1.55 % = ¥1,550 > ¥1,100: base + excess = ¥1,550; payout
    ¥98,450. The charge booth sells ¥5,000 of top-ups and takes no payment: turnover ¥0, not
    billed (fee ¥0, payout ¥0), as a shop with no sale that month."""
    money = service.issue_value(region.db, "W-1", "charged", 160_000, "opening")
    small, large, booth = (region.terminal(m) for m in ("M-SMALL", "M-LARGE", "M-BOOTH"))
    for _ in range(3):
        sale = pay(small, "W-1", [(money, 20_000)])
    for _ in range(5):
        pay(large, "W-1", [(money, 20_000)])
    booth.append("charge", {"amount": 5_000, "wallet": "W-1",
                            "lots": [{"lot": "L-TOPUP", "pocket": "charged", "amount": 5_000,
                                      "paid": 5_000}]})
    for term in (small, large, booth):
        region.push(term)
    month = sale.record["at"][:7]
    plan1 = {s.merchant_id: (s.turnover, s.fee, s.payout)
             for s in reports.settlement(region.db, month, 1)}
    assert plan1 == {"M-SMALL": (60_000, 1_100, 58_900), "M-LARGE": (100_000, 1_550, 98_450),
                     "M-BOOTH": (0, 0, 0)}
    plan2 = {s.merchant_id: s.fee for s in reports.settlement(region.db, month, 2)}
    assert plan2 == {"M-SMALL": 1_128, "M-LARGE": 1_880, "M-BOOTH": 0}
    assert not region.flags("unknown_lot")


def test_report_files(region, tmp_path):
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 900)])
    day, _ = terminal_tally.z_close(term)
    region.push(term)
    days = reports.tally(region.db, day.business_date)
    pdf = reports.sheet.export(days[0], "pdf", tmp_path / "tally.pdf", "小さな店")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "日計表" in text and "¥900" in text
    headers, rows = reports.settlement_table(reports.settlement(region.db,
                                                                day.business_date[:7], 3))
    for fmt in reports.REPORT_FORMATS:
        out = reports.write_table("精算", headers, rows, fmt, tmp_path / f"s.{fmt}")
        assert out.stat().st_size > 100
    assert (tmp_path / "s.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "加盟店ID" in text and "小さな店" in text


def test_kpis_and_velocity_flags(region, tmp_path):
    from ledger import kpi

    small, large = region.terminal("M-SMALL"), region.terminal("M-LARGE")
    for _ in range(kpi.VELOCITY_PAYMENTS):
        pay(small, "W-1", [(region.charged, 100)])  # one wallet, ten payments in ten seconds
    pay(large, "W-1", [(region.charged, 100)])  # and at another shop a moment later
    booth = region.terminal("M-BOOTH")
    for n in range(kpi.NEAR_CAP_REPEATS):
        booth.append("charge", {"amount": 48_000, "wallet": "W-2", "lots": [
            {"lot": f"L-NC{n}", "pocket": "charged", "amount": 48_000, "paid": 48_000}]})
    for term in (small, large, booth):
        region.push(term)
    day = "2026-11-22"
    figures = kpi.kpi(region.db, day, day)
    assert figures["users"]["by_kind"] == {"card": 1, "app": 1}
    assert figures["volume_by_month"] == {"2026-11": 1_100}
    assert figures["shops"]["M-SMALL"] == {"customers": 1, "payments": 10,
                                           "repeat_rate_pct": 100, "average_spend": 100}
    assert figures["share_by_credential_pct"] == {"card": 100}
    kinds = {f["kind"] for f in kpi.flags(region.db, day, day)}
    assert {"velocity", "two_shops", "near_cap", "over_cap"} <= kinds
    pdf = kpi.kpi_pdf(figures, tmp_path / "kpi.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "KPI" in text and "登録者数" in text
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "kpi")], check=True)
    assert kpi.kpi_csv(figures, tmp_path / "kpi.csv").read_bytes().startswith(b"\xef\xbb\xbf")
