"""App-token replay protection across a terminal restart.

The verifier remembers each device's highest token counter in memory only; a restarted
terminal reads the app counters its own recent records carry (`Journal.app_counters_since`)
and hands them back (`TokenVerifier.remember`), so a token used just before the restart is
still refused within its freshness window. Everything here is a real journal on disk.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync import bodies, keys, tokens
from terminal import journal as journal_module
from terminal.counter import Counter, Presented
from terminal.journal import Journal
from terminal.policy import Refused
from terminal.state import StateStore

JST = timezone(timedelta(hours=9))
T0 = datetime(2026, 11, 22, 14, 0, tzinfo=JST)
WALLET = "W-APP-0001"


class SetClock:
    """A terminal clock that reads what the test last set."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Phone:
    def __init__(self, ledger: keys.PrivateKey, wallet: str = WALLET, limit: int = 5_000,
                 expires: int | None = None) -> None:
        self.key = keys.generate()
        self.cert = tokens.issue_certificate(
            ledger, wallet, self.key.public_key(), limit,
            expires if expires is not None else int(time.time()) + 86_400)

    @property
    def device(self) -> str:
        """The device as a record keeps it (terminal/counter.py `identify`)."""
        return self.cert.device_key.hex()[:16]

    def show(self, counter: int, at: int) -> str:
        return tokens.make_token(self.cert, self.key, counter, at)


def app_payment(device: str, counter: int, amount: int = 100) -> dict:
    return {"amount": amount, "wallet": WALLET, "decision": "offline",
            "credential": {"kind": "app", "id": WALLET, "device": device, "counter": counter},
            "lots": [{"lot": "L-1", "amount": amount}]}


def card_payment(amount: int = 100) -> dict:
    return {"amount": amount, "wallet": WALLET, "decision": "offline",
            "credential": {"kind": "card", "id": "0000-1111-2222"},
            "lots": [{"lot": "L-1", "amount": amount}]}


@pytest.fixture
def clock():
    return SetClock(T0)


@pytest.fixture
def journal(tmp_path, clock):
    j = Journal.create(tmp_path / "t", "T-REPLAY-01", keys.generate(), clock=clock)
    yield j
    j.close()


def append_at(journal, clock, when, rtype, body, check=True):
    if check:
        bodies.check(rtype, body)  # shaped as the counter writes them
    clock.now = when
    return journal.append(rtype, body)


def at(seconds: float) -> float:
    return T0.timestamp() + seconds


def test_only_recent_app_records_are_read_oldest_first(journal, clock):
    a, b = "0a1b2c3d4e5f6071", "fedcba9876543210"
    append_at(journal, clock, T0 + timedelta(seconds=10), "payment", app_payment(a, 3))
    append_at(journal, clock, T0 + timedelta(seconds=100), "payment", card_payment())
    append_at(journal, clock, T0 + timedelta(seconds=200), "payment", app_payment(a, 5))
    # the same moment's neighbour written with another UTC offset
    append_at(journal, clock, (T0 + timedelta(seconds=210)).astimezone(UTC), "payment",
              app_payment(b, 9))
    append_at(journal, clock, T0 + timedelta(seconds=220), "payment", card_payment())
    append_at(journal, clock, T0 + timedelta(seconds=230), "charge",
              {"amount": 1_000, "wallet": WALLET,
               "lots": [bodies.new_lot("L-2", "charged", 1_000, 1_000)]})

    assert journal.app_counters_since(at(150)) == [(a, 5), (b, 9)]
    assert journal.app_counters_since(at(200)) == [(a, 5), (b, 9)]  # "at or after"
    assert journal.app_counters_since(at(201)) == [(b, 9)]
    assert journal.app_counters_since(at(0)) == [(a, 3), (a, 5), (b, 9)]
    assert journal.app_counters_since(at(231)) == []
    # what a restarted verifier is primed with: each device's newest counter
    newest: dict[str, int] = {}
    for device, counter in journal.app_counters_since(at(0)):
        newest[device] = max(newest.get(device, -1), counter)
    assert newest == {a: 5, b: 9}


def test_the_scan_stops_at_the_first_record_older_than_the_cut_off(journal, clock,
                                                                    monkeypatch):
    device = "00112233aabbccdd"
    # A clock set back between records, in a journal written before record times were kept
    # in order (terminal.journal.not_before): the scan reads newest first and stops at the
    # older.
    monkeypatch.setattr(journal_module, "not_before", lambda moment, _floor: moment)
    append_at(journal, clock, T0 + timedelta(seconds=500), "payment", app_payment(device, 1))
    append_at(journal, clock, T0, "payment", card_payment())
    append_at(journal, clock, T0 + timedelta(seconds=600), "payment", app_payment(device, 2))
    assert journal.app_counters_since(at(100)) == [(device, 2)]


def test_the_scan_reads_at_most_the_newest_records(journal, clock, monkeypatch):
    device = "00112233aabbccdd"
    for n in range(1, 6):
        append_at(journal, clock, T0 + timedelta(seconds=n), "payment", app_payment(device, n))
    assert journal.app_counters_since(at(0)) == [(device, n) for n in range(1, 6)]
    monkeypatch.setattr(journal_module, "REPLAY_SCAN_MAX_RECORDS", 3)
    assert journal.app_counters_since(at(0)) == [(device, 3), (device, 4), (device, 5)]


def test_malformed_records_are_skipped(journal, clock):
    good = "00112233aabbccdd"
    append_at(journal, clock, T0 + timedelta(seconds=1), "payment", app_payment(good, 4))
    for credential in (
        {"kind": "app", "id": WALLET, "device": "zz" * 8, "counter": 5},  # not hex
        {"kind": "app", "id": WALLET, "device": "001122 33445566 ", "counter": 5},  # spaces
        {"kind": "app", "id": WALLET, "device": good[:14], "counter": 5},  # too short
        {"kind": "app", "id": WALLET, "device": good + "ee", "counter": 5},  # too long
        {"kind": "app", "id": WALLET, "device": 1234, "counter": 5},
        {"kind": "app", "id": WALLET, "device": good, "counter": "5"},
        {"kind": "app", "id": WALLET, "device": good, "counter": -1},
        {"kind": "app", "id": WALLET, "device": good, "counter": 2**32},
        {"kind": "app", "id": WALLET, "device": good, "counter": True},
        {"kind": "app", "id": WALLET},
        {"kind": "wallet", "id": WALLET, "device": good, "counter": 9},  # not an app
    ):
        body = {**app_payment(good, 0), "credential": credential}
        append_at(journal, clock, T0 + timedelta(seconds=2), "payment", body, check=False)
    append_at(journal, clock, T0 + timedelta(seconds=3), "payment", app_payment(good, 6))
    # Rows no build would write, put straight into the table (appends are allowed by the
    # triggers): a time that is not one, a time without its offset, a record that is not
    # JSON, JSON that is not a record, a body that is not an object.
    seq = journal.last_seq
    for n, (when, text) in enumerate([
        ("yesterday", json.dumps({"body": app_payment(good, 99)})),
        ("2026-11-22T14:00:05.000", json.dumps({"body": app_payment(good, 98)})),
        (None, json.dumps({"body": app_payment(good, 97)})),
        ((T0 + timedelta(seconds=5)).isoformat(), "{not json"),
        ((T0 + timedelta(seconds=5)).isoformat(), json.dumps([1, 2])),
        ((T0 + timedelta(seconds=5)).isoformat(), json.dumps({"body": "payment"})),
        ((T0 + timedelta(seconds=5)).isoformat(), json.dumps({"body": {"credential": 7}})),
    ], start=1):
        journal.conn.execute(
            "INSERT INTO records (seq, tx_id, type, at, amount, hash, record) "
            "VALUES (?, ?, 'payment', ?, 0, '00', ?)", (seq + n, f"TX-BAD-{n}", when or "",
                                                        text))
    assert journal.app_counters_since(at(0)) == [(good, 4), (good, 6)]


def test_a_token_used_before_a_restart_is_refused_after_it(tmp_path):
    """Verifier A accepts a token and the record is kept; the terminal restarts; verifier B,
    primed from the journal, refuses the same token, which an unprimed one would take."""
    ledger = keys.generate()
    trusted = {ledger.public_key().key_id: ledger.public_key()}
    now = 1_795_000_000
    clock = SetClock(datetime.fromtimestamp(now, JST))
    terminal_key = keys.generate()
    data = tmp_path / "t"
    phone = Phone(ledger, expires=now + 86_400)
    live = phone.show(41, now)

    with Journal.create(data, "T-REPLAY-02", terminal_key, clock=clock) as before:
        token = tokens.TokenVerifier(trusted).verify(live, now)
        cert = token.cert
        append_at(before, clock, clock.now, "payment", app_payment(
            cert.device_key.hex()[:16], token.counter))

    later = now + 30  # still inside the token's freshness window
    with Journal.open(data, terminal_key, clock=clock) as after:
        fresh = tokens.TokenVerifier(trusted)
        for prefix, counter in after.app_counters_since(later - tokens.REPLAY_LOOKBACK_S):
            fresh.remember(bytes.fromhex(prefix), counter)
    with pytest.raises(tokens.TokenError) as info:
        fresh.verify(live, later)
    assert info.value.code == "replayed"
    assert fresh.verify(phone.show(42, later), later).counter == 42  # the next code is fine
    # without priming, the same token would have been taken again: the hole this closes
    assert tokens.TokenVerifier(trusted).verify(live, later).counter == 41


def test_a_restarted_counter_refuses_a_token_paid_with_before(tmp_path):
    """The same at the counter: the record is written by `Counter.pay`, so its credential is
    exactly what production keeps, and a new `Counter` on the reopened journal refuses the
    token by itself."""
    ledger = keys.generate()
    terminal_key = keys.generate()
    data = tmp_path / "t"
    phone = Phone(ledger)
    now = int(time.time())
    live = Presented("app", phone.show(7, now))

    with Journal.create(data, "T-REPLAY-03", terminal_key) as journal:
        journal.add_ledger_key(keys.public_key_hex(ledger.public_key()))
        state = StateStore(data)
        state.put("merchant", {"merchant_id": "M-A", "class": "small", "config": {}})
        state.apply_snapshot({"cursor": "c", "server_time_ms": now * 1000, "wallets": [
            {"wallet": WALLET, "status": "active", "version": 1, "debt": 0, "usage": {},
             "lots": [{"lot": "L-cash", "pocket": "charged", "remaining": 10_000,
                       "expires": None, "classes": ["small", "large"], "campaign": None}]}],
            "campaigns": [], "cards": []}, journal.last_seq)
        paid = Counter(journal, state).pay(live, 300)
        assert paid.record["body"]["credential"] == {
            "kind": "app", "id": WALLET, "device": phone.device, "counter": 7}
        state.close()

    with Journal.open(data, terminal_key) as journal:
        state = StateStore(data)
        again = Counter(journal, state)  # primes its replay cache from the journal
        with pytest.raises(Refused) as info:
            again.pay(live, 300)
        assert info.value.code == "replayed"
        assert again.pay(Presented("app", phone.show(8, int(time.time()))), 300).amount == 300
        state.close()
