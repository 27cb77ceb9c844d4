"""The town office's console without a browser, on SQLite and PostgreSQL: office accounts
from the CLI, sign-in, signed HttpOnly SameSite=Strict cookies, CSRF, lock-out, what each
role may do, the audit trail, and downloads equal to the CLI's files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import requests

from ledger import reports, service
from ledger.console import accounts
from ledger.console.web import card_ref
from sync import keys
from tests.ledger.helpers import HTTP_TIMEOUT_S, ROOT, LedgerProcess

PASSWORDS = {"vera": "viewer-pass-1", "otto": "operator-pass-1", "ada": "admin-pass-12"}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin"}


@pytest.fixture
def console(ledger_db, tmp_path):
    for name, role in ROLES.items():
        accounts.create_user(ledger_db, name, role, PASSWORDS[name])
    service.create_merchant(ledger_db, "M-SAKURA", "さくら商店", "small", 1)
    service.create_wallet(ledger_db, "card", "W-1")
    service.issue_value(ledger_db, "W-1", "charged", 3_000, "opening")
    card = service.create_card(ledger_db, "W-1")
    server = LedgerProcess(ledger_db.url, tmp_path / "home").start()
    try:
        client = Client(server.url)
        client.card = card
        yield client
    finally:
        server.stop()


class Client(requests.Session):
    """A browser-less client of the real ledger process: paths relative to it, a timeout on
    every request."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.card = ""

    def request(self, method, url, *args, **kw):  # type: ignore[override]
        kw.setdefault("timeout", HTTP_TIMEOUT_S)
        return super().request(method, self.base + url if url.startswith("/") else url,
                               *args, **kw)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: Client, name: str, password: str | None = None):
    form = client.get("/console/login")
    return client.post("/console/login", data={
        "csrf": csrf_of(form.text), "name": name,
        "password": PASSWORDS[name] if password is None else password, "next": ""},
        allow_redirects=False)


def test_a_page_needs_a_session_and_the_cookie_is_safe(console):
    reply = console.get("/console/", allow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/console/login")
    signed = sign_in(console, "vera")
    assert signed.status_code == 303
    cookie = [v for v in signed.raw.headers.getlist("set-cookie")
              if v.startswith("machi_console=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    page = console.get("/console/")
    assert page.status_code == 200 and "概要" in page.text  # Japanese by default
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # a cookie whose signature does not match is no session
    token = console.cookies.get("machi_console")
    console.cookies.clear()
    console.cookies.set("machi_console", token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert console.get("/console/", allow_redirects=False).status_code == 303


def test_english_is_switchable(console):
    sign_in(console, "vera")
    page = console.get("/console/lang/en?next=/console/shops")
    assert page.status_code == 200 and "Shops and terminals" in page.text
    assert 'lang="en"' in page.text


def test_a_wrong_password_is_refused_and_repeated_failures_lock(ledger_db, console):
    for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):
        reply = sign_in(console, "otto", "not-the-password")
        assert "error=refused" in reply.headers["location"]
    reply = sign_in(console, "otto", "not-the-password")
    assert "error=locked" in reply.headers["location"]
    # now even the right password is refused until the lock-out ends
    reply = sign_in(console, "otto")
    assert "error=locked" in reply.headers["location"]
    assert console.get("/console/", allow_redirects=False).status_code == 303
    actions = [a["action"] for a in accounts.audit_log(ledger_db)]
    assert actions.count("sign_in_failed") == accounts.MAX_FAILED_SIGN_INS - 1
    assert "locked_out" in actions
    # an admin lifts it by setting a new password
    accounts.create_user(ledger_db, "otto", "operator", "a-new-password")
    assert sign_in(console, "otto", "a-new-password").headers["location"] == "/console/"


def test_an_unknown_user_gets_the_same_answer(console):
    reply = sign_in(console, "vera", "x" * 12)
    unknown = console.post("/console/login", data={
        "csrf": csrf_of(console.get("/console/login").text), "name": "nobody",
        "password": "x" * 12}, allow_redirects=False)
    assert reply.headers["location"] == unknown.headers["location"]


def test_sign_in_without_the_forms_token_is_refused(console):
    console.get("/console/login")
    reply = console.post("/console/login", data={"name": "vera",
                                                 "password": PASSWORDS["vera"]})
    assert reply.status_code == 403
    assert "machi_console" not in console.cookies


def test_a_form_without_its_csrf_token_is_refused(ledger_db, console):
    sign_in(console, "otto")
    page = console.get("/console/shops/M-SAKURA")
    assert csrf_of(page.text)
    reply = console.post("/console/shops/M-SAKURA/terminals", data={})
    assert reply.status_code == 403
    reply = console.post("/console/shops/M-SAKURA/terminals", data={"csrf": "forged"})
    assert reply.status_code == 403
    with ledger_db.reading() as conn:
        assert conn.value("SELECT COUNT(*) FROM terminals") == 0


def test_a_viewer_cannot_change_anything(ledger_db, console):
    sign_in(console, "vera")
    token = csrf_of(console.get("/console/").text)
    ref = card_ref(console.card)
    attempts = [("/console/shops/M-SAKURA/terminals", {}),
                ("/console/wallets/W-1/block", {"card": ref}),
                ("/console/wallets/W-1/pin", {"card": ref, "pin": "1234"}),
                ("/console/wallets/W-1/pin", {"card": ref, "clear": "1"})]
    for path, form in attempts:
        assert console.post(path, data={"csrf": token, **form}).status_code == 403, path
    shop = console.get("/console/shops/M-SAKURA").text
    assert "端末を追加" not in shop  # no button to press either
    assert "利用停止" not in console.get("/console/wallets/W-1").text.split("<h2>", 3)[-1]
    with ledger_db.reading() as conn:
        assert conn.value("SELECT COUNT(*) FROM terminals") == 0
        assert conn.value("SELECT status FROM cards WHERE card_id = ?", (console.card,)) == "active"


def test_an_operator_acts_and_the_audit_trail_says_who(ledger_db, console):
    sign_in(console, "otto")
    token = csrf_of(console.get("/console/").text)
    made = console.post("/console/shops/M-SAKURA/terminals", data={"csrf": token})
    assert made.status_code == 200
    code = re.search(r'id="enroll-code"[^>]*>([^<]+)<', made.text).group(1)
    assert "<svg" in made.text  # the QR code
    terminal = ledger_db.connection().value("SELECT terminal_id FROM terminals")
    service.enroll(ledger_db, code, keys.generate().public_key().hex)  # the code works
    # an operator may not revoke (an admin's)
    assert console.post(f"/console/terminals/{terminal}/revoke",
                        data={"csrf": token}).status_code == 403
    reply = console.post("/console/wallets/W-1/pin", data={
        "csrf": token, "card": card_ref(console.card), "pin": "4321"})
    assert reply.status_code == 200 and "4321" not in reply.text
    reply = console.post("/console/wallets/W-1/block", data={
        "csrf": token, "card": card_ref(console.card), "replace": "1", "new_card": ""})
    assert reply.status_code == 200 and console.card not in reply.text
    with ledger_db.reading() as conn:
        assert conn.value("SELECT status FROM cards WHERE card_id = ?",
                          (console.card,)) == "blocked"
        assert conn.value("SELECT COUNT(*) FROM cards WHERE wallet_id = 'W-1' AND "
                          "status = 'active'") == 1
    trail = console.get("/console/audit").text
    for action in ("create_terminal", "set_card_pin", "block_card", "sign_in"):
        assert action in trail
    entries = {a["action"]: a for a in accounts.audit_log(ledger_db)}
    assert entries["block_card"]["user"] == "otto"
    assert entries["block_card"]["target"] == "*" * 12 + console.card[-4:]
    assert console.card not in trail and "4321" not in trail


def test_an_admin_revokes_and_creates_a_campaign(ledger_db, console):
    created = service.create_terminal(ledger_db, "M-SAKURA")
    sign_in(console, "ada")
    token = csrf_of(console.get("/console/campaigns").text)
    reply = console.post(f"/console/terminals/{created['terminal_id']}/revoke",
                         data={"csrf": token})
    assert reply.status_code == 200
    with ledger_db.reading() as conn:
        assert conn.value("SELECT status FROM terminals") == "revoked"
    bad = console.post("/console/campaigns", data={"csrf": token},
                       files={"rules": ("c.json", b'{"id": "x"}', "application/json")})
    assert bad.status_code == 400
    # seed 000 (Hokuto): 500 yen spent, 150 yen off — the campaign tests' coupon
    rules = json.dumps({"id": "C-WINTER", "kind": "threshold_coupon", "name": "冬のクーポン",
                        "starts": "2026-11-01", "ends": "2027-03-31", "funder": "city",
                        "tiers": [{"min": 500, "off": 150}]}, ensure_ascii=False).encode()
    good = console.post("/console/campaigns", data={"csrf": token},
                        files={"rules": ("c.json", rules, "application/json")})
    assert good.status_code == 200, good.text
    assert "C-WINTER" in good.text and "冬のクーポン" in good.text
    actions = [a["action"] for a in accounts.audit_log(ledger_db)]
    assert "revoke_terminal" in actions and "create_campaign" in actions


def test_the_settlement_download_is_the_clis_file(ledger_db, console, tmp_path):
    sign_in(console, "vera")
    got = console.get("/console/reports/settlement?month=2026-11&plan=1&format=csv")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    headers, rows = reports.settlement_table(reports.settlement(ledger_db, "2026-11", 1))
    expected = reports.write_table("精算", headers, rows, "csv", tmp_path / "s.csv")
    assert got.content == expected.read_bytes()
    for fmt in ("xlsx", "pdf"):
        reply = console.get(f"/console/reports/settlement?month=2026-11&plan=1&format={fmt}")
        assert reply.status_code == 200 and len(reply.content) > 100


def test_office_user_from_the_cli(ledger_db, tmp_path):
    db_url = ledger_db.url
    run = subprocess.run(
        [sys.executable, "-m", "ledger", "admin", "create-office-user", "--db", db_url,
         "--home", str(tmp_path), "--name", "clerk", "--role", "operator"],
        input="correct horse battery\n", capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "correct horse" not in run.stdout
    with ledger_db.reading() as conn:
        role, stored = conn.one("SELECT role, password FROM office_users WHERE name = 'clerk'")
    assert role == "operator" and stored.startswith("scrypt$")
    assert accounts.password_matches("correct horse battery", stored)
    weak = subprocess.run(
        [sys.executable, "-m", "ledger", "admin", "create-office-user", "--db", db_url,
         "--home", str(tmp_path), "--name", "x", "--role", "viewer"],
        input="short\n", capture_output=True, text=True, cwd=ROOT)
    assert weak.returncode != 0 and "password" in weak.stderr


def test_an_unknown_page_is_the_consoles_404(console):
    sign_in(console, "vera")
    reply = console.get("/console/no-such-page")
    assert reply.status_code == 404 and "見つかりません" in reply.text
    assert console.get("/console/wallets/W-NOPE").status_code == 404
    assert console.get("/console/reports/settlement?month=2026-13").status_code == 400
    # the console without its slash is the console
    assert console.get("/console").url.endswith("/console/")
