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


def _sales_on(sheets) -> list[int]:
    """The seq of every payment on the given sheets (one entry per sheet it is on)."""
    return sorted(seq for day in sheets for part in day.shifts
                  for seq in range(part.first_seq, part.last_seq + 1))


def test_a_day_of_two_shifts_and_a_late_sale_is_whole(region):
    """Shift 1: ¥300 and ¥400, a shift close (counted ¥0: no cash taken). Shift 2: ¥500, the
    day's Z. A late ¥200 after the Z (same calendar day) belongs to the next business day;
    a second Z that day is refused, and with a manager's approval it closes the late sale as
    shift 3 of the same day. One more ¥100 is then the next day's. So 2026-11-22's sheet holds
    300 + 400 + 500 + 200 = ¥1,400 over three shifts, 2026-11-23's ¥100; every sale is on
    exactly one sheet, and reconcile finds nothing on either day."""
    from datetime import timedelta

    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    pay(term, "W-1", [(region.charged, 400)])
    first, _ = terminal_tally.z_close(term, cash_counted=0, shift=True)
    pay(term, "W-1", [(region.charged, 500)])
    terminal_tally.z_close(term, cash_counted=0)
    late = pay(term, "W-1", [(region.charged, 200)])
    assert terminal_tally.after_close_notice(term) == ("2026-11-22", "2026-11-23")
    assert terminal_tally.x_report(term).business_date == "2026-11-23"
    with pytest.raises(terminal_tally.SecondClose) as refused:
        terminal_tally.z_close(term)
    assert "2026-11-22 shift 2" in refused.value.message and "approval" in refused.value.message
    third, _ = terminal_tally.z_close(term, approved_by="MGR-1")
    assert (third.business_date, third.shift) == ("2026-11-22", 3)
    term._clock.now += timedelta(days=1)
    pay(term, "W-1", [(region.charged, 100)])
    terminal_tally.z_close(term)
    region.push(term)

    mine = [terminal_tally.for_date(term, d) for d in ("2026-11-22", "2026-11-23")]
    theirs = [reports.tally(region.db, d)[0] for d in ("2026-11-22", "2026-11-23")]
    assert [d.net_sales for d in theirs] == [d.net_sales for d in mine] == [1_400, 100]
    assert [s.shift for s in theirs[0].shifts] == [1, 2, 3]
    assert [s.net_sales for s in theirs[0].shifts] == [700, 500, 200]
    assert theirs[0].closed and theirs[0].shop_name == "小さな店"
    payments = [r["seq"] for r in map(json.loads, (t for _, t in term.pending()))
                if r["type"] == "payment"]
    on_sheets = [seq for seq in _sales_on(theirs) if seq in payments]
    assert on_sheets == payments  # each exactly once
    assert late.seq in _sales_on(theirs[:1])
    assert reports.reconcile(region.db, "2026-11-22") == []
    assert reports.reconcile(region.db, "2026-11-23") == []
    assert first.day_closed is False
    from ledger.__main__ import main

    assert main(["report", "reconcile", "--db", region.db.url, "--date", "2026-11-22"]) == 0


def test_reconcile_finds_a_record_covered_by_no_close(region):
    """The same kind of day, but the late sale (and everything after it) never reaches the
    ledger: the Z of 2026-11-22 is there, the second close is not, so the day's records up
    to the Z reconcile, and nothing is reported for them; the next business day's records
    the ledger does hold (none) are not invented. Then the late sale arrives without its
    close: reconcile names it as covered by no close."""
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    terminal_tally.z_close(term, shift=True)
    pay(term, "W-1", [(region.charged, 400)])
    terminal_tally.z_close(term)
    late = pay(term, "W-1", [(region.charged, 200)])
    terminal_tally.z_close(term, approved_by="MGR-1")
    records = [json.loads(data) for _, data in term.pending()]
    region.push(term, records[:-2])  # the late sale and its close are withheld
    assert reports.reconcile(region.db, "2026-11-22") == []
    region.push(term, records[-2:-1])  # the late sale alone
    from ledger.__main__ import main

    assert main(["report", "reconcile", "--db", region.db.url, "--date", "2026-11-23"]) == 1
    (found,) = reports.reconcile(region.db, "2026-11-23")
    assert "covered by no close" in found.what and f"seq {late.seq}..{late.seq}" in \
        found.ledger_says
    region.push(term, records[-1:])
    assert reports.reconcile(region.db, "2026-11-22") == []
    assert reports.reconcile(region.db, "2026-11-23") == []


def test_a_close_that_disagrees_with_the_ledger_is_named(region):
    """A close that says ¥999 of payments where its records hold ¥300 is a difference of
    its shift's yen."""
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    sheet = terminal_tally.x_report(term)
    sheet.closed, sheet.yen = True, {"payment": 999}
    term.append("day_close", sheet.close_body())
    region.push(term)
    (found,) = reports.reconcile(region.db, "2026-11-22")
    assert found.what == "shift 1: yen" and found.terminal_says == {"payment": 999}
    assert found.ledger_says == {"payment": 300}


def test_report_tally_of_two_lanes_keeps_campaigns_and_each_lanes_cash(region, tmp_path):
    """`python -m ledger report tally` for a two-lane shop (M-SMALL, 小さな店). Lane 1: a
    ¥1,200 sale with 北斗クーポン's ¥150 off (seed 000's tiers: 500 and up -> 150 off), so
    ¥1,050 paid; float in ¥5,000, counted ¥5,000. Lane 2: ¥800 paid; float in ¥3,000,
    counted ¥2,900. The shop's sheet: net ¥1,850, 北斗クーポン 1 use ¥150 off, each lane's
    counted cash on its own line (¥5,000, ¥2,900), counted ¥7,900 against ¥8,000: -¥100."""
    import csv

    from ledger import service
    from ledger.__main__ import main
    from sync import campaigns

    service.create_campaign(region.db, campaigns.validate({
        "id": "hokuto", "kind": "threshold_coupon", "name": "北斗クーポン",
        "starts": "2026-11-01", "ends": "2027-03-31", "funder": "town",
        "tiers": [{"min": 500, "off": 150}, {"min": 5000, "off": 1500}]}))
    lanes = [region.terminal(), region.terminal()]
    lanes[0].append("payment", {
        "amount": 1_050, "price": 1_200, "wallet": "W-1",
        "lots": [{"lot": region.charged, "amount": 1_050}], "decision": "offline",
        "credential": {"kind": "card", "id": "W-1"},
        "campaigns": [{"campaign": "hokuto", "kind": "threshold_coupon", "discount": 150}]})
    lanes[0].append("cash_move", {"amount": 5_000, "direction": "in"})
    terminal_tally.z_close(lanes[0], cash_counted=5_000)
    pay(lanes[1], "W-1", [(region.charged, 800)])
    lanes[1].append("cash_move", {"amount": 3_000, "direction": "in"})
    terminal_tally.z_close(lanes[1], cash_counted=2_900)
    for lane in lanes:
        region.push(lane)
    out = tmp_path / "shop.csv"
    assert main(["report", "tally", "--db", region.db.url, "--date", "2026-11-22",
                 "--merchant", "M-SMALL", "--format", "csv", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = {row[6]: row for row in list(csv.reader(fh))[1:]}
    first, second = (lane.terminal_id for lane in lanes)
    ordered = "+".join(sorted((first, second)))  # the sheet orders terminals by id
    assert rows["売上(返金・取消後)"][:3] == ["小さな店", "M-SMALL", ordered]
    assert rows["売上(返金・取消後)"][8] == "1850"
    assert rows["北斗クーポン 件"][7] == "1" and rows["北斗クーポン 値引"][8] == "150"
    assert rows[f"{first} 現金 実査額"][8] == "5000"
    assert rows[f"{second} 現金 実査額"][8] == "2900"
    assert rows["現金 実査額"][8] == "7900" and rows["過不足"][8] == "-100"


def test_a_close_naming_the_wrong_business_day_is_found(region):
    """2026-11-22: ¥300, the day's Z. 2026-11-23: ¥100, then a close whose figures are right
    for its records but which names business day 2026-11-22, shift 2 (no approval, and the
    Z before it was made the day before: the rule says 2026-11-23, shift 1). The ledger
    must not take its word: the ¥100 would be on 11-22's sheet and on none of 11-23's,
    with reconcile clean on both days. Reconcile names it on both days."""
    from datetime import timedelta

    from sync import tally as sheet

    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    terminal_tally.z_close(term)
    term._clock.now += timedelta(days=1)
    pay(term, "W-1", [(region.charged, 100)])
    run = terminal_tally.runs(term)[-1]
    assert (run.business_date, run.shift) == ("2026-11-23", 1)
    forged = sheet.compute(term.terminal_id, run.records, "2026-11-22", True, term.totals)
    forged.shift, forged.day_closed = 2, True
    term.append("day_close", forged.close_body())
    region.push(term)
    for day in ("2026-11-22", "2026-11-23"):
        found = reports.reconcile(region.db, day)
        assert [(d.what, d.terminal_says, d.ledger_says) for d in found] == [
            ("shift 2: business day and shift", "2026-11-22 shift 2", "2026-11-23 shift 1")]
