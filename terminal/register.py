"""A counter a register can drive: every counter action as a request, answered as JSON.

Shops that keep their own register use the terminal as the payment device beside it. The
register sends one request per action — from the command line (`python -m terminal sale
...`) or over the loopback HTTP endpoint (terminal.register_http) — and gets back one JSON
object. Both go through `perform`, which hands the request to the same `Counter` services
the window calls: nothing is decided here that the counter decides, only the request's
shape is checked (a field of the wrong type is bad input; an amount of 0 is the counter's
`bad_amount` refusal, as at the keypad).

    action      counter service                 request fields
    sale        Counter.pay / Counter.pay_gift  credential | nfc, amount, excluded, people,
                                                tags, card_pin, diners (the other diners'
                                                scanned codes, a rally's party; a gift code
                                                as credential pays as at the window: up to
                                                its value)
    charge      Counter.charge                  credential | nfc, amount (the cash)
    voucher     Counter.buy_voucher             credential | nfc, campaign, price
    grant       Counter.grant_campaign          credential | nfc, campaign
                Counter.grant                   credential | nfc, points, funder
    refund      Counter.refund                  tx, amount (omitted: all that is left)
    void        Counter.refund(void=True)       tx
    issue-card  Counter.issue_card              card, age_band, area, nfc_uid, pin, pin_above
    ride        Counter.use_ticket              credential | nfc
    exchange    Counter.exchange                credential | nfc, campaign, steps
    redeem      Counter.redeem_gift             credential | nfc, gift (a gift code's text)
    cash        Counter.cash_move               amount, direction (in | out), reason

The answer (`Answer.body`):

    {"status": "approved", "action", "kind", "tx_id", "seq", "decision", "amount", "price",
     "rest", "wallet" (its tail only, as on the receipt), "paid_by" {pocket: yen},
     "balance_after", "campaigns" [what each campaign did, with its name], "notes" [{"code",
     "params"} each: terminal.effects.Note; the receipt words them],
     "receipt" {"text": [lines], "structured": {...}}}
    {"status": "refused", "action", "code", "message", "details"}    the counter's refusal
    {"status": "bad_input", "action", "field", "message"}             the request is wrong
    {"status": "error", "action", "code", "message"}   the terminal cannot act (not enrolled,
                                                       a database that cannot be opened)
    (damage found while the terminal runs, or a full disk, is the counter's refusal
    `storage_damaged` / `disk_full`, as at the window)

Exit codes of the command line (the HTTP status in brackets): 0 approved [200], 3 refused
[409], 2 bad input [400], 1 error [500].

Messages are in English; a register translates by `code` (the window's Japanese texts are
keyed on the same codes). The counter's online checks answer within
`sync.client.ONLINE_CHECK_TIMEOUT_S` or the sale decides offline, so no request waits on
the network for long.

Staff (#17, terminal.staff): every action may name its staff member (`"staff"` and
`"staff_pin"`; on the command line `--staff ID`, the PIN from standard input or
$MACHI_STAFF_PIN, never an argument) and a manager who approves it (`"approver"` and
`"approver_pin"`; `--approver ID`, the PIN from standard input or $MACHI_APPROVER_PIN).
`perform` signs the member in (and the approver, with `staff.approve`, for this action
only) before the service is called, and signs out after it: each request is one member's,
nothing carries over to the next. The service then asks the staff rules itself
(`Counter.require`): an action the member's role may do only with a manager's approval is
refused `approval_needed` (its `why` in the message and details) unless an approver is
given; a wrong PIN is refused `staff_pin_wrong`, an unknown id `staff_unknown`. A shop with
no staff yet (first-setup mode) enforces nothing, and a request there names no one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync import bodies, giftcodes
from sync.client import SyncError
from sync.keyfile import KeyFileError
from terminal import credentials, health
from terminal.counter import Counter, Outcome, Presented
from terminal.errors import TerminalError
from terminal.policy import Refused
from terminal.receipt import LANGS, build_receipt

log = logging.getLogger(__name__)

ACTIONS = ("sale", "charge", "voucher", "grant", "refund", "void", "issue-card", "ride",
           "exchange", "redeem", "cash")

EXIT_APPROVED = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3

# What the window grants plain points as (terminal/ui/bridge.py): the town office funds them.
DEFAULT_GRANT_FUNDER = "town-office"
# Tags a sale may carry (e.g. "banquet"), and how long each may be: a typo guard.
MAX_TAGS = 16
MAX_TAG_CHARS = 40
MAX_TEXT_CHARS = credentials.MAX_SCAN_CHARS
# Other diners a sale may name (a party at a restaurant: the payer and at most these).
MAX_DINERS = bodies.MAX_DINERS

# The fields each action takes, and of which type; those in REQUIRED must be there.
_STR, _INT, _TAGS, _TEXTS = "text", "whole number", "list of words", "list of texts"
CREDENTIAL_FIELDS = {"credential": _STR, "nfc": _STR}
# Who does the action and who approves it (every action takes them; terminal.staff).
STAFF_FIELDS = {"staff": _STR, "staff_pin": _STR, "approver": _STR, "approver_pin": _STR}
FIELDS: dict[str, dict[str, str]] = {
    "sale": {**CREDENTIAL_FIELDS, "amount": _INT, "excluded": _INT, "people": _INT,
             "tags": _TAGS, "card_pin": _STR, "diners": _TEXTS},
    "charge": {**CREDENTIAL_FIELDS, "amount": _INT},
    "voucher": {**CREDENTIAL_FIELDS, "campaign": _STR, "price": _INT},
    "grant": {**CREDENTIAL_FIELDS, "campaign": _STR, "points": _INT, "funder": _STR},
    "refund": {"tx": _STR, "amount": _INT},
    "void": {"tx": _STR},
    "issue-card": {"card": _STR, "age_band": _STR, "area": _STR, "nfc_uid": _STR, "pin": _STR,
                   "pin_above": _INT},
    "ride": {**CREDENTIAL_FIELDS},
    "exchange": {**CREDENTIAL_FIELDS, "campaign": _STR, "steps": _INT},
    "redeem": {**CREDENTIAL_FIELDS, "gift": _STR},
    "cash": {"amount": _INT, "direction": _STR, "reason": _STR},
}
for _fields in FIELDS.values():
    _fields.update(STAFF_FIELDS)
REQUIRED: dict[str, tuple[str, ...]] = {
    "sale": ("amount",), "charge": ("amount",), "voucher": ("campaign", "price"),
    "grant": (), "refund": ("tx",), "void": ("tx",), "issue-card": ("card",), "ride": (),
    "exchange": ("campaign",), "redeem": ("gift",), "cash": ("amount", "direction"),
}
# An unknown field's name is quoted in the error up to this long (the values never are).
MAX_QUOTED_CHARS = 40


class BadInput(TerminalError, ValueError):
    """A request of the wrong shape; `field` names what is wrong (one line; also in
    `details`)."""

    code = "bad_input"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, details={"field": field})
        self.field = field


@dataclass(frozen=True)
class Answer:
    exit_code: int
    body: dict[str, Any]

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.exit_code]

    def json(self) -> str:
        return json.dumps(self.body, ensure_ascii=False, sort_keys=True)


HTTP_STATUS = {EXIT_APPROVED: 200, EXIT_REFUSED: 409, EXIT_BAD_INPUT: 400, EXIT_ERROR: 500}


def bad_input(action: str, exc: BadInput) -> Answer:
    return Answer(EXIT_BAD_INPUT, {"status": "bad_input", "action": action,
                                   "field": exc.field, "message": exc.message})


def error(action: str, code: str, message: str) -> Answer:
    return Answer(EXIT_ERROR, {"status": "error", "action": action, "code": code,
                               "message": message})


def refused(action: str, exc: Refused) -> Answer:
    return Answer(EXIT_REFUSED, {"status": "refused", "action": action, "code": exc.code,
                                 "message": exc.message,
                                 "details": {k: v if isinstance(v, int | str) else str(v)
                                             for k, v in exc.details.items()}})


# --- the request --------------------------------------------------------------------------


def check_request(action: str, request: Any) -> dict[str, Any]:
    """The request's fields, each of its type; BadInput names the first that is not."""
    if action not in FIELDS:
        raise BadInput(f"unknown action {action!r}: one of {', '.join(ACTIONS)}", "action")
    if not isinstance(request, dict):
        raise BadInput("the request must be a JSON object")
    known = FIELDS[action]
    given = {key: value for key, value in request.items() if value is not None}
    for key, value in given.items():
        if key not in known:
            raise BadInput(f"{action} takes no field {key[:MAX_QUOTED_CHARS]!r} (it takes "
                           f"{', '.join(sorted(known))})", key[:MAX_QUOTED_CHARS])
        kind = known[key]
        if kind == _INT and (type(value) is not int):
            raise BadInput(f"{key} must be a whole number", key)
        if kind == _STR and not (isinstance(value, str) and len(value) <= MAX_TEXT_CHARS):
            raise BadInput(f"{key} must be text of at most {MAX_TEXT_CHARS} characters", key)
        if kind == _TAGS and not (isinstance(value, list) and len(value) <= MAX_TAGS and all(
                isinstance(tag, str) and 0 < len(tag) <= MAX_TAG_CHARS for tag in value)):
            raise BadInput(f"{key} must be a list of at most {MAX_TAGS} words of 1 to "
                           f"{MAX_TAG_CHARS} characters", key)
        if kind == _TEXTS and not (isinstance(value, list) and len(value) <= MAX_DINERS and all(
                isinstance(text, str) and 0 < len(text) <= MAX_TEXT_CHARS for text in value)):
            raise BadInput(f"{key} must be a list of at most {MAX_DINERS} texts of 1 to "
                           f"{MAX_TEXT_CHARS} characters", key)
    for key in REQUIRED[action]:
        if key not in given:
            raise BadInput(f"{action} needs {key}", key)
    if "credential" in known:
        if ("credential" in given) == ("nfc" in given):
            raise BadInput(f"{action} needs the customer: credential (the scanned text) "
                           "or nfc (a card reader's UID), one of them", "credential")
    if action == "grant" and ("campaign" in given) == ("points" in given):
        raise BadInput("grant needs campaign (a point or ticket campaign) or points (with "
                       "an optional funder), one of them", "campaign")
    for who in ("staff", "approver"):
        if (who in given) != (f"{who}_pin" in given):
            raise BadInput(f"{who} and {who}_pin go together (the id and that member's PIN)",
                           f"{who}_pin" if who in given else who)
    if action == "grant" and "funder" in given and "points" not in given:
        raise BadInput("funder goes with points (a campaign names its own funder)", "funder")
    return given


def _presented(request: dict[str, Any]) -> Presented:
    """The customer as the window hands them over: scanned text is told apart by the counter
    (terminal.credentials), a card reader's UID is an NFC card."""
    if "nfc" in request:
        return Presented("nfc", request["nfc"])
    return Presented(credentials.SCAN, request["credential"])


def _is_gift(text: str) -> bool:
    """A gift code pays for a sale (as in the window's terminal.ui.window.credential_of)."""
    return text.strip().startswith(giftcodes.GIFT_PREFIX)


def _call(counter: Counter, action: str, request: dict[str, Any]) -> Outcome:
    """The counter service for the action: the one decision, made there."""
    if action == "sale":
        if "credential" in request and _is_gift(request["credential"]):
            return counter.pay_gift(request["credential"].strip(), request["amount"],
                                    request.get("excluded", 0))
        return counter.pay(_presented(request), request["amount"], request.get("excluded", 0),
                           request.get("people", 1), frozenset(request.get("tags", ())),
                           request.get("card_pin"),
                           [Presented(credentials.SCAN, text)
                            for text in request.get("diners", ())])
    if action == "charge":
        return counter.charge(_presented(request), request["amount"])
    if action == "voucher":
        return counter.buy_voucher(_presented(request), request["campaign"], request["price"])
    if action == "grant":
        if "campaign" in request:
            return counter.grant_campaign(_presented(request), request["campaign"])
        return counter.grant(_presented(request), request["points"],
                             request.get("funder", DEFAULT_GRANT_FUNDER))
    if action == "refund":
        return counter.refund(request["tx"].strip(), request.get("amount"))
    if action == "void":
        return counter.refund(request["tx"].strip(), void=True)
    if action == "issue-card":
        return counter.issue_card(request["card"], age_band=request.get("age_band"),
                                  area=request.get("area"), nfc_uid=request.get("nfc_uid"),
                                  pin=request.get("pin"),
                                  **({"pin_above": request["pin_above"]}
                                     if "pin_above" in request else {}))
    if action == "ride":
        return counter.use_ticket(_presented(request))
    if action == "exchange":
        return counter.exchange(_presented(request), request["campaign"],
                                request.get("steps", 1))
    if action == "redeem":
        return counter.redeem_gift(_presented(request), request["gift"])
    if action == "cash":
        return counter.cash_move(request["amount"], request["direction"],
                                 request.get("reason", ""))
    raise AssertionError(f"no service for {action}")


# --- the answer ---------------------------------------------------------------------------


def _tail(text: str | None, keep: int = 4) -> str | None:
    return None if text is None else "*" * min(4, max(0, len(text) - keep)) + text[-keep:]


def outcome_body(action: str, outcome: Outcome, merchant: dict[str, Any], terminal_id: str,
                 lang: str = "ja") -> dict[str, Any]:
    """What an approved action did, and its receipt (text and structured)."""
    receipt = build_receipt(outcome, merchant, terminal_id, lang)
    structured = {
        "lang": receipt.lang, "title": receipt.title, "shop": receipt.shop,
        "when": receipt.when.isoformat(), "terminal_id": receipt.terminal_id,
        "seq": receipt.seq, "tx_id": receipt.tx_id, "amount": receipt.amount,
        "amount_text": receipt.amount_text(), "price": receipt.price, "rest": receipt.rest,
        "decision": receipt.decision, "paid_by": [list(pair) for pair in receipt.paid_by],
        "balance_after": receipt.balance_after,
        "details": [list(pair) for pair in receipt.details],
        "campaigns": [[list(part) for part in line] for line in receipt.campaigns]}
    return {
        "status": "approved", "action": action, "kind": outcome.kind, "tx_id": outcome.tx_id,
        "seq": outcome.seq, "decision": outcome.decision, "amount": outcome.amount,
        "price": outcome.price, "rest": outcome.rest, "wallet": _tail(outcome.wallet_id),
        "paid_by": dict(outcome.paid_by), "balance_after": outcome.balance_after,
        "campaigns": [dict(entry) for entry in outcome.campaigns],
        "notes": [note.as_json() for note in outcome.notes],  # {code, params}
        "receipt": {"text": receipt.text_lines(), "structured": structured}}


def perform(counter: Counter, terminal_id: str, action: str, request: Any,
            lang: str = "ja") -> Answer:
    """Check the request's shape, call the counter's service, and say what happened. Called
    on the counter's owner thread (the command line's, or the HTTP endpoint's one)."""
    try:
        if lang not in LANGS:
            raise BadInput(f"the receipt's language is one of {', '.join(LANGS)}", "lang")
        given = check_request(action, request)
    except BadInput as exc:
        return bad_input(action, exc)
    try:
        try:
            # Staff (#17): the member named is signed in, and the approver holds for this
            # action only, before the service is called; the service asks the staff rules
            # (Counter.require: not signed in, not this role's, approval_needed).
            if "staff" in given:
                counter.staff.sign_in(given["staff"], given["staff_pin"])
            if "approver" in given:
                counter.staff.approve(given["approver"], given["approver_pin"])
            outcome = _call(counter, action, given)
        except (sqlite3.Error, OSError) as exc:  # a full disk, a damaged file: as the window
            refusal = health.storage_refusal(counter.health, exc)
            if refusal is None:
                raise
            raise refusal from exc
        finally:
            counter.staff.sign_out()  # the next request names its own member
    except Refused as exc:
        return refused(action, exc)
    except (TerminalError, SyncError, KeyFileError) as exc:
        return error(action, getattr(exc, "code", "terminal_error"),
                     getattr(exc, "message", str(exc)))
    except sqlite3.Error as exc:
        return error(action, "storage", f"the terminal's storage failed ({exc}); run "
                     "`python -m terminal status` to see what is wrong")
    except OSError as exc:
        return error(action, "os_error", str(exc))
    return Answer(EXIT_APPROVED, outcome_body(action, outcome, counter.merchant, terminal_id,
                                              lang))


# --- the command line ---------------------------------------------------------------------

# Where a card's PIN comes from on the command line (never an argument: other users see the
# process list): standard input with --pin-stdin, else this environment variable.
CARD_PIN_ENV = "MACHI_CARD_PIN"
# The staff member's and the approving manager's PINs: these environment variables, else
# the next line of standard input each (the staff PIN's line first, then the approver's,
# then a card's PIN with --pin-stdin).
STAFF_PIN_ENV = "MACHI_STAFF_PIN"
APPROVER_PIN_ENV = "MACHI_APPROVER_PIN"
EXIT_CODES_HELP = (f"exit codes: {EXIT_APPROVED} approved, {EXIT_REFUSED} refused by the "
                   f"counter, {EXIT_BAD_INPUT} bad input, {EXIT_ERROR} the terminal cannot act; "
                   "the outcome is printed as one JSON object on stdout either way")


def _whole(text: str) -> int:
    """A whole number as typed at a register: digits, with or without thousands commas."""
    cleaned = text.strip().replace(",", "")
    if not cleaned.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(cleaned)


class OneLineError(TerminalError):
    """A command line that cannot be read: one line on stderr, exit EXIT_BAD_INPUT."""

    code = "one_line"


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> None:
    raise OneLineError(f"{parser.prog}: {message} (see --help)")


def add_commands(sub, data_help: str, default_data) -> list[argparse.ArgumentParser]:
    """The register's commands, one per action, on the terminal's command line."""
    made = []

    def command(action: str, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(action, help=help_text, description=help_text + ".",
                                epilog=EXIT_CODES_HELP)
        parser.add_argument("--data", type=Path, default=default_data, help=data_help)
        parser.add_argument("--offline", action="store_true",
                            help="decide on the snapshot alone, without asking the ledger")
        parser.add_argument("--lang", choices=LANGS, default="ja",
                            help="the receipt's language (default ja)")
        parser.add_argument("--no-push", action="store_true",
                            help="do not send the record to the ledger after the action (it "
                            "waits for `python -m terminal sync`)")
        parser.add_argument("--staff", metavar="ID", help="the staff member doing it (their "
                            f"PIN: ${STAFF_PIN_ENV}, else the first line of standard input)")
        parser.add_argument("--approver", metavar="ID", help="a manager approving it (their "
                            f"PIN: ${APPROVER_PIN_ENV}, else the next line of standard input)")
        parser.set_defaults(func=run_cli, register_action=action)
        parser.error = _one_line_error.__get__(parser)
        made.append(parser)
        return parser

    def customer(parser: argparse.ArgumentParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--credential", metavar="TEXT",
                         help="the customer's code as scanned or typed: an app code (MP1:...) "
                         "or a card number" + (", or a gift code (MG1:...) that pays"
                                               if parser.prog.endswith(" sale") else ""))
        who.add_argument("--nfc", metavar="UID", help="an NFC card's UID / IDm (hex), as a "
                         "card reader read it")

    sale = command("sale", "take a payment for goods")
    customer(sale)
    sale.add_argument("--amount", type=_whole, required=True, metavar="YEN",
                      help="the goods' total, yen (before campaign discounts)")
    sale.add_argument("--excluded", type=_whole, metavar="YEN", help="yen of the goods that "
                      "are excluded (tobacco, gift certificates): never discounted, stamped "
                      "or paid with vouchers")
    sale.add_argument("--people", type=_whole, metavar="N",
                      help="the party's size (a rally's threshold is per person)")
    sale.add_argument("--tag", action="append", dest="tags", metavar="WORD",
                      help="a word a campaign rule may ask for, e.g. banquet (repeatable)")
    sale.add_argument("--diner", action="append", dest="diners", metavar="TEXT",
                      help="another diner's card number or app code as scanned: a rally "
                      "stamps each diner's card for their share (repeatable)")
    sale.add_argument("--pin-stdin", action="store_true", help="read the card's PIN from "
                      f"standard input (else ${CARD_PIN_ENV}, if set)")

    charge = command("charge", "top up a wallet with cash")
    customer(charge)
    charge.add_argument("--amount", type=_whole, required=True, metavar="YEN",
                        help="the cash taken, yen")

    voucher = command("voucher", "sell a premium voucher set for cash")
    customer(voucher)
    voucher.add_argument("--campaign", required=True, help="the premium_voucher campaign's id")
    voucher.add_argument("--price", type=_whole, required=True, metavar="YEN",
                         help="the set's price, yen (one of the campaign's sets)")

    grant = command("grant", "grant a point or ticket campaign's award, or plain points")
    customer(grant)
    what = grant.add_mutually_exclusive_group(required=True)
    what.add_argument("--campaign", help="a point_grant or ticket campaign's id")
    what.add_argument("--points", type=_whole, metavar="PT", help="plain points (1 pt = ¥1)")
    grant.add_argument("--funder", help=f"who funds plain points (default "
                       f"{DEFAULT_GRANT_FUNDER}, as at the window)")

    refund = command("refund", "give back part or all of a sale made at this terminal")
    refund.add_argument("--tx", required=True, help="the sale's tx id (its answer's tx_id)")
    refund.add_argument("--amount", type=_whole, metavar="YEN",
                        help="yen to give back (default: all that is left of the sale)")

    void = command("void", "cancel a whole sale, and what its campaigns did")
    void.add_argument("--tx", required=True, help="the sale's tx id (its answer's tx_id)")

    issue = command("issue-card", "put a new card on a new wallet")
    issue.add_argument("--card", required=True, metavar="NUMBER",
                       help="the printed card number (16 digits)")
    issue.add_argument("--age-band", help="e.g. 40s, for the town's figures")
    issue.add_argument("--area", help="the holder's area, for the town's figures")
    issue.add_argument("--nfc-uid", metavar="HEX", help="the card's NFC UID, when it has one")
    issue.add_argument("--pin-stdin", action="store_true", help="read the PIN the holder chose "
                       f"from standard input (else ${CARD_PIN_ENV}, if set)")
    issue.add_argument("--pin-above", type=_whole, metavar="YEN",
                       help="the PIN is asked for payments above this (default ¥3,000)")
    ride = command("ride", "take one ride (or visit) from the customer's tickets")
    customer(ride)

    exchange = command("exchange", "turn points into voucher value at a campaign's rate")
    customer(exchange)
    exchange.add_argument("--campaign", required=True, help="the exchange campaign's id")
    exchange.add_argument("--steps", type=_whole, metavar="N",
                          help="how many of the campaign's steps at once (default 1)")

    redeem = command("redeem", "put a gift code's value into the customer's wallet")
    customer(redeem)
    redeem.add_argument("--gift", required=True, metavar="CODE",
                        help="the gift code as scanned (MG1:...)")

    cash = command("cash", "put float into the cash drawer or take it out")
    cash.add_argument("--amount", type=_whole, required=True, metavar="YEN", help="yen")
    cash.add_argument("--direction", choices=("in", "out"), required=True,
                      help="in: float put in; out: taken out")
    cash.add_argument("--reason", help="a word for the tally (e.g. 'change for the day')")
    return made


def _pin(args: argparse.Namespace) -> str | None:
    if args.pin_stdin:
        line = sys.stdin.readline().strip()
        if not line:
            raise BadInput("--pin-stdin: no PIN on standard input", "pin")
        return line
    return os.environ.get(CARD_PIN_ENV) or None


def _staff_pin(flag: str, env: str) -> str:
    pin = os.environ.get(env)
    if pin:
        return pin
    line = sys.stdin.readline().strip()
    if not line:
        raise BadInput(f"--{flag}: no PIN in ${env} or on standard input", f"{flag}_pin")
    return line


def request_from_args(action: str, args: argparse.Namespace) -> dict[str, Any]:
    """The same request the HTTP endpoint takes, from the command line's options."""
    request = {field: getattr(args, field) for field in FIELDS[action]
               if getattr(args, field, None) is not None}
    if args.staff is not None:
        request["staff_pin"] = _staff_pin("staff", STAFF_PIN_ENV)
    if args.approver is not None:
        request["approver_pin"] = _staff_pin("approver", APPROVER_PIN_ENV)
    if action in ("sale", "issue-card"):
        pin = _pin(args)
        if pin is not None:
            request["card_pin" if action == "sale" else "pin"] = pin
    return request


def run_cli(args: argparse.Namespace) -> int:
    """One action from the command line: its answer as one JSON line on stdout, and the exit
    code says approved, refused, bad input or error. Never a traceback for what a register
    or the network can cause. An approved action's record is then pushed to the ledger
    (unless --offline or --no-push), within the sync client's timeouts."""
    from terminal.node import Node

    action = args.register_action
    answer: Answer | None = None
    try:
        request = request_from_args(action, args)
        with Node(args.data, offline=args.offline, clock_sources=args.clock_sources) as node:
            answer = perform(node.counter, node.terminal_id, action, request, args.lang)
            _say(answer)
            if answer.exit_code == EXIT_APPROVED and node.worker is not None and \
                    not args.no_push:
                # Send the record now, as the window's sync worker would within a second:
                # the next terminal's online check then knows it. Bounded by the sync
                # client's timeouts; a failure (SyncError is kept in the worker's status)
                # leaves it for the next sync.
                node.worker.run_once(pull=False)
        return answer.exit_code
    except BadInput as exc:
        failed = bad_input(action, exc)
    except (TerminalError, SyncError, KeyFileError) as exc:
        failed = error(action, getattr(exc, "code", "terminal_error"),
                       getattr(exc, "message", str(exc)))
    except sqlite3.Error as exc:
        failed = error(action, "storage", f"the terminal's storage failed ({exc}); run "
                       f"`python -m terminal status --data {args.data}` to see what is wrong")
    except OSError as exc:
        failed = error(action, "os_error", str(exc))
    if answer is not None:  # the action's answer is out; what failed after it is logged
        log.warning("after the %s: %s", action, failed.body["message"])
        return answer.exit_code
    _say(failed)
    return failed.exit_code


def _say(answer: Answer) -> None:
    print(answer.json(), flush=True)
    if answer.exit_code in (EXIT_BAD_INPUT, EXIT_ERROR):
        print(f"error: {answer.body['message']}", file=sys.stderr)
