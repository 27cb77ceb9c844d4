"""Records become balanced double-entry postings (DESIGN §8).

A posting is (account, amount) with amount > 0 adding value to the account; the postings of
one entry always sum to zero. Accounts:

    wallet:W:<pocket>        value a wallet holds (charged, premium_common, ... points)
    wallet:W:debt            what a wallet owes after an offline overdraft (negative)
    merchant:M:receivable    what the scheme owes a shop for payments taken
    cash:T                   cash taken in at terminal T's booth (negative: cash came in)
    funder:F                 who pays for premiums, points and campaign discounts (negative:
                             value they funded)

Ticket rides are counts, never yen, and have accounts of their own: `wallet:W:tickets` (rides
a wallet holds), `wallet:W:ride_debt` (rides taken beyond them), `merchant:M:rides` (rides a
shop gave) and `funder:F:rides` (rides a funder granted). Every entry balances in yen and in
rides separately, because no entry ever posts a ride against yen.

Campaigns (docs/campaigns.md): each entry a record carries is checked against the rules and
the wallet's usage before it (`sync.campaigns.check_entry`); problems become flags and the
record is still posted. Usage is folded (`sync.campaigns.fold`) and stored per (campaign,
wallet); units spent from leases are counted on the lease (a void's units back); gift codes
are marked used.

Lots carry the detail behind wallet pockets: the sum of a wallet's lots in a pocket equals
its pocket account. The ledger accepts every validly signed record (the goods were handed
over): what it cannot honour becomes debt, a flag, and the wallet on the deny list.

`Batch` loads the state one ingest batch needs (locking the rows on PostgreSQL, in one global
order: lots, then wallets, each sorted, so concurrent batches cannot deadlock), posts the
records in memory, and writes everything back in a few bulk statements. A batch whose records
touch campaigns also loads (in `load_campaigns`, after lots and wallets, in the same global
order: campaign usage, leases, gift codes, each sorted; pools only at `write`) what those
need; a batch of plain payments loads nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger.db import Connection, RetryableError
from ledger.schema import now_us
from sync import bodies, campaigns, canonical, givebacks, ids
from sync import staff as staff_rules

WALLET_BALANCE_CAP = 50_000  # yen per wallet (DESIGN §2; the Payment Services Act)
ADMIN_PART = "admin"
TICKETS = bodies.TICKET_POCKET
RIDE_DEBT = "ride_debt"  # wallet:W:ride_debt: rides taken beyond a wallet's tickets
# merchant:M:held / funder:F:held: a gift payment the ledger does not owe the shop (the code
# was taken by another sale first), or a gift code's value put into a wallet a second time,
# held apart from what the funder owes until it is looked into.
HELD = "held"
# Record types that name a campaign in their body rather than (only) in `campaigns`.
CAMPAIGN_TYPES = ("gift", "ticket", "exchange")
# Record types made with a credential an app token may be (`credential.kind` "app").
TOKEN_TYPES = ("payment", "ticket")
# The origin of a rally prize lot the ledger granted itself (a completion owed).
OWED_PRIZE_ORIGIN = "rally_prize"
OWED_PRIZE_LOT = "LP-"  # its lot id: LP-<the payment's tx id>-<n>
# Problems of a rally stamp that mean the rules did not give it: it is not put on the card.
STAMP_NOT_EARNED = ("stamps_not_earned", "out_of_period", "shop_not_taking_part",
                    "rally_finished")
# What a flag says a lease use was wrong about (campaign_quantity).
LEASE_PROBLEMS = ("no_lease", "unknown_lease", "another_terminal", "another_pool",
                  "beyond_lease", "after_return")


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
    usable_from: str | None = None  # 利用期間: not to be spent before this day


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
class Lease:
    lease_id: str
    campaign_id: str
    pool: str
    terminal_id: str
    count: int
    used: int
    consumed: int | None
    status: str
    dirty: bool = False


@dataclass
class GiftCode:
    code_id: str
    campaign_id: str
    value: int
    used_tx: str | None
    used_terminal: str | None
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
    (lot_id, wallet_id, pocket, amount, remaining, expires, classes, funder, campaign, origin,
     usable_from) = row
    return Lot(lot_id, wallet_id, pocket, amount, remaining, expires, orjson.loads(classes),
               funder, campaign, origin, usable_from=usable_from)


def _diner_parts(body: dict) -> list[dict]:
    """The other diners a body names (bodies.diners), only those that are objects: for
    loading, before the body is checked."""
    return [diner for diner in bodies.diners(body) if isinstance(diner, dict)]


def usage_text(usage: dict) -> str:
    return canonical.dumps(usage).decode("utf-8")


LOT_COLUMNS = ("lot_id, wallet_id, pocket, amount, remaining, expires, classes, funder, "
               "campaign, origin, usable_from")
WALLET_COLUMNS = "wallet_id, kind, status, status_reason, age_band, area"


def _in_chunks(values: list[str], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Batch:
    """Postings for a run of records from one terminal (or one admin operation)."""

    def __init__(self, conn: Connection, part: str, merchant: tuple[str, str] | None) -> None:
        self.conn = conn
        self.part = part
        self.merchant_id: str | None
        self.merchant_class: str | None
        self.merchant_id, self.merchant_class = merchant or (None, None)
        self.lots: dict[str, Lot] = {}
        self.wallets: dict[str, Wallet] = {}
        self.payments: dict[str, tuple[str, int, str]] = {}  # tx_id -> wallet, amount, type
        self.given_back: dict[str, int] = {}
        self.entries: list[tuple[Entry, int]] = []
        self.flags: list[Flag] = []
        self.givebacks: list[tuple[str, str, int]] = []
        # (card id, wallet id, NFC UID, PIN as sync.pins stores it)
        self.cards: list[tuple[str, str, str | None, dict | None]] = []
        # Lot ids `load` looked for: one that it did not find needs no second look (a
        # batch's own writes come only at `write`, after every posting).
        self.lots_looked_up: set[str] = set()
        # Stored lots (lot id -> remaining) of the wallets `wallet_total` was asked about,
        # read for all of the batch's wallets at once instead of one query per charge.
        self._stored_lots: dict[str, dict[str, int]] = {}
        # Campaigns: rules by id (None: no such campaign), usage by (campaign, wallet) and
        # which of those rows are stored / changed, leases and gift codes the records name,
        # and units to add to pools (uses of leases already closed).
        self.rules: dict[str, dict | None] = {}
        self.usage: dict[tuple[str, str], dict] = {}
        self.usage_stored: set[tuple[str, str]] = set()
        self.usage_changed: set[tuple[str, str]] = set()
        self.leases: dict[str, Lease] = {}
        self.gift_codes: dict[str, GiftCode] = {}
        self.pool_adds: dict[tuple[str, str], int] = {}
        # Units granted from pools the batch gave from itself (a rally prize owed), as read
        # (locked) at the first such grant plus what the batch added since.
        self.pool_granted: dict[tuple[str, str], int] = {}
        # App tokens: (device, counter) -> (terminal, tx) of its first use, as stored or
        # taken in this batch; the new uses to store; and the txs whose online campaign
        # claims their records now settle.
        self.token_uses: dict[tuple[str, int], tuple[str, str]] = {}
        self.tokens_looked_up: set[tuple[str, int]] = set()
        self.new_token_uses: list[tuple[str, int, str, str, str]] = []
        self.settled_claims: list[str] = []
        # Staff: the merchant's members by id -> role (read once), and its staff settings.
        self._staff_roles: dict[str, str] | None = None
        self._staff_config: dict[str, int] | None = None

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
                body = orjson.loads(text)["body"]
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
            if rec["type"] in ("payment", "refund", "void", "charge", "grant", "ticket",
                               "exchange"):
                # grants: new lots, looked for in one go; grants_back: a void takes them back
                for part in (body, *_diner_parts(body)):
                    for key in ("lots", "grants", "grants_back"):
                        lines = part.get(key)
                        for line in lines if isinstance(lines, list) else []:
                            if isinstance(line, dict) and isinstance(line.get("lot"), str):
                                lot_ids.add(line["lot"])
            for part in (body, *_diner_parts(body)):
                if isinstance(part.get("wallet"), str):
                    wallet_ids.add(part["wallet"])
            if rec["type"] in ("refund", "void") and isinstance(body.get("of"), str):
                payment_txs.add(body["of"])
        return lot_ids, wallet_ids, payment_txs

    @staticmethod
    def campaign_references(records: list[dict]) -> tuple[set[str], set[str], set[str],
                                                          set[str]]:
        """Campaign, wallet, lease and gift code ids that a run of records' campaign entries,
        gift codes and ticket / exchange bodies refer to (nothing for plain records)."""
        campaign_ids: set[str] = set()
        lease_ids: set[str] = set()
        wallet_ids: set[str] = set()
        codes: set[str] = set()
        for rec in records:
            body = rec["body"]
            entries, gift = body.get("campaigns"), body.get("gift")
            diners = _diner_parts(body)
            if not entries and not diners and gift is None and rec["type"] not in CAMPAIGN_TYPES:
                continue
            entries = entries if isinstance(entries, list) else []
            for diner in diners:
                if isinstance(diner.get("campaigns"), list):
                    entries = entries + diner["campaigns"]
                if isinstance(diner.get("wallet"), str):
                    wallet_ids.add(diner["wallet"])
            for entry in entries:
                if isinstance(entry, dict):
                    for name, found in (("campaign", campaign_ids), ("lease", lease_ids),
                                        ("prize_lease", lease_ids)):
                        if isinstance(entry.get(name), str):
                            found.add(entry[name])
            if isinstance(body.get("campaign"), str):
                campaign_ids.add(body["campaign"])
            if isinstance(gift, dict):
                if isinstance(gift.get("campaign"), str):
                    campaign_ids.add(gift["campaign"])
                if isinstance(gift.get("code"), str):
                    codes.add(gift["code"])
            if isinstance(body.get("wallet"), str):
                wallet_ids.add(body["wallet"])
        return campaign_ids, wallet_ids, lease_ids, codes

    def load_campaigns(self, records: list[dict]) -> None:
        """Rules, usage rows (locked), leases (locked) and gift codes (locked) the records'
        campaign entries need, each in one statement per chunk."""
        campaign_ids, wallet_ids, lease_ids, codes = self.campaign_references(records)
        if not (campaign_ids or lease_ids or codes):
            return
        conn = self.conn
        self._load_rules(campaign_ids)
        known = sorted(c for c in campaign_ids if self.rules.get(c) is not None)
        if known and wallet_ids:
            c_where, c_params = conn.in_values("campaign_id", known)
            for chunk in _in_chunks(sorted(wallet_ids)):
                w_where, w_params = conn.in_values("wallet_id", chunk)
                # Locked in (wallet, campaign) order, the order of the chunks themselves.
                for campaign_id, wallet_id, state in conn.all(
                    f"SELECT campaign_id, wallet_id, state FROM campaign_usage WHERE {w_where} "
                    f"AND {c_where} ORDER BY wallet_id, campaign_id{conn.for_update}",
                    w_params + c_params,
                ):
                    self.usage[(campaign_id, wallet_id)] = orjson.loads(state)
                    self.usage_stored.add((campaign_id, wallet_id))
        for chunk in _in_chunks(sorted(lease_ids)):
            where, params = conn.in_values("lease_id", chunk)
            for row in conn.all(
                "SELECT lease_id, campaign_id, pool, terminal_id, count, used, consumed, status "
                f"FROM leases WHERE {where} ORDER BY lease_id{conn.for_update}", params,
            ):
                self.leases[row[0]] = Lease(*row)
        for chunk in _in_chunks(sorted(codes)):
            where, params = conn.in_values("code_id", chunk)
            for row in conn.all(
                "SELECT code_id, campaign_id, value, used_tx, used_terminal FROM gift_codes "
                f"WHERE {where} ORDER BY code_id{conn.for_update}", params,
            ):
                self.gift_codes[row[0]] = GiftCode(*row)

    @staticmethod
    def token_of(rec: dict) -> tuple[str, int] | None:
        """The app token (device, counter) a payment or ride was made with, if any."""
        credential = rec["body"].get("credential") if rec.get("type") in TOKEN_TYPES else None
        if not isinstance(credential, dict) or credential.get("kind") != "app":
            return None
        device, counter = credential.get("device"), credential.get("counter")
        if not isinstance(device, str) or type(counter) is not int:
            return None
        return device, counter

    def load_tokens(self, records: list[dict]) -> None:
        """The stored uses of the app tokens the records were made with (the rows are not
        locked: a use is only ever inserted, and two batches inserting one collide)."""
        wanted = sorted({token for token in map(self.token_of, records) if token is not None}
                        - self.tokens_looked_up)
        self.tokens_looked_up.update(wanted)
        for start in range(0, len(wanted), 250):
            chunk = wanted[start : start + 250]
            where = " OR ".join(["(device = ? AND counter = ?)"] * len(chunk))
            for device, counter, terminal_id, tx_id in self.conn.all(
                    f"SELECT device, counter, terminal_id, tx_id FROM token_uses WHERE {where}",
                    [value for token in chunk for value in token]):
                self.token_uses[(device, counter)] = (terminal_id, tx_id)

    def _take_token(self, rec: dict, wallet_id: str) -> None:
        """One app token pays once in the region: the first record with it (or the sale an
        online check claimed it for) takes it; another one is flagged (it is posted: the
        goods were handed over)."""
        token = self.token_of(rec)
        if token is None:
            return
        if token not in self.tokens_looked_up:
            self.load_tokens([rec])  # a record posted without ingest's loading first
        first = self.token_uses.get(token)
        if first is None:
            self.token_uses[token] = (rec["terminal_id"], rec["tx_id"])
            self.new_token_uses.append((*token, wallet_id, rec["terminal_id"], rec["tx_id"]))
        elif first != (rec["terminal_id"], rec["tx_id"]):
            self.flag("app_token_reused", rec, wallet_id, device=token[0], counter=token[1],
                      first_terminal=first[0], first_tx=first[1])

    def _load_rules(self, campaign_ids: set[str]) -> None:
        wanted = sorted(campaign_ids - self.rules.keys())
        for campaign_id in wanted:
            self.rules[campaign_id] = None
        for chunk in _in_chunks(wanted):
            where, params = self.conn.in_values("campaign_id", chunk)
            for campaign_id, text in self.conn.all(
                    f"SELECT campaign_id, rules FROM campaigns WHERE {where}", params):
                self.rules[campaign_id] = orjson.loads(text)

    def rule(self, campaign_id: str) -> dict | None:
        """A campaign's rules as stored (validated when created), cached for the batch."""
        if campaign_id not in self.rules:
            self._load_rules({campaign_id})
        return self.rules[campaign_id]

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

    def post_record(self, rec: dict, entry_id: str, at_us: int,
                    body_checked: bool = False) -> None:
        """Post one verified record; a body the rules refuse is kept, flagged and not posted.
        `body_checked`: the body is already known to follow the rules (ledger.verifier)."""
        entry = Entry(entry_id)
        if rec["body"].get("campaigns"):
            # its uses are in the wallet's usage from now on: an online claim for them ends
            self.settled_claims.append(rec["tx_id"])
        if not body_checked:
            try:
                bodies.check(rec["type"], rec["body"])
            except bodies.BodyError as exc:
                self.flag("bad_body", rec, reason=str(exc))
                self.entries.append((entry, at_us))
                return
        self._check_staff(rec)
        handler = getattr(self, f"_post_{rec['type']}", None)
        if handler is not None:
            handler(rec, entry)
        assert sum(amount for _, amount in entry.postings) == 0, f"unbalanced {entry_id}"
        self.entries.append((entry, at_us))

    # --- staff ----------------------------------------------------------------------------

    def staff_roles(self) -> dict[str, str]:
        if self._staff_roles is None:
            self._staff_roles = dict(self.conn.all(
                "SELECT staff_id, role FROM staff WHERE merchant_id = ?", (self.merchant_id,)))
        return self._staff_roles

    def staff_config(self) -> dict[str, int]:
        if self._staff_config is None:
            text = self.conn.value("SELECT config FROM merchants WHERE merchant_id = ?",
                                   (self.merchant_id,))
            self._staff_config = staff_rules.staff_config(json.loads(text) if text else None)
        return self._staff_config

    def _check_staff(self, rec: dict) -> None:
        """A record naming an approver who is no manager of this merchant is flagged (it is
        posted: the sale happened); so is a member the ledger does not know, and an action
        that needs a manager done by a member who is not one, with no approver named."""
        body = rec["body"]
        roles = self.staff_roles()
        if "staff" in body and body["staff"] not in roles:
            self.flag("unknown_staff", rec, staff=body["staff"])
        if "approver" in body and roles.get(body["approver"]) != "manager":
            self.flag("approver_not_manager", rec, approver=body["approver"],
                      role=roles.get(body["approver"]))
        # A second close of a day names who approved it (`approved_by`): a manager, once
        # the shop has staff (before, in first setup, it is whatever name was typed).
        approved_by = body.get("approved_by") if rec["type"] == "day_close" else None
        if roles and approved_by is not None and roles.get(approved_by) != "manager":
            self.flag("approver_not_manager", rec, approver=approved_by,
                      role=roles.get(approved_by))
        # What a member who is no manager may do only with a manager's PIN, named by no
        # approver: the record did not come through the counter's staff rules.
        role = roles.get(body.get("staff"))
        if role is not None and role != "manager" and "approver" not in body:
            before = self.given_back.get(body.get("of"), 0) if rec["type"] == "refund" else 0
            why = staff_rules.approval_wanted(rec["type"], body, self.staff_config(), before,
                                              self._grant_in_campaign(rec))
            if why is not None:
                self.flag("approval_missing", rec, body.get("wallet"), staff=body["staff"],
                          role=role, why=why)

    def _grant_in_campaign(self, rec: dict) -> bool | None:
        """Whether a grant's lot names a campaign running at this shop on the record's day
        (as the counter asks: Counter.grant); None for any other record."""
        if rec["type"] != "grant":
            return None
        day = rec["at"][:10]
        for lot in rec["body"].get("lots", []):
            rule = self.rule(lot["campaign"]) if lot.get("campaign") else None
            if rule is not None and campaigns.active(rule, day, self.merchant_id or "",
                                                     self.merchant_class or ""):
                return True
        return False

    def _post_staff(self, rec: dict, entry: Entry) -> None:
        """A member a manager made at the counter: stored for the merchant (and sent to its
        other terminals), unless made by someone who is no manager of a shop that has staff
        already (flagged, not stored) or already known."""
        member = rec["body"]["member"]
        roles = self.staff_roles()
        if member["staff"] in roles:
            return
        if roles and roles.get(rec["body"].get("staff")) != "manager":
            self.flag("staff_not_by_manager", rec, member=member["staff"],
                      staff=rec["body"].get("staff"))
            return
        # Staff ids are unique across the ledger: one naming another merchant's member
        # would otherwise stop this terminal's every push on the key's constraint.
        owner = self.conn.value("SELECT merchant_id FROM staff WHERE staff_id = ?",
                                (member["staff"],))
        if owner is not None:
            self.flag("staff_id_taken", rec, member=member["staff"], merchant=owner)
            return
        assert self.merchant_id is not None  # a terminal's batch: its merchant is known
        insert_staff(self.conn, self.merchant_id, member, f"{rec['terminal_id']}/{rec['seq']}")
        roles[member["staff"]] = member["role"]

    def _check_grant_caps(self, rec: dict) -> None:
        """A manual grant over the merchant's cap per grant, or over its cap per day at one
        terminal (this terminal's manual grants of the same calendar day before it), is
        flagged: the counter refuses both, so such a record was forced past it."""
        body, config = rec["body"], self.staff_config()
        if not staff_rules.manual_grant(body):
            return
        if body["amount"] > config["grant_cap"]:
            self.flag("grant_over_cap", rec, body.get("wallet"), points=body["amount"],
                      cap=config["grant_cap"])
        day = rec["at"][:10]
        before = 0
        for (text,) in self.conn.all(
                "SELECT record FROM records WHERE terminal_id = ? AND type = 'grant' "
                "AND seq < ? AND at >= ? AND at < ?",
                (rec["terminal_id"], rec["seq"], day, day + "~")):
            earlier = json.loads(text)
            if earlier["at"][:10] == day and staff_rules.manual_grant(earlier["body"]):
                before += earlier["body"].get("amount", 0)
        if before + body["amount"] > config["grant_day_cap"]:
            self.flag("grant_day_cap", rec, body.get("wallet"), points=body["amount"],
                      day_before=before, cap=config["grant_day_cap"])

    def _draw(self, rec: dict, entry: Entry, wallet: Wallet, lines: list[dict],
              pockets: tuple[str, ...] = bodies.YEN_POCKETS, check_class: bool = True) -> int:
        """Take each line's amount from its lot and post it; what could not be taken (no
        such lot, a lot of another pocket, not enough left) is returned as the shortfall."""
        day = rec["at"][:10]
        shortfall = 0
        for line in lines:
            lot = self.lots.get(line["lot"])
            if lot is None or lot.wallet_id != wallet.wallet_id:
                self.flag("unknown_lot", rec, wallet.wallet_id, lot=line["lot"])
                shortfall += line["amount"]
                continue
            if lot.pocket not in pockets:
                self.flag("wrong_pocket", rec, wallet.wallet_id, lot=lot.lot_id,
                          pocket=lot.pocket)
                shortfall += line["amount"]
                continue
            if check_class and self.merchant_class and self.merchant_class not in lot.classes:
                self.flag("class_violation", rec, wallet.wallet_id, lot=lot.lot_id,
                          merchant_class=self.merchant_class)
            if lot.expires and day > lot.expires:
                self.flag("expired_lot", rec, wallet.wallet_id, lot=lot.lot_id,
                          expires=lot.expires)
            if lot.usable_from and day < lot.usable_from:
                # 利用期間: voucher value spent before its use period began
                self.flag("lot_not_usable_yet", rec, wallet.wallet_id, lot=lot.lot_id,
                          usable_from=lot.usable_from)
            take = min(lot.remaining, line["amount"])
            lot.remaining -= take
            lot.dirty = True
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), -take)
            shortfall += line["amount"] - take
        return shortfall

    def _check_min_spend(self, rec: dict, wallet_id: str) -> None:
        """※1回あたり1,500円以上の支払いが対象: voucher value of a campaign with a `min_spend`
        paying for a smaller purchase (goods less excluded goods) is flagged
        `campaign_min_spend` (posted all the same: the goods were handed over)."""
        body = rec["body"]
        base = body.get("price", body["amount"]) - body.get("excluded", 0)
        for line in body["lots"]:
            lot = self.lots.get(line["lot"])
            rule = self.rule(lot.campaign) if lot is not None and lot.campaign else None
            if rule is not None and rule["kind"] == "premium_voucher" and \
                    base < rule.get("min_spend", 0):
                assert lot is not None  # a rule is looked up only for a known lot
                self.flag("campaign_min_spend", rec, wallet_id, campaign=lot.campaign,
                          problem="min_spend", lot=lot.lot_id, base=base,
                          min_spend=rule["min_spend"])

    def _overdraft(self, rec: dict, entry: Entry, wallet: Wallet, shortfall: int,
                   account: str = "debt", **detail) -> None:
        if shortfall:
            entry.post(wallet_account(wallet.wallet_id, account), -shortfall)
            self.flag("overdraft", rec, wallet.wallet_id, shortfall=shortfall,
                      decision=rec["body"].get("decision"), **detail)
            self.deny(wallet, "overdraft")

    def _post_payment(self, rec: dict, entry: Entry) -> None:
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        self._check_min_spend(rec, wallet.wallet_id)
        shortfall = self._draw(rec, entry, wallet, body["lots"])
        self._overdraft(rec, entry, wallet, shortfall)
        receivable = f"merchant:{self.merchant_id}:receivable"
        entry.post(receivable, body["amount"])
        self.payments[rec["tx_id"]] = (wallet.wallet_id, body["amount"], "payment")
        self._take_token(rec, wallet.wallet_id)
        entries = body.get("campaigns")
        if entries:
            # The discounts: paid to the shop by their funders (a shop's own coupon is a
            # price it chose to take, and posts nothing).
            for item in entries:
                off = item.get("discount", 0)
                if off:
                    funder = self._funder(rec, item, wallet.wallet_id)
                    if funder != campaigns.SHOP_FUNDED:
                        entry.post(receivable, off)
                        entry.post(f"funder:{funder}", -off)
            base = body.get("price", body["amount"]) - body.get("excluded", 0)
            self._check_campaigns(rec, wallet.wallet_id, entries, base, entry=entry)
        for line in body.get("grants", ()):
            self._credit_line(rec, entry, wallet.wallet_id, line, "grant")
        for diner in bodies.diners(body):
            self._post_diner(rec, entry, diner, receivable)

    def _post_diner(self, rec: dict, entry: Entry, diner: dict, receivable: str) -> None:
        """Another diner's stamp on their own card (a restaurant's share rule), checked
        against their usage; its discount paid to the shop by the funder, their prize a lot
        in their wallet."""
        body = rec["body"]
        wallet = self.wallet(diner["wallet"], rec)
        for item in diner["campaigns"]:
            off = item.get("discount", 0)
            if off:
                funder = self._funder(rec, item, wallet.wallet_id)
                entry.post(receivable, off)
                entry.post(f"funder:{funder}", -off)
        base = body.get("price", body["amount"]) - body.get("excluded", 0)
        # 「1人当たり600円以上」: the party is at least the payer and every diner named,
        # whatever `people` the entry says (the share is judged as the counter judges it).
        party = 1 + len(bodies.diners(body))
        items = [{**item, "people": max(item.get("people", 1), party)}
                 if "stamps" in item else item for item in diner["campaigns"]]
        self._check_campaigns(rec, wallet.wallet_id, items, base, entry=entry, diner=True)
        for line in diner.get("grants", ()):
            self._credit_line(rec, entry, wallet.wallet_id, line, "grant")

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
        # The grant lots a void takes back: one the ledger does not know on this wallet is
        # flagged and takes nothing (an honest terminal only names lots its payment made).
        grants_back = []
        for line in body.get("grants_back", []):
            lot = self.lots.get(line["lot"])
            if lot is None or lot.wallet_id != wallet.wallet_id:
                self.flag("unknown_lot", rec, wallet.wallet_id, lot=line["lot"],
                          taken_back=line["amount"])
            else:
                grants_back.append(line)
        settled = givebacks.settle(body["lots"], grants_back,
                                   {line["lot"]: self.lots[line["lot"]].remaining
                                    for line in grants_back})
        for lot_id, amount in settled.credited:
            if not amount:
                continue  # all of it kept for granted value already spent
            lot = self.lots.get(lot_id)
            if lot is None or lot.wallet_id != wallet.wallet_id or lot.pocket == TICKETS:
                # Money given back to no lot it came from (or to rides, which are no money)
                # goes into a new charged lot.
                self.flag("unknown_lot", rec, wallet.wallet_id, lot=lot_id)
                lot = self._new_lot(
                    rec, wallet.wallet_id, {"lot": lot_id, "pocket": "charged",
                                            "amount": 0, "paid": 0}, origin="refund")
            lot.remaining += amount
            lot.amount = max(lot.amount, lot.remaining)
            lot.dirty = True
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), amount)
        entry.post(f"merchant:{self.merchant_id}:receivable", -body["amount"])
        if body.get("campaigns"):
            self._undo_campaigns(rec, entry, wallet)
        self._take_back(rec, entry, wallet, settled)
        if rec["type"] == "void" or body.get("campaigns") or bodies.diners(body):
            # A void, or the refund that gives back all that was left of the sale (it undoes
            # the campaigns as a void does: terminal.counter.refund).
            self._take_back_owed_prizes(rec, entry, body["of"])
        for diner in bodies.diners(body):
            # The other diners' stamps and prizes: nothing was paid from their wallets, so
            # what they spent of a prize is owed (sync.givebacks, with no money given back).
            other = self.wallet(diner["wallet"], rec)
            self._undo_campaigns(rec, entry, other, diner["campaigns"])
            lines = []
            for line in diner.get("grants_back", []):
                lot = self.lots.get(line["lot"])
                if lot is None or lot.wallet_id != other.wallet_id:
                    self.flag("unknown_lot", rec, other.wallet_id, lot=line["lot"],
                              taken_back=line["amount"])
                else:
                    lines.append(line)
            self._take_back(rec, entry, other, givebacks.settle(
                [], lines, {line["lot"]: self.lots[line["lot"]].remaining for line in lines}))

    def _take_back_owed_prizes(self, rec: dict, entry: Entry, of_tx: str) -> None:
        """A void takes back the rally prizes the ledger granted for its payment (a
        completion owed: `_rally_owed`), which the terminal never knew: each from its wallet,
        what was spent of it owed as after an overdraft."""
        prefix = f"{OWED_PRIZE_LOT}{of_tx}-"
        for row in self.conn.all(f"SELECT {LOT_COLUMNS} FROM lots WHERE lot_id LIKE ? "
                                 f"ORDER BY lot_id{self.conn.for_update}", (prefix + "%",)):
            self.lots.setdefault(row[0], _lot_from_row(row))
        for lot in sorted((lot for lot in self.lots.values()
                           if lot.lot_id.startswith(prefix)), key=lambda lot: lot.lot_id):
            wallet = self.wallet(lot.wallet_id, rec)
            line = {"lot": lot.lot_id, "amount": lot.amount}
            self._take_back(rec, entry, wallet, givebacks.settle(
                [], [line], {lot.lot_id: lot.remaining}))
            # Its unit goes back to the prize pool (「先着で3,000回分」: the next completion
            # gets it), as a void gives a terminal's prize unit back to its lease.
            rule = self.rule(lot.campaign) if lot.campaign else None
            if rule is not None and (rule.get("prize") or {}).get("quantity"):
                key = (rule["id"], campaigns.POOL_PRIZE)
                if key in self.pool_granted:
                    self.pool_granted[key] -= 1
                self.pool_adds[key] = self.pool_adds.get(key, 0) - 1

    _post_refund = _post_giveback
    _post_void = _post_giveback

    def _undo_campaigns(self, rec: dict, entry: Entry, wallet: Wallet,
                        items: list[dict] | None = None) -> None:
        """A void takes back its payment's campaigns (`items`: a diner's, else the body's):
        the funders' discounts and the uses counted against the wallet's limits (the lots
        they granted: `_take_back`), and the units the sale took from leases, when the entry
        names them (`_units_back`)."""
        body = rec["body"]
        receivable = f"merchant:{self.merchant_id}:receivable"
        for item in body.get("campaigns", []) if items is None else items:
            off = item.get("discount", 0)
            if off:
                funder = self._funder(rec, item, wallet.wallet_id)
                if funder != campaigns.SHOP_FUNDED:
                    entry.post(receivable, -off)
                    entry.post(f"funder:{funder}", off)
            rule = self.rule(item["campaign"])
            if rule is not None:
                key = (item["campaign"], wallet.wallet_id)
                self.usage[key] = campaigns.apply(self.usage.get(key), item, rec["at"][:10])
                self.usage_changed.add(key)
                self._units_back(rec, rule, item, wallet.wallet_id)

    def _units_back(self, rec: dict, rule: dict, item: dict, wallet_id: str) -> None:
        """A voided sale used no unit (seed 000 counts coupons used: 「クーポン使用実績は
        12,000回」): the units its entry took go back to their lease, which gives them to the
        terminal again while it is open, or, once the lease is closed, to the pool
        (`_use_lease`)."""
        if "lease" in item:
            pool = campaigns.main_pool(rule, self.merchant_id or "")
            if rule["kind"] == "stamp_rally":
                pool = campaigns.POOL_SHOP_PREFIX + (self.merchant_id or "")
            self._use_lease(rec, item, wallet_id, item["lease"], pool, -item.get("units", 1))
        if "prize_lease" in item:
            self._use_lease(rec, item, wallet_id, item["prize_lease"], campaigns.POOL_PRIZE, -1)

    def _take_back(self, rec: dict, entry: Entry, wallet: Wallet,
                   settled: givebacks.Settled) -> None:
        """The granted lots go back to their funders in full (sync.givebacks): what a lot
        still holds from it, and what was spent of it out of the money the void gave back;
        what that did not cover becomes debt on the wallet, which is denied as after an
        overdraft. A shortfall is flagged `takeback_short`."""
        for lot_id, amount in settled.taken:
            lot = self.lots[lot_id]
            lot.remaining -= amount
            lot.dirty = True
            entry.post(wallet_account(wallet.wallet_id, lot.pocket), -amount)
            entry.post(f"funder:{lot.funder or 'unknown'}", amount)
        for lot_id, amount in settled.short:
            entry.post(f"funder:{self.lots[lot_id].funder or 'unknown'}", amount)
        if not settled.short:
            return
        self.flag("takeback_short", rec, wallet.wallet_id, of=rec["body"]["of"],
                  lots={lot_id: amount for lot_id, amount in settled.short},
                  short=settled.short_total, netted=settled.netted, debt=settled.debt)
        if settled.debt:
            entry.post(wallet_account(wallet.wallet_id, "debt"), -settled.debt)
            self.deny(wallet, "takeback_short")

    def _new_lot(self, rec: dict | None, wallet_id: str, line: dict, origin: str) -> Lot:
        lot_id = line["lot"]
        if lot_id in self.lots or (lot_id not in self.lots_looked_up and self.conn.one(
                "SELECT 1 FROM lots WHERE lot_id = ?", (lot_id,))):
            fresh = f"{lot_id}.{ids.new_id()}"
            self.flag("duplicate_lot", rec, wallet_id, lot=lot_id, stored_as=fresh)
            lot_id = fresh
        lot = Lot(lot_id, wallet_id, line["pocket"], line["amount"], line["amount"],
                  line.get("expires"), list(line.get("classes", bodies.MERCHANT_CLASSES)),
                  line.get("funder"), line.get("campaign"), origin, new=True, dirty=True,
                  usable_from=line.get("usable_from"))
        self.lots[lot_id] = lot
        return lot

    def _credit_line(self, rec: dict, entry: Entry, wallet_id: str, line: dict,
                     origin: str) -> Lot:
        """A new lot and its postings: the wallet's pocket, and the funder for what the cash
        did not pay. Rides go to ride accounts; cash paid for rides is owed to their funder."""
        lot = self._new_lot(rec, wallet_id, line, origin)
        entry.post(wallet_account(wallet_id, lot.pocket), lot.amount)
        funder = f"funder:{line.get('funder') or 'unknown'}"
        if lot.pocket == TICKETS:
            entry.post(f"{funder}:rides", -lot.amount)
            entry.post(funder, line["paid"])
        elif line["amount"] - line["paid"]:
            entry.post(funder, -(line["amount"] - line["paid"]))
        return lot

    def _credit_lots(self, rec: dict, entry: Entry, origin: str) -> Wallet:
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        for line in body["lots"]:
            self._credit_line(rec, entry, wallet.wallet_id, line, origin)
        return wallet

    def _post_charge(self, rec: dict, entry: Entry) -> None:
        wallet = self._credit_lots(rec, entry, "charge")
        entry.post(f"cash:{rec['terminal_id']}", -rec["body"]["amount"])
        total = self.wallet_total(wallet.wallet_id)
        if total > WALLET_BALANCE_CAP:
            self.flag("over_cap", rec, wallet.wallet_id, balance=total, cap=WALLET_BALANCE_CAP)
        if rec["body"].get("campaigns"):
            # How the wallet was shown: a voucher sold onto a card where the campaign sells
            # through the app only is flagged (campaign_channel).
            shown = (rec["body"].get("credential") or {}).get("kind")
            self._check_campaigns(rec, wallet.wallet_id, rec["body"]["campaigns"],
                                  rec["body"]["amount"], credential_kind=shown)
            self._check_usable_from(rec, wallet.wallet_id)

    def _check_usable_from(self, rec: dict, wallet_id: str) -> None:
        """利用期間: a voucher set sold before its use period makes lots usable from its first
        day; a lot of it without that day (spendable at once) is flagged
        `campaign_usable_from`."""
        day, body = rec["at"][:10], rec["body"]
        for item in body["campaigns"]:
            rule = self.rule(item["campaign"])
            starts = (rule or {}).get("use_starts") if (rule or {}).get("kind") == \
                "premium_voucher" else None
            if not starts or day >= starts:
                continue
            for line in body["lots"]:
                if line.get("campaign") == item["campaign"] and \
                        (line.get("usable_from") or "") < starts:
                    self.flag("campaign_usable_from", rec, wallet_id,
                              campaign=item["campaign"], problem="usable_from",
                              lot=line["lot"], usable_from=starts)

    def _post_grant(self, rec: dict, entry: Entry) -> None:
        body = rec["body"]
        self._check_grant_caps(rec)
        wallet = self._credit_lots(rec, entry, "grant")
        if "gift" in body:  # a gift code redeemed at a booth into the wallet
            gift = body["gift"]
            self._check_campaigns(rec, wallet.wallet_id, [{"campaign": gift["campaign"],
                                                           "kind": "gift_code"}], 0)
            if not self._take_gift(rec, gift, wallet.wallet_id):
                # The code was taken before: the funder does not pay for it a second time.
                # Its value stays in the wallet (it may be spent already), funded from the
                # funder's held account until someone looks into the flag.
                for line in body["lots"]:
                    funded = line["amount"] - line.get("paid", 0)
                    funder = f"funder:{line.get('funder') or 'unknown'}"
                    entry.post(funder, funded)
                    entry.post(f"{funder}:{HELD}", -funded)
        if body.get("campaigns"):
            self._check_campaigns(rec, wallet.wallet_id, body["campaigns"], 0)

    def _post_gift(self, rec: dict, entry: Entry) -> None:
        """A gift code spent at the counter: the shop is owed what it paid, by the funder.
        A code another sale took first is not owed: the payment is held (`merchant:M:held`
        against `funder:F:held`, flagged `gift_code_reused`) until someone looks into it."""
        body = rec["body"]
        gift = body["gift"]
        self._check_campaigns(rec, None, [{"campaign": gift["campaign"], "kind": "gift_code",
                                           "funder": gift["funder"]}], 0)
        taken = self._take_gift(rec, gift, None)
        funder = self._funder(rec, {"campaign": gift["campaign"], "funder": gift["funder"]},
                              None)
        if taken:
            entry.post(f"merchant:{self.merchant_id}:receivable", body["amount"])
            entry.post(f"funder:{funder}", -body["amount"])
        else:
            entry.post(f"merchant:{self.merchant_id}:{HELD}", body["amount"])
            entry.post(f"funder:{funder}:{HELD}", -body["amount"])

    def _post_ticket(self, rec: dict, entry: Entry) -> None:
        """One ride: a ride from the wallet's tickets to the shop (counts), and the ride's
        value from the funder to the shop (yen)."""
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        self._take_token(rec, wallet.wallet_id)
        item = {"campaign": body["campaign"], "kind": "ticket", "funder": body["funder"]}
        self._check_campaigns(rec, None, [item], 0, wallet_for_flags=wallet.wallet_id)
        rule = self.rule(body["campaign"])
        if rule is not None and rule["kind"] == "ticket" and \
                body["ride_value"] != rule["ride_value"]:
            self.flag("campaign_ride_value", rec, wallet.wallet_id, campaign=body["campaign"],
                      problem="ride_value", ride_value=body["ride_value"],
                      rules=rule["ride_value"])
        shortfall = self._draw(rec, entry, wallet, body["lots"], (TICKETS,), check_class=False)
        self._overdraft(rec, entry, wallet, shortfall, RIDE_DEBT, rides=shortfall)
        entry.post(f"merchant:{self.merchant_id}:rides", 1)
        funder = self._funder(rec, item, wallet.wallet_id)
        entry.post(f"merchant:{self.merchant_id}:receivable", body["ride_value"])
        entry.post(f"funder:{funder}", -body["ride_value"])

    def _post_exchange(self, rec: dict, entry: Entry) -> None:
        """Points drawn, one new lot made; the funder pays what the lot is worth beyond the
        points (the points themselves were funded when they were granted)."""
        body = rec["body"]
        wallet = self.wallet(body["wallet"], rec)
        shortfall = self._draw(rec, entry, wallet, body["lots"], ("points",), check_class=False)
        self._overdraft(rec, entry, wallet, shortfall)
        line = body["grants"][0]
        lot = self._new_lot(rec, wallet.wallet_id, line, "exchange")
        entry.post(wallet_account(wallet.wallet_id, lot.pocket), lot.amount)
        funder = f"funder:{line['funder']}"
        if lot.pocket == TICKETS:
            entry.post(f"{funder}:rides", -lot.amount)
            entry.post(funder, body["points"])
        else:
            entry.post(funder, -(lot.amount - body["points"]))
        entries = [item for item in body.get("campaigns", []) if isinstance(item, dict)]
        if not any(item["campaign"] == body["campaign"] for item in entries):
            entries.append({"campaign": body["campaign"], "kind": "exchange"})
        self._check_campaigns(rec, wallet.wallet_id, entries, 0)

    # --- campaigns ------------------------------------------------------------------------

    def _funder(self, rec: dict, item: dict, wallet_id: str | None) -> str:
        """Who pays for what a campaign entry gave: the rules say (a record naming another
        payer is flagged); the record's word only for a campaign the ledger does not know."""
        rule = self.rule(item["campaign"])
        if rule is None:
            return item.get("funder") or "unknown"
        if item.get("funder", rule["funder"]) != rule["funder"]:
            self.flag("campaign_wrong_funder", rec, wallet_id, campaign=item["campaign"],
                      problem="wrong_funder", funder=item["funder"], rules=rule["funder"])
        return rule["funder"]

    def _check_campaigns(self, rec: dict, wallet_id: str | None, entries: list[dict],
                         base: int, wallet_for_flags: str | None = None,
                         credential_kind: str | None = None, entry: Entry | None = None,
                         diner: bool = False) -> None:
        """Check each entry against the rules and the wallet's usage before it, count the
        units it took from leases, and fold it into the wallet's usage (`wallet_id` None:
        nothing is folded, e.g. a gift code spent without a wallet or a ride taken). A
        rally card completed where the terminal could not grant the prize, or could not
        see the completion, gets its prize here (`entry`: the record's postings)."""
        day = rec["at"][:10]
        flagged = wallet_id or wallet_for_flags
        for item in entries:
            campaign_id = item["campaign"]
            rule = self.rule(campaign_id)
            key = (campaign_id, wallet_id or "")
            usage = self.usage.get(key) if wallet_id else None
            problems = campaigns.check_entry(rule, item, day, self.merchant_id or "",
                                             self.merchant_class or "", usage, base,
                                             credential_kind, diner)
            if rule is not None and item.get("kind", rule["kind"]) != rule["kind"]:
                problems.append("wrong_kind")
            for problem in problems:
                self.flag(f"campaign_{problem}", rec, flagged, campaign=campaign_id,
                          problem=problem)
            if rule is None:
                continue
            self._count_units(rec, rule, item, flagged)
            if wallet_id:
                folded = item
                if rule["kind"] == "stamp_rally" and "stamps" in item and \
                        not item.get("undo") and not item.get("complete") and \
                        set(problems) & set(STAMP_NOT_EARNED):
                    # A stamp the rules did not give (flagged above) goes on no card: the
                    # ledger completes no card and grants no prize from it. (A completion
                    # the terminal made and paid a prize for is kept, flagged.)
                    folded = {k: v for k, v in item.items() if k != "stamps"}
                self.usage[key] = campaigns.apply(usage, folded, day)
                self.usage_changed.add(key)
                if rule["kind"] == "stamp_rally" and "stamps" in folded and entry is not None \
                        and not item.get("undo"):
                    self._rally_owed(rec, entry, rule, item, wallet_id, key, problems)

    def _rally_owed(self, rec: dict, entry: Entry, rule: dict, item: dict, wallet_id: str,
                    key: tuple[str, str], problems: Sequence[str] = ()) -> None:
        """A prize is never lost: a card the terminal completed without a prize unit
        (`prize_owed`: its lease ran dry), or one the ledger finds full when the records
        meet (a stamp made offline where the card's stamps from other shops were not all
        known: 「異なる店舗のスタンプを3個集めて」), is completed here and gets its prize
        from the pool while the pool has one (「先着で3,000回分」)."""
        usage = self.usage[key]
        if item.get("complete"):
            # A completion the card did not have (two offline terminals both completing it)
            # or past the rally's limit is flagged; the ledger grants no prize for it itself.
            owed = bool(item.get("prize_owed")) and not (
                {"completion_wrong", "rally_finished"} & set(problems))
        else:
            most = rule.get("max_completions")
            if not campaigns.card_complete(rule, usage) or (
                    most and usage.get("done", 0) >= most):
                return
            self.usage[key] = campaigns.complete_card(usage)
            owed = True
        prize = rule.get("prize")
        if not owed or not prize:
            return
        if not self._take_from_pool(rule, campaigns.POOL_PRIZE,
                                    (prize or {}).get("quantity")):
            self.flag("campaign_prize_sold_out", rec, wallet_id, campaign=rule["id"],
                      problem="prize_sold_out")
            return
        n = sum(1 for lot in self.lots.values()
                if lot.lot_id.startswith(f"{OWED_PRIZE_LOT}{rec['tx_id']}-"))
        self._credit_line(rec, entry, wallet_id, bodies.new_lot(
            f"{OWED_PRIZE_LOT}{rec['tx_id']}-{n}", "premium_common", prize["value"], 0,
            rule["funder"], prize.get("expires"), campaign=rule["id"]), OWED_PRIZE_ORIGIN)

    def _take_from_pool(self, rule: dict, pool: str, total: int | None) -> bool:
        """One unit of a pool granted by the ledger itself (no lease): False when the pool
        is all given out. The pool's row is locked (after leases, as everywhere)."""
        if not total:
            return True
        pool_key = (rule["id"], pool)
        if pool_key not in self.pool_granted:
            self.conn.execute("INSERT INTO pools (campaign_id, pool, total, granted) "
                              "VALUES (?, ?, ?, 0) ON CONFLICT (campaign_id, pool) DO NOTHING",
                              (rule["id"], pool, total))
            self.pool_granted[pool_key] = int(self.conn.value(
                f"SELECT granted FROM pools WHERE campaign_id = ? AND pool = ?"
                f"{self.conn.for_update}", pool_key))
        if self.pool_granted[pool_key] >= total:
            return False
        self.pool_granted[pool_key] += 1
        self.pool_adds[pool_key] = self.pool_adds.get(pool_key, 0) + 1
        return True

    def _count_units(self, rec: dict, rule: dict, item: dict, wallet_id: str | None) -> None:
        """Count the units an entry took from its leases (`campaign_quantity` flags a unit
        taken without a lease where the campaign has a quantity, or from a wrong lease)."""
        merchant = self.merchant_id or ""
        if rule["kind"] == "stamp_rally":
            pool = campaigns.POOL_SHOP_PREFIX + merchant if rule.get("shop_discount") else None
            needs_lease = bool(item.get("discount")) and pool is not None
            prize_quantity = (rule.get("prize") or {}).get("quantity")
            if item.get("prize") and prize_quantity and "prize_lease" not in item:
                self._quantity_flag(rec, item, wallet_id, "no_lease", pool=campaigns.POOL_PRIZE)
        else:
            pool = campaigns.main_pool(rule, merchant)
            # Gift codes are their own quantity; a ride uses a ticket, not a unit (only a
            # ticket grant, which says how many `rides` it gave, takes one).
            needs_lease = pool is not None and rule["kind"] != "gift_code" and not (
                rule["kind"] == "ticket" and "rides" not in item)
        if "lease" in item:
            self._use_lease(rec, item, wallet_id, item["lease"], pool, item.get("units", 1))
        elif needs_lease:
            self._quantity_flag(rec, item, wallet_id, "no_lease", pool=pool)
        if "prize_lease" in item:
            self._use_lease(rec, item, wallet_id, item["prize_lease"], campaigns.POOL_PRIZE, 1)

    def _quantity_flag(self, rec: dict, item: dict, wallet_id: str | None, why: str,
                       **detail) -> None:
        self.flag("campaign_quantity", rec, wallet_id, campaign=item["campaign"],
                  problem="quantity", why=why, **detail)

    def _use_lease(self, rec: dict, item: dict, wallet_id: str | None, lease_id: str,
                   pool: str | None, units: int) -> None:
        lease = self.leases.get(lease_id)
        why = None
        if lease is None:
            why = "unknown_lease"
        elif lease.terminal_id != rec["terminal_id"]:
            why = "another_terminal"
        elif lease.campaign_id != item["campaign"] or lease.pool != pool:
            why = "another_pool"
        if why is not None or lease is None:
            self._quantity_flag(rec, item, wallet_id, why or "unknown_lease", lease=lease_id)
            return
        lease.used += units
        lease.dirty = True
        if units < 0:  # a void's units back
            if lease.status != "open":
                # The lease gave back its unused units already: these go to the pool now.
                consumed = lease.consumed or 0
                back = max(0, min(-units, consumed - max(0, lease.used)))
                if back:
                    lease.consumed = consumed - back
                    key = (lease.campaign_id, lease.pool)
                    self.pool_adds[key] = self.pool_adds.get(key, 0) - back
            return
        if lease.status == "open":
            if lease.used > lease.count:
                self._quantity_flag(rec, item, wallet_id, "beyond_lease", lease=lease_id,
                                    count=lease.count, used=lease.used)
            return
        # A closed lease gave its unused units back: a use beyond what it kept is counted
        # into the pool now, once, and flagged (the pool may have lent the unit again).
        consumed = lease.consumed or 0
        beyond = lease.used - consumed
        if beyond > 0:
            self._quantity_flag(rec, item, wallet_id, "after_return", lease=lease_id,
                                consumed=consumed, used=lease.used)
            lease.consumed = consumed + beyond
            key = (lease.campaign_id, lease.pool)
            self.pool_adds[key] = self.pool_adds.get(key, 0) + beyond

    def _take_gift(self, rec: dict, gift: dict, wallet_id: str | None) -> bool:
        """Take the gift code for the record; False (and flagged) when another sale took it
        first. A code an online check claimed for this very sale is this sale's."""
        code = self.gift_codes.get(gift["code"])
        if code is None or code.campaign_id != gift["campaign"] or code.value != gift["value"]:
            self.flag("unknown_gift_code", rec, wallet_id, code=gift["code"],
                      campaign=gift["campaign"], value=gift["value"])
            return True
        if code.used_tx is not None:
            if (code.used_tx, code.used_terminal) == (rec["tx_id"], rec["terminal_id"]):
                return True
            self.flag("gift_code_reused", rec, wallet_id, code=code.code_id,
                      first_tx=code.used_tx, first_terminal=code.used_terminal)
            return False
        code.used_tx, code.used_terminal, code.dirty = rec["tx_id"], rec["terminal_id"], True
        return True

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
        self.cards.append((body["card"], wallet_id, body.get("nfc_uid"), body.get("pin")))

    # --- writing --------------------------------------------------------------------------

    def write(self, conn: Connection, now: int) -> None:
        """Write what was posted since the last `write` (a batch may write in runs, within
        one transaction) and start afresh from it."""
        rows: list[tuple] = []
        deltas: dict[str, int] = {}
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
        self._write_campaigns(conn, now)
        conn.insert_rows("givebacks", ("of_tx", "entry", "amount"), self.givebacks)
        self._write_claims(conn, now)
        conn.insert_rows(
            "flags", ("flag_id", "kind", "terminal_id", "seq", "wallet_id", "detail",
                      "created_us"),
            [
                (ids.new_id(), f.kind, f.terminal_id, f.seq, f.wallet_id,
                 json.dumps(f.detail, sort_keys=True), now)
                for f in self.flags
            ],
        )
        self._written()

    def _written(self) -> None:
        """Everything posted so far is stored: what comes next changes the stored rows."""
        self.entries, self.cards, self.givebacks, self.flags = [], [], [], []
        self.new_token_uses, self.settled_claims = [], []
        for wallet in self.wallets.values():
            wallet.new = wallet.dirty = False
        for lot in self.lots.values():
            lot.new = lot.dirty = False
        self.usage_stored |= self.usage_changed
        self.usage_changed = set()
        for lease in self.leases.values():
            lease.dirty = False
        for code in self.gift_codes.values():
            code.dirty = False
        self.pool_adds = {}

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
              json.dumps(lot.classes), lot.funder, lot.campaign, lot.origin, lot.usable_from,
              now)
             for lot in self.lots.values() if lot.new],
        )
        conn.update_rows(
            "lots", "lot_id", (("remaining", "BIGINT"), ("amount", "BIGINT")),
            [(lot.remaining, lot.amount, lot.lot_id)
             for lot in self.lots.values() if lot.dirty and not lot.new],
        )

    def _write_campaigns(self, conn: Connection, now: int) -> None:
        changed = sorted(self.usage_changed)
        fresh = [(c, w, usage_text(self.usage[(c, w)]), now) for c, w in changed
                 if (c, w) not in self.usage_stored]
        if conn.insert_new("campaign_usage", ("campaign_id", "wallet_id", "state", "updated_us"),
                           ("TEXT", "TEXT", "TEXT", "BIGINT"), ("campaign_id", "wallet_id"),
                           fresh) < len(fresh):
            # Another batch made the row since this one looked (only for a wallet the ledger
            # did not know, whose row lock could not order the two): run again, to fold on
            # top of what it stored.
            raise RetryableError("a wallet's campaign usage was stored meanwhile")
        conn.update_rows_by(
            "campaign_usage", ("campaign_id", "wallet_id"),
            (("state", "TEXT"), ("updated_us", "BIGINT")),
            [(usage_text(self.usage[(c, w)]), now, c, w) for c, w in changed
             if (c, w) in self.usage_stored])
        conn.update_rows(
            "leases", "lease_id", (("used", "BIGINT"), ("consumed", "BIGINT")),
            [(lease.used, lease.consumed, lease.lease_id)
             for lease in sorted(self.leases.values(), key=lambda item: item.lease_id)
             if lease.dirty])
        for (campaign_id, pool), units in sorted(self.pool_adds.items()):
            conn.execute("UPDATE pools SET granted = granted + ? WHERE campaign_id = ? AND "
                         "pool = ?", (units, campaign_id, pool))
        conn.update_rows(
            "gift_codes", "code_id", (("used_tx", "TEXT"), ("used_terminal", "TEXT"),
                                      ("used_us", "BIGINT")),
            [(code.used_tx, code.used_terminal, now, code.code_id)
             for code in sorted(self.gift_codes.values(), key=lambda item: item.code_id)
             if code.dirty])

    def _write_claims(self, conn: Connection, now: int) -> None:
        """Store the app tokens first used here, and end the online campaign claims the
        records arrived for."""
        fresh = [(*use, now) for use in self.new_token_uses]
        if conn.insert_new("token_uses", ("device", "counter", "wallet_id", "terminal_id",
                                          "tx_id", "created_us"),
                           ("TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT"),
                           ("device", "counter"), fresh) < len(fresh):
            # Another batch (or an online check) took one of these tokens since this one
            # looked: run again, to flag the use that came second.
            raise RetryableError("an app token's use was stored meanwhile")
        for start in range(0, len(self.settled_claims), 500):
            where, params = conn.in_values("tx_id", self.settled_claims[start : start + 500])
            conn.execute(f"DELETE FROM campaign_claims WHERE {where}", params)

    def _write_cards(self, conn: Connection, now: int) -> None:
        for card_id, wallet_id, nfc_uid, pin in self.cards:
            existing = conn.one("SELECT wallet_id FROM cards WHERE card_id = ?", (card_id,))
            if existing is not None:
                if existing[0] != wallet_id:
                    self.flags.append(Flag("card_conflict", {"card": card_id,
                                                             "mapped_to": existing[0]},
                                           self.part, None, wallet_id))
                continue
            conn.execute(
                "INSERT INTO cards (card_id, wallet_id, status, nfc_uid, created_us, updated_us, "
                "version, pin) VALUES (?, ?, 'active', ?, ?, ?, 1, ?)",
                (card_id, wallet_id, nfc_uid, now, now,
                 canonical.dumps(pin).decode() if pin else None),
            )


def insert_staff(conn: Connection, merchant_id: str, member: dict, origin: str) -> None:
    """A staff member as the ledger keeps it: made by an admin (`origin` "admin") or at a
    counter (a `staff` record; `origin` its terminal/seq)."""
    now = now_us()
    conn.execute(
        "INSERT INTO staff (staff_id, merchant_id, name, role, pin, origin, created_us, "
        "updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (member["staff"], merchant_id, member["name"], member["role"],
         canonical.dumps(member["pin"]).decode(), origin, now, now))
