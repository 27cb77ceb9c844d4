"""The day's sheet as data: one row per figure with its count, amount and unit in columns of
their own, the same figures in the CSV, the XLSX (typed cells) and the PDF; campaigns by the
names the towns gave them; voucher sets counted as voucher sales; breakdowns that add up."""

from __future__ import annotations

import csv
import subprocess

from openpyxl import load_workbook

from sync import tally as sheet
from terminal import tally
from tests.terminal.test_campaigns import CARD, HOKUTO, KOKO, Till, cash, wallet


def booth_day(tmp_path) -> sheet.Tally:
    """A booth that also sells (2026-12-10):
    - a ¥3,000 cash top-up (チャージ);
    - one ここクーポン set for ¥10,000 (seed 003: "② 15,000円 (販売額 10,000円/プレミアム率
      50%) 全店共通ポイント/6,000円・専用ポイント/9,000円"): a voucher sale, not a top-up;
    - a ¥5,000 sale with 北斗クーポン (tiers 500→150 off, 5,000→1,500 off): ¥3,500 paid,
      and a ¥600 sale: ¥450 paid. Both are paid from the 専用 (small shops) vouchers first.
    Payments 2 × ¥3,950 = 3,500 + 450, all 専用, decided offline; net sales ¥3,950.
    Cash expected: 3,000 + 10,000 = ¥13,000; counted ¥13,000, difference ¥0.
    北斗クーポン: 2 uses, ¥1,650 off (1,500 + 150); ここクーポン: 1 use, ¥10,000 of sets."""
    till = Till(tmp_path, merchant="M-BOOTH")
    till.state.put("merchant", {"merchant_id": "M-BOOTH", "name": "湖国ブース", "class": "small",
                                "config": {}})
    till.snapshot([HOKUTO, KOKO], [wallet([cash(20_000)])])
    till.lease("hokuto", "shop.M-BOOTH", 5)
    till.lease("koko", "all", 5)
    till.counter.charge(CARD, 3_000)
    till.counter.buy_voucher(CARD, "koko", 10_000)
    till.counter.pay(CARD, 5_000)
    till.counter.pay(CARD, 600)
    day, _ = tally.z_close(till.journal, cash_counted=13_000)
    named = tally.name_sheet(tally.for_date(till.journal, day.business_date), till.state)
    till.journal.close()
    till.state.close()
    return named


def test_figures_by_hand(tmp_path):
    day = booth_day(tmp_path)
    by_item = {f.item: f for f in sheet.figures(day)}
    assert (by_item["チャージ"].count, by_item["チャージ"].amount) == (1, 3_000)
    assert (by_item["プレミアム商品券 販売"].count, by_item["プレミアム商品券 販売"].amount) == \
        (1, 10_000)
    assert (by_item["お支払い"].count, by_item["お支払い"].amount) == (2, 3_950)
    assert by_item["売上(返金・取消後)"].amount == 3_950
    assert by_item["北斗クーポン 件"].count == 2 and by_item["北斗クーポン 値引"].amount == 1_650
    assert by_item["ここクーポン 商品券販売"].amount == 10_000
    assert by_item["現金 予定額"].amount == 13_000 and by_item["過不足"].amount == 0
    assert not any("hokuto" in f.item or "koko" in f.item for f in sheet.figures(day))
    # each breakdown adds up to the line it breaks down
    pockets = [f.amount for f in sheet.figures(day) if f.item.startswith("お支払い 内訳 ")
               and "判定" not in f.item]
    decisions = [f.amount for f in sheet.figures(day) if f.item.endswith("判定")]
    assert sum(pockets) == sum(decisions) == by_item["お支払い"].amount
    assert "ギフトコード払い" not in by_item  # no gift codes today: the net is
    net = by_item["お支払い"].amount - by_item["返金"].amount - by_item["取消"].amount
    assert net == by_item["売上(返金・取消後)"].amount


def test_csv_xlsx_and_pdf_say_the_same_figures(tmp_path):
    day = booth_day(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with open(sheet.export(day, "csv", out / "day.csv"), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    book = load_workbook(sheet.export(day, "xlsx", out / "day.xlsx"))
    cells = list(book.active.iter_rows())
    assert rows[0] == list(sheet.HEADERS["ja"]) == [c.value for c in cells[0]]
    assert len(rows) == len(cells) == len(sheet.figures(day)) + 1
    for row, typed in zip(rows[1:], cells[1:], strict=True):
        shop, shop_id, terminal, business_date, shift = row[:5]
        assert (shop, shop_id, terminal, business_date, shift) == \
            ("湖国ブース", "M-BOOTH", "T-M-BOOTH", "2026-12-10", "1")
        for column in (7, 8):  # count, amount: numbers in both, blank when none
            value = typed[column].value
            assert row[column] == ("" if value is None else str(value))
            assert value is None or (type(value) is int and typed[column].data_type == "n")
        assert [c.value for c in typed[:7]] == [*row[:4], 1, *row[5:7]] and \
            typed[9].value == row[9]
    text = subprocess.run(["pdftotext", "-layout", str(sheet.export(day, "pdf", out / "d.pdf")),
                           "-"], capture_output=True, text=True, check=True).stdout
    # spaces as pdftotext sees them vary with the font's metrics: compared without them
    lines = ["".join(line.split()) for line in text.splitlines()]
    assert "湖国ブース(M-BOOTH)" in lines
    assert "端末T-M-BOOTH営業日2026-12-10シフト1" in lines
    for row in rows[1:]:
        count = f"{int(row[7]):,} 件" if row[7] else ""
        amount = "" if not row[8] else (f"¥{int(row[8]):,}" if row[9] == "円" else
                                        f"{int(row[8]):,} {row[9]}")
        expected = "".join((row[6] + count + amount).split())
        assert expected in lines, (expected, row)


def test_a_sheet_of_two_lanes_keeps_campaigns_and_each_lanes_cash(tmp_path):
    """Two lanes of one shop: lane A as the booth day above (net ¥3,950, counted ¥13,000);
    lane B the same day again. Merged: net ¥7,900, 北斗クーポン 4 uses ¥3,300 off, and a
    line per lane with its own counted cash (¥13,000 each)."""
    lanes = [booth_day(tmp_path / "a"), booth_day(tmp_path / "b")]
    lanes[1].terminal_id = "T-M-BOOTH-2"
    merged = sheet.merge(lanes)
    by_item = {f.item: f for f in sheet.figures(merged)}
    assert by_item["売上(返金・取消後)"].amount == 7_900
    assert by_item["北斗クーポン 件"].count == 4 and by_item["北斗クーポン 値引"].amount == 3_300
    assert by_item["T-M-BOOTH 現金 実査額"].amount == 13_000
    assert by_item["T-M-BOOTH-2 現金 実査額"].amount == 13_000
    assert by_item["現金 実査額"].amount == 26_000 and by_item["過不足"].amount == 0
    assert merged.shop_id == "M-BOOTH"


def test_a_sheet_longer_than_a_page_prints_every_figure(tmp_path):
    """Forty campaigns of two figures each: the PDF runs onto more pages, each with the
    heading, and every figure is on one of them."""
    day = sheet.Tally("T-1", "2026-12-10", 1, 80, True, shop_name="長い店", shop_id="M-L")
    for n in range(40):
        day.campaigns[f"c{n}"] = {"uses": n + 1, "discount": 100 * (n + 1)}
        day.campaign_names[f"c{n}"] = f"キャンペーン{n:02d}"
    pdf = sheet.export(day, "pdf", tmp_path / "long.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) >= 2
    assert all("長い店" in p for p in pages if p.strip())
    lines = {"".join(line.split()) for line in text.splitlines()}
    for item, count, amount in sheet.pdf_lines(day):
        assert "".join((item + count + amount).split()) in lines
