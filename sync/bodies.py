"""The bodies of records that move value, as both sides read them.

Value sits in lots: (pocket, amount, expiry, merchant classes allowed, funder, campaign).
A payment names the lots it drew and how much from each; a refund or void names the lots it
gives back to; a charge or grant creates lots, each saying how much of it the customer paid
in cash (`paid`) and who funds the rest (`funder`: a premium, a point grant). Lot and wallet
ids made on a terminal are sortable ids, so they are unique before any sync.

`check(rtype, body)` raises BodyError for a body the ledger cannot post. Types that move no
value (start, stamp, key_rotate, training) are not looked into here; of a day_close only the
shift fields (`shift`, `day_closed`, `approved_by`), when present: closes made before shifts
existed have none of them.

Any record may name the staff member who made it (`staff`) and the manager who approved it
(`approver`), both staff ids inside the signed body; records from before staff existed name
neither and still post. A `staff` record carries a member made at the counter (`member`:
staff id, name, role, PIN hash as sync.pins stores it).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sync import vocab
from sync.errors import SyncPackageError

# The words (pockets, merchant classes, credential kinds, decisions) are sync.vocab's.
POCKETS = vocab.POCKETS
YEN_POCKETS = vocab.YEN_POCKETS
TICKET_POCKET = vocab.Pocket.TICKETS.value
MERCHANT_CLASSES = vocab.MERCHANT_CLASSES
CREDENTIAL_KINDS = vocab.CREDENTIAL_KINDS
DECISIONS = vocab.DECISIONS
ID_RE = vocab.ID_RE
MAX_LOTS_PER_RECORD = 64
MAX_CAMPAIGN_ENTRIES = 16
# Whole-number fields a campaign entry may carry (yen, stamps, people).
# Other diners stamped by one restaurant payment (each on their own card), at most.
MAX_DINERS = 32
ENTRY_NUMBERS = ("discount", "stamps", "people", "bonus", "points", "prize", "set", "units",
                 "rides")


class BodyError(SyncPackageError, ValueError):
    """A record body that breaks the rules of its type."""

    code = "bad_body"


def _int(body: dict, name: str, minimum: int = 0) -> int:
    value = body.get(name)
    if type(value) is not int or value < minimum:
        raise BodyError(f"{name} must be an integer >= {minimum}")
    return value


def _id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise BodyError(f"{name} must be an id (letters, digits, . _ -; up to 64)")
    return value


def _lot_lines(body: dict, key: str = "lots", least: int = 1) -> list[dict]:
    lots = body.get(key)
    if not isinstance(lots, list) or not least <= len(lots) <= MAX_LOTS_PER_RECORD:
        raise BodyError(f"{key} must be a list of {least}..{MAX_LOTS_PER_RECORD}")
    for line in lots:
        if not isinstance(line, dict):
            raise BodyError("each lot line is an object")
        _id(line.get("lot"), "lot")
        _int(line, "amount", 1)
    if len({line["lot"] for line in lots}) != len(lots):
        raise BodyError("a lot appears twice")
    return lots


def _sum_matches(lots: list[dict], key: str, total: int, what: str) -> None:
    if sum(line[key] for line in lots) != total:
        raise BodyError(f"the lots' {key} must add up to the {what}")


def _new_lot(line: dict) -> None:
    if line.get("pocket") not in POCKETS:
        raise BodyError(f"pocket must be one of {', '.join(POCKETS)}")
    paid = _int(line, "paid", 0)
    if paid > line["amount"]:
        raise BodyError("a lot cannot be paid for beyond its amount")
    if paid < line["amount"]:
        _id(line.get("funder"), "funder (who pays for value beyond the cash)")
    classes = line.get("classes", list(MERCHANT_CLASSES))
    if not isinstance(classes, list) or not classes or not set(classes) <= set(MERCHANT_CLASSES):
        raise BodyError(f"classes must be a non-empty list from {', '.join(MERCHANT_CLASSES)}")
    expires = line.get("expires")
    if expires is not None:
        try:
            date.fromisoformat(expires)
        except (TypeError, ValueError) as exc:
            raise BodyError("expires must be a date YYYY-MM-DD or null") from exc
    # 利用期間: value that may not be spent before a day (a voucher set sold before its use
    # period starts). Absent in lots made before the field existed: usable at once.
    usable_from = line.get("usable_from")
    if usable_from is not None:
        try:
            date.fromisoformat(usable_from)
        except (TypeError, ValueError) as exc:
            raise BodyError("usable_from must be a date YYYY-MM-DD or null") from exc
        if expires is not None and usable_from > expires:
            raise BodyError("a lot cannot become usable after it expires")
    if "campaign" in line:
        _id(line["campaign"], "campaign")


def new_lot(lot_id: str, pocket: str, amount: int, paid: int, funder: str | None = None,
            expires: str | None = None, classes: list[str] | None = None,
            campaign: str | None = None, usable_from: str | None = None) -> dict[str, Any]:
    """A lot line for a charge or a grant, with only the fields that are set."""
    line: dict[str, Any] = {"lot": lot_id, "pocket": pocket, "amount": amount, "paid": paid}
    for key, value in (("funder", funder), ("expires", expires), ("classes", classes),
                       ("campaign", campaign), ("usable_from", usable_from)):
        if value:
            line[key] = value
    return line


def campaign_entries(body: dict) -> list[dict]:
    """The record's campaign entries (what each campaign did), checked for shape."""
    entries = body.get("campaigns", [])
    if not isinstance(entries, list) or len(entries) > MAX_CAMPAIGN_ENTRIES:
        raise BodyError(f"campaigns must be a list of at most {MAX_CAMPAIGN_ENTRIES}")
    for entry in entries:
        if not isinstance(entry, dict):
            raise BodyError("each campaign entry is an object")
        _id(entry.get("campaign"), "campaign")
        if entry.get("kind") not in vocab.CAMPAIGN_KINDS:
            raise BodyError(f"campaign kind must be one of {', '.join(vocab.CAMPAIGN_KINDS)}")
        for name in ENTRY_NUMBERS:
            if name in entry:
                _int(entry, name, 0)
        for name in ("lease", "prize_lease", "shop", "funder", "period"):
            if name in entry:
                _id(entry[name], name)
        for name in ("complete", "double", "undo", "prize_owed"):
            if name in entry and type(entry[name]) is not bool:
                raise BodyError(f"{name} must be true or false")
    return entries


def discounts(body: dict) -> int:
    """Yen the campaigns took off a payment (paid to the shop by their funders), the other
    diners' stamps' discounts included."""
    return sum(entry.get("discount", 0) for entry in all_entries(body))


def diners(body: dict) -> list[dict]:
    """The other diners a payment (or its void) names: 「飲食店では1人当たり600円以上の飲食で
    1スタンプ付与を可」 — each `{"wallet", "credential", "campaigns", "grants"?}` (a void's:
    `{"wallet", "campaigns", "grants_back"?}`). Empty for records made before diners."""
    found = body.get("diners", [])
    return found if isinstance(found, list) else []


def all_entries(body: dict) -> list[dict]:
    """Every campaign entry of a record: the payer's and the other diners'."""
    out = list(body.get("campaigns", []))
    for diner in diners(body):
        if isinstance(diner, dict):
            out += diner.get("campaigns", [])
    return out


def entries_for(body: dict, wallet_id: str) -> list[dict]:
    """The campaign entries of a record that count against `wallet_id`'s usage."""
    out = list(body.get("campaigns", [])) if body.get("wallet") == wallet_id else []
    for diner in diners(body):
        if isinstance(diner, dict) and diner.get("wallet") == wallet_id:
            out += diner.get("campaigns", [])
    return out


def _diners(body: dict, giveback: bool) -> None:
    if "diners" not in body:
        return
    found = body["diners"]
    if not isinstance(found, list) or not 1 <= len(found) <= MAX_DINERS:
        raise BodyError(f"diners must be a list of 1..{MAX_DINERS}")
    seen = {body.get("wallet")}
    for diner in found:
        if not isinstance(diner, dict):
            raise BodyError("each diner is an object")
        wallet = _id(diner.get("wallet"), "diners.wallet")
        if wallet in seen:
            raise BodyError("a diner's wallet appears twice (or is the payer's)")
        seen.add(wallet)
        entries = campaign_entries(diner)
        if not entries or any(entry["kind"] != "stamp_rally" for entry in entries):
            raise BodyError("a diner is named only for a stamp rally's stamp")
        if giveback:
            if "grants_back" in diner:
                _lot_lines(diner, "grants_back")
            continue
        credential = diner.get("credential")
        if not isinstance(credential, dict) or credential.get("kind") not in CREDENTIAL_KINDS:
            raise BodyError(f"diners.credential.kind must be one of {', '.join(CREDENTIAL_KINDS)}")
        _grants(diner)


def _grants(body: dict) -> list[dict]:
    """New lots a record gives besides what it moves (cash-back points, a rally's prize)."""
    if "grants" not in body:
        return []
    lots = _lot_lines(body, "grants")
    for line in lots:
        _new_lot(line)
        if line["paid"] != 0:
            raise BodyError("granted value is not paid for")
    return lots


def _credential(body: dict) -> None:
    credential = body.get("credential")
    if not isinstance(credential, dict) or credential.get("kind") not in CREDENTIAL_KINDS:
        raise BodyError(f"credential.kind must be one of {', '.join(CREDENTIAL_KINDS)}")
    if body.get("decision") not in DECISIONS:
        raise BodyError(f"decision must be one of {', '.join(DECISIONS)}")


def _payment(body: dict) -> None:
    entries = campaign_entries(body)
    _diners(body, giveback=False)
    entries = entries + [e for diner in diners(body) for e in diner["campaigns"]]
    off = discounts(body)
    # A payment campaigns paid for in full draws no lots.
    amount = _int(body, "amount", 0 if off else 1)
    _id(body.get("wallet"), "wallet")
    lots = _lot_lines(body, least=0 if amount == 0 else 1)
    _sum_matches(lots, "amount", amount, "amount paid")
    if any(line.get("pocket") == TICKET_POCKET for line in lots):
        raise BodyError("rides are not money: use a ticket record")
    _credential(body)
    price = body.get("price", amount)
    if (entries or "price" in body) and (type(price) is not int or price != amount + off):
        raise BodyError("price must be the amount paid plus the campaigns' discounts")
    if "excluded" in body:
        excluded = _int(body, "excluded", 0)
        if excluded > price:
            raise BodyError("excluded goods cannot cost more than the whole sale")
    _grants(body)


def _giveback(body: dict) -> None:
    amount = _int(body, "amount", 1)
    _id(body.get("wallet"), "wallet")
    _id(body.get("of"), "of (the tx_id of the payment)")
    _sum_matches(_lot_lines(body), "amount", amount, "amount given back")
    # A void takes back what the payment's campaigns did: each entry again, marked `undo`
    # (with the `day` it was made), and the lots they granted, as far as unspent. An entry
    # may name the sale's `lease` / `prize_lease` (and `units`): those units go back, to the
    # lease while the terminal still holds it, else to the pool (docs/campaigns.md, seed 000).
    # Voids written before this carry no lease: their units stay spent, as they were.
    for entry in campaign_entries(body):
        if entry.get("undo") is not True:
            raise BodyError("a refund or void names campaigns only to undo them")
        if "units" in entry and "lease" not in entry:
            raise BodyError("an undone campaign entry gives back units only to a lease")
        try:
            day = entry.get("day")
            date.fromisoformat(day if isinstance(day, str) else "")
        except (TypeError, ValueError) as exc:
            raise BodyError("an undone campaign entry says the day it was made") from exc
    if "grants_back" in body:
        _lot_lines(body, "grants_back")
    _diners(body, giveback=True)
    for diner in diners(body):  # their units go back to the lease, as the payer's do
        for entry in diner["campaigns"]:
            if entry.get("undo") is not True:
                raise BodyError("a void names a diner's stamp only to undo it")
            if "units" in entry and "lease" not in entry:
                raise BodyError("an undone campaign entry gives back units only to a lease")


def _charge(body: dict) -> None:
    amount = _int(body, "amount", 0)
    _id(body.get("wallet"), "wallet")
    lots = _lot_lines(body)
    for line in lots:
        _new_lot(line)
    _sum_matches(lots, "paid", amount, "cash taken")
    campaign_entries(body)
    # How the wallet was shown (a voucher set may be sold onto app wallets only): absent in
    # charges made before terminals said it.
    if "credential" in body and (not isinstance(body["credential"], dict) or
                                 body["credential"].get("kind") not in CREDENTIAL_KINDS):
        raise BodyError(f"credential.kind must be one of {', '.join(CREDENTIAL_KINDS)}")


def _grant(body: dict) -> None:
    amount = _int(body, "amount", 1)
    _id(body.get("wallet"), "wallet")
    lots = _lot_lines(body)
    for line in lots:
        _new_lot(line)
        if line["paid"] != 0:
            raise BodyError("granted value is not paid for")
    _sum_matches(lots, "amount", amount, "amount granted")
    campaign_entries(body)
    if "gift" in body:
        _gift_fields(body["gift"] if isinstance(body["gift"], dict) else {})


def _gift_fields(gift: dict) -> None:
    code = gift.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"[0-9a-f]{32}", code):
        raise BodyError("gift.code must be the code id (32 hex digits)")
    _id(gift.get("campaign"), "gift.campaign")
    _int(gift, "value", 1)


def _gift(body: dict) -> None:
    """A gift code spent at the counter: it pays `amount` (at most its value; no change)."""
    gift = body.get("gift")
    if not isinstance(gift, dict):
        raise BodyError("gift must be an object")
    _gift_fields(gift)
    amount = _int(body, "amount", 1)
    if amount > gift["value"]:
        raise BodyError("a gift code pays at most its value")
    _id(gift.get("funder"), "gift.funder")
    if "excluded" in body:
        _int(body, "excluded", 0)


def _ticket(body: dict) -> None:
    """One ride (or visit) taken from a wallet's tickets: the same scan as a payment."""
    _id(body.get("wallet"), "wallet")
    _id(body.get("campaign"), "campaign")
    lots = _lot_lines(body)
    if len(lots) != 1 or lots[0]["amount"] != 1:
        raise BodyError("a ticket record takes exactly one ride from one lot")
    _int(body, "ride_value", 0)
    _id(body.get("funder"), "funder")
    _credential(body)


def _exchange(body: dict) -> None:
    """Points turned into voucher value at a booth: lots drawn, one new lot made."""
    _id(body.get("wallet"), "wallet")
    _id(body.get("campaign"), "campaign")
    points = _int(body, "points", 1)
    lots = _lot_lines(body)
    _sum_matches(lots, "amount", points, "points exchanged")
    if any(line.get("pocket") != "points" for line in lots):
        raise BodyError("only points can be exchanged")
    made = _grants(body)
    if len(made) != 1:
        raise BodyError("an exchange makes exactly one new lot")
    _int(body, "value", 1)
    if made[0]["amount"] != body["value"]:
        raise BodyError("the new lot must be worth the value exchanged")


def _card_issue(body: dict) -> None:
    from sync import cards

    try:
        cards.normalize(body.get("card", ""))
    except cards.CardNumberError as exc:
        raise BodyError(f"card: {exc}") from exc
    _id(body.get("wallet"), "wallet")
    if type(body.get("new_wallet")) is not bool:
        raise BodyError("new_wallet must be true or false")
    if "pin" in body:  # the holder chose a PIN: only its salted hash travels (sync.pins)
        from sync import pins

        try:
            pins.check_stored(body["pin"])
        except pins.PinError as exc:
            raise BodyError(f"pin: {exc}") from exc


def _cash_move(body: dict) -> None:
    _int(body, "amount", 1)
    if body.get("direction") not in ("in", "out"):
        raise BodyError("direction must be in or out")


def _day_close(body: dict) -> None:
    if "shift" in body:
        _int(body, "shift", 1)
    if "day_closed" in body and type(body["day_closed"]) is not bool:
        raise BodyError("day_closed must be true or false")
    if "approved_by" in body:
        _id(body["approved_by"], "approved_by")


STAFF_ROLES = ("cashier", "booth", "manager")
MAX_STAFF_NAME_CHARS = 40


def _named_staff(body: dict) -> None:
    for name in ("staff", "approver"):
        if name in body:
            _id(body[name], name)


def _staff(body: dict) -> None:
    member = body.get("member")
    if not isinstance(member, dict):
        raise BodyError("member must be an object")
    _id(member.get("staff"), "member.staff")
    name = member.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_STAFF_NAME_CHARS:
        raise BodyError(f"member.name is 1 to {MAX_STAFF_NAME_CHARS} characters")
    if member.get("role") not in STAFF_ROLES:
        raise BodyError(f"member.role must be one of {', '.join(STAFF_ROLES)}")
    from sync import pins

    try:
        pins.check_stored(member.get("pin"))
    except pins.PinError as exc:
        raise BodyError(f"member.pin: {exc}") from exc


_CHECKS = {
    "day_close": _day_close,
    "payment": _payment,
    "refund": _giveback,
    "void": _giveback,
    "charge": _charge,
    "grant": _grant,
    "card_issue": _card_issue,
    "cash_move": _cash_move,
    "gift": _gift,
    "ticket": _ticket,
    "exchange": _exchange,
    "staff": _staff,
}


def check(rtype: str, body: Any) -> None:
    """Raise BodyError unless `body` follows the rules of `rtype`."""
    if not isinstance(body, dict):
        raise BodyError("body is not an object")
    _named_staff(body)
    checker = _CHECKS.get(rtype)
    if checker is not None:
        checker(body)
