"""The ledger's HTTP API under generated and hand-made bad input (DESIGN §10).

Schemathesis reads the real ledger process's `/openapi.json` and generates cases for every
operation, valid and schema-violating, sent by three kinds of caller: nobody (no signature,
no token), a correctly signed, enrolled terminal, and an admin with the bearer token. No
answer may be a 500; every 4xx must be JSON `{"error", "message"}`; answers must match the
document where schemathesis can tell. The hand-written tests then throw the malformed bodies
a broken or hostile client could send at POST /v1/journal and POST /v1/enroll and check,
through the database, that nothing was written and that the ledger keeps answering.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger import demo, service
from ledger.app import MAX_BODY_BYTES, create_app
from ledger.db import Database
from ledger.ingest import MAX_BATCH_RECORDS
from ledger.schema import migrate
from sync import auth, keys
from tests.ledger.helpers import HTTP_TIMEOUT_S, LedgerProcess, Terminal

DEMO_WALLETS = 30
FUZZ_MERCHANT = "M-SAKURA"
# Bounded so the whole file runs in well under a minute; derandomized so a failure found
# once is found again on the next run, on any machine.
FUZZ_SETTINGS = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# POST /v1/journal answers 200 with a per-record `rejected(reason)` for a record that breaks
# the record schema (DESIGN §7), so a schema-violating record inside a well-formed batch is
# not a batch the ledger must refuse; the envelope is still refused with a 4xx.
PER_RECORD_OUTCOMES = "/v1/journal"
DEEP_NESTING = 100_000
RECORD_NESTING = 40


@dataclass
class Ledger:
    """The running ledger, its enrolled terminal and a code still waiting to be used."""

    server: LedgerProcess
    terminal: Terminal
    pending_terminal: str
    pending_code: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("api-fuzz")
    url = f"sqlite:///{root / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    demo.seed_demo(db, DEMO_WALLETS)
    enrolled = service.create_terminal(db, FUZZ_MERCHANT)
    pending = service.create_terminal(db, FUZZ_MERCHANT)
    db.close()
    server = LedgerProcess(url, root / "ledger-home").start()
    terminal = Terminal(server.url, root / "terminal").enroll(enrolled["code"])
    # The real start record, so generated batches meet a chain with a stored head.
    assert terminal.push()["acked_seq"] == 1
    yield Ledger(server, terminal, pending["terminal_id"], pending["code"])
    terminal.close()
    server.stop()


@pytest.fixture(scope="module")
def api_schema(ledger):
    return schemathesis.openapi.from_url(ledger.url + "/openapi.json", timeout=HTTP_TIMEOUT_S)


@pytest.fixture(scope="module")
def session():
    with requests.Session() as http:
        yield http


def _documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, from an app built in-process only to name the
    tests at collection time; the tests themselves read the running ledger's document."""
    app = create_app(Database("sqlite:///unused-by-openapi.db"), keys.generate(), "unused")
    return [(method.upper(), path) for path, item in app.openapi()["paths"].items()
            for method in item]


def _params(operations: list[tuple[str, str]]) -> list:
    return [pytest.param(method, path, id=f"{method} {path}") for method, path in operations]


OPERATIONS = _params(_documented_operations())
ADMIN_OPERATIONS = [op for op in OPERATIONS if op.values[1].startswith("/v1/admin/")]


def _fuzz(ledger: Ledger, api_schema, method: str, path: str, send) -> None:
    """Run `send(case)` on generated cases of one operation, valid and schema-violating;
    the ledger must still answer afterwards."""
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @FUZZ_SETTINGS
    @given(case=cases)
    def run(case) -> None:
        send(case)

    run()
    _assert_healthy(ledger)


# --- sending a generated case ----------------------------------------------------------------


def _prepare(case, session: requests.Session, base_url: str,
             terminal_id: str | None = None) -> requests.PreparedRequest:
    """The exact request a case makes, so its body bytes and path can be signed."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    if terminal_id is not None and isinstance(kwargs.get("json"), dict):
        # A batch naming another terminal than its signer stops at the envelope; name the
        # signer so the generated records reach the ingest's own checks.
        body = copy.deepcopy(kwargs["json"])
        body["terminal_id"] = terminal_id
        for item in body.get("records") or []:
            if isinstance(item, dict):
                item["terminal_id"] = terminal_id
        kwargs["json"] = body
    return session.prepare_request(requests.Request(**kwargs))


def _send(session: requests.Session, prepared: requests.PreparedRequest) -> requests.Response:
    return session.send(prepared, timeout=HTTP_TIMEOUT_S, allow_redirects=False)


def _body_bytes(prepared: requests.PreparedRequest) -> bytes:
    body = prepared.body or b""
    return body.encode("utf-8") if isinstance(body, str) else body


def _check(case, response: requests.Response) -> None:
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", "").startswith("application/json"), \
            response.text[:500]
        answer = response.json()
        assert isinstance(answer, dict) and {"error", "message"} <= answer.keys(), answer
        assert isinstance(answer["error"], str) and isinstance(answer["message"], str), answer
        assert answer["message"], "a refusal says why"
    checks = list(CONFORMANCE_CHECKS)
    if case.path != PER_RECORD_OUTCOMES:
        checks.append(negative_data_rejection)
    case.validate_response(response, checks=checks)


# --- generated cases, three kinds of caller --------------------------------------------------


def test_the_served_document_is_the_one_fuzzed(ledger, api_schema):
    served = {(op.method.upper(), op.path) for op in
              (result.ok() for result in api_schema.get_all_operations())}
    assert served == {tuple(param.values) for param in OPERATIONS}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_unauthenticated_callers_get_4xx_never_500(ledger, api_schema, session, method, path):
    def send(case) -> None:
        response = _send(session, _prepare(case, session, ledger.url))
        _check(case, response)
        if path.startswith(("/v1/journal", "/v1/snapshot", "/v1/wallets", "/v1/admin")):
            assert 400 <= response.status_code < 500

    _fuzz(ledger, api_schema, method, path, send)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_signed_terminal_never_gets_500(ledger, api_schema, session, method, path):
    terminal = ledger.terminal

    def send(case) -> None:
        prepared = _prepare(case, session, ledger.url, terminal.terminal_id)
        # The signature covers the path with its query string and the body exactly as sent.
        prepared.headers.update(auth.sign_request(terminal.key, terminal.terminal_id,
                                                  prepared.method, prepared.path_url,
                                                  _body_bytes(prepared)))
        response = _send(session, prepared)
        _check(case, response)
        if path != "/v1/enroll" and not path.startswith("/v1/admin"):
            assert response.json().get("error") not in ("unsigned", "bad_signature", "skew")

    _fuzz(ledger, api_schema, method, path, send)


@pytest.mark.parametrize(("method", "path"), ADMIN_OPERATIONS)
def test_admin_never_gets_500(ledger, api_schema, session, method, path):
    token = ledger.server.admin_token

    def send(case) -> None:
        prepared = _prepare(case, session, ledger.url)
        prepared.headers["Authorization"] = f"Bearer {token}"
        response = _send(session, prepared)
        _check(case, response)
        assert response.status_code != 401, response.text

    _fuzz(ledger, api_schema, method, path, send)


# --- hand-made malformed bodies --------------------------------------------------------------


def _stored(ledger: Ledger) -> dict:
    """What a refused request must not have changed, read from the database itself."""
    db = ledger.server.db()
    try:
        with db.reading() as conn:
            return {
                "records": conn.all("SELECT terminal_id, seq, hash FROM records ORDER BY 1, 2"),
                "flags": conn.value("SELECT count(*) FROM flags"),
                "postings": conn.value("SELECT count(*) FROM postings"),
                "terminals": conn.all("SELECT terminal_id, status, public_key, last_seq, "
                                      "last_hash FROM terminals ORDER BY terminal_id"),
            }
    finally:
        db.close()


def _assert_refused(response: requests.Response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    answer = response.json()
    assert {"error", "message"} <= answer.keys() and answer["message"], answer
    return answer


def _assert_healthy(ledger: Ledger) -> None:
    reply = requests.get(ledger.url + "/healthz", timeout=HTTP_TIMEOUT_S)
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _envelope(terminal_id: str, records_json: str) -> bytes:
    return f'{{"terminal_id": "{terminal_id}", "records": {records_json}}}'.encode()


def _journal_envelopes(terminal_id: str) -> dict[str, bytes]:
    """Bodies that are not a batch at all: refused whole, with 4xx."""
    batch = {"terminal_id": terminal_id, "records": []}
    return {
        "not JSON": b'{"terminal_id": ',
        "not UTF-8": b"\xff\xfe\x00{}",
        "empty": b"",
        "JSON but not an object": b"[1, 2, 3]",
        "a bare string": b'"records"',
        "records missing": json.dumps({"terminal_id": terminal_id}).encode(),
        "records not a list": json.dumps(dict(batch, records={"seq": 1})).encode(),
        "records a string": json.dumps(dict(batch, records="[]")).encode(),
        "another terminal": json.dumps(dict(batch, terminal_id="T-SOMEONE-ELSE")).encode(),
        "terminal_id not text": json.dumps(dict(batch, terminal_id=7)).encode(),
        "NaN": _envelope(terminal_id, "[NaN]"),
        "Infinity": _envelope(terminal_id, '[{"seq": Infinity}]'),
        "integer past any float": _envelope(terminal_id, "[" + "9" * 400 + "]"),
        "exponent past any float": _envelope(terminal_id, '[{"seq": 1e400}]'),
        "lone surrogate escape": _envelope(terminal_id, '[{"tx_id": "\\ud800"}]'),
        "lone low surrogate escape": _envelope(terminal_id, '["\\udc00"]'),
        "deeply nested": _envelope(terminal_id, _nested(DEEP_NESTING)),
        "too many records": json.dumps(
            dict(batch, records=[{}] * (MAX_BATCH_RECORDS + 1000))).encode(),
    }


def _next_record(ledger: Ledger) -> dict:
    """A real, signed record at the terminal's next seq, to spoil in one place."""
    terminal = ledger.terminal
    assert terminal.journal is not None
    if terminal.journal.last_seq == 1:
        terminal.journal.append("cash_move", {"amount": 1000, "direction": "in"})
    return json.loads(dict(terminal.journal.pending())[2])


def _spoiled_records(ledger: Ledger) -> dict[str, list]:
    """Batches that are well-formed envelopes holding records no ledger may take: answered
    per record with `rejected` and a reason (DESIGN §7), never stored."""
    good = _next_record(ledger)

    def spoil(path: list[str], value) -> dict:
        rec = copy.deepcopy(good)
        target = rec
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value
        return rec

    deep = 1
    for _ in range(RECORD_NESTING):
        deep = [deep]
    return {
        "wrong types": [1, "x", None, [], True, 2.5],
        "fields of wrong types": [spoil(["seq"], "2"), spoil(["body"], []),
                                  spoil(["v"], True), spoil(["sig"], 5)],
        "float in a record": [spoil(["body", "amount"], 1000.0)],
        "float seq": [spoil(["seq"], 2.0)],
        "integer past 2**53": [spoil(["body", "amount"], 2**53 + 1)],
        "integer past 64 bits": [spoil(["body", "amount"], 10**30)],
        "nested past the canonical depth": [spoil(["body", "note"], deep)],
        "missing fields": [{k: v for k, v in good.items() if k != "prev"}],
        "unknown field": [spoil(["extra"], 1)],
    }


def test_malformed_journal_batches_are_refused_and_nothing_is_written(ledger):
    terminal = ledger.terminal
    before = _stored(ledger)
    for name, body in _journal_envelopes(terminal.terminal_id).items():
        answer = _assert_refused(terminal.signed("POST", "/v1/journal", body))
        assert answer["error"] not in ("unsigned", "bad_signature", "skew"), (name, answer)
        assert _stored(ledger) == before, name
        _assert_healthy(ledger)


def test_malformed_records_are_rejected_one_by_one_and_nothing_is_written(ledger):
    terminal = ledger.terminal
    before = _stored(ledger)
    for name, records in _spoiled_records(ledger).items():
        reply = terminal.push_records(records)
        assert reply.status_code == 200, (name, reply.text[:300])
        answer = reply.json()
        assert answer["acked_seq"] == 1, name
        assert len(answer["results"]) == len(records), name
        for result in answer["results"]:
            assert result["status"] == "rejected" and result["reason"], (name, result)
            assert result["message"], (name, result)
        assert _stored(ledger) == before, name
        _assert_healthy(ledger)
    # A well-formed record its terminal did not sign is not stored either, but it is the
    # one refusal that leaves a trace: a fraud flag for the town office (DESIGN §6).
    forged = copy.deepcopy(_next_record(ledger))
    forged["sig"] = "00" * 64
    answer = terminal.push_records([forged]).json()
    assert answer["results"][0]["reason"] == "bad_signature", answer
    after = _stored(ledger)
    assert after["flags"] == before["flags"] + 1
    assert dict(after, flags=before["flags"]) == before


def _raw_request(ledger: Ledger, head: bytes, chunks: list[bytes]) -> tuple[int, dict]:
    """Send a request line and headers, then `chunks`, and read the answer without sending
    the rest: a refusal must come before the client has sent a body it was told to drop."""
    with socket.create_connection(("127.0.0.1", ledger.server.port),
                                  timeout=HTTP_TIMEOUT_S) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        return reply.status, json.loads(reply.read())


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize("path", ["/v1/journal", "/v1/enroll"])
def test_oversized_bodies_are_refused_before_they_are_read(ledger, path):
    before = _stored(ledger)
    head = f"POST {path} HTTP/1.1\r\nHost: ledger\r\nContent-Type: application/json\r\n"
    # A declared length over the limit is refused before a byte of the body is sent.
    declared = f"{head}Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    status, answer = _raw_request(ledger, declared, [])
    assert status == 413 and answer["error"] == "too_large", answer
    # Without a declared length the body is counted as it arrives; one byte over is enough.
    # (The client stops there, so it has nothing unsent when the ledger answers and closes.)
    piece = b"[" * (1 << 20)
    pieces = [_chunk(piece)] * (MAX_BODY_BYTES // len(piece)) + [_chunk(b"[")]
    status, answer = _raw_request(ledger, f"{head}Transfer-Encoding: chunked\r\n\r\n".encode(),
                                  pieces)
    assert status == 413 and answer["error"] == "too_large", answer
    assert _stored(ledger) == before
    _assert_healthy(ledger)


def _enroll_bodies(code: str, public_key: str) -> dict[str, bytes]:
    good = {"code": code, "public_key": public_key}
    return {
        "not JSON": b'{"code": ',
        "not UTF-8": b"\xff\xfe\x00{}",
        "empty": b"",
        "JSON but not an object": json.dumps([code, public_key]).encode(),
        "code missing": json.dumps({"public_key": public_key}).encode(),
        "code a number": json.dumps(dict(good, code=12345678)).encode(),
        "code a float": json.dumps(dict(good, code=1.5)).encode(),
        "code a list": json.dumps(dict(good, code=[code] * 6000)).encode(),
        "code NaN": f'{{"code": NaN, "public_key": "{public_key}"}}'.encode(),
        "code huge integer": f'{{"code": {"9" * 400}, "public_key": "{public_key}"}}'.encode(),
        "code lone surrogate": f'{{"code": "\\ud800", "public_key": "{public_key}"}}'.encode(),
        "code too long": json.dumps(dict(good, code=code * 100)).encode(),
        "deeply nested": f'{{"code": {_nested(DEEP_NESTING)}}}'.encode(),
        "key not hex": json.dumps(dict(good, public_key="zz" * 32)).encode(),
        "key too short": json.dumps(dict(good, public_key=public_key[:-2])).encode(),
        "key lone surrogate": f'{{"code": "{code}", "public_key": "\\udfff"}}'.encode(),
        "key a float": json.dumps(dict(good, public_key=1e300)).encode(),
    }


def test_malformed_enrollments_are_refused_and_the_code_stays_usable(ledger, tmp_path):
    newcomer = Terminal(ledger.url, tmp_path / "newcomer")
    public_key = newcomer.key.public_key().hex
    before = _stored(ledger)
    for name, body in _enroll_bodies(ledger.pending_code, public_key).items():
        reply = requests.post(ledger.url + "/v1/enroll", data=body, timeout=HTTP_TIMEOUT_S,
                              headers={"content-type": "application/json"})
        _assert_refused(reply)
        assert _stored(ledger) == before, name
        _assert_healthy(ledger)
    # Nothing above used the code up: the terminal it was made for still enrolls with it.
    newcomer.enroll(ledger.pending_code)
    assert newcomer.terminal_id == ledger.pending_terminal
    newcomer.close()


def _cursor(position) -> str:
    text = json.dumps(position).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_forged_snapshot_cursors_are_refused(ledger):
    start = {"wallets": [0, ""], "cards": [0, ""], "campaigns": [0, ""]}
    forged = {
        "past BIGINT": dict(start, wallets=[2**70, ""]),
        "negative time": dict(start, cards=[-1, ""]),
        "float time": dict(start, cards=[1.5, ""]),
        "NUL in the key": dict(start, campaigns=[0, "a\u0000b"]),
        "key not text": dict(start, wallets=[0, 5]),
        "feed missing": {"wallets": [0, ""]},
        "not a pair": dict(start, wallets=[0]),
        "not an object": [0, ""],
    }
    cursors = {name: _cursor(value) for name, value in forged.items()}
    cursors.update({"not base64": "%%%", "not JSON": _cursor("x")[:-3] + "AAA",
                    "nested": _cursor(json.loads(_nested(200)))})
    for name, cursor in cursors.items():
        reply = ledger.terminal.signed("GET", "/v1/snapshot?" + urlencode({"cursor": cursor}))
        answer = _assert_refused(reply, 400)
        assert answer["error"] in ("bad_cursor", "invalid"), (name, answer)
        _assert_healthy(ledger)
    # The cursor the ledger hands out still works, signed with its query string.
    first = ledger.terminal.snapshot()
    assert ledger.terminal.snapshot(first["cursor"])["cursor"]


def test_signed_paths_with_escapes_verify(ledger):
    """The signature covers the path as sent, escapes and all: a client may escape any
    character, and only the bytes it sent are something both sides know."""
    terminal = ledger.terminal
    path = "/v1/wallets/W%2DDEMO%2D00001"  # requests would unescape these; http.client won't
    connection = http.client.HTTPConnection("127.0.0.1", ledger.server.port,
                                            timeout=HTTP_TIMEOUT_S)
    try:
        connection.request("GET", path, headers=auth.sign_request(
            terminal.key, terminal.terminal_id, "GET", path))
        reply = connection.getresponse()
        answer = json.loads(reply.read())
    finally:
        connection.close()
    assert reply.status == 200, answer
    assert answer["wallet"] == "W-DEMO-00001"
    _assert_refused(ledger.terminal.signed("GET", "/v1/wallets/%00"), 400)
    _assert_refused(ledger.terminal.signed("GET", "/v1/wallets/%E3%81%82"), 400)
