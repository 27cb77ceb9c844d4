"""What a record did to value, derived from its body and kept beside it in the journal.

Each effect row is (kind, wallet, lot, card, amount, pocket, expires, classes, decision,
ref):

    lot    a lot's value moved by `amount` (negative: drawn by a payment; positive: given
           back by a refund or void, or a new lot made by a charge or grant, which carries
           its pocket, expiry and merchant classes)
    spend  a wallet paid `amount` at this terminal, decided `online` or `offline`
    card   a card was put on a wallet
    back   a refund or void gave `amount` back against the payment `ref` (its tx_id)

The terminal's view of a wallet is the ledger's snapshot plus the effects of its own
records the snapshot had not yet seen. Bodies that break the rules yield no effects (the
services never write such bodies; the ledger flags them).
"""

from __future__ import annotations

import json
from typing import Any

from sync import bodies

Effect = tuple[str, str, Any, Any, int, Any, Any, Any, Any, Any]


def of(rtype: str, body: dict) -> list[Effect]:
    try:
        bodies.check(rtype, body)
    except bodies.BodyError:
        return []
    wallet = body.get("wallet", "")
    if rtype == "payment":
        out: list[Effect] = [("lot", wallet, line["lot"], None, -line["amount"], None, None,
                              None, None, None) for line in body["lots"]]
        out.append(("spend", wallet, None, None, body["amount"], None, None, None,
                    body["decision"], None))
        return out
    if rtype in ("refund", "void"):
        out = [("lot", wallet, line["lot"], None, line["amount"], None, None, None, None, None)
               for line in body["lots"]]
        out.append(("back", wallet, None, None, body["amount"], None, None, None, None,
                    body["of"]))
        return out
    if rtype in ("charge", "grant"):
        return [("lot", wallet, line["lot"], None, line["amount"], line["pocket"],
                 line.get("expires"),
                 json.dumps(line.get("classes", list(bodies.MERCHANT_CLASSES))), None, None)
                for line in body["lots"]]
    if rtype == "card_issue":
        return [("card", wallet, None, body["card"], 0, None, None, None, None, None)]
    return []
