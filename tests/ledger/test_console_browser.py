"""The console in a real browser (Debian's chromium, headless, driven by Selenium through
chromedriver) against the real ledger process, on SQLite and PostgreSQL: each role signs in,
opens every page and does what it may; the audit trail names who did it; a viewer and a
form without its CSRF token are refused; every report downloaded from the console equals
the file `python -m ledger report ...` writes.

Skipped, with the reason, only where /usr/bin/chromedriver is not installed (Debian packages
chromium and chromium-driver).

Screenshots of the main pages are written to the test's directory, and also to
$MACHI_CONSOLE_SCREENSHOTS when set (docs/console/ is made so).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import service
from ledger.console import accounts
from ledger.console.web import TODAY_ENV
from sync import keys
from terminal import tally as terminal_tally
from tests.ledger.helpers import ROOT, LedgerProcess
from tests.ledger.test_ingest import Region

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS_ENV = "MACHI_CONSOLE_SCREENSHOTS"
WINDOW_PX = (1280, 1000)
ZOOMED_WIDTH_PX = WINDOW_PX[0] // 2  # what 200 % zoom leaves of the window, in CSS pixels
WAIT_S = 30  # the longest a page or a download may take (a PDF on a busy machine)
DAY = "2026-11-22"  # tests.conftest.StepClock's day: the region's records are dated on it
MONTH = DAY[:7]
PASSWORDS = {"vera": "viewer-pass-1", "otto": "operator-pass-1", "ada": "admin-pass-12"}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin"}

pytestmark = pytest.mark.skipif(
    not CHROMEDRIVER.exists() or not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium and chromium-driver "
           "(/usr/bin/chromium, /usr/bin/chromedriver): apt-get install chromium "
           "chromium-driver")


class Region2(Region):
    """The ingest tests' region with a day of trade at the small shop, closed, and a class
    violation at the large one (a flag to resolve)."""

    def trade(self) -> None:
        for n, (kind, band, area) in enumerate([("app", "30s", "中央"), ("card", "70s", "北部"),
                                                ("card", "80+", "北部")], start=3):
            service.create_wallet(self.db, kind, f"W-{n}", band, area)
        small = self.terminal("M-SMALL")
        paid(small, "W-1", self.exclusive, "premium_exclusive", 1_200)
        paid(small, "W-1", self.charged, "charged", 800)
        terminal_tally.z_close(small, cash_counted=0)
        self.push(small)
        large = self.terminal("M-LARGE")
        # small-shop vouchers at a large shop: a class violation
        paid(large, "W-1", self.exclusive, "premium_exclusive", 500)
        self.push(large)


def paid(journal, wallet: str, lot: str, pocket: str, amount: int):
    """A card payment from one lot, its pocket named as the counter names it."""
    return journal.append("payment", {
        "amount": amount, "wallet": wallet, "decision": "offline",
        "lots": [{"lot": lot, "amount": amount, "pocket": pocket}],
        "credential": {"kind": "card", "id": wallet}})


@pytest.fixture
def site(ledger_db, tmp_path, monkeypatch):
    region = Region2(ledger_db, tmp_path)
    region.trade()
    card = service.create_card(ledger_db, "W-1")
    for name, role in ROLES.items():
        accounts.create_user(ledger_db, name, role, PASSWORDS[name])
    monkeypatch.setenv(TODAY_ENV, DAY)
    server = LedgerProcess(ledger_db.url, tmp_path / "home").start()
    browser = Browser(server.url, tmp_path / "downloads", tmp_path / "shots")
    try:
        yield Site(server, browser, ledger_db, card, tmp_path)
    finally:
        browser.quit()
        server.stop()


class Site:
    def __init__(self, server, browser, db, card, tmp) -> None:
        self.server, self.browser, self.db, self.card, self.tmp = server, browser, db, card, tmp

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ledger", *args, "--db", self.db.url,
                               "--home", str(self.server.home)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)


class Browser:
    def __init__(self, base: str, downloads: Path, shots: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    f"--window-size={WINDOW_PX[0]},{WINDOW_PX[1]}", "--lang=ja"):
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.base = base
        self.downloads = downloads
        self.shots = shots
        downloads.mkdir(parents=True)
        shots.mkdir(parents=True)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
            "behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True})

    def quit(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def css(self, selector: str):
        return self.driver.find_element("css selector", selector)

    def all(self, selector: str):
        return self.driver.find_elements("css selector", selector)

    @property
    def text(self) -> str:
        return self.css("body").text

    @property
    def h1(self) -> str:
        return self.css("h1").text

    def submit(self, element) -> None:
        """Press a form's button and wait for the page it leads to."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.css("html")
        element.click()
        alert = expected_conditions.alert_is_present()(self.driver)
        if alert:
            alert.accept()  # the data-confirm question (revoke, block)
        WebDriverWait(self.driver, WAIT_S).until(expected_conditions.staleness_of(old))

    def sign_in(self, name: str, password: str | None = None) -> None:
        self.open("/console/login")
        self.css("#name").send_keys(name)
        self.css("#password").send_keys(PASSWORDS[name] if password is None else password)
        self.submit(self.css("main form button"))

    def sign_out(self) -> None:
        self.submit(self.css("header form button"))

    def shot(self, name: str) -> None:
        path = self.shots / f"{name}.png"
        assert self.driver.save_screenshot(str(path))
        target = os.environ.get(SCREENSHOTS_ENV)
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(target) / path.name)

    def download(self, link) -> Path:
        """Click a download link; the file once it is whole."""
        from selenium.webdriver.support.ui import WebDriverWait

        before = set(self.downloads.iterdir())
        link.click()

        def done(_driver) -> Path | bool:
            new = [p for p in self.downloads.iterdir() if p not in before
                   and not p.name.endswith(".crdownload")]
            return new[0] if new else False

        return WebDriverWait(self.driver, WAIT_S).until(done)


PAGES = ["/console/", "/console/shops", "/console/shops/M-SMALL", "/console/wallets",
         "/console/wallets/W-1", "/console/campaigns", "/console/reports",
         f"/console/reports/tally?date={DAY}", f"/console/reports/reconcile?date={DAY}",
         f"/console/reports/settlement?month={MONTH}&plan=1",
         f"/console/reports/liability?on={DAY}",
         f"/console/reports/kpi?from={MONTH}-01&to={DAY}", "/console/flags", "/console/audit"]


def test_a_viewer_reads_every_page_and_may_change_nothing(site):
    """The town's sheet of the day: the small shop's two sales, ¥1,200 and ¥800, make net
    sales of ¥2,000, and the large shop's ¥500 another ¥500: ¥2,500 for the town."""
    from selenium.webdriver.common.keys import Keys

    b = site.browser
    b.open("/console/")
    assert "/console/login" in b.driver.current_url
    # signed in with the keyboard alone: the name field has the focus, Tab, Enter
    active = b.driver.switch_to.active_element
    assert active.get_attribute("id") == "name"
    old = b.css("html")
    active.send_keys("vera", Keys.TAB, PASSWORDS["vera"], Keys.ENTER)
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(b.driver, WAIT_S).until(expected_conditions.staleness_of(old))
    assert b.h1.startswith("概要")
    # the first Tab reaches the skip link, which leads to the page's content
    b.css("body").send_keys(Keys.TAB)
    assert b.driver.switch_to.active_element.get_attribute("class") == "skip"
    for path in PAGES:
        b.open(path)
        assert b.h1 and "エラー" not in b.h1, (path, b.text[:300])
        assert site.card not in b.driver.page_source, path  # masked everywhere
    # at 200 % zoom (half the CSS pixels across) no page needs scrolling sideways: the
    # layout reflows, and only a wide table scrolls, in its own box
    b.driver.set_window_size(ZOOMED_WIDTH_PX, 1000)
    for path in PAGES:
        b.open(path)
        page_width = b.driver.execute_script("return document.documentElement.scrollWidth")
        view_width = b.driver.execute_script("return document.documentElement.clientWidth")
        assert page_width <= view_width, (path, page_width, view_width)
    b.open("/console/")
    b.shot("overview-200pct")
    b.driver.set_window_size(*WINDOW_PX)
    b.open(f"/console/reports/tally?date={DAY}&merchant=M-SMALL")
    assert "¥2,000" in b.text
    b.open(f"/console/reports/tally?date={DAY}")
    assert "¥2,500" in b.text
    # no button to change anything
    for path in ("/console/shops/M-SMALL", "/console/wallets/W-1", "/console/flags",
                 "/console/campaigns"):
        b.open(path)
        assert not b.all("main form[method=post]"), path
    # and a change posted with the viewer's own session and CSRF token is refused
    b.open("/console/shops/M-SMALL")
    b.driver.execute_script(
        "var f = document.createElement('form'); f.method = 'post';"
        "f.action = '/console/shops/M-SMALL/terminals';"
        "var t = document.querySelector('header input[name=csrf]').cloneNode();"
        "f.appendChild(t); document.body.appendChild(f); f.submit();")
    b.driver.implicitly_wait(WAIT_S)
    assert "権限がありません" in b.css("p.error").text
    with site.db.reading() as conn:
        assert conn.value("SELECT COUNT(*) FROM terminals") == 2  # the region's two


def test_an_operator_and_an_admin_act_and_the_audit_trail_names_them(site):
    b = site.browser
    b.sign_in("otto")
    b.shot("overview")
    # a new terminal for the small shop: its one-time code as text and QR
    b.open("/console/shops/M-SMALL")
    b.shot("shop")
    b.submit(b.css("main form[action$='/terminals'] button"))
    code = b.css("#enroll-code").text
    assert b.css(".qr svg")
    b.shot("terminal-created")
    made = service.enroll(site.db, code, keys.generate().public_key().hex)
    new_terminal = made["terminal_id"]
    # a PIN set (never shown), then the lost card blocked and replaced
    b.open("/console/wallets/W-1")
    b.css("input[name=pin]").send_keys("4321")
    b.submit(b.css("form[action$='/pin'] button"))
    assert "暗証番号を変更しました" in b.text and "4321" not in b.driver.page_source
    b.css("input[name=replace]").click()
    b.submit(b.css("form[action$='/block'] button"))
    assert "カードを停止しました" in b.text
    b.shot("wallet")
    with site.db.reading() as conn:
        assert conn.value("SELECT status FROM cards WHERE card_id = ?",
                          (site.card,)) == "blocked"
        new_card = conn.value("SELECT card_id FROM cards WHERE wallet_id = 'W-1' AND "
                              "status = 'active'")
    assert new_card and new_card not in b.driver.page_source  # masked
    # the class violation resolved with a comment
    b.open("/console/flags")
    b.shot("flags")
    assert "class_violation" in b.text
    b.css("form[action$='/resolve'] input[name=comment]").send_keys("店に連絡済み")
    b.submit(b.css("form[action$='/resolve'] button"))
    assert "対応済みにしました" in b.text
    b.open("/console/flags?state=resolved")
    assert "otto: 店に連絡済み" in b.text
    # an operator may not revoke: there is no button
    b.open("/console/shops/M-SMALL")
    assert not b.all("form[action$='/revoke']")
    b.sign_out()

    b.sign_in("ada")
    b.open("/console/shops/M-SMALL")
    b.submit(b.css(f"form[action$='/terminals/{new_terminal}/revoke'] button"))
    assert "端末を停止しました" in b.text
    rules = site.tmp / "winter.json"
    # seed 000 (Hokuto): 500 yen spent, 150 yen off
    rules.write_text(json.dumps({"id": "C-WINTER", "kind": "threshold_coupon",
                                 "name": "冬のクーポン", "starts": "2026-11-01",
                                 "ends": "2027-03-31", "funder": "city",
                                 "tiers": [{"min": 500, "off": 150}]}, ensure_ascii=False))
    b.open("/console/campaigns")
    b.css("#rules").send_keys(str(rules))
    b.submit(b.css("form[action$='/campaigns'] button"))
    assert "キャンペーンを登録しました" in b.text and "冬のクーポン" in b.text
    b.shot("campaign")
    b.open("/console/audit")
    b.shot("audit")
    rows = [r.text for r in b.all("#audit tbody tr")]
    expected = {("otto", "create_terminal"), ("otto", "set_card_pin"), ("otto", "block_card"),
                ("otto", "resolve_flag"), ("ada", "revoke_terminal"),
                ("ada", "create_campaign")}
    for user, action in expected:
        assert any(user in row and action in row for row in rows), (user, action)
    assert site.card not in b.driver.page_source and "4321" not in b.driver.page_source
    with site.db.reading() as conn:
        assert conn.value("SELECT status FROM terminals WHERE terminal_id = ?",
                          (new_terminal,)) == "revoked"


def test_a_form_without_its_csrf_token_is_refused(site):
    b = site.browser
    b.sign_in("otto")
    b.open("/console/shops/M-SMALL")
    b.driver.execute_script(
        "document.querySelector(\"form[action$='/terminals'] input[name=csrf]\").remove()")
    b.submit(b.css("form[action$='/terminals'] button"))
    assert "フォームの有効期限が切れました" in b.css("p.error").text
    with site.db.reading() as conn:
        assert conn.value("SELECT COUNT(*) FROM terminals") == 2


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _cells(path: Path) -> list[list]:
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _same(kind: str, fmt: str, ours: Path, theirs: Path) -> None:
    if fmt == "csv":
        assert ours.read_bytes() == theirs.read_bytes(), kind
        assert ours.read_bytes().startswith(b"\xef\xbb\xbf")
    elif fmt == "xlsx":
        assert _cells(ours) == _cells(theirs), kind
    else:
        assert _pdf_text(ours) == _pdf_text(theirs), kind


def test_every_download_equals_the_clis_report(site):
    """Each report as the console gives it and as `python -m ledger report` writes it: the
    CSV byte for byte, the XLSX cell for cell, the PDF's text line for line. The settlement
    of November under plan 1 (seed 001: 1.55 %, base ¥1,100 credited against it): the small
    shop's turnover ¥2,000 is billed the base, ¥1,100."""
    b = site.browser
    b.sign_in("vera")
    cli_dir = site.tmp / "cli"
    cli_dir.mkdir()
    reports = {
        "tally": (f"/console/reports/tally?date={DAY}&merchant=M-SMALL",
                  ["report", "tally", "--date", DAY, "--merchant", "M-SMALL"]),
        "reconcile": (f"/console/reports/reconcile?date={DAY}",
                      ["report", "reconcile", "--date", DAY]),
        "settlement": (f"/console/reports/settlement?month={MONTH}&plan=1",
                       ["report", "settlement", "--month", MONTH, "--plan", "1"]),
        "liability": (f"/console/reports/liability?on={DAY}",
                      ["report", "liability", "--on", DAY]),
        "kpi": (f"/console/reports/kpi?from={MONTH}-01&to={DAY}",
                ["report", "kpi", "--from", f"{MONTH}-01", "--to", DAY]),
    }
    for kind, (page, command) in reports.items():
        b.open(page)
        if kind == "kpi":
            b.shot("kpi")
        if kind == "settlement":
            b.shot("settlement")
            row = [r.text for r in b.all("table tbody tr") if "M-SMALL" in r.text][0]
            assert "2,000" in row and "1,100" in row
        for fmt in ("csv", "xlsx", "pdf"):
            ours = b.download(b.css(f"#download-{fmt}"))
            if kind == "kpi" and fmt == "xlsx":
                # `report kpi` writes CSV and PDF: the workbook holds the CSV's rows
                theirs = cli_dir / "kpi-for-xlsx.csv"
                assert site.cli(*command, "--format", "csv", "--out", str(theirs)
                                ).returncode == 0
                import csv

                with theirs.open(encoding="utf-8-sig", newline="") as handle:
                    lines = [[int(v) if v.lstrip("-").isdigit() else v for v in line]
                             for line in csv.reader(handle)]
                assert _cells(ours) == lines
                continue
            theirs = cli_dir / f"{kind}.{fmt}"
            run = site.cli(*command, "--format", fmt, "--out", str(theirs))
            assert run.returncode in (0, 1), run.stderr  # reconcile: 1 = differences
            _same(kind, fmt, ours, theirs)


def test_english_and_the_lock_out_in_the_browser(site):
    b = site.browser
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        b.sign_in("vera", "wrong-password")
    assert "ロックされています" in b.css("p.error").text
    b.sign_in("vera")  # the right password, still locked
    assert "ロックされています" in b.css("p.error").text
    accounts.create_user(site.db, "vera", "viewer", PASSWORDS["vera"])  # an admin lifts it
    b.sign_in("vera")
    b.css("header .who a[lang=en]").click()
    assert b.css("html").get_attribute("lang") == "en" and "Overview" in b.text
    b.open("/console/reports")
    b.shot("reports-en")
    # the day's sheet in English, as `report tally --lang en` writes it
    b.open(f"/console/reports/tally?date={DAY}")
    assert "Daily tally sheet" in b.text
    ours = b.download(b.css("#download-csv"))
    theirs = site.tmp / "tally-en.csv"
    run = site.cli("report", "tally", "--date", DAY, "--lang", "en", "--format", "csv",
                   "--out", str(theirs))
    assert run.returncode == 0, run.stderr
    assert ours.read_bytes() == theirs.read_bytes()
