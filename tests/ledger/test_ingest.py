"""Journal ingest on both engines: exactly once, in seq order, forks refused, overdrafts
become debt, and every record becomes balanced postings the invariants check confirms."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from ledger import check, ingest, service
from ledger.ingest import IngestError, Ingestor
from ledger.verifier import SharedVerifier
from sync import canonical, cards, keys, record
from terminal import keystore
from terminal.journal import Journal
from tests.conftest import StepClock


class Region:
    """A small region: a small shop, a large shop, a booth, wallets with value in lots."""

    def __init__(self, db, tmp_path: Path) -> None:
        self.db = db
        self.tmp = tmp_path
        self.ledger_key = keys.generate()
        service.register_ledger_key(db, self.ledger_key)
        self.ingestor = Ingestor(db, self.ledger_key)
        service.create_merchant(db, "M-SMALL", "小さな店", "small", 1)
        service.create_merchant(db, "M-LARGE", "大きな店", "large", 3)
        service.create_merchant(db, "M-BOOTH", "チャージ窓口", "small", 1)
        self.wallet = service.create_wallet(db, "card", "W-1")
        self.other = service.create_wallet(db, "app", "W-2")
        self.charged = service.issue_value(db, "W-1", "charged", 3000, "opening")
        self.exclusive = service.issue_value(db, "W-1", "premium_exclusive", 4500, "town",
                                             "2027-02-28", ["small"])
        self.points = service.issue_value(db, "W-2", "points", 800, "council")
        self._n = 0

    def terminal(self, merchant: str = "M-SMALL") -> Journal:
        self._n += 1
        created = service.create_terminal(self.db, merchant)
        data_dir = self.tmp / f"term{self._n}"
        key = keystore.create_key(data_dir)
        service.enroll(self.db, created["code"], key.public_key().hex)
        clock = StepClock()
        # The records are dated on StepClock's fixed day: the terminal was enrolled then
        # (the ledger flags a record dated before its terminal's enrollment).
        enrolled_on(self.db, created["terminal_id"], clock.now)
        journal = Journal.create(data_dir, created["terminal_id"], key, clock=clock)
        journal.add_ledger_key(self.ledger_key.public_key().hex)
        return journal

    def push(self, journal: Journal, records: list[dict] | None = None) -> dict:
        if records is None:
            records = [json.loads(data) for _, data in journal.pending()]
        return self.ingestor.ingest(journal.terminal_id, records)

    def balance(self, account: str) -> int:
        with self.db.reading() as conn:
            return int(conn.value("SELECT sum(amount) FROM balances WHERE account = ?",
                                  (account,), default=0))

    def lot(self, lot_id: str) -> int:
        with self.db.reading() as conn:
            return conn.value("SELECT remaining FROM lots WHERE lot_id = ?", (lot_id,))

    def flags(self, kind: str) -> list[dict]:
        return [f for f in service.list_flags(self.db) if f["kind"] == kind]

    def assert_consistent(self) -> check.CheckReport:
        report = check.check(self.db)
        assert report.ok, report.problems
        return report


def enrolled_on(db, terminal_id: str, moment: datetime) -> None:
    """Date a terminal's enrollment, as if it had been enrolled at `moment`."""
    db.transaction(lambda conn: conn.execute(
        "UPDATE terminals SET enrolled_us = ? WHERE terminal_id = ?",
        (int(moment.timestamp() * 1_000_000), terminal_id)))


def pay(journal: Journal, wallet: str, lots: list[tuple[str, int]], decision="offline"):
    return journal.append("payment", {
        "amount": sum(a for _, a in lots), "wallet": wallet,
        "lots": [{"lot": lot, "amount": a} for lot, a in lots],
        "decision": decision, "credential": {"kind": "card", "id": wallet},
    })


@pytest.fixture
def region(ledger_db, tmp_path):
    return Region(ledger_db, tmp_path)


def statuses(answer: dict) -> list[str]:
    return [r["status"] for r in answer["results"]]


def test_payment_posts_and_resend_is_exists(region):
    term = region.terminal()
    pay(term, "W-1", [(region.exclusive, 1000), (region.charged, 500)])
    first = region.push(term)
    assert statuses(first) == ["created", "created"] and first["acked_seq"] == 2
    trusted = {region.ledger_key.public_key().key_id: region.ledger_key.public_key()}
    head = record.verify_head(first["head"], trusted)
    term.keep_head(head)  # the terminal accepts the ledger's head: hashes agree
    assert term.pending_count() == 0
    again = region.push(term, [json.loads(r[6]) for r in term.rows()])
    assert statuses(again) == ["exists", "exists"] and again["acked_seq"] == 2
    assert region.lot(region.exclusive) == 3500 and region.lot(region.charged) == 2500
    assert region.balance("merchant:M-SMALL:receivable") == 1500
    assert region.balance("wallet:W-1:premium_exclusive") == 3500
    report = region.assert_consistent()
    assert report.records == 2


def test_shuffled_batch_is_taken_in_seq_order(region):
    term = region.terminal()
    for _ in range(6):
        pay(term, "W-1", [(region.charged, 100)])
    records = [json.loads(data) for _, data in term.pending()]
    random.Random(7).shuffle(records)
    answer = region.push(term, records)
    assert statuses(answer) == ["created"] * 7
    assert [r["seq"] for r in answer["results"]] == list(range(1, 8))
    region.assert_consistent()


def test_gap_waits_for_the_missing_records(region):
    term = region.terminal()
    for _ in range(4):
        pay(term, "W-1", [(region.charged, 100)])
    records = [json.loads(data) for _, data in term.pending()]
    answer = region.push(term, records[:2] + records[3:])  # seq 3 missing
    assert statuses(answer) == ["created", "created", "rejected", "rejected"]
    assert answer["results"][2]["reason"] == "gap" and answer["acked_seq"] == 2
    answer = region.push(term, records)
    assert statuses(answer) == ["exists", "exists", "created", "created", "created"]
    assert region.lot(region.charged) == 3000 - 400
    region.assert_consistent()


def test_fork_is_refused_flagged_and_suspends_the_terminal(region, tmp_path):
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    # Someone restores an old copy of the journal and sells again: seq 2 with other bytes.
    evil = term.conn.execute("SELECT record FROM records WHERE seq = 2").fetchone()[0]
    forged = json.loads(evil)
    forged["body"]["amount"] = forged["body"]["lots"][0]["amount"] = 90
    forged["totals"]["payment"]["yen"] = 90
    forged.pop("sig")
    signed, _ = record.sign(forged, keystore.load_key(term.data_dir))
    answer = region.push(term, [signed])
    assert answer["results"][0]["status"] == "rejected"
    assert answer["results"][0]["reason"] == "fork"
    assert region.flags("fork")[0]["terminal_id"] == term.terminal_id
    with pytest.raises(IngestError) as info:
        pay(term, "W-1", [(region.charged, 100)])
        region.push(term)
    assert info.value.status == 403
    assert region.lot(region.charged) == 2900  # the forged sale moved nothing


def test_bad_signature_and_wrong_key_are_rejected_and_flagged(region):
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 100)])
    records = [json.loads(data) for _, data in term.pending()]
    tampered = json.loads(json.dumps(records))
    tampered[1]["body"]["note"] = "changed in transit"
    answer = region.push(term, tampered)
    assert statuses(answer) == ["created", "rejected"]
    assert answer["results"][1]["reason"] == "bad_signature"
    assert len(region.flags("bad_signature")) == 1
    # the genuine record is still welcome afterwards
    assert statuses(region.push(term, records)) == ["exists", "created"]


def test_start_record_must_name_the_enrolled_key(region, tmp_path):
    created = service.create_terminal(region.db, "M-SMALL")
    enrolled = keys.generate()
    service.enroll(region.db, created["code"], enrolled.public_key().hex)
    impostor = Journal.create(tmp_path / "imp", created["terminal_id"], keys.generate())
    answer = region.push(impostor)
    assert answer["results"][0]["reason"] == "unknown_key"
    assert answer["acked_seq"] == 0 and answer["head"] is None


def test_malformed_records_are_rejected_not_crashing(region):
    term = region.terminal()
    records = [json.loads(data) for _, data in term.pending()]
    answer = region.push(term, [{"seq": 1}, "text", 5, {"v": 1.5}, records[0]])
    assert statuses(answer).count("rejected") == 4
    assert "created" in statuses(answer)


def test_overdraft_becomes_debt_flag_and_deny(region):
    a, b = region.terminal(), region.terminal()
    pay(a, "W-2", [(region.points, 800)])   # each offline terminal thinks 800 is there
    pay(b, "W-2", [(region.points, 800)])
    region.push(a)
    answer = region.push(b)
    assert statuses(answer) == ["created", "created"]  # accepted: the goods were handed over
    assert region.balance("wallet:W-2:debt") == -800
    assert region.balance("wallet:W-2:points") == 0
    (flag,) = region.flags("overdraft")
    assert flag["wallet_id"] == "W-2" and flag["detail"]["shortfall"] == 800
    view = service.wallet_view(region.db, "W-2")
    assert view["status"] == "denied" and view["debt"] == 800 and view["total"] == 0
    snap = service.snapshot(region.db, a.terminal_id, None, overlap_us=0)
    denied = {w["wallet"]: (w["status"], w["debt"]) for w in snap["wallets"]}
    assert denied["W-2"] == ("denied", 800)
    region.assert_consistent()


def test_exclusive_value_at_a_large_shop_is_flagged(region):
    term = region.terminal("M-LARGE")
    pay(term, "W-1", [(region.exclusive, 1500)])
    region.push(term)
    (flag,) = region.flags("class_violation")
    assert flag["detail"]["merchant_class"] == "large"


def test_charge_with_premium_posts_cash_funder_and_new_lots(region):
    booth = region.terminal("M-BOOTH")
    booth.append("charge", {
        "amount": 5000, "wallet": "W-2",
        "lots": [
            {"lot": "L-NEW-COMMON", "pocket": "premium_common", "amount": 3000, "paid": 2000,
             "funder": "town", "expires": "2027-02-28"},
            {"lot": "L-NEW-EXCL", "pocket": "premium_exclusive", "amount": 4500, "paid": 3000,
             "funder": "town", "expires": "2027-02-28", "classes": ["small"]},
        ],
    })
    answer = region.push(booth)
    assert statuses(answer) == ["created", "created"]
    assert region.balance(f"cash:{booth.terminal_id}") == -5000
    assert region.balance("funder:town") == -(4500 + 2500)  # the seeded lot + this premium
    assert region.lot("L-NEW-EXCL") == 4500
    view = service.wallet_view(region.db, "W-2")
    assert view["pockets"] == {"points": 800, "premium_common": 3000, "premium_exclusive": 4500}
    region.assert_consistent()


CARD = "800000000000000" + cards.luhn_digit("800000000000000")


def test_grant_card_issue_and_cap(region):
    booth = region.terminal("M-BOOTH")
    booth.append("card_issue", {"card": CARD, "wallet": "W-NEW", "new_wallet": True,
                                "age_band": "70s", "area": "中央"})
    booth.append("grant", {"amount": 200, "wallet": "W-NEW", "lots": [
        {"lot": "L-BUS-1", "pocket": "points", "amount": 200, "paid": 0, "funder": "council",
         "campaign": "bus-points"}]})
    booth.append("charge", {"amount": 50_000, "wallet": "W-NEW", "lots": [
        {"lot": "L-BIG", "pocket": "charged", "amount": 50_000, "paid": 50_000}]})
    assert statuses(region.push(booth)) == ["created"] * 4
    with region.db.reading() as conn:
        assert conn.one("SELECT wallet_id, status FROM cards WHERE card_id = ?",
                        (CARD,)) == ("W-NEW", "active")
        assert conn.one("SELECT kind, age_band FROM wallets WHERE wallet_id = 'W-NEW'") == \
            ("card", "70s")
    assert region.flags("over_cap")[0]["detail"]["balance"] == 50_200
    region.assert_consistent()


def test_refunds_give_back_to_lots_and_over_refund_is_flagged(region):
    term = region.terminal()
    sale = pay(term, "W-1", [(region.exclusive, 1200), (region.charged, 300)])
    refund = {"amount": 500, "wallet": "W-1", "of": sale.tx_id,
              "lots": [{"lot": region.charged, "amount": 300},
                       {"lot": region.exclusive, "amount": 200}]}
    term.append("refund", refund)
    region.push(term)
    assert region.lot(region.charged) == 3000 and region.lot(region.exclusive) == 3500
    assert region.balance("merchant:M-SMALL:receivable") == 1000
    assert not region.flags("over_refund")
    term.append("refund", dict(refund, amount=1100, lots=[{"lot": region.exclusive,
                                                           "amount": 1100}]))
    region.push(term)
    assert region.flags("over_refund")[0]["detail"]["given_back"] == 1600
    region.assert_consistent()


def test_bad_body_is_kept_flagged_and_not_posted(region):
    term = region.terminal()
    term.append("payment", {"amount": 100})  # no wallet, no lots: a buggy terminal
    answer = region.push(term)
    assert statuses(answer) == ["created", "created"]
    assert region.flags("bad_body")
    region.assert_consistent()


def test_key_rotation_continues_the_chain(region):
    term = region.terminal()
    new_key = keys.generate()
    term.append("key_rotate", {"public_key": new_key.public_key().hex})
    region.push(term)
    rotated = Journal.open(term.data_dir, new_key, clock=StepClock())
    pay(rotated, "W-1", [(region.charged, 100)])
    answer = region.push(rotated)
    assert statuses(answer) == ["exists", "exists", "created"]
    with region.db.reading() as conn:
        assert conn.value("SELECT public_key FROM terminals WHERE terminal_id = ?",
                          (term.terminal_id,)) == new_key.public_key().hex


def cash_moves(journal: Journal, count: int) -> None:
    for n in range(count):
        journal.append("cash_move", {"amount": 100 + n, "direction": "in" if n % 2 else "out"})


@pytest.fixture
def shared_ingestor(region):
    """An ingestor whose batches share their signature checks with a helper process from
    the first 50 records on (the server's default is MIN_CHECKS_TO_SHARE)."""
    verifier = SharedVerifier(min_checks=50)
    yield Ingestor(region.db, region.ledger_key, verifier), verifier
    verifier.close()


def test_a_bad_signature_in_the_helpers_share_is_named(region, shared_ingestor):
    ingestor, verifier = shared_ingestor
    term = region.terminal()
    cash_moves(term, 119)
    records = [json.loads(data) for _, data in term.pending()]
    tampered = json.loads(json.dumps(records))
    tampered[20]["body"]["note"] = "changed in transit"  # seq 21: the helper's part
    answer = ingestor.ingest(term.terminal_id, tampered)
    assert statuses(answer) == ["created"] * 20 + ["rejected"] + ["rejected"] * 99
    assert answer["results"][20]["reason"] == "bad_signature"
    assert {r["reason"] for r in answer["results"][21:]} == {"gap"}
    assert answer["acked_seq"] == 20 and verifier.shared_batches == 1
    again = ingestor.ingest(term.terminal_id, records)
    assert statuses(again) == ["exists"] * 20 + ["created"] * 100
    assert verifier.shared_batches == 2
    region.assert_consistent()


def test_a_key_rotation_inside_a_shared_batch(region, shared_ingestor):
    """Records after the rotation are signed by the new key; the helper checked them under
    the enrolled one and said no; the walk checks them again under the key it expects."""
    ingestor, verifier = shared_ingestor
    term = region.terminal()
    cash_moves(term, 40)
    new_key = keys.generate()
    term.append("key_rotate", {"public_key": new_key.public_key().hex})
    rotated = Journal.open(term.data_dir, new_key, clock=StepClock())
    cash_moves(rotated, 60)
    answer = ingestor.ingest(term.terminal_id,
                             [json.loads(data) for _, data in rotated.pending()])
    assert statuses(answer) == ["created"] * 102 and verifier.shared_batches == 1
    region.assert_consistent()


def test_snapshot_deltas_follow_the_cursor(region):
    term = region.terminal()
    full = service.snapshot(region.db, term.terminal_id, None, overlap_us=0)
    assert {w["wallet"] for w in full["wallets"]} == {"W-1", "W-2"}
    assert full["merchant"]["merchant_id"] == "M-SMALL"
    assert full["ledger_keys"][0]["key_id"] == region.ledger_key.public_key().key_id
    quiet = service.snapshot(region.db, term.terminal_id, full["cursor"], overlap_us=0)
    assert quiet["wallets"] == [] and quiet["cards"] == []
    pay(term, "W-1", [(region.charged, 250)])
    region.push(term)
    card = service.create_card(region.db, "W-2")
    delta = service.snapshot(region.db, term.terminal_id, quiet["cursor"], overlap_us=0)
    (changed,) = delta["wallets"]
    assert changed["wallet"] == "W-1"
    lots = {lot["lot"]: lot["remaining"] for lot in changed["lots"]}
    assert lots[region.charged] == 2750
    assert [c["card"] for c in delta["cards"]] == [card]
    service.block_card(region.db, card)
    blocked = service.snapshot(region.db, term.terminal_id, delta["cursor"], overlap_us=0)
    assert [(c["card"], c["status"]) for c in blocked["cards"]] == [(card, "blocked")]


def test_snapshot_pages(region):
    for n in range(7):
        service.create_wallet(region.db, "app", f"W-P{n}")
    term = region.terminal()
    seen, cursor, pages = set(), None, 0
    while True:
        page = service.snapshot(region.db, term.terminal_id, cursor, limit=3, overlap_us=0)
        seen |= {w["wallet"] for w in page["wallets"]}
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert len(seen) == 9 and pages >= 3


def test_bad_cursor_is_a_clear_error(region):
    term = region.terminal()
    for bad in ("!!!", "eyJ4IjoxfQ", canonical.dumps({"wallets": 1}).decode()):
        with pytest.raises(service.LedgerError) as info:
            service.snapshot(region.db, term.terminal_id, bad)
        assert info.value.code == "bad_cursor"


def test_check_finds_tampering(region, db_url):
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    region.assert_consistent()
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url[len("sqlite:///"):])
        conn.execute("UPDATE balances SET amount = amount + 1 WHERE account LIKE 'merchant:%'")
        conn.execute("UPDATE records SET record = replace(record, '\"amount\":100', "
                     "'\"amount\":10') WHERE seq = 2")
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE balances SET amount = amount + 1 WHERE account LIKE 'merchant:%'")
            conn.execute("UPDATE records SET record = replace(record, '\"amount\":100', "
                         "'\"amount\":10') WHERE seq = 2")
    report = check.check(region.db)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "merchant:M-SMALL:receivable" in text
    assert "seq 2" in text


def test_move_balance_and_block_card_with_replacement(region):
    card = service.create_card(region.db, "W-1")
    out = service.block_card(region.db, card, new_card="")
    assert out["status"] == "blocked" and out["new_card"] != card
    moved = service.move_balance(region.db, "W-1", "W-2")
    assert moved["moved"] == 7500
    assert service.wallet_view(region.db, "W-1")["total"] == 0
    assert service.wallet_view(region.db, "W-2")["total"] == 8300
    region.assert_consistent()


def test_revoked_or_unknown_terminals_cannot_ingest(region):
    term = region.terminal()
    service.set_terminal_status(region.db, term.terminal_id, "revoked", "test")
    with pytest.raises(IngestError) as info:
        region.push(term)
    assert info.value.status == 403
    with pytest.raises(IngestError) as info:
        region.ingestor.ingest("T-NOBODY", [])
    assert info.value.status == 401


@pytest.mark.parametrize("field, value", [("tx_id", "01M7Q5CQG0041061050R3GG28B\n"),
                                          ("terminal_id", None), ("prev", None)])
def test_a_trailing_newline_in_an_id_is_refused_not_a_crash(region, field, value):
    """'$' in a pattern matches before a final newline; ids are checked whole."""
    term = region.terminal()
    (rec,) = [json.loads(data) for _, data in term.pending()]
    rec[field] = value if value is not None else rec[field] + "\n"
    answer = region.push(term, [rec])
    assert answer["results"][0]["status"] == "rejected"
    assert answer["results"][0]["reason"] == "malformed"


def test_lines_are_taken_as_sent(region):
    """A batch of NDJSON lines (what the terminals send): each line's bytes are the record's
    canonical bytes. A line spelled otherwise is taken in its canonical form; a line that
    is no JSON is refused by itself."""
    term = region.terminal()
    pay(term, "W-1", [(region.charged, 300)])
    pay(term, "W-1", [(region.charged, 200)])
    lines = [data for _, data in term.pending()]
    spaced = json.dumps(json.loads(lines[1]), indent=1).encode()  # not canonical
    answer = region.ingestor.ingest(term.terminal_id, [lines[0], spaced, b"{not json", b"",
                                                       lines[2]])
    assert statuses(answer) == ["created"] * 3 + ["rejected"] * 2
    assert [r["reason"] for r in answer["results"][3:]] == ["malformed", "malformed"]
    assert answer["results"][3]["seq"] is None
    assert answer["head"]["hash"] == record.record_hash(lines[2])
    with region.db.reading() as conn:
        stored = conn.value("SELECT record FROM records WHERE terminal_id = ? AND seq = 2",
                            (term.terminal_id,))
    assert stored.encode() == lines[1]  # the canonical form, not the bytes as spelled
    assert region.lot(region.charged) == 2500
    region.assert_consistent()


def test_a_batch_written_in_runs_posts_as_one(region, monkeypatch):
    """Inside its transaction a batch is posted and written in runs: a lot spent in one run
    and again in the next, a payment refunded a run later, a lot made by a charge in one
    run and spent in the next two all end as one run would leave them."""
    monkeypatch.setattr(ingest, "POST_CHUNK_RECORDS", 2)
    term = region.terminal("M-BOOTH")
    sale = pay(term, "W-1", [(region.charged, 100)])
    pay(term, "W-1", [(region.charged, 150)])
    term.append("refund", {"amount": 100, "wallet": "W-1", "of": sale.tx_id,
                           "lots": [{"lot": region.charged, "amount": 100}]})
    pay(term, "W-1", [(region.exclusive, 700)])
    pay(term, "W-1", [(region.exclusive, 800)])
    term.append("charge", {"amount": 2000, "wallet": "W-2", "lots": [
        {"lot": "L-RUNS", "pocket": "premium_common", "amount": 2400, "paid": 2000,
         "funder": "town", "expires": "2027-02-28"}]})
    pay(term, "W-2", [("L-RUNS", 400)])  # the next run spends the lot the last one made
    pay(term, "W-2", [("L-RUNS", 500)])
    answer = region.push(term)
    assert statuses(answer) == ["created"] * 9
    assert region.lot("L-RUNS") == 2400 - 900
    assert region.balance("wallet:W-2:premium_common") == 2400 - 900
    assert region.lot(region.charged) == 3000 - 150
    assert region.lot(region.exclusive) == 4500 - 1500
    assert region.balance("merchant:M-BOOTH:receivable") == 150 + 1500 + 900
    assert region.balance("wallet:W-1:charged") == 3000 - 150
    with region.db.reading() as conn:
        assert conn.value("SELECT count(*) FROM givebacks") == 1
    region.assert_consistent()


def test_a_bad_body_in_the_helpers_share_is_flagged(region, shared_ingestor):
    ingestor, verifier = shared_ingestor
    term = region.terminal()
    cash_moves(term, 20)
    term.append("payment", {"amount": 100})  # seq 22: no wallet, no lots
    cash_moves(term, 60)
    records = [json.loads(data) for _, data in term.pending()]
    answer = ingestor.ingest(term.terminal_id, records)
    assert statuses(answer) == ["created"] * 82 and verifier.shared_batches == 1
    assert [f["seq"] for f in region.flags("bad_body")] == [22]
    region.assert_consistent()


def test_a_record_over_the_size_limit_is_refused_before_the_helper(region, shared_ingestor):
    """A line far too large is refused by itself; it never reaches the helper, which would
    take it for a broken request and end."""
    ingestor, verifier = shared_ingestor
    term = region.terminal()
    cash_moves(term, 80)
    lines = [data for _, data in term.pending()]
    huge = b'{"seq":82,"note":"' + b"x" * (record.MAX_RECORD_BYTES + 1) + b'"}'
    answer = ingestor.ingest(term.terminal_id, lines + [huge])
    assert statuses(answer) == ["created"] * 81 + ["rejected"]
    assert answer["results"][81]["seq"] == 82 and "over" in answer["results"][81]["message"]
    assert verifier.shared_batches == 1 and verifier._helper is not None
    assert verifier._helper.alive()
