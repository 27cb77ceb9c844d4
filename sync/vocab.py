"""The words terminal and ledger both compare, spelled once (DESIGN §3, issue 18 point 8).

Each set is a `StrEnum` (the type, for signatures and comparisons: a member equals its
text) and a tuple of plain `str` in the set's order (for membership, messages and the
order things are listed in). Bodies hold the plain text: a record written before a word
was added, or by an older terminal, reads the same.

Also here: the id pattern that record bodies and campaign rules both check (it lived in
sync.bodies, which made sync.bodies and sync.campaigns import each other).
"""

from __future__ import annotations

import re
from enum import StrEnum

# An id made by a terminal or the ledger: a wallet, lot, card, campaign, merchant, lease.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ID_MAX_CHARS = 64


class RecordType(StrEnum):
    """What a journal record is (sync.record)."""

    START = "start"
    PAYMENT = "payment"
    REFUND = "refund"
    VOID = "void"
    CHARGE = "charge"
    GRANT = "grant"
    CARD_ISSUE = "card_issue"
    STAMP = "stamp"
    GIFT = "gift"
    TICKET = "ticket"
    EXCHANGE = "exchange"
    CASH_MOVE = "cash_move"
    DAY_CLOSE = "day_close"
    KEY_ROTATE = "key_rotate"
    TRAINING = "training"
    STAFF = "staff"


RECORD_TYPES: frozenset[str] = frozenset(t.value for t in RecordType)
_R = RecordType
# Records that move money, in the order a day's sheet lists them (sync.tally).
MONEY_RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in (
    _R.PAYMENT, _R.REFUND, _R.VOID, _R.CHARGE, _R.GRANT, _R.CASH_MOVE, _R.GIFT, _R.TICKET,
    _R.EXCHANGE))
# Records whose `campaigns` are entries a campaign made (a day close's `campaigns` is the
# day's per-campaign tally, not entries; a refund keeps its sale's campaigns).
CAMPAIGN_ENTRY_RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in (
    _R.PAYMENT, _R.CHARGE, _R.GRANT, _R.TICKET, _R.EXCHANGE, _R.GIFT, _R.VOID))
# Records a receipt is printed for (terminal.receipt).
RECEIPT_RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in (
    _R.PAYMENT, _R.REFUND, _R.VOID, _R.CHARGE, _R.GRANT, _R.CARD_ISSUE, _R.CASH_MOVE, _R.GIFT,
    _R.TICKET, _R.EXCHANGE))


class CredentialKind(StrEnum):
    """How the customer was identified: a printed card, an app QR token, an NFC card.
    `wallet` (an id given directly) is only in records made before terminals stopped taking
    wallet ids as credentials (DESIGN §10); the ledger still reads those journals."""

    CARD = "card"
    APP = "app"
    NFC = "nfc"
    WALLET = "wallet"


CREDENTIAL_KINDS: tuple[str, ...] = tuple(k.value for k in CredentialKind)
# What a counter takes today (no bare wallet ids).
COUNTER_CREDENTIAL_KINDS: tuple[str, ...] = (
    CredentialKind.CARD.value, CredentialKind.NFC.value, CredentialKind.APP.value)


class WalletKind(StrEnum):
    """A wallet is held in an app or on a card (printed or NFC)."""

    APP = "app"
    CARD = "card"


WALLET_KINDS: tuple[str, ...] = tuple(k.value for k in WalletKind)
# The wallet kind a credential opens (what a voucher set may be sold onto: its channel).
WALLET_KIND_OF_CREDENTIAL: dict[str, str] = {
    CredentialKind.APP.value: WalletKind.APP.value,
    CredentialKind.CARD.value: WalletKind.CARD.value,
    CredentialKind.NFC.value: WalletKind.CARD.value,
}


class MerchantClass(StrEnum):
    """大型店 / 中小店: which shops a lot of value may be spent at."""

    SMALL = "small"
    LARGE = "large"


MERCHANT_CLASSES: tuple[str, ...] = tuple(c.value for c in MerchantClass)


class Pocket(StrEnum):
    """Where a wallet holds value; `tickets` holds rides (a count), never spent as money."""

    CHARGED = "charged"
    PREMIUM_COMMON = "premium_common"
    PREMIUM_EXCLUSIVE = "premium_exclusive"
    POINTS = "points"
    TICKETS = "tickets"


POCKETS: tuple[str, ...] = tuple(p.value for p in Pocket)
# Pockets that hold yen, in the order they are spent and listed.
YEN_POCKETS: tuple[str, ...] = tuple(p for p in POCKETS if p != Pocket.TICKETS)
# Pockets a campaign may fill (what the customer paid for is `charged`).
CAMPAIGN_POCKETS: tuple[str, ...] = (
    Pocket.PREMIUM_COMMON.value, Pocket.PREMIUM_EXCLUSIVE.value, Pocket.POINTS.value)
# Pockets of premium vouchers (プレミアム付商品券: 共通券 / 専用券).
VOUCHER_POCKETS: tuple[str, ...] = (Pocket.PREMIUM_COMMON.value, Pocket.PREMIUM_EXCLUSIVE.value)


class CampaignKind(StrEnum):
    """What a campaign's rules are (sync.campaigns)."""

    THRESHOLD_COUPON = "threshold_coupon"
    PREMIUM_VOUCHER = "premium_voucher"
    PREMIUM_CHARGE = "premium_charge"
    POINT_GRANT = "point_grant"
    STAMP_RALLY = "stamp_rally"
    CASH_BACK = "cash_back"
    GIFT_CODE = "gift_code"
    TICKET = "ticket"
    EXCHANGE = "exchange"


CAMPAIGN_KINDS: tuple[str, ...] = tuple(k.value for k in CampaignKind)


class Decision(StrEnum):
    """How a payment was decided."""

    ONLINE = "online"
    OFFLINE = "offline"


DECISIONS: tuple[str, ...] = tuple(d.value for d in Decision)
