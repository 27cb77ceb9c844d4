"""The online check (DESIGN §6, §10): while a terminal reaches the ledger, the ledger decides.

One request per sale (`POST /v1/check`) carries what the customer showed and what the sale
would take, and the answer is authoritative:

- a card number or NFC UID is looked up now: its status (a card blocked a second ago is
  refused at once) and its wallet (a card issued since the terminal's last pull is found);
- the wallet's fresh balance, debt and campaign usage (as `GET /v1/wallets/{id}`);
- an app token's (device, counter) is claimed for the sale's tx: one token pays once in the
  whole region (`token_uses`);
- a gift code is claimed for the sale's tx (`gift_codes.used_tx`): a used code is refused at
  every terminal;
- a per-wallet campaign use (one voucher set per person) is counted against the wallet's
  limit together with the uses other online booths claimed whose records have not arrived
  yet (`campaign_claims`), and claimed when within it.

Claims are made only for a credential the ledger accepts (a known, active card; a known
wallet that is not denied). A claim is made for the terminal and the tx id the sale will
carry, so the record of that very sale is not "a second use" when it arrives (ingest:
ledger.postings); asking again for the same tx answers the same. A campaign claim stops
counting when its record arrives (the use is then in the wallet's usage), when the terminal
releases it (`release`: the sale was refused after its check), or after
`CAMPAIGN_CLAIM_TTL_S` (a terminal that went offline after its check and never came back).
"""

from __future__ import annotations

import json
from typing import Any

from ledger import service
from ledger.db import Connection, Database
from ledger.schema import now_us
from ledger.service import LedgerError
from sync import campaigns, wire

# A campaign claim whose record has not arrived within this long stops counting. A sale
# refused after its check is released at once by its terminal; a claim that is neither
# released nor followed by its record belongs to a terminal that went offline right after
# the check, and such a terminal keeps selling offline on a snapshot up to three days old
# (terminal.policy's max_snapshot_age_s): the claim holds that long, so a second booth
# cannot sell the second set meanwhile.
CAMPAIGN_CLAIM_TTL_S = 3 * 24 * 3600
# Answers to the claims a check may ask for.
TOKEN_FRESH, TOKEN_USED = "fresh", "used"
GIFT_CLAIMED, GIFT_USED, GIFT_UNKNOWN = "claimed", "used", "unknown"
CAMPAIGN_CLAIMED, CAMPAIGN_LIMIT = "claimed", "limit"
# A claim not made because the credential was refused (unknown or blocked card, unknown or
# denied wallet): the terminal refuses the sale for that.
NOT_ASKED = "not_checked"


def _card(conn: Connection, card: str | None, nfc: str | None) -> dict | None:
    """The card as a snapshot page has it, by number or NFC UID; None when unknown."""
    column, value = ("card_id", card) if card is not None else ("nfc_uid", nfc)
    row = conn.one(f"SELECT card_id, wallet_id, status, nfc_uid, version, pin FROM cards "
                   f"WHERE {column} = ?", (value,))
    if row is None:
        return None
    return service.card_view(row)


def check(db: Database, terminal_id: str, question: dict[str, Any]) -> dict[str, Any]:
    """Answer one online check (fields as `ledger.app.OnlineCheck`), in the shape
    sync.wire.CheckAnswer."""
    return dict(wire.check_check_answer(_check(db, terminal_id, question)))


def _check(db: Database, terminal_id: str, question: dict[str, Any]) -> dict[str, Any]:
    tx_id = question["tx"]
    answer: dict[str, Any] = {"tx": tx_id}
    wallet_id = question.get("wallet")
    with db.reading(snapshot=True) as conn:
        if question.get("card") is not None or question.get("nfc") is not None:
            card = _card(conn, question.get("card"), question.get("nfc"))
            answer["card"] = card
            wallet_id = card["wallet"] if card else None
        view = service.read_wallet(conn, wallet_id, terminal_id) if wallet_id else None
    answer["wallet"] = view
    card = answer.get("card")
    accepted = view is not None and view["status"] == "active" and not view["debt"] and (
        "card" not in answer or (card is not None and card["status"] == "active"))
    claims = [name for name in ("token", "gift", "campaign") if question.get(name) is not None]
    shown = any(question.get(name) is not None for name in ("wallet", "card", "nfc"))
    if not shown and (question.get("token") is not None or
                      question.get("campaign") is not None):
        raise LedgerError("a token or campaign claim needs the wallet or card it is for", 400,
                          "invalid")
    if not claims:
        return answer
    if shown and not accepted:
        # Claims are made only for a credential the ledger accepts (a gift code paid on its
        # own shows none).
        answer.update({name: NOT_ASKED for name in claims})
        return answer
    answer.update(db.transaction(
        lambda conn: _claim(conn, terminal_id, tx_id, wallet_id, question)))
    return answer


def _claim(conn: Connection, terminal_id: str, tx_id: str, wallet_id: str | None,
           question: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    now = now_us()
    token = question.get("token")
    if token is not None:
        assert wallet_id is not None
        out["token"] = _claim_token(conn, terminal_id, tx_id, wallet_id, token, now)
    if question.get("gift") is not None:
        out["gift"] = _claim_gift(conn, terminal_id, tx_id, question["gift"], now)
    campaign = question.get("campaign")
    if campaign is not None:
        assert wallet_id is not None
        out["campaign"] = _claim_campaign(conn, terminal_id, tx_id, wallet_id, campaign, now)
    return out


def _claim_token(conn: Connection, terminal_id: str, tx_id: str, wallet_id: str,
                 token: dict[str, Any], now: int) -> str:
    device, counter = token["device"], token["counter"]
    conn.insert_new("token_uses", ("device", "counter", "wallet_id", "terminal_id", "tx_id",
                                   "created_us"), ("TEXT", "BIGINT", "TEXT", "TEXT", "TEXT",
                                                   "BIGINT"), ("device", "counter"),
                    [(device, counter, wallet_id, terminal_id, tx_id, now)])
    row = conn.one("SELECT terminal_id, tx_id FROM token_uses WHERE device = ? AND counter = ?",
                   (device, counter))
    return TOKEN_FRESH if row == (terminal_id, tx_id) else TOKEN_USED


def _claim_gift(conn: Connection, terminal_id: str, tx_id: str, code_id: str,
                now: int) -> str:
    conn.execute("UPDATE gift_codes SET used_tx = ?, used_terminal = ?, used_us = ? "
                 "WHERE code_id = ? AND used_tx IS NULL", (tx_id, terminal_id, now, code_id))
    row = conn.one("SELECT used_tx, used_terminal FROM gift_codes WHERE code_id = ?",
                   (code_id,))
    if row is None:
        return GIFT_UNKNOWN
    return GIFT_CLAIMED if row == (tx_id, terminal_id) else GIFT_USED


def _claim_campaign(conn: Connection, terminal_id: str, tx_id: str, wallet_id: str,
                    asked: dict[str, Any], now: int) -> str:
    """Within the wallet's limit (its usage plus the live claims of other sales): claimed.
    The wallet's row is locked first, as ingest locks it before it folds usage, so two
    booths asking at once are answered one after the other."""
    campaign_id, day, units = asked["id"], asked["day"], asked["units"]
    text = conn.value("SELECT rules FROM campaigns WHERE campaign_id = ?", (campaign_id,))
    if text is None:
        raise LedgerError(f"no campaign {campaign_id}", 404, "not_found")
    rule = json.loads(text)
    conn.one(f"SELECT 1 FROM wallets WHERE wallet_id = ?{conn.for_update}", (wallet_id,))
    mine = conn.one("SELECT terminal_id FROM campaign_claims WHERE tx_id = ?", (tx_id,))
    if mine is not None:  # asked again for the same sale
        return CAMPAIGN_CLAIMED if mine[0] == terminal_id else CAMPAIGN_LIMIT
    limit = rule.get("per_wallet")
    if limit is not None:
        state = conn.value("SELECT state FROM campaign_usage WHERE campaign_id = ? AND "
                           "wallet_id = ?", (campaign_id, wallet_id))
        usage = json.loads(state) if state else None
        # The period the limit counts in: a month, a day, or a voucher's sale period
        # (販売期ごとに1人あたり…1回購入可: one set per person in each sale period).
        period = campaigns.limit_period(rule, day)
        pending = sum(1 for (claimed_day,) in conn.all(
            "SELECT day FROM campaign_claims WHERE wallet_id = ? AND campaign_id = ? AND "
            "created_us > ?", (wallet_id, campaign_id, now - CAMPAIGN_CLAIM_TTL_S * 1_000_000))
            if campaigns.limit_period(rule, claimed_day) == period)
        if not campaigns.within_limit(rule, usage, day, units + pending):
            return CAMPAIGN_LIMIT
    conn.execute("INSERT INTO campaign_claims (tx_id, campaign_id, wallet_id, terminal_id, day, "
                 "units, created_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (tx_id, campaign_id, wallet_id, terminal_id, day, units, now))
    return CAMPAIGN_CLAIMED


def release(db: Database, terminal_id: str, tx_id: str) -> dict[str, Any]:
    """The sale `tx_id` of this terminal was refused after its check: its campaign claim no
    longer counts against the wallet's limit, and a gift code it claimed is free again (a
    sale refused at its last step, a full disk, must not use up the customer's code). A
    sale whose record the ledger holds is not refused: its gift code stays taken.
    Releasing again changes nothing."""

    def work(conn: Connection) -> int:
        before = conn.value("SELECT count(*) FROM campaign_claims WHERE tx_id = ? AND "
                            "terminal_id = ?", (tx_id, terminal_id))
        conn.execute("DELETE FROM campaign_claims WHERE tx_id = ? AND terminal_id = ?",
                     (tx_id, terminal_id))
        gifts = 0
        if conn.one("SELECT 1 FROM records WHERE tx_id = ?", (tx_id,)) is None:
            gifts = conn.value("SELECT count(*) FROM gift_codes WHERE used_tx = ? AND "
                               "used_terminal = ?", (tx_id, terminal_id))
            conn.execute("UPDATE gift_codes SET used_tx = NULL, used_terminal = NULL, "
                         "used_us = NULL WHERE used_tx = ? AND used_terminal = ?",
                         (tx_id, terminal_id))
        return int(before or 0) + int(gifts or 0)

    return dict(wire.check_release_answer({"tx": tx_id, "released": db.transaction(work)}))
