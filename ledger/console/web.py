"""The town office's console (issue 21): the ledger's reports and controls in a browser.

Mounted by the ledger's own app at /console/ (ledger.app), so it runs in the same process on
the same database, and every figure it shows or offers for download comes from the code the
CLI's `report` and `admin` commands run (ledger.reports, ledger.kpi, ledger.liability,
sync.tally, ledger.service, ledger.ops): there is no second implementation of a figure here.

Pages are rendered on the server (Jinja2, autoescaped); the only script is a small file
that asks before a revoke or a block. Every asset is in this package (no CDN). Forms are
parsed here (urlencoded, and multipart for the campaign upload) rather than with another
dependency. A change needs a session whose role allows it and the session's CSRF token; it
is written to the audit log with who and when (ledger.console.accounts).
"""

from __future__ import annotations

import csv
import email.parser
import email.policy
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import segno
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import kpi, liability, ops, reports, service
from ledger.console import accounts, i18n
from ledger.console.accounts import AccountError, Session
from ledger.db import Database
from ledger.errors import LedgerPackageError
from ledger.schema import now_us
from sync import cards
from sync import tally as sheet

HERE = Path(__file__).resolve().parent
COOKIE = "machi_console"
LOGIN_COOKIE = "machi_console_login"
LANG_COOKIE = "machi_console_lang"
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 60 * 60
MAX_FORM_BYTES = 256 * 1024  # a campaign's rules file is a few kB
# An active terminal from which no record has arrived for this long is shown as behind
# (a shop that trades every day sends its records at least daily).
BEHIND_AFTER_S = 26 * 60 * 60
# The office's day as the console judges "today" (YYYY-MM-DD): the server's date unless
# this says otherwise (a demo or a test replaying a past day's records).
TODAY_ENV = "MACHI_CONSOLE_TODAY"
SHOPS_SHOWN = 500
HISTORY_SHOWN = 200
FLAGS_SHOWN = 500
MAX_COMMENT_CHARS = 500  # a flag's resolving comment
CARD_REF_CHARS = 20
DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "pdf": "application/pdf"}
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
QR_SCALE = 6  # SVG units per module (the page sizes it; the view box keeps it square)
CHART_WIDTH = 640
CHART_BAR_HEIGHT = 26
CHART_LABEL_WIDTH = 170
CHART_COLOUR = kpi.BAR_COLOUR


class Refused(LedgerPackageError):
    """A request the console refuses: an HTTP status and a message key (i18n.WORDS)."""

    code = "console_refused"

    def __init__(self, status: int, key: str, detail: str = "") -> None:
        super().__init__(key, details={"status": status, "detail": detail})
        self.status = status
        self.key = key
        self.detail = detail


class SignInNeeded(LedgerPackageError):
    """A page asked for without a signed-in session (answered with the sign-in page)."""

    code = "sign_in_needed"


def card_ref(card_id: str) -> str:
    """How a page names a card in a form without printing its number."""
    return hashlib.sha256(b"machi-console/card\n" + card_id.encode()).hexdigest()[
        :CARD_REF_CHARS]


def _when(us: int | None) -> str:
    if not us:
        return ""
    return datetime.fromtimestamp(us / 1_000_000, UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _yen(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def bar_chart(title: str, data: dict[str, int], unit: str = "") -> Markup:
    """A horizontal bar chart as inline SVG (no script, no library): a bar per key, its
    figure written at the bar's end, a title a screen reader reads."""
    rows = list(data.items())
    top = max([v for _, v in rows if v > 0], default=1)
    height = CHART_BAR_HEIGHT * max(len(rows), 1) + 8
    span = CHART_WIDTH - CHART_LABEL_WIDTH - 90
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for n, (key, value) in enumerate(rows):
        y = 4 + n * CHART_BAR_HEIGHT
        width = max(0, round(span * value / top))
        parts.append(f'<text x="{CHART_LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">'
                     f'{escape(str(key))}</text>'
                     f'<rect x="{CHART_LABEL_WIDTH}" y="{y + 3}" width="{width}" height="'
                     f'{CHART_BAR_HEIGHT - 8}" fill="{CHART_COLOUR}"></rect>'
                     f'<text x="{CHART_LABEL_WIDTH + width + 6}" y="{y + 17}">'
                     f'{escape(_yen(value))}{escape(unit)}</text>')
    if not rows:
        parts.append(f'<text x="8" y="20">{escape("—")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def qr_svg(text: str) -> Markup:
    """The enrollment code as a QR code, inline SVG (segno: no image files, no script)."""
    code = segno.make(text, error="m")
    return Markup(code.svg_inline(scale=QR_SCALE, dark="#000", light="#fff", omitsize=True,
                                  svgclass="qrcode"))


# --- forms ------------------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, Any]:
    """The posted form: text fields as str, an uploaded file as bytes (its field's name)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, "invalid_input", f"over {MAX_FORM_BYTES:,} bytes")
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"content-type: " + kind.encode("latin-1") + b"\r\n\r\n" + body)
        form: dict[str, Any] = {}
        if not message.is_multipart():
            raise Refused(400, "invalid_input")
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            form[name] = raw if part.get_filename() is not None else raw.decode("utf-8", "replace")
        return form
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise Refused(400, "invalid_input") from exc
    return {key: values[-1] for key, values in fields.items()}


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


# --- the figures the pages show (each from the CLI's code) -------------------------------------


def overview(db: Database, today: str) -> dict:
    month_start = today[:8] + "01"
    day_figures = kpi.kpi(db, today, today)
    month_figures = kpi.kpi(db, month_start, today)
    now = now_us()
    with db.reading() as conn:
        terminal_rows = conn.all(
            "SELECT t.terminal_id, t.merchant_id, m.name, t.status, t.last_seq, r.received_us, "
            "t.enrolled_us FROM terminals t JOIN merchants m ON m.merchant_id = t.merchant_id "
            "LEFT JOIN records r ON r.terminal_id = t.terminal_id AND r.seq = t.last_seq "
            "ORDER BY t.merchant_id, t.terminal_id")
        open_flags = conn.all("SELECT kind, COUNT(*) FROM flags WHERE resolved_us IS NULL "
                              "GROUP BY kind ORDER BY kind")
        pools = conn.all("SELECT campaign_id, pool, total, granted FROM pools "
                         "ORDER BY campaign_id, pool")
        leases = conn.all("SELECT campaign_id, pool, COUNT(*), SUM(count - used) FROM leases "
                          "WHERE status = 'open' GROUP BY campaign_id, pool "
                          "ORDER BY campaign_id, pool")
    terminals = []
    for tid, mid, name, status, last_seq, received, enrolled in terminal_rows:
        contact = received or enrolled
        behind = status == "active" and (contact is None or
                                         now - contact > BEHIND_AFTER_S * 1_000_000)
        terminals.append({"terminal_id": tid, "merchant_id": mid, "name": name,
                          "status": status, "last_seq": last_seq, "contact": _when(contact),
                          "behind": behind})
    open_leases = {(c, p): (int(n), int(u or 0)) for c, p, n, u in leases}
    found = liability.liability(db, today)
    return {
        "day_volume": day_figures["spent_by_pocket"],
        "month_volume": month_figures["spent_by_pocket"],
        "terminals": terminals, "open_flags": [(k, int(n)) for k, n in open_flags],
        "pools": [{"campaign": c, "pool": p, "total": int(t), "granted": int(g),
                   "leases": open_leases.get((c, p), (0, 0))[0],
                   "on_leases": open_leases.get((c, p), (0, 0))[1]} for c, p, t, g in pools],
        "liability": liability.table(found), "outstanding": found.outstanding,
        "problems": found.check(),
    }


def shops(db: Database, query: str) -> list[dict]:
    rows = ops.list_merchants(db)
    if query:
        q = query.casefold()
        rows = [r for r in rows if q in r["merchant_id"].casefold() or q in r["name"].casefold()]
    return rows[:SHOPS_SHOWN]


def shop(db: Database, merchant_id: str, month: str) -> dict | None:
    merchants = {m["merchant_id"]: m for m in ops.list_merchants(db)}
    found = merchants.get(merchant_id)
    if found is None:
        return None
    settled = [s for s in reports.settlement(db, month, found["plan"])
               if s.merchant_id == merchant_id]
    with db.reading() as conn:
        days = [r[0] for r in conn.all(
            "SELECT DISTINCT substr(r.at, 1, 10) FROM records r JOIN terminals t ON "
            "t.terminal_id = r.terminal_id WHERE t.merchant_id = ? ORDER BY 1 DESC",
            (merchant_id,))]
        # (ops.list_terminals / list_staff with a merchant fail on PostgreSQL: `? IS NULL`
        # on an untyped parameter; the same columns, read here)
        terminals = [{"terminal_id": r[0], "status": r[1], "reason": r[2] or "",
                      "last_seq": r[3]} for r in conn.all(
            "SELECT terminal_id, status, status_reason, last_seq FROM terminals "
            "WHERE merchant_id = ? ORDER BY terminal_id", (merchant_id,))]
        staff = [{"name": r[0], "role": r[1]} for r in conn.all(  # never the PIN hash
            "SELECT name, role FROM staff WHERE merchant_id = ? ORDER BY staff_id",
            (merchant_id,))]
    return {"shop": found, "terminals": terminals, "staff": staff,
            "settlement": reports.settlement_table(settled),
            "days": days[:31], "month": month}


def card_list(db: Database) -> list[dict]:
    """The newest cards, numbers masked (as `admin list-cards` shows them)."""
    with db.reading() as conn:
        rows = conn.all("SELECT card_id, wallet_id, status, pin IS NOT NULL FROM cards "
                        "ORDER BY updated_us DESC, card_id LIMIT ?", (SHOPS_SHOWN,))
    return [{"card": ops.mask_card(r[0]), "wallet_id": r[1], "status": r[2], "pin": bool(r[3])}
            for r in rows]


def find_card(db: Database, number: str) -> str | None:
    """The wallet of a card number as typed (None: no such card)."""
    try:
        card_id = cards.normalize(number)
    except cards.CardNumberError as exc:
        raise Refused(400, "invalid_input", str(exc)) from exc
    with db.reading() as conn:
        return conn.value("SELECT wallet_id FROM cards WHERE card_id = ?", (card_id,))


def wallet_page(db: Database, wallet_id: str) -> dict | None:
    try:
        found = ops.show_wallet(db, wallet_id)
    except ops.OpsError:
        return None
    with db.reading() as conn:
        card_rows = conn.all("SELECT card_id, status, pin IS NOT NULL FROM cards "
                             "WHERE wallet_id = ? ORDER BY card_id", (wallet_id,))
        pattern = '%"wallet":' + json.dumps(wallet_id) + "%"
        record_rows = conn.all("SELECT terminal_id, seq, type, at, record FROM records WHERE "
                               "record LIKE ? ORDER BY at DESC LIMIT ?",
                               (pattern, HISTORY_SHOWN))
        lot_rows = conn.all("SELECT pocket, amount, funder, expires, origin, created_us FROM lots "
                            "WHERE wallet_id = ? ORDER BY created_us DESC LIMIT ?",
                            (wallet_id, HISTORY_SHOWN))
    history = []
    for terminal_id, seq, kind, at, text in record_rows:
        body = json.loads(text).get("body", {})
        if body.get("wallet") != wallet_id:
            continue
        history.append({"at": at[:16].replace("T", " "), "type": kind,
                        "where": f"{terminal_id} #{seq}", "amount": body.get("amount", "")})
    for pocket, amount, funder, _expires, origin, created in lot_rows:
        if origin.startswith("admin"):
            history.append({"at": _when(created), "type": f"issue {pocket}",
                            "where": funder or "", "amount": amount})
    history.sort(key=lambda item: item["at"], reverse=True)
    found["cards"] = [{"card": ops.mask_card(c), "ref": card_ref(c), "status": s,
                       "pin": bool(p)} for c, s, p in card_rows]
    found["history"] = history
    return found


def card_by_ref(db: Database, wallet_id: str, ref: str) -> str:
    with db.reading() as conn:
        numbers = [r[0] for r in conn.all("SELECT card_id FROM cards WHERE wallet_id = ?",
                                          (wallet_id,))]
    for number in numbers:
        if hmac.compare_digest(card_ref(number), ref):
            return number
    raise Refused(404, "not_found")


def campaign_list(db: Database) -> list[dict]:
    with db.reading() as conn:
        rows = conn.all("SELECT c.campaign_id, c.kind, c.rules, c.updated_us, "
                        "(SELECT COUNT(*) FROM campaign_usage u WHERE u.campaign_id = "
                        "c.campaign_id) FROM campaigns c ORDER BY c.campaign_id")
    out = []
    for campaign_id, kind, text, updated, used in rows:
        rules = json.loads(text)
        out.append({"id": campaign_id, "kind": kind, "name": rules.get("name", ""),
                    "period": f"{rules.get('starts', '')} – {rules.get('ends', '')}",
                    "updated": _when(updated), "wallets": int(used)})
    return out


def campaign_page(db: Database, campaign_id: str) -> dict | None:
    with db.reading() as conn:
        row = conn.one("SELECT kind, rules FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        if row is None:
            return None
        leases = conn.all("SELECT lease_id, pool, terminal_id, count, used, status, expires_us "
                          "FROM leases WHERE campaign_id = ? ORDER BY created_us DESC LIMIT ?",
                          (campaign_id, HISTORY_SHOWN))
    figures = [f for f in reports.campaign_report(db) if f.campaign_id == campaign_id]
    headers, rows = reports.campaign_table(figures)
    return {"id": campaign_id, "kind": row[0],
            "rules": json.dumps(json.loads(row[1]), ensure_ascii=False, indent=2),
            "pools": service.pool_view(db, campaign_id),
            "leases": [{"lease": r[0], "pool": r[1], "terminal": r[2], "count": r[3],
                        "used": r[4], "status": r[5], "expires": _when(r[6])} for r in leases],
            "usage": (headers, rows)}


def flag_list(db: Database, kind: str, state: str, lang: str = i18n.DEFAULT_LANG
              ) -> tuple[list[dict], list[str]]:
    with db.reading() as conn:
        kinds = [r[0] for r in conn.all("SELECT DISTINCT kind FROM flags ORDER BY kind")]
        rows = conn.all(
            "SELECT f.flag_id, f.kind, f.terminal_id, f.seq, f.wallet_id, f.detail, "
            "f.created_us, f.resolved_us, r.user_name, r.comment FROM flags f LEFT JOIN "
            "flag_resolutions r ON r.flag_id = f.flag_id WHERE (? = '' OR f.kind = ?) AND "
            "(? = 'all' OR (? = 'open' AND f.resolved_us IS NULL) OR "
            "(? = 'resolved' AND f.resolved_us IS NOT NULL)) "
            "ORDER BY f.created_us DESC, f.flag_id DESC LIMIT ?",
            (kind, kind, state, state, state, FLAGS_SHOWN))
    return [{"id": r[0], "kind": r[1], "terminal": r[2] or "", "seq": r[3] or "",
             "wallet": r[4] or "", "detail": json.dumps(json.loads(r[5]), ensure_ascii=False),
             "at": _when(r[6]), "resolved": _when(r[7]), "by": r[8] or "",
             "comment": r[9] or "", "action": _flag_action(r[1], lang)} for r in rows], kinds


def _flag_action(kind: str, lang: str) -> str:
    """What to do about a flag: ledger.kpi's words (the CLI's), in Japanese where said."""
    if lang == "ja" and kind in i18n.FLAG_ACTIONS_JA:
        return i18n.FLAG_ACTIONS_JA[kind]
    return kpi.ACTIONS.get(kind, "")


def resolve_flag(db: Database, flag_id: str, session: Session, comment: str) -> bool:
    """Mark a flag resolved with the comment, and write it to the audit trail in the same
    transaction; False if it was resolved already (nothing written)."""
    def work(conn: Any) -> bool:
        row = conn.one(f"SELECT resolved_us FROM flags WHERE flag_id = ?{conn.for_update}",
                       (flag_id,))
        if row is None:
            raise Refused(404, "not_found")
        if row[0] is not None:
            return False
        now = now_us()
        conn.execute("UPDATE flags SET resolved_us = ? WHERE flag_id = ?", (now, flag_id))
        conn.execute("INSERT INTO flag_resolutions (flag_id, user_name, comment, resolved_us) "
                     "VALUES (?, ?, ?, ?)", (flag_id, session.user, comment, now))
        accounts.audit(conn, session.user, session.role, "resolve_flag", flag_id,
                       {"comment": comment})
        return True

    return bool(db.transaction(work))


# --- reports: a page's table and the same table as a file ---------------------------------------


def tally_sheet(db: Database, day: str, merchant: str | None) -> sheet.Tally | None:
    """The day's sheet as `report tally` makes it: one terminal's, or several merged."""
    days = reports.tally(db, day, merchant)
    if not days:
        return None
    return sheet.merge(days) if len(days) > 1 else days[0]


def table_report(db: Database, kind: str, args: dict[str, str]
                 ) -> tuple[str, list[str], list[list]]:
    """(title, headers, rows) of reconcile, settlement or liability, as the CLI writes them."""
    if kind == "reconcile":
        day = args["date"]
        headers, rows = reports.reconcile_table(reports.reconcile(db, day))
        return f"照合 {day}", headers, rows
    if kind == "settlement":
        month, plan = args["month"], int(args["plan"])
        headers, rows = reports.settlement_table(reports.settlement(db, month, plan))
        return f"精算 {month} プラン{plan}", headers, rows
    if kind == "liability":
        found = liability.liability(db, args.get("on") or None)
        headers, rows = liability.table(found)
        return f"未使用残高 {found.on}", headers, rows
    raise Refused(404, "not_found")


def kpi_rows(figures: dict, folder: Path) -> tuple[list[str], list[list]]:
    """The KPI table exactly as `report kpi --format csv` writes it, read back."""
    path = kpi.kpi_csv(figures, folder / "kpi.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    return lines[0], [[int(v) if v.lstrip("-").isdigit() else v for v in line]
                      for line in lines[1:]]


def write_download(db: Database, kind: str, args: dict[str, str], fmt: str, folder: Path
                   ) -> Path | None:
    """The report as a file, written by the CLI's own writers; None: nothing to write."""
    if fmt not in DOWNLOAD_TYPES:
        raise Refused(400, "invalid_input", "csv, xlsx or pdf")
    out = folder / f"{kind}.{fmt}"
    if kind == "tally":
        merchant = args.get("merchant") or None
        found = tally_sheet(db, args["date"], merchant)
        if found is None:
            return None
        return sheet.export(found, fmt, out, found.shop_name if merchant else "",
                            args.get("lang", "ja"))
    if kind == "kpi":
        figures = kpi.kpi(db, args["from"], args["to"], args.get("merchant") or None)
        if fmt == "csv":
            return kpi.kpi_csv(figures, out)
        if fmt == "pdf":
            return kpi.kpi_pdf(figures, out)
        headers, rows = kpi_rows(figures, folder)
        return reports.write_table(f"KPI {args['from']}..{args['to']}", headers, rows, fmt, out)
    title, headers, rows = table_report(db, kind, args)
    return reports.write_table(title, headers, rows, fmt, out)


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise Refused(400, "invalid_input", "YYYY-MM-DD") from exc


def _month(text: str) -> str:
    try:
        return date.fromisoformat(text + "-01").isoformat()[:7]
    except ValueError as exc:
        raise Refused(400, "invalid_input", "YYYY-MM") from exc


def report_args(kind: str, query: dict[str, str], today: str) -> dict[str, str]:
    """A report's parameters from the query string, checked, with defaults."""
    if kind in ("tally", "reconcile"):
        out = {"date": _day(query.get("date") or today)}
        if kind == "tally":
            out["merchant"] = query.get("merchant", "")
        return out
    if kind == "settlement":
        plan = query.get("plan") or "1"
        if plan not in ("1", "2", "3"):
            raise Refused(400, "invalid_input", "plan 1, 2 or 3")
        return {"month": _month(query.get("month") or today[:7]), "plan": plan}
    if kind == "liability":
        return {"on": _day(query.get("on") or today)}
    if kind == "kpi":
        return {"from": _day(query.get("from") or today[:8] + "01"),
                "to": _day(query.get("to") or today), "merchant": query.get("merchant", "")}
    raise Refused(404, "not_found")


REPORT_KINDS = ("tally", "reconcile", "settlement", "liability", "kpi")


# --- the application ------------------------------------------------------------------------


def create_console(db: Database, today: Callable[[], str] | None = None) -> FastAPI:
    """The console as an ASGI app, to mount at /console. `today` gives the office's day
    (YYYY-MM-DD; the server's local date unless a test says)."""
    fixed = os.environ.get(TODAY_ENV, "")
    if fixed:
        date.fromisoformat(fixed)  # a wrong day stops the server at once, not a page later
    this_day = today or (lambda: fixed or date.today().isoformat())
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(("html",)), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["yen"] = _yen
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    keys: dict[str, bytes] = {}

    def cookie_key() -> bytes:
        if "cookie" not in keys:
            keys["cookie"] = accounts.cookie_key(db)
        return keys["cookie"]

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "")
        return lang if lang in i18n.LANGS else i18n.DEFAULT_LANG

    def base(request: Request) -> str:
        return request.scope.get("root_path", "") or "/console"

    def page(request: Request, template: str, session: Session | None, status: int = 200,
             **values: Any) -> HTMLResponse:
        lang = lang_of(request)
        body = env.get_template(template).render(
            t=lambda key: i18n.word(key, lang), lang=lang, session=session,
            pocket=lambda name: pocket_name(name, lang),
            root=base(request), path=request.url.path, query=str(request.url.query),
            may=(lambda action: session is not None and session.may(action)),
            notice=request.query_params.get("done", ""), **values)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def pocket_name(pocket: str, lang: str) -> str:
        return liability.POCKET_NAMES.get(pocket, pocket) if lang == "ja" else pocket

    async def current(request: Request) -> Session | None:
        signed = request.cookies.get(COOKIE, "")
        token = accounts.unsign(cookie_key(), signed) if signed else None
        if token is None:
            return None
        return await run_in_threadpool(accounts.session_of, db, token)

    async def signed_in(request: Request) -> Session:
        session = await current(request)
        if session is None:
            raise SignInNeeded()
        return session

    async def posted(request: Request, action: str | None) -> tuple[Session, dict[str, Any]]:
        """The session and form of a POST that changes something: signed in, the form's
        CSRF token the session's, the role allowed to do `action`."""
        session = await signed_in(request)
        form = await read_form(request)
        given = form.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given, session.csrf):
            raise Refused(403, "csrf")
        if action is not None and not session.may(action):
            raise Refused(403, "forbidden")
        return session, form

    def done(request: Request, where: str, notice: str) -> RedirectResponse:
        return RedirectResponse(f"{base(request)}{where}{'&' if '?' in where else '?'}"
                                f"done={notice}", status_code=303)

    @console.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return page(request, "error.html", await current(request), exc.status,
                    key=exc.key, detail=exc.detail)

    @console.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        # an unknown page or a wrong method: the console's error page, not the API's JSON
        return page(request, "error.html", await current(request), exc.status_code,
                    key="not_found" if exc.status_code == 404 else "invalid_input",
                    detail="" if exc.status_code == 404 else str(exc.detail))

    @console.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        if request.method != "GET":
            return page(request, "error.html", None, 401, key="forbidden", detail="")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{base(request)}/login?next={quote(target)}", status_code=303)

    @console.exception_handler(service.LedgerError)
    async def _ledger_error(request: Request, exc: service.LedgerError) -> HTMLResponse:
        return page(request, "error.html", await current(request), exc.status,
                    key="invalid_input", detail=exc.message)

    @console.get("/static/{name}")
    async def static(name: str) -> Response:
        path = HERE / "static" / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise Refused(404, "not_found")
        return FileResponse(path, headers={"cache-control": "max-age=3600",
                                           "x-content-type-options": "nosniff"})

    @console.get("/lang/{lang}")
    async def set_lang(request: Request, lang: str, next: str = "/") -> Response:
        where = next if next.startswith("/") and not next.startswith("//") else "/"
        reply = RedirectResponse(where if where.startswith(base(request)) else
                                 base(request) + "/", status_code=303)
        if lang in i18n.LANGS:
            reply.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE_S,
                             path=base(request), samesite="strict", httponly=True,
                             secure=request.url.scheme == "https")
        return reply

    # -- signing in and out --

    def login_token(pre: str) -> str:
        return accounts.sign(cookie_key(), "login:" + pre).rsplit(".", 1)[1]

    @console.get("/login")
    async def login_form(request: Request, next: str = "") -> Response:
        pre = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        reply = page(request, "login.html", None, csrf=login_token(pre), next=next,
                     error=request.query_params.get("error", ""))
        reply.set_cookie(LOGIN_COOKIE, pre, path=base(request), httponly=True,
                         samesite="strict", secure=request.url.scheme == "https")
        return reply

    @console.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        pre = request.cookies.get(LOGIN_COOKIE, "")
        given = form.get("csrf")
        if not pre or not isinstance(given, str) or not hmac.compare_digest(
                given, login_token(pre)):
            raise Refused(403, "csrf")
        try:
            token, _ = await run_in_threadpool(accounts.sign_in, db, _text(form, "name"),
                                               str(form.get("password", "")))
        except AccountError as exc:
            return RedirectResponse(f"{base(request)}/login?error={exc.code}"
                                    f"&next={quote(_text(form, 'next'))}", status_code=303)
        target = _text(form, "next")
        if not target.startswith(base(request) + "/") or target.startswith("//"):
            target = base(request) + "/"
        reply = RedirectResponse(target, status_code=303)
        reply.set_cookie(COOKIE, accounts.sign(cookie_key(), token), path=base(request),
                         httponly=True, samesite="strict", secure=request.url.scheme == "https",
                         max_age=accounts.SESSION_TTL_S)
        reply.delete_cookie(LOGIN_COOKIE, path=base(request))
        return reply

    @console.post("/logout")
    async def logout(request: Request) -> Response:
        session, _ = await posted(request, None)
        await run_in_threadpool(accounts.sign_out, db, session)
        reply = RedirectResponse(base(request) + "/login", status_code=303)
        reply.delete_cookie(COOKIE, path=base(request))
        return reply

    # -- pages --

    @console.get("/")
    async def home(request: Request) -> Response:
        session = await signed_in(request)
        day = this_day()
        figures = await run_in_threadpool(overview, db, day)
        return page(request, "overview.html", session, day=day, **figures)

    @console.get("/shops")
    async def shop_list(request: Request, q: str = "") -> Response:
        session = await signed_in(request)
        rows = await run_in_threadpool(shops, db, q.strip())
        return page(request, "shops.html", session, rows=rows, q=q)

    @console.get("/shops/{merchant_id}")
    async def shop_page(request: Request, merchant_id: str, month: str = "") -> Response:
        session = await signed_in(request)
        found = await run_in_threadpool(shop, db, merchant_id,
                                        _month(month) if month else this_day()[:7])
        if found is None:
            raise Refused(404, "not_found")
        return page(request, "shop.html", session, **found)

    @console.post("/shops/{merchant_id}/terminals")
    async def add_terminal(request: Request, merchant_id: str) -> Response:
        session, _ = await posted(request, "create_terminal")
        created = await run_in_threadpool(service.create_terminal, db, merchant_id)
        await run_in_threadpool(accounts.record_change, db, session, "create_terminal",
                                created["terminal_id"], {"merchant": merchant_id})
        # shown once, on this answer only: the code is stored hashed (service.create_terminal)
        return page(request, "terminal_created.html", session, created=created,
                    qr=qr_svg(created["code"]))

    @console.post("/terminals/{terminal_id}/revoke")
    async def revoke(request: Request, terminal_id: str) -> Response:
        session, _ = await posted(request, "revoke_terminal")
        with db.reading() as conn:
            merchant = conn.value("SELECT merchant_id FROM terminals WHERE terminal_id = ?",
                                  (terminal_id,))
        if merchant is None:
            raise Refused(404, "not_found")
        await run_in_threadpool(service.set_terminal_status, db, terminal_id, "revoked",
                                f"revoked by {session.user} (console)")
        await run_in_threadpool(accounts.record_change, db, session, "revoke_terminal",
                                terminal_id, {"merchant": merchant})
        return done(request, f"/shops/{quote(merchant)}", "terminal_revoked")

    @console.get("/wallets")
    async def wallets(request: Request, card: str = "", wallet: str = "") -> Response:
        session = await signed_in(request)
        if card.strip():
            found = await run_in_threadpool(find_card, db, card.strip())
            if found is None:
                raise Refused(404, "not_found")
            return RedirectResponse(f"{base(request)}/wallets/{quote(found)}", status_code=303)
        if wallet.strip():
            return RedirectResponse(f"{base(request)}/wallets/{quote(wallet.strip())}",
                                    status_code=303)
        rows = await run_in_threadpool(card_list, db)
        return page(request, "wallets.html", session, rows=rows)

    @console.get("/wallets/{wallet_id}")
    async def wallet(request: Request, wallet_id: str) -> Response:
        session = await signed_in(request)
        found = await run_in_threadpool(wallet_page, db, wallet_id)
        if found is None:
            raise Refused(404, "not_found")
        return page(request, "wallet.html", session, w=found,
                    new_card=request.query_params.get("new_card", ""))

    @console.post("/wallets/{wallet_id}/block")
    async def block(request: Request, wallet_id: str) -> Response:
        session, form = await posted(request, "block_card")
        number = await run_in_threadpool(card_by_ref, db, wallet_id, _text(form, "card"))
        replace = form.get("replace") == "1"
        result = await run_in_threadpool(service.block_card, db, number,
                                         _text(form, "new_card") if replace else None)
        new = result.get("new_card")
        await run_in_threadpool(accounts.record_change, db, session, "block_card",
                                ops.mask_card(number),
                                {"wallet": wallet_id,
                                 **({"new_card": ops.mask_card(new)} if new else {})})
        where = f"/wallets/{quote(wallet_id)}" + (f"?new_card={quote(ops.mask_card(new))}"
                                                 if new else "")
        return done(request, where, "blocked")

    @console.post("/wallets/{wallet_id}/pin")
    async def pin(request: Request, wallet_id: str) -> Response:
        session, form = await posted(request, None)
        clear = form.get("clear") == "1"
        if not session.may("clear_card_pin" if clear else "set_card_pin"):
            raise Refused(403, "forbidden")
        number = await run_in_threadpool(card_by_ref, db, wallet_id, _text(form, "card"))
        new_pin = None if clear else str(form.get("pin", ""))
        await run_in_threadpool(service.set_card_pin, db, number, new_pin)
        await run_in_threadpool(accounts.record_change, db, session,
                                "clear_card_pin" if clear else "set_card_pin",
                                ops.mask_card(number), {"wallet": wallet_id})
        return done(request, f"/wallets/{quote(wallet_id)}", "pin_changed")

    @console.get("/campaigns")
    async def campaign_index(request: Request) -> Response:
        session = await signed_in(request)
        rows = await run_in_threadpool(campaign_list, db)
        return page(request, "campaigns.html", session, rows=rows)

    @console.get("/campaigns/{campaign_id}")
    async def campaign(request: Request, campaign_id: str) -> Response:
        session = await signed_in(request)
        found = await run_in_threadpool(campaign_page, db, campaign_id)
        if found is None:
            raise Refused(404, "not_found")
        return page(request, "campaign.html", session, c=found)

    @console.post("/campaigns")
    async def create_campaign(request: Request) -> Response:
        session, form = await posted(request, "create_campaign")
        raw = form.get("rules")
        if not isinstance(raw, bytes) or not raw:
            raise Refused(400, "invalid_input", "a JSON file")
        try:
            rules = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise Refused(400, "invalid_input", str(exc)) from exc
        campaign_id = await run_in_threadpool(service.create_campaign, db, rules)
        await run_in_threadpool(accounts.record_change, db, session, "create_campaign",
                                campaign_id, {"kind": rules.get("kind", "")})
        return done(request, f"/campaigns/{quote(campaign_id)}", "campaign_created")

    @console.get("/flags")
    async def flags(request: Request, kind: str = "", state: str = "open") -> Response:
        session = await signed_in(request)
        state = state if state in ("open", "resolved", "all") else "open"
        rows, kinds = await run_in_threadpool(flag_list, db, kind, state, lang_of(request))
        return page(request, "flags.html", session, rows=rows, kinds=kinds, kind=kind,
                    state=state, max_comment=MAX_COMMENT_CHARS)

    @console.post("/flags/{flag_id}/resolve")
    async def resolve(request: Request, flag_id: str) -> Response:
        session, form = await posted(request, "resolve_flag")
        comment = _text(form, "comment")[:MAX_COMMENT_CHARS]
        if not comment:
            raise Refused(400, "invalid_input", i18n.word("comment", lang_of(request)))
        await run_in_threadpool(resolve_flag, db, flag_id, session, comment)
        return done(request, "/flags", "flag_resolved")

    @console.get("/audit")
    async def audit(request: Request, action: str = "") -> Response:
        session = await signed_in(request)
        rows = await run_in_threadpool(accounts.audit_log, db, accounts.AUDIT_SHOWN,
                                       action or None)
        for row in rows:
            row["when"] = _when(row["at_us"])
            row["what"] = i18n.action_word(row["action"], lang_of(request))
        return page(request, "audit.html", session, rows=rows, action=action)

    @console.get("/reports")
    async def report_index(request: Request) -> Response:
        session = await signed_in(request)
        merchants = await run_in_threadpool(ops.list_merchants, db)
        day = this_day()
        return page(request, "reports.html", session, merchants=merchants, day=day,
                    month=day[:7], first=day[:8] + "01")

    @console.get("/reports/{kind}")
    async def report(request: Request, kind: str) -> Response:
        session = await signed_in(request)
        if kind not in REPORT_KINDS:
            raise Refused(404, "not_found")
        query = dict(request.query_params)
        args = report_args(kind, query, this_day())
        fmt = query.get("format", "")
        if fmt:
            folder = Path(tempfile.mkdtemp(prefix="machi-console-"))
            # the tally sheet in the console's language (`report tally --lang`)
            out = await run_in_threadpool(write_download, db, kind,
                                          {**args, "lang": lang_of(request)}, fmt, folder)
            if out is None:
                raise Refused(404, "no_records")
            data = out.read_bytes()
            for item in folder.iterdir():
                item.unlink()
            folder.rmdir()
            name = re.sub(r"[^A-Za-z0-9._-]", "-",
                          "_".join([kind, *[v for v in args.values() if v]])) + f".{fmt}"
            return Response(data, media_type=DOWNLOAD_TYPES[fmt], headers={
                **SECURITY_HEADERS,
                "content-disposition": f"attachment; filename=\"{name}\""})
        links = [(fmt, f"{request.url.path}?{request.url.query}&format={fmt}"
                  if request.url.query else f"{request.url.path}?format={fmt}")
                 for fmt in DOWNLOAD_TYPES]
        merchants = await run_in_threadpool(ops.list_merchants, db)
        values: dict[str, Any] = {"kind": kind, "args": args, "links": links,
                                  "merchants": merchants}
        if kind == "tally":
            found = await run_in_threadpool(tally_sheet, db, args["date"],
                                            args["merchant"] or None)
            values["lines"] = sheet.rows(found, lang_of(request)) if found else None
        elif kind == "kpi":
            figures = await run_in_threadpool(kpi.kpi, db, args["from"], args["to"],
                                              args["merchant"] or None)
            folder = Path(tempfile.mkdtemp(prefix="machi-console-"))
            try:
                values["headers"], values["rows"] = kpi_rows(figures, folder)
            finally:
                for item in folder.iterdir():
                    item.unlink()
                folder.rmdir()
            word = lambda key: i18n.word(key, lang_of(request))  # noqa: E731
            charts = [
                ("volume_by_month", figures["volume_by_month"], ""),
                ("users_by_kind", figures["users"]["by_kind"], ""),
                ("users_by_age", dict(sorted(figures["users"]["by_age_band"].items())), ""),
                ("users_by_area", figures["users"]["by_area"], ""),
                ("share_by_credential", figures["share_by_credential_pct"], "%"),
                ("repeat_rate", {k: v["repeat_rate_pct"] for k, v in
                                 figures["shops"].items()}, "%"),
            ]
            values["charts"] = [(word(key), bar_chart(word(key), data, unit))
                                for key, data, unit in charts]
        else:
            title, headers, rows = await run_in_threadpool(table_report, db, kind, args)
            values.update(title=title, headers=headers, rows=rows)
            if kind == "liability":
                found_liability = await run_in_threadpool(liability.liability, db, args["on"])
                values["problems"] = found_liability.check()
        return page(request, "report.html", session, **values)

    return console
