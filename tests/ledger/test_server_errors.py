"""What the real ledger process does when something goes wrong that is no client's fault:
an unexpected error is a JSON 500 in the API's shape, signed, naming the error, its
traceback logged once; a client that goes away in the middle of its body is one log line,
and the ledger goes on serving."""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import pytest
import requests

from ledger import demo, service
from sync import auth, keys
from tests.ledger.helpers import HTTP_TIMEOUT_S, LedgerProcess, Terminal

WALLET = "W-DEMO-00001"
LOG_WAIT_S = 10
LOG_POLL_S = 0.05
# After the line awaited shows up, how long the log is watched for anything more.
LOG_SETTLE_S = 0.5


@pytest.fixture
def served(tmp_path):
    """A ledger process on SQLite (engine-blind behaviour), seeded, with an enrolled
    terminal, and the path of its database file."""
    path = tmp_path / "ledger.db"
    server = LedgerProcess(f"sqlite:///{path}", tmp_path / "ledger-home").start()
    db = server.db()
    demo.seed_demo(db, 3)
    code = service.create_terminal(db, "M-SAKURA")["code"]
    db.close()
    term = Terminal(server.url, tmp_path / "t").enroll(code)
    assert term.signed("GET", f"/v1/wallets/{WALLET}").status_code == 200
    yield server, term, path
    term.close()
    server.stop()


def log_of(server: LedgerProcess) -> str:
    return (server.home.parent / f"ledger-{server.port}.log").read_text()


def wait_in_log(server: LedgerProcess, since: int, *markers: str) -> str:
    """The log written after offset `since`, once it holds one of `markers` (and a moment
    more, for anything that would follow it)."""
    deadline = time.monotonic() + LOG_WAIT_S
    while time.monotonic() < deadline:
        if any(m in log_of(server)[since:] for m in markers):
            time.sleep(LOG_SETTLE_S)
            return log_of(server)[since:]
        time.sleep(LOG_POLL_S)
    raise AssertionError(f"none of {markers} logged in {LOG_WAIT_S} s: {log_of(server)[since:]}")


def test_an_unexpected_error_is_a_signed_json_500_and_one_traceback(served):
    server, term, path = served
    with sqlite3.connect(path) as raw:  # the ledger's database loses a table under it
        raw.execute("ALTER TABLE wallets RENAME TO wallets_away")
    since = len(log_of(server))
    signed = auth.signed_request(term.key, term.terminal_id, "GET", f"/v1/wallets/{WALLET}")
    reply = requests.get(server.url + f"/v1/wallets/{WALLET}", headers=signed.headers,
                         timeout=HTTP_TIMEOUT_S)
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["error"] == "internal"
    assert "no such table: wallets" in body["message"]
    pinned = {k["key_id"]: keys.load_public_key_hex(k["public_key"])
              for k in term.enrolled["ledger_keys"]}
    auth.verify_answer(reply.headers, term.terminal_id, signed.digest, 500, reply.content,
                       pinned)
    logged = wait_in_log(server, since, "Traceback")
    assert logged.count("Traceback") == 1, logged
    assert "GET /v1/wallets/W-DEMO-00001 failed" in logged
    with sqlite3.connect(path) as raw:
        raw.execute("ALTER TABLE wallets_away RENAME TO wallets")
    assert term.signed("GET", f"/v1/wallets/{WALLET}").status_code == 200


def test_a_client_gone_mid_upload_is_one_log_line(served):
    server, term, _ = served
    lot = term.wallet(WALLET)["lots"][0]["lot"]
    term.pay(WALLET, [(lot, 10)])
    records = [json.loads(data) for _, data in term.journal.pending()]
    body = json.dumps({"terminal_id": term.terminal_id, "records": records}).encode()
    headers = auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal", body)
    head = "".join(f"{name}: {value}\r\n" for name, value in {
        **headers, "Host": f"127.0.0.1:{server.port}", "Content-Type": "application/json",
        "Content-Length": str(len(body))}.items())
    since = len(log_of(server))
    with socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT_S) as sock:
        sock.sendall(f"POST /v1/journal HTTP/1.1\r\n{head}\r\n".encode("latin-1"))
        sock.sendall(body[: len(body) // 2])
        time.sleep(LOG_POLL_S)  # the server has begun to read the body
    logged = wait_in_log(server, since, "went away", "Traceback", "Exception")
    assert "Traceback" not in logged, logged
    lines = logged.strip().splitlines()
    assert len(lines) == 1, logged
    assert f"POST /v1/journal: the client went away after {len(body) // 2} of {len(body)} " \
           "bytes of its body" in lines[0]
    # Nothing was taken from the half body, and the ledger goes on serving.
    answer = term.push()
    assert [r["status"] for r in answer["results"]] == ["created", "created"]
