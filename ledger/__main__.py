"""Command line of the central ledger.

    python -m ledger serve --db URL [--host 127.0.0.1] [--port 8700] [--workers N]
                           [--tls-cert FILE --tls-key FILE]
    python -m ledger admin create-merchant --id M --name NAME --class small|large --plan 1|2|3
    python -m ledger admin create-terminal --merchant M      (prints a one-time enrollment code)
    python -m ledger admin create-wallet --kind app|card     (prints the wallet id)
    python -m ledger admin create-card --wallet W [--number N] [--nfc-uid HEX] [--pin-stdin]
    python -m ledger admin issue-value --wallet W --pocket P --amount YEN --funder F
    python -m ledger admin create-campaign --file rules.json
    python -m ledger admin set-card-pin --card N (--pin-stdin | --clear) [--pin-above YEN]
    python -m ledger admin set-merchant-setting --merchant M --name KEY --value N
    python -m ledger admin create-staff --merchant M --name N --role cashier|booth|manager
                                                             (the PIN from standard input)
    python -m ledger admin block-card --card N [--new-card [N]]
    python -m ledger admin move-balance --from W --to W
    python -m ledger admin revoke-terminal --terminal T
    python -m ledger admin issue-certificate --wallet W --device-key HEX
    python -m ledger admin create-gift-codes --campaign C --count N [--value YEN] [--pdf FILE]
    python -m ledger admin flags
    python -m ledger admin show-key                          (the fingerprint terminals pin)
    python -m ledger admin rotate-key                        (a new key, signed by the old)
    python -m ledger seed-demo --db URL [--wallets N] [--staff]
    python -m ledger admin list-merchants|list-terminals|list-cards|list-staff [--json]
    python -m ledger admin show-wallet --wallet W [--json]
    python -m ledger check --db URL
    python -m ledger migrate --db URL                        (makes a new ledger database)
    python -m ledger backup --db URL --out FILE
    python -m ledger restore --from FILE --db URL [--force]
    python -m ledger report tally --date D [--merchant M] --format csv|xlsx|pdf --out FILE
                               [--by-staff]      (also the day by staff member)
    python -m ledger report reconcile --date D          (exit 1 when anything differs)
    python -m ledger report settlement --month YYYY-MM --plan 1|2|3 [--format F --out FILE]
    python -m ledger report kpi --from D --to D [--merchant M] --format csv|pdf [--lang L] --out F
    python -m ledger report flags [--from D --to D]     (each with what to do)
    python -m ledger report campaigns [--from D --to D] [--format csv|xlsx|pdf|json --out FILE]
    python -m ledger report liability [--on D] [--format csv|xlsx|pdf|json --out FILE]
                                              (the town's money: outstanding, expiring, sold)
    python -m ledger report ... --read-from URL   (read from a standby; says how stale it is)

The database is `--db URL` (sqlite:///file.db or postgresql://...), else $MACHI_LEDGER_DB,
else a SQLite file in the ledger's home ($MACHI_LEDGER_HOME, else
~/.local/share/machi-pos/ledger), which also holds the ledger's signing key and admin token.
`check`, `report`, `admin` and `backup` never make a database: a SQLite file that is not there
is an error (exit 2); `migrate`, `serve`, `seed-demo` and `restore` make one.
Exit codes: 0 done, 1 refused or inconsistent (the message says why, in one line on standard
error), 2 bad command line or no such database. A reader that stops reading (`... | head -1`)
ends the command quietly with 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from ledger import check, demo, observe, ops, service
from ledger.db import Database, DatabaseError, replica_lag
from ledger.errors import LedgerPackageError
from ledger.schema import MIGRATIONS, migrate
from ledger.server import DB_ENV, HOME_ENV
from sync import keyfile, keys, pins, vocab
from sync.clitools import Parser, iso_date, month, positive, writable_file
from sync.clitools import tcp_port as port
from sync.platform import dirs

DEFAULT_PORT = 8700
DEFAULT_HOST = "127.0.0.1"
# Exit codes (see the docstring).
EXIT_REFUSED = 1
EXIT_USAGE = 2


class UsageError(LedgerPackageError):
    """The command line names something that is not there (exit 2, like argparse's)."""

    code = "usage"


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    return dirs.app_data_dir() / "ledger"


def db_url(args: argparse.Namespace) -> str:
    return args.db or os.environ.get(DB_ENV) or f"sqlite:///{args.home / 'ledger.db'}"


def open_db(args: argparse.Namespace, create: bool = False) -> Database:
    """The ledger's database, migrated. Only commands that make a ledger (`create`) may
    start from nothing; the others name a missing SQLite file as an error."""
    url = db_url(args)
    if not create:
        missing = ops.missing_database(url)
        if missing:
            raise UsageError(missing)
    db = Database(url)
    migrate(db)
    return db


def open_reading(args: argparse.Namespace) -> Database:
    """The database a report reads: --read-from (a standby, which takes no writes: it is
    checked to be at this ledger's schema instead of migrated), else the ledger's own.
    How stale a standby is goes to standard error, one line."""
    if not getattr(args, "read_from", None):
        return open_db(args)
    missing = ops.missing_database(args.read_from)
    if missing:
        raise UsageError(missing)
    db = Database(args.read_from)
    with db.reading() as conn:
        try:
            version = conn.value("SELECT max(version) FROM schema_migrations", default=0)
        except Exception as exc:  # noqa: BLE001 - no ledger there at all
            raise DatabaseError(f"no ledger schema at --read-from: {exc}") from None
    if version != MIGRATIONS[-1][0]:
        raise DatabaseError(f"the database at --read-from is at schema {version}, this ledger "
                            f"at {MIGRATIONS[-1][0]}: migrate its primary first")
    print(replica_lag(db).text(), file=sys.stderr)
    return db


def _read_pin() -> str:
    """The PIN from standard input (one line): typed, piped, never on the command line."""
    return sys.stdin.readline().strip()


def _read_password() -> str:
    """An office user's password from standard input (one line), never the command line;
    typed at a terminal, it is not echoed."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


def _print(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2) if not isinstance(value, str) else value)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if bool(args.tls_cert) != bool(args.tls_key):
        raise service.LedgerError("HTTPS needs both --tls-cert and --tls-key")
    for given in (args.tls_cert, args.tls_key):
        if given is not None and not given.is_file():
            raise service.LedgerError(f"no such file: {given}")
    db = open_db(args, create=True)
    home = service.LedgerHome(args.home)
    key = home.signing_key()
    service.register_ledger_key(db, key)
    home.admin_token()
    db.close()
    os.environ[DB_ENV] = db.url
    os.environ[HOME_ENV] = str(args.home)
    os.environ[observe.LOG_LEVEL_ENV] = args.log_level
    if args.log_file:
        os.environ[observe.LOG_FILE_ENV] = str(args.log_file.resolve())
    figures = None
    if args.workers > 1:  # each worker's figures in files here, summed at /metrics
        import tempfile

        figures = tempfile.mkdtemp(prefix="machi-ledger-metrics-")
        os.environ[observe.MULTIPROC_ENV] = figures
    scheme = "https" if args.tls_cert else "http"
    print(f"ledger on {scheme}://{args.host}:{args.port} ({db.engine}), key "
          f"{keys.fingerprint(key.public_key())}, admin token in "
          f"{args.home / service.ADMIN_TOKEN_FILE}", flush=True)
    try:
        uvicorn.run("ledger.server:app_from_env", factory=True, host=args.host,
                    port=args.port, workers=args.workers, log_level=args.log_level,
                    access_log=False,
                    ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
                    ssl_keyfile=str(args.tls_key) if args.tls_key else None)
    finally:
        if figures:
            import shutil

            shutil.rmtree(figures, ignore_errors=True)
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    db = open_db(args)
    action = args.action
    if action == "create-merchant":
        _print(service.create_merchant(db, args.id, args.name, args.merchant_class, args.plan))
    elif action == "create-terminal":
        created = service.create_terminal(db, args.merchant)
        _print(created)
    elif action == "create-wallet":
        _print(service.create_wallet(db, args.kind, args.id, args.age_band, args.area))
    elif action == "create-card":
        _print(service.create_card(db, args.wallet, args.number, args.nfc_uid,
                                   _read_pin() if args.pin_stdin else None, args.pin_above))
    elif action == "set-merchant-setting":
        _print(service.set_merchant_setting(db, args.merchant, args.name, args.value))
    elif action == "create-staff":
        _print(service.create_staff(db, args.merchant, args.name, args.role, _read_pin()))
    elif action == "set-card-pin":
        _print(service.set_card_pin(db, args.card, None if args.clear else _read_pin(),
                                    args.pin_above))
    elif action == "issue-value":
        classes = args.classes.split(",") if args.classes else None
        _print(service.issue_value(db, args.wallet, args.pocket, args.amount, args.funder,
                                   args.expires, classes, args.campaign))
    elif action == "create-campaign":
        try:
            rules = json.loads(Path(args.file).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise service.LedgerError(f"cannot read {args.file}: {exc}") from exc
        _print(service.create_campaign(db, rules))
    elif action == "block-card":
        _print(service.block_card(db, args.card, args.new_card))
    elif action == "move-balance":
        _print(service.move_balance(db, args.from_wallet, args.to_wallet))
    elif action == "revoke-terminal":
        service.set_terminal_status(db, args.terminal, "revoked", "revoked by an admin")
        _print(f"terminal {args.terminal} revoked")
    elif action == "issue-certificate":
        from ledger import certs

        key = service.LedgerHome(args.home).signing_key()
        _print(certs.issue(db, key, args.wallet, args.device_key, args.offline_limit))
    elif action == "create-gift-codes":
        from ledger import reports

        key = service.LedgerHome(args.home).signing_key()
        made = service.create_gift_codes(db, key, args.campaign, args.count, args.value)
        if args.pdf:
            with db.reading() as conn:
                rules = json.loads(conn.value("SELECT rules FROM campaigns WHERE campaign_id = ?",
                                              (args.campaign,)))
            reports.gift_codes_pdf(made, rules["name"], args.pdf, rules.get("expires"))
        for code in made:
            print(code.text())
    elif action == "create-office-user":
        from ledger.console import accounts

        try:
            _print(accounts.create_user(db, args.name, args.role, _read_password()))
        except accounts.AccountError as exc:
            raise service.LedgerError(exc.message) from exc
    elif action == "flags":
        _print(service.list_flags(db, args.limit))
    elif action in LISTINGS:
        rows = LISTINGS[action](db, getattr(args, "merchant", None) or
                                getattr(args, "wallet", None))
        _print(rows if args.json else ops.table(rows))
    elif action == "show-wallet":
        found = ops.show_wallet(db, args.wallet)
        if args.json:
            _print(found)
        else:
            holds, cards = found.pop("holds"), found.pop("cards")
            print(ops.table([found]))
            print(ops.table(holds) if holds else "holds nothing")
            print(ops.table(cards) if cards else "no cards")
    elif action == "show-key":
        key = service.LedgerHome(args.home).signing_key()
        service.register_ledger_key(db, key)
        _print({"key_id": key.public_key().key_id,
                "fingerprint": keys.fingerprint(key.public_key()),
                "public_key": key.public_key().hex})
    elif action == "rotate-key":
        rotated = service.rotate_ledger_key(db, service.LedgerHome(args.home))
        _print(rotated)
        print("restart the ledger's servers: they sign with the new key once started; "
              "terminals pin it from the rotation statement", file=sys.stderr)
    return 0


LISTINGS = {
    "list-merchants": lambda db, _: ops.list_merchants(db),
    "list-terminals": ops.list_terminals,
    "list-cards": ops.list_cards,
    "list-staff": ops.list_staff,
}


def cmd_backup(args: argparse.Namespace) -> int:
    print(ops.backup(db_url(args), args.out))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    print(ops.restore(args.source, db_url(args), args.force))
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    progress = None
    if sys.stderr.isatty():  # a person watching; quiet when piped or run by a program
        def progress(done: int, total: int) -> None:
            print(f"\rwallets {done:,}/{total:,}", end="", file=sys.stderr, flush=True)
    summary = demo.seed_demo(open_db(args, create=True), args.wallets, args.seed,
                             staff=args.staff, progress=progress)
    if progress is not None:
        print(f"\rwallets {args.wallets:,}/{args.wallets:,}", file=sys.stderr)
    _print(summary.text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ledger import reports
    from sync import tally as sheet

    db = open_reading(args)
    if getattr(args, "merchant", None):
        ops.require_merchant(db, args.merchant)
    if args.kind == "tally":
        days = reports.tally(db, args.date, args.merchant)
        if not days:
            raise service.LedgerError(f"no records for {args.date}")
        # several terminals (a two-lane shop, a town): one sheet that keeps the campaign
        # lines, with each terminal's net sales and counted cash on a line of its own
        merged = sheet.merge(days) if len(days) > 1 else days[0]
        out = sheet.export(merged, args.format, args.out, merged.shop_name if args.merchant
                           else "", args.lang)
        print(f"tally of {args.date}: {len(days)} terminal(s), net sales "
              f"¥{merged.net_sales:,} -> {out}")
        if args.by_staff:  # who took what: count, yen, how many a manager approved
            table, names = reports.tally_by_staff(db, args.date, args.merchant)
            for who, what, count, amount, approved in sheet.staff_rows(table, names,
                                                                       args.lang):
                print(f"{who}  {what}  {count}  ¥{amount:,}  approved {approved}")
    elif args.kind == "reconcile":
        found = reports.reconcile(db, args.date)
        headers, rows = reports.reconcile_table(found)
        if args.out:
            reports.write_table(f"照合 {args.date}", headers, rows, args.format, args.out)
        for row in rows:
            print("  ".join(str(v) for v in row))
        print(f"reconcile {args.date}: {len(found)} difference(s)")
        return 1 if found else 0
    elif args.kind == "kpi":
        from ledger import kpi

        figures = kpi.kpi(db, args.date_from, args.date_to, args.merchant)
        if args.format == "pdf":
            kpi.kpi_pdf(figures, args.out, lang=args.lang)
        else:
            kpi.kpi_csv(figures, args.out)
        print(f"KPIs {args.date_from}..{args.date_to} -> {args.out}")
    elif args.kind == "flags":
        from ledger import kpi

        for flag in kpi.flags(db, args.date_from, args.date_to):
            print(f"{flag['kind']:16} wallet {flag.get('wallet_id')}  terminal "
                  f"{flag.get('terminal_id')}  {json.dumps(flag['detail'], ensure_ascii=False)}"
                  f"\n{'':16} -> {flag['action']}")
    elif args.kind == "campaigns":
        items = reports.campaign_report(db, args.date_from, args.date_to)
        headers, rows = reports.campaign_table(items)
        if args.out:
            title = f"キャンペーン {args.date_from}..{args.date_to}"
            if args.format == "json":
                reports.campaign_json(items, args.out)
            else:
                reports.write_table(title, headers, rows, args.format, args.out)
        for row in rows:
            print("  ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    elif args.kind == "liability":
        from ledger import liability

        owed = liability.liability(db, args.on)
        if args.out:
            liability.write(owed, args.format, args.out)
        for row in liability.table(owed)[1]:
            print("  ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        problems = owed.check()
        for problem in problems:
            print(f"does not add up: {problem}", file=sys.stderr)
        return 1 if problems else 0
    elif args.kind == "settlement":
        settled = reports.settlement(db, args.month, args.plan)
        headers, rows = reports.settlement_table(settled)
        if args.out:
            reports.write_table(f"精算 {args.month} プラン{args.plan}", headers, rows,
                                args.format, args.out)
        for row in rows:
            print("  ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    report = check.check(open_db(args))
    if args.json:
        print(check.as_json(report))
    else:
        print(report.summary())
        for problem in report.problems:
            print(f"  - {problem}")
    return 0 if report.ok else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    db = Database(db_url(args))
    applied = migrate(db)
    print(f"migrations applied: {applied or 'none (up to date)'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--db", help="database URL (sqlite:///file.db or postgresql://...)")
    common.add_argument("--home", type=Path, default=default_home(),
                        help="the ledger's directory: key, admin token, default database")
    parser = Parser(prog="python -m ledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(group, name: str, text: str) -> argparse.ArgumentParser:
        return group.add_parser(name, parents=[common], help=text, description=text)

    serve = command(sub, "serve", "run the HTTP service")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    serve.add_argument("--port", type=port, default=DEFAULT_PORT, help="TCP port (1-65535)")
    serve.add_argument("--workers", type=positive, default=1,
                       help="processes (one per core)")
    serve.add_argument("--log-level", default="info", choices=observe.LOG_LEVELS,
                       help="least important log line written (info: a line per request "
                            "and per ingest batch)")
    serve.add_argument("--log-file", type=writable_file,
                       help="write the log here, rotated by size (default: standard error)")
    serve.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM, "
                       "with its chain); see the README for running behind a reverse proxy")
    serve.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    serve.set_defaults(func=cmd_serve)

    admin = sub.add_parser("admin", help="administer merchants, terminals, wallets, cards",
                           description="administer merchants, terminals, wallets, cards")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = command(actions, "create-merchant", "register a shop with its class and fee plan")
    a.add_argument("--id", required=True, help="merchant id, e.g. M-SAKURA")
    a.add_argument("--name", required=True, help="the shop's name as printed")
    a.add_argument("--class", dest="merchant_class", required=True, choices=vocab.MERCHANT_CLASSES,
                   help="small or large shop (which value it may take)")
    a.add_argument("--plan", type=int, required=True, choices=(1, 2, 3), help="fee plan")
    a = command(actions, "create-terminal",
                "add a terminal to a merchant; prints its one-time enrollment code")
    a.add_argument("--merchant", required=True, help="merchant id")
    a = command(actions, "create-wallet", "make a wallet (an app or a card); prints its id")
    a.add_argument("--kind", required=True, choices=service.WALLET_KINDS, help="app or card")
    a.add_argument("--id", help="the wallet id (default: a new one)")
    a.add_argument("--age-band", help="the holder's age band, for the KPIs (e.g. 70s)")
    a.add_argument("--area", help="the holder's area, for the KPIs")
    a = command(actions, "create-card", "issue a card on a wallet; prints its number")
    a.add_argument("--wallet", required=True, help="wallet id")
    a.add_argument("--number", help="a printed card's number (default: a new one)")
    a.add_argument("--nfc-uid", help="the card's NFC UID / FeliCa IDm, hex")
    a.add_argument("--pin-stdin", action="store_true",
                   help="read the holder's PIN from standard input (never from the command "
                        "line, where other users and the shell history would see it)")
    a.add_argument("--pin-above", type=int, default=pins.DEFAULT_PIN_ABOVE,
                   help="payments above this many yen ask for the PIN (0: every payment)")
    a = command(actions, "set-merchant-setting",
                "an offline limit, approval limit or grant cap of a merchant")
    a.add_argument("--merchant", required=True, help="merchant id")
    a.add_argument("--name", required=True, help="the setting's name")
    a.add_argument("--value", type=int, required=True, help="its value (yen or count)")
    a = command(actions, "create-staff",
                "a staff member of a merchant; the PIN is read from standard input")
    a.add_argument("--merchant", required=True, help="merchant id")
    a.add_argument("--name", required=True, help="the member's name")
    a.add_argument("--role", required=True, choices=service.bodies.STAFF_ROLES,
                   help="what the member may do")
    a = command(actions, "set-card-pin", "set or clear a card's PIN")
    a.add_argument("--card", required=True, help="card number")
    pin_source = a.add_mutually_exclusive_group(required=True)
    pin_source.add_argument("--pin-stdin", action="store_true",
                            help="read the new PIN from standard input")
    pin_source.add_argument("--clear", action="store_true", help="remove the card's PIN")
    a.add_argument("--pin-above", type=int, default=pins.DEFAULT_PIN_ABOVE,
                   help="payments above this many yen ask for the PIN")
    a = command(actions, "issue-value", "put value (points, vouchers, ...) on a wallet")
    a.add_argument("--wallet", required=True, help="wallet id")
    a.add_argument("--pocket", required=True, choices=service.bodies.POCKETS,
                   help="which pocket the value goes in")
    a.add_argument("--amount", type=positive, required=True, help="yen")
    a.add_argument("--funder", required=True, help="who pays for it (e.g. council)")
    a.add_argument("--expires", type=iso_date, help="last day it may be spent (YYYY-MM-DD)")
    a.add_argument("--classes", help="comma-separated merchant classes (default: all)")
    a.add_argument("--campaign", help="the campaign it comes from")
    a = command(actions, "create-campaign", "add a campaign from its rules (a JSON file)")
    a.add_argument("--file", required=True, help="the rules, JSON")
    a = command(actions, "block-card", "block a lost card, optionally with a new one")
    a.add_argument("--card", required=True, help="card number")
    a.add_argument("--new-card", nargs="?", const="", help="put a new card (or this number) "
                                                           "on the same wallet")
    a = command(actions, "move-balance", "move everything one wallet holds to another")
    a.add_argument("--from", dest="from_wallet", required=True, help="wallet id")
    a.add_argument("--to", dest="to_wallet", required=True, help="wallet id")
    a = command(actions, "revoke-terminal", "stop a terminal (lost, stolen, retired)")
    a.add_argument("--terminal", required=True, help="terminal id")
    a = command(actions, "issue-certificate",
                "certify an app's device key for offline payments")
    a.add_argument("--wallet", required=True, help="wallet id")
    a.add_argument("--device-key", required=True, help="the app's public key, hex")
    a.add_argument("--offline-limit", type=int, default=5_000,
                   help="yen the app may pay offline")
    a = command(actions, "create-gift-codes", "make gift codes of a gift_code campaign")
    a.add_argument("--campaign", required=True, help="a gift_code campaign")
    a.add_argument("--count", type=positive, required=True, help="how many codes")
    a.add_argument("--value", type=int, help="yen per code (default: the campaign's value)")
    a.add_argument("--pdf", type=writable_file,
                   help="also write printable QR gift cards (A4) here")
    a = command(actions, "create-office-user",
                "an account for the town office's console (/console/); the password is read "
                "from standard input. Run again to set a new password or role")
    a.add_argument("--name", required=True, help="the user's sign-in name")
    a.add_argument("--role", required=True, choices=("viewer", "operator", "admin"),
                   help="viewer: reads; operator: also cards, PINs, flags, new terminals; "
                        "admin: also revokes terminals and creates campaigns")
    a = command(actions, "flags", "the newest flags the ledger raised (JSON)")
    a.add_argument("--limit", type=positive, default=100, help="at most this many")
    command(actions, "show-key", "the ledger's signing key and its fingerprint (an installer "
            "compares it with what a terminal says at enrollment)")
    command(actions, "rotate-key", "make a new signing key, vouched for by the current one")
    a = command(actions, "list-merchants", "the merchants: class, plan, terminals, staff")
    a.add_argument("--json", action="store_true", help="JSON instead of a table")
    a = command(actions, "list-terminals", "the terminals: merchant, status, last record")
    a.add_argument("--merchant", help="only this merchant's")
    a.add_argument("--json", action="store_true", help="JSON instead of a table")
    a = command(actions, "list-cards", "the cards (numbers masked): wallet, status, PIN")
    a.add_argument("--wallet", help="only this wallet's")
    a.add_argument("--json", action="store_true", help="JSON instead of a table")
    a = command(actions, "list-staff", "the staff: merchant, name, role (never a PIN)")
    a.add_argument("--merchant", help="only this merchant's")
    a.add_argument("--json", action="store_true", help="JSON instead of a table")
    a = command(actions, "show-wallet", "one wallet: status, what it holds, its cards")
    a.add_argument("--wallet", required=True, help="wallet id")
    a.add_argument("--json", action="store_true", help="JSON instead of tables")
    admin.set_defaults(func=cmd_admin)

    seed = command(sub, "seed-demo", "fill a demo region (a new ledger only)")
    seed.add_argument("--wallets", type=positive, default=demo.DEFAULT_WALLETS,
                      help="how many demo wallets")
    seed.add_argument("--staff", action="store_true",
                      help="give every shop the demo's staff (their PINs: sync.staff)")
    seed.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                      help="random seed (the same seed, the same region)")
    seed.set_defaults(func=cmd_seed_demo)

    report = sub.add_parser("report", help="tally, reconcile, settlement, kpi, flags, "
                            "campaigns, liability", description="reports from ledger data")
    kinds = report.add_subparsers(dest="kind", required=True, metavar="REPORT")
    out_help = "write the report to this file"
    r = command(kinds, "tally", "the day's 日計表 (tally sheet), by merchant or for the town")
    r.add_argument("--date", type=iso_date, required=True, help="the day, YYYY-MM-DD")
    r.add_argument("--merchant", help="only this merchant")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="pdf", help="file type")
    r.add_argument("--out", type=writable_file, required=True, help=out_help)
    r.add_argument("--lang", choices=("ja", "en"), default="ja", help="the sheet's language")
    r.add_argument("--by-staff", action="store_true",
                   help="also print the day by staff member: count, yen, approved")
    r = command(kinds, "reconcile",
                "each terminal's closes against the ledger's records (exit 1 on a difference)")
    r.add_argument("--date", type=iso_date, required=True, help="the day, YYYY-MM-DD")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv", help="file type")
    r.add_argument("--out", type=writable_file, help=out_help)
    r = command(kinds, "settlement", "what each merchant is paid for a month, by fee plan")
    r.add_argument("--month", type=month, required=True, help="YYYY-MM")
    r.add_argument("--plan", type=int, choices=(1, 2, 3), required=True, help="fee plan")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv", help="file type")
    r.add_argument("--out", type=writable_file, help=out_help)
    r = command(kinds, "kpi", "the town's KPIs over a period")
    r.add_argument("--from", dest="date_from", type=iso_date, required=True,
                   help="first day, YYYY-MM-DD")
    r.add_argument("--to", dest="date_to", type=iso_date, required=True,
                   help="last day, YYYY-MM-DD")
    r.add_argument("--merchant", help="only this merchant")
    r.add_argument("--format", choices=("csv", "pdf"), default="pdf", help="file type")
    r.add_argument("--lang", choices=("ja", "en"), default="ja",
                   help="the PDF charts' language (Japanese unless asked)")
    r.add_argument("--out", type=writable_file, required=True, help=out_help)
    r = command(kinds, "campaigns", "what each campaign did and who funds it")
    r.add_argument("--from", dest="date_from", type=iso_date, default="0001-01-01",
                   help="first day, YYYY-MM-DD")
    r.add_argument("--to", dest="date_to", type=iso_date, default="9999-12-31",
                   help="last day, YYYY-MM-DD")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf", "json"), default="csv",
                   help="file type")
    r.add_argument("--out", type=writable_file, help=out_help)
    r = command(kinds, "liability", "outstanding value by pocket and funder, expiring next "
                "month, voucher money sold/spent/expired")
    r.add_argument("--on", type=iso_date,
                   help="the day expiry is judged (YYYY-MM-DD, default today)")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf", "json"), default="csv",
                   help="file type")
    r.add_argument("--out", type=writable_file, help=out_help)
    r = command(kinds, "flags", "the flags raised in a period, each with what to do")
    r.add_argument("--from", dest="date_from", type=iso_date, default="0001-01-01",
                   help="first day, YYYY-MM-DD")
    r.add_argument("--to", dest="date_to", type=iso_date, default="9999-12-31",
                   help="last day, YYYY-MM-DD")
    for r in kinds.choices.values():
        r.add_argument("--read-from", metavar="URL",
                       help="read from this database instead, e.g. a PostgreSQL standby "
                            "(postgresql://...&target_session_attrs=read-only or any); how "
                            "stale it is is said on standard error")
    report.set_defaults(func=cmd_report)

    chk = command(sub, "check", "check the ledger's invariants (exit 1 if broken)")
    chk.add_argument("--json", action="store_true", help="the report as JSON")
    chk.set_defaults(func=cmd_check)

    mig = command(sub, "migrate", "make a new ledger database or apply pending migrations")
    mig.set_defaults(func=cmd_migrate)

    back = command(sub, "backup", "copy the ledger's database to a file (while it runs)")
    back.add_argument("--out", type=writable_file, required=True, help="the backup file")
    back.set_defaults(func=cmd_backup)

    rest = command(sub, "restore", "put a backup into a database (an empty one, or --force)")
    rest.add_argument("--from", dest="source", type=Path, required=True,
                      help="the backup file")
    rest.add_argument("--force", action="store_true",
                      help="replace what the database holds")
    rest.set_defaults(func=cmd_restore)
    return parser


def _one_line(text: object) -> str:
    """A message on one line (a driver's error may add a hint on a line of its own)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except service.LedgerError as exc:
        print(f"refused: {_one_line(exc.message)}", file=sys.stderr)
        return EXIT_REFUSED
    except (ops.OpsError, DatabaseError, keyfile.KeyFileError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as exc:  # a report's own refusal (ReportError, TallyError), bad dates
        print(f"refused: {_one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:  # a file that cannot be written or read, a port in use
        if isinstance(exc, BrokenPipeError):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error:{where} {_one_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_REFUSED


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        code = run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader went away (`... | head -1`): what it wanted it has; say nothing more,
        # and let no flush at exit write to the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
