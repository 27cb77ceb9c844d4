"""What a scanned or typed text is, at the counter's trust boundary (DESIGN §5, §10).

Only credentials pay: an app code (`MP1:`, a token the phone signs), a gift code (`MG1:`,
signed by the ledger), or a card number (16 digits with a check digit; spaces and dashes as
printed). The fourth credential, an NFC card, never arrives as text: a card reader says it
read a UID. Everything else is refused here, before any wallet is looked up, each with a
reason of its own: a bare wallet id (every app code carries its wallet id in clear, so the id
proves nothing), a web address, an empty read, any other text. A wallet is looked up by its
id only on the admin screen, and only to read it (`Counter.look_up_wallet`).
"""

from __future__ import annotations

import re

from sync import giftcodes, tokens
from terminal.policy import Refused

APP, GIFT, CARD = "app", "gift", "card"
# The kind of `Presented` text whose kind is not known yet: the counter classifies it here.
SCAN = "scan"
# Longer than any code of ours (an app code is ~300 characters): not worth looking into.
MAX_SCAN_CHARS = 512
# A card number as typed or printed: digits in groups; sync.cards checks the rest.
_CARD_LIKE = re.compile(r"[0-9][0-9 \-]*")
# A web address, with a scheme ("https://", "machi://") or starting "www.".
_URL = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)\S", re.IGNORECASE)
# A wallet id as the ledger and terminals make them ("W-" + a sortable id, "W-DEMO-00001"),
# in either case: a camera or a careless typist may change it.
_WALLET_ID = re.compile(r"W-[A-Z0-9][A-Z0-9._\-]{0,61}", re.IGNORECASE)


def classify(text: object) -> tuple[str, str]:
    """(APP | GIFT | CARD, the text without surrounding blanks) for a credential; Refused
    with the reason (`scan_empty`, `scan_wallet_id`, `scan_url`, `scan_unknown`) for
    anything else. A card number's check digit is checked where the card is looked up."""
    if not isinstance(text, str):
        raise Refused("scan_empty")
    text = text.strip()
    if not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise Refused("scan_empty")
    if len(text) > MAX_SCAN_CHARS or not text.isprintable():
        raise Refused("scan_unknown")
    if text.startswith(tokens.TOKEN_PREFIX):
        return APP, text
    if text.startswith(giftcodes.GIFT_PREFIX):
        return GIFT, text
    if _CARD_LIKE.fullmatch(text):
        return CARD, text  # meant as a card number: a wrong one is refused with the reason
    if _URL.match(text):
        raise Refused("scan_url")
    if _WALLET_ID.fullmatch(text):
        raise Refused("scan_wallet_id")
    raise Refused("scan_unknown")
