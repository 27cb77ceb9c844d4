"""The day's tally at one terminal, against figures worked out by hand, and its sheets."""

from __future__ import annotations

import csv
import subprocess
import sys
import time

import pytest

from terminal import keystore, tally
from terminal.counter import Counter, Presented
from terminal.journal import Journal
from terminal.state import StateStore
from tests.conftest import StepClock

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
CARD = "8123456789012340"  # W-1's (a wallet id is no credential: DESIGN §10)
W = Presented("card", CARD)


@pytest.fixture
def counter(data_dir):
    journal = Journal.create(data_dir, "T-TALLY-1", keystore.create_key(data_dir),
                             clock=StepClock())
    state = StateStore(data_dir)
    state.apply_snapshot({
        "cursor": "c", "more": False, "server_time_ms": int(time.time() * 1000),
        "merchant": {"merchant_id": "M-1", "name": "さくら商店", "class": "small", "config": {}},
        "cards": [{"card": CARD, "wallet": "W-1", "status": "active", "version": 1}],
        "campaigns": [],
        "wallets": [{"wallet": "W-1", "status": "active", "version": 1, "debt": 0, "lots": [
            {"lot": "L-C", "pocket": "charged", "remaining": 20_000, "expires": None,
             "classes": ["small", "large"]},
            {"lot": "L-X", "pocket": "premium_exclusive", "remaining": 5_000,
             "expires": "2027-02-28", "classes": ["small"]},
            {"lot": "L-P", "pocket": "points", "remaining": 1_000, "expires": "2027-01-31",
             "classes": ["small", "large"]}]}],
    }, 0)
    yield Counter(journal, state)
    journal.close()
    state.close()


def a_day(counter: Counter) -> None:
    first = counter.pay(W, 1_500)      # exclusive 1,500 (restricted value goes first)
    second = counter.pay(W, 6_000)     # exclusive 3,500 + points 1,000 + charged 1,500
    counter.refund(second.tx_id, 500)  # back to the last-drawn lot: charged 500
    counter.refund(first.tx_id, void=True)
    counter.charge(W, 3_000)
    counter.cash_move(10_000, "in")
    counter.cash_move(2_000, "out")


def test_a_mixed_day_to_the_yen(counter):
    a_day(counter)
    x = tally.x_report(counter.journal)
    assert not x.closed and x.business_date == "2026-11-22"
    assert x.counts == {"payment": 2, "refund": 1, "void": 1, "charge": 1, "cash_move": 2}
    assert x.yen == {"payment": 7_500, "refund": 500, "void": 1_500, "charge": 3_000}
    assert x.net_sales == 5_500
    assert x.by_pocket == {"premium_exclusive": 5_000, "points": 1_000, "charged": 1_500}
    assert x.by_decision == {"offline": 7_500}
    assert (x.float_in, x.float_out, x.cash_expected) == (10_000, 2_000, 11_000)
    assert counter.journal.last_seq == 8  # X wrote nothing


def test_close_signs_the_day_and_later_sales_are_the_next_day(counter):
    a_day(counter)
    closed, rec = tally.z_close(counter.journal, cash_counted=10_900)
    assert rec["type"] == "day_close" and rec["seq"] == 9
    assert rec["body"]["cash_difference"] == -100 and rec["body"]["first_seq"] == 2
    assert rec["body"]["perpetual"]["payment"] == {"n": 2, "yen": 7_500}
    counter.pay(W, 700)
    after = tally.x_report(counter.journal)
    assert after.counts == {"payment": 1} and after.yen == {"payment": 700}
    again = tally.for_date(counter.journal, "2026-11-22")
    assert again.closed and again.net_sales == 5_500 and again.cash_difference == -100
    with pytest.raises(tally.TallyError):
        tally.for_date(counter.journal, "2026-01-01")
    with pytest.raises(tally.TallyError):
        tally.z_close(counter.journal, cash_counted=-1)


def test_sheets_in_three_formats(counter, tmp_path):
    a_day(counter)
    sheet, _ = tally.z_close(counter.journal, cash_counted=11_000)
    path = tally.export(sheet, "csv", tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    table = {row[6]: row for row in csv.reader(raw.decode("utf-8-sig").splitlines())}
    assert table["売上(返金・取消後)"][8] == "5500" and table["過不足"][8] == "0"
    from openpyxl import load_workbook

    book = load_workbook(tally.export(sheet, "xlsx", tmp_path / "t.xlsx"))
    values = {row[6]: row[8] for row in book.active.iter_rows(values_only=True)}
    assert values["現金 予定額"] == 11_000
    pdf = tally.export(sheet, "pdf", tmp_path / "t.pdf", "さくら商店")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "日計表" in text and "さくら商店" in text and "¥5,500" in text and "署名" in text
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "tally")],
                   check=True)
    assert list(tmp_path.glob("tally*.png"))  # a page a person can look at
    english = tally.export(sheet, "csv", tmp_path / "en.csv", lang="en")
    assert "Net sales" in english.read_text("utf-8-sig")


def test_cli_close_and_tally(counter, data_dir, tmp_path):
    from terminal.node import TerminalConfig

    a_day(counter)
    counter.journal.close()
    counter.state.close()
    # enrolled with a ledger that is not there: the close is the counter's, made offline
    TerminalConfig("T-TALLY-1", "http://127.0.0.1:9", "M-1").save(data_dir)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "terminal", *args, "--data", str(data_dir)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    closed = run("close", "--counted", "10900")
    assert closed.returncode == 0 and "difference -¥100" in closed.stdout
    assert "business day 2026-11-22 is closed: sales from now on belong to the next" in \
        closed.stdout
    again = run("close")  # the Z pressed twice: refused, saying what the first covered
    assert again.returncode == 1 and "second_close" in again.stderr
    assert "2026-11-22 shift 1" in again.stderr and "seq 2..8" in again.stderr
    assert "Traceback" not in again.stderr
    approved = run("close", "--approved-by", "MGR-1")  # nothing since: an empty shift 2
    assert approved.returncode == 0 and "2026-11-22 shift 2" in approved.stdout
    sheet = run("tally", "--date", "2026-11-22", "--format", "pdf", "--out",
                str(tmp_path / "day.pdf"))
    assert sheet.returncode == 0 and (tmp_path / "day.pdf").stat().st_size > 1000
    missing = run("tally", "--date", "2026-02-30", "--format", "csv", "--out",
                  str(tmp_path / "x.csv"))
    # not a day: the command line is wrong (exit 2), said in one line before any work
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "not a day" in missing.stderr
    assert run("journal", "verify").returncode == 0


def test_a_close_made_before_shifts_is_shift_1_and_a_z():
    """Old journals: a day_close without `shift` or `day_closed` is the day's only close
    (shift 1, a Z), and the next records are the next business day's."""
    from sync import bodies
    from sync import tally as sheet

    def rec(seq, rtype, at, body):
        return {"seq": seq, "type": rtype, "at": f"2026-11-22T{at}+09:00", "body": body,
                "tx_id": f"T{seq}"}

    records = [rec(1, "start", "08:00:00", {}), rec(2, "payment", "09:00:00", {"amount": 500}),
               rec(3, "day_close", "20:00:00", {"business_date": "2026-11-22"}),
               rec(4, "payment", "21:00:00", {"amount": 700})]
    runs = sheet.day_runs(records, "2026-11-22")
    assert [(r.business_date, r.shift, r.close is not None) for r in runs] == \
        [("2026-11-22", 1, True), ("2026-11-23", 1, False)]
    bodies.check("day_close", {"business_date": "2026-11-22"})  # still valid
    for bad in ({"shift": 0}, {"day_closed": "yes"}, {"approved_by": "a b"}):
        with pytest.raises(bodies.BodyError):
            bodies.check("day_close", bad)
