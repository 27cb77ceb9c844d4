"""Records become balanced double-entry postings (DESIGN §8).

A posting is (account, amount) with amount > 0 adding value to the account; the postings of
one entry always sum to zero. Accounts:

    wallet:W:<pocket>        value a wallet holds (charged, premium_common, ... points)
    wallet:W:debt            what a wallet owes after an offline overdraft (negative)
    merchant:M:receivable    what the scheme owes a shop for payments taken
    cash:T                   cash taken in at terminal T's booth (negative: cash came in)
    funder:F                 who pays for premiums and points (negative: value they funded)

Lots carry the detail behind wallet pockets: the sum of a wallet's lots in a pocket equals
its pocket account. The ledger accepts every validly signed record (the goods were handed
over): what it cannot honour becomes debt, a flag, and the wallet on the deny list.

`Batch` loads the state one ingest batch needs (locking the rows on PostgreSQL, in one global
order: lots, then wallets, each sorted, so concurrent batches cannot deadlock), posts the
records in memory, and writes everything back in a few bulk statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ledger.db import Connection
from sync import bodies, ids

WALLET_BALANCE_CAP = 50_000  # yen per wallet (DESIGN §2; the Payment Services Act)
ADMIN_PART = "admin"


@dataclass
class Lot:
    lot_id: str
    wallet_id: str
    pocket: str
    amount: int
    remaining: int
    expires: str | None
    classes: list[str]
    funder: str | None = None
    campaign: str | None = None
    origin: str = ""
    new: bool = False
    dirty: bool = False


@dataclass
class Wallet:
    wallet_id: str
    kind: str
    status: str
    status_reason: str | None = None
    age_band: str | None = None
    area: str | None = None
    new: bool = False
    dirty: bool = False


@dataclass
class Flag:
    kind: str
    detail: dict[str, Any]
    terminal_id: str | None = None
    seq: int | None = None
    wallet_id: str | None = None


@dataclass
class Entry:
    """What one record (or admin operation) did, before it is written."""

    entry: str
    postings: list[tuple[str, int]] = field(default_factory=list)

    def post(self, account: str, amount: int) -> None:
        if amount:
            self.postings.append((account, amount))


def wallet_account(wallet_id: str, pocket: str) -> str:
    return f"wallet:{wallet_id}:{pocket}"


def _lot_from_row(row: tuple) -> Lot:
    lot_id, wallet_id, pocket, amount, remaining, expires, classes, funder, campaign, origin = row
    return Lot(lot_id, wallet_id, pocket, amount, remaining, expires, json.loads(classes),
               funder, campaign, origin)


LOT_COLUMNS = ("lot_id, wallet_id, pocket, amount, remaining, expires, classes, funder, "
               "campaign, origin")
WALLET_COLUMNS = "wallet_id, kind, status, status_reason, age_band, area"


def _in_chunks(values: list[str], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Batch:
    """Postings for a run of records from one terminal (or one admin operation)."""

    def __init__(self, conn: Connection, part: str, merchant: tuple[str, str] | None) -> None:
        self.conn = conn
        self.part = part
        self.merchant_id, self.merchant_class = merchant or (None, None)
        self.lots: dict[str, Lot] = {}
        self.wallets: dict[str, Wallet] = {}
        self.payments: dict[str, tuple[str, int, str]] = {}  # tx_id -> wallet, amount, type
        self.given_back: dict[str, int] = {}
        self.entries: list[tuple[Entry, int]] = []
        self.flags: list[Flag] = []
        self.givebacks: list[tuple[str, str, int]] = []
        self.cards: list[tuple[str, str, str | None]] = []
        # Lot ids `load` looked for: one that it did not find needs no second look (a
        # batch's own writes come only at `write`, after every posting).
        self.lots_looked_up: set[str] = set()
        # Stored lots (lot id -> remaining) of the wallets `wallet_total` was asked about,
        # read for all of the batch's wallets at once instead of one query per charge.
        self._stored_lots: dict[str, dict[str, int]] = {}

    # --- loading --------------------------------------------------------------------------

    def load(self, lot_ids: set[str], wallet_ids: set[str], payment_txs: set[str]) -> None:
        conn = self.conn
        self.lots_looked_up |= lot_ids
        for chunk in _in_chunks(sorted(lot_ids - self.lots.keys())):
            where, params = conn.in_values("lot_id", chunk)
            for row in conn.all(
                f"SELECT {LOT_COLUMNS} FROM lots WHERE {where} ORDER BY lot_id{conn.for_update}",
                params,
            ):
                self.lots[row[0]] = _lot_from_row(row)
        wallet_ids = wallet_ids | {lot.wallet_id for lot in self.lots.values()}
        for chunk in _in_chunks(sorted(wallet_ids - self.wallets.keys())):
            where, params = conn.in_values("wallet_id", chunk)
            for row in conn.all(
                f"SELECT {WALLET_COLUMNS} FROM wallets WHERE {where} "
                f"ORDER BY wallet_id{conn.for_update}",
                params,
            ):
                self.wallets[row[0]] = Wallet(*row)
        for chunk in _in_chunks(sorted(payment_txs - self.payments.keys())):
            where, params = conn.in_values("tx_id", chunk)
            for tx_id, rtype, text in conn.all(
                f"SELECT tx_id, type, record FROM records WHERE {where}", params
            ):
                body = json.loads(text)["body"]
                self.payments[tx_id] = (body.get("wallet", ""), body.get("amount", 0), rtype)
            where, params = conn.in_values("of_tx", chunk)
            for of_tx, total in conn.all(
                f"SELECT of_tx, sum(amount) FROM givebacks WHERE {where} GROUP BY of_tx", params
            ):
                self.given_back[of_tx] = int(total)

    @staticmethod
    def references(records: list[dict]) -> tuple[set[str], set[str], set[str]]:
        """Lot, wallet and payment ids a run of records refers to."""
        lot_ids, wallet_ids, payment_txs = set(), set(), set()
        for rec in records:
            body = rec["body"]
            if rec["type"] in ("payment", "refund", "void", "charge", "grant"):
                for line in body.get("lots", []) if isinstance(body.get("lots"), list) else []:
                    if isinstance(line, dict) and isinstance(line.get("lot"), str):
                        lot_ids.add(line["lot"])
            if isinstance(body.get("wallet"), str):
                wallet_ids.add(body["wallet"])
            if rec["type"] in ("refund", "void") and isinstance(body.get("of"), str):
                payment_txs.add(body["of"])
        return lot_ids, wallet_ids, payment_txs

    # --- helpers --------------------------------------------------------------------------

    def flag(self, kind: str, rec: dict | None, wallet_id: str | None = None, **detail) -> None:
        self.flags.append(
            Flag(
                kind,
                detail,
                rec["terminal_id"] if rec else None,
                rec["seq"] if rec else None,
                wallet_id,
            )
        )

    def deny(self, wallet: Wallet, reason: str) -> None:
        if wallet.status != "denied":
            wallet.status, wallet.status_reason = "denied", reason
        wallet.dirty = True

    def wallet(self, wallet_id: str, rec: dict | None, kind: str = "unknown") -> Wallet:
        """The wallet, created (and flagged) when a record names one the ledger never saw."""
        found = self.wallets.get(wallet_id)
        if found is None:
            found = self.wallets[wallet_id] = Wallet(wallet_id, kind, "active", new=True)
            if kind == "unknown":
                self.flag("unknown_wallet", rec, wallet_id)
        found.dirty = True
        return found

    def _read_stored_lots(self, wallet_ids: list[str]) -> None:
        conn = self.conn
        for chunk in _in_chunks(sorted(wallet_ids)):
            for wallet_id in chunk:
                self._stored_lots[wallet_id] = {}
            where, params = conn.in_values("wallet_id", chunk)
            for wallet_id, lot_id, remaining in conn.all(
                f"SELECT wallet_id, lot_id, remaining FROM lots WHERE {where}", params
            ):
                self._stored_lots[wallet_id][lot_id] = int(remaining)

    def wallet_total(self, wallet_id: str) -> int:
        """Value in a wallet now: lots held in this batch plus the stored rest."""
        if wallet_id not in self._stored_lots:
            # The first time, the stored lots of every wallet the batch holds are read in
            # one go: the next charges' wallets are most likely among them.
            wanted = {wallet_id} | self.wallets.keys()
            self._read_stored_lots([w for w in wanted if w not in self._stored_lots])
        held = [lot for lot in self.lots.values() if lot.wallet_id == wallet_id]
        in_batch = {lot.lot_id for lot in held if not lot.new}
        rest = sum(remaining for lot_id, remaining in self._stored_lots[wallet_id].items()
                   if lot_id not in in_batch)
        return rest + sum(lot.remaining for lot in held)

    # --- posting --------------------------------------------------------------------------

    def post_record(self, rec: dict, entry_id: str, at_us: int) -> None:
        """Post one verified record; a body the rules refuse is kept, flagged and not posted."""
        entry = Entry(entry_id)
        try:
            bodies.check(rec["type"], rec["body"])
        except bodies.BodyError as exc:
            self.flag("bad_body", rec, reason=str(exc))
            self.entries.append((entry, at_us))
            return
        handler = getattr(self, f"_post_{rec['type']}", None)
        if handler is not None:
            handler(rec, entry)
        assert sum(amount for _, amount in entry.postings) == 0, f"unbalanced {entry_id}"
        self.entries.append((entry, at_us))

    def _post_payment(self, rec: dict, entry: Entry) -> None:
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        day = rec["at"][:10]
        shortfall = 0
        for line in body["lots"]:
            lot = self.lots.get(line["lot"])
            if lot is None or lot.wallet_id != wallet.wallet_id:
                self.flag("unknown_lot", rec, wallet.wallet_id, lot=line["lot"])
                shortfall += line["amount"]
                continue
            if self.merchant_class and self.merchant_class not in lot.classes:
                self.flag("class_violation", rec, wallet.wallet_id, lot=lot.lot_id,
                          merchant_class=self.merchant_class)
            if lot.expires and day > lot.expires:
                self.flag("expired_lot", rec, wallet.wallet_id, lot=lot.lot_id,
                          expires=lot.expires)
            take = min(lot.remaining, line["amount"])
            lot.remaining -= take
            lot.dirty = True
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), -take)
            shortfall += line["amount"] - take
        if shortfall:
            entry.post(wallet_account(wallet.wallet_id, "debt"), -shortfall)
            self.flag("overdraft", rec, wallet.wallet_id, shortfall=shortfall,
                      decision=body["decision"])
            self.deny(wallet, "overdraft")
        entry.post(f"merchant:{self.merchant_id}:receivable", body["amount"])
        self.payments[rec["tx_id"]] = (wallet.wallet_id, body["amount"], "payment")

    def _post_giveback(self, rec: dict, entry: Entry) -> None:
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        original = self.payments.get(body["of"])
        if original is None or original[2] != "payment" or original[0] != wallet.wallet_id:
            self.flag("unknown_payment", rec, wallet.wallet_id, of=body["of"])
        else:
            total = self.given_back.get(body["of"], 0) + body["amount"]
            if total > original[1] or (rec["type"] == "void" and body["amount"] != original[1]):
                self.flag("over_refund", rec, wallet.wallet_id, of=body["of"],
                          paid=original[1], given_back=total)
            self.given_back[body["of"]] = total
        self.givebacks.append((body["of"], entry.entry, body["amount"]))
        for line in body["lots"]:
            lot = self.lots.get(line["lot"])
            if lot is None or lot.wallet_id != wallet.wallet_id:
                self.flag("unknown_lot", rec, wallet.wallet_id, lot=line["lot"])
                lot = self._new_lot(
                    rec, wallet.wallet_id, {"lot": line["lot"], "pocket": "charged",
                                            "amount": 0, "paid": 0}, origin="refund")
            lot.remaining += line["amount"]
            lot.amount = max(lot.amount, lot.remaining)
            lot.dirty = True
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), line["amount"])
        entry.post(f"merchant:{self.merchant_id}:receivable", -body["amount"])

    _post_refund = _post_giveback
    _post_void = _post_giveback

    def _new_lot(self, rec: dict | None, wallet_id: str, line: dict, origin: str) -> Lot:
        lot_id = line["lot"]
        if lot_id in self.lots or (lot_id not in self.lots_looked_up and self.conn.one(
                "SELECT 1 FROM lots WHERE lot_id = ?", (lot_id,))):
            fresh = f"{lot_id}.{ids.new_id()}"
            self.flag("duplicate_lot", rec, wallet_id, lot=lot_id, stored_as=fresh)
            lot_id = fresh
        lot = Lot(lot_id, wallet_id, line["pocket"], line["amount"], line["amount"],
                  line.get("expires"), list(line.get("classes", bodies.MERCHANT_CLASSES)),
                  line.get("funder"), line.get("campaign"), origin, new=True, dirty=True)
        self.lots[lot_id] = lot
        return lot

    def _credit_lots(self, rec: dict, entry: Entry, origin: str) -> Wallet:
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        for line in body["lots"]:
            lot = self._new_lot(rec, wallet.wallet_id, line, origin)
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), lot.amount)
            funded = line["amount"] - line["paid"]
            if funded:
                entry.post(f"funder:{line['funder']}", -funded)
        return wallet

    def _post_charge(self, rec: dict, entry: Entry) -> None:
        wallet = self._credit_lots(rec, entry, "charge")
        entry.post(f"cash:{rec['terminal_id']}", -rec["body"]["amount"])
        total = self.wallet_total(wallet.wallet_id)
        if total > WALLET_BALANCE_CAP:
            self.flag("over_cap", rec, wallet.wallet_id, balance=total, cap=WALLET_BALANCE_CAP)

    def _post_grant(self, rec: dict, entry: Entry) -> None:
        self._credit_lots(rec, entry, "grant")

    def _post_card_issue(self, rec: dict, entry: Entry) -> None:
        body = rec["body"]
        wallet_id = body["wallet"]
        if body["new_wallet"]:
            if wallet_id in self.wallets or self.conn.one(
                "SELECT 1 FROM wallets WHERE wallet_id = ?", (wallet_id,)
            ):
                self.flag("wallet_exists", rec, wallet_id)
            wallet = self.wallet(wallet_id, rec, kind="card")
        else:
            wallet = self.wallet(wallet_id, rec)
        for key in ("age_band", "area"):
            if isinstance(body.get(key), str):
                setattr(wallet, key, body[key])
        self.cards.append((body["card"], wallet_id, body.get("nfc_uid")))

    # --- writing --------------------------------------------------------------------------

    def write(self, conn: Connection, now: int) -> None:
        rows, deltas = [], {}
        for entry, at_us in self.entries:
            for n, (account, amount) in enumerate(entry.postings):
                rows.append((entry.entry, n, account, amount, self.part, at_us))
                deltas[account] = deltas.get(account, 0) + amount
        conn.insert_rows("postings", ("entry", "n", "account", "amount", "part", "at_us"), rows)
        conn.add_to_rows(
            "balances", ("account", "part"), "amount", ("TEXT", "TEXT", "BIGINT"),
            [(account, self.part, amount) for account, amount in sorted(deltas.items())],
        )
        self._write_wallets(conn, now)
        self._write_lots(conn, now)
        self._write_cards(conn, now)
        conn.insert_rows("givebacks", ("of_tx", "entry", "amount"), self.givebacks)
        conn.insert_rows(
            "flags", ("flag_id", "kind", "terminal_id", "seq", "wallet_id", "detail",
                      "created_us"),
            [
                (ids.new_id(), f.kind, f.terminal_id, f.seq, f.wallet_id,
                 json.dumps(f.detail, sort_keys=True), now)
                for f in self.flags
            ],
        )

    def _write_wallets(self, conn: Connection, now: int) -> None:
        touched = {lot.wallet_id for lot in self.lots.values() if lot.dirty}
        for wallet_id in touched:
            if wallet_id in self.wallets:
                self.wallets[wallet_id].dirty = True
        conn.insert_rows(
            "wallets", ("wallet_id", "kind", "status", "status_reason", "age_band", "area",
                        "created_us", "updated_us", "version"),
            [(w.wallet_id, w.kind, w.status, w.status_reason, w.age_band, w.area, now, now, 1)
             for w in self.wallets.values() if w.new],
        )
        conn.update_rows(
            "wallets", "wallet_id", (("status", "TEXT"), ("status_reason", "TEXT"),
                                     ("age_band", "TEXT"), ("area", "TEXT"),
                                     ("updated_us", "BIGINT")),
            [(w.status, w.status_reason, w.age_band, w.area, now, w.wallet_id)
             for w in self.wallets.values() if w.dirty and not w.new],
            also="version = version + 1",
        )

    def _write_lots(self, conn: Connection, now: int) -> None:
        conn.insert_rows(
            "lots", (*LOT_COLUMNS.split(", "), "created_us"),
            [(lot.lot_id, lot.wallet_id, lot.pocket, lot.amount, lot.remaining, lot.expires,
              json.dumps(lot.classes), lot.funder, lot.campaign, lot.origin, now)
             for lot in self.lots.values() if lot.new],
        )
        conn.update_rows(
            "lots", "lot_id", (("remaining", "BIGINT"), ("amount", "BIGINT")),
            [(lot.remaining, lot.amount, lot.lot_id)
             for lot in self.lots.values() if lot.dirty and not lot.new],
        )

    def _write_cards(self, conn: Connection, now: int) -> None:
        for card_id, wallet_id, nfc_uid in self.cards:
            existing = conn.one("SELECT wallet_id FROM cards WHERE card_id = ?", (card_id,))
            if existing is not None:
                if existing[0] != wallet_id:
                    self.flags.append(Flag("card_conflict", {"card": card_id,
                                                             "mapped_to": existing[0]},
                                           self.part, None, wallet_id))
                continue
            conn.execute(
                "INSERT INTO cards (card_id, wallet_id, status, nfc_uid, created_us, updated_us, "
                "version) VALUES (?, ?, 'active', ?, ?, ?, 1)",
                (card_id, wallet_id, nfc_uid, now, now),
            )

