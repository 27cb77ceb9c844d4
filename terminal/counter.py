"""The counter's services: pay, refund, void, charge, grant, issue a card, look up a balance,
move cash. Each one decides, builds the record, and commits it to the journal; the UI, the
CLI and the benchmarks all drive these same functions.

A wallet's value here is the ledger's snapshot plus this terminal's own records the snapshot
had not yet seen. When the ledger answers within `ONLINE_CHECK_TIMEOUT_S` the fresh balance
is used ("online"); otherwise the snapshot and the offline limits decide ("offline"). Every
decision says which; every refusal raises `Refused` with a code and a message, and is kept in
the refusal log.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sync import bodies, campaigns, cards, giftcodes, givebacks, ids, pins, tokens, vocab
from sync.client import ONLINE_CHECK_TIMEOUT_S, LedgerClient, RefusedError, SyncError
from terminal import credentials, leases, policy
from terminal.clock import BadLedgerTime, TrustedClock
from terminal.effects import Note
from terminal.errors import JournalError, JournalFull
from terminal.health import JOURNAL, STATE, StorageHealth, check_closable
from terminal.journal import Appended, Journal
from terminal.offers import Offers
from terminal.policy import Limits, Refused
from terminal.staff import ApprovalNeeded, Member, StaffDesk
from terminal.state import StateStore

log = logging.getLogger(__name__)

# What may name a customer: a printed card number, an NFC card's UID (from a card reader), an
# app code; `credentials.SCAN` is text whose kind is not known yet (a scanner, a camera, a
# typist), worked out by terminal.credentials. A wallet id is none of these: every app code
# carries it in clear, so naming it proves nothing (DESIGN §10); an admin looks a wallet up
# by its id with `look_up_wallet`, which reads and never pays.
CREDENTIAL_KINDS = vocab.COUNTER_CREDENTIAL_KINDS
# After an online check fails, sales decide offline this long before asking again.
OFFLINE_QUIET_S = 10.0
MAX_CREDENTIAL_CHARS = 512
# Refusals of the snapshot that the ledger overrules when it answers: a card issued since
# the last pull is found there, and its status now is the ledger's.
ONLINE_OVERRULES = ("unknown_card", "card_blocked")
# The state store's key for wrong PINs in a row, by card (see Counter._check_pin).
PIN_TRIES_KEY = "pin_tries"
# After the ledger said a campaign's pool is empty, sales do not ask it for a lease of that
# pool again for this long (seconds); the sync worker still tops up as before.
EMPTY_POOL_QUIET_S = 60.0


@dataclass(frozen=True)
class Presented:
    """What the customer showed: a printed card number (`card`), an NFC UID read by a card
    reader (`nfc`), an app QR token (`app`), or scanned text to be told apart (`scan`)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Identified:
    wallet_id: str
    credential: dict[str, Any]  # as the record keeps it
    app_limit: int | None = None  # the app certificate's offline limit, for app tokens
    card: str | None = None  # the card's number, for plastic and NFC cards (its PIN)


@dataclass
class WalletView:
    wallet_id: str
    status: str
    status_reason: str
    lots: list[dict[str, Any]]
    debt: int
    offline_spent: int  # offline payments at this terminal since the snapshot
    usage: dict[str, dict] = field(default_factory=dict)  # campaign id -> what it has used
    # Each stamp rally's current card, with the shops that stamped it by name where this
    # terminal knows them (`Counter.rally_cards`): set by the balance look-ups.
    rally: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pockets(self) -> dict[str, int]:
        """Yen by pocket (rides on tickets are counted apart, in `rides`)."""
        out: dict[str, int] = {}
        for lot in self.lots:
            if lot["remaining"] > 0 and lot["pocket"] != bodies.TICKET_POCKET:
                out[lot["pocket"]] = out.get(lot["pocket"], 0) + lot["remaining"]
        return out

    @property
    def rides(self) -> dict[str, int]:
        """Rides left by ticket campaign."""
        out: dict[str, int] = {}
        for lot in self.lots:
            if lot["remaining"] > 0 and lot["pocket"] == bodies.TICKET_POCKET:
                key = lot.get("campaign") or ""
                out[key] = out.get(key, 0) + lot["remaining"]
        return out

    @property
    def total(self) -> int:
        return sum(self.pockets.values())

    def holdings(self) -> list[dict[str, Any]]:
        """What the wallet holds, pocket by pocket, for the customer to read (#16.7): yen of
        each pocket by expiry and usable-from day (利用期間: value not to be spent before
        it), the soonest to expire first; value without an expiry last. Rides are apart."""
        groups: dict[tuple, int] = {}
        for lot in self.lots:
            if lot["remaining"] > 0 and lot["pocket"] != bodies.TICKET_POCKET:
                key = (lot["pocket"], lot.get("expires"), lot.get("usable_from"))
                groups[key] = groups.get(key, 0) + lot["remaining"]
        order = {pocket: n for n, pocket in enumerate(bodies.YEN_POCKETS)}
        return [{"pocket": pocket, "yen": yen, "expires": expires, "usable_from": usable_from}
                for (pocket, expires, usable_from), yen in sorted(
                    groups.items(), key=lambda item: (order.get(item[0][0], 99), item[0][1] or
                                                      "9999-12-31", item[0][2] or ""))]


@dataclass
class Outcome:
    """What a committed transaction did, for the result screen and the receipt."""

    kind: str
    seq: int
    tx_id: str
    amount: int
    wallet_id: str | None = None
    decision: str = ""  # "online" / "offline" for payments; other kinds decide nothing
    paid_by: dict[str, int] = field(default_factory=dict)  # pocket -> yen
    balance_after: int | None = None
    record: dict[str, Any] = field(default_factory=dict)
    # What each campaign did: the record's entries, each with the campaign's `name`.
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    # What the cashier is told: campaigns that did not apply and why, value kept back.
    notes: list[Note] = field(default_factory=list)
    price: int | None = None  # goods total before campaign discounts (payments)
    rest: int = 0  # gift codes: what is left of the sale to pay another way


def _named(entries: list[dict], offers: Offers) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        rule = offers.rule(entry["campaign"])
        out.append({**entry, "name": rule["name"] if rule else entry["campaign"]})
    return out


def drawn_line(lot: dict[str, Any], amount: int) -> dict[str, Any]:
    """A payment's line for `amount` yen drawn from `lot`, with what a refund to it must know
    once the snapshot no longer lists the lot (it lists only lots holding value): its pocket,
    merchant classes, and expiry and campaign when it has them."""
    line = {"lot": lot["lot"], "amount": amount, "pocket": lot["pocket"],
            "classes": list(lot["classes"])}
    for key in ("expires", "campaign"):
        if lot.get(key):
            line[key] = lot[key]
    return line


def _refunded_lot(lot_id: str, payment: dict | None) -> dict[str, Any]:
    """A lot given back to that this view does not hold, as the payment's line knows it. A
    line written before payments named their lots' classes shows its value but is usable
    nowhere until the ledger's snapshot lists the lot; a lot the payment never drew goes
    into a charged lot, as the ledger does."""
    lines = payment["body"].get("lots", []) if payment else []
    line = next((line for line in lines if line.get("lot") == lot_id), None)
    if line is None:
        return {"lot": lot_id, "pocket": "charged", "remaining": 0, "expires": None,
                "classes": list(bodies.MERCHANT_CLASSES), "campaign": None}
    return {"lot": lot_id, "pocket": line.get("pocket", "charged"), "remaining": 0,
            "expires": line.get("expires"), "classes": list(line.get("classes", [])),
            "campaign": line.get("campaign")}


def _fold_giveback(lots: dict[str, dict], rows: list[tuple], payment: dict | None) -> int:
    """Fold one refund or void's lot effects into `lots` as the ledger posts them
    (sync.givebacks.settle); returns the debt it leaves on the wallet."""
    # A give-back's lot effects: money back (positive), then grants taken back (negative).
    lines = [{"lot": row[2], "amount": row[3]} for row in rows
             if row[1] == "lot" and row[3] > 0]
    grants_back = [{"lot": row[2], "amount": -row[3]} for row in rows
                   if row[1] == "lot" and row[3] < 0]
    settled = givebacks.settle(lines, grants_back,
                               {lot_id: lot["remaining"] for lot_id, lot in lots.items()})
    for lot_id, amount in settled.credited:
        if amount:
            if lot_id not in lots:
                lots[lot_id] = _refunded_lot(lot_id, payment)
            lots[lot_id]["remaining"] += amount
    for lot_id, amount in settled.taken:
        lots[lot_id]["remaining"] -= amount
    return settled.debt


class Counter:
    """One terminal's services over its journal, its snapshot and (when there) the ledger."""

    def __init__(self, journal: Journal, state: StateStore, client: LedgerClient | None = None,
                 on_commit: Callable[[Appended], None] | None = None,
                 today: Callable[[], date] | None = None,
                 clock: TrustedClock | None = None,
                 health: StorageHealth | None = None) -> None:
        self.journal = journal
        self.state = state
        self.client = client
        self._on_commit = on_commit
        self._today = today or (lambda: journal._clock().date())
        # Snapshot age and app-code freshness are measured on the trusted clock.
        self.clock = clock or TrustedClock(state)
        # Whether the storage is sound (terminal.health): no sale while it is damaged.
        self.health = health or StorageHealth(journal.data_dir)
        self.tokens = tokens.TokenVerifier({}, clock=self.clock.now_s)
        try:
            self.clock.note_record(journal.last_at)
            self.tokens = tokens.TokenVerifier(journal.ledger_keys(), clock=self.clock.now_s)
            # Prime the replay cache from this terminal's recent app-token records, so a
            # token used just before a restart is still refused within its freshness window.
            for prefix, counter in journal.app_counters_since(
                    self.clock.now_s() - tokens.REPLAY_LOOKBACK_S):
                self.tokens.remember(bytes.fromhex(prefix), counter)
        except (JournalError, sqlite3.DatabaseError) as exc:
            # A damaged journal: the terminal starts, says so, and sells nothing.
            self.health.mark(JOURNAL, f"reading the newest records failed: {exc}")
        self.online_hint = client is not None  # set False by the sync worker's status
        self._quiet_until = 0.0
        # Campaign uses the ledger claimed for a sale not yet committed (tx ids).
        self._open_claims: set[str] = set()
        # Pools the ledger said are empty, by (campaign, pool): not asked again until then.
        self._empty_pools: dict[tuple[str, str], float] = {}
        # A second close of a day already closed was refused for want of an approval: the
        # approval given next is for it (close_day).
        self._close_again_asked = False
        # Who is signed in and what needs a manager (terminal.staff); who does the action
        # under way and who approved it, named in its record by _commit.
        self.staff = StaffDesk(state, lambda: self.merchant.get("config") or {})
        self._who: tuple[Member | None, Member | None] = (None, None)

    # --- context --------------------------------------------------------------------------

    @property
    def merchant(self) -> dict[str, Any]:
        return self.state.merchant()

    @property
    def limits(self) -> Limits:
        return Limits.from_config(self.merchant.get("config"))

    @property
    def merchant_class(self) -> str:
        return self.merchant.get("class", "small")

    def require(self, action: str, amount: int = 0, in_campaign: bool = True) -> None:
        """The staff rules (terminal.staff) for an action about to be done here: Refused
        (not signed in, not this role's) or ApprovalNeeded (a manager's PIN first, given
        with `staff.approve`). The member and the approver are named in the next record."""
        try:
            self._who = self.staff.require(action, amount, in_campaign)
        except Refused as exc:
            self._refuse(action, exc, None, amount if type(amount) is int else 0, "offline")
            raise

    def _commit(self, rtype: str, body: dict[str, Any], tx_id: str | None = None) -> Appended:
        """Sign and keep the record; `tx_id`: the one an online check claimed things for.
        The record names the staff member who did it and the manager who approved it; in
        training mode it is kept as a `training` record that moves nothing."""
        member, approver = self._who
        self._who = (None, None)
        if member is not None:
            body = {**body, "staff": member.staff_id}
        if approver is not None:
            body["approver"] = approver.staff_id
        # The ledger posts only bodies that follow the shared rules; one that does not is a
        # bug here, and must stop before it is signed rather than be flagged at the ledger.
        bodies.check(rtype, body)
        if self.staff.training:
            rtype, body = "training", {**body, "kind": rtype}
        try:
            self._check_storage()
            try:
                done = self.journal.append(rtype, body, tx_id)
            except (JournalFull, sqlite3.DatabaseError) as exc:  # nothing of it was kept
                refused = self.health.failed_write(JOURNAL, exc.__cause__ or exc)
                if refused is None:
                    raise
                raise refused from exc
        except Refused:
            self._release_claims()  # the sale's campaign claim goes back at once
            raise
        self.clock.note_record(done.record["at"])
        self._open_claims.discard(done.tx_id)
        if self._on_commit is not None:
            self._on_commit(done)
        return done

    def _check_storage(self) -> None:
        """Refused('storage_damaged') while the journal or the state is damaged: checked
        before a sale asks the ledger anything, and again before its record is written."""
        refused = self.health.refusal()
        if refused is not None:
            raise refused

    def _keep(self, store: Callable[..., None], *args: Any) -> None:
        """Store what the ledger answered in the state; a full disk or a damaged state.db
        refuses the sale (Refused) rather than failing it half-way."""
        try:
            store(*args)
        except sqlite3.Error as exc:
            refused = self.health.failed_write(STATE, exc)
            if refused is None:
                raise
            raise refused from exc

    def _refuse(self, kind: str, exc: Refused, wallet_id: str | None, amount: int,
                decision: str) -> None:
        self.state.log_refusal(kind, wallet_id, amount, exc.code, decision)
        log.info("refused %s of %s for %s: %s (%s)", kind, amount, wallet_id, exc.code, decision)

    # --- who is paying --------------------------------------------------------------------

    def resolve(self, presented: Presented) -> str:
        """The wallet behind a credential; Refused when unknown or blocked."""
        return self.identify(presented).wallet_id

    @staticmethod
    def _concrete(presented: Presented) -> Presented:
        """A scan as the credential it is (card, app); Refused for anything else."""
        if presented.kind != credentials.SCAN:
            return presented
        kind, value = credentials.classify(presented.value)
        if kind == credentials.GIFT:
            raise Refused("scan_gift_code")
        return Presented(kind, value)

    def identify(self, presented: Presented) -> Identified:
        """Who is paying, how they showed it, and any offline limit their app carries;
        Refused for anything that is not a credential (a wallet id above all)."""
        presented = self._concrete(presented)
        kind, value = presented.kind, presented.value
        value = value.strip() if isinstance(value, str) else ""
        if not value or len(value) > MAX_CREDENTIAL_CHARS or kind not in CREDENTIAL_KINDS:
            raise Refused("bad_credential", detail="not a card, an NFC card or an app code")
        if kind == "app":
            token = self._verify_token(value)
            cert = token.cert
            return Identified(cert.wallet_id, {"kind": "app", "id": cert.wallet_id,
                                               "device": cert.device_key.hex()[:16],
                                               "counter": token.counter}, cert.offline_limit)
        wallet_id, card = self._wallet_of(kind, value)
        return Identified(wallet_id, {"kind": kind, "id": value}, card=card)

    def _verify_token(self, text: str) -> tokens.Token:
        for attempt in range(2):
            try:
                return self.tokens.verify(text)
            except tokens.TokenError as exc:
                if exc.code == "unknown_ledger_key" and attempt == 0:
                    # the snapshot may have brought a new ledger key since we last looked
                    self.tokens.ledger_keys = self.journal.ledger_keys()
                    continue
                raise Refused(exc.code) from exc
        raise AssertionError("unreachable")

    def _wallet_of(self, kind: str, value: str) -> tuple[str, str | None]:
        """The wallet, and the card number, of a plastic or NFC card."""
        if kind == "nfc":
            found = self.state.card_by_nfc(value)
            if found is None:
                raise Refused("unknown_card")
            if found[2] != "active":
                raise Refused("card_blocked")
            return found[1], found[0]
        try:
            number = cards.normalize(value)
        except cards.CardNumberError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        printed = self.state.card(number)
        if printed is not None:
            if printed[1] != "active":
                raise Refused("card_blocked")
            return printed[0], number
        local = self.journal.card_wallet(number)
        if local is None:
            raise Refused("unknown_card")
        return local, number

    # --- the wallet as this terminal sees it ----------------------------------------------

    def view(self, wallet_id: str) -> WalletView:
        """The wallet as the ledger will see it once it has this terminal's records: its
        snapshot plus the effects of the records the snapshot had not yet seen. A refund or
        void is folded as the ledger posts it (sync.givebacks): a lot the snapshot no
        longer lists (spent out) is known from the payment's line, and granted value
        already spent is kept from the money given back."""
        snap = self.state.wallet(wallet_id)
        basis = snap.basis_seq if snap else 0
        lots = {lot["lot"]: dict(lot) for lot in (snap.lots if snap else [])}
        debt = snap.debt if snap else 0
        offline_spent, known = 0, snap is not None
        campaign_seqs: list[int] = []
        made_seqs: list[int] = []
        effects = self.journal.effects_since(wallet_id, basis)
        backs = {row[0]: row[8] for row in effects if row[1] == "back"}  # seq -> payment tx
        payments = {tx: self.journal.record_by_tx(tx) for tx in set(backs.values())}
        for seq, group in itertools.groupby(effects, key=lambda row: row[0]):
            rows = list(group)
            known = True
            if seq in backs:
                debt += _fold_giveback(lots, rows, payments[backs[seq]])
            for _, kind, lot_id, amount, pocket, expires, classes, decision, ref in rows:
                if kind == "spend" and decision == "offline":
                    offline_spent += amount
                if kind == "camp" and (not campaign_seqs or campaign_seqs[-1] != seq):
                    campaign_seqs.append(seq)
                if kind != "lot" or seq in backs:
                    continue
                if lot_id in lots:
                    lots[lot_id]["remaining"] += amount
                elif pocket is not None:
                    lots[lot_id] = {"lot": lot_id, "pocket": pocket, "remaining": amount,
                                    "expires": expires, "classes": json.loads(classes),
                                    "campaign": ref, "usable_from": None}
                    if kind == "lot" and ref:
                        made_seqs.append(seq)
        if not known:
            raise Refused("unknown_wallet")
        # A lot a campaign made here may wait for its use period (利用期間): the day is in
        # the record's lot line, not in the effects.
        for rec in self.journal.records_at(sorted(set(made_seqs))):
            for line in rec["body"].get("lots", []) + rec["body"].get("grants", []):
                if line.get("usable_from") and line["lot"] in lots:
                    lots[line["lot"]]["usable_from"] = line["usable_from"]
        usage = dict(snap.usage) if snap else {}
        for rec in self.journal.records_at(campaign_seqs):
            for entry in bodies.entries_for(rec["body"], wallet_id):
                usage[entry["campaign"]] = campaigns.apply(usage.get(entry["campaign"]),
                                                           entry, rec["at"][:10])
        status = snap.status if snap else "active"
        return WalletView(wallet_id, status, "", list(lots.values()), debt, offline_spent,
                          usage)

    # --- the online check: the ledger decides --------------------------------------------

    def _may_ask(self) -> bool:
        # Training sales are decided on the snapshot: nothing is claimed at the ledger.
        return self.client is not None and self.online_hint and not self.staff.training and \
            time.monotonic() >= self._quiet_until

    def _ask(self, question: dict[str, Any]) -> dict[str, Any] | None:
        """The ledger's answer to one online check (sync.client.LedgerClient.check), within
        ONLINE_CHECK_TIMEOUT_S; None when it does not answer in time: decide offline."""
        if not self._may_ask():
            return None
        assert self.client is not None
        started = time.monotonic()
        try:
            answer = self.client.check(question)
        except SyncError as exc:
            log.info("online check failed in %.0f ms: %s",
                     (time.monotonic() - started) * 1000, exc.message)
            if not isinstance(exc, RefusedError):
                # One slow or failed check is enough: decide offline for a while.
                self._quiet_until = time.monotonic() + OFFLINE_QUIET_S
            return None
        if self.client.last_answer_ms is not None:
            # The answer's signed time (sync.auth.verify_answer): the trusted clock's anchor.
            try:
                self.clock.anchor(self.client.last_answer_ms, persist=False)
            except BadLedgerTime as exc:
                log.warning("online check: %s", exc)
        return answer

    def _identify_online(self, presented: Presented, tx_id: str, claim_token: bool = True,
                         campaign: dict[str, Any] | None = None
                         ) -> tuple[Identified, str, dict[str, Any] | None]:
        """Who is paying, 'online' or 'offline', and the ledger's answer (None offline).

        Online the ledger decides, in one request: a card's status and wallet now (blocked
        a second ago: refused; issued since the last pull: found), the wallet's fresh
        balance, the app token (`claim_token`: claimed for `tx_id`, so it pays once in the
        region) and a per-wallet `campaign` use (claimed within the wallet's limit, the
        uses other booths claimed counted). Offline the snapshot decides, as `identify`."""
        self._check_storage()
        presented = self._concrete(presented)  # a scan asks as the card or app it is
        try:
            who: Identified | None = self.identify(presented)
            snapshot_refusal = None
        except Refused as exc:
            if exc.code not in ONLINE_OVERRULES or not self._may_ask():
                raise
            who, snapshot_refusal = None, exc
        value = presented.value.strip()
        question: dict[str, Any] = {"tx": tx_id}
        if presented.kind == "card":
            question["card"] = who.card if who and who.card else cards.normalize(value)
        elif presented.kind == "nfc":
            question["nfc"] = value.upper()
        else:
            assert who is not None
            question["wallet"] = who.wallet_id
            if presented.kind == "app" and claim_token:
                question["token"] = {"device": who.credential["device"],
                                     "counter": who.credential["counter"]}
        if campaign is not None:
            question["campaign"] = campaign
        basis = self.journal.acked_seq()
        answer = self._ask(question)
        if answer is None:
            if snapshot_refusal is not None:
                raise snapshot_refusal
            assert who is not None
            return who, "offline", None
        card = answer.get("card")
        if card is not None:
            self._keep(self.state.apply_card, card)
            if card["status"] != "active":
                raise Refused("card_blocked")
            who = Identified(card["wallet"], {"kind": presented.kind, "id": value},
                             card=card["card"])
        elif presented.kind in ("card", "nfc") and (
                who is None or presented.kind == "nfc" or self.state.card(who.card or "")):
            # Unknown to the ledger (a card this terminal issued and has not pushed yet is
            # still this terminal's to decide).
            raise Refused("unknown_card")
        if answer["wallet"] is not None:
            # The ledger's own basis: its answer may already hold a batch of ours whose
            # acknowledgement the sync worker has not recorded yet (counted twice otherwise).
            self._keep(self.state.apply_wallet_view, answer["wallet"],
                       answer["wallet"].get("basis_seq", basis))
        if answer.get("token") == "used":
            raise Refused("replayed")
        assert who is not None  # found in the snapshot, or the ledger named the card
        return who, "online", answer

    def _claim_gift(self, code: giftcodes.GiftCode, tx_id: str) -> str:
        """Claim the gift code at the ledger for the sale `tx_id`: 'online', or 'offline'
        when the ledger does not answer; Refused when another sale has it."""
        self._check_storage()
        answer = self._ask({"tx": tx_id, "gift": code.code_id})
        if answer is None:
            return "offline"
        if answer["gift"] == "used":
            raise Refused("gift_used")
        if answer["gift"] == "unknown":
            raise Refused("gift_unknown")
        self._open_claims.add(tx_id)  # given back if the sale is refused before its record
        return "online"

    @staticmethod
    def _campaign_claim(rule: dict, offers: Offers, units: int = 1) -> dict[str, Any] | None:
        """What an online check claims for a per-wallet campaign use (None: no limit)."""
        if rule.get("per_wallet") is None:
            return None
        return {"id": rule["id"], "day": offers.day, "units": units}

    def _identify_for_campaign(self, presented: Presented, tx_id: str, rule: dict,
                               offers: Offers, units: int = 1) -> tuple[Identified, str]:
        """Who, and how it was decided, for a per-wallet campaign use: online, the ledger
        refuses a use past the wallet's limit counting the uses other booths have just been
        allowed (one voucher set per person in each sale period, at whichever booth)."""
        who, decision, answer = self._identify_online(
            presented, tx_id, claim_token=False,
            campaign=self._campaign_claim(rule, offers, units))
        if answer is not None and answer.get("campaign") == "limit":
            raise Refused("campaign_limit", name=rule["name"])
        if answer is not None and answer.get("campaign") == "claimed":
            self._open_claims.add(tx_id)
        return who, decision

    def _release_claims(self) -> None:
        """A sale refused after its online check claimed a campaign use or a gift code gives
        the claim back (else it would count against the customer's limit until it lapses,
        or use up the code for good)."""
        while self._open_claims:
            tx_id = self._open_claims.pop()
            if self.client is None:
                continue
            try:
                self.client.release(tx_id)
            except SyncError as exc:
                log.info("a refused sale's campaign claim stays until it lapses: %s",
                         exc.message)

    def _checked_view(self, wallet_id: str) -> WalletView:
        view = self.view(wallet_id)
        if view.debt:  # an overdraft denies the wallet: the sum owed says more than a status
            raise Refused("denied", detail=f"owes ¥{view.debt:,}")
        if view.status != "active":
            raise Refused("denied", detail=view.status_reason or view.status)
        return view

    # --- services -------------------------------------------------------------------------

    def offers(self) -> Offers:
        """This shop's campaigns today, as the snapshot has them; units not on hand are
        asked of the ledger while it answers (`_lease_now`)."""
        return Offers(self.journal, self.state, self.merchant.get("merchant_id", ""),
                      self.merchant_class, self._today().isoformat(), self._lease_now)

    def _lease_now(self, rule: dict, pool: str) -> bool:
        """Lease a block of the pool for a sale that found no unit on hand (issue #16.4: the
        first sale after a Z close, before the sync worker's round, gets every benefit a
        lease can give), within ONLINE_CHECK_TIMEOUT_S; True when a lease came. Not asked
        offline, nor again for EMPTY_POOL_QUIET_S once the ledger said the pool is empty."""
        key = (rule["id"], pool)
        if not self._may_ask() or time.monotonic() < self._empty_pools.get(key, 0.0):
            return False
        block = leases.block_for(rule, pool, self.merchant.get("merchant_id", ""))
        if not block:
            return False
        assert self.client is not None
        try:
            lease = leases.take(self.client, self.journal, self.state, rule["id"], pool, block,
                                timeout=ONLINE_CHECK_TIMEOUT_S)
        except SyncError as exc:
            log.info("lease for a sale not answered: %s", exc.message)
            if not isinstance(exc, RefusedError):
                self._quiet_until = time.monotonic() + OFFLINE_QUIET_S
            return False
        except sqlite3.Error as exc:
            # The lease could not be kept here (the ledger keeps it; the worker's next round
            # asks again with the same request id): the sale decides with what is on hand,
            # and its own record's write says whether the storage is sound.
            log.warning("a lease for a sale could not be kept: %s", exc)
            return False
        if lease is None:
            self._empty_pools[key] = time.monotonic() + EMPTY_POOL_QUIET_S
            return False
        return True

    # --- card PINs ----------------------------------------------------------------------

    def card_pin(self, card: str) -> dict[str, Any] | None:
        """The card's stored PIN: the ledger's (it may have been changed there), else the
        one this terminal put on the card when it issued it."""
        if self.state.card(card) is not None:
            return self.state.card_pin(card)
        body = self.journal.card_issue_body(card)
        return body.get("pin") if body else None

    def _check_pin(self, who: Identified, due: int, pin: str | None) -> None:
        """Above the card's amount its PIN must be given; `pins.MAX_PIN_TRIES` wrong ones in
        a row lock the card at this terminal until its PIN is set again at the ledger."""
        stored = self.card_pin(who.card) if who.card else None
        if stored is None or not pins.asked(stored, due):
            return
        assert who.card is not None
        # card -> [the PIN hash tried against, wrong PINs in a row], in the state store so
        # that restarting the app gives no fresh tries
        tries = self.state.get(PIN_TRIES_KEY) or {}
        tried_hash, wrong = tries.get(who.card, (stored["hash"], 0))
        if tried_hash != stored["hash"]:
            wrong = 0  # a new PIN was set: the count starts again
        if wrong >= pins.MAX_PIN_TRIES:
            raise Refused("pin_locked")
        if pin is None:
            raise Refused("pin_required", above=stored["above"])
        if not pins.matches(pin, stored, self.state.pin_key):
            wrong += 1
            self.state.put(PIN_TRIES_KEY, {**tries, who.card: [stored["hash"], wrong]})
            if wrong >= pins.MAX_PIN_TRIES:
                raise Refused("pin_locked")
            raise Refused("pin_wrong", left=pins.MAX_PIN_TRIES - wrong)
        if tries.pop(who.card, None) is not None:
            self.state.put(PIN_TRIES_KEY, tries)

    def pay(self, presented: Presented, amount: int, excluded: int = 0, people: int = 1,
            tags: frozenset[str] | set[str] = frozenset(), pin: str | None = None,
            diners: list[Presented] | tuple[Presented, ...] = ()) -> Outcome:
        """Take a payment for `amount` yen of goods; `excluded` yen of them (tobacco, gift
        certificates...) are never discounted, stamped or paid with vouchers. Campaigns
        (coupons, stamp rallies, cash-back) apply by themselves; `people` is the party size
        (a rally's threshold is per person at restaurants) and `tags` words such as
        "banquet" that rules may ask for. A card with a PIN needs `pin` when the wallet
        pays more than the card's amount (refused `pin_required` without it). `diners`: the
        other diners' cards or app codes at a restaurant, each stamped on its own card when
        their share reaches the rally's threshold (the party is at least them and the
        payer)."""
        self.require("pay", amount)
        wallet_id, decision = None, "offline"
        try:
            policy.check_amount(amount)
            if type(excluded) is not int or not 0 <= excluded <= amount:
                raise Refused("bad_amount", max=amount)
            if type(people) is not int or not 1 <= people <= policy.MAX_PARTY:
                raise Refused("bad_party", max=policy.MAX_PARTY)
            if len(diners) > bodies.MAX_DINERS:
                raise Refused("bad_party", max=bodies.MAX_DINERS + 1)
            tx_id = ids.new_id()
            who, decision, _ = self._identify_online(presented, tx_id)
            wallet_id = who.wallet_id
            view = self._checked_view(wallet_id)
            others = self._diners(diners, wallet_id)
            offers = self.offers()
            plan = offers.for_payment(view.usage, amount, excluded, max(people, 1 + len(others)),
                                      frozenset(tags),
                                      [(other.wallet_id, usage) for other, usage in others],
                                      offline=decision == "offline")
            due = amount - plan.discount
            self._check_pin(who, due, pin)
            if decision == "offline":
                self._offline_limits(view, due, who.app_limit)
            lines = self._draw(view, due, excluded, offers, amount - excluded) if due else []
        except Refused as exc:
            self._refuse("payment", exc, wallet_id, amount, decision)
            raise
        held = {lot["lot"]: lot for lot in view.lots}
        body: dict[str, Any] = {
            "amount": due, "wallet": wallet_id, "decision": decision,
            "credential": who.credential,
            "lots": [drawn_line(held[line["lot"]], line["amount"]) for line in lines]}
        if excluded:
            body["excluded"] = excluded
        if plan.entries or plan.diners:
            body["price"] = amount
        if plan.entries:
            body["campaigns"] = plan.entries
        if plan.grants:
            body["grants"] = plan.grants
        credentials_of = {other.wallet_id: other.credential for other, _ in others}
        if plan.diners:
            body["diners"] = [{"wallet": diner["wallet"],
                               "credential": credentials_of[diner["wallet"]], **diner}
                              for diner in plan.diners]
        done = self._commit("payment", body, tx_id)
        paid_by: dict[str, int] = {}
        for line in lines:
            paid_by[line["pocket"]] = paid_by.get(line["pocket"], 0) + line["amount"]
        granted = sum(lot["amount"] for lot in plan.grants)
        return Outcome("payment", done.seq, done.tx_id, due, wallet_id, decision, paid_by,
                       view.total - due + granted, done.record,
                       _named(plan.entries, offers) + [
                           {**entry, "diner": diner["wallet"]}
                           for diner in plan.diners for entry in _named(diner["campaigns"],
                                                                        offers)],
                       plan.notes(), amount)

    def _diners(self, diners: list[Presented] | tuple[Presented, ...], payer: str
                ) -> list[tuple[Identified, dict[str, dict]]]:
        """The other diners, as the snapshot (and this terminal's records) know them: who
        each is and what they have used of the campaigns. A diner pays nothing, so no
        online check is made for them; one who is the payer, or given twice, counts once."""
        out: list[tuple[Identified, dict[str, dict]]] = []
        seen = {payer}
        for presented in diners:
            try:
                other = self.identify(presented)
                # A wallet denied as a payer (it owes, or is suspended) collects no stamp
                # or prize as a diner either.
                usage = self._checked_view(other.wallet_id).usage
            except Refused as exc:
                raise Refused("diner_refused", detail=exc.message) from exc
            if other.wallet_id in seen:
                continue
            seen.add(other.wallet_id)
            out.append((other, usage))
        return out

    def _draw(self, view: WalletView, due: int, excluded: int, offers: Offers,
              base: int) -> list[dict[str, Any]]:
        """The lots that pay `due`. When they fall short only because voucher value may not
        pay for this purchase, the refusal says why instead of "not enough balance":
        ※1回あたり1,500円以上の支払いが対象 (`below_min_spend`, the minimum named), or
        利用期間 not begun (`voucher_not_usable_yet`, the day named)."""
        today = self._today()
        blocked = offers.blocked_campaigns(base)
        try:
            return policy.draw(view.lots, due, excluded, self.merchant_class, today, blocked)
        except Refused as short:
            def pays(lots: list[dict], without: set[str]) -> bool:
                try:
                    policy.draw(lots, due, excluded, self.merchant_class, today, without)
                except Refused:
                    return False
                return True

            held = {lot.get("campaign") for lot in view.lots if lot["remaining"] > 0}
            for campaign_id in sorted(blocked & held):
                if pays(view.lots, blocked - {campaign_id}):
                    rule = offers.rule(campaign_id) or {}
                    raise Refused("below_min_spend", name=rule.get("name", campaign_id),
                                  min=rule.get("min_spend", 0), base=base) from short
            waiting = [lot for lot in view.lots if lot.get("usable_from")
                       and lot["usable_from"] > today.isoformat()]
            if waiting and pays([{**lot, "usable_from": None} for lot in view.lots], blocked):
                first = min(waiting, key=lambda lot: lot["usable_from"])
                rule = offers.rule(first.get("campaign") or "") or {}
                raise Refused("voucher_not_usable_yet", day=first["usable_from"],
                              name=rule.get("name", first.get("campaign") or "")) from short
            raise

    def _offline_limits(self, view: WalletView, amount: int, app_limit: int | None) -> None:
        limits = self.limits
        if app_limit is not None and view.offline_spent + amount > app_limit:
            raise Refused("over_app_limit", limit=app_limit,
                          left=max(0, app_limit - view.offline_spent))
        age = self.state.snapshot_age_s(self.clock.now_s())
        if age is None or age > limits.max_snapshot_age_s:
            if amount > limits.small_payment_when_stale:
                hours = "∞" if age is None else f"{age / 3600:.0f}"
                raise Refused("snapshot_stale", hours=hours, limit=limits.small_payment_when_stale)
        if amount > limits.max_offline_payment:
            raise Refused("over_offline_payment", limit=limits.max_offline_payment)
        if view.offline_spent + amount > limits.max_offline_per_wallet:
            raise Refused("over_offline_wallet", limit=limits.max_offline_per_wallet,
                          left=max(0, limits.max_offline_per_wallet - view.offline_spent))

    def refund(self, tx_id: str, amount: int | None = None, void: bool = False) -> Outcome:
        """Give back (part of) a payment made at this terminal, to the lots it drew on;
        `void` cancels the whole payment. A partial refund keeps the sale's campaigns; the
        refund that gives back all that is left of it takes them back as a void does (else
        a sale refunded whole, at once or in parts, would keep its cash-back and prizes)."""
        kind = "void" if void else "refund"
        try:
            original = self.journal.record_by_tx(tx_id)
            if original is None or original["type"] != "payment":
                raise Refused("not_found")
            paid = original["body"]["amount"]
            given: dict[str, int] = {}
            for earlier in self.journal.givebacks_of(tx_id):
                for line in earlier["body"]["lots"]:
                    given[line["lot"]] = given.get(line["lot"], 0) + line["amount"]
            left = paid - sum(given.values())
            if void and given:
                raise Refused("not_refundable", detail="part of it was refunded already")
            amount = left if (amount is None or void) else amount
            policy.check_amount(amount)
            if amount > left:
                raise Refused("over_refund", left=left)
            # a refund in parts is judged by all it gives back of the sale
            self._who = self.staff.require(kind, amount, before=paid - left)
        except Refused as exc:
            self._refuse(kind, exc, None, amount or 0, "offline")
            raise
        lines, rest = [], amount
        for line in reversed(original["body"]["lots"]):  # last drawn, first given back
            room = line["amount"] - given.get(line["lot"], 0)
            take = min(room, rest)
            if take > 0:
                lines.append({"lot": line["lot"], "amount": take})
                rest -= take
        wallet_id = original["body"]["wallet"]
        body: dict[str, Any] = {"amount": amount, "wallet": wallet_id, "of": tx_id,
                                "lots": lines}
        notes: list[Note] = []
        if void or amount == left:  # nothing of the sale is left: nor of its campaigns
            # What the grants still hold decides what is kept from the money given back:
            # asked of the ledger when it answers (another terminal may have spent them).
            self._refresh(wallet_id)
            body.update(self._undo_campaigns(original))
            notes = self._takeback_notes(wallet_id, lines, body.get("grants_back", []))
        done = self._commit(kind, body)
        balance = self.view(wallet_id).total
        return Outcome(kind, done.seq, done.tx_id, amount, wallet_id, "", {}, balance,
                       done.record, _named(body.get("campaigns", []), self.offers()), notes)

    def _takeback_notes(self, wallet_id: str, lines: list[dict],
                        grants_back: list[dict]) -> list[Note]:
        """What the cashier is told when granted value the void takes back was spent
        already: it is kept from the money given back, and what that does not cover is owed
        (sync.givebacks; the ledger posts the same)."""
        holds = {lot["lot"]: lot["remaining"] for lot in self.view(wallet_id).lots}
        settled = givebacks.settle(lines, grants_back, holds)
        notes: list[Note] = []
        if settled.netted:
            notes.append(Note("grant_spent_kept", {"yen": settled.netted}))
        if settled.debt:
            notes.append(Note("grant_spent_owed", {"yen": settled.debt}))
        return notes

    def _undo_campaigns(self, original: dict) -> dict[str, Any]:
        """What a void adds to take back the payment's campaigns: each entry marked `undo`
        (the funder's discount, the use counted against the wallet's limits, the stamp),
        and the lots they granted (cash-back, a prize), each for all it was worth: what was
        spent of it is kept from the money given back (sync.givebacks). Each entry keeps the
        `lease` (`prize_lease`, `units`) its unit came from, so the unit goes back: to this
        terminal's stock while the lease is held (open), else, at the ledger, to the pool
        (seed 000: a voided sale used no coupon; docs/campaigns.md)."""
        entries = original["body"].get("campaigns", [])
        diners = bodies.diners(original["body"])
        if not entries and not diners:
            return {}
        day = original["at"][:10]

        def undo(items: list[dict]) -> list[dict]:
            return [{**entry, "undo": True, "day": day} for entry in items]

        def back(grants: list[dict]) -> list[dict]:
            return [{"lot": line["lot"], "amount": line["amount"],
                     **{key: line[key] for key in ("campaign", "funder") if key in line}}
                    for line in grants]

        out: dict[str, Any] = {}
        if entries:
            out["campaigns"] = undo(entries)
        grants = original["body"].get("grants", [])
        if grants:
            out["grants_back"] = back(grants)
        if diners:
            # The other diners' stamps go too; their prizes are taken back from their own
            # wallets (what they spent of one is owed, as the ledger posts it).
            out["diners"] = [{"wallet": diner["wallet"], "campaigns": undo(diner["campaigns"]),
                              **({"grants_back": back(diner["grants"])}
                                 if diner.get("grants") else {})} for diner in diners]
        return out

    def charge(self, presented: Presented, cash: int) -> Outcome:
        """Cash top-up: always allowed, offline too, up to the wallet balance cap. A premium
        charge campaign adds its bonus (trimmed to the cap and to its per-wallet limit)."""
        self.require("charge", cash)
        wallet_id = None
        try:
            policy.check_amount(cash)
            wallet_id = self.resolve(presented)
            view = self.view(wallet_id)
            cap = self.limits.wallet_balance_cap
            if view.total + cash > cap:
                raise Refused("over_cap", cap=cap, room=max(0, cap - view.total))
        except Refused as exc:
            self._refuse("charge", exc, wallet_id, cash, "offline")
            raise
        lots = [bodies.new_lot("L-" + ids.new_id(), "charged", cash, cash)]
        offers, entries, room = self.offers(), [], cap - view.total - cash
        for rule in offers.active("premium_charge"):
            usage = view.usage.get(rule["id"])
            bonus = min(campaigns.premium_bonus(rule, usage, cash, offers.day), room)
            if bonus <= 0 or not campaigns.within_limit(rule, usage, offers.day):
                continue
            entry = {"campaign": rule["id"], "kind": rule["kind"], "bonus": bonus}
            pool = campaigns.main_pool(rule, offers.merchant_id)
            if pool is not None:
                lease = offers.unit(rule, pool)
                if lease is None:
                    continue
                entry["lease"] = lease
            entries.append(entry)
            lots.append(bodies.new_lot("L-" + ids.new_id(), rule.get("pocket", "premium_common"),
                                       bonus, 0, rule["funder"], rule.get("expires"),
                                       campaign=rule["id"]))
            room -= bonus
        body: dict[str, Any] = {"amount": cash, "wallet": wallet_id, "lots": lots}
        if entries:
            body["campaigns"] = entries
        done = self._commit("charge", body)
        added = sum(lot["amount"] for lot in lots)
        paid_by = {"charged": cash}
        for lot in lots[1:]:
            paid_by[lot["pocket"]] = paid_by.get(lot["pocket"], 0) + lot["amount"]
        return Outcome("charge", done.seq, done.tx_id, cash, wallet_id, "", paid_by,
                       view.total + added, done.record, _named(entries, offers))

    def grant(self, presented: Presented, points: int, funder: str,
              campaign: str | None = None, expires: str | None = None) -> Outcome:
        """Grant points (1 pt = ¥1) funded by `funder`, e.g. for a bus ride or volunteering."""
        try:
            policy.check_amount(points)
            running = campaign is not None and self._running(campaign)
            self._who = self.staff.require("grant", points, running)
            # Manual grants have a cap per grant and per day at this terminal, approved or
            # not (the ledger checks them again and flags any over).
            self.staff.check_grant_caps(points, self._today().isoformat())
            wallet_id = self.resolve(presented)
        except Refused as exc:
            self._refuse("grant", exc, None, points if type(points) is int else 0, "offline")
            raise
        lot = bodies.new_lot("L-" + ids.new_id(), "points", points, 0, funder, expires,
                             campaign=campaign)
        try:
            bodies.check("grant", {"amount": points, "wallet": wallet_id, "lots": [lot]})
        except bodies.BodyError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        training = self.staff.training
        done = self._commit("grant", {"amount": points, "wallet": wallet_id, "lots": [lot]})
        if not training:
            self.staff.note_grant(points, self._today().isoformat())
        return Outcome("grant", done.seq, done.tx_id, points, wallet_id, "",
                       {"points": points}, self.view(wallet_id).total, done.record)

    def _running(self, campaign_id: str) -> bool:
        """Whether a campaign of that id runs here today."""
        offers = self.offers()
        rule = offers.rule(campaign_id)
        return rule is not None and campaigns.active(rule, offers.day, offers.merchant_id,
                                                     offers.merchant_class)

    # --- campaigns at the booth and the counter ---------------------------------------------

    def _campaign(self, offers: Offers, campaign_id: str, kinds: tuple[str, ...]) -> dict:
        rule = offers.rule(campaign_id)
        if rule is None or rule["kind"] not in kinds:
            raise Refused("campaign_unknown")
        if not campaigns.active(rule, offers.day, offers.merchant_id, offers.merchant_class):
            raise Refused("campaign_inactive", name=rule["name"])
        return rule

    def _main_unit(self, offers: Offers, rule: dict, entry: dict, units: int = 1) -> None:
        """Take `units` of the campaign's quantity for `entry`; Refused('sold_out'). With no
        lease at hand, `offers.unit` leases a block first while the ledger answers
        (`_lease_now`): a booth that only sells voucher sets could otherwise not sell its first
        set of the day."""
        pool = campaigns.main_pool(rule, offers.merchant_id)
        if pool is not None:
            lease = offers.unit(rule, pool, units)
            if lease is None:
                raise Refused("sold_out", name=rule["name"])
            entry["lease"] = lease

    def buy_voucher(self, presented: Presented, campaign_id: str, price: int) -> Outcome:
        """Sell a premium voucher set for cash: e.g. pay ¥10,000, get ¥6,000 usable at every
        shop and ¥9,000 only at small shops, each part with its own expiry."""
        self.require("campaign_sale")
        wallet_id = None
        offers = self.offers()
        try:
            rule = self._campaign(offers, campaign_id, ("premium_voucher",))
            chosen = campaigns.voucher_set(rule, price)
            if chosen is None:
                raise Refused("no_voucher_set", name=rule["name"], prices=", ".join(
                    f"¥{item['price']:,}" for item in rule["sets"]))
            # 【販売期間】: sets are sold within a sale period only; one per person in each
            # (販売期ごとに1人あたり…いずれか1回購入可).
            period = campaigns.sale_period(rule, offers.day)
            if period is None:
                raise Refused("not_in_sale_period", name=rule["name"], periods=", ".join(
                    f"{p['starts']}–{p['ends']}" for p in rule.get("sale_periods", [])))
            # 購入方法：ココクーポン専用アプリから購入: a campaign may sell onto app wallets
            # only (or cards only).
            kind = self._concrete(presented).kind
            if not campaigns.channel_allowed(rule, kind):
                raise Refused("app_only" if rule["channels"] == ["app"] else "card_only",
                              name=rule["name"])
            tx_id = ids.new_id()
            who, decision = self._identify_for_campaign(presented, tx_id, rule, offers)
            wallet_id = who.wallet_id
            view = self._checked_view(wallet_id)
            if not campaigns.within_limit(rule, view.usage.get(rule["id"]), offers.day):
                raise Refused("campaign_limit", name=rule["name"])
            value = chosen["common"] + chosen["exclusive"]
            cap = self.limits.wallet_balance_cap
            if view.total + value > cap:
                raise Refused("over_cap", cap=cap, room=max(0, cap - view.total))
            entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"], "set": price}
            if rule.get("sale_periods") is not None:
                entry["period"] = period
            # 約90,000セット(10,000円換算): a ¥5,000 set takes half a unit of the stock.
            units = campaigns.set_units(rule, price)
            if units != 1:
                entry["units"] = units
            self._main_unit(offers, rule, entry, units)
        except Refused as exc:
            self._refuse("charge", exc, wallet_id, price, "offline")
            self._release_claims()
            raise
        parts = [(pocket, amount, expires, classes) for pocket, amount, expires, classes in (
            ("premium_common", chosen["common"], rule.get("common_expires"), None),
            ("premium_exclusive", chosen["exclusive"], rule.get("exclusive_expires"),
             rule["exclusive_classes"])) if amount]
        paid = campaigns.split_paid(price, [part[1] for part in parts])
        # 利用期間：令和4年1月8日～: a set sold before the use period waits for it.
        usable_from = rule.get("use_starts") if (rule.get("use_starts") or "") > offers.day \
            else None
        lots = [bodies.new_lot("L-" + ids.new_id(), pocket, amount, cash, rule["funder"],
                               expires, classes, rule["id"], usable_from)
                for (pocket, amount, expires, classes), cash in zip(parts, paid, strict=True)]
        done = self._commit("charge", {"amount": price, "wallet": wallet_id, "lots": lots,
                                       "campaigns": [entry],
                                       "credential": who.credential}, tx_id)
        return Outcome("charge", done.seq, done.tx_id, price, wallet_id, "",
                       {lot["pocket"]: lot["amount"] for lot in lots}, view.total + value,
                       done.record, _named([entry], offers))

    def grant_campaign(self, presented: Presented, campaign_id: str) -> Outcome:
        """What a point-grant or ticket campaign gives for one action: e.g. 200 pt for a bus
        ride (at most twice a month), or 10 on-demand transit rides."""
        self.require("campaign_sale")
        wallet_id = None
        offers = self.offers()
        try:
            rule = self._campaign(offers, campaign_id, ("point_grant", "ticket"))
            tx_id = ids.new_id()
            wallet_id = self._identify_for_campaign(presented, tx_id, rule, offers)[0].wallet_id
            view = self._checked_view(wallet_id)
            if not campaigns.within_limit(rule, view.usage.get(rule["id"]), offers.day):
                raise Refused("campaign_limit", name=rule["name"])
            if rule["kind"] == "ticket":
                amount, pocket = rule["rides"], bodies.TICKET_POCKET
                entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"],
                                         "rides": amount}
            else:
                amount, pocket = rule["points"], "points"
                entry = {"campaign": rule["id"], "kind": rule["kind"], "points": amount}
            self._main_unit(offers, rule, entry)
        except Refused as exc:
            self._refuse("grant", exc, wallet_id, 0, "offline")
            self._release_claims()
            raise
        lot = bodies.new_lot("L-" + ids.new_id(), pocket, amount, 0, rule["funder"],
                             rule.get("expires"), campaign=rule["id"])
        done = self._commit("grant", {"amount": amount, "wallet": wallet_id, "lots": [lot],
                                      "campaigns": [entry]}, tx_id)
        after = self.view(wallet_id)
        return Outcome("grant", done.seq, done.tx_id, amount, wallet_id, "", {pocket: amount},
                       after.total, done.record, _named([entry], offers))

    def use_ticket(self, presented: Presented) -> Outcome:
        """One ride (or visit) from the wallet's tickets: scan and done, like a payment."""
        self.require("ride")
        wallet_id, decision = None, "offline"
        offers = self.offers()
        try:
            tx_id = ids.new_id()
            who, decision, _ = self._identify_online(presented, tx_id)
            wallet_id = who.wallet_id
            view = self._checked_view(wallet_id)
            today = self._today()
            usable = []
            for lot in view.lots:
                rule = offers.rule(lot.get("campaign") or "")
                if lot["pocket"] != bodies.TICKET_POCKET or lot["remaining"] <= 0 or \
                        rule is None or rule["kind"] != "ticket":
                    continue
                if lot["expires"] and date.fromisoformat(lot["expires"]) < today:
                    continue
                if campaigns.active(rule, offers.day, offers.merchant_id, offers.merchant_class):
                    usable.append((lot, rule))
            if not usable:
                raise Refused("no_tickets")
            lot, rule = min(usable, key=lambda pair: policy.draw_order(pair[0]))
        except Refused as exc:
            self._refuse("ticket", exc, wallet_id, 0, decision)
            raise
        body = {"wallet": wallet_id, "campaign": rule["id"], "decision": decision,
                "credential": who.credential, "ride_value": rule["ride_value"],
                "funder": rule["funder"],
                "lots": [{"lot": lot["lot"], "amount": 1, "pocket": bodies.TICKET_POCKET}]}
        done = self._commit("ticket", body, tx_id)
        left = view.rides.get(rule["id"], 0) - 1
        return Outcome("ticket", done.seq, done.tx_id, 1, wallet_id, decision,
                       {bodies.TICKET_POCKET: 1}, view.total, done.record,
                       [{"campaign": rule["id"], "kind": "ticket", "name": rule["name"],
                         "rides_left": left}])

    def exchange(self, presented: Presented, campaign_id: str, steps: int = 1) -> Outcome:
        """Turn points into voucher value at the campaign's rate (e.g. 1,000 pt → ¥1,000)."""
        self.require("campaign_sale")
        wallet_id = None
        offers = self.offers()
        try:
            if type(steps) is not int or not 1 <= steps <= policy.MAX_EXCHANGE_STEPS:
                raise Refused("bad_steps", max=policy.MAX_EXCHANGE_STEPS)
            rule = self._campaign(offers, campaign_id, ("exchange",))
            tx_id = ids.new_id()
            wallet_id = self._identify_for_campaign(presented, tx_id, rule, offers,
                                                    steps)[0].wallet_id
            view = self._checked_view(wallet_id)
            if not campaigns.within_limit(rule, view.usage.get(rule["id"]), offers.day,
                                          steps):
                raise Refused("campaign_limit", name=rule["name"])
            need, value = rule["points"] * steps, rule["value"] * steps
            points = [lot for lot in view.lots if lot["pocket"] == "points"]
            have = sum(lot["remaining"] for lot in points
                       if policy.usable_here({**lot, "classes": list(bodies.MERCHANT_CLASSES)},
                                             self.merchant_class, self._today()))
            if have < need:
                raise Refused("not_enough_points", need=need, have=have)
            cap = self.limits.wallet_balance_cap
            if view.total - need + value > cap:
                raise Refused("over_cap", cap=cap, room=max(0, cap - view.total))
            entry: dict[str, Any] = {"campaign": rule["id"], "kind": rule["kind"],
                                     "units": steps}
            self._main_unit(offers, rule, entry)
            if "lease" not in entry:
                del entry["units"]
            lines = policy.draw([{**lot, "classes": list(bodies.MERCHANT_CLASSES)}
                                 for lot in points], need, 0, self.merchant_class, self._today())
        except Refused as exc:
            self._refuse("exchange", exc, wallet_id, 0, "offline")
            self._release_claims()
            raise
        made = bodies.new_lot("L-" + ids.new_id(), rule["pocket"], value, 0, rule["funder"],
                              rule.get("expires"), rule.get("classes"), rule["id"])
        done = self._commit("exchange", {
            "wallet": wallet_id, "campaign": rule["id"], "points": need, "value": value,
            "lots": [{"lot": line["lot"], "amount": line["amount"], "pocket": "points"}
                     for line in lines], "grants": [made], "campaigns": [entry]}, tx_id)
        return Outcome("exchange", done.seq, done.tx_id, value, wallet_id, "",
                       {"points": -need, rule["pocket"]: value}, view.total - need + value,
                       done.record, _named([entry], offers))

    def _gift(self, offers: Offers, text: str) -> tuple[giftcodes.GiftCode, dict]:
        try:
            code = giftcodes.verify(text.strip(), self.journal.ledger_keys())
        except giftcodes.GiftCodeError as exc:
            raise Refused(exc.code) from exc
        rule = offers.rule(code.campaign)
        if rule is None or rule["kind"] != "gift_code":
            raise Refused("gift_unknown_campaign")
        if not campaigns.in_period(rule, offers.day):
            raise Refused("gift_expired")
        if self.journal.gift_taken(code.code_id):
            raise Refused("gift_used")
        return code, rule

    def pay_gift(self, code_text: str, amount: int, excluded: int = 0) -> Outcome:
        """A gift code spent at the counter: it pays up to its value, once; no change is
        given, and `rest` says what is left of the sale to pay another way."""
        self.require("pay", amount)
        offers = self.offers()
        try:
            policy.check_amount(amount)
            if type(excluded) is not int or not 0 <= excluded <= amount:
                raise Refused("bad_amount", max=amount)
            if excluded == amount:
                raise Refused("gift_excluded_only")
            code, rule = self._gift(offers, code_text)
            tx_id = ids.new_id()
            decision = self._claim_gift(code, tx_id)
        except Refused as exc:
            self._refuse("gift", exc, None, amount, "offline")
            raise
        paid = min(code.value, amount - excluded)
        body: dict[str, Any] = {"amount": paid, "decision": decision,
                                "gift": {"code": code.code_id, "campaign": rule["id"],
                                         "value": code.value, "funder": rule["funder"]}}
        if excluded:
            body["excluded"] = excluded
        done = self._commit("gift", body, tx_id)
        entry = {"campaign": rule["id"], "kind": "gift_code", "name": rule["name"],
                 "value": code.value, "unused": code.value - paid}
        outcome = Outcome("gift", done.seq, done.tx_id, paid, None, decision, {"gift": paid},
                          None, done.record, [entry], price=amount)
        outcome.rest = amount - paid
        return outcome

    def redeem_gift(self, presented: Presented, code_text: str) -> Outcome:
        """A gift code put into a wallet at a booth, as the campaign's voucher value."""
        self.require("campaign_sale")
        wallet_id = None
        offers = self.offers()
        try:
            code, rule = self._gift(offers, code_text)
            tx_id = ids.new_id()
            who, _, _ = self._identify_online(presented, tx_id, claim_token=False)
            wallet_id = who.wallet_id
            view = self._checked_view(wallet_id)
            cap = self.limits.wallet_balance_cap
            if view.total + code.value > cap:
                raise Refused("over_cap", cap=cap, room=max(0, cap - view.total))
            # The code is claimed last, once nothing else can refuse the grant (a booth
            # asks twice: a claimed code whose grant was refused would be lost).
            self._claim_gift(code, tx_id)
        except Refused as exc:
            self._refuse("grant", exc, wallet_id, 0, "offline")
            raise
        lot = bodies.new_lot("L-" + ids.new_id(), rule["pocket"], code.value, 0, rule["funder"],
                             rule.get("expires"), campaign=rule["id"])
        done = self._commit("grant", {"amount": code.value, "wallet": wallet_id, "lots": [lot],
                                      "gift": {"code": code.code_id, "campaign": rule["id"],
                                               "value": code.value}}, tx_id)
        return Outcome("grant", done.seq, done.tx_id, code.value, wallet_id, "",
                       {rule["pocket"]: code.value}, view.total + code.value, done.record,
                       [{"campaign": rule["id"], "kind": "gift_code", "name": rule["name"],
                         "value": code.value}])

    def issue_card(self, card_number: str, wallet_id: str | None = None,
                   age_band: str | None = None, area: str | None = None,
                   nfc_uid: str | None = None, pin: str | None = None,
                   pin_above: int = pins.DEFAULT_PIN_ABOVE) -> Outcome:
        """Put a new card on a new wallet (or an existing one, e.g. a replaced card), with
        the PIN its holder chose, if any (only its salted hash is kept)."""
        self.require("card_issue")
        try:
            number = cards.normalize(card_number)
        except cards.CardNumberError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        try:
            stored = pins.make(pin, pin_above) if pin else None
        except pins.PinError as exc:
            raise Refused("bad_pin", detail=str(exc)) from exc
        if self.state.card(number) is not None or self.journal.card_wallet(number):
            raise Refused("card_exists")
        new_wallet = wallet_id is None
        wallet_id = wallet_id or "W-" + ids.new_id()
        body: dict[str, Any] = {"card": number, "wallet": wallet_id, "new_wallet": new_wallet}
        for key, value in (("age_band", age_band), ("area", area), ("nfc_uid", nfc_uid),
                           ("pin", stored)):
            if value:
                body[key] = value
        done = self._commit("card_issue", body)
        return Outcome("card_issue", done.seq, done.tx_id, 0, wallet_id, "", {},
                       None, done.record)

    def balance(self, presented: Presented) -> tuple[WalletView, str]:
        """The wallet's value and how it is known ('online' fresh, or 'offline' snapshot)."""
        self.require("balance")
        try:
            who, decision, _ = self._identify_online(presented, ids.new_id(),
                                                     claim_token=False)
        except Refused as exc:
            self._refuse("balance", exc, None, 0, "offline")
            raise
        return self._with_rally(self.view(who.wallet_id)), decision

    def wallet_after(self, wallet_id: str | None) -> WalletView | None:
        """The wallet as this counter sees it now, with its stamp rally cards: what the
        customer display shows after a sale (each pocket, expiries, stamps). None for a
        transaction without a wallet (a gift code)."""
        if not wallet_id:
            return None
        return self._with_rally(self.view(wallet_id))

    def _with_rally(self, view: WalletView) -> WalletView:
        view.rally = self.rally_cards(view)
        return view

    def rally_cards(self, view: WalletView) -> list[dict[str, Any]]:
        """Each stamp rally the wallet has taken part in: its current card with the shops
        that stamped it, by name (「取得したスタンプには店舗名が表示されます」) where this
        terminal knows it (the rule's `shop_names`, or this shop's own name), else by id;
        the stamps that complete a card, and the completions so far."""
        offers = self.offers()
        own = self.merchant
        out = []
        for campaign_id, usage in sorted(view.usage.items()):
            rule = offers.rule(campaign_id)
            if rule is None or rule["kind"] != "stamp_rally":
                continue
            names = dict(rule.get("shop_names") or {})
            if own.get("merchant_id") and own.get("name"):
                names.setdefault(own["merchant_id"], own["name"])
            out.append({"campaign": campaign_id, "name": rule["name"],
                        "shops": [{"shop": shop, "name": names.get(shop, shop),
                                   "stamps": stamps}
                                  for shop, stamps in campaigns.rally_card(usage)],
                        "needed": rule["stamps_to_complete"],
                        "done": usage.get("done", 0),
                        "most": rule.get("max_completions")})
        return out

    def look_up_wallet(self, wallet_id: str) -> tuple[WalletView, str]:
        """An admin's look-up of a wallet by its id (the admin screen, behind its PIN; the
        command line of the terminal's own data directory): what it holds, read only. An id
        is no credential, so no service that moves value takes one."""
        self.require("lookup")
        wallet_id = wallet_id.strip() if isinstance(wallet_id, str) else ""
        if not bodies.ID_RE.fullmatch(wallet_id):
            raise Refused("bad_wallet_id")
        decision = self._refresh(wallet_id)
        return self._with_rally(self.view(wallet_id)), decision

    def _refresh(self, wallet_id: str) -> str:
        """The wallet as the ledger has it now, kept in the state: 'online', or 'offline'
        when the ledger does not answer in time (the snapshot stands)."""
        basis = self.journal.acked_seq()
        answer = self._ask({"tx": ids.new_id(), "wallet": wallet_id})
        if answer is None:
            return "offline"
        if answer.get("wallet") is not None:
            self._keep(self.state.apply_wallet_view, answer["wallet"],
                       answer["wallet"].get("basis_seq", basis))
        return "online"

    def cash_move(self, amount: int, direction: str, reason: str = "") -> Outcome:
        """Float put into or taken out of the booth's cash drawer."""
        policy.check_amount(amount)
        if direction not in ("in", "out"):
            raise Refused("bad_amount", max=policy.MAX_TRANSACTION_YEN)
        self.require("float_" + direction, amount)
        done = self._commit("cash_move", {"amount": amount, "direction": direction,
                                          "reason": reason[:200]})
        return Outcome("cash_move", done.seq, done.tx_id, amount, record=done.record)

    def close_day(self, counted: int | None = None, shift: bool = False,
                  approved_by: str | None = None, again: bool = False) -> tuple[Any, dict]:
        """The Z close (or a shift close, `shift`) as a staff action: it needs a manager, or
        a manager's approval, and ends the shift (whoever was signed in signs in again). Its
        record names who closed and who approved.

        A close on the calendar day of a Z (most often the Z pressed twice) needs a
        manager's approval given after it was refused: ApprovalNeeded `z_close_again`, its
        details naming the first close (`first_close`), even when a manager is signed in;
        approved, it closes the records since as another shift of that business day
        (terminal.tally.z_close). `again`: the approval was given for a second close
        knowingly (the CLI's --approver), not after a refusal. In first-setup mode (no staff
        yet) nobody can approve: `approved_by` (the CLI's --approved-by) stands for it."""
        from terminal import tally

        self.require("z_close")
        member, approver = self._who
        self._who = (None, None)
        check_closable(self.health)
        asked, self._close_again_asked = self._close_again_asked or again, False
        if self.staff.enforcing:
            approval = approver or self.staff.take_approval("z_close")
            approved_by = approval.staff_id if asked and approval is not None else None
        names = {"staff": member.staff_id} if member is not None else {}
        if approver is not None:
            names["approver"] = approver.staff_id
        try:
            done = tally.z_close(self.journal, counted, shift=shift, approved_by=approved_by,
                                 names=names)
        except tally.SecondClose as exc:
            if not self.staff.enforcing:
                raise
            self._close_again_asked = True
            needed = self.staff.asked(ApprovalNeeded("z_close", 0, "z_close_again"))
            needed.details["first_close"] = exc.first  # the window says it in its words
            needed.message += f" ({tally.describe_close(exc.first)})"
            self.staff.asked(needed)
            self._refuse("z_close", needed, None, 0, "offline")
            raise needed from exc
        self.staff.sign_out()  # a close ends the shift: the next one signs in
        return done

    # --- staff --------------------------------------------------------------------------

    def create_staff(self, name: str, role: str, pin: str) -> Outcome:
        """A staff member made by a manager at this counter (a shop with no ledger access):
        usable here at once, and sent to the ledger as a signed `staff` record. The first
        member of a shop with none yet must be a manager."""
        from terminal import staff as staff_rules

        if not self.staff.enforcing and role != "manager":
            raise Refused("bad_staff", detail="the first staff member is a manager")
        self.require("create_staff")
        if self.staff.pin_taken(pin):
            raise Refused("bad_staff", detail="another member of this shop has that PIN; "
                          "choose another")
        item = staff_rules.new_member(name, role, pin)
        was_training, self.staff.training = self.staff.training, False
        try:
            done = self._commit("staff", {"member": item})
        finally:
            self.staff.training = was_training
        self.staff.add_local(item)
        return Outcome("staff", done.seq, done.tx_id, 0, record=done.record)

    def set_training(self, on: bool) -> None:
        """Training mode (a manager's): sales are decided and printed as 練習 and kept as
        training records, never posted to wallets nor counted in tallies."""
        self.require("training")
        self._who = (None, None)
        self.staff.training = bool(on)
