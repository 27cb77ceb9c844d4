"""The terminal believes only its pinned ledger (DESIGN §10, issue #15 point 2).

A real terminal syncs with the real ledger process through tests.mitm, a man in the middle
on loopback who reads and rewrites everything in clear, as someone on the shop's Wi-Fi
could. Each attack — a key slipped into a snapshot page, a page rewritten to give a wallet
money, an answer re-signed with the attacker's own key (with or without a forged rotation
statement), a forged acknowledgement, a genuine acknowledgement played back to a later push,
an unsigned refusal, stripped signature headers — is refused, logged, and leaves the
terminal's journal, outbox, heads, pinned keys and snapshot exactly as they were; then an
honest sync completes exactly once. Captured requests replayed at the ledger are refused.
A rotated ledger key is learnt only from the statement the old key signed. The ledger
serves HTTPS with a throwaway CA; a terminal checks its certificate, and one talked to in
clear by a TLS-stripping middle gets nowhere.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import requests

from ledger import demo
from ledger.db import Database
from ledger.schema import migrate
from sync import auth, canonical, keys, record, trust
from sync.client import SyncError
from terminal import keystore
from terminal.journal import Journal
from terminal.node import Node, enroll
from tests import tlsca
from tests.ledger.helpers import ROOT, LedgerProcess
from tests.mitm import Exchange, Mitm
from tests.sync.test_faults import SHOP, _backlog, assert_exactly_once

DEMO_WALLETS = 20
SALES = 12
ADMIN_TIMEOUT_S = 10
CLI_TIMEOUT_S = 60


def _seeded(base: Path, **options) -> LedgerProcess:
    """The real ledger process on a demo region of its own (options: LedgerProcess's)."""
    url = f"sqlite:///{base / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    demo.seed_demo(db, DEMO_WALLETS)
    db.close()
    return LedgerProcess(url, base / "home", **options).start()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    server = _seeded(tmp_path_factory.mktemp("trust-ledger"))
    yield server
    server.stop()


@pytest.fixture
def mitm(ledger):
    with Mitm(ledger.url) as middle:
        yield middle


def _code(server: LedgerProcess, verify: str | bool = True) -> str:
    reply = requests.post(server.url + "/v1/admin/terminals", json={"merchant_id": SHOP},
                          headers={"authorization": f"Bearer {server.admin_token}"},
                          timeout=ADMIN_TIMEOUT_S, verify=verify)
    reply.raise_for_status()
    return reply.json()["code"]


def _fingerprint(server: LedgerProcess) -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "ledger", "admin", "show-key", "--db", server.db_url,
         "--home", str(server.home)], cwd=ROOT, capture_output=True, text=True,
        timeout=CLI_TIMEOUT_S, check=True)
    return json.loads(shown.stdout)["fingerprint"]


def terminal_state(data_dir: Path) -> dict:
    """Everything an answer could change on the terminal, as plain data."""
    with Journal.open(data_dir) as journal:
        seen = {"pending": journal.pending_count(), "acked": journal.acked_seq(),
                "heads": sorted(journal.heads()), "keys": sorted(journal.ledger_keys()),
                "last_seq": journal.last_seq}
    conn = sqlite3.connect(data_dir / "state.db")
    try:
        for table in ("wallets", "lots", "cards", "campaigns", "meta"):
            seen[table] = sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
    finally:
        conn.close()
    # The clock's anchor moves on with the elapsed clock after every round (a heartbeat); what
    # an answer could change is the ledger time it stands for, which this keeps to 0.1 s.
    anchor = dict(seen["meta"]).get("clock_anchor")
    seen["meta"] = [row for row in seen["meta"] if row[0] != "clock_anchor"]
    if anchor:
        kept = json.loads(anchor)
        seen["anchor_offset_s"] = kept["ledger_ms"] / 1000 - kept["elapsed_s"]
    return seen


ANCHOR_SLACK_S = 0.05  # a heartbeat rounds the ledger's time to the ms


def same_state(after: dict, before: dict) -> bool:
    a, b = dict(after), dict(before)
    offsets = a.pop("anchor_offset_s", None), b.pop("anchor_offset_s", None)
    if None in offsets:
        return a == b and offsets[0] == offsets[1]
    return a == b and abs(offsets[0] - offsets[1]) < ANCHOR_SLACK_S


# --- what the attacker does -----------------------------------------------------------------

ATTACKER = keys.private_key_from_seed(b"\x66" * 32)


def _digest_of(exchange: Exchange) -> str:
    """The attacker can compute what an answer is bound to: the request is in clear."""
    headers = {k.lower(): v for k, v in exchange.headers.items()}
    return auth.request_digest(auth.request_message(
        headers.get("x-machi-terminal", ""), exchange.method, exchange.path,
        int(headers["x-machi-time"]), exchange.body, headers["x-machi-nonce"]))


def _resign(exchange: Exchange, rotations: list[dict] | None = None) -> None:
    """Sign the (rewritten) answer with the attacker's key, correctly bound."""
    headers = {k.lower(): v for k, v in exchange.headers.items()}
    exchange.answer_headers = {
        k: v for k, v in exchange.answer_headers.items() if not k.lower().startswith(
            "x-machi-answer")}
    exchange.answer_headers.update(auth.sign_answer(
        ATTACKER, headers.get("x-machi-terminal", ""), _digest_of(exchange), exchange.status,
        exchange.answer_body, rotations))


def _rich_page(body: bytes) -> bytes:
    """A snapshot page that would hand the attacker's key in and give a wallet ¥49,000."""
    page = orjson.loads(body)
    page["ledger_keys"] = [*page.get("ledger_keys", []), {
        "key_id": ATTACKER.public_key().key_id, "public_key": ATTACKER.public_key().hex,
        "status": "active", "rotation": None}]
    page["wallets"] = [*page.get("wallets", []), {
        "wallet": "W-ATTACKER", "status": "active", "version": 10**9, "debt": 0, "usage": {},
        "lots": [{"lot": "L-FREE", "pocket": "charged", "remaining": 49_000,
                  "expires": None, "classes": ["small", "large"], "campaign": None}]}]
    return orjson.dumps(page)


def _on_snapshot(change):
    def attack(exchange: Exchange, phase: str) -> None:
        if phase == "answer" and exchange.path.startswith("/v1/snapshot"):
            change(exchange)
    return attack


def _rewrite_page(exchange: Exchange) -> None:
    exchange.answer_body = _rich_page(exchange.answer_body)


def _rewrite_and_resign(exchange: Exchange) -> None:
    exchange.answer_body = _rich_page(exchange.answer_body)
    _resign(exchange)


def _forged_rotation(exchange: Exchange) -> None:
    exchange.answer_body = _rich_page(exchange.answer_body)
    pinned_id = exchange.answer_headers.get("x-machi-answer-key", "")
    statement = trust.sign_rotation(ATTACKER, ATTACKER.public_key(), auth.now_ms())
    statement["by"] = pinned_id  # claims the pinned key vouched for it; it did not sign this
    _resign(exchange, [statement])


def _strip_signature(exchange: Exchange) -> None:
    exchange.answer_headers = {k: v for k, v in exchange.answer_headers.items()
                               if not k.lower().startswith("x-machi-answer")}


def _forged_ack(exchange: Exchange, phase: str) -> None:
    """Answer a push without forwarding it: everything 'created', a head signed by the
    attacker, the answer signed by the attacker."""
    if phase != "request" or not exchange.path.startswith("/v1/journal"):
        return
    lines = [canonical.loads(line) for line in exchange.body.split(b"\n") if line]
    last = lines[-1]
    head = record.sign_head(last["terminal_id"], last["seq"],
                            record.record_hash(exchange.body.split(b"\n")[-1]), ATTACKER)
    exchange.answer_now(200, orjson.dumps({
        "terminal_id": last["terminal_id"], "acked_seq": last["seq"], "head": head,
        "results": [{"seq": r["seq"], "status": "created"} for r in lines]}))
    _resign(exchange)


def _unsigned_refusal(exchange: Exchange, phase: str) -> None:
    if phase == "request":
        exchange.answer_now(403, b'{"error":"revoked","message":"the terminal is revoked"}')


ATTACKS = {
    "key_slipped_into_a_snapshot_page": _on_snapshot(_rewrite_page),
    "page_rewritten_and_resigned_by_the_attacker": _on_snapshot(_rewrite_and_resign),
    "attacker_key_with_a_forged_rotation": _on_snapshot(_forged_rotation),
    "answer_signature_stripped": _on_snapshot(_strip_signature),
    "forged_acknowledgement": _forged_ack,
    "unsigned_refusal": _unsigned_refusal,
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_tampered_answer_is_refused_and_changes_nothing(name, ledger, mitm, tmp_path, caplog):
    data_dir = tmp_path / "terminal"
    enroll(data_dir, mitm.url, _code(ledger))
    with Node(data_dir) as node:
        assert node.sync_once().online
    _backlog(data_dir, SALES)
    before = terminal_state(data_dir)
    assert before["pending"] == SALES
    mitm.attack = ATTACKS[name]
    with caplog.at_level(logging.WARNING, logger="sync.client"), Node(data_dir) as node:
        status = node.sync_once()
    assert not status.online and status.last_error, status
    assert any("refused an answer" in r.getMessage() for r in caplog.records)
    after = terminal_state(data_dir)
    if name in ("forged_acknowledgement", "unsigned_refusal"):
        assert same_state(after, before)  # the push never reached the ledger
    else:
        # The push went through honestly; the tampered page was refused whole.
        assert after["pending"] == 0 and after["acked"] == before["last_seq"]
        assert {k: after[k] for k in ("keys", "wallets", "lots", "cards", "campaigns",
                                      "meta")} == \
            {k: before[k] for k in ("keys", "wallets", "lots", "cards", "campaigns", "meta")}
        assert abs(after["anchor_offset_s"] - before["anchor_offset_s"]) < ANCHOR_SLACK_S
    assert ATTACKER.public_key().key_id not in after["keys"]
    mitm.attack = None
    with Node(data_dir) as node:
        status = node.sync_once()
    assert status.online and not status.last_error and status.pending == 0, status
    assert_exactly_once(ledger, data_dir)


def _synced_with_sales(ledger, mitm, tmp_path) -> Path:
    """A terminal enrolled through the middle, its first snapshot pulled, a backlog of
    sales made offline and pushed: what an attacker has watched go by."""
    data_dir = tmp_path / "terminal"
    enroll(data_dir, mitm.url, _code(ledger))
    with Node(data_dir) as node:
        assert node.sync_once().online
    _backlog(data_dir, SALES)
    with Node(data_dir) as node:
        assert node.sync_once().online
    return data_dir


def test_an_old_genuine_answer_played_back_is_refused(ledger, mitm, tmp_path):
    data_dir = _synced_with_sales(ledger, mitm, tmp_path)
    genuine = mitm.captured("POST", "/v1/journal")[-1]
    _backlog(data_dir, SALES, seed=7)
    before = terminal_state(data_dir)

    def play_back(exchange: Exchange, phase: str) -> None:
        if phase == "request" and exchange.path.startswith("/v1/journal"):
            exchange.answer_now(genuine.status, genuine.answer_body, genuine.answer_headers)

    mitm.attack = play_back
    with Node(data_dir) as node:
        status = node.sync_once()
    assert not status.online and "another request" in status.last_error
    assert same_state(terminal_state(data_dir), before)
    mitm.attack = None
    with Node(data_dir) as node:
        assert node.sync_once().pending == 0
    assert_exactly_once(ledger, data_dir)


def test_captured_requests_replayed_at_the_ledger_are_refused(ledger, mitm, tmp_path):
    _synced_with_sales(ledger, mitm, tmp_path)
    replayed = mitm.captured("POST", "/v1/journal")[-1:] + mitm.captured("GET", "/v1/snapshot")
    assert replayed
    for exchange in replayed:
        headers = {k: v for k, v in exchange.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        again = requests.request(exchange.method, ledger.url + exchange.path,
                                 data=exchange.body or None, headers=headers,
                                 timeout=ADMIN_TIMEOUT_S)
        assert again.status_code == 401 and again.json()["error"] == "replayed", again.text


def test_enrollment_shows_the_key_and_refuses_another_fingerprint(ledger, mitm, tmp_path):
    fingerprint = _fingerprint(ledger)
    answer = enroll(tmp_path / "right", ledger.url, _code(ledger), fingerprint=fingerprint)
    assert answer["ledger_fingerprint"] == fingerprint
    status = subprocess.run([sys.executable, "-m", "terminal", "status", "--data",
                             str(tmp_path / "right")], cwd=ROOT, capture_output=True,
                            text=True, timeout=CLI_TIMEOUT_S, check=True)
    assert f"ledger keys pinned: {fingerprint}" in status.stdout

    def swap_keys(exchange: Exchange, phase: str) -> None:
        """The attacker answers enrollment with its own key, correctly signed by it."""
        if phase == "answer" and exchange.path == "/v1/enroll":
            answer = orjson.loads(exchange.answer_body)
            answer["ledger_keys"] = [{"key_id": ATTACKER.public_key().key_id,
                                      "public_key": ATTACKER.public_key().hex,
                                      "status": "active", "rotation": None}]
            exchange.answer_body = orjson.dumps(answer)
            _resign(exchange)

    mitm.attack = swap_keys
    with pytest.raises(SyncError) as refused:
        enroll(tmp_path / "swapped", mitm.url, _code(ledger), fingerprint=fingerprint)
    assert refused.value.code == "fingerprint_mismatch"
    assert not (tmp_path / "swapped" / "journal.db").exists()


def test_a_rotated_ledger_key_is_learnt_from_the_old_keys_statement(tmp_path):
    server = _seeded(tmp_path)
    url = server.db_url
    data_dir = tmp_path / "terminal"
    try:
        enroll(data_dir, server.url, _code(server))
        with Node(data_dir) as node:
            first = set(node.journal.ledger_keys())
            assert node.sync_once().online
        _backlog(data_dir, SALES)
        with Node(data_dir) as node:
            assert node.sync_once().online
        subprocess.run([sys.executable, "-m", "ledger", "admin", "rotate-key", "--db", url,
                        "--home", str(server.home)], cwd=ROOT, check=True,
                       capture_output=True, timeout=CLI_TIMEOUT_S)
        server.stop()
        server = LedgerProcess(url, tmp_path / "home", port=server.port).start()
        _backlog(data_dir, SALES, seed=3)
        with Node(data_dir) as node:
            status = node.sync_once()
            pinned = set(node.journal.ledger_keys())
        assert status.online and status.pending == 0, status
        assert first < pinned and len(pinned) == 2
        with Journal.open(data_dir) as journal:
            newest = journal.heads()[journal.acked_seq()]
        assert newest["key_id"] in pinned - first  # heads signed by the new key verify
    finally:
        server.stop()


def test_a_snapshot_key_without_a_statement_is_never_pinned(tmp_path):
    """Straight at the sink: a listed key is pinned only through a signed statement."""
    from terminal.clock import TrustedClock
    from terminal.node import _Sink
    from terminal.state import StateStore

    old, new = keys.generate(), keys.generate()
    data_dir = tmp_path / "t"
    journal = Journal.create(data_dir, "T-TRUST-01", keystore.create_key(data_dir))
    journal.add_ledger_key(old.public_key().hex)
    state = StateStore(data_dir)
    sink = _Sink(state, journal, [], TrustedClock(state))
    page = {"cursor": "", "wallets": [], "cards": [], "campaigns": [],
            "server_time_ms": auth.now_ms(),
            "ledger_keys": [{"key_id": new.public_key().key_id,
                             "public_key": new.public_key().hex, "rotation": None}]}
    sink.apply_snapshot(page, 0)
    assert set(journal.ledger_keys()) == {old.public_key().key_id}
    page["ledger_keys"][0]["rotation"] = trust.sign_rotation(old, new.public_key(), 1)
    sink.apply_snapshot(page, 0)
    assert set(journal.ledger_keys()) == {old.public_key().key_id, new.public_key().key_id}
    journal.close()
    state.close()


def test_https_ledger_with_a_private_ca(tmp_path):
    issued = tlsca.make(tmp_path / "tls")
    server = _seeded(tmp_path, tls=(issued.cert, issued.key, issued.ca))
    try:
        assert server.url.startswith("https://")
        # Without the CA the certificate is not trusted: nothing is set up.
        with pytest.raises(SyncError) as untrusted:
            enroll(tmp_path / "no-ca", server.url, _code(server, issued.ca))
        assert untrusted.value.code == "tls"
        assert not (tmp_path / "no-ca" / "journal.db").exists()
        data_dir = tmp_path / "terminal"
        enroll(data_dir, server.url, _code(server, issued.ca), ca_file=issued.ca)
        with Node(data_dir) as node:
            assert node.sync_once().online
        _backlog(data_dir, SALES)
        with Node(data_dir) as node:
            status = node.sync_once()
        assert status.online and status.pending == 0, status
        # Someone strips TLS: the terminal's https URL now meets a plain-HTTP middle.
        with Mitm(server.url, verify=str(issued.ca)) as middle:
            config = json.loads((data_dir / "terminal.json").read_text())
            config["ledger_url"] = middle.url.replace("http://", "https://")
            (data_dir / "terminal.json").write_text(json.dumps(config))
            _backlog(data_dir, 3, seed=5)
            before = terminal_state(data_dir)
            with Node(data_dir) as node:
                status = node.sync_once()
            assert not status.online and same_state(terminal_state(data_dir), before)
            assert not middle.seen  # not one request went out in clear
    finally:
        server.stop()


def test_answer_rotations_header_is_bounded_and_parsed():
    statement = trust.sign_rotation(ATTACKER, keys.generate().public_key(), 1)
    text = base64.urlsafe_b64encode(canonical.dumps([statement])).decode()
    assert auth.answer_rotations({auth.HEADER_ANSWER_ROTATIONS: text}) == [statement]
    with pytest.raises(auth.AnswerError):
        auth.answer_rotations({auth.HEADER_ANSWER_ROTATIONS: "x" * 10_000})
    with pytest.raises(auth.AnswerError):
        auth.answer_rotations({auth.HEADER_ANSWER_ROTATIONS: "bm90IGpzb24="})


# --- answers a middle garbles or drags out -------------------------------------------------

TRICKLE_GAP_S = 0.1
TRICKLE_TIMEOUT_S = 0.5


class _Raw:
    """A loopback server that answers every request with `answer(request_bytes)`, written by
    `write(sock, data)` (so a test can trickle it)."""

    def __init__(self, answer, write=None) -> None:
        import socket
        import threading

        self.answer, self.write = answer, write or (lambda sock, data: sock.sendall(data))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    request = conn.recv(65536)
                    self.write(conn, self.answer(request))
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


def _client(url: str):
    from sync.client import LedgerClient

    key = keys.generate()
    return LedgerClient(url, "T-RAW-01", key, {ATTACKER.public_key().key_id:
                                               ATTACKER.public_key()})


def _answer(headers: dict[str, str], body: bytes = b"{}") -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            f"{len(body)}\r\n{head}connection: close\r\n\r\n").encode("latin-1") + body


def test_a_trickled_answer_is_cut_off_at_the_exchange_deadline():
    """Each byte comes well within the read timeout, so only a deadline for the whole
    exchange stops it (a trickle of the headers themselves is bounded per read only)."""
    import time as _time

    def trickle(sock, data: bytes) -> None:
        head, body = data.split(b"\r\n\r\n", 1)
        sock.sendall(head + b"\r\n\r\n")  # the headers at once, then the body by the byte
        for i in range(len(body)):
            sock.sendall(body[i:i + 1])
            _time.sleep(TRICKLE_GAP_S)

    server = _Raw(lambda _req: _answer({}, b'{"wallet": "W-1", "lots": []}' + b" " * 200),
                  trickle)
    client = _client(server.url)
    try:
        started = _time.monotonic()
        with pytest.raises(SyncError):
            client._request("GET", "/v1/wallets/W-1", timeout=TRICKLE_TIMEOUT_S)
        assert _time.monotonic() - started < TRICKLE_TIMEOUT_S + 4 * TRICKLE_GAP_S
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize("headers", [
    {auth.HEADER_ANSWER_KEY: "k", auth.HEADER_ANSWER_TIME: "\u00b2",
     auth.HEADER_ANSWER_SIGNATURE: "00"},
    {auth.HEADER_ANSWER_KEY: "unknown", auth.HEADER_ANSWER_TIME: "1",
     auth.HEADER_ANSWER_SIGNATURE: "00",
     auth.HEADER_ANSWER_ROTATIONS: base64.urlsafe_b64encode(
         b'[{"key_id":["x"],"by":"y"}]').decode()},
    {"content-encoding": "gzip"},
], ids=["time_not_ascii_digits", "rotation_with_a_list_for_a_key", "compressed"])
def test_a_garbled_answer_is_a_refusal_not_a_crash(headers):
    server = _Raw(lambda _req: _answer({k: v.encode("utf-8").decode("latin-1")
                                        for k, v in headers.items()}))
    client = _client(server.url)
    try:
        with pytest.raises(SyncError):
            client._request("GET", "/v1/snapshot", timeout=2)
    finally:
        client.close()
        server.close()


def test_the_ledger_answers_a_non_digit_time_with_401_not_500(ledger):
    reply = requests.get(ledger.url + "/v1/snapshot", timeout=ADMIN_TIMEOUT_S, headers={
        auth.HEADER_TERMINAL: "T-NOBODY", auth.HEADER_TIME: "\u00b2".encode().decode("latin-1"),
        auth.HEADER_NONCE: "a" * 32, auth.HEADER_SIGNATURE: "00"})
    assert reply.status_code == 401


@pytest.mark.parametrize(("url", "fingerprint", "ok"), [
    ("https://ledger.town.example", None, True),
    ("http://127.0.0.1:8700", None, True),
    ("http://localhost:8700", None, True),
    ("http://192.0.2.10:8700", None, False),  # in clear to another machine: who answers?
    ("http://192.0.2.10:8700", "3F2A 9C01", True),
    ("ftp://192.0.2.10", None, False),
    ("192.0.2.10:8700", None, False),
])
def test_a_ledger_in_clear_on_another_machine_needs_its_fingerprint(url, fingerprint, ok):
    from terminal.errors import TerminalError
    from terminal.node import check_ledger_url

    if ok:
        assert check_ledger_url(url, fingerprint) == url
    else:
        with pytest.raises(TerminalError):
            check_ledger_url(url, fingerprint)


def test_an_answer_cut_short_is_a_sync_error():
    """The body ends before its content-length: urllib3's own error, read by hand, must come
    out as a SyncError like any other broken exchange."""
    def half(_req: bytes) -> bytes:
        whole = _answer({}, b'{"wallet": "W-1", "lots": []}' + b" " * 500)
        return whole[: len(whole) - 300]

    server = _Raw(half)
    client = _client(server.url)
    try:
        with pytest.raises(SyncError):
            client._request("GET", "/v1/wallets/W-1", timeout=2)
    finally:
        client.close()
        server.close()
