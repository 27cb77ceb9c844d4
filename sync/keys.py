"""Ed25519 keys, key ids and signatures with domain separation.

Every signature covers a context label and then the message, so a signature made for one
purpose (a journal record, a ledger head, a request) can never be passed off as another.
Key ids are the first 16 bytes of SHA-256 over the raw 32-byte public key, in hex.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
KEY_ID_BYTES = 16

# Context labels: one per kind of signed thing. Changing one invalidates every signature of it.
CONTEXT_RECORD = b"machi-pos/record/v1\n"
CONTEXT_HEAD = b"machi-pos/head/v1\n"
CONTEXT_REQUEST = b"machi-pos/request/v1\n"


class KeyFormatError(ValueError):
    """A malformed public key, key id or signature encoding."""


class SignatureError(ValueError):
    """A signature that does not verify."""


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey | bytes) -> str:
    raw = public_key if isinstance(public_key, bytes) else raw_public_key(public_key)
    if len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES].hex()


def public_key_hex(key: Ed25519PublicKey) -> str:
    return raw_public_key(key).hex()


def load_public_key_hex(text: str) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(text)
    except (TypeError, ValueError) as exc:
        raise KeyFormatError("public key is not hex") from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(private_key: Ed25519PrivateKey, context: bytes, message: bytes) -> str:
    """Hex signature over context + message."""
    return private_key.sign(context + message).hex()


def verify(
    public_key: Ed25519PublicKey, context: bytes, message: bytes, signature_hex: str
) -> None:
    """Raise SignatureError unless `signature_hex` signs context + message under `public_key`."""
    try:
        signature = bytes.fromhex(signature_hex)
    except (TypeError, ValueError) as exc:
        raise SignatureError("signature is not hex") from exc
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"signature is {len(signature)} bytes, not {SIGNATURE_BYTES}")
    try:
        public_key.verify(signature, context + message)
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """A key from a fixed 32-byte seed: for golden vectors and tests only."""
    return Ed25519PrivateKey.from_private_bytes(seed)
