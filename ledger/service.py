"""The ledger's operations behind the HTTP API and the admin CLI.

Enrollment binds a terminal's public key with a one-time code made by an admin; wallet
look-ups answer the online check; snapshots hand terminals what changed since their cursor.
Admin operations create merchants, terminals, wallets, cards and campaigns, block cards,
and move value between wallets with balanced postings of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.db import Connection, Database
from ledger.errors import LedgerPackageError
from ledger.postings import ADMIN_PART, Batch, Entry, Lot, insert_staff, wallet_account
from ledger.schema import now_us
from sync import (
    bodies,
    campaigns,
    canonical,
    cards,
    files,
    giftcodes,
    ids,
    keyfile,
    keys,
    pins,
    trust,
    vocab,
    wire,
)

LEDGER_KEY_FILE = "ledger.key"
# A rotation's new key, until the database names it (ledger.service.rotate_ledger_key).
STAGED_KEY_FILE = "ledger-next.key"
ADMIN_TOKEN_FILE = "admin.token"
ADMIN_TOKEN_ENV = "MACHI_LEDGER_ADMIN_TOKEN"
LEDGER_PASSPHRASE_ENV = "MACHI_LEDGER_KEY_PASSPHRASE"
ENROLL_CODE_TTL_S = 7 * 24 * 3600
ENROLL_CODE_GROUPS = 3  # XXXX-XXXX-XXXX: 60 random bits, easy to read out over the phone
SNAPSHOT_PAGE_MAX = 5_000
# Rows changed this recently are sent again at the next pull: a transaction may commit a
# little after the time it stamped on its rows, and a re-sent row is harmless (versions).
# SQLite stamps rows inside its single write lock, so only clock jitter needs covering;
# PostgreSQL commits concurrent transactions in any order.
SNAPSHOT_OVERLAP_US = {"sqlite": 1_000_000, "postgres": 30 * 1_000_000}
# Offline limits a merchant starts with (DESIGN §6); each is a named, per-merchant setting.
DEFAULT_MERCHANT_CONFIG = {
    "max_offline_payment": 10_000,
    "max_offline_per_wallet": 30_000,
    "max_snapshot_age_s": 72 * 3600,
    "small_payment_when_stale": 1_000,
    "wallet_balance_cap": 50_000,
}
MERCHANT_CLASSES = vocab.MERCHANT_CLASSES
FEE_PLANS = (1, 2, 3)
WALLET_KINDS = vocab.WALLET_KINDS
CAMPAIGN_KINDS = vocab.CAMPAIGN_KINDS
# Leases of campaign quantities: a lease lives a day; one its terminal never gave back is
# taken back (as what the ledger counted of it) this long after it expired, which leaves an
# offline terminal time to push the records of units it took before the end.
LEASE_TTL_S = 24 * 3600
LEASE_GRACE_S = 12 * 3600
MAX_LEASE_UNITS = 100_000  # units one lease request may ask for (or a return report)
LEASE_RECLAIM_CHUNK = 500
MAX_GIFT_CODES = 10_000  # codes made by one command
ID_MAX = 64


class LedgerError(LedgerPackageError):
    """An expected refusal; `status` is the HTTP status, `code` the stable reason."""

    code = "bad_request"

    def __init__(self, message: str, status: int = 400, code: str = "bad_request",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code, details)
        self.status = status


def _check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not bodies.ID_RE.fullmatch(value):
        raise LedgerError(f"{what} must be an id: letters, digits, . _ - (up to {ID_MAX})")
    return value


# --- the ledger's own keys and token -------------------------------------------------------


@dataclass
class LedgerHome:
    """The ledger's directory: its signing key and the admin token, both owner-only."""

    path: Path

    def signing_key(self) -> keys.PrivateKey:
        key_path = self.path / LEDGER_KEY_FILE
        passphrase = os.environ.get(LEDGER_PASSPHRASE_ENV) or None
        if not key_path.exists():
            return keyfile.create(key_path, passphrase)
        return keyfile.load(key_path, passphrase, LEDGER_PASSPHRASE_ENV)

    def stage_signing_key(self) -> keys.PrivateKey:
        """A new key written as `ledger-next.key`, not yet the signing key (a rotation that
        stops half way leaves the current key signing, never no key)."""
        staged = self.path / STAGED_KEY_FILE
        staged.unlink(missing_ok=True)
        keyfile.public_path(staged).unlink(missing_ok=True)
        return keyfile.create(staged, os.environ.get(LEDGER_PASSPHRASE_ENV) or None)

    def promote_staged_key(self, old: keys.PrivateKey) -> None:
        """Keep the current key as `ledger-<key id>.key` and make the staged one current."""
        current, staged = self.path / LEDGER_KEY_FILE, self.path / STAGED_KEY_FILE
        kept = self.path / f"ledger-{old.public_key().key_id}.key"
        if not kept.exists():
            os.link(current, kept)
        os.replace(staged, current)
        os.replace(keyfile.public_path(staged), keyfile.public_path(current))
        keyfile.fsync_dir(self.path)

    def admin_token(self) -> str:
        token = os.environ.get(ADMIN_TOKEN_ENV)
        if token:
            return token
        path = self.path / ADMIN_TOKEN_FILE
        if not path.exists():
            files.private_dir(self.path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.PRIVATE_FILE_MODE)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
        try:
            return files.read_secret(path, "admin token").decode("utf-8").strip()
        except files.UnsafeFileError as exc:
            raise keyfile.KeyFileError(str(exc)) from exc


def register_ledger_key(db: Database, key: keys.PrivateKey) -> str:
    public = key.public_key()

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM ledger_keys WHERE key_id = ?", (public.key_id,)) is None:
            conn.execute(
                "INSERT INTO ledger_keys (key_id, public_key, status, created_us) "
                "VALUES (?, ?, 'active', ?)",
                (public.key_id, public.hex, now_us()),
            )

    db.transaction(work)
    return public.key_id


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --- merchants, terminals, enrollment ------------------------------------------------------


def create_merchant(db: Database, merchant_id: str, name: str, merchant_class: str,
                    fee_plan: int, config: dict | None = None) -> dict:
    _check_id(merchant_id, "merchant id")
    if merchant_class not in MERCHANT_CLASSES:
        raise LedgerError(f"merchant class must be one of {', '.join(MERCHANT_CLASSES)}")
    if fee_plan not in FEE_PLANS:
        raise LedgerError("fee plan must be 1, 2 or 3")
    merged = dict(DEFAULT_MERCHANT_CONFIG, **(config or {}))
    for key, value in merged.items():
        if type(value) is not int or value < 0:
            raise LedgerError(f"merchant setting {key} must be a whole number >= 0")

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM merchants WHERE merchant_id = ?", (merchant_id,)):
            raise LedgerError(f"merchant {merchant_id} already exists", 409, "exists")
        now = now_us()
        conn.execute(
            "INSERT INTO merchants (merchant_id, name, class, fee_plan, config, created_us, "
            "updated_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (merchant_id, name, merchant_class, fee_plan, json.dumps(merged, sort_keys=True),
             now, now),
        )

    db.transaction(work)
    return {"merchant_id": merchant_id, "name": name, "class": merchant_class,
            "fee_plan": fee_plan, "config": merged}


def set_merchant_setting(db: Database, merchant_id: str, name: str, value: int) -> dict:
    """Change one of a merchant's settings (offline limits, staff approvals and grant caps:
    sync.staff); its terminals take it with their next snapshot."""
    from sync.staff import DEFAULT_STAFF_CONFIG

    if name not in DEFAULT_MERCHANT_CONFIG and name not in DEFAULT_STAFF_CONFIG:
        known = ", ".join(sorted({**DEFAULT_MERCHANT_CONFIG, **DEFAULT_STAFF_CONFIG}))
        raise LedgerError(f"no merchant setting {name!r}; the settings are {known}")
    if type(value) is not int or value < 0:
        raise LedgerError(f"merchant setting {name} must be a whole number >= 0")

    def work(conn: Connection) -> dict:
        text = conn.value(f"SELECT config FROM merchants WHERE merchant_id = ?{conn.for_update}",
                          (merchant_id,))
        if text is None:
            raise LedgerError(f"no merchant {merchant_id}", 404, "not_found")
        config = {**json.loads(text), name: value}
        conn.execute("UPDATE merchants SET config = ?, updated_us = ? WHERE merchant_id = ?",
                     (json.dumps(config, sort_keys=True), now_us(), merchant_id))
        _admin_op(conn, "set_merchant_setting", {"merchant": merchant_id, name: value})
        return config

    return {"merchant_id": merchant_id, "config": db.transaction(work)}


def _code_hash(code: str) -> str:
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(b"machi-pos/enroll/v1\n" + normal.encode("utf-8")).hexdigest()


def create_terminal(db: Database, merchant_id: str) -> dict:
    """A new terminal awaiting enrollment, and its one-time code (shown once, stored hashed)."""
    terminal_id = "T-" + ids.new_id()[-10:]
    raw = ids.encode(int.from_bytes(secrets.token_bytes(8), "big") >> 4)[-4 * ENROLL_CODE_GROUPS:]
    code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM merchants WHERE merchant_id = ?", (merchant_id,)) is None:
            raise LedgerError(f"no merchant {merchant_id}", 404, "not_found")
        now = now_us()
        conn.execute(
            "INSERT INTO terminals (terminal_id, merchant_id, status, code_hash, "
            "code_expires_us, last_seq, last_totals, created_us) "
            "VALUES (?, ?, 'pending', ?, ?, 0, '{}', ?)",
            (terminal_id, merchant_id, _code_hash(code), now + ENROLL_CODE_TTL_S * 1_000_000, now),
        )

    db.transaction(work)
    return {"terminal_id": terminal_id, "merchant_id": merchant_id, "code": code,
            "expires_in_s": ENROLL_CODE_TTL_S}


def ledger_public_keys(conn: Connection) -> list[dict]:
    """Every key the ledger has signed with, oldest first; each later key with the rotation
    statement by which the key before it vouches for it (sync.trust)."""
    return [{"key_id": kid, "public_key": pub, "status": status,
             "rotation": json.loads(rotation) if rotation else None}
            for kid, pub, status, rotation in conn.all(
                "SELECT key_id, public_key, status, rotation FROM ledger_keys "
                "ORDER BY created_us")]


def rotations(db: Database) -> list[dict]:
    """The chain of rotation statements, oldest first (what answers signed by a rotated key
    carry, so a terminal that pinned an older key can reach the signing one)."""
    with db.reading() as conn:
        return [item["rotation"] for item in ledger_public_keys(conn) if item["rotation"]]


def rotate_ledger_key(db: Database, home: LedgerHome) -> dict:
    """Make a new signing key, vouched for by the current one, and make it current.

    The old key file is kept beside it as `ledger-<key id>.key` (its heads, certificates
    and gift codes still verify: terminals keep every key they pinned); the servers sign
    with the new key once restarted."""
    old = home.signing_key()
    register_ledger_key(db, old)
    new = home.stage_signing_key()
    statement = trust.sign_rotation(old, new.public_key(), now_us() // 1000)

    def work(conn: Connection) -> None:
        conn.execute("UPDATE ledger_keys SET status = 'retired' WHERE key_id = ?",
                     (old.public_key().key_id,))
        conn.execute(
            "INSERT INTO ledger_keys (key_id, public_key, status, created_us, rotation) "
            "VALUES (?, ?, 'active', ?, ?)",
            (new.public_key().key_id, new.public_key().hex, now_us(),
             canonical.dumps(statement).decode("ascii")))

    db.transaction(work)
    home.promote_staged_key(old)
    return {"retired": old.public_key().key_id, "active": new.public_key().key_id,
            "fingerprint": keys.fingerprint(new.public_key())}


def merchant_view(conn: Connection, merchant_id: str) -> dict:
    row = conn.one("SELECT merchant_id, name, class, fee_plan, config FROM merchants "
                   "WHERE merchant_id = ?", (merchant_id,))
    assert row is not None
    return {"merchant_id": row[0], "name": row[1], "class": row[2], "fee_plan": row[3],
            "config": json.loads(row[4])}


def enroll(db: Database, code: Any, public_key_hex: Any) -> wire.EnrollAnswer:
    if not isinstance(code, str) or not isinstance(public_key_hex, str):
        raise LedgerError("enrollment needs a code and a public key (hex)")
    try:
        public = keys.load_public_key_hex(public_key_hex)
    except keys.KeyFormatError as exc:
        raise LedgerError(f"public key: {exc}") from exc

    def work(conn: Connection) -> dict:
        row = conn.one(
            f"SELECT terminal_id, merchant_id, status, code_expires_us FROM terminals "
            f"WHERE code_hash = ?{conn.for_update}",
            (_code_hash(code),),
        )
        if row is None or row[2] != "pending":
            raise LedgerError("unknown or used enrollment code", 401, "bad_code")
        if row[3] < now_us():
            raise LedgerError("the enrollment code has expired; ask for a new one", 401,
                              "code_expired")
        if conn.one("SELECT 1 FROM terminals WHERE public_key = ?", (public.hex,)):
            raise LedgerError("this key is already enrolled for another terminal", 409, "key_used")
        conn.execute(
            "UPDATE terminals SET status = 'active', public_key = ?, code_hash = NULL, "
            "enrolled_us = ? WHERE terminal_id = ?",
            (public.hex, now_us(), row[0]),
        )
        return {
            "terminal_id": row[0],
            "merchant": merchant_view(conn, row[1]),
            "ledger_keys": ledger_public_keys(conn),
            "server_time_ms": now_us() // 1000,
        }

    return wire.check_enroll_answer(db.transaction(work))


def terminal_key(db: Database, terminal_id: str) -> tuple[str, str] | None:
    """(public key hex, status) of a terminal, or None."""
    with db.reading() as conn:
        row = conn.one("SELECT public_key, status FROM terminals WHERE terminal_id = ?",
                       (terminal_id,))
    return None if row is None or row[0] is None else (row[0], row[1])


def set_terminal_status(db: Database, terminal_id: str, status: str, reason: str) -> None:
    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM terminals WHERE terminal_id = ?", (terminal_id,)) is None:
            raise LedgerError(f"no terminal {terminal_id}", 404, "not_found")
        conn.execute("UPDATE terminals SET status = ?, status_reason = ? WHERE terminal_id = ?",
                     (status, reason, terminal_id))

    db.transaction(work)


# --- wallets and cards ---------------------------------------------------------------------


def create_wallet(db: Database, kind: str, wallet_id: str | None = None,
                  age_band: str | None = None, area: str | None = None) -> str:
    if kind not in WALLET_KINDS:
        raise LedgerError(f"wallet kind must be one of {', '.join(WALLET_KINDS)}")
    wallet_id = _check_id(wallet_id or "W-" + ids.new_id(), "wallet id")

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM wallets WHERE wallet_id = ?", (wallet_id,)):
            raise LedgerError(f"wallet {wallet_id} already exists", 409, "exists")
        now = now_us()
        conn.execute(
            "INSERT INTO wallets (wallet_id, kind, status, age_band, area, created_us, "
            "updated_us, version) VALUES (?, ?, 'active', ?, ?, ?, ?, 1)",
            (wallet_id, kind, age_band, area, now, now),
        )

    db.transaction(work)
    return wallet_id


def _pin_text(pin: str | None, above: int) -> str | None:
    """The stored form of a PIN (hashed here, at the ledger), or None for no PIN."""
    if pin is None:
        return None
    try:
        return canonical.dumps(pins.make(pin, above)).decode()
    except pins.PinError as exc:
        raise LedgerError(f"PIN: {exc}") from exc


def create_staff(db: Database, merchant_id: str, name: str, role: str, pin: str) -> dict:
    """A staff member of a merchant (a salted scrypt hash of the PIN is kept); the merchant's
    terminals get the member in their next snapshot."""
    if role not in bodies.STAFF_ROLES:
        raise LedgerError(f"role must be one of {', '.join(bodies.STAFF_ROLES)}")
    try:
        stored = pins.make(pin, 0)
    except pins.PinError as exc:
        raise LedgerError(f"PIN: {exc}") from exc
    member = {"staff": "S-" + ids.new_id(), "name": (name or "").strip(), "role": role,
              "pin": stored}
    try:
        bodies.check("staff", {"member": member})
    except bodies.BodyError as exc:
        raise LedgerError(str(exc)) from exc

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM merchants WHERE merchant_id = ?", (merchant_id,)) is None:
            raise LedgerError(f"no merchant {merchant_id}", 404, "not_found")
        # PINs are unique within a shop: the admin screen takes any manager's PIN, so a
        # cashier sharing one would open it as that manager.
        if any(pins.matches(pin, other["pin"]) for other in staff_of(conn, merchant_id)):
            raise LedgerError("another member of this merchant has that PIN; choose another",
                              409, "pin_taken")
        insert_staff(conn, merchant_id, member, "admin")
        _admin_op(conn, "create_staff", {"staff": member["staff"], "merchant": merchant_id,
                                         "role": role})

    db.transaction(work)
    return {"staff": member["staff"], "merchant": merchant_id, "name": member["name"],
            "role": role}


def staff_of(conn: Connection, merchant_id: str) -> list[dict]:
    """A merchant's staff as snapshots carry them (with their PIN hashes)."""
    return [{"staff": sid, "name": name, "role": role, "pin": json.loads(pin)}
            for sid, name, role, pin in conn.all(
                "SELECT staff_id, name, role, pin FROM staff WHERE merchant_id = ? "
                "ORDER BY staff_id", (merchant_id,))]


def create_card(db: Database, wallet_id: str, card_id: str | None = None,
                nfc_uid: str | None = None, pin: str | None = None,
                pin_above: int = pins.DEFAULT_PIN_ABOVE) -> str:
    try:
        card_id = cards.normalize(card_id) if card_id else cards.new_card_number()
    except cards.CardNumberError as exc:
        raise LedgerError(f"card number: {exc}") from exc
    pin_text = _pin_text(pin, pin_above)
    if nfc_uid is not None:
        nfc_uid = nfc_uid.strip().upper()
        if not nfc_uid or len(nfc_uid) > 32 or any(c not in "0123456789ABCDEF" for c in nfc_uid):
            raise LedgerError("an NFC UID / IDm is up to 32 hex digits")

    def work(conn: Connection) -> None:
        if conn.one("SELECT 1 FROM wallets WHERE wallet_id = ?", (wallet_id,)) is None:
            raise LedgerError(f"no wallet {wallet_id}", 404, "not_found")
        if conn.one("SELECT 1 FROM cards WHERE card_id = ?", (card_id,)):
            raise LedgerError(f"card {card_id} already exists", 409, "exists")
        if nfc_uid and conn.one("SELECT 1 FROM cards WHERE nfc_uid = ?", (nfc_uid,)):
            raise LedgerError("that NFC card is already registered", 409, "exists")
        now = now_us()
        conn.execute(
            "INSERT INTO cards (card_id, wallet_id, status, nfc_uid, created_us, updated_us, "
            "version, pin) VALUES (?, ?, 'active', ?, ?, ?, 1, ?)",
            (card_id, wallet_id, nfc_uid, now, now, pin_text),
        )

    db.transaction(work)
    return card_id


def set_card_pin(db: Database, card_id: str, pin: str | None,
                 above: int = pins.DEFAULT_PIN_ABOVE) -> dict:
    """Set, change or (`pin` None) remove a card's PIN; terminals learn it at their next pull
    (a terminal that locked the card after wrong PINs takes it back then)."""
    try:
        card_id = cards.normalize(card_id)
    except cards.CardNumberError as exc:
        raise LedgerError(f"card number: {exc}") from exc
    pin_text = _pin_text(pin, above)

    def work(conn: Connection) -> None:
        if conn.one(f"SELECT 1 FROM cards WHERE card_id = ?{conn.for_update}",
                    (card_id,)) is None:
            raise LedgerError(f"no card {card_id}", 404, "not_found")
        conn.execute("UPDATE cards SET pin = ?, updated_us = ?, version = version + 1 "
                     "WHERE card_id = ?", (pin_text, now_us(), card_id))
        _admin_op(conn, "set_card_pin", {"card": card_id, "pin": pin is not None})

    db.transaction(work)
    return {"card": card_id, "pin": pin is not None,
            **({"above": above} if pin is not None else {})}


def block_card(db: Database, card_id: str, new_card: str | None = None) -> dict:
    """Block a lost card (deny-listed at every terminal's next pull); optionally put a new
    card on the same wallet, so the balance goes on with the new card."""
    try:
        card_id = cards.normalize(card_id)
    except cards.CardNumberError as exc:
        raise LedgerError(f"card number: {exc}") from exc

    def work(conn: Connection) -> str:
        row = conn.one(f"SELECT wallet_id, status FROM cards WHERE card_id = ?{conn.for_update}",
                       (card_id,))
        if row is None:
            raise LedgerError(f"no card {card_id}", 404, "not_found")
        conn.execute("UPDATE cards SET status = 'blocked', updated_us = ?, version = version + 1 "
                     "WHERE card_id = ?", (now_us(), card_id))
        _admin_op(conn, "block_card", {"card": card_id, "wallet": row[0]})
        return row[0]

    wallet_id = db.transaction(work)
    out = {"card": card_id, "wallet": wallet_id, "status": "blocked"}
    if new_card is not None:
        out["new_card"] = create_card(db, wallet_id, new_card or None)
    return out


def _admin_op(conn: Connection, kind: str, detail: dict) -> str:
    op_id = "admin/" + ids.new_id()
    conn.execute("INSERT INTO admin_ops (op_id, kind, detail, created_us) VALUES (?, ?, ?, ?)",
                 (op_id, kind, json.dumps(detail, sort_keys=True), now_us()))
    return op_id


def issue_value(db: Database, wallet_id: str, pocket: str, amount: int, funder: str,
                expires: str | None = None, classes: list[str] | None = None,
                campaign: str | None = None) -> str:
    """Put value into a wallet from the ledger side (online sales, grants, the demo region):
    a new lot, funded by `funder`, with balanced postings of its own."""
    line = bodies.new_lot("L-" + ids.new_id(), pocket, amount, 0, funder, expires,
                          classes or list(MERCHANT_CLASSES), campaign)
    try:
        bodies.check("grant", {"amount": amount, "wallet": wallet_id, "lots": [line]})
    except bodies.BodyError as exc:
        raise LedgerError(str(exc)) from exc

    def work(conn: Connection) -> str:
        batch = Batch(conn, ADMIN_PART, None)
        batch.load(set(), {wallet_id}, set())
        if wallet_id not in batch.wallets:
            raise LedgerError(f"no wallet {wallet_id}", 404, "not_found")
        op_id = _admin_op(conn, "issue_value", {"wallet": wallet_id, "lot": line})
        entry = Entry(op_id)
        lot = batch._new_lot(None, wallet_id, line, "admin")
        entry.post(wallet_account(wallet_id, pocket), amount)
        entry.post(f"funder:{funder}", -amount)
        batch.wallets[wallet_id].dirty = True
        batch.entries.append((entry, now_us()))
        batch.write(conn, now_us())
        return lot.lot_id

    return db.transaction(work)


def move_balance(db: Database, from_wallet: str, to_wallet: str) -> dict:
    """Move every lot's remaining value from one wallet to another (a replaced card whose
    holder gets a new wallet, merged accounts), lot by lot, keeping pockets and expiry."""
    if from_wallet == to_wallet:
        raise LedgerError("the wallets are the same")

    def work(conn: Connection) -> dict:
        batch = Batch(conn, ADMIN_PART, None)
        lot_ids = {r[0] for r in conn.all("SELECT lot_id FROM lots WHERE wallet_id = ? AND "
                                          "remaining > 0", (from_wallet,))}
        batch.load(lot_ids, {from_wallet, to_wallet}, set())
        for wallet_id in (from_wallet, to_wallet):
            if wallet_id not in batch.wallets:
                raise LedgerError(f"no wallet {wallet_id}", 404, "not_found")
        op_id = _admin_op(conn, "move_balance", {"from": from_wallet, "to": to_wallet})
        entry, moved = Entry(op_id), 0
        for lot in sorted(batch.lots.values(), key=lambda item: item.lot_id):
            if lot.wallet_id != from_wallet or lot.remaining <= 0:
                continue
            entry.post(wallet_account(from_wallet, lot.pocket), -lot.remaining)
            entry.post(wallet_account(to_wallet, lot.pocket), lot.remaining)
            moved_id = "L-" + ids.new_id()
            batch.lots[moved_id] = Lot(
                moved_id, to_wallet, lot.pocket, lot.remaining, lot.remaining, lot.expires,
                lot.classes, lot.funder, lot.campaign, f"move:{lot.lot_id}", new=True,
                dirty=True, usable_from=lot.usable_from)
            moved += lot.remaining
            lot.remaining, lot.dirty = 0, True
        for wallet_id in (from_wallet, to_wallet):
            batch.wallets[wallet_id].dirty = True
        batch.entries.append((entry, now_us()))
        batch.write(conn, now_us())
        return {"from": from_wallet, "to": to_wallet, "moved": moved}

    return db.transaction(work)


def create_campaign(db: Database, rules: Any) -> str:
    """Store a campaign's rules, validated and normalized by `sync.campaigns.validate` (the
    terminals evaluate these very rules offline); a campaign created again is updated."""
    try:
        rules = campaigns.validate(rules)
    except campaigns.RuleError as exc:
        raise LedgerError(f"campaign rules: {exc}") from exc
    campaign_id = rules["id"]
    try:
        text = canonical.dumps(rules).decode("utf-8")
    except canonical.CanonicalError as exc:
        raise LedgerError(f"campaign rules: {exc}") from exc

    def work(conn: Connection) -> None:
        now = now_us()
        if conn.one("SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)):
            conn.execute("UPDATE campaigns SET kind = ?, rules = ?, updated_us = ? "
                         "WHERE campaign_id = ?", (rules["kind"], text, now, campaign_id))
        else:
            conn.execute("INSERT INTO campaigns (campaign_id, kind, rules, created_us, updated_us)"
                         " VALUES (?, ?, ?, ?, ?)", (campaign_id, rules["kind"], text, now, now))

    db.transaction(work)
    return campaign_id


def _campaign_rules(conn: Connection, campaign_id: str) -> dict:
    text = conn.value("SELECT rules FROM campaigns WHERE campaign_id = ?", (campaign_id,))
    if text is None:
        raise LedgerError(f"no campaign {campaign_id}", 404, "not_found")
    return json.loads(text)


# --- leases of campaign quantities (docs/campaigns.md) ----------------------------------------


def _lease_view(lease_id: str, campaign_id: str, pool: str, count: int, expires_us: int) -> dict:
    return {"lease_id": lease_id, "campaign": campaign_id, "pool": pool, "count": count,
            "expires_ms": expires_us // 1000}


def _check_units(value: Any, what: str, least: int) -> int:
    if type(value) is not int or not least <= value <= MAX_LEASE_UNITS:
        raise LedgerError(f"{what} must be a whole number from {least} to {MAX_LEASE_UNITS:,}")
    return value


def request_lease(db: Database, terminal_id: str, campaign_id: Any, pool: Any, units: Any,
                  now: int | None = None, request_id: str | None = None) -> wire.LeaseAnswer:
    """Lend a terminal up to `units` of a campaign's pool, first come first served: never
    more than the pool's total is out (open leases) or used (closed ones). Expired leases
    never given back are taken back first, as what the ledger counted of them.

    `request_id` (made by the terminal, one per lease it wants) makes the request
    idempotent: asked again, by a retry or by a replay, it answers the lease granted the
    first time and grants nothing more."""
    _check_id(campaign_id, "campaign")
    if not isinstance(pool, str) or not bodies.ID_RE.fullmatch(pool):
        raise LedgerError("pool must be all, prize or shop.<merchant>")
    units = _check_units(units, "units", 1)
    if request_id is not None:
        _check_id(request_id, "request_id")

    def work(conn: Connection) -> dict:
        at = now_us() if now is None else now
        if request_id is not None:
            earlier = conn.one("SELECT lease_id, campaign_id, pool, count, expires_us FROM "
                               "leases WHERE terminal_id = ? AND request_id = ?",
                               (terminal_id, request_id))
            if earlier is not None:
                if (earlier[1], earlier[2]) != (campaign_id, pool):
                    raise LedgerError("this request id was used for another pool", 409,
                                      "request_id_used")
                return {"lease": _lease_view(*earlier)}
        rule = _campaign_rules(conn, campaign_id)
        total = campaigns.pool_total(rule, pool)
        if total is None:
            raise LedgerError(f"campaign {campaign_id} has no pool {pool}", 400, "no_pool")
        merchant_id = conn.value("SELECT merchant_id FROM terminals WHERE terminal_id = ?",
                                 (terminal_id,))
        if pool.startswith(campaigns.POOL_SHOP_PREFIX) and \
                pool != campaigns.POOL_SHOP_PREFIX + str(merchant_id):
            raise LedgerError("a terminal leases only its own shop's pool", 403, "not_your_pool")
        # Lock order, as everywhere: leases before pools.
        stale = [row[0] for row in conn.all(
            "SELECT lease_id FROM leases WHERE campaign_id = ? AND pool = ? AND status = 'open'"
            " AND expires_us < ? ORDER BY lease_id",
            (campaign_id, pool, at - LEASE_GRACE_S * 1_000_000))]
        expired = []
        for start in range(0, len(stale), LEASE_RECLAIM_CHUNK):
            chunk = stale[start : start + LEASE_RECLAIM_CHUNK]
            where, params = conn.in_values("lease_id", chunk)
            expired += conn.all(f"SELECT lease_id, count, used FROM leases WHERE {where} "
                                f"AND status = 'open' ORDER BY lease_id{conn.for_update}", params)
        granted = _lock_pool(conn, campaign_id, pool, total)
        for lease_id, count, used in expired:
            granted -= count - used
            conn.execute("UPDATE leases SET status = 'reclaimed', consumed = ?, closed_us = ? "
                         "WHERE lease_id = ?", (used, at, lease_id))
        grant = min(units, total - granted)
        if grant <= 0:
            conn.execute("UPDATE pools SET total = ?, granted = ? WHERE campaign_id = ? AND "
                         "pool = ?", (total, granted, campaign_id, pool))
            return {"lease": None, "left": 0}
        lease_id = "LS-" + ids.new_id()
        expires = at + LEASE_TTL_S * 1_000_000
        conn.execute(
            "INSERT INTO leases (lease_id, campaign_id, pool, terminal_id, count, used, "
            "status, expires_us, created_us, request_id) "
            "VALUES (?, ?, ?, ?, ?, 0, 'open', ?, ?, ?)",
            (lease_id, campaign_id, pool, terminal_id, grant, expires, at, request_id))
        conn.execute("UPDATE pools SET total = ?, granted = ? WHERE campaign_id = ? AND pool = ?",
                     (total, granted + grant, campaign_id, pool))
        return {"lease": _lease_view(lease_id, campaign_id, pool, grant, expires)}

    return wire.check_lease_answer(db.transaction(work))


def _lock_pool(conn: Connection, campaign_id: str, pool: str, total: int) -> int:
    """The pool's granted units, its row locked; made on first use (two transactions
    making it at once: one inserts, the other waits for it and then locks the row)."""
    conn.execute("INSERT INTO pools (campaign_id, pool, total, granted) VALUES (?, ?, ?, 0) "
                 "ON CONFLICT (campaign_id, pool) DO NOTHING", (campaign_id, pool, total))
    return int(conn.value(f"SELECT granted FROM pools WHERE campaign_id = ? AND pool = ?"
                          f"{conn.for_update}", (campaign_id, pool)))


def return_lease(db: Database, terminal_id: str, lease_id: Any, used: Any,
                 now: int | None = None) -> wire.LeaseReturnAnswer:
    """A terminal gives back what it did not use of its lease; the ledger keeps the larger
    of what the terminal says it used and what it counted from the records. Returning a
    lease again answers the same and changes nothing."""
    _check_id(lease_id, "lease_id")
    used = _check_units(used, "used", 0)

    def work(conn: Connection) -> dict:
        row = conn.one(f"SELECT campaign_id, pool, terminal_id, count, used, consumed, status "
                       f"FROM leases WHERE lease_id = ?{conn.for_update}", (lease_id,))
        if row is None:
            raise LedgerError(f"no lease {lease_id}", 404, "not_found")
        campaign_id, pool, owner, count, counted, consumed, status = row
        if owner != terminal_id:
            raise LedgerError("the lease belongs to another terminal", 403, "not_your_lease")
        if status != "open":
            return {"returned": max(0, count - consumed)}
        consumed = max(used, counted)
        conn.execute("UPDATE leases SET status = 'returned', consumed = ?, closed_us = ? "
                     "WHERE lease_id = ?",
                     (consumed, now_us() if now is None else now, lease_id))
        conn.execute("UPDATE pools SET granted = granted - ? WHERE campaign_id = ? AND pool = ?",
                     (count - consumed, campaign_id, pool))
        return {"returned": max(0, count - consumed)}

    return wire.check_lease_return_answer(db.transaction(work))


def pool_view(db: Database, campaign_id: str) -> list[dict]:
    with db.reading() as conn:
        return [{"pool": pool, "total": total, "granted": granted} for pool, total, granted in
                conn.all("SELECT pool, total, granted FROM pools WHERE campaign_id = ? "
                         "ORDER BY pool", (campaign_id,))]


# --- gift codes ------------------------------------------------------------------------------


def create_gift_codes(db: Database, ledger_key: keys.PrivateKey, campaign_id: str, count: int,
                      value: int | None = None) -> list[giftcodes.GiftCode]:
    """`count` new single-use codes of a gift_code campaign, signed with the ledger's key;
    each worth `value` yen (the campaign's value unless said). Only their ids are stored."""
    if type(count) is not int or not 1 <= count <= MAX_GIFT_CODES:
        raise LedgerError(f"count must be a whole number from 1 to {MAX_GIFT_CODES:,}")
    with db.reading() as conn:
        rule = _campaign_rules(conn, campaign_id)
    if rule["kind"] != "gift_code":
        raise LedgerError(f"campaign {campaign_id} is a {rule['kind']}, not a gift_code campaign")
    value = rule["value"] if value is None else value
    if type(value) is not int or not 1 <= value <= giftcodes.MAX_GIFT_YEN:
        raise LedgerError(f"value must be a whole number of yen from 1 to "
                          f"{giftcodes.MAX_GIFT_YEN:,}")
    made = [giftcodes.make(ledger_key, campaign_id, value) for _ in range(count)]

    def work(conn: Connection) -> None:
        now = now_us()
        conn.insert_rows("gift_codes", ("code_id", "campaign_id", "value", "created_us"),
                         [(code.code_id, campaign_id, value, now) for code in made])

    db.transaction(work)
    return made


def list_flags(db: Database, limit: int = 1000) -> list[dict]:
    with db.reading() as conn:
        rows = conn.all(
            "SELECT flag_id, kind, terminal_id, seq, wallet_id, detail, created_us, resolved_us "
            "FROM flags ORDER BY created_us DESC, flag_id DESC LIMIT ?", (limit,))
    return [{"flag_id": r[0], "kind": r[1], "terminal_id": r[2], "seq": r[3], "wallet_id": r[4],
             "detail": json.loads(r[5]), "created_us": r[6], "resolved": r[7] is not None}
            for r in rows]


# --- reading wallets -----------------------------------------------------------------------


def _lots_by_wallet(conn: Connection, wallet_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {w: [] for w in wallet_ids}
    for start in range(0, len(wallet_ids), 500):
        chunk = wallet_ids[start : start + 500]
        for lot_id, wallet_id, pocket, remaining, expires, classes, campaign, usable_from in \
                conn.all(
            "SELECT lot_id, wallet_id, pocket, remaining, expires, classes, campaign, "
            "usable_from FROM lots "
            f"WHERE wallet_id IN ({conn.in_list(chunk)}) AND remaining > 0 "
            "ORDER BY wallet_id, lot_id",
            chunk,
        ):
            out[wallet_id].append({"lot": lot_id, "pocket": pocket, "remaining": remaining,
                                   "expires": expires, "classes": json.loads(classes),
                                   **({"campaign": campaign} if campaign else {}),
                                   **({"usable_from": usable_from} if usable_from else {})})
    return out


def _debts(conn: Connection, wallet_ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(wallet_ids), 500):
        chunk = [f"wallet:{w}:debt" for w in wallet_ids[start : start + 500]]
        for account, total in conn.all(
            f"SELECT account, sum(amount) FROM balances WHERE account IN ({conn.in_list(chunk)})"
            " GROUP BY account", chunk):
            if total:
                out[account.split(":")[1]] = -int(total)
    return out


def _usage_by_wallet(conn: Connection, wallet_ids: list[str]) -> dict[str, dict[str, dict]]:
    """What each wallet has used of each campaign it used (sync.campaigns.fold)."""
    out: dict[str, dict[str, dict]] = {w: {} for w in wallet_ids}
    for start in range(0, len(wallet_ids), 500):
        where, params = conn.in_values("wallet_id", wallet_ids[start : start + 500])
        for wallet_id, campaign_id, state in conn.all(
                f"SELECT wallet_id, campaign_id, state FROM campaign_usage WHERE {where}",
                params):
            out[wallet_id][campaign_id] = json.loads(state)
    return out


def _basis_seq(conn: Connection, terminal_id: str | None) -> int:
    """How far the ledger holds the asking terminal's own journal: the view read with it
    holds that terminal's records up to this seq and none after (read in one snapshot)."""
    if terminal_id is None:
        return 0
    return int(conn.value("SELECT last_seq FROM terminals WHERE terminal_id = ?",
                          (terminal_id,), default=0))


def wallet_view(db: Database, wallet_id: str, terminal_id: str | None = None) -> wire.WalletView:
    """One wallet's fresh balance by lot, its debt and campaign usage; `basis_seq` says up
    to which of the asking terminal's records it holds (the terminal adds its later ones)."""
    with db.reading(snapshot=True) as conn:
        view = read_wallet(conn, wallet_id, terminal_id)
    if view is None:
        raise LedgerError(f"no wallet {wallet_id}", 404, "not_found")
    return wire.check_wallet_view(view)


def read_wallet(conn: Connection, wallet_id: str, terminal_id: str | None) -> dict | None:
    """`wallet_view` on an open (snapshot) read; None when the ledger has no such wallet."""
    row = conn.one("SELECT wallet_id, kind, status, status_reason, version FROM wallets "
                   "WHERE wallet_id = ?", (wallet_id,))
    if row is None:
        return None
    lots = _lots_by_wallet(conn, [wallet_id])[wallet_id]
    debt = _debts(conn, [wallet_id]).get(wallet_id, 0)
    usage = _usage_by_wallet(conn, [wallet_id])[wallet_id]
    basis_seq = _basis_seq(conn, terminal_id)
    pockets: dict[str, int] = {}
    for lot in lots:
        pockets[lot["pocket"]] = pockets.get(lot["pocket"], 0) + lot["remaining"]
    return {"wallet": row[0], "kind": row[1], "status": row[2], "status_reason": row[3],
            "version": row[4], "lots": lots, "pockets": pockets, "debt": debt,
            "total": sum(v for k, v in pockets.items() if k in bodies.YEN_POCKETS),
            "usage": usage, "basis_seq": basis_seq, "server_time_ms": now_us() // 1000}


def card_view(row: tuple) -> dict:
    """A card as terminals keep it, from (card_id, wallet_id, status, nfc_uid, version, pin).
    A PIN hash goes only with an active card: a blocked card pays nowhere, and its hash is
    one less to search in a stolen state.db."""
    card_id, wallet_id, status, nfc_uid, version, pin = row
    return {"card": card_id, "wallet": wallet_id, "status": status, "nfc_uid": nfc_uid,
            "version": version,
            **({"pin": json.loads(pin)} if pin and status == "active" else {})}


# --- snapshots -----------------------------------------------------------------------------

_FEEDS = ("wallets", "cards", "campaigns")
# A cursor position is (updated_us, row key): a BIGINT both engines hold, and a row key that
# is an id (wallet, card and campaign ids all are) or "" for the start of a feed.
CURSOR_US_MAX = 2**63 - 1


def _encode_cursor(position: dict[str, list]) -> str:
    text = json.dumps(position, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str | None) -> dict[str, list]:
    empty = {feed: [0, ""] for feed in _FEEDS}
    if not cursor:
        return empty
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        for feed in _FEEDS:
            us, key = position[feed]
            if type(us) is not int or not 0 <= us <= CURSOR_US_MAX:
                raise ValueError(feed)
            if not isinstance(key, str) or (key and not bodies.ID_RE.fullmatch(key)):
                raise ValueError(feed)
        return {feed: position[feed] for feed in _FEEDS}
    except (ValueError, KeyError, TypeError, UnicodeError) as exc:
        raise LedgerError("the snapshot cursor is not one this ledger made", 400,
                          "bad_cursor") from exc


def _page(conn: Connection, table: str, key: str, columns: str, after: list,
          limit: int) -> list[tuple]:
    return conn.all(
        f"SELECT {key}, updated_us, {columns} FROM {table} "
        f"WHERE updated_us > ? OR (updated_us = ? AND {key} > ?) "
        f"ORDER BY updated_us, {key} LIMIT ?",
        (after[0], after[0], after[1], limit),
    )


def _advance(after: list, rows: list[tuple], horizon: int) -> list:
    """The next position of one feed: past the rows sent, unless they are fresher than the
    horizon, in which case it stops at the horizon and they are sent again next time."""
    if not rows:
        return after
    last = [rows[-1][1], rows[-1][0]]
    return last if last[0] <= horizon else max(after, [horizon, ""])


def snapshot(db: Database, terminal_id: str, cursor: str | None,
             limit: int = SNAPSHOT_PAGE_MAX, overlap_us: int | None = None) -> wire.SnapshotPage:
    """What changed since `cursor`: wallets (with their lots and debt), cards (a PIN hash
    only with an active card: nothing else can be paid with), campaigns;
    plus the terminal's merchant settings, the ledger keys, the server's time, and
    `basis_seq`: the wallets hold the terminal's own records up to that seq, none after
    (one consistent read, so a batch of this terminal's landing meanwhile is either wholly
    in the page and under the basis, or neither)."""
    position = _decode_cursor(cursor)
    overlap = SNAPSHOT_OVERLAP_US[db.engine] if overlap_us is None else overlap_us
    horizon = now_us() - overlap
    with db.reading(snapshot=True) as conn:
        merchant_id = conn.value("SELECT merchant_id FROM terminals WHERE terminal_id = ?",
                                 (terminal_id,))
        basis_seq = _basis_seq(conn, terminal_id)
        wallets = _page(conn, "wallets", "wallet_id", "status, version", position["wallets"],
                        limit)
        ids_ = [row[0] for row in wallets]
        lots = _lots_by_wallet(conn, ids_)
        debts = _debts(conn, ids_)
        usage = _usage_by_wallet(conn, ids_)
        card_rows = _page(conn, "cards", "card_id", "wallet_id, status, nfc_uid, version, pin",
                          position["cards"], limit)
        campaign_rows = _page(conn, "campaigns", "campaign_id", "rules", position["campaigns"],
                              limit)
        merchant = merchant_view(conn, merchant_id) if merchant_id else None
        staff = staff_of(conn, merchant_id) if merchant_id else []
        ledger_keys = ledger_public_keys(conn)
    feeds = {"wallets": wallets, "cards": card_rows, "campaigns": campaign_rows}
    next_position = {feed: _advance(position[feed], rows, horizon) for feed, rows in feeds.items()}
    # More is waiting when a feed filled its page and moved to its last row.
    more = any(
        len(rows) == limit and next_position[feed] == [rows[-1][1], rows[-1][0]]
        for feed, rows in feeds.items()
    )
    return wire.check_snapshot_page({
        "cursor": _encode_cursor(next_position),
        "more": more,
        "basis_seq": basis_seq,
        "server_time_ms": now_us() // 1000,
        "wallets": [{"wallet": w, "status": status, "version": version, "lots": lots[w],
                     "debt": debts.get(w, 0), "usage": usage[w]}
                    for w, _, status, version in wallets],
        "cards": [card_view((c, w, s, u, v, pin)) for c, _, w, s, u, v, pin in card_rows],
        "campaigns": [json.loads(rules) for _, _, rules in campaign_rows],
        "merchant": merchant,
        "staff": staff,  # the merchant's whole staff, every page (a handful of rows)
        "ledger_keys": ledger_keys,
    }, rows=False)  # the rows: by each terminal, and in tests/ledger/test_wire.py
