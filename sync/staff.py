"""What the terminal and the ledger both know of staff limits: the per-merchant settings
(names as the merchant's config carries them) with their safe defaults, and which grants are
manual (capped per grant and per day at one terminal; the ledger checks both again)."""

from __future__ import annotations

from typing import Any

# Safe defaults until the ledger sends the merchant's own (its config, in the snapshot).
DEFAULT_STAFF_CONFIG = {
    "approve_refund_above": 3_000,  # yen: a refund above this needs a manager
    "approve_grant_above": 1_000,  # points: a manual grant above this needs a manager
    "grant_cap": 10_000,  # points: no manual grant above this, approved or not
    "grant_day_cap": 30_000,  # points: manual grants per calendar day at one terminal
    "staff_idle_s": 10 * 60,  # seconds without an action before a sign-in lapses
}


def staff_config(config: dict[str, Any] | None) -> dict[str, int]:
    """The merchant's staff settings: its own where they are whole numbers >= 0, else the
    defaults."""
    merged = dict(DEFAULT_STAFF_CONFIG)
    for key, value in (config or {}).items():
        if key in merged and type(value) is int and value >= 0:
            merged[key] = value
    return merged


def manual_grant(body: dict[str, Any]) -> bool:
    """A grant typed at the booth (Counter.grant): not a campaign's, not a gift code's."""
    return not body.get("campaigns") and "gift" not in body


def approval_wanted(rtype: str, body: dict[str, Any], config: dict[str, int],
                    before: int = 0, in_campaign: bool | None = None) -> str | None:
    """Why a record of `rtype` made by a member who is no manager must name a manager's
    approval, as the counter asks for one (terminal.staff.why_approval; keys of its WHY),
    or None. The ledger flags such a record naming no approver: it did not come through
    the counter's rules. `config`: the merchant's (staff_config); `before`: for a
    refund, what was given back of the same sale already (a refund in parts is judged by
    all it gives back); `in_campaign`: whether a manual grant's campaign runs at that shop
    that day (None: whether its lot names one)."""
    if rtype == "void":
        return "void"
    if rtype == "refund" and before + body.get("amount", 0) > config["approve_refund_above"]:
        return "refund"
    if rtype == "cash_move" and body.get("direction") == "out":
        return "float_out"
    if rtype == "day_close":
        return "z_close"
    if rtype == "grant" and manual_grant(body):
        if in_campaign is None:
            in_campaign = any(lot.get("campaign") for lot in body.get("lots", []))
        if not in_campaign:
            return "grant_outside"
        if body.get("amount", 0) > config["approve_grant_above"]:
            return "grant"
    return None


# The demo region's ready-made staff at every demo shop: (name, role, PIN). The PINs are
# shown on the demo's screen; a real shop's come from `ledger admin create-staff`.
DEMO_STAFF = (("店長 佐藤", "manager", "2580"), ("レジ 青木", "cashier", "1470"),
              ("窓口 鈴木", "booth", "3690"))
DEMO_MANAGER_PIN = DEMO_STAFF[0][2]
