"""The ledger's tables, as explicit, versioned migrations that run on SQLite and PostgreSQL.

Times are BIGINT microseconds since the Unix epoch (UTC); money is BIGINT yen; documents
(records, rules, flag details) are canonical JSON in TEXT. Each migration runs in its own
transaction together with the row that records it, so two servers starting at once cannot
both apply it (the second one's insert collides and it re-reads).

Balances are kept per (account, part) where `part` is the terminal whose records moved them
(or "admin"): a terminal's ingest only ever touches its own rows, so a town-wide account
(a funder, a merchant's receivable) is never a point of contention between terminals. An
account's balance is the sum over its parts.
"""

from __future__ import annotations

import logging
import time

from ledger.db import Connection, Database, DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "merchants, terminals, journal, postings, wallets, lots, cards, flags",
        [
            """CREATE TABLE merchants (
                merchant_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                class TEXT NOT NULL,
                fee_plan INTEGER NOT NULL,
                config TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL
            )""",
            """CREATE TABLE terminals (
                terminal_id TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL REFERENCES merchants (merchant_id),
                status TEXT NOT NULL,
                status_reason TEXT,
                code_hash TEXT UNIQUE,
                code_expires_us BIGINT,
                public_key TEXT,
                last_seq BIGINT NOT NULL,
                last_hash TEXT,
                last_totals TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                enrolled_us BIGINT
            )""",
            """CREATE TABLE records (
                terminal_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                tx_id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                at TEXT NOT NULL,
                hash TEXT NOT NULL,
                record TEXT NOT NULL,
                received_us BIGINT NOT NULL,
                PRIMARY KEY (terminal_id, seq)
            )""",
            """CREATE TABLE postings (
                entry TEXT NOT NULL,
                n INTEGER NOT NULL,
                account TEXT NOT NULL,
                amount BIGINT NOT NULL,
                part TEXT NOT NULL,
                at_us BIGINT NOT NULL,
                PRIMARY KEY (entry, n)
            )""",
            "CREATE INDEX postings_account ON postings (account)",
            """CREATE TABLE balances (
                account TEXT NOT NULL,
                part TEXT NOT NULL,
                amount BIGINT NOT NULL,
                PRIMARY KEY (account, part)
            )""",
            """CREATE TABLE wallets (
                wallet_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                status_reason TEXT,
                age_band TEXT,
                area TEXT,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL,
                version BIGINT NOT NULL
            )""",
            "CREATE INDEX wallets_changed ON wallets (updated_us, wallet_id)",
            """CREATE TABLE lots (
                lot_id TEXT PRIMARY KEY,
                wallet_id TEXT NOT NULL,
                pocket TEXT NOT NULL,
                amount BIGINT NOT NULL,
                remaining BIGINT NOT NULL,
                expires TEXT,
                classes TEXT NOT NULL,
                funder TEXT,
                campaign TEXT,
                origin TEXT NOT NULL,
                created_us BIGINT NOT NULL
            )""",
            "CREATE INDEX lots_wallet ON lots (wallet_id)",
            """CREATE TABLE cards (
                card_id TEXT PRIMARY KEY,
                wallet_id TEXT NOT NULL,
                status TEXT NOT NULL,
                nfc_uid TEXT UNIQUE,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL,
                version BIGINT NOT NULL
            )""",
            "CREATE INDEX cards_changed ON cards (updated_us, card_id)",
            "CREATE INDEX cards_wallet ON cards (wallet_id)",
            """CREATE TABLE givebacks (
                of_tx TEXT NOT NULL,
                entry TEXT NOT NULL,
                amount BIGINT NOT NULL,
                PRIMARY KEY (of_tx, entry)
            )""",
            """CREATE TABLE campaigns (
                campaign_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                rules TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL
            )""",
            "CREATE INDEX campaigns_changed ON campaigns (updated_us, campaign_id)",
            """CREATE TABLE flags (
                flag_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                terminal_id TEXT,
                seq BIGINT,
                wallet_id TEXT,
                detail TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                resolved_us BIGINT
            )""",
            "CREATE INDEX flags_created ON flags (created_us)",
            """CREATE TABLE ledger_keys (
                key_id TEXT PRIMARY KEY,
                public_key TEXT NOT NULL,
                status TEXT NOT NULL,
                created_us BIGINT NOT NULL
            )""",
            """CREATE TABLE admin_ops (
                op_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL,
                created_us BIGINT NOT NULL
            )""",
        ],
    ),
    (
        2,
        "campaigns: usage per wallet, quantity pools, leases, gift codes",
        [
            # What a wallet has used of a campaign (sync.campaigns.fold), canonical JSON.
            """CREATE TABLE campaign_usage (
                campaign_id TEXT NOT NULL,
                wallet_id TEXT NOT NULL,
                state TEXT NOT NULL,
                updated_us BIGINT NOT NULL,
                PRIMARY KEY (campaign_id, wallet_id)
            )""",
            "CREATE INDEX campaign_usage_wallet ON campaign_usage (wallet_id)",
            # A pool's `granted` = units in open leases + units consumed by closed ones.
            """CREATE TABLE pools (
                campaign_id TEXT NOT NULL,
                pool TEXT NOT NULL,
                total BIGINT NOT NULL,
                granted BIGINT NOT NULL,
                PRIMARY KEY (campaign_id, pool)
            )""",
            # `used`: units the ledger counted from ingested records; `consumed`: what a
            # closed lease kept of its count (NULL while open); status open|returned|reclaimed.
            """CREATE TABLE leases (
                lease_id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                pool TEXT NOT NULL,
                terminal_id TEXT NOT NULL,
                count BIGINT NOT NULL,
                used BIGINT NOT NULL,
                consumed BIGINT,
                status TEXT NOT NULL,
                expires_us BIGINT NOT NULL,
                created_us BIGINT NOT NULL,
                closed_us BIGINT
            )""",
            "CREATE INDEX leases_pool ON leases (campaign_id, pool, status, expires_us)",
            "CREATE INDEX leases_terminal ON leases (terminal_id)",
            """CREATE TABLE gift_codes (
                code_id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                value BIGINT NOT NULL,
                created_us BIGINT NOT NULL,
                used_tx TEXT,
                used_terminal TEXT,
                used_us BIGINT
            )""",
            "CREATE INDEX gift_codes_campaign ON gift_codes (campaign_id)",
        ],
    ),
    (
        3,
        "card PINs: salted scrypt hash and the amount above which it is asked (sync.pins)",
        ["ALTER TABLE cards ADD COLUMN pin TEXT"],
    ),
    (
        4,
        "postings without an index by account: nothing reads them that way (balances hold "
        "the sums), and every posting written paid for it (a third of ingest's writes)",
        ["DROP INDEX postings_account"],
    ),
    (
        5,
        "trust: a ledger key's rotation statement (signed by the key before it, sync.trust); "
        "a lease request's id, so a request sent twice is granted once",
        [
            "ALTER TABLE ledger_keys ADD COLUMN rotation TEXT",
            "ALTER TABLE leases ADD COLUMN request_id TEXT",
            "CREATE UNIQUE INDEX leases_request ON leases (terminal_id, request_id)",
        ],
    ),
    (
        6,
        "online claims: app token uses per device and counter, campaign uses claimed by "
        "online checks before their records arrive (ledger.online)",
        [
            # One row per app token used: claimed by an online check (for the sale's tx) or
            # taken when the record arrives; a second tx with the same token is flagged.
            """CREATE TABLE token_uses (
                device TEXT NOT NULL,
                counter BIGINT NOT NULL,
                wallet_id TEXT NOT NULL,
                terminal_id TEXT NOT NULL,
                tx_id TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                PRIMARY KEY (device, counter)
            )""",
            # A per-wallet campaign use an online booth was allowed, counted against the
            # wallet's limit until the record of `tx_id` arrives (or the claim goes stale).
            """CREATE TABLE campaign_claims (
                tx_id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                wallet_id TEXT NOT NULL,
                terminal_id TEXT NOT NULL,
                day TEXT NOT NULL,
                units BIGINT NOT NULL,
                created_us BIGINT NOT NULL
            )""",
            "CREATE INDEX campaign_claims_wallet ON campaign_claims (wallet_id, campaign_id)",
        ],
    ),
    (
        7,
        "lots' usable-from day (利用期間: voucher value sold before its use period starts "
        "may not be spent before it; NULL: usable at once)",
        ["ALTER TABLE lots ADD COLUMN usable_from TEXT"],
    ),
    (
        8,
        "staff: members per merchant with their role and salted PIN hash (sync.pins), made "
        "at the ledger or by a manager at a counter (a `staff` record)",
        [
            """CREATE TABLE staff (
                staff_id TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL REFERENCES merchants (merchant_id),
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                pin TEXT NOT NULL,
                origin TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL
            )""",
            "CREATE INDEX staff_merchant ON staff (merchant_id)",
        ],
    ),
    (
        9,
        "the town office's console: office users (scrypt password hash, failed sign-ins, "
        "lock-out), server-side sessions (token hashed), the audit log of every change, "
        "flag resolutions with their comment, the key that signs session cookies",
        [
            """CREATE TABLE office_users (
                name TEXT PRIMARY KEY,
                role TEXT NOT NULL,
                password TEXT NOT NULL,
                failed BIGINT NOT NULL,
                locked_until_us BIGINT NOT NULL,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL
            )""",
            """CREATE TABLE office_sessions (
                token_hash TEXT PRIMARY KEY,
                user_name TEXT NOT NULL REFERENCES office_users (name),
                csrf TEXT NOT NULL,
                created_us BIGINT NOT NULL,
                expires_us BIGINT NOT NULL
            )""",
            "CREATE INDEX office_sessions_user ON office_sessions (user_name)",
            """CREATE TABLE office_audit (
                audit_id TEXT PRIMARY KEY,
                at_us BIGINT NOT NULL,
                user_name TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "CREATE INDEX office_audit_at ON office_audit (at_us)",
            """CREATE TABLE flag_resolutions (
                flag_id TEXT PRIMARY KEY REFERENCES flags (flag_id),
                user_name TEXT NOT NULL,
                comment TEXT NOT NULL,
                resolved_us BIGINT NOT NULL
            )""",
            """CREATE TABLE office_keys (
                name TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                created_us BIGINT NOT NULL
            )""",
        ],
    ),
]


def now_us() -> int:
    return time.time_ns() // 1000


def _applied(conn: Connection) -> set[int]:
    return {row[0] for row in conn.all("SELECT version FROM schema_migrations")}


def migrate(db: Database) -> list[int]:
    """Apply the migrations the database has not had; returns the versions applied now."""
    conn = db.connection()
    db.transaction(
        lambda c: c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_us BIGINT NOT NULL)"
        )
    )
    applied = []
    for version, name, statements in MIGRATIONS:
        with db.reading() as reader:
            if version in _applied(reader):
                continue

        def apply(c: Connection, version=version, name=name, statements=statements) -> None:
            if version in _applied(c):
                return
            for statement in statements:
                c.execute(statement)
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)",
                (version, name, now_us()),
            )
            applied.append(version)

        log.info("ledger: migration %d (%s)", version, name)
        db.transaction(apply)
    newest = conn.value("SELECT max(version) FROM schema_migrations", default=0)
    if newest > MIGRATIONS[-1][0]:
        raise DatabaseError("the database was migrated by a newer version of the ledger")
    if db.engine == "postgres":
        conn.raw.rollback()
    return applied
