"""Office accounts of the console: users with a role, passwords, sessions, CSRF tokens,
lock-out after failed sign-ins, and the audit log of every change.

Passwords are stored as scrypt hashes (stdlib hashlib: slow and memory-hard by design) with a
random salt per user. A session is a random token the browser keeps in an HttpOnly,
SameSite=Strict cookie, signed with HMAC-SHA256 under a key kept in the database (so every
worker process and every server of one ledger agree on it); the database keeps only the
token's SHA-256, so a copy of the database signs no one in. Each session has its own CSRF
token, which every form carries and every POST must echo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from ledger.db import Connection, Database
from ledger.errors import LedgerPackageError
from ledger.schema import now_us
from sync import ids

ROLES = ("viewer", "operator", "admin")
# What each role may do (docs/console.md): viewers read; operators act on cards, PINs,
# flags and new terminals; admins also revoke terminals and create campaigns.
RANK = {role: n for n, role in enumerate(ROLES)}
CHANGE_ROLE = {
    "block_card": "operator",
    "set_card_pin": "operator",
    "clear_card_pin": "operator",
    "resolve_flag": "operator",
    "create_terminal": "operator",
    "revoke_terminal": "admin",
    "create_campaign": "admin",
}

NAME_MAX_CHARS = 64
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024
# scrypt's cost: N = 2**14, r = 8, p = 1 takes ~50 ms and 16 MiB here per try (the
# parameters OWASP gives as the least for scrypt are N = 2**17 with r = 8; ours is tuned
# for a small office server with several worker processes: raise N for a larger one).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024
SALT_BYTES = 16
HASH_BYTES = 32
# Lock-out: this many failed sign-ins in a row lock the account for LOCKOUT_S seconds.
MAX_FAILED_SIGN_INS = 5
LOCKOUT_S = 15 * 60
SESSION_TOKEN_BYTES = 32
CSRF_TOKEN_BYTES = 32
SESSION_TTL_S = 8 * 60 * 60  # a working day; then sign in again
COOKIE_KEY_NAME = "session-cookie"
COOKIE_KEY_BYTES = 32
AUDIT_SHOWN = 200


class AccountError(LedgerPackageError):
    """A refused account operation (bad name, weak password, unknown role, locked)."""

    code = "account"

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message, code)


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str
    token_hash: str

    def may(self, action: str) -> bool:
        return RANK[self.role] >= RANK[CHANGE_ROLE[action]]


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, maxmem=SCRYPT_MAXMEM_BYTES, dklen=HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    kind, n, r, p, salt, digest = stored.split("$")
    assert kind == "scrypt", kind
    found = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                           r=int(r), p=int(p), maxmem=SCRYPT_MAXMEM_BYTES,
                           dklen=len(digest) // 2)
    return hmac.compare_digest(found.hex(), digest)


# A hash of no one's password: a sign-in under an unknown name takes as long as a real one.
_DUMMY = hash_password(secrets.token_hex(16))


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX_CHARS or not name.isprintable():
        raise AccountError(f"a user name is 1 to {NAME_MAX_CHARS} printable characters")
    return name


def create_user(db: Database, name: str, role: str, password: str) -> dict:
    """A new office user (or a new password and role for an existing one, which also ends
    the user's sessions and lifts a lock-out)."""
    name = _check_name(name)
    if role not in ROLES:
        raise AccountError(f"the role is one of {', '.join(ROLES)}")
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise AccountError(f"the password is {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} "
                           "characters")
    stored = hash_password(password)

    def work(conn: Connection) -> bool:
        now = now_us()
        exists = conn.one(f"SELECT 1 FROM office_users WHERE name = ?{conn.for_update}",
                          (name,)) is not None
        if exists:
            conn.execute("UPDATE office_users SET role = ?, password = ?, failed = 0, "
                         "locked_until_us = 0, updated_us = ? WHERE name = ?",
                         (role, stored, now, name))
            conn.execute("DELETE FROM office_sessions WHERE user_name = ?", (name,))
        else:
            conn.execute("INSERT INTO office_users (name, role, password, failed, "
                         "locked_until_us, created_us, updated_us) VALUES (?, ?, ?, 0, 0, ?, ?)",
                         (name, role, stored, now, now))
        audit(conn, "cli", "admin", "create_office_user" if not exists else
              "update_office_user", name, {"role": role})
        return exists

    updated = db.transaction(work)
    return {"name": name, "role": role, "updated": updated}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def sign_in(db: Database, name: str, password: str) -> tuple[str, Session]:
    """A new session for `name` (its cookie token and the session), or AccountError:
    `locked` while locked out, `refused` for a wrong name or password (the same answer
    for both, so names cannot be tried out)."""
    name = name.strip()
    with db.reading() as conn:
        row = conn.one("SELECT role, password, locked_until_us FROM office_users "
                       "WHERE name = ?", (name,)) if len(name) <= NAME_MAX_CHARS else None
    if row is None:
        password_matches(password, _DUMMY)
        raise AccountError("wrong user name or password", "refused")
    role, stored, locked_until = row
    if locked_until > now_us():
        raise AccountError("this account is locked after too many failed sign-ins; try "
                           "again later or ask an admin", "locked")
    if not password_matches(password[:PASSWORD_MAX_CHARS], stored):
        def failed(conn: Connection) -> int:
            count = conn.value(f"SELECT failed FROM office_users WHERE name = ?"
                               f"{conn.for_update}", (name,)) + 1
            until = now_us() + LOCKOUT_S * 1_000_000 if count >= MAX_FAILED_SIGN_INS else 0
            conn.execute("UPDATE office_users SET failed = ?, locked_until_us = ? "
                         "WHERE name = ?", (0 if until else count, until, name))
            audit(conn, name, role, "sign_in_failed" if not until else "locked_out", name,
                  {"failed": count})
            return until

        if db.transaction(failed):
            raise AccountError("this account is locked after too many failed sign-ins; try "
                               "again later or ask an admin", "locked")
        raise AccountError("wrong user name or password", "refused")
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    csrf = secrets.token_urlsafe(CSRF_TOKEN_BYTES)

    def work(conn: Connection) -> None:
        now = now_us()
        conn.execute("UPDATE office_users SET failed = 0, locked_until_us = 0 WHERE name = ?",
                     (name,))
        conn.execute("DELETE FROM office_sessions WHERE expires_us < ?", (now,))
        conn.execute("INSERT INTO office_sessions (token_hash, user_name, csrf, created_us, "
                     "expires_us) VALUES (?, ?, ?, ?, ?)",
                     (_token_hash(token), name, csrf, now, now + SESSION_TTL_S * 1_000_000))
        audit(conn, name, role, "sign_in", name, {})

    db.transaction(work)
    return token, Session(name, role, csrf, _token_hash(token))


def session_of(db: Database, token: str) -> Session | None:
    with db.reading() as conn:
        row = conn.one("SELECT s.user_name, u.role, s.csrf, s.expires_us FROM office_sessions s "
                       "JOIN office_users u ON u.name = s.user_name WHERE s.token_hash = ?",
                       (_token_hash(token),))
    if row is None or row[3] < now_us():
        return None
    return Session(row[0], row[1], row[2], _token_hash(token))


def sign_out(db: Database, session: Session) -> None:
    def work(conn: Connection) -> None:
        conn.execute("DELETE FROM office_sessions WHERE token_hash = ?", (session.token_hash,))
        audit(conn, session.user, session.role, "sign_out", session.user, {})

    db.transaction(work)


def cookie_key(db: Database) -> bytes:
    """The key that signs session cookies: made once, kept in the database."""
    with db.reading() as conn:
        found = conn.value("SELECT secret FROM office_keys WHERE name = ?", (COOKIE_KEY_NAME,))
    if found is None:
        def work(conn: Connection) -> None:
            conn.execute("INSERT INTO office_keys (name, secret, created_us) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO NOTHING",
                         (COOKIE_KEY_NAME, secrets.token_hex(COOKIE_KEY_BYTES), now_us()))

        db.transaction(work)
        with db.reading() as conn:
            found = conn.value("SELECT secret FROM office_keys WHERE name = ?",
                               (COOKIE_KEY_NAME,))
    return bytes.fromhex(found)


def sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(key: bytes, signed: str) -> str | None:
    value, _, mac = signed.rpartition(".")
    if not value or not hmac.compare_digest(sign(key, value), signed):
        return None
    return value


def audit(conn: Connection, user: str, role: str, action: str, target: str,
          detail: dict) -> None:
    """One line of the audit log: who did what to what, when (never a PIN or password)."""
    conn.execute("INSERT INTO office_audit (audit_id, at_us, user_name, role, action, target, "
                 "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (ids.new_id(), now_us(), user, role, action, target,
                  json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def record_change(db: Database, session: Session, action: str, target: str,
                  detail: dict) -> None:
    db.transaction(lambda conn: audit(conn, session.user, session.role, action, target,
                                      detail))


def audit_log(db: Database, limit: int = AUDIT_SHOWN, action: str | None = None) -> list[dict]:
    with db.reading() as conn:
        rows = conn.all("SELECT at_us, user_name, role, action, target, detail FROM office_audit"
                        " WHERE (? = '' OR action = ?) ORDER BY at_us DESC, audit_id DESC "
                        "LIMIT ?", (action or "", action or "", limit))
    return [{"at_us": r[0], "user": r[1], "role": r[2], "action": r[3], "target": r[4],
             "detail": json.loads(r[5])} for r in rows]
