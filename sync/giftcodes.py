"""Gift codes: single-use QR codes worth a fixed number of yen (printed gift cards,
hometown-tax gifts), made and signed by the ledger, checked offline by any terminal.

    version u8 | campaign id length u8 | campaign id (ASCII) | serial (16 random bytes)
    | value yen u32 | ledger key id prefix (4) | ledger signature (64)

travelling as "MG1:" + Base45, about 170 characters for a 20-character campaign id. The code
id is the serial in hex. A terminal refuses a code it has itself taken before; a code taken on
two offline terminals is caught by the ledger at sync and flagged.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from sync import keys
from sync.errors import SyncPackageError
from sync.tokens import KEY_ID_PREFIX_BYTES, b45decode, b45encode

GIFT_PREFIX = "MG1:"
GIFT_VERSION = 1
SERIAL_BYTES = 16
MAX_GIFT_CHARS = 400
MAX_GIFT_YEN = 1_000_000
CONTEXT_GIFT = b"machi-pos/gift-code/v1\n"

REASONS = {
    "gift_malformed": "This is not a Machi POS gift code.",
    "gift_unknown_key": "This gift code was issued by a ledger this terminal does not know.",
    "gift_forged": "This gift code is forged.",
    "gift_used": "This gift code has already been used.",
    "gift_unknown": "The ledger has no such gift code. Please ask the booth.",
    "gift_unknown_campaign": "This gift code belongs to no campaign this terminal knows.",
    "gift_expired": "This gift code has expired.",
}


class GiftCodeError(SyncPackageError, ValueError):
    """A gift code that cannot be taken; `code` (a key of REASONS) says why."""

    code = "bad_gift_code"

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(REASONS[code])


@dataclass(frozen=True)
class GiftCode:
    campaign: str
    serial: bytes
    value: int
    ledger_kid_prefix: bytes
    signature: bytes = b""

    @property
    def code_id(self) -> str:
        return self.serial.hex()

    def body(self) -> bytes:
        campaign = self.campaign.encode("ascii")
        return (struct.pack(">BB", GIFT_VERSION, len(campaign)) + campaign + self.serial
                + struct.pack(">I", self.value) + self.ledger_kid_prefix)

    def text(self) -> str:
        return GIFT_PREFIX + b45encode(self.body() + self.signature)


def make(ledger_key: keys.PrivateKey, campaign: str, value: int) -> GiftCode:
    """The ledger's side: a new code worth `value` yen for `campaign`."""
    if not 1 <= value <= MAX_GIFT_YEN:
        raise ValueError(f"a gift code is worth 1..{MAX_GIFT_YEN:,} yen")
    if not 1 <= len(campaign.encode("ascii")) <= 64:
        raise ValueError("a campaign id is 1 to 64 ASCII characters")
    prefix = bytes.fromhex(ledger_key.public_key().key_id)[:KEY_ID_PREFIX_BYTES]
    code = GiftCode(campaign, secrets.token_bytes(SERIAL_BYTES), value, prefix)
    return GiftCode(code.campaign, code.serial, value, prefix,
                    ledger_key.sign_raw(CONTEXT_GIFT + code.body()))


def parse(text: object) -> GiftCode:
    if not isinstance(text, str) or not text.startswith(GIFT_PREFIX) or \
            len(text) > MAX_GIFT_CHARS:
        raise GiftCodeError("gift_malformed")
    try:
        data = b45decode(text[len(GIFT_PREFIX):])
    except ValueError as exc:
        raise GiftCodeError("gift_malformed") from exc
    if len(data) < 2:
        raise GiftCodeError("gift_malformed")
    version, length = data[0], data[1]
    size = 2 + length + SERIAL_BYTES + 4 + KEY_ID_PREFIX_BYTES + keys.SIGNATURE_BYTES
    if version != GIFT_VERSION or length == 0 or len(data) != size:
        raise GiftCodeError("gift_malformed")
    try:
        campaign = data[2 : 2 + length].decode("ascii")
    except UnicodeDecodeError as exc:
        raise GiftCodeError("gift_malformed") from exc
    at = 2 + length
    serial = data[at : at + SERIAL_BYTES]
    (value,) = struct.unpack_from(">I", data, at + SERIAL_BYTES)
    prefix = data[at + SERIAL_BYTES + 4 : at + SERIAL_BYTES + 4 + KEY_ID_PREFIX_BYTES]
    signature = data[-keys.SIGNATURE_BYTES:]
    if not 1 <= value <= MAX_GIFT_YEN:
        raise GiftCodeError("gift_malformed")
    return GiftCode(campaign, serial, value, prefix, signature)


def verify(text: object, ledger_keys: dict[str, keys.PublicKey]) -> GiftCode:
    """The code, if one of our ledgers signed it; GiftCodeError otherwise."""
    code = parse(text)
    key = next((k for kid, k in ledger_keys.items()
                if bytes.fromhex(kid)[:KEY_ID_PREFIX_BYTES] == code.ledger_kid_prefix), None)
    if key is None:
        raise GiftCodeError("gift_unknown_key")
    try:
        key.verify_raw(CONTEXT_GIFT + code.body(), code.signature)
    except keys.SignatureError as exc:
        raise GiftCodeError("gift_forged") from exc
    return code
