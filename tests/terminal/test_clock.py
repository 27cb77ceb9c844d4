"""The clock cannot be turned back (DESIGN §10, terminal.clock).

The wall clock is moved back and forward by hours and days through injected clock sources
(the machine's clock is never touched): snapshot age, app-code freshness, record times and
the status line follow the ledger's signed time plus the elapsed clock, across a restart of
the terminal on its real data directory, and after a reboot of the machine.
"""

from __future__ import annotations

import io
import time
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sync import cards, keys, tokens
from terminal import __main__ as cli
from terminal import keystore
from terminal.clock import (
    ANCHOR_KEY,
    CLOCK_BEHIND_TOLERANCE_S,
    HEARTBEAT_S,
    BadLedgerTime,
    ClockSources,
    TrustedClock,
)
from terminal.counter import Counter, Presented
from terminal.journal import Journal
from terminal.node import Node, TerminalConfig, _Sink
from terminal.policy import Refused
from terminal.state import StateStore

HOUR = 3_600.0
DAY = 24 * HOUR
WALLET = "W-APP-0001"
CARD = cards.new_card_number()  # the wallet's plastic card: a wallet id pays nothing
# The ledger's time at the last pull: the real time, so that a check that went by the
# machine's own wall clock (as before the trusted clock) would see a fresh snapshot and a
# live app code, and these tests would fail.
PULLED_S = float(int(time.time()))
MOVES = [-3 * HOUR, -2 * DAY, 5 * HOUR, 3 * DAY]  # the wall clock moved by this


class Clocks:
    """The machine's clocks as the test sets them: a wall clock anyone can move, and an
    elapsed clock (since boot) that only runs."""

    def __init__(self, wall: float = PULLED_S) -> None:
        self.wall = wall
        self.elapsed = 5_000.0
        self.boot = "boot-1"

    def run(self, seconds: float) -> None:
        """Real time passes: both clocks move."""
        self.wall += seconds
        self.elapsed += seconds

    def move_wall(self, seconds: float) -> None:
        """Someone sets the wall clock back (negative) or forward."""
        self.wall += seconds

    def reboot(self, down_s: float) -> None:
        self.wall += down_s
        self.elapsed = 30.0
        self.boot = "boot-2"

    def sources(self) -> ClockSources:
        return ClockSources(wall=lambda: self.wall, elapsed=lambda: self.elapsed,
                            boot_id=lambda: self.boot)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def snapshot_page(server_s: float) -> dict:
    return {"cursor": "c", "server_time_ms": int(server_s * 1000), "campaigns": [],
            "cards": [{"card": CARD, "wallet": WALLET, "status": "active", "version": 1}],
            "wallets": [{
                "wallet": WALLET, "status": "active", "version": 1, "debt": 0, "usage": {},
                "lots": [{"lot": "L-cash", "pocket": "charged", "remaining": 40_000,
                          "expires": None, "classes": ["small", "large"],
                          "campaign": None}]}]}


def make_terminal(data: Path, ledger: keys.PrivateKey, clocks: Clocks) -> None:
    """A terminal data directory as enrollment leaves it, then one snapshot pulled (through
    the node's snapshot sink, which anchors the clock) at the ledger's time `PULLED_S`."""
    key = keystore.create_key(data)
    state = StateStore(data)
    clock = TrustedClock(state, clocks.sources())
    with Journal.create(data, "T-CLOCK-01", key, clock=clock.local_now) as journal:
        journal.add_ledger_key(keys.public_key_hex(ledger.public_key()))
        state.put("merchant", {"merchant_id": "M-A", "name": "Shop", "class": "small",
                               "config": {}})
        _Sink(state, journal, [], clock).apply_snapshot(snapshot_page(PULLED_S),
                                                         journal.last_seq)
    state.close()
    TerminalConfig("T-CLOCK-01", "http://127.0.0.1:9", "M-A").save(data)


class Phone:
    def __init__(self, ledger: keys.PrivateKey) -> None:
        self.key = keys.generate()
        self.counter = 0
        self.cert = tokens.issue_certificate(ledger, WALLET, self.key.public_key(), 20_000,
                                             int(PULLED_S + 60 * DAY))

    def show(self, issued_s: float) -> Presented:
        self.counter += 1
        return Presented("app", tokens.make_token(self.cert, self.key, self.counter,
                                                  int(issued_s)))


@pytest.fixture
def ledger():
    return keys.generate()


@pytest.fixture
def node_at(tmp_path, ledger, clocks):
    """Open the terminal (offline) on the test's clocks; every node is closed at the end."""
    data = tmp_path / "t"
    make_terminal(data, ledger, clocks)
    opened: list[Node] = []

    def open_node() -> Node:
        node = Node(data, offline=True, clock_sources=clocks.sources())
        opened.append(node)
        return node

    yield open_node
    for node in opened:
        node.close()


# --- the trusted clock itself ----------------------------------------------------------------


@pytest.mark.parametrize("move", MOVES)
def test_trusted_time_follows_the_ledger_not_a_moved_wall_clock(tmp_path, clocks, move):
    state = StateStore(tmp_path)
    clock = TrustedClock(state, clocks.sources())
    clock.anchor(int(PULLED_S * 1000))
    clocks.run(10 * HOUR)
    clocks.move_wall(move)
    check = clock.check()
    assert check.ledger_s == pytest.approx(PULLED_S + 10 * HOUR)
    assert check.elapsed_known
    # back: the ledger's time; forward: the wall clock (never earlier than the ledger's)
    assert check.trusted_s == pytest.approx(PULLED_S + 10 * HOUR + max(0.0, move))
    assert check.behind == (move < 0) and check.ahead == (move > 0)
    text = check.text()
    assert ("behind the ledger's time" in text) == (move < 0)
    assert ("ahead of the ledger's time" in text) == (move > 0)
    state.close()


def test_a_wall_clock_within_the_tolerance_is_not_reported(tmp_path, clocks):
    clock = TrustedClock(None, clocks.sources())
    clock.anchor(int(PULLED_S * 1000))
    clocks.move_wall(-CLOCK_BEHIND_TOLERANCE_S / 2)
    assert clock.check().ok and "WARNING" not in clock.check().text()


@pytest.mark.parametrize("bad", ["1700000000000", -1, 1.5, True, None])
def test_a_ledger_time_that_is_not_one_is_refused(clocks, bad):
    with pytest.raises(BadLedgerTime):
        TrustedClock(None, clocks.sources()).anchor(bad)


def test_the_anchor_survives_a_restart_on_the_same_boot(tmp_path, clocks):
    state = StateStore(tmp_path)
    TrustedClock(state, clocks.sources()).anchor(int(PULLED_S * 1000))
    state.close()
    clocks.run(2 * DAY)
    clocks.move_wall(-2 * DAY)  # turned back to the time of the pull
    state = StateStore(tmp_path)
    check = TrustedClock(state, clocks.sources()).check()
    assert check.elapsed_known
    assert check.trusted_s == pytest.approx(PULLED_S + 2 * DAY)
    assert check.behind_ledger_s == pytest.approx(2 * DAY)
    state.close()


def test_after_a_reboot_the_ledger_time_is_a_floor(tmp_path, clocks):
    state = StateStore(tmp_path)
    TrustedClock(state, clocks.sources()).anchor(int(PULLED_S * 1000))
    state.close()
    clocks.reboot(down_s=HOUR)
    clocks.move_wall(-3 * DAY)  # and the wall clock turned back days
    state = StateStore(tmp_path)
    check = TrustedClock(state, clocks.sources()).check()
    assert not check.elapsed_known  # the time since the pull is unknown...
    assert check.trusted_s == pytest.approx(PULLED_S)  # ...but it is not before the pull
    assert check.behind and "time since unknown" in check.text()
    assert not check.ahead  # nothing is known to be ahead without the elapsed time
    state.close()


def test_a_running_terminal_keeps_its_time_across_a_reboot(tmp_path, clocks):
    """Pulled, then 72 h running offline (the worker's heartbeats), then a reboot with the
    wall clock set back to just after the pull: the snapshot is still 72 h old, not fresh."""
    state = StateStore(tmp_path)
    clock = TrustedClock(state, clocks.sources())
    clock.anchor(int(PULLED_S * 1000))
    for _ in range(72):
        clocks.run(HOUR)
        clock.heartbeat()
    state.close()
    clocks.reboot(down_s=60)
    clocks.wall = PULLED_S + 60  # set back to a minute after the pull
    state = StateStore(tmp_path)
    check = TrustedClock(state, clocks.sources()).check()
    assert check.trusted_s >= PULLED_S + 72 * HOUR
    assert check.behind
    state.close()


def test_heartbeats_are_rate_limited_and_keep_only_ledger_time(tmp_path, clocks):
    state = StateStore(tmp_path)
    clock = TrustedClock(state, clocks.sources())
    clock.heartbeat()  # no anchor yet: nothing to keep
    assert state.get(ANCHOR_KEY) is None
    clock.anchor(int(PULLED_S * 1000))
    clocks.move_wall(5 * DAY)  # a wall clock set forward is never kept
    clocks.run(HEARTBEAT_S)
    clock.heartbeat()
    kept = state.get(ANCHOR_KEY)["ledger_ms"]
    assert kept == int((PULLED_S + HEARTBEAT_S) * 1000)
    clocks.run(1)
    clock.heartbeat()  # too soon: not written again
    assert state.get(ANCHOR_KEY)["ledger_ms"] == kept
    state.close()


# --- what the trusted clock decides ----------------------------------------------------------


@pytest.mark.parametrize("move", [-3 * HOUR, -4 * DAY])
def test_an_old_snapshot_stays_old_when_the_wall_clock_is_turned_back(node_at, clocks, move):
    node = node_at()
    big = Presented("card", CARD)
    assert node.counter.pay(big, 5_000).decision == "offline"  # fresh: allowed
    clocks.run(80 * HOUR)  # older than the 72 h limit...
    clocks.move_wall(move - 80 * HOUR)  # ...but the wall clock says it is the pull's day
    with pytest.raises(Refused) as info:
        node.counter.pay(big, 5_000)
    assert info.value.code == "snapshot_stale"
    assert node.counter.pay(big, 500).amount == 500  # small payments still go


def test_an_old_snapshot_stays_old_across_a_restart_with_the_clock_turned_back(node_at,
                                                                               clocks):
    node_at().close()
    clocks.run(4 * DAY)
    clocks.move_wall(-4 * DAY)
    node = node_at()  # the terminal restarts on the same data directory (same boot)
    assert node.state.snapshot_age_s(node.clock.now_s()) == pytest.approx(4 * DAY)
    with pytest.raises(Refused) as info:
        node.counter.pay(Presented("card", CARD), 5_000)
    assert info.value.code == "snapshot_stale"


@pytest.mark.parametrize("move", [-2 * HOUR, -2 * DAY])
def test_a_screenshot_stays_stale_when_the_wall_clock_is_turned_back(node_at, clocks, ledger,
                                                                     move):
    node = node_at()
    phone = Phone(ledger)
    shot = phone.show(clocks.wall)  # a photo of the code, taken now
    clocks.run(-move)
    clocks.move_wall(move)  # the wall clock back to when the photo was taken
    with pytest.raises(Refused) as info:
        node.counter.pay(shot, 300)
    assert info.value.code == "stale"
    # the live code, made by the phone's own (right) clock, still pays
    assert node.counter.pay(phone.show(PULLED_S - move), 300).amount == 300


def test_a_screenshot_stays_stale_across_a_restart(node_at, clocks, ledger):
    node_at().close()
    phone = Phone(ledger)
    shot = phone.show(clocks.wall)
    clocks.run(6 * HOUR)
    clocks.move_wall(-6 * HOUR)
    with pytest.raises(Refused) as info:
        node_at().counter.pay(shot, 300)
    assert info.value.code == "stale"


def test_a_wall_clock_ahead_refuses_live_codes_and_says_why(node_at, clocks, ledger):
    node = node_at()
    clocks.move_wall(3 * HOUR)
    with pytest.raises(Refused) as info:
        node.counter.pay(Phone(ledger).show(PULLED_S), 300)  # live by the ledger's time
    assert info.value.code == "stale"
    assert node.clock.check().ahead


# --- record times ----------------------------------------------------------------------------


def record_times(journal: Journal) -> list[datetime]:
    return [datetime.fromisoformat(row[3]) for row in journal.rows()]


@pytest.mark.parametrize("move", MOVES)
def test_record_times_never_go_back(node_at, clocks, move):
    node = node_at()
    who = Presented("card", CARD)
    node.counter.pay(who, 100)
    clocks.run(HOUR)
    node.counter.pay(who, 100)
    clocks.move_wall(move)
    node.counter.pay(who, 100)
    clocks.run(60)
    node.counter.pay(who, 100)
    times = record_times(node.journal)
    assert times == sorted(times)
    # not before the ledger's time (anchored at the pull, plus the time elapsed since)
    assert times[-1].timestamp() >= PULLED_S + HOUR + 60 - 1


@pytest.mark.parametrize("move", [-5 * HOUR, -3 * DAY])
def test_record_times_never_go_back_across_a_restart(node_at, clocks, move):
    node = node_at()
    node.counter.pay(Presented("card", CARD), 100)
    node.close()
    clocks.run(HOUR)
    clocks.move_wall(move)
    node = node_at()
    node.counter.pay(Presented("card", CARD), 100)
    times = record_times(node.journal)
    assert times == sorted(times)
    assert times[-1].timestamp() == pytest.approx(PULLED_S + HOUR, abs=1)


def test_after_a_reboot_records_keep_to_the_last_ones_time(node_at, clocks):
    node = node_at()
    clocks.run(DAY)
    node.counter.pay(Presented("card", CARD), 100)
    last = record_times(node.journal)[-1]
    node.close()
    clocks.reboot(down_s=HOUR)
    clocks.move_wall(-5 * DAY)
    node = node_at()
    check = node.clock.check()
    assert not check.elapsed_known and check.behind_record_s > 4 * DAY
    node.counter.pay(Presented("card", CARD), 100)
    assert record_times(node.journal)[-1] == last  # not earlier, whatever the wall says


def test_the_journal_alone_keeps_times_in_order_across_a_reopen(tmp_path):
    """Without any ledger time, a journal opened on a clock days behind its last record
    dates new records at that record's time."""
    key = keys.generate()
    now = [datetime(2026, 11, 22, 10, 0).astimezone()]
    with Journal.create(tmp_path / "j", "T-CLOCK-02", key, clock=lambda: now[0]) as journal:
        journal.append("cash_move", {"amount": 100, "direction": "in", "reason": ""})
    now[0] -= timedelta(days=2)
    with Journal.open(tmp_path / "j", key, clock=lambda: now[0]) as journal:
        journal.append("cash_move", {"amount": 100, "direction": "in", "reason": ""})
        now[0] += timedelta(days=3)
        journal.append("cash_move", {"amount": 100, "direction": "in", "reason": ""})
        times = record_times(journal)[1:]  # after the start record
    assert times[1] == times[0] and times[2] == now[0]


# --- status ----------------------------------------------------------------------------------


def status_text(data: Path, clocks: Clocks) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["status", "--data", str(data)], clock_sources=clocks.sources()) == 0
    return out.getvalue()


def test_status_says_the_wall_clock_is_behind_the_ledger(tmp_path, ledger, clocks):
    data = tmp_path / "t"
    make_terminal(data, ledger, clocks)
    clocks.run(2 * HOUR)
    assert "WARNING" not in status_text(data, clocks)
    assert "last complete pull 120 min ago" in status_text(data, clocks)
    clocks.move_wall(-2 * DAY)
    text = status_text(data, clocks)
    assert "WARNING: the wall clock is 2 d behind the ledger's time" in text
    assert "last complete pull 120 min ago" in text  # the age is the ledger's, not the wall's


def test_status_after_a_reboot_says_the_wall_clock_is_behind_the_last_record(
        tmp_path, ledger, clocks, node_at):
    node = node_at()
    clocks.run(3 * HOUR)
    node.counter.pay(Presented("card", CARD), 100)
    node.close()
    clocks.reboot(down_s=0)
    clocks.move_wall(-7 * HOUR)
    text = status_text(tmp_path / "t", clocks)
    assert "time since unknown" in text
    assert "WARNING: the wall clock is 4 h behind the ledger's time" in text
    assert "WARNING: the wall clock is 7 h behind the last record" in text
    # the snapshot is at least as old as the last record is younger than it
    assert "last complete pull 180 min ago" in text


def test_a_counter_opened_on_its_own_reads_the_stored_anchor(tmp_path, ledger, clocks):
    """A trusted clock on the state store alone knows the ledger's time of the last pull."""
    data = tmp_path / "t"
    make_terminal(data, ledger, clocks)
    clocks.run(80 * HOUR)
    with Journal.open(data, keystore.load_key(data)) as journal:
        state = StateStore(data)
        counter = Counter(journal, state, clock=TrustedClock(state, clocks.sources()))
        clocks.move_wall(-80 * HOUR)
        with pytest.raises(Refused) as info:
            counter.pay(Presented("card", CARD), 5_000)
        assert info.value.code == "snapshot_stale"
        state.close()
