"""The real ledger process over HTTP on 127.0.0.1, on both engines: enrollment, signed
requests, every way to be refused (401/403, nothing written), snapshots and wallets."""

from __future__ import annotations

import json

import pytest
import requests

from ledger import demo, service
from ledger.ingest import MAX_BATCH_RECORDS
from sync import auth, keys
from tests.ledger.helpers import HTTP_TIMEOUT_S, Terminal, verify_head


@pytest.fixture
def seeded(ledger_server):
    db = ledger_server.db()
    demo.seed_demo(db, 20)
    yield ledger_server, db
    db.close()


def enrolled(server, db, tmp_path, merchant="M-SAKURA", name="t") -> Terminal:
    code = service.create_terminal(db, merchant)["code"]
    return Terminal(server.url, tmp_path / name).enroll(code)


def record_count(db) -> int:
    with db.reading() as conn:
        return conn.value("SELECT count(*) FROM records", default=0)


def charged_lot(db, wallet: str) -> tuple[str, int]:
    with db.reading() as conn:
        return conn.one("SELECT lot_id, remaining FROM lots WHERE wallet_id = ? AND "
                        "pocket = 'charged'", (wallet,))


def test_health_and_openapi(ledger_server):
    assert requests.get(ledger_server.url + "/healthz", timeout=5).json()["status"] == "ok"
    spec = requests.get(ledger_server.url + "/openapi.json", timeout=5).json()
    assert {"/v1/enroll", "/v1/journal", "/v1/snapshot", "/v1/wallets/{wallet_id}"} <= \
        set(spec["paths"])


def test_enroll_push_and_head(seeded, tmp_path):
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    assert term.enrolled["merchant"]["name"] == "さくら商店"
    lot, remaining = charged_lot(db, "W-DEMO-00001")
    term.pay("W-DEMO-00001", [(lot, 1000)])
    answer = term.push()
    assert [r["status"] for r in answer["results"]] == ["created", "created"]
    assert verify_head(answer["head"], term.enrolled["ledger_keys"])["seq"] == 2
    assert term.journal.pending_count() == 0
    view = term.wallet("W-DEMO-00001")
    assert {lot_["lot"]: lot_["remaining"] for lot_ in view["lots"]}[lot] == remaining - 1000


def test_enrollment_code_is_one_time_and_checked(seeded, tmp_path):
    server, db = seeded
    code = service.create_terminal(db, "M-SAKURA")["code"]
    first = Terminal(server.url, tmp_path / "a")
    first.enroll(code.lower().replace("-", " "))  # read out over the phone: forgiving form
    again = requests.post(server.url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                          json={"code": code, "public_key": keys.generate().public_key().hex})
    assert again.status_code == 401 and again.json()["error"] == "bad_code"
    wrong = requests.post(server.url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                          json={"code": "AAAA-BBBB-CCCC", "public_key": "00" * 32})
    assert wrong.status_code == 401
    code2 = service.create_terminal(db, "M-SAKURA")["code"]
    reuse = requests.post(server.url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                          json={"code": code2, "public_key": first.key.public_key().hex})
    assert reuse.status_code == 409
    bad_key = requests.post(server.url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                            json={"code": code2, "public_key": "xyz"})
    assert bad_key.status_code == 400 and "public key" in bad_key.json()["message"]


def test_expired_code(seeded, tmp_path):
    server, db = seeded
    code = service.create_terminal(db, "M-SAKURA")["code"]
    db.transaction(lambda c: c.execute("UPDATE terminals SET code_expires_us = 1"))
    reply = requests.post(server.url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                          json={"code": code, "public_key": keys.generate().public_key().hex})
    assert reply.status_code == 401 and reply.json()["error"] == "code_expired"


def test_every_unauthenticated_request_is_401_and_writes_nothing(seeded, tmp_path):
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    records = [json.loads(data) for _, data in term.journal.pending()]
    body = json.dumps({"terminal_id": term.terminal_id, "records": records}).encode()
    url = server.url + "/v1/journal"
    good = auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal", body)
    cases = {
        "unsigned": {},
        "wrong key": auth.sign_request(keys.generate(), term.terminal_id, "POST",
                                       "/v1/journal", body),
        "other path": auth.sign_request(term.key, term.terminal_id, "POST", "/v1/snapshot",
                                        body),
        "other body": auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal",
                                        body + b" "),
        "skewed": auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal", body,
                                    time_ms=auth.now_ms() - (auth.MAX_SKEW_S + 5) * 1000),
        "not a number": dict(good, **{auth.HEADER_TIME: "soon"}),
        "unenrolled": auth.sign_request(term.key, "T-NOBODY", "POST", "/v1/journal", body),
    }
    for name, headers in cases.items():
        reply = requests.post(url, data=body, timeout=HTTP_TIMEOUT_S,
                              headers=dict(headers, **{"content-type": "application/json"}))
        assert reply.status_code == 401, name
        assert reply.json()["error"] and reply.json()["message"], name
    assert record_count(db) == 0
    reply = requests.post(url, data=body, headers=good, timeout=HTTP_TIMEOUT_S)
    assert reply.status_code == 200 and record_count(db) == 1


def test_revoked_terminal_gets_403_and_writes_nothing(seeded, tmp_path):
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    token = server.admin_token
    reply = requests.post(f"{server.url}/v1/admin/terminals/{term.terminal_id}/revoke",
                          headers={"authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT_S)
    assert reply.status_code == 200
    records = [json.loads(data) for _, data in term.journal.pending()]
    reply = term.push_records(records)
    assert reply.status_code == 403 and reply.json()["error"] == "revoked"
    assert record_count(db) == 0


def test_body_must_name_the_signing_terminal(seeded, tmp_path):
    server, db = seeded
    a = enrolled(server, db, tmp_path, name="a")
    b = enrolled(server, db, tmp_path, name="b")
    records = [json.loads(data) for _, data in b.journal.pending()]
    body = json.dumps({"terminal_id": b.terminal_id, "records": records}).encode()
    reply = a.signed("POST", "/v1/journal", body)
    assert reply.status_code == 400 and record_count(db) == 0


def test_admin_endpoints_need_the_token(seeded, tmp_path):
    server, db = seeded
    url = server.url + "/v1/admin/terminals"
    assert requests.post(url, json={"merchant_id": "M-SAKURA"},
                         timeout=HTTP_TIMEOUT_S).status_code == 401
    assert requests.post(url, json={"merchant_id": "M-SAKURA"}, timeout=HTTP_TIMEOUT_S,
                         headers={"authorization": "Bearer wrong"}).status_code == 401
    ok = requests.post(url, json={"merchant_id": "M-SAKURA"}, timeout=HTTP_TIMEOUT_S,
                       headers={"authorization": f"Bearer {server.admin_token}"})
    assert ok.status_code == 201 and ok.json()["code"]
    term = Terminal(server.url, tmp_path / "via-admin").enroll(ok.json()["code"])
    assert term.terminal_id == ok.json()["terminal_id"]
    flags = requests.get(server.url + "/v1/admin/flags", timeout=HTTP_TIMEOUT_S,
                         headers={"authorization": f"Bearer {server.admin_token}"})
    assert flags.status_code == 200 and flags.json() == []


def test_double_spend_from_two_offline_terminals(seeded, tmp_path):
    server, db = seeded
    a = enrolled(server, db, tmp_path, name="a")
    b = enrolled(server, db, tmp_path, name="b", merchant="M-HOKUTO-GS")
    lot, remaining = charged_lot(db, "W-DEMO-00002")
    a.pay("W-DEMO-00002", [(lot, remaining)])
    b.pay("W-DEMO-00002", [(lot, remaining)])
    a.push()
    b.push()
    view = a.wallet("W-DEMO-00002")
    assert view["status"] == "denied" and view["debt"] == remaining
    snap = b.snapshot()
    statuses = {w["wallet"]: w["status"] for w in snap["wallets"]}
    assert statuses["W-DEMO-00002"] == "denied"
    flags = requests.get(server.url + "/v1/admin/flags", timeout=HTTP_TIMEOUT_S,
                         headers={"authorization": f"Bearer {server.admin_token}"}).json()
    assert [f["kind"] for f in flags] == ["overdraft"]


def test_snapshot_over_http(seeded, tmp_path):
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    snap = term.snapshot()
    assert len(snap["wallets"]) == 20 and len(snap["campaigns"]) == len(demo.CAMPAIGNS)
    assert snap["merchant"]["class"] == "small"
    again = term.snapshot(snap["cursor"])  # within the overlap window rows come again
    assert {w["wallet"] for w in again["wallets"]} <= {w["wallet"] for w in snap["wallets"]}
    bad = term.signed("GET", "/v1/snapshot?cursor=not-ours")
    assert bad.status_code == 400 and bad.json()["error"] == "bad_cursor"
    missing = term.signed("GET", "/v1/wallets/W-NOPE")
    assert missing.status_code == 404


def test_journal_as_lines_is_taken_like_json(seeded, tmp_path):
    """The body the terminals send: one record's canonical bytes per line, for the signing
    terminal. Same answers as the JSON body; too many lines is refused whole."""
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    term.journal.append("cash_move", {"amount": 500, "direction": "in"})
    lines = [data for _, data in term.journal.pending()]
    body = b"\n".join(lines) + b"\n"  # a last newline is allowed
    headers = auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal", body)
    reply = requests.post(server.url + "/v1/journal", data=body, timeout=HTTP_TIMEOUT_S,
                          headers=dict(headers, **{"content-type": "application/x-ndjson"}))
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert [r["status"] for r in answer["results"]] == ["created", "created"]
    assert answer["acked_seq"] == 2 and record_count(db) == 2
    again = term.push_records([json.loads(line) for line in lines]).json()
    assert [r["status"] for r in again["results"]] == ["exists", "exists"]
    too_many = b"\n".join([lines[0]] * (MAX_BATCH_RECORDS + 1))
    headers = auth.sign_request(term.key, term.terminal_id, "POST", "/v1/journal", too_many)
    reply = requests.post(server.url + "/v1/journal", data=too_many, timeout=HTTP_TIMEOUT_S,
                          headers=dict(headers, **{"content-type": "application/x-ndjson"}))
    assert reply.status_code == 413 and reply.json()["error"]


def test_a_replayed_request_is_refused_and_every_answer_is_signed(seeded, tmp_path):
    server, db = seeded
    term = enrolled(server, db, tmp_path)
    pinned = {k["key_id"]: keys.load_public_key_hex(k["public_key"])
              for k in term.enrolled["ledger_keys"]}
    signed = auth.signed_request(term.key, term.terminal_id, "GET", "/v1/snapshot")
    first = requests.get(server.url + "/v1/snapshot", headers=signed.headers,
                         timeout=HTTP_TIMEOUT_S)
    assert first.status_code == 200
    auth.verify_answer(first.headers, term.terminal_id, signed.digest, 200, first.content,
                       pinned)
    again = requests.get(server.url + "/v1/snapshot", headers=signed.headers,
                         timeout=HTTP_TIMEOUT_S)
    assert again.status_code == 401 and again.json()["error"] == "replayed"
    # The refusal is the ledger's too, bound to the request it refuses.
    auth.verify_answer(again.headers, term.terminal_id, signed.digest, 401, again.content,
                       pinned)
    with pytest.raises(auth.AnswerError):  # and to no other request
        auth.verify_answer(again.headers, term.terminal_id, "0" * 64, 401, again.content,
                           pinned)
    no_nonce = {k: v for k, v in auth.sign_request(term.key, term.terminal_id, "GET",
                                                   "/v1/snapshot").items()
                if k != auth.HEADER_NONCE}
    bare = requests.get(server.url + "/v1/snapshot", headers=no_nonce, timeout=HTTP_TIMEOUT_S)
    assert bare.status_code == 401 and bare.json()["error"] == "unsigned"


def test_nonce_cache_forgets_only_what_the_skew_check_refuses_anyway():
    cache = auth.NonceCache(limit=3)
    now = 10**12
    cache.claim("T-1", "a" * 32, now, now)
    with pytest.raises(auth.AuthError) as replayed:
        cache.claim("T-1", "a" * 32, now, now + 1)
    assert replayed.value.code == "replayed"
    cache.claim("T-2", "a" * 32, now, now)  # another terminal's nonce is its own
    cache.claim("T-1", "b" * 32, now, now)
    with pytest.raises(auth.AuthError) as full:  # full of live nonces: none is forgotten
        cache.claim("T-1", "c" * 32, now, now + 2)
    assert full.value.code == "busy"
    later = now + auth.MAX_SKEW_S * 1000 + 1
    cache.claim("T-1", "c" * 32, later, later)  # the old ones expired and made room
    assert len(cache) == 1
