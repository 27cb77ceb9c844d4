"""How the terminal decides offline (DESIGN §6): limits, lot order, and refusal reasons.

Every refusal has a stable code and an English message (the UI translates by code). Limits
come from the merchant's settings in the ledger's snapshot; these defaults apply until the
first snapshot arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sync import giftcodes, tokens, vocab
from terminal.errors import TerminalError

# Per-merchant settings (names as the ledger sends them) and the defaults of DESIGN §6.
DEFAULT_LIMITS = {
    "max_offline_payment": 10_000,
    "max_offline_per_wallet": 30_000,
    "max_snapshot_age_s": 72 * 3600,
    "small_payment_when_stale": 1_000,
    "wallet_balance_cap": 50_000,
}
# The largest amount the keypad takes for one transaction (yen); a typo guard.
MAX_TRANSACTION_YEN = 1_000_000
# The largest party one payment may be for (a rally's threshold is per person).
MAX_PARTY = 200
# Voucher steps one exchange may make at once (a typo guard).
MAX_EXCHANGE_STEPS = 100
VOUCHER_POCKETS = vocab.VOUCHER_POCKETS
TICKET_POCKET = vocab.Pocket.TICKETS.value

REASONS = {
    "bad_amount": "The amount must be a whole number of yen from 1 to {max:,}.",
    "bad_credential": "This code or card number is not one of ours: {detail}",
    # Scanned or typed text that is no credential (terminal.credentials): never paid from.
    "scan_empty": "Nothing was read. Please scan the card or the app's code again.",
    "scan_wallet_id": "This is a wallet number, which cannot pay or top up. Please show the "
                      "app's payment code or the card.",
    "scan_url": "This is a web address, not a payment code. Please show the app's payment "
                "code or the card.",
    "scan_unknown": "This code is not a card, an app payment code or a gift code. Please "
                    "show the card or the app's code.",
    "scan_gift_code": "A gift code pays for a sale; it does not stand for a customer. Please "
                      "show the card or the app's code.",
    "bad_wallet_id": "A wallet id is letters, digits, '.', '_' and '-' (up to 64).",
    "unknown_card": "This card is not known yet. Try again after the next sync, or ask the "
                    "booth.",
    "unknown_wallet": "This wallet is not known to this terminal yet.",
    "card_blocked": "This card has been blocked (reported lost). Please ask the booth.",
    "denied": "This wallet is suspended ({detail}). Please ask the booth.",
    "insufficient": "Not enough balance: ¥{available:,} can be used here.",
    "over_offline_payment": "Offline, one payment may be at most ¥{limit:,}.",
    "over_offline_wallet": "Offline, this wallet may spend at most ¥{limit:,} here until the "
                           "next sync (¥{left:,} left).",
    "snapshot_stale": "The balances here are too old (last sync {hours} h ago): only "
                      "payments up to ¥{limit:,} until the next sync.",
    "over_cap": "A wallet may hold at most ¥{cap:,}: at most ¥{room:,} can be charged.",
    "not_found": "That sale is not in this terminal's journal.",
    "not_refundable": "That sale cannot be refunded: {detail}",
    "over_refund": "At most ¥{left:,} of that sale can still be refunded.",
    "card_exists": "This card is already in use.",
    "over_app_limit": "Offline, this app may spend at most ¥{limit:,} (¥{left:,} left) until "
                      "the next sync.",
    "bad_party": "The number of people must be from 1 to {max}.",
    # Another diner's card or code (a restaurant stamps each diner's own card) was refused:
    # the payment is not taken, so the cashier can drop the diners and take it again.
    "diner_refused": "Another diner's card or code was refused: {detail} Press Esc to take "
                     "the payment without the diners.",
    "bad_steps": "Exchanges at once must be from 1 to {max}.",
    "campaign_unknown": "This campaign is not known to this terminal.",
    "campaign_inactive": "{name} is not running here today.",
    "campaign_limit": "{name}: this customer has had it as often as the rules allow.",
    "sold_out": "{name}: none left at this terminal (it gets more when online).",
    "no_voucher_set": "{name} sells sets at {prices} only.",
    # Shiga's Koko Coupon (seed 003): 利用期間, 販売期, 購入方法, 1回あたり1,500円以上.
    "voucher_not_usable_yet": "{name} can be spent from {day} on: not yet today.",
    "below_min_spend": "{name} pays only for purchases of ¥{min:,} or more (this one: "
                       "¥{base:,}).",
    "not_in_sale_period": "{name} is not on sale today. Sale periods: {periods}.",
    "app_only": "{name} is sold through the app only: please show the app's code.",
    "card_only": "{name} is sold onto cards only: please show the card.",
    "no_tickets": "No rides left on this wallet for this service.",
    "not_enough_points": "Not enough points: {need:,} pt needed, {have:,} pt held.",
    "gift_excluded_only": "A gift code cannot pay for excluded goods.",
    "pin_required": "Above ¥{above:,} this card needs its PIN: please type it.",
    "pin_wrong": "That PIN is not this card's ({left} tries left).",
    "pin_locked": "Too many wrong PINs: this card is locked here. Please ask the booth.",
    "bad_pin": "The PIN: {detail}",
    # The terminal's own storage (terminal.health): no sale until a manager has dealt with it.
    "storage_damaged": "This terminal's records are damaged: no sale can be made here. "
                       "Please call the manager.",
    "disk_full": "This terminal's disk is full ({free_mib} MiB free): the sale was not "
                 "recorded. Please call the manager.",
    **tokens.REASONS,
    **giftcodes.REASONS,
}


class Refused(TerminalError):
    """A sale, charge or look-up the terminal will not do; `code` is stable (a key of
    REASONS), `details` fill its message in."""

    code = "refused"

    def __init__(self, code: str, **details: Any) -> None:
        message = REASONS[code].format(**details) if code in REASONS else code
        super().__init__(message, code, details)


@dataclass(frozen=True)
class Limits:
    max_offline_payment: int
    max_offline_per_wallet: int
    max_snapshot_age_s: int
    small_payment_when_stale: int
    wallet_balance_cap: int

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Limits:
        merged = dict(DEFAULT_LIMITS)
        for key, value in (config or {}).items():
            if key in merged and type(value) is int and value >= 0:
                merged[key] = value
        return cls(**merged)


def check_amount(amount: Any) -> int:
    if type(amount) is not int or not 1 <= amount <= MAX_TRANSACTION_YEN:
        raise Refused("bad_amount", max=MAX_TRANSACTION_YEN)
    return amount


def usable_here(lot: dict[str, Any], merchant_class: str, today: date) -> bool:
    if lot["remaining"] <= 0 or merchant_class not in lot["classes"] or \
            lot["pocket"] == TICKET_POCKET:
        return False
    if lot.get("usable_from") and date.fromisoformat(lot["usable_from"]) > today:
        return False  # 利用期間: voucher value sold before its use period starts
    return lot["expires"] is None or date.fromisoformat(lot["expires"]) >= today


def draw_order(lot: dict[str, Any]) -> tuple:
    """Restricted value before common value, then the earliest expiry first (DESIGN §2)."""
    restricted = len(lot["classes"]) < 2
    return (0 if restricted else 1, lot["expires"] or "9999-12-31", lot["lot"])


def draw(lots: list[dict[str, Any]], amount: int, excluded: int, merchant_class: str,
         today: date, blocked: set[str] | frozenset[str] = frozenset()
         ) -> list[dict[str, Any]]:
    """Which lots pay `amount` here, and how much each: [{lot, amount, pocket}].

    Voucher value may not pay for excluded goods (tobacco, gift certificates...), so at most
    `amount - excluded` comes from voucher pockets. Lots of the `blocked` campaigns (a
    minimum spend not reached) are left alone. Raises Refused('insufficient').
    """
    voucher_room = amount - excluded
    usable = sorted((lot for lot in lots if usable_here(lot, merchant_class, today)
                     and lot.get("campaign") not in blocked), key=draw_order)
    lines, left = [], amount
    for lot in usable:
        if left == 0:
            break
        cap = lot["remaining"]
        if lot["pocket"] in VOUCHER_POCKETS:
            cap = min(cap, voucher_room)
        take = min(cap, left)
        if take <= 0:
            continue
        if lot["pocket"] in VOUCHER_POCKETS:
            voucher_room -= take
        lines.append({"lot": lot["lot"], "amount": take, "pocket": lot["pocket"]})
        left -= take
    if left:
        raise Refused("insufficient", available=amount - left)
    return lines
