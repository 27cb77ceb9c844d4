"""The ledger flags record times that cannot be right (ledger.ingest, on both engines): a
time earlier than the record before it in the terminal's chain (`clock_backwards`), and a
time after the ledger received the record or before the terminal was enrolled
(`clock_outside_window`). The records are posted all the same; the flags are stored and
listed by `report flags` with what to do.

A terminal of this version never writes such times (terminal.journal.not_before); these
records come from a journal that does not keep the rule (old or altered software), made here
by switching the rule off.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from ledger import kpi, service
from ledger.ingest import CLOCK_WINDOW_TOLERANCE_S
from terminal import journal as journal_module
from terminal import keystore
from terminal.journal import Journal
from tests.ledger.test_ingest import Region, enrolled_on, pay

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def region(ledger_db, tmp_path, monkeypatch):
    # the journal as older software wrote it: times as the wall clock read, in any order
    monkeypatch.setattr(journal_module, "not_before", lambda moment, _floor: moment)
    return Region(ledger_db, tmp_path)


@pytest.fixture
def till(region, tmp_path):
    """A terminal enrolled a day ago whose clock reads what the test sets (an hour after
    the enrollment, to start)."""
    created = service.create_terminal(region.db, "M-SMALL")
    key = keystore.create_key(tmp_path / "till")
    service.enroll(region.db, created["code"], key.public_key().hex)
    enrolled = datetime.now().astimezone() - DAY
    enrolled_on(region.db, created["terminal_id"], enrolled)
    clock = SetClock(enrolled + HOUR)
    term = Journal.create(tmp_path / "till", created["terminal_id"], key, clock=clock)
    yield term, clock, enrolled
    term.close()


def clock_flags(region: Region) -> list[tuple[str, int, dict]]:
    return sorted(((f["kind"], f["seq"], f["detail"]) for f in
                   region.flags("clock_backwards") + region.flags("clock_outside_window")),
                  key=lambda flag: (flag[0], flag[1]))


def statuses(answer: dict) -> list[str]:
    return [r["status"] for r in answer["results"]]


def test_honest_times_raise_no_flag(region, till):
    term, clock, enrolled = till
    for _ in range(3):
        clock.now += timedelta(minutes=5)
        pay(term, "W-1", [(region.charged, 100)])
    assert set(statuses(region.push(term))) == {"created"}
    assert clock_flags(region) == []


@pytest.mark.parametrize("back", [3 * HOUR, 2 * DAY])
def test_a_time_turned_back_within_a_batch_is_flagged_and_posted(region, till, back):
    term, clock, enrolled = till
    pay(term, "W-1", [(region.charged, 100)])  # seq 2 (after the start record)
    clock.now -= back
    pay(term, "W-1", [(region.charged, 200)])  # seq 3: earlier than seq 2
    clock.now += back + HOUR / 2
    pay(term, "W-1", [(region.charged, 300)])  # seq 4: later again
    answer = region.push(term)
    assert statuses(answer) == ["created"] * 4  # every record is taken and posted...
    assert region.lot(region.charged) == 3000 - 600
    flags = [f for f in clock_flags(region) if f[0] == "clock_backwards"]
    assert [(kind, seq) for kind, seq, _ in flags] == [("clock_backwards", 3)]  # ...and flagged
    assert flags[0][2]["behind_s"] == int(back.total_seconds())
    region.assert_consistent()


def test_a_time_turned_back_across_batches_is_flagged(region, till):
    term, clock, enrolled = till
    clock.now += 10 * HOUR
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    pushed = term.last_seq
    clock.now -= 5 * HOUR
    pay(term, "W-1", [(region.charged, 100)])
    records = [json.loads(data) for seq, data in term.pending() if seq > pushed]
    assert statuses(region.push(term, records)) == ["created"]
    assert [(k, s) for k, s, _ in clock_flags(region)] == [("clock_backwards", pushed + 1)]


@pytest.mark.parametrize("ahead", [2 * HOUR, 3 * DAY])
def test_a_time_after_the_ledger_received_it_is_flagged(region, till, ahead):
    term, clock, enrolled = till
    clock.now = datetime.now().astimezone() + ahead
    pay(term, "W-1", [(region.charged, 100)])
    assert statuses(region.push(term))[-1] == "created"
    (kind, seq, detail), = clock_flags(region)
    assert (kind, seq) == ("clock_outside_window", term.last_seq)
    assert detail["ahead_s"] == pytest.approx(ahead.total_seconds(), abs=60)


def test_a_time_within_the_tolerance_ahead_is_not_flagged(region, till):
    term, clock, enrolled = till
    clock.now = datetime.now().astimezone() + timedelta(seconds=CLOCK_WINDOW_TOLERANCE_S / 2)
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    assert clock_flags(region) == []


@pytest.mark.parametrize("before", [3 * HOUR, 4 * DAY])
def test_a_time_before_the_enrollment_is_flagged(region, till, before):
    term, clock, enrolled = till
    clock.now = enrolled - before
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    found = [(k, s, d) for k, s, d in clock_flags(region) if k == "clock_outside_window"]
    assert [(k, s) for k, s, _ in found] == [("clock_outside_window", term.last_seq)]
    assert found[0][2]["before_enrollment_s"] == pytest.approx(before.total_seconds(), abs=60)


def test_report_flags_lists_clock_flags_with_what_to_do(region, till):
    term, clock, enrolled = till
    pay(term, "W-1", [(region.charged, 100)])
    clock.now -= 2 * DAY  # before the enrollment, and backwards
    pay(term, "W-1", [(region.charged, 100)])
    region.push(term)
    day = datetime.now().date().isoformat()
    listed = {f["kind"]: f for f in kpi.flags(region.db, day, day)}
    for kind in ("clock_backwards", "clock_outside_window"):
        assert listed[kind]["terminal_id"] == term.terminal_id
        assert listed[kind]["action"] == kpi.ACTIONS[kind] and "clock" in kpi.ACTIONS[kind]
