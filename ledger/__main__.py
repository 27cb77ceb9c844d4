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
    python -m ledger check --db URL
    python -m ledger report tally --date D [--merchant M] --format csv|xlsx|pdf --out FILE
                               [--by-staff]      (also the day by staff member)
    python -m ledger report reconcile --date D          (exit 1 when anything differs)
    python -m ledger report settlement --month YYYY-MM --plan 1|2|3 [--format F --out FILE]
    python -m ledger report kpi --from D --to D [--merchant M] --format csv|pdf --out FILE
    python -m ledger report flags [--from D --to D]     (each with what to do)
    python -m ledger report campaigns [--from D --to D] [--format csv|xlsx|pdf|json --out FILE]
    python -m ledger report liability [--on D] [--format csv|xlsx|pdf|json --out FILE]
                                              (the town's money: outstanding, expiring, sold)

The database is `--db URL` (sqlite:///file.db or postgresql://...), else $MACHI_LEDGER_DB,
else a SQLite file in the ledger's home ($MACHI_LEDGER_HOME, else
~/.local/share/machi-pos/ledger), which also holds the ledger's signing key and admin token.
Exit codes: 0 done, 1 refused or inconsistent (the message says why), 2 bad command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from ledger import check, demo, service
from ledger.db import Database, DatabaseError
from ledger.schema import migrate
from ledger.server import DB_ENV, HOME_ENV
from sync import keyfile, keys, pins

DEFAULT_PORT = 8700
DEFAULT_HOST = "127.0.0.1"


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "machi-pos" / "ledger"


def open_db(args: argparse.Namespace) -> Database:
    url = args.db or os.environ.get(DB_ENV) or f"sqlite:///{args.home / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    return db


def _read_pin() -> str:
    """The PIN from standard input (one line): typed, piped, never on the command line."""
    return sys.stdin.readline().strip()


def _print(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2) if not isinstance(value, str) else value)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if bool(args.tls_cert) != bool(args.tls_key):
        raise service.LedgerError("HTTPS needs both --tls-cert and --tls-key")
    for given in (args.tls_cert, args.tls_key):
        if given is not None and not given.is_file():
            raise service.LedgerError(f"no such file: {given}")
    db = open_db(args)
    home = service.LedgerHome(args.home)
    key = home.signing_key()
    service.register_ledger_key(db, key)
    home.admin_token()
    db.close()
    os.environ[DB_ENV] = db.url
    os.environ[HOME_ENV] = str(args.home)
    scheme = "https" if args.tls_cert else "http"
    print(f"ledger on {scheme}://{args.host}:{args.port} ({db.engine}), key "
          f"{keys.fingerprint(key.public_key())}, admin token in "
          f"{args.home / service.ADMIN_TOKEN_FILE}", flush=True)
    tls = {"ssl_certfile": str(args.tls_cert), "ssl_keyfile": str(args.tls_key)} \
        if args.tls_cert else {}
    uvicorn.run("ledger.server:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=False, **tls)
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
    elif action == "flags":
        _print(service.list_flags(db, args.limit))
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


def cmd_seed_demo(args: argparse.Namespace) -> int:
    _print(demo.seed_demo(open_db(args), args.wallets, args.seed, staff=args.staff).text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ledger import reports
    from sync import tally as sheet

    db = open_db(args)
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
            kpi.kpi_pdf(figures, args.out)
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

        found = liability.liability(db, args.on)
        if args.out:
            liability.write(found, args.format, args.out)
        for row in liability.table(found)[1]:
            print("  ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        problems = found.check()
        for problem in problems:
            print(f"does not add up: {problem}", file=sys.stderr)
        return 1 if problems else 0
    elif args.kind == "settlement":
        items = reports.settlement(db, args.month, args.plan)
        headers, rows = reports.settlement_table(items)
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
    db = Database(args.db or os.environ.get(DB_ENV) or f"sqlite:///{args.home / 'ledger.db'}")
    applied = migrate(db)
    print(f"migrations applied: {applied or 'none (up to date)'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database URL (sqlite:///file.db or postgresql://...)")
    common.add_argument("--home", type=Path, default=default_home(),
                        help="the ledger's directory: key, admin token, default database")
    parser = argparse.ArgumentParser(prog="python -m ledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP service")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1, help="processes (one per core)")
    serve.add_argument("--log-level", default="warning")
    serve.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM, "
                       "with its chain); see the README for running behind a reverse proxy")
    serve.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    serve.set_defaults(func=cmd_serve)

    admin = sub.add_parser("admin", help="administer merchants, terminals, wallets, cards")
    actions = admin.add_subparsers(dest="action", required=True)
    a = actions.add_parser("create-merchant", parents=[common])
    a.add_argument("--id", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--class", dest="merchant_class", required=True, choices=("small", "large"))
    a.add_argument("--plan", type=int, required=True, choices=(1, 2, 3))
    a = actions.add_parser("create-terminal", parents=[common])
    a.add_argument("--merchant", required=True)
    a = actions.add_parser("create-wallet", parents=[common])
    a.add_argument("--kind", required=True, choices=service.WALLET_KINDS)
    a.add_argument("--id")
    a.add_argument("--age-band")
    a.add_argument("--area")
    a = actions.add_parser("create-card", parents=[common])
    a.add_argument("--wallet", required=True)
    a.add_argument("--number", help="a printed card's number (default: a new one)")
    a.add_argument("--nfc-uid", help="the card's NFC UID / FeliCa IDm, hex")
    a.add_argument("--pin-stdin", action="store_true",
                   help="read the holder's PIN from standard input (never from the command "
                        "line, where other users and the shell history would see it)")
    a.add_argument("--pin-above", type=int, default=pins.DEFAULT_PIN_ABOVE,
                   help="payments above this many yen ask for the PIN (0: every payment)")
    a = actions.add_parser("set-merchant-setting", parents=[common],
                           help="an offline limit, approval limit or grant cap of a merchant")
    a.add_argument("--merchant", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--value", type=int, required=True)
    a = actions.add_parser("create-staff", parents=[common],
                           help="a staff member of a merchant; the PIN is read from "
                                "standard input")
    a.add_argument("--merchant", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--role", required=True, choices=service.bodies.STAFF_ROLES)
    a = actions.add_parser("set-card-pin", parents=[common])
    a.add_argument("--card", required=True)
    pin_source = a.add_mutually_exclusive_group(required=True)
    pin_source.add_argument("--pin-stdin", action="store_true",
                            help="read the new PIN from standard input")
    pin_source.add_argument("--clear", action="store_true", help="remove the card's PIN")
    a.add_argument("--pin-above", type=int, default=pins.DEFAULT_PIN_ABOVE)
    a = actions.add_parser("issue-value", parents=[common])
    a.add_argument("--wallet", required=True)
    a.add_argument("--pocket", required=True, choices=service.bodies.POCKETS)
    a.add_argument("--amount", type=int, required=True)
    a.add_argument("--funder", required=True)
    a.add_argument("--expires", help="YYYY-MM-DD")
    a.add_argument("--classes", help="comma-separated merchant classes (default: all)")
    a.add_argument("--campaign")
    a = actions.add_parser("create-campaign", parents=[common])
    a.add_argument("--file", required=True)
    a = actions.add_parser("block-card", parents=[common])
    a.add_argument("--card", required=True)
    a.add_argument("--new-card", nargs="?", const="", help="put a new card (or this number) "
                                                           "on the same wallet")
    a = actions.add_parser("move-balance", parents=[common])
    a.add_argument("--from", dest="from_wallet", required=True)
    a.add_argument("--to", dest="to_wallet", required=True)
    a = actions.add_parser("revoke-terminal", parents=[common])
    a.add_argument("--terminal", required=True)
    a = actions.add_parser("issue-certificate", parents=[common])
    a.add_argument("--wallet", required=True)
    a.add_argument("--device-key", required=True, help="the app's public key, hex")
    a.add_argument("--offline-limit", type=int, default=5_000)
    a = actions.add_parser("create-gift-codes", parents=[common])
    a.add_argument("--campaign", required=True, help="a gift_code campaign")
    a.add_argument("--count", type=int, required=True)
    a.add_argument("--value", type=int, help="yen per code (default: the campaign's value)")
    a.add_argument("--pdf", type=Path, help="also write printable QR gift cards (A4) here")
    a = actions.add_parser("flags", parents=[common])
    a.add_argument("--limit", type=int, default=100)
    actions.add_parser("show-key", parents=[common],
                       help="the ledger's signing key and its fingerprint (an installer "
                            "compares it with what a terminal says at enrollment)")
    actions.add_parser("rotate-key", parents=[common],
                       help="make a new signing key, vouched for by the current one")
    admin.set_defaults(func=cmd_admin)

    seed = sub.add_parser("seed-demo", parents=[common], help="fill a demo region")
    seed.add_argument("--wallets", type=int, default=demo.DEFAULT_WALLETS)
    seed.add_argument("--staff", action="store_true",
                      help="give every shop the demo's staff (their PINs: sync.staff)")
    seed.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
    seed.set_defaults(func=cmd_seed_demo)

    report = sub.add_parser("report", help="tally, reconcile, settlement, kpi, flags, campaigns, "
                                                   "liability")
    kinds = report.add_subparsers(dest="kind", required=True)
    r = kinds.add_parser("tally", parents=[common])
    r.add_argument("--date", required=True)
    r.add_argument("--merchant")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="pdf")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--lang", choices=("ja", "en"), default="ja")
    r.add_argument("--by-staff", action="store_true",
                   help="also print the day by staff member: count, yen, approved")
    r = kinds.add_parser("reconcile", parents=[common])
    r.add_argument("--date", required=True)
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv")
    r.add_argument("--out", type=Path)
    r = kinds.add_parser("settlement", parents=[common])
    r.add_argument("--month", required=True, help="YYYY-MM")
    r.add_argument("--plan", type=int, choices=(1, 2, 3), required=True)
    r.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv")
    r.add_argument("--out", type=Path)
    r = kinds.add_parser("kpi", parents=[common])
    r.add_argument("--from", dest="date_from", required=True)
    r.add_argument("--to", dest="date_to", required=True)
    r.add_argument("--merchant")
    r.add_argument("--format", choices=("csv", "pdf"), default="pdf")
    r.add_argument("--out", type=Path, required=True)
    r = kinds.add_parser("campaigns", parents=[common])
    r.add_argument("--from", dest="date_from", default="0000-01-01")
    r.add_argument("--to", dest="date_to", default="9999-12-31")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf", "json"), default="csv")
    r.add_argument("--out", type=Path)
    r = kinds.add_parser("liability", parents=[common],
                         help="outstanding value by pocket and funder, expiring next month, "
                              "voucher money sold/spent/expired")
    r.add_argument("--on", help="the day expiry is judged (YYYY-MM-DD, default today)")
    r.add_argument("--format", choices=("csv", "xlsx", "pdf", "json"), default="csv")
    r.add_argument("--out", type=Path)
    r = kinds.add_parser("flags", parents=[common])
    r.add_argument("--from", dest="date_from", default="0000-01-01")
    r.add_argument("--to", dest="date_to", default="9999-12-31")
    report.set_defaults(func=cmd_report)

    chk = sub.add_parser("check", parents=[common], help="check the ledger's invariants")
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=cmd_check)

    mig = sub.add_parser("migrate", parents=[common], help="apply pending migrations")
    mig.set_defaults(func=cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return args.func(args)
    except service.LedgerError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a report's own refusal (ReportError, TallyError), bad dates
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    except (DatabaseError, keyfile.KeyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
