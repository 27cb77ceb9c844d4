"""The KPI PDF speaks the reader's language (#18.5): every chart's title and label in
Japanese (English when asked): kinds of wallet and value by name, age bands and months
worded, shops by their names, and no internal key (`charged`, `80+`, `M-SMALL`, `?`) on
the page. The PDF is made from records a real ingest posted, on both engines, and read
back with pdftotext (poppler), as the town office's reader would show it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ledger import kpi, service
from tests.ledger.test_ingest import Region

EVERY_DAY = ("0001-01-01", "9999-12-31")


@pytest.fixture
def figures(ledger_db, tmp_path) -> dict:
    """W-1 (a card, no age band or area) pays ¥800 of its charged money and ¥1,200 of its
    small-shop vouchers at 小さな店; W-2 (an app) pays ¥300 of points at 大きな店 with its app;
    the booth issues a card to a new holder in their 70s from 中央 and grants them 200
    points; an app user of 80+ with no area is registered at the office."""
    region = Region(ledger_db, tmp_path)
    service.create_wallet(ledger_db, "app", "W-OLD", age_band="80+")
    small, large, booth = (region.terminal("M-SMALL"), region.terminal("M-LARGE"),
                           region.terminal("M-BOOTH"))
    # each line names its pocket, as the counter's (terminal.policy.draw)
    small.append("payment", {"amount": 2_000, "wallet": "W-1", "decision": "offline",
                             "lots": [{"lot": region.charged, "amount": 800,
                                       "pocket": "charged"},
                                      {"lot": region.exclusive, "amount": 1_200,
                                       "pocket": "premium_exclusive"}],
                             "credential": {"kind": "card", "id": "W-1"}})
    large.append("payment", {"amount": 300, "wallet": "W-2", "decision": "offline",
                             "lots": [{"lot": region.points, "amount": 300,
                                       "pocket": "points"}],
                             "credential": {"kind": "app", "id": "W-2"}})
    booth.append("card_issue", {"card": "8000000000000003", "wallet": "W-NEW",
                                "new_wallet": True, "age_band": "70s", "area": "中央"})
    booth.append("grant", {"amount": 200, "wallet": "W-NEW", "lots": [
        {"lot": "L-BUS-1", "pocket": "points", "amount": 200, "paid": 0,
         "funder": "council", "campaign": "bus-points"}]})
    for term in (small, large, booth):
        region.push(term)
    return kpi.kpi(ledger_db, *EVERY_DAY)


def internal_keys(report: dict) -> set[str]:
    """Every key the report's tables hold that a reader must not see as such (an area is
    the office's own word, shown as given, except the missing one)."""
    users = report["users"]
    return ({*users["by_kind"], *users["by_age_band"], *report["volume_by_month"],
             *report["issued_by_pocket"], *report["spent_by_pocket"],
             *report["share_by_credential_pct"], *report["shops"], kpi.NOT_GIVEN}
            | ({kpi.NOT_GIVEN} & set(users["by_area"])))


def test_the_figures_hold_the_keys_the_charts_must_word(figures):
    """The report's keys are the internal ones (so the next test proves something)."""
    assert figures["users"]["by_age_band"] == {"?": 2, "70s": 1, "80+": 1}
    assert figures["users"]["by_area"] == {"?": 3, "中央": 1}
    assert figures["spent_by_pocket"] == {"charged": 800, "premium_exclusive": 1_200,
                                          "points": 300}
    assert figures["issued_by_pocket"] == {"points": 200}
    assert set(figures["shops"]) == {"M-SMALL", "M-LARGE"}
    assert figures["share_by_credential_pct"] == {"card": 87, "app": 13}  # 2,000 / 2,300


@pytest.mark.parametrize(("lang", "words"), [
    ("ja", ["アプリ", "カード", "70代", "80歳以上", "未登録", "中央", "チャージ残高",
            "プレミアム商品券(中小店)", "ポイント", "小さな店", "大きな店", "年代", "地域"]),
    ("en", ["App", "Card", "70-79", "80 and over", "Not given", "中央", "Charged money",
            "Vouchers (small shops)", "Points", "小さな店", "Registered users by age"]),
])
def test_every_chart_label_is_worded(figures, lang, words, tmp_path):
    keys = internal_keys(figures)
    charts = kpi.charts(figures, lang)
    labels = [label for _, data in charts for label, _ in data]
    assert not keys & set(labels), keys & set(labels)
    assert all(data for _, data in charts)  # every chart has bars here
    month = [data for title, data in charts if "月" in title or "month" in title][0]
    assert month == [("2026年11月" if lang == "ja" else "Nov 2026", 2_300)]  # 2,000 + 300
    pdf = kpi.kpi_pdf(figures, tmp_path / f"kpi-{lang}.pdf", lang)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    missing = [word for word in words if word not in text]
    assert not missing, missing
    tokens = set(text.split())
    assert not keys & tokens, keys & tokens


def test_without_records_each_chart_says_no_data(ledger_db, tmp_path):
    report = kpi.kpi(ledger_db, *EVERY_DAY)
    pdf = kpi.kpi_pdf(report, tmp_path / "empty.pdf")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert text.count("データなし") == len(kpi.charts(report)) == 8


def test_age_bands_and_months_in_words():
    assert [kpi.age_band_name(b) for b in ("10s", "40s", "80+", "?", "高齢")] == \
        ["10代", "40代", "80歳以上", "未登録", "高齢"]
    assert [kpi.age_band_name(b, "en") for b in ("10s", "80+", "?")] == \
        ["10-19", "80 and over", "Not given"]
    assert kpi.month_name("2027-01") == "2027年1月"
    assert kpi.month_name("2027-01", "en") == "Jan 2027"


def test_the_cli_asks_for_the_charts_language(figures, ledger_db, tmp_path):
    """`report kpi --lang en` gives the English charts, and Japanese is the default."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    import sys

    texts = {}
    for lang in ("ja", "en", None):
        out = tmp_path / f"cli-{lang}.pdf"
        args = [sys.executable, "-m", "ledger", "report", "kpi", "--db", ledger_db.url,
                "--from", EVERY_DAY[0], "--to", EVERY_DAY[1], "--format", "pdf",
                "--out", str(out)] + (["--lang", lang] if lang else [])
        subprocess.run(args, check=True, capture_output=True)
        texts[lang] = subprocess.run(["pdftotext", str(out), "-"], capture_output=True,
                                     text=True, check=True).stdout
    assert "Registered users by age" in texts["en"] and "Registered users by age" not in texts["ja"]
    assert "年代" in texts["ja"] and texts[None] == texts["ja"]
