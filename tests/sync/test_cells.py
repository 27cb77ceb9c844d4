"""Every CSV and XLSX export neutralises text a spreadsheet would run as a formula (a shop,
campaign or area name typed by someone else), and keeps numbers numbers."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

from ledger import kpi, reports
from sync import cells
from sync import tally as sheet

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
           "\t=1+1", "\r=1+1", "-cmd|' /C calc'!A0", "-A1"]


def read_csv(path) -> list[list[str]]:
    with open(path, encoding=cells.CSV_ENCODING, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_could_start_a_formula_is_neutralised(text):
    assert cells.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", [-1200, 0, 5, None, "-1,200", "-¥1,200", "-¥12", "-0.5",
                                   "八百屋", "a=b", "", "¥1,200"])
def test_numbers_and_plain_text_are_kept(value):
    assert cells.neutralise(value) == value


def test_the_tally_sheet_csv_and_xlsx(tmp_path):
    # a terminal id is only letters, digits . _ -, but a sheet must not trust its inputs
    day = sheet.Tally("=1+2", "2026-11-22", 1, 3, True, float_out=1200)
    day.by_pocket["points"] = -300
    rows = read_csv(sheet.export(day, "csv", tmp_path / "t.csv"))
    by_item = {row[6]: row for row in rows[1:]}
    assert {row[2] for row in rows[1:]} == {"'=1+2"}  # the terminal column
    assert by_item["過不足"][8] == "" and by_item["お支払い 内訳 ポイント"][8] == "-300"
    book = load_workbook(sheet.export(day, "xlsx", tmp_path / "t.xlsx"))
    cell = next(row[2] for row in book.active.iter_rows(min_row=2))
    assert cell.value == "=1+2" and cell.data_type == "s"  # text, not a formula
    points = next(row[8] for row in book.active.iter_rows(min_row=2)
                  if row[6].value == "お支払い 内訳 ポイント")
    assert points.value == -300 and points.data_type == "n"


@pytest.mark.parametrize("table", ["settlement", "campaigns", "reconcile"])
def test_report_tables_in_csv_and_xlsx(tmp_path, table):
    if table == "settlement":
        headers, rows = reports.settlement_table(
            [reports.Settlement("M-1", text, 1, -500, 0, 0, -500) for text in HOSTILE])
    elif table == "campaigns":
        headers, rows = reports.campaign_table(
            [reports.CampaignFigures("C-1", text, "discount", discounts=-300) for text in HOSTILE])
    else:
        headers, rows = reports.reconcile_table(
            [reports.Difference(text, "=cash", 1, 2) for text in HOSTILE])
    written = read_csv(reports.write_table("t", headers, rows, "csv", tmp_path / "t.csv"))
    assert written[0] == headers
    for line in written[1:]:
        assert not any(v.startswith(cells.FORMULA_STARTS) and not
                       cells.NEGATIVE_AMOUNT_RE.fullmatch(v) for v in line), line
    assert {"'" + text for text in HOSTILE} <= {v for line in written for v in line}
    book = load_workbook(reports.write_table("t", headers, rows, "xlsx", tmp_path / "t.xlsx"))
    got = list(book.active.iter_rows(min_row=2))
    assert all(c.data_type != "f" for row in got for c in row)
    assert any(isinstance(c.value, int) and c.value < 0 for row in got for c in row) \
        or table == "reconcile"  # amounts stay numbers


def test_kpi_csv(tmp_path):
    report = {"users": {"area": {"=HYPERLINK(\"x\")": 3, "駅前": 5}},
              "volume_by_month": {"2026-11": -200}, "issued_by_pocket": {},
              "spent_by_pocket": {"@points": 7}, "share_by_credential_pct": {},
              "shops": {"M-1": {"+net": -100}}}
    rows = read_csv(kpi.kpi_csv(report, tmp_path / "kpi.csv"))
    assert ["users.area", "'=HYPERLINK(\"x\")", "3"] in rows
    assert ["spent_by_pocket", "'@points", "7"] in rows
    assert ["shops.M-1", "'+net", "-100"] in rows
    assert ["volume_by_month", "2026-11", "-200"] in rows
