"""What a record did to value, derived from its body and kept beside it in the journal.

Each effect row is (kind, wallet, lot, card, amount, pocket, expires, classes, decision,
ref):

    lot    a lot's value moved by `amount` (negative: drawn by a payment; positive: given
           back by a refund or void, or a new lot made by a charge or grant, which carries
           its pocket, expiry and merchant classes
           and, in `ref`, the campaign that funded it)
    spend  a wallet paid `amount` at this terminal, decided `online` or `offline`
    card   a card was put on a wallet
    back   a refund or void gave `amount` back against the payment `ref` (its tx_id)
    camp   a campaign (in `lot`) did something for the wallet; `amount` units of the lease
           `ref` were spent on it (0 when it drew on no quantity; negative when a void gave
           its sale's units back)
    gift   the gift code in `card` was taken for `amount` yen

`Note` is the other kind of effect: what the counter tells the cashier about a sale's
campaigns (one that did not apply, and why; a void that keeps back granted value already
spent), as a code with its parameters. Only the receipt (terminal.receipt.NOTE_WORDS) and
the UI (terminal.ui.effectwords) put it in words; notes live in `counter.Outcome` only,
never in a signed record body, so old journals are untouched.

The terminal's view of a wallet is the ledger's snapshot plus the effects of its own
records the snapshot had not yet seen. A refund or void's lot rows (money back, positive;
grants taken back, negative) are folded together as the ledger posts them
(sync.givebacks). Bodies that break the rules yield no effects (the services never write
such bodies; the ledger flags them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sync import bodies, vocab

Effect = tuple[str, str, Any, Any, int, Any, Any, Any, Any, Any]

# Every note's code and the parameters it carries (`name`: the campaign's name, data in the
# town's words; yen and counts: integers, formatted by whoever words them).
NOTE_PARAMS: dict[str, tuple[str, ...]] = {
    "sold_out": ("name",),  # no unit of the campaign's quantity left at this terminal
    "wallet_limit": ("name",),  # the customer has had it as often as the rules allow
    "stamped_here": ("name",),  # the card already has this shop's stamp
    "rally_finished": ("name", "max"),  # completed the rally `max` times already
    # Not skips: the card completed but the prize waits for the ledger's confirmation.
    "completion_owed": ("name",),
    "completion_offline": ("name",),
    "diner_no_stamp": ("name", "share", "threshold"),  # yen a person under the threshold
    "diners_not_here": ("name",),  # only restaurants stamp the other diners' cards
    # A void of a sale whose granted value was partly spent (sync.givebacks): `yen` kept
    # from the money given back; `yen` more spent than given back, owed by the wallet.
    "grant_spent_kept": ("yen",),
    "grant_spent_owed": ("yen",),
}


@dataclass(frozen=True)
class Note:
    """What the cashier is told about a sale's campaigns: a code of NOTE_PARAMS and exactly
    its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.code in NOTE_PARAMS, f"unknown note {self.code!r}"
        assert set(self.params) == set(NOTE_PARAMS[self.code]), \
            f"note {self.code!r} takes {NOTE_PARAMS[self.code]}, not {sorted(self.params)}"

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}


def shown_params(note: Note) -> dict[str, str]:
    """The parameters as text to put into a template: yen and counts with thousands
    separators (「¥1,500」), names as they are."""
    return {key: f"{value:,}" if type(value) is int else str(value)
            for key, value in note.params.items()}

# Record types whose `campaigns` are entries a campaign made (a day close's `campaigns` is
# the day's per-campaign tally, not entries).
CAMPAIGN_RECORDS = vocab.CAMPAIGN_ENTRY_RECORD_TYPES


def _drawn(wallet: str, lines: list[dict]) -> list[Effect]:
    return [("lot", wallet, line["lot"], None, -line["amount"], None, None, None, None, None)
            for line in lines]


def _made(wallet: str, lines: list[dict]) -> list[Effect]:
    return [("lot", wallet, line["lot"], None, line["amount"], line["pocket"],
             line.get("expires"),
             json.dumps(line.get("classes", list(bodies.MERCHANT_CLASSES))), None,
             line.get("campaign"))
            for line in lines]


def _campaigns(wallet: str, body: dict) -> list[Effect]:
    out: list[Effect] = []
    for entry in body.get("campaigns", []):
        out += _campaign(wallet, entry)
    return out


def _diners(rtype: str, body: dict) -> list[Effect]:
    """The other diners a restaurant payment stamped (their own cards, their prizes), or
    what its void takes back from them: effects on their wallets."""
    out: list[Effect] = []
    for diner in bodies.diners(body):
        wallet = diner["wallet"]
        if rtype == "payment":
            out += _made(wallet, diner.get("grants", []))
        else:
            out += _drawn(wallet, diner.get("grants_back", []))
        out += _campaigns(wallet, diner)
    return out


def _campaign(wallet: str, entry: dict) -> list[Effect]:
    # A void's undone entry gives its sale's units back to the lease (negative use).
    sign = -1 if entry.get("undo") is True else 1
    out: list[Effect] = [("camp", wallet, entry["campaign"], None,
                          sign * entry.get("units", 1) if "lease" in entry else 0, None, None,
                          None, None, entry.get("lease"))]
    if "prize_lease" in entry:
        out.append(("camp", wallet, entry["campaign"], None, sign, None, None, None, None,
                    entry["prize_lease"]))
    return out


def of(rtype: str, body: dict) -> list[Effect]:
    if rtype == "training":  # a training sale moves nothing: no lot, no gift code, no use
        return []
    try:
        bodies.check(rtype, body)
    except bodies.BodyError:
        return []
    wallet = body.get("wallet", "")
    out: list[Effect] = []
    if rtype == "payment":
        out = _drawn(wallet, body["lots"]) + _made(wallet, body.get("grants", []))
        out.append(("spend", wallet, None, None, body["amount"], None, None, None,
                    body["decision"], None))
    elif rtype in ("refund", "void"):
        out = [("lot", wallet, line["lot"], None, line["amount"], None, None, None, None, None)
               for line in body["lots"]] + _drawn(wallet, body.get("grants_back", []))
        out.append(("back", wallet, None, None, body["amount"], None, None, None, None,
                    body["of"]))
    elif rtype in ("charge", "grant"):
        out = _made(wallet, body["lots"])
    elif rtype == "card_issue":
        out = [("card", wallet, None, body["card"], 0, None, None, None, None, None)]
    elif rtype == "ticket":
        out = _drawn(wallet, body["lots"])
    elif rtype == "exchange":
        out = _drawn(wallet, body["lots"]) + _made(wallet, body["grants"])
    if "gift" in body:
        out.append(("gift", wallet, None, body["gift"]["code"], body["gift"]["value"], None,
                    None, None, None, body["gift"]["campaign"]))
    if rtype in CAMPAIGN_RECORDS:
        out += _campaigns(wallet, body)
    if rtype in ("payment", "void", "refund"):
        out += _diners(rtype, body)
    return out
