"""Staff at the ledger, on both engines, through the real ledger process: `admin
create-staff` (PIN from standard input, kept as a salted hash), the merchant's staff in its
terminals' snapshots (and no other merchant's), a member made at a counter stored from its
`staff` record, and manual grants forced past the counter's caps flagged on ingest, as is a
record whose approver is no manager."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import service
from sync import bodies, pins
from tests.ledger.helpers import Terminal

ROOT = Path(__file__).resolve().parents[2]


def admin(db_url: str, home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "admin", args[0], "--db", db_url, "--home",
         str(home), *args[1:]], cwd=ROOT, capture_output=True, text=True, input=stdin,
        timeout=120)


def grant(journal, points: int, **who) -> None:
    lot = bodies.new_lot(f"L-G{journal.last_seq + 1}", "points", points, 0, "town")
    journal.append("grant", {"amount": points, "wallet": "W-1", "lots": [lot], **who})


def test_staff_made_at_the_ledger_reach_the_shops_terminals(ledger_server, db_url, tmp_path):
    db = ledger_server.db()
    service.create_merchant(db, "M-SHOP", "八百屋", "small", 1)
    service.create_merchant(db, "M-OTHER", "魚屋", "small", 1)
    home = tmp_path / "cli-home"
    made = admin(db_url, home, "create-staff", "--merchant", "M-SHOP", "--name", "佐藤",
                 "--role", "manager", stdin="4711\n")
    assert made.returncode == 0, made.stderr
    manager = json.loads(made.stdout)
    assert manager["role"] == "manager" and "4711" not in made.stdout
    assert admin(db_url, home, "create-staff", "--merchant", "M-OTHER", "--name", "魚",
                 "--role", "cashier", stdin="1111\n").returncode == 0
    bad = admin(db_url, home, "create-staff", "--merchant", "M-SHOP", "--name", "x",
                "--role", "cashier", stdin="12\n")
    assert bad.returncode == 1 and "a PIN is 4 to 6 digits" in bad.stderr
    assert admin(db_url, home, "create-staff", "--merchant", "M-SHOP", "--name", "x",
                 "--role", "owner", stdin="1234\n").returncode == 2  # argparse's choices
    code = service.create_terminal(db, "M-SHOP")["code"]
    term = Terminal(ledger_server.url, tmp_path / "t1").enroll(code)
    try:
        staff = term.snapshot()["staff"]
        assert [(m["staff"], m["name"], m["role"]) for m in staff] == \
            [(manager["staff"], "佐藤", "manager")]
        assert pins.matches("4711", staff[0]["pin"]) and not pins.matches("4712",
                                                                          staff[0]["pin"])
    finally:
        term.close()


def test_grants_forced_past_the_caps_are_flagged(ledger_server, tmp_path):
    """The shop's settings: 5,000 pt per grant, 8,000 pt a day per terminal. Records signed
    by the terminal's key but never through its counter: a 6,000 pt grant (over the grant
    cap, and alone under the day's), then 3,000 pt (6,000 + 3,000 = 9,000 > 8,000: over the
    day's) approved by a cashier. A campaign's grant is not a manual one; an old record
    naming nobody posts with no staff flag; a cashier made at the counter by the manager is
    stored and sent in snapshots."""
    db = ledger_server.db()
    service.create_merchant(db, "M-SHOP", "八百屋", "small", 1,
                            {"grant_cap": 5_000, "grant_day_cap": 8_000})
    manager = service.create_staff(db, "M-SHOP", "佐藤", "manager", "4711")["staff"]
    service.create_wallet(db, "card", "W-1")
    term = Terminal(ledger_server.url, tmp_path / "t1").enroll(
        service.create_terminal(db, "M-SHOP")["code"])
    try:
        journal = term.journal
        member = {"staff": "S-NEW", "name": "青木", "role": "cashier",
                  "pin": pins.make("2222", 0)}
        journal.append("staff", {"member": member, "staff": manager})
        grant(journal, 6_000, staff=manager)
        grant(journal, 3_000, staff="S-NEW", approver="S-NEW")
        grant(journal, 100)  # from before staff: names nobody
        term.push()
        flags = {(f["kind"], f["seq"]) for f in service.list_flags(db)}
        assert flags == {("grant_over_cap", 3), ("grant_day_cap", 4),
                         ("approver_not_manager", 4), ("grant_day_cap", 5)}
        assert term.wallet("W-1")["lots"]  # posted all the same: the grants happened
        staff = {m["staff"]: m["role"] for m in term.snapshot()["staff"]}
        assert staff == {manager: "manager", "S-NEW": "cashier"}
        # the ledger's tally by staff: 佐藤 granted 6,000 pt, 青木 3,000 pt (approved by
        # someone), and 100 pt were granted by nobody named
        day = journal.last_at.date().isoformat()
        report = subprocess.run(
            [sys.executable, "-m", "ledger", "report", "tally", "--db", ledger_server.db_url,
             "--home", str(tmp_path / "cli"), "--date", day, "--merchant", "M-SHOP",
             "--format", "csv", "--out", str(tmp_path / "tally.csv"), "--by-staff",
             "--lang", "en"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert report.returncode == 0, report.stderr
        lines = report.stdout.splitlines()
        assert "佐藤  Points granted  1  ¥6,000  approved 0" in lines
        assert "青木  Points granted  1  ¥3,000  approved 1" in lines
        assert "No staff named  Points granted  1  ¥100  approved 0" in lines
    finally:
        term.close()


def test_training_records_are_kept_apart(ledger_db, tmp_path):
    """A training sale of ¥700 (as a counter in training mode writes it) is stored, posts
    nothing (W-1 keeps its ¥3,000 charged lot) and is in no money line of the tally."""
    from ledger import reports
    from tests.ledger.test_ingest import Region

    region = Region(ledger_db, tmp_path)
    shop = region.terminal()
    shop.append("training", {"kind": "payment", "amount": 700, "wallet": "W-1",
                             "decision": "offline", "credential": {"kind": "card", "id": "x"},
                             "lots": [{"lot": region.charged, "amount": 700}]})
    region.push(shop)
    assert region.lot(region.charged) == 3_000
    with ledger_db.reading() as conn:
        assert conn.value("SELECT count(*) FROM records WHERE type = 'training'") == 1
        assert conn.value("SELECT count(*) FROM postings") == conn.value(
            "SELECT count(*) FROM postings WHERE entry NOT LIKE ?", (f"{shop.terminal_id}/%",))
    day = shop.last_at.date().isoformat()
    sheet = next(t for t in reports.tally(ledger_db, day) if t.terminal_id == shop.terminal_id)
    assert sheet.counts == {"training": 1} and sheet.yen == {} and sheet.net_sales == 0
    assert not service.list_flags(ledger_db)
    region.assert_consistent()


def test_a_merchants_limits_are_set_at_the_ledger_and_reach_its_terminals(
        ledger_server, db_url, tmp_path):
    """`admin set-merchant-setting` changes one limit (here the grant cap to 2,000 pt);
    the terminal's next snapshot has it, and the ledger's re-check of a 2,500 pt grant uses
    it; an unknown name or a negative value is refused with the reason."""
    db = ledger_server.db()
    service.create_merchant(db, "M-SHOP", "八百屋", "small", 1)
    service.create_wallet(db, "card", "W-1")
    home = tmp_path / "cli-home"
    done = admin(db_url, home, "set-merchant-setting", "--merchant", "M-SHOP", "--name",
                 "grant_cap", "--value", "2000")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["grant_cap"] == 2_000
    bad = admin(db_url, home, "set-merchant-setting", "--merchant", "M-SHOP", "--name",
                "grant_kap", "--value", "1")
    assert bad.returncode == 1 and "no merchant setting 'grant_kap'" in bad.stderr
    negative = admin(db_url, home, "set-merchant-setting", "--merchant", "M-SHOP", "--name",
                     "grant_cap", "--value", "-1")
    assert negative.returncode == 1 and "whole number >= 0" in negative.stderr
    term = Terminal(ledger_server.url, tmp_path / "t1").enroll(
        service.create_terminal(db, "M-SHOP")["code"])
    try:
        assert term.snapshot()["merchant"]["config"]["grant_cap"] == 2_000
        grant(term.journal, 2_500)
        grant(term.journal, 2_000)
        term.push()
        assert [(f["kind"], f["detail"]["cap"]) for f in service.list_flags(db)] == \
            [("grant_over_cap", 2_000)]
    finally:
        term.close()


def test_an_action_that_needs_a_manager_done_without_one_is_flagged(ledger_db, tmp_path):
    """Records signed by the terminal's key but never through its counter's staff rules
    (terminal.staff): what a cashier or a booth member may only do with a manager's PIN,
    pushed naming no approver. Defaults: a refund above ¥3,000 and a manual grant above
    1,000 pt or outside a campaign need a manager, as do every void, float out and Z.
    Flagged (posted all the same: they happened): the cashier's void of a ¥2,000 sale,
    refund of ¥3,001 of a ¥3,500 sale and ¥1 more of it in a part of its own (¥300 +
    ¥3,001 + ¥1 given back of that sale: a refund in parts is judged by its sum), cash out
    and Z; the booth member's 500 pt grants with no campaign and naming one that runs
    nowhere (the counter asks a manager for a grant outside a running campaign). Not
    flagged: the booth member's 500 pt grant in the running 冬のクーポン campaign, the cashier's
    refund of ¥300 (within the limit), the manager's cash out (a manager needs nobody),
    the sales naming nobody (old style)."""
    from tests.ledger.test_campaigns import COUPON
    from tests.ledger.test_ingest import Region, pay

    region = Region(ledger_db, tmp_path)
    service.create_campaign(ledger_db, COUPON)  # runs at every shop on the records' day
    manager = service.create_staff(ledger_db, "M-SMALL", "佐藤", "manager", "4711")["staff"]
    cashier = service.create_staff(ledger_db, "M-SMALL", "青木", "cashier", "1234")["staff"]
    booth = service.create_staff(ledger_db, "M-SMALL", "鈴木", "booth", "5678")["staff"]
    shop = region.terminal()
    sale = pay(shop, "W-1", [(region.charged, 2_000)])
    void = shop.append("void", {"amount": 2_000, "wallet": "W-1", "of": sale.tx_id,
                                "lots": [{"lot": region.charged, "amount": 2_000}],
                                "staff": cashier})
    other = pay(shop, "W-1", [(region.exclusive, 3_500)])
    shop.append("refund", {"amount": 300, "wallet": "W-1", "of": other.tx_id,
                           "lots": [{"lot": region.exclusive, "amount": 300}],
                           "staff": cashier})
    refund = shop.append("refund", {"amount": 3_001, "wallet": "W-1", "of": other.tx_id,
                                    "lots": [{"lot": region.exclusive, "amount": 3_001}],
                                    "staff": cashier})
    out = shop.append("cash_move", {"amount": 1_000, "direction": "out", "reason": "",
                                    "staff": cashier})
    part = shop.append("refund", {"amount": 1, "wallet": "W-1", "of": other.tx_id,
                                  "lots": [{"lot": region.exclusive, "amount": 1}],
                                  "staff": cashier})
    shop.append("cash_move", {"amount": 1_000, "direction": "out", "reason": "",
                              "staff": manager})
    lot = bodies.new_lot("L-G8", "points", 500, 0, "town")
    grant_ = shop.append("grant", {"amount": 500, "wallet": "W-2", "lots": [lot],
                                   "staff": booth})
    lot = bodies.new_lot("L-G9", "points", 500, 0, "town", campaign="no-such-campaign")
    named = shop.append("grant", {"amount": 500, "wallet": "W-2", "lots": [lot],
                                  "staff": booth})
    lot = bodies.new_lot("L-G10", "points", 500, 0, "city", campaign=COUPON["id"])
    shop.append("grant", {"amount": 500, "wallet": "W-2", "lots": [lot], "staff": booth})
    from terminal import tally

    _, close = tally.z_close(shop, None, names={"staff": cashier})
    region.push(shop)
    flagged = sorted((f["seq"], f["detail"]["why"]) for f in region.flags("approval_missing"))
    assert flagged == [(void.seq, "void"), (refund.seq, "refund"), (out.seq, "float_out"),
                       (part.seq, "refund"), (grant_.seq, "grant_outside"),
                       (named.seq, "grant_outside"), (close["seq"], "z_close")]
    assert region.lot(region.charged) == 3_000  # the void posted: the ¥2,000 came back


def test_a_staff_record_reusing_another_merchants_member_id_is_flagged(ledger_db, tmp_path):
    """A `staff` record from the small shop's terminal, made by its manager, naming as the
    new member the id of the large shop's manager (staff ids are unique across the
    ledger): not stored (the large shop's manager stays theirs, a manager), flagged, and
    the records around it post as usual (the ¥500 payment after it)."""
    from tests.ledger.test_ingest import Region, pay

    region = Region(ledger_db, tmp_path)
    manager = service.create_staff(ledger_db, "M-SMALL", "佐藤", "manager", "4711")["staff"]
    theirs = service.create_staff(ledger_db, "M-LARGE", "田中", "manager", "9999")["staff"]
    shop = region.terminal()
    forged = shop.append("staff", {"member": {"staff": theirs, "name": "偽", "role": "cashier",
                                              "pin": pins.make("1111", 0)},
                                   "staff": manager})
    pay(shop, "W-1", [(region.charged, 500)])
    region.push(shop)
    assert region.lot(region.charged) == 2_500
    with ledger_db.reading() as conn:
        assert conn.all("SELECT merchant_id, role FROM staff WHERE staff_id = ?",
                        (theirs,)) == [("M-LARGE", "manager")]
    assert [f["seq"] for f in region.flags("staff_id_taken")] == [forged.seq]


def test_a_second_close_approved_by_no_manager_is_flagged(ledger_db, tmp_path):
    """A Z, then a second close the same day (a shift of the same business day), which the
    counter writes only with a manager's approval (`approved_by`). Pushed naming the
    cashier as the one who approved it: flagged approver_not_manager, as an `approver`
    who is no manager is. The first Z, by the manager, is not."""
    from terminal import tally
    from tests.ledger.test_ingest import Region, pay

    region = Region(ledger_db, tmp_path)
    manager = service.create_staff(ledger_db, "M-SMALL", "佐藤", "manager", "4711")["staff"]
    cashier = service.create_staff(ledger_db, "M-SMALL", "青木", "cashier", "1234")["staff"]
    shop = region.terminal()
    pay(shop, "W-1", [(region.charged, 300)])
    tally.z_close(shop, names={"staff": manager})
    pay(shop, "W-1", [(region.charged, 200)])
    _, second = tally.z_close(shop, approved_by=cashier, names={"staff": manager})
    region.push(shop)
    assert [(f["seq"], f["detail"]["approver"]) for f in
            region.flags("approver_not_manager")] == [(second["seq"], cashier)]


def test_a_pin_another_member_of_the_merchant_has_is_refused(ledger_db):
    """PINs are unique within a merchant (the admin screen takes any manager's PIN, so a
    cashier with the manager's would open it as the manager); another merchant's members
    may have it."""
    service.create_merchant(ledger_db, "M-SHOP", "さくら商店", "small", 1)
    service.create_merchant(ledger_db, "M-OTHER", "魚屋", "small", 1)
    service.create_staff(ledger_db, "M-SHOP", "佐藤", "manager", "4711")
    with pytest.raises(service.LedgerError) as info:
        service.create_staff(ledger_db, "M-SHOP", "青木", "cashier", "4711")
    assert info.value.code == "pin_taken"
    service.create_staff(ledger_db, "M-OTHER", "魚", "manager", "4711")
    with ledger_db.reading() as conn:
        assert len(service.staff_of(conn, "M-SHOP")) == 1
