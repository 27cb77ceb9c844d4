"""Command line of the terminal (`--data DIR` is the terminal's directory everywhere).

    python -m terminal enroll --ledger URL --code CODE
    python -m terminal sync                    push and pull once; exit 1 if anything was refused
    python -m terminal status [--quick]        exit 1 when the storage is damaged
    python -m terminal balance --card N | --nfc UID | --wallet W [--offline] [--staff S]
                                    (--staff: signed in as S, the PIN from standard input)
                                               (--wallet: the admin's look-up, read only)
    python -m terminal simulate --sales N [--offline] [--seed S]
    python -m terminal tally [--date YYYY-MM-DD] --format csv|xlsx|pdf --out FILE [--by-staff]
    python -m terminal close [--counted YEN] [--shift] [--staff S [--approver M]]
                             [--approved-by M]  close the day (Z) or a shift with a signed
                                               day_close; a second Z the same day is refused
                                               unless a manager approved it (PINs on stdin)
    python -m terminal journal verify|export  export: what verifies, and how to re-enroll
    python -m terminal repair rebuild-state    a damaged state.db: a fresh snapshot

A register drives the counter (terminal.register; each prints one JSON object):
    python -m terminal sale --credential TEXT|--nfc UID --amount YEN [--excluded YEN]
                            [--people N] [--tag WORD]... [--pin-stdin]
    python -m terminal charge --credential TEXT|--nfc UID --amount YEN
    python -m terminal voucher --credential TEXT|--nfc UID --campaign C --price YEN
    python -m terminal grant --credential TEXT|--nfc UID --campaign C | --points PT [--funder F]
    python -m terminal refund --tx TX [--amount YEN]
    python -m terminal void --tx TX
    python -m terminal issue-card --card N [--age-band B] [--area A] [--nfc-uid HEX]
                                  [--pin-stdin] [--pin-above YEN]
    python -m terminal ride --credential TEXT|--nfc UID
    python -m terminal exchange --credential TEXT|--nfc UID --campaign C [--steps N]
    python -m terminal redeem --credential TEXT|--nfc UID --gift CODE
    python -m terminal cash --amount YEN --direction in|out [--reason TEXT]
    python -m terminal serve-register [--port P]   the same over HTTP on 127.0.0.1, with a
                                                   bearer token (terminal.register_http)

Exit codes: 0 done; 1 refused, unreachable, the journal does not verify or the storage is
damaged (the message says why); 2 the command line was wrong. The register's actions: 0
approved, 3 refused by the counter, 2 bad input, 1 the terminal cannot act. Bad input is one
line on standard error, never a traceback; a reader that stops reading (`... | head -1`)
ends the command quietly; a long command shows a spinner on standard error when it is a
terminal, and nothing when it is piped.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path

from sync import clitools, keys
from terminal import audit, health, keystore, paths
from terminal.errors import JournalBroken, TerminalError
from terminal.journal import Journal

EXIT_OK = 0
EXIT_BROKEN = 1


def _journal_verify(args: argparse.Namespace) -> int:
    try:
        if args.jsonl:
            with open(args.jsonl, "rb") as fh:
                report = audit.verify_lines(fh)
        else:
            with clitools.working("verifying every record's chain and signature"):
                report = audit.verify_journal(args.data)
    except JournalBroken as exc:
        print(f"journal BROKEN at seq {exc.seq}: {exc.reason} [{exc.code}]")
        return EXIT_BROKEN
    except TerminalError as exc:
        print(f"journal NOT verified: {exc}")
        return EXIT_BROKEN
    except OSError as exc:  # an exported file that is not there or cannot be read
        print(f"error: cannot read {args.jsonl}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BROKEN
    print(report.summary())
    return EXIT_OK


def _journal_export(args: argparse.Namespace) -> int:
    from terminal.repair import REENROLL_STEPS

    try:
        with clitools.working(f"exporting the journal to {args.out}"):
            report = audit.export_lines(args.data, args.out)
    except (TerminalError, OSError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    if report.broken is None:
        print(f"exported {report.count} records to {args.out}")
        return EXIT_OK
    broken = report.broken
    print(f"exported the {report.count} records that verify (seq 1..{report.count}) to "
          f"{args.out}; the journal is DAMAGED at seq {broken.seq}: {broken.reason} "
          f"[{broken.code}], and what follows is not exported.")
    print("This terminal cannot go on with this journal. To go on selling:")
    for step in REENROLL_STEPS:
        print("  " + step)
    return EXIT_BROKEN


def _node(args: argparse.Namespace, offline: bool = False):
    from terminal.node import Node

    return Node(args.data, offline=offline or getattr(args, "offline", False),
                clock_sources=getattr(args, "clock_sources", None))


def _cmd_enroll(args: argparse.Namespace) -> int:
    from terminal.node import enroll

    with clitools.working(f"enrolling with {args.ledger}"):
        answer = enroll(args.data, args.ledger, args.code, keystore.passphrase_from_env(),
                        ca_file=args.ca_file, fingerprint=args.fingerprint)
    merchant = answer["merchant"]
    print(f"enrolled as terminal {answer['terminal_id']} of {merchant['name']} "
          f"({merchant['merchant_id']}, {merchant['class']}); data in {args.data}")
    checked = "matches the one given" if args.fingerprint else \
        "compare it with `python -m ledger admin show-key` on the ledger"
    print(f"ledger key pinned: {answer['ledger_fingerprint']} ({checked})")
    return EXIT_OK


def _cmd_sync(args: argparse.Namespace) -> int:
    with _node(args) as node, clitools.working("pushing records and pulling the snapshot"):
        status = node.sync_once()
        counts = node.state.counts()
    if status.last_error and not status.online:
        print(f"sync failed: {status.last_error} ({status.pending} records wait)")
        return EXIT_BROKEN
    print(f"synced: acknowledged up to seq {status.acked_seq}, {status.pending} waiting; "
          f"snapshot holds {counts['wallets']} wallets, {counts['cards']} cards")
    for refusal in status.refused:
        print(f"  refused by the ledger: {refusal}")
    return EXIT_BROKEN if status.refused else EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    """What the terminal holds, read through connections that cannot write (so it works on
    a full disk, and while the terminal runs), with the storage check of terminal.health.
    Exit 1 when the journal or the state is damaged."""
    from terminal.clock import TrustedClock
    from terminal.counter import Counter
    from terminal.health import StorageHealth
    from terminal.node import TerminalConfig
    from terminal.state import StateStore

    config = TerminalConfig.load(args.data)
    health = StorageHealth(args.data)
    with clitools.working("checking the journal and the state"):
        health.run_check(verify=not args.quick)
    try:
        journal = Journal.open_read_only(args.data)
    except TerminalError as exc:
        print(f"terminal {config.terminal_id}, ledger {config.ledger_url}")
        print(f"journal: cannot be read: {exc.message}")
        journal = None
    try:
        state = StateStore.open_read_only(args.data)
    except (TerminalError, sqlite3.DatabaseError) as exc:
        print(f"state: cannot be read: {getattr(exc, 'message', exc)}")
        state = None
    try:
        if journal is not None and state is not None:
            _print_status(config, journal, state,
                          Counter(journal, state, clock=TrustedClock(state, args.clock_sources),
                                  health=health))
    except (TerminalError, sqlite3.DatabaseError) as exc:
        print(f"(the rest cannot be read: {getattr(exc, 'message', exc)})")
    finally:
        for opened in (journal, state):
            if opened is not None:
                opened.close()
    for line in health.report().lines():
        print(line)
    return EXIT_BROKEN if health.report().damaged else EXIT_OK


def _print_status(config, journal: Journal, state, counter) -> None:
    clock = counter.clock.check()
    age = state.snapshot_age_s(clock.trusted_s)
    merchant = state.merchant()
    print(f"terminal {config.terminal_id} of {merchant.get('name', '?')} "
          f"({merchant.get('class', '?')}), ledger {config.ledger_url}")
    pinned = ", ".join(keys.fingerprint(k) for k in journal.ledger_keys().values())
    tls = f"; TLS checked with {config.ca_file}" if config.ca_file else ""
    print(f"ledger keys pinned: {pinned}{tls}")
    print(f"journal: {journal.last_seq} records, {journal.pending_count()} not yet "
          f"acknowledged (acked up to seq {journal.acked_seq()})")
    counts = state.counts()
    when = "never" if age is None else f"{age / 60:.0f} min ago"
    print(f"snapshot: {counts['wallets']} wallets, {counts['cards']} cards, "
          f"{counts['campaigns']} campaigns; last complete pull {when}")
    print(clock.text())
    offers = counter.offers()
    for campaign_id, rule in sorted(offers.rules.items()):
        here = "running here" if rule["kind"] in ("gift_code", "ticket") or \
            rule in offers.active(rule["kind"]) else "not here today"
        print(f"  campaign {campaign_id} ({rule['kind']}, {rule['starts']}..{rule['ends']}): "
              f"{rule['name']} — {here}")
    for lease in journal.leases():
        if lease["status"] != "returned":
            print(f"  lease {lease['lease_id']}: {lease['campaign']}/{lease['pool']} "
                  f"{lease['used']} of {lease['count']} used ({lease['status']})")


def _sign_in(node, staff_id: str | None) -> None:
    """Sign `staff_id` in at this counter (terminal.staff), the PIN read from standard
    input (never the command line); a shop with staff asks it of every action."""
    if staff_id:
        node.counter.staff.sign_in(staff_id, sys.stdin.readline().strip())


def _cmd_balance(args: argparse.Namespace) -> int:
    from terminal.counter import Presented
    from terminal.policy import Refused

    with _node(args) as node:
        try:
            _sign_in(node, args.staff)
            if args.wallet:  # no credential: whoever holds the data directory looks it up
                view, decision = node.counter.look_up_wallet(args.wallet)
            else:
                view, decision = node.counter.balance(
                    Presented("card", args.card) if args.card else Presented("nfc", args.nfc))
        except Refused as exc:  # an unknown card or wallet, a blocked one: one line
            print(f"refused [{exc.code}]: {exc.message}", file=sys.stderr)
            return EXIT_BROKEN
    pockets = ", ".join(f"{p} ¥{v:,}" for p, v in sorted(view.pockets.items())) or "nothing"
    print(f"wallet {view.wallet_id} ({view.status}, {decision}): ¥{view.total:,} — {pockets}")
    # Each pocket by expiry and usable-from day (a voucher set bought before its use period)
    for held in view.holdings():
        when = [f"expires {held['expires']}"] if held["expires"] else []
        if held["usable_from"]:
            when.append(f"usable from {held['usable_from']}")
        print(f"  {held['pocket']} ¥{held['yen']:,}" + (f" ({', '.join(when)})" if when else ""))
    for campaign_id, rides in sorted(view.rides.items()):
        print(f"  tickets {campaign_id}: {rides} rides")
    for card in view.rally:  # 取得したスタンプには店舗名が表示されます
        stamped = ", ".join(f"{shop['name']} ×{shop['stamps']}" for shop in card["shops"])
        have = sum(shop["stamps"] for shop in card["shops"])
        print(f"rally {card['name']}: {have}/{card['needed']} stamps — {stamped or 'none yet'}"
              f" (completed {card['done']})")
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace) -> int:
    from terminal import simulate

    with _node(args) as node, clitools.working(f"simulating {args.sales:,} sales"):
        report = simulate.run(node, args.sales, seed=args.seed, sync=not args.offline)
    print(report.text())
    return EXIT_OK


def _cmd_tally(args: argparse.Namespace) -> int:
    from terminal import tally
    from terminal.state import StateStore

    with Journal.open(args.data) as journal:
        try:
            sheet = tally.for_date(journal, args.date) if args.date else tally.x_report(journal)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BROKEN
        records = tally.day_records(journal, args.date) if args.by_staff else []
    state = StateStore(args.data)
    tally.name_sheet(sheet, state)
    names = {m["staff"]: m["name"] for key in ("staff_local", "staff")
             for m in state.get(key) or []}
    state.close()
    tally.export(sheet, args.format, args.out, sheet.shop_name, args.lang)
    if args.by_staff:  # printed beside the sheet: who took what
        for who, what, count, amount, approved in tally.staff_rows(
                tally.by_staff(records), names, args.lang):
            print(f"{who}  {what}  {count}  ¥{amount:,}  approved {approved}")
    print(f"tally of {sheet.business_date} ({'closed' if sheet.closed else 'open'}) written "
          f"to {args.out}")
    return EXIT_OK


def _cmd_close(args: argparse.Namespace) -> int:
    from terminal import tally
    from terminal.policy import Refused

    health.check_closable(health.StorageHealth(args.data))  # damage found before, kept
    with _node(args, offline=True) as node:
        try:
            _sign_in(node, args.staff)
            if args.approver:  # the manager's PIN: the next line of standard input
                node.counter.staff.approve(args.approver, sys.stdin.readline().strip(),
                                          action="z_close")
            sheet, rec = node.counter.close_day(args.counted, args.shift, args.approved_by,
                                                again=bool(args.approver))
        except (tally.SecondClose, Refused) as exc:
            print(f"refused [{exc.code}]: {exc.message}", file=sys.stderr)
            return EXIT_BROKEN
    difference = sheet.cash_difference
    kind = "shift" if args.shift else "day"
    print(f"closed {kind} {sheet.business_date} shift {sheet.shift}: seq {sheet.first_seq}.."
          f"{sheet.last_seq}, net sales "
          f"¥{sheet.net_sales:,}, cash expected ¥{sheet.cash_expected:,}"
          + ("" if difference is None else
             f", difference {'-' if difference < 0 else ''}¥{abs(difference):,}")
          + f" (day_close is seq {rec['seq']})")
    if not args.shift:
        with Journal.open_read_only(args.data) as journal:
            notice = tally.after_close_notice(journal)
        if notice is not None:
            print(f"business day {notice[0]} is closed: sales from now on belong to the next "
                  f"business day, {notice[1]}")
    return EXIT_OK


def _cmd_repair(args: argparse.Namespace) -> int:
    from terminal import repair
    from terminal.node import TerminalConfig

    TerminalConfig.load(args.data)  # a directory with no terminal in it: said before any move
    with clitools.working("rebuilding the state from a fresh snapshot"):
        done = repair.rebuild_state(args.data, keystore.passphrase_from_env(),
                                    clock_sources=args.clock_sources)
    print(done)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = clitools.Parser(prog="python -m terminal", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    journal = sub.add_parser("journal", help="verify or export the signed journal",
                             description="verify or export the signed journal")
    jsub = journal.add_subparsers(dest="action", required=True, metavar="ACTION")
    data_help = f"the terminal's data directory (default {paths.default_data_dir()})"

    enroll = sub.add_parser("enroll", help="enroll this terminal with a ledger")
    enroll.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    enroll.add_argument("--ledger", required=True,
                        help="the ledger's URL, http://host:port or https://host:port")
    enroll.add_argument("--code", required=True, help="the one-time enrollment code")
    enroll.add_argument("--fingerprint", help="the ledger key's fingerprint, from its operator "
                        "(`python -m ledger admin show-key`): enrollment fails if it differs")
    enroll.add_argument("--ca-file", type=Path, help="for an https ledger with a private CA: "
                        "the CA (or the server's certificate) to check it with")
    enroll.set_defaults(func=_cmd_enroll)

    sync = sub.add_parser("sync", help="push unacknowledged records and pull the snapshot once")
    sync.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    sync.set_defaults(func=_cmd_sync)

    status = sub.add_parser("status", help="what this terminal holds and has sent")
    status.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    status.add_argument("--quick", action="store_true", help="check the databases with "
                        "quick_check only, without verifying every record's signature")
    status.set_defaults(func=_cmd_status)

    balance = sub.add_parser("balance", help="a wallet's balance, as a customer would ask")
    balance.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    who = balance.add_mutually_exclusive_group(required=True)
    who.add_argument("--card", help="a printed card number")
    who.add_argument("--nfc", help="an NFC card's UID / IDm (hex)")
    who.add_argument("--wallet", help="a wallet id: the admin's look-up (read only; an id "
                     "is no credential, and nothing in this command line pays)")
    balance.add_argument("--offline", action="store_true", help="do not ask the ledger")
    balance.add_argument("--staff", help="sign in as this staff member (the PIN from "
                         "standard input); a shop with staff asks it")
    balance.set_defaults(func=_cmd_balance)

    sim = sub.add_parser("simulate", help="drive the counter with the snapshot's cards")
    sim.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    sim.add_argument("--sales", type=clitools.positive, required=True,
                     help="how many sales (with a few refunds among them)")
    sim.add_argument("--offline", action="store_true", help="never contact the ledger")
    sim.add_argument("--seed", type=int, default=1,
                     help="random seed (the same seed, the same customers and amounts)")
    sim.set_defaults(func=_cmd_simulate)

    tal = sub.add_parser("tally", help="the daily tally sheet (日計表) of a business date")
    tal.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    tal.add_argument("--date", type=clitools.iso_date,
                     help="YYYY-MM-DD (default: the open day so far, the X report)")
    tal.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="pdf",
                     help="file type (default pdf)")
    tal.add_argument("--out", type=clitools.writable_file, required=True,
                     help="the file to write")
    tal.add_argument("--lang", choices=("ja", "en"), default="ja",
                     help="the sheet's language (default ja)")
    tal.add_argument("--by-staff", action="store_true",
                     help="also print the day by staff member: count, yen, approved")
    tal.set_defaults(func=_cmd_tally)

    close = sub.add_parser("close", help="close the day (Z): a signed day_close record")
    close.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    close.add_argument("--counted", type=clitools.yen,
                       help="the cash counted in the drawer, yen")
    close.add_argument("--shift", action="store_true", help="close this shift only: the "
                       "business day stays open and its sheet covers every shift")
    close.add_argument("--staff", help="the staff member closing (a shop with staff): "
                       "the PIN is read from standard input")
    close.add_argument("--approver", help="the manager approving the close (a cashier's, or "
                       "a second close on the day of a Z): the PIN is the next line of "
                       "standard input")
    close.add_argument("--approved-by", help="a shop with no staff yet: the manager who "
                       "approved a second close on the day of a Z close (it closes the late "
                       "sales as another shift)")
    close.set_defaults(func=_cmd_close)

    repair = sub.add_parser("repair", help="ways out of damaged storage (see `status`)")
    rsub = repair.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = rsub.add_parser("rebuild-state", help="move a damaged state.db aside and pull "
                              "a fresh snapshot (the journal and its unsent records stay)")
    rebuild.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    rebuild.set_defaults(func=_cmd_repair)

    verify = jsub.add_parser("verify", help="walk the chain and every signature")
    verify.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    verify.add_argument("--jsonl", type=Path, help="verify an exported file (JSON lines, "
                        "from `journal export`) instead")
    verify.set_defaults(func=_journal_verify)

    export = jsub.add_parser("export", help="write the whole journal as JSON lines")
    export.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    export.add_argument("--out", type=clitools.writable_file, required=True,
                        help="file to write")
    export.set_defaults(func=_journal_export)

    from terminal import register, register_http

    register.add_commands(sub, data_help, paths.default_data_dir())
    register_http.add_command(sub, data_help, paths.default_data_dir())
    clitools.describe(parser)
    return parser


def main(argv: list[str] | None = None, clock_sources=None) -> int:
    """Run one command; `clock_sources` (terminal.clock.ClockSources) replace the machine's
    clocks, for tests that move the wall clock. A reader that goes away (`... | head -1`)
    ends it quietly (clitools.quiet_on_broken_pipe)."""
    return clitools.quiet_on_broken_pipe(lambda: _main(argv, clock_sources))


def _main(argv: list[str] | None, clock_sources) -> int:
    from terminal import register

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and getattr(args, "register_action", None):
            raise register.OneLineError(f"python -m terminal {args.register_action}: "
                                        f"unrecognized arguments: {' '.join(extra)} "
                                        "(see --help)")
    except register.OneLineError as exc:  # a register's command line: one line, no usage
        print(json.dumps({"status": "bad_input", "message": str(exc)}, ensure_ascii=False))
        print(f"error: {exc}", file=sys.stderr)
        return register.EXIT_BAD_INPUT
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.clock_sources = clock_sources
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command, with what bad input, the network or the disk can cause told in one
    line on standard error (exit 1); a bug still shows its traceback."""
    from sync.client import SyncError
    from sync.keyfile import KeyFileError

    try:
        return int(args.func(args))
    except (TerminalError, SyncError, KeyFileError) as exc:
        print(f"error: {_one_line(getattr(exc, 'message', exc))}", file=sys.stderr)
        return EXIT_BROKEN
    except sqlite3.Error as exc:  # a full disk, a damaged file: `status` says which
        print(f"error: the terminal's storage failed ({_one_line(exc)}); run `python -m "
              f"terminal status --data {args.data}` to see what is wrong", file=sys.stderr)
        return EXIT_BROKEN
    except OSError as exc:  # a file that cannot be read or written, a missing directory
        if isinstance(exc, BrokenPipeError):
            raise
        where = f" {exc.filename}:" if exc.filename else ""
        print(f"error:{where} {_one_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_BROKEN


def _one_line(text: object) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


if __name__ == "__main__":
    sys.exit(main())
