"""Plastic card numbers: 16 random digits with a Luhn check digit, printed in groups of four.

The check digit catches every single mistyped digit and most swaps of neighbours, so a
number typed or misread at the counter is refused before any lookup. The number is a lookup
key, not a secret; the ledger maps it to a wallet.
"""

from __future__ import annotations

import re
import secrets

from sync.errors import SyncPackageError

CARD_DIGITS = 16
# The first digit marks our cards apart from bank cards (which start 2-6) at a glance.
CARD_PREFIX = "8"
_SEPARATORS = re.compile(r"[\s-]")


class CardNumberError(SyncPackageError, ValueError):
    """Text that is not a valid card number."""

    code = "bad_card_number"


def luhn_digit(body: str) -> str:
    """The check digit to append to the digits `body`."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    body = CARD_PREFIX + "".join(
        str(secrets.randbelow(10)) for _ in range(CARD_DIGITS - len(CARD_PREFIX) - 1)
    )
    return body + luhn_digit(body)


def normalize(text: str) -> str:
    """Digits of a card number as typed or scanned (spaces and dashes allowed), checked."""
    if not isinstance(text, str):
        raise CardNumberError("a card number is text")
    digits = _SEPARATORS.sub("", text)
    if len(digits) != CARD_DIGITS or not digits.isascii() or not digits.isdigit():
        raise CardNumberError(f"a card number has {CARD_DIGITS} digits")
    if not digits.startswith(CARD_PREFIX):
        raise CardNumberError("this is not a Machi POS card number")
    if luhn_digit(digits[:-1]) != digits[-1]:
        raise CardNumberError("the card number's check digit is wrong (mistyped?)")
    return digits


def printed(number: str) -> str:
    """Groups of four, as printed on the card."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
