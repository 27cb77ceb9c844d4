"""Wallet certificates for phone apps: the ledger vouches that a device key speaks for a
wallet, up to an offline limit, until an expiry (sync.tokens holds the format).

Issuing is an admin act here (the admin token stands in for the app's sign-in, which is the
wallet app's business, not this project's); a certificate for a denied wallet is refused.
"""

from __future__ import annotations

import time

from ledger.db import Database
from ledger.service import LedgerError
from sync import keys, tokens

# An app must come online at least this often to renew its certificate.
CERT_TTL_S = 30 * 24 * 3600
# What an app may spend offline between syncs unless the admin says otherwise (yen).
DEFAULT_APP_OFFLINE_LIMIT = 5_000


def issue(db: Database, ledger_key: keys.PrivateKey, wallet_id: str, device_key_hex: str,
          offline_limit: int = DEFAULT_APP_OFFLINE_LIMIT, ttl_s: int = CERT_TTL_S) -> dict:
    try:
        device = keys.load_public_key_hex(device_key_hex)
    except keys.KeyFormatError as exc:
        raise LedgerError(f"device key: {exc}") from exc
    if type(offline_limit) is not int or not 0 <= offline_limit <= 1_000_000:
        raise LedgerError("the offline limit is whole yen from 0 to 1,000,000")
    with db.reading() as conn:
        row = conn.one("SELECT status FROM wallets WHERE wallet_id = ?", (wallet_id,))
    if row is None:
        raise LedgerError(f"no wallet {wallet_id}", 404, "not_found")
    if row[0] != "active":
        raise LedgerError(f"wallet {wallet_id} is {row[0]}", 409, "wallet_denied")
    expires = int(time.time()) + ttl_s
    try:
        cert = tokens.issue_certificate(ledger_key, wallet_id, device, offline_limit, expires)
    except ValueError as exc:
        raise LedgerError(str(exc)) from exc
    return {"wallet": wallet_id, "certificate": tokens.b45encode(cert.to_bytes()),
            "offline_limit": offline_limit, "expires": expires,
            "ledger_key_id": ledger_key.public_key().key_id}
