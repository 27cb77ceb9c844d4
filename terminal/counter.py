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

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sync import bodies, cards, ids, tokens
from sync.client import LedgerClient, SyncError
from terminal import policy
from terminal.journal import Appended, Journal
from terminal.policy import Limits, Refused
from terminal.state import StateStore

log = logging.getLogger(__name__)

CREDENTIAL_KINDS = ("card", "nfc", "wallet", "app")
# After an online check fails, sales decide offline this long before asking again.
OFFLINE_QUIET_S = 10.0
MAX_CREDENTIAL_CHARS = 512


@dataclass(frozen=True)
class Presented:
    """What the customer showed: a printed card number, an NFC UID, an app QR token, or a
    wallet id."""

    kind: str
    value: str


@dataclass(frozen=True)
class Identified:
    wallet_id: str
    credential: dict[str, Any]  # as the record keeps it
    app_limit: int | None = None  # the app certificate's offline limit, for app tokens


@dataclass
class WalletView:
    wallet_id: str
    status: str
    status_reason: str
    lots: list[dict[str, Any]]
    debt: int
    offline_spent: int  # offline payments at this terminal since the snapshot

    @property
    def pockets(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for lot in self.lots:
            if lot["remaining"] > 0:
                out[lot["pocket"]] = out.get(lot["pocket"], 0) + lot["remaining"]
        return out

    @property
    def total(self) -> int:
        return sum(self.pockets.values())


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


class Counter:
    """One terminal's services over its journal, its snapshot and (when there) the ledger."""

    def __init__(self, journal: Journal, state: StateStore, client: LedgerClient | None = None,
                 on_commit: Callable[[Appended], None] | None = None,
                 today: Callable[[], date] | None = None) -> None:
        self.journal = journal
        self.state = state
        self.client = client
        self._on_commit = on_commit
        self._today = today or (lambda: journal._clock().date())
        self.tokens = tokens.TokenVerifier(journal.ledger_keys())
        self.online_hint = client is not None  # set False by the sync worker's status
        self._quiet_until = 0.0

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

    def _commit(self, rtype: str, body: dict[str, Any]) -> Appended:
        # The ledger posts only bodies that follow the shared rules; one that does not is a
        # bug here, and must stop before it is signed rather than be flagged at the ledger.
        bodies.check(rtype, body)
        done = self.journal.append(rtype, body)
        if self._on_commit is not None:
            self._on_commit(done)
        return done

    def _refuse(self, kind: str, exc: Refused, wallet_id: str | None, amount: int,
                decision: str) -> None:
        self.state.log_refusal(kind, wallet_id, amount, exc.code, decision)
        log.info("refused %s of %s for %s: %s (%s)", kind, amount, wallet_id, exc.code, decision)

    # --- who is paying --------------------------------------------------------------------

    def resolve(self, presented: Presented) -> str:
        """The wallet behind a credential; Refused when unknown or blocked."""
        return self.identify(presented).wallet_id

    def identify(self, presented: Presented) -> Identified:
        """Who is paying, how they showed it, and any offline limit their app carries."""
        value = presented.value.strip() if isinstance(presented.value, str) else ""
        if not value or len(value) > MAX_CREDENTIAL_CHARS or presented.kind not in \
                CREDENTIAL_KINDS:
            raise Refused("bad_credential", detail="empty or unknown kind")
        if presented.kind == "app":
            token = self._verify_token(value)
            cert = token.cert
            return Identified(cert.wallet_id, {"kind": "app", "id": cert.wallet_id,
                                               "device": cert.device_key.hex()[:16],
                                               "counter": token.counter}, cert.offline_limit)
        return Identified(self._wallet_of(presented.kind, value),
                          {"kind": presented.kind, "id": value})

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

    def _wallet_of(self, kind: str, value: str) -> str:
        if kind == "wallet":
            if not bodies.ID_RE.fullmatch(value):
                raise Refused("bad_credential", detail="not a wallet id")
            return value
        if kind == "nfc":
            found = self.state.card_by_nfc(value)
            if found is None:
                raise Refused("unknown_card")
            if found[2] != "active":
                raise Refused("card_blocked")
            return found[1]
        try:
            number = cards.normalize(value)
        except cards.CardNumberError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        found = self.state.card(number)
        if found is not None:
            if found[1] != "active":
                raise Refused("card_blocked")
            return found[0]
        local = self.journal.card_wallet(number)
        if local is None:
            raise Refused("unknown_card")
        return local

    # --- the wallet as this terminal sees it ----------------------------------------------

    def view(self, wallet_id: str) -> WalletView:
        snap = self.state.wallet(wallet_id)
        basis = snap.basis_seq if snap else 0
        lots = {lot["lot"]: dict(lot) for lot in (snap.lots if snap else [])}
        offline_spent, known = 0, snap is not None
        for _seq, kind, lot_id, amount, pocket, expires, classes, decision in \
                self.journal.effects_since(wallet_id, basis):
            known = True
            if kind == "spend" and decision == "offline":
                offline_spent += amount
            if kind != "lot":
                continue
            if lot_id in lots:
                lots[lot_id]["remaining"] += amount
            elif pocket is not None:
                lots[lot_id] = {"lot": lot_id, "pocket": pocket, "remaining": amount,
                                "expires": expires, "classes": json.loads(classes)}
        if not known:
            raise Refused("unknown_wallet")
        status = snap.status if snap else "active"
        return WalletView(wallet_id, status, "", list(lots.values()),
                          snap.debt if snap else 0, offline_spent)

    def _fresh(self, wallet_id: str) -> str:
        """Refresh the wallet from the ledger when it answers quickly; 'online' or 'offline'."""
        if self.client is None or not self.online_hint or time.monotonic() < self._quiet_until:
            return "offline"
        basis = self.journal.acked_seq()
        started = time.monotonic()
        try:
            fresh = self.client.wallet(wallet_id)
        except SyncError as exc:
            log.info("online check failed in %.0f ms: %s",
                     (time.monotonic() - started) * 1000, exc.message)
            if exc.code == "not_found":
                return "online"
            # One slow or failed check is enough: decide offline for a while.
            self._quiet_until = time.monotonic() + OFFLINE_QUIET_S
            return "offline"
        self.state.apply_wallet_view(fresh, basis)
        return "online"

    def _checked_view(self, wallet_id: str) -> WalletView:
        view = self.view(wallet_id)
        if view.status != "active":
            raise Refused("denied", detail=view.status_reason or view.status)
        if view.debt:
            raise Refused("denied", detail=f"owes ¥{view.debt:,}")
        return view

    # --- services -------------------------------------------------------------------------

    def pay(self, presented: Presented, amount: int, excluded: int = 0) -> Outcome:
        """Take a payment of `amount` yen; `excluded` yen of it may not be paid by vouchers."""
        wallet_id, decision = None, "offline"
        try:
            policy.check_amount(amount)
            if type(excluded) is not int or not 0 <= excluded <= amount:
                raise Refused("bad_amount", max=amount)
            who = self.identify(presented)
            wallet_id = who.wallet_id
            decision = self._fresh(wallet_id)
            view = self._checked_view(wallet_id)
            if decision == "offline":
                self._offline_limits(view, amount, who.app_limit)
            lines = policy.draw(view.lots, amount, excluded, self.merchant_class, self._today())
        except Refused as exc:
            self._refuse("payment", exc, wallet_id, amount, decision)
            raise
        body = {"amount": amount, "wallet": wallet_id, "decision": decision,
                "credential": who.credential,
                "lots": [{"lot": line["lot"], "amount": line["amount"], "pocket": line["pocket"]}
                         for line in lines]}
        if excluded:
            body["excluded"] = excluded
        done = self._commit("payment", body)
        paid_by: dict[str, int] = {}
        for line in lines:
            paid_by[line["pocket"]] = paid_by.get(line["pocket"], 0) + line["amount"]
        return Outcome("payment", done.seq, done.tx_id, amount, wallet_id, decision, paid_by,
                       view.total - amount, done.record)

    def _offline_limits(self, view: WalletView, amount: int, app_limit: int | None) -> None:
        limits = self.limits
        if app_limit is not None and view.offline_spent + amount > app_limit:
            raise Refused("over_app_limit", limit=app_limit,
                          left=max(0, app_limit - view.offline_spent))
        age = self.state.snapshot_age_s()
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
        `void` cancels the whole payment."""
        kind = "void" if void else "refund"
        try:
            original = self.journal.record_by_tx(tx_id)
            if original is None or original["type"] != "payment":
                raise Refused("not_found")
            paid = original["body"]["amount"]
            given = {}
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
        done = self._commit(kind, {"amount": amount, "wallet": wallet_id, "of": tx_id,
                                   "lots": lines})
        balance = self.view(wallet_id).total
        return Outcome(kind, done.seq, done.tx_id, amount, wallet_id, "", {}, balance,
                       done.record)

    def charge(self, presented: Presented, cash: int) -> Outcome:
        """Cash top-up: always allowed, offline too, up to the wallet balance cap."""
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
        lot = bodies.new_lot("L-" + ids.new_id(), "charged", cash, cash)
        done = self._commit("charge", {"amount": cash, "wallet": wallet_id, "lots": [lot]})
        return Outcome("charge", done.seq, done.tx_id, cash, wallet_id, "",
                       {"charged": cash}, view.total + cash, done.record)

    def grant(self, presented: Presented, points: int, funder: str,
              campaign: str | None = None, expires: str | None = None) -> Outcome:
        """Grant points (1 pt = ¥1) funded by `funder`, e.g. for a bus ride or volunteering."""
        policy.check_amount(points)
        wallet_id = self.resolve(presented)
        lot = bodies.new_lot("L-" + ids.new_id(), "points", points, 0, funder, expires,
                             campaign=campaign)
        try:
            bodies.check("grant", {"amount": points, "wallet": wallet_id, "lots": [lot]})
        except bodies.BodyError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        done = self._commit("grant", {"amount": points, "wallet": wallet_id, "lots": [lot]})
        return Outcome("grant", done.seq, done.tx_id, points, wallet_id, "",
                       {"points": points}, self.view(wallet_id).total, done.record)

    def issue_card(self, card_number: str, wallet_id: str | None = None,
                   age_band: str | None = None, area: str | None = None,
                   nfc_uid: str | None = None) -> Outcome:
        """Put a new card on a new wallet (or an existing one, e.g. a replaced card)."""
        try:
            number = cards.normalize(card_number)
        except cards.CardNumberError as exc:
            raise Refused("bad_credential", detail=str(exc)) from exc
        if self.state.card(number) is not None or self.journal.card_wallet(number):
            raise Refused("card_exists")
        new_wallet = wallet_id is None
        wallet_id = wallet_id or "W-" + ids.new_id()
        body: dict[str, Any] = {"card": number, "wallet": wallet_id, "new_wallet": new_wallet}
        for key, value in (("age_band", age_band), ("area", area), ("nfc_uid", nfc_uid)):
            if value:
                body[key] = value
        done = self._commit("card_issue", body)
        return Outcome("card_issue", done.seq, done.tx_id, 0, wallet_id, "", {},
                       None, done.record)

    def balance(self, presented: Presented) -> tuple[WalletView, str]:
        """The wallet's value and how it is known ('online' fresh, or 'offline' snapshot)."""
        wallet_id = self.resolve(presented)
        decision = self._fresh(wallet_id)
        return self.view(wallet_id), decision

    def cash_move(self, amount: int, direction: str, reason: str = "") -> Outcome:
        """Float put into or taken out of the booth's cash drawer."""
        policy.check_amount(amount)
        if direction not in ("in", "out"):
            raise Refused("bad_amount", max=policy.MAX_TRANSACTION_YEN)
        done = self._commit("cash_move", {"amount": amount, "direction": direction,
                                          "reason": reason[:200]})
        return Outcome("cash_move", done.seq, done.tx_id, amount, record=done.record)
