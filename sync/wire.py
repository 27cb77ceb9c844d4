"""Every JSON shape the ledger answers a terminal with, defined once, with one checker each.

The ledger checks what it sends (ledger.service and ledger.ingest call these where they
build an answer; tests run them on every answer of a real ledger); the terminal checks what
it receives, so a bad row becomes a `WireError` (code "bad_answer") that names the row and
the field, never a KeyError deep in the code that reads it.

A checker returns its argument, typed: `page = wire.check_snapshot_page(answer)`. It looks
at shape only (keys, types, words from sync.vocab, a stored PIN's form from sync.pins);
what the values mean (a campaign's rules, a head's signature) is checked where they are
used (sync.campaigns.validate, sync.record.verify_head). Fields a newer ledger adds are let
through, so the two sides can be upgraded one at a time.

A snapshot page may carry thousands of wallets: the row checkers are straight-line code,
no schema interpreter (measured at sync.client.LedgerClient.snapshot, where the terminal
checks each page once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any, NoReturn, NotRequired, TypedDict

from sync import pins, vocab
from sync.errors import SyncPackageError

BAD_ANSWER = "bad_answer"


class WireError(SyncPackageError):
    """An answer that is not the shape both sides agreed on; `details["where"]` is the path
    of the first field that is wrong (e.g. "snapshot.wallets[3].lots[0].remaining")."""

    code = BAD_ANSWER

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"the ledger's answer is malformed at {where}: {what}", BAD_ANSWER,
                         {"where": where, "what": what})


def _fail(where: str, what: str) -> NoReturn:
    raise WireError(where, what)


def _each(rows: Any, where: str, check: Callable[[Any, str], Any]) -> None:
    """Check every row of a list. The path of a row is made only when the row is wrong:
    a snapshot page has thousands, and formatting each one's path was most of the cost."""
    for n, row in enumerate(_list(rows, where)):
        try:
            check(row, "")
        except WireError as exc:
            _fail(f"{where}[{n}]{exc.details['where']}", exc.details["what"])


def _obj(value: Any, where: str) -> dict[str, Any]:
    if type(value) is not dict:
        _fail(where, "must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if type(value) is not list:
        _fail(where, "must be a list")
    return value


def _int(row: dict[str, Any], name: str, where: str, least: int = 0) -> int:
    value = row.get(name)
    if type(value) is not int or value < least:
        _fail(f"{where}.{name}", f"must be an integer >= {least}")
    return value


def _text(row: dict[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if type(value) is not str or not value:
        _fail(f"{where}.{name}", "must be non-empty text")
    return value


def _id(row: dict[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if type(value) is not str or not vocab.ID_RE.fullmatch(value):
        _fail(f"{where}.{name}", "must be an id (letters, digits, . _ -; up to 64)")
    return value


def _word(row: dict[str, Any], name: str, where: str, words: tuple[str, ...]) -> str:
    value = row.get(name)
    if value not in words:
        _fail(f"{where}.{name}", f"must be one of {', '.join(words)}")
    return value


# Dates seen to be well formed: a region's lots share a handful of expiry days.
_GOOD_DAYS: set[str] = set()
MAX_GOOD_DAYS = 10_000


def _day_or_none(row: dict[str, Any], name: str, where: str) -> None:
    value = row.get(name)
    if value is None or value in _GOOD_DAYS:
        return
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        _fail(f"{where}.{name}", "must be a date YYYY-MM-DD or null")
    if len(_GOOD_DAYS) < MAX_GOOD_DAYS:
        _GOOD_DAYS.add(value)


def _stored_pin(row: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    """A stored PIN (sync.pins' form: salt, hash, amount, scrypt bounds): the state store
    seals it as it comes, so one that is not well formed is the answer's fault, here."""
    try:
        return pins.check_stored(row.get(name))
    except pins.PinError as exc:
        _fail(f"{where}.{name}", exc.message)


def _pin_fine(stored: Any) -> bool:
    try:
        pins.check_stored(stored)
    except pins.PinError:
        return False
    return True


def _bool(row: dict[str, Any], name: str, where: str) -> bool:
    value = row.get(name)
    if type(value) is not bool:
        _fail(f"{where}.{name}", "must be true or false")
    return value


# --- words of the wire ---------------------------------------------------------------------


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


CARD_STATUSES: tuple[str, ...] = tuple(s.value for s in CardStatus)


class PushStatus(StrEnum):
    """What the ledger did with one record of a pushed batch."""

    CREATED = "created"
    EXISTS = "exists"
    REJECTED = "rejected"


PUSH_STATUSES: tuple[str, ...] = tuple(s.value for s in PushStatus)


# --- rows of a snapshot page ---------------------------------------------------------------


class LotRow(TypedDict):
    lot: str
    pocket: str  # vocab.POCKETS
    remaining: int
    expires: str | None
    classes: list[str]  # vocab.MERCHANT_CLASSES
    campaign: NotRequired[str | None]  # the campaign that made it (sent only when one did)
    usable_from: NotRequired[str | None]


def check_lot_row(row: Any, where: str = "lot") -> LotRow:
    row = _obj(row, where)
    _id(row, "lot", where)
    _word(row, "pocket", where, vocab.POCKETS)
    _int(row, "remaining", where)
    _day_or_none(row, "expires", where)
    classes = row.get("classes")
    if type(classes) is not list or not classes or \
            not all(c in vocab.MERCHANT_CLASSES for c in classes):
        _fail(f"{where}.classes", f"must be a non-empty list from "
                                  f"{', '.join(vocab.MERCHANT_CLASSES)}")
    if row.get("campaign") is not None:
        _id(row, "campaign", where)
    _day_or_none(row, "usable_from", where)
    return row


def _lots(row: dict[str, Any], where: str) -> None:
    _each(row.get("lots"), f"{where}.lots", check_lot_row)


def _usage(row: dict[str, Any], where: str) -> None:
    usage = _obj(row.get("usage"), f"{where}.usage")
    for campaign, state in usage.items():
        _obj(state, f"{where}.usage.{campaign}")


class WalletRow(TypedDict):
    wallet: str
    status: str
    version: int
    lots: list[LotRow]
    debt: int
    usage: NotRequired[dict[str, dict[str, Any]]]  # what it used of each campaign


def check_wallet_row(row: Any, where: str = "wallet") -> WalletRow:
    row = _obj(row, where)
    _id(row, "wallet", where)
    _text(row, "status", where)
    _int(row, "version", where)
    _int(row, "debt", where)
    _lots(row, where)
    if "usage" in row:
        _usage(row, where)
    return row


class CardRow(TypedDict):
    card: str
    wallet: str
    status: str  # CARD_STATUSES
    nfc_uid: NotRequired[str | None]
    version: int
    pin: NotRequired[dict[str, Any]]  # only with an active card (sync.pins.check_stored)


def check_card_row(row: Any, where: str = "card") -> CardRow:
    row = _obj(row, where)
    _text(row, "card", where)
    _id(row, "wallet", where)
    _word(row, "status", where, CARD_STATUSES)
    if row.get("nfc_uid") is not None and type(row["nfc_uid"]) is not str:
        _fail(f"{where}.nfc_uid", "must be text or null")
    _int(row, "version", where)
    if "pin" in row:
        _stored_pin(row, "pin", where)
        if row["status"] != CardStatus.ACTIVE:
            _fail(f"{where}.pin", "goes only with an active card")
    return row


class CampaignRow(TypedDict):
    """A campaign's rules as sync.campaigns.validate reads them (checked there in full)."""

    id: str
    kind: str  # vocab.CAMPAIGN_KINDS


def check_campaign_row(row: Any, where: str = "campaign") -> CampaignRow:
    row = _obj(row, where)
    _id(row, "id", where)
    _word(row, "kind", where, vocab.CAMPAIGN_KINDS)
    return row


# "class" is a Python keyword, so this one is spelled the functional way.
MerchantRow = TypedDict("MerchantRow", {
    "merchant_id": str,
    "name": str,
    "class": str,  # vocab.MERCHANT_CLASSES
    "fee_plan": NotRequired[int],
    "config": NotRequired[dict[str, int]],  # its limits (ledger.service.DEFAULT_MERCHANT_CONFIG)
})


def check_merchant_row(row: Any, where: str = "merchant") -> MerchantRow:
    row = _obj(row, where)
    _id(row, "merchant_id", where)
    _text(row, "name", where)
    _word(row, "class", where, vocab.MERCHANT_CLASSES)
    if "fee_plan" in row:
        _int(row, "fee_plan", where, 1)
    if "config" in row:
        config = _obj(row["config"], f"{where}.config")
        for name in config:
            _int(config, name, f"{where}.config")
    return row


class StaffRow(TypedDict):
    staff: str
    name: str
    role: str
    pin: dict[str, Any]  # sync.pins.check_stored


def check_staff_row(row: Any, where: str = "staff") -> StaffRow:
    row = _obj(row, where)
    _id(row, "staff", where)
    _text(row, "name", where)
    _text(row, "role", where)
    _stored_pin(row, "pin", where)
    return row


class LedgerKeyRow(TypedDict):
    key_id: str
    public_key: str
    status: NotRequired[str]  # "active" or "retired"; a terminal trusts by rotation only
    rotation: dict[str, Any] | None  # sync.trust's statement by the key before it


def check_ledger_key_row(row: Any, where: str = "ledger_key") -> LedgerKeyRow:
    row = _obj(row, where)
    _text(row, "key_id", where)
    _text(row, "public_key", where)
    if "status" in row:
        _text(row, "status", where)
    if row.get("rotation") is not None:
        _obj(row["rotation"], f"{where}.rotation")
    return row


_ID_MATCH = vocab.ID_RE.fullmatch
_POCKET_SET = frozenset(vocab.POCKETS)
_CLASS_SET = frozenset(vocab.MERCHANT_CLASSES)


def _lot_fine(lot: Any) -> bool:
    """check_lot_row's verdict on a well-formed lot, in one expression (no path, no call
    per field): the page's rows are checked with this first and by the full checker only
    when it says no, which then names what is wrong."""
    return (type(lot) is dict and type(lot.get("lot")) is str
            and _ID_MATCH(lot["lot"]) is not None and lot.get("pocket") in _POCKET_SET
            and type(lot.get("remaining")) is int and lot["remaining"] >= 0
            and (lot.get("expires") is None or lot["expires"] in _GOOD_DAYS)
            and type(lot.get("classes")) is list and len(lot["classes"]) > 0
            and _CLASS_SET.issuperset(lot["classes"])
            and (lot.get("campaign") is None or (type(lot["campaign"]) is str
                                                 and _ID_MATCH(lot["campaign"]) is not None))
            and (lot.get("usable_from") is None or lot["usable_from"] in _GOOD_DAYS))


def _wallet_fine(row: Any) -> bool:
    return (type(row) is dict and type(row.get("wallet")) is str
            and _ID_MATCH(row["wallet"]) is not None and type(row.get("status")) is str
            and row["status"] != "" and type(row.get("version")) is int
            and row["version"] >= 0 and type(row.get("debt")) is int and row["debt"] >= 0
            and ("usage" not in row or (type(row["usage"]) is dict and all(
                type(state) is dict for state in row["usage"].values())))
            and type(row.get("lots")) is list and all(_lot_fine(lot) for lot in row["lots"]))


def _card_fine(row: Any) -> bool:
    return (type(row) is dict and type(row.get("card")) is str and row["card"] != ""
            and type(row.get("wallet")) is str and _ID_MATCH(row["wallet"]) is not None
            and row.get("status") in CARD_STATUSES
            and (row.get("nfc_uid") is None or type(row["nfc_uid"]) is str)
            and type(row.get("version")) is int and row["version"] >= 0
            and ("pin" not in row or (row["status"] == CardStatus.ACTIVE
                                      and _pin_fine(row["pin"]))))


def _rows(rows: Any, where: str, fine: Callable[[Any], bool],
          check: Callable[[Any, str], Any]) -> None:
    if type(rows) is list and all(fine(row) for row in rows):
        return
    _each(rows, where, check)


class SnapshotPage(TypedDict):
    """GET /v1/snapshot: what changed since the cursor (ledger.service.snapshot). The ledger
    sends every field; a reader takes the optional ones as absent (no rows of that feed, no
    more pages, no staff or merchant change, the basis it already has)."""

    cursor: str
    more: NotRequired[bool]
    basis_seq: NotRequired[int]
    server_time_ms: int
    wallets: NotRequired[list[WalletRow]]
    cards: NotRequired[list[CardRow]]
    campaigns: NotRequired[list[CampaignRow]]
    merchant: NotRequired[MerchantRow | None]
    staff: NotRequired[list[StaffRow]]
    ledger_keys: NotRequired[list[LedgerKeyRow]]


def check_snapshot_page(page: Any, where: str = "snapshot", rows: bool = True) -> SnapshotPage:
    """`rows=False` checks all but the wallet and card rows (the ledger, on every page it
    sends: the rows are its own database's, and checked in its tests)."""
    page = _obj(page, where)
    if type(page.get("cursor")) is not str:
        _fail(f"{where}.cursor", "must be text")
    if "more" in page:
        _bool(page, "more", where)
    if "basis_seq" in page:
        _int(page, "basis_seq", where)
    _int(page, "server_time_ms", where)
    if rows:
        _rows(page.get("wallets", []), f"{where}.wallets", _wallet_fine, check_wallet_row)
        _rows(page.get("cards", []), f"{where}.cards", _card_fine, check_card_row)
    else:
        _list(page.get("wallets", []), f"{where}.wallets")
        _list(page.get("cards", []), f"{where}.cards")
    _each(page.get("campaigns", []), f"{where}.campaigns", check_campaign_row)
    if page.get("merchant") is not None:
        check_merchant_row(page["merchant"], f"{where}.merchant")
    if "staff" in page:
        _each(page["staff"], f"{where}.staff", check_staff_row)
    if "ledger_keys" in page:
        _each(page["ledger_keys"], f"{where}.ledger_keys", check_ledger_key_row)
    return page


# --- the answer to a pushed batch ----------------------------------------------------------


class PushResult(TypedDict):
    seq: int | None  # None: a line that was not even a record
    status: str  # PUSH_STATUSES
    reason: NotRequired[str]
    message: NotRequired[str]


class PushAnswer(TypedDict):
    """POST /v1/journal (ledger.ingest): one result per record sent, in order."""

    terminal_id: str
    acked_seq: int
    head: dict[str, Any] | None  # sync.record.sign_head; verified by sync.record.verify_head
    results: list[PushResult]


def check_push_answer(answer: Any, sent: int | None = None,
                      where: str = "push") -> PushAnswer:
    """`sent`: how many records the batch held (one result each)."""
    answer = _obj(answer, where)
    _id(answer, "terminal_id", where)
    _int(answer, "acked_seq", where)
    if answer.get("head") is not None:
        _obj(answer["head"], f"{where}.head")
    results = _list(answer.get("results"), f"{where}.results")
    if sent is not None and len(results) != sent:
        _fail(f"{where}.results", f"must hold one result per record sent ({sent})")
    for n, result in enumerate(results):
        at = f"{where}.results[{n}]"
        _obj(result, at)
        if result.get("seq") is not None:
            _int(result, "seq", at, 1)
        _word(result, "status", at, PUSH_STATUSES)
        if result["status"] == PushStatus.REJECTED:
            _text(result, "reason", at)
    return answer


# --- other answers -------------------------------------------------------------------------


class WalletView(TypedDict):
    """GET /v1/wallets/W and a check's `wallet` (ledger.service.read_wallet)."""

    wallet: str
    kind: str  # vocab.WALLET_KINDS
    status: str
    status_reason: str | None
    version: int
    lots: list[LotRow]
    pockets: dict[str, int]
    debt: int
    total: int
    usage: dict[str, dict[str, Any]]
    basis_seq: int
    server_time_ms: int


def check_wallet_view(view: Any, where: str = "wallet_view") -> WalletView:
    view = _obj(view, where)
    _id(view, "wallet", where)
    _word(view, "kind", where, vocab.WALLET_KINDS)
    _text(view, "status", where)
    _int(view, "version", where)
    _lots(view, where)
    pockets = _obj(view.get("pockets"), f"{where}.pockets")
    for pocket in pockets:
        if pocket not in vocab.POCKETS:
            _fail(f"{where}.pockets.{pocket}", f"is not one of {', '.join(vocab.POCKETS)}")
        _int(pockets, pocket, f"{where}.pockets")
    _int(view, "debt", where)
    _int(view, "total", where)
    _usage(view, where)
    _int(view, "basis_seq", where)
    _int(view, "server_time_ms", where)
    return view


# Words a check answers each claim with (ledger.online).
CHECK_NOT_CHECKED = "not_checked"
CHECK_CLAIMS: dict[str, tuple[str, ...]] = {
    "token": ("fresh", "used", CHECK_NOT_CHECKED),
    "gift": ("claimed", "used", "unknown", CHECK_NOT_CHECKED),
    "campaign": ("claimed", "limit", CHECK_NOT_CHECKED),
}


class CheckAnswer(TypedDict):
    """POST /v1/check (ledger.online.check): `card` only when a card was shown."""

    tx: str
    card: NotRequired[CardRow | None]
    wallet: WalletView | None
    token: NotRequired[str]
    gift: NotRequired[str]
    campaign: NotRequired[str]


def check_check_answer(answer: Any, where: str = "check") -> CheckAnswer:
    answer = _obj(answer, where)
    _id(answer, "tx", where)
    if answer.get("card") is not None:
        check_card_row(answer["card"], f"{where}.card")
    if "wallet" not in answer:
        _fail(f"{where}.wallet", "is missing (null when the ledger has none)")
    if answer["wallet"] is not None:
        check_wallet_view(answer["wallet"], f"{where}.wallet")
    for name, words in CHECK_CLAIMS.items():
        if name in answer:
            _word(answer, name, where, words)
    return answer


class ReleaseAnswer(TypedDict):
    """POST /v1/check/release."""

    tx: str
    released: int


def check_release_answer(answer: Any, where: str = "release") -> ReleaseAnswer:
    answer = _obj(answer, where)
    _id(answer, "tx", where)
    _int(answer, "released", where)
    return answer


class LeaseRow(TypedDict):
    lease_id: str
    campaign: str
    pool: str
    count: int
    expires_ms: int


class LeaseAnswer(TypedDict):
    """POST /v1/leases: the lease granted, or None and what is `left` (0)."""

    lease: LeaseRow | None
    left: NotRequired[int]


def check_lease_answer(answer: Any, where: str = "lease") -> LeaseAnswer:
    answer = _obj(answer, where)
    if "lease" not in answer:
        _fail(f"{where}.lease", "is missing (null when none are left)")
    lease = answer["lease"]
    if lease is None:
        _int(answer, "left", where)
        return answer
    at = f"{where}.lease"
    _obj(lease, at)
    _text(lease, "lease_id", at)
    _id(lease, "campaign", at)
    _text(lease, "pool", at)
    _int(lease, "count", at, 1)
    _int(lease, "expires_ms", at)
    return answer


class LeaseReturnAnswer(TypedDict):
    """POST /v1/leases/return: the units the ledger took back."""

    returned: int


def check_lease_return_answer(answer: Any, where: str = "lease_return") -> LeaseReturnAnswer:
    answer = _obj(answer, where)
    _int(answer, "returned", where)
    return answer


class EnrollAnswer(TypedDict):
    """POST /v1/enroll (ledger.service.enroll)."""

    terminal_id: str
    merchant: MerchantRow
    ledger_keys: list[LedgerKeyRow]
    server_time_ms: int


def check_enroll_answer(answer: Any, where: str = "enroll") -> EnrollAnswer:
    answer = _obj(answer, where)
    _id(answer, "terminal_id", where)
    check_merchant_row(answer.get("merchant"), f"{where}.merchant")
    _each(answer.get("ledger_keys"), f"{where}.ledger_keys", check_ledger_key_row)
    _int(answer, "server_time_ms", where)
    return answer
