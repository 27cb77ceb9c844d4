"""Staff at the counter: who may do what, who is signed in, and what needs a manager.

The one table of roles and permissions (`PERMISSIONS`) and the approval rules live here, and
the counter's services ask `StaffDesk.require(action, amount)` before they decide anything,
so the window, the command line and a register driving the counter obey the same rules.

Staff come from the ledger's snapshot (`ledger admin create-staff`) and, for a shop with no
ledger access, from a manager at the counter (a signed `staff` record the ledger stores
too). Their PINs are salted scrypt hashes (sync.pins), sealed with the terminal's key as card
PINs are. A terminal whose merchant has no staff yet is in first-setup mode: nothing is
enforced until the first manager is created (at the ledger or at the counter).

Sign-in lasts until sign-out, a shift change (a Z close) or `staff_idle_s` without any
action. Wrong PINs in a row lock that member for `STAFF_LOCK_S`; the count is kept in
state.db so a restart does not reset it.

Approvals: `require` raises `ApprovalNeeded` when the action needs a manager and the one
signed in is not one; the window asks a manager's PIN on the same screen and calls
`approve(staff_id, pin)`, which holds that manager for the next action only. The record of
that action names the approver beside the staff member (`Counter._commit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync import bodies, ids, pins
from sync.staff import DEFAULT_STAFF_CONFIG, staff_config  # noqa: F401 - API
from terminal.policy import REASONS, Refused

ROLES = bodies.STAFF_ROLES
# Every action the counter's services and screens ask about.
ACTIONS = ("pay", "balance", "ride", "refund", "void", "charge", "card_issue", "grant",
           "campaign_sale", "float_in", "float_out", "x_report", "z_close", "reopen",
           "settings", "printer", "training", "create_staff", "lookup")
# Who may do what by role (a manager may do everything). What a role may not do at all is
# refused; what it may do up to a limit asks a manager beyond it (APPROVALS).
PERMISSIONS: dict[str, frozenset[str]] = {
    "cashier": frozenset({"pay", "balance", "ride", "refund", "x_report"}),
    "booth": frozenset({"balance", "charge", "card_issue", "grant", "campaign_sale",
                        "float_in", "x_report"}),
    "manager": frozenset(ACTIONS),
}
# Actions any member may ask for with a manager's PIN given on the same screen (a manager's
# own sign-in is the approval); the rest a role has not got are refused.
APPROVABLE = frozenset({"void", "float_out", "z_close", "reopen", "settings"})
# Wrong PINs in a row before a member is locked, and for how long.
MAX_STAFF_PIN_TRIES = 5
STAFF_LOCK_S = 15 * 60
# state.db meta keys: the ledger's staff (sealed PINs), staff made here, wrong-PIN counts,
# manual grant points per day.
STAFF_KEY = "staff"
LOCAL_STAFF_KEY = "staff_local"
TRIES_KEY = "staff_pin_tries"
GRANTS_KEY = "manual_grants_today"
# The admin screen's own wrong-PIN count, in TRIES_KEY (no staff id looks like it).
ADMIN_TRIES_ID = "*admin*"

REASONS.update({
    "not_signed_in": "Please sign in with your staff PIN first.",
    "not_allowed": "A {role} may not do this ({action}).",
    "approval_needed": "This needs a manager: {why}",
    "staff_pin_wrong": "That PIN is not right ({left} tries left).",
    "staff_locked": "Too many wrong PINs: {name} is locked for {minutes} minutes.",
    "staff_unknown": "No such staff member here.",
    "not_a_manager": "Only a manager can approve this.",
    "grant_over_cap": "One grant may be at most {cap:,} pt.",
    "grant_day_cap": "Grants here today may be at most {cap:,} pt ({left:,} pt left).",
    "bad_staff": "Staff: {detail}",
})


# Why an action needs a manager, by key (the window says them in its language).
WHY = {
    "void": "a void",
    "float_out": "cash out of the drawer",
    "z_close": "the Z close",
    "z_close_again": "closing a business day already closed (Z) again",
    "reopen": "reopening a closed day",
    "settings": "a change of settings",
    "refund": "a refund above ¥{limit:,}",
    "grant": "a grant above {limit:,} pt",
    "grant_outside": "a grant outside a running campaign",
}


class ApprovalNeeded(Refused):
    """The action needs a manager's PIN (`approve`), then the same action again. Details:
    `why` (English), `why_key` (a key of WHY) and its `limit`, `action`, `amount`."""

    code = "approval_needed"

    def __init__(self, action: str, amount: int, why_key: str, limit: int = 0) -> None:
        super().__init__("approval_needed", why=WHY[why_key].format(limit=limit))
        self.details.update(action=action, amount=amount, why_key=why_key, limit=limit)
        self.action = action
        self.amount = amount


@dataclass(frozen=True)
class Member:
    staff_id: str
    name: str
    role: str
    pin: dict[str, Any]  # sealed (sync.pins.seal)

    def public(self) -> dict[str, str]:
        return {"staff": self.staff_id, "name": self.name, "role": self.role}


def check_member(item: Any) -> dict[str, Any]:
    """A staff member as the snapshot and `staff` records carry it; BodyError (a
    ValueError) if it is not one."""
    bodies.check("staff", {"member": item})
    return item


def new_member(name: str, role: str, pin: str) -> dict[str, Any]:
    """A new member's entry (PIN hashed here; `above` is unused for staff and 0)."""
    try:
        stored = pins.make(pin, 0)
    except pins.PinError as exc:
        raise Refused("bad_staff", detail=str(exc)) from exc
    item = {"staff": "S-" + ids.new_id(), "name": name.strip(), "role": role, "pin": stored}
    try:
        return check_member(item)
    except ValueError as exc:
        raise Refused("bad_staff", detail=str(exc)) from exc


def sign_in_demo(desk: StaffDesk, role: str = "manager") -> Member:
    """Sign in the demo's ready-made member of `role` (sync.staff.DEMO_STAFF), for the
    demo's own drivers (simulate); Refused('staff_unknown') at a shop without them."""
    from sync.staff import DEMO_STAFF

    pins_by_name = {name: pin for name, r, pin in DEMO_STAFF if r == role}
    for member in desk.members().values():
        if member.role == role and member.name in pins_by_name:
            return desk.sign_in(member.staff_id, pins_by_name[member.name])
    raise Refused("staff_unknown")


class StaffDesk:
    """Who is signed in at one terminal and what they may do. `store` is the StateStore
    (meta get/put and its seal key); `now` gives Unix seconds (tests pass their own)."""

    def __init__(self, store, config: Callable[[], dict[str, Any]],
                 now: Callable[[], float] = time.time) -> None:
        self.store = store
        self._config = config
        self.now = now
        self.signed_in: Member | None = None
        self.last_action = 0.0
        # A manager's approval given (`approve`) and the action it was given for: (approver,
        # action, amount), the action None when approved with nothing asked (used up or
        # dropped by the next action, whatever it is).
        self._approval: tuple[Member, str | None, int] | None = None
        # The action last refused for want of an approval (ApprovalNeeded): (action, amount).
        self._asked: tuple[str, int] | None = None
        # A manager who signed in through the admin screen, and who was signed in before
        # (None: nobody): the counter is theirs again when the admin screen locks.
        self._handed_over: tuple[Member, Member | None] | None = None
        self.training = False

    # --- the staff list -------------------------------------------------------------------

    def members(self) -> dict[str, Member]:
        out: dict[str, Member] = {}
        for key in (LOCAL_STAFF_KEY, STAFF_KEY):  # the ledger's word last
            for item in self.store.get(key) or []:
                out[item["staff"]] = Member(item["staff"], item["name"], item["role"],
                                            item["pin"])
        return out

    def listing(self) -> list[dict[str, str]]:
        """Who can sign in, without their PINs, managers first then by name."""
        order = {role: i for i, role in enumerate(reversed(ROLES))}
        return [m.public() for m in sorted(self.members().values(),
                                           key=lambda m: (order[m.role], m.name))]

    @property
    def enforcing(self) -> bool:
        """False in first-setup mode (no staff yet): nothing is asked."""
        return bool(self.members())

    def pin_taken(self, pin: str) -> bool:
        """Whether a member of this shop already has `pin`: PINs are unique within a shop,
        or a cashier whose PIN is a manager's would open the admin screen as that manager
        (`unlock_admin` takes any manager's PIN)."""
        return any(pins.matches(pin, member.pin, self.store.pin_key)
                   for member in self.members().values())

    def add_local(self, item: dict[str, Any]) -> None:
        """Keep a member made at this counter (its PIN sealed) until the snapshot has it."""
        assert self.store.pin_key is not None, "staff PINs need the terminal's seal key"
        sealed = {**item, "pin": pins.seal(item["pin"], self.store.pin_key)}
        local = [m for m in self.store.get(LOCAL_STAFF_KEY) or [] if m["staff"] != item["staff"]]
        self.store.put(LOCAL_STAFF_KEY, local + [sealed])

    # --- PINs, lock-out -------------------------------------------------------------------

    def _check_pin(self, staff_id: str, pin: str) -> Member:
        member = self.members().get(staff_id)
        if member is None:
            raise Refused("staff_unknown")
        tries = self.store.get(TRIES_KEY) or {}
        mine = tries.get(staff_id, {"count": 0, "until": 0})
        now = self.now()
        if mine["until"] > now:
            raise Refused("staff_locked", name=member.name,
                          minutes=max(1, round((mine["until"] - now) / 60)))
        if pins.matches(pin, member.pin, self.store.pin_key):
            tries.pop(staff_id, None)
            self.store.put(TRIES_KEY, tries)
            return member
        count = mine["count"] + 1
        if count >= MAX_STAFF_PIN_TRIES:
            tries[staff_id] = {"count": 0, "until": now + STAFF_LOCK_S}
            self.store.put(TRIES_KEY, tries)
            raise Refused("staff_locked", name=member.name, minutes=STAFF_LOCK_S // 60)
        tries[staff_id] = {"count": count, "until": 0}
        self.store.put(TRIES_KEY, tries)
        raise Refused("staff_pin_wrong", left=MAX_STAFF_PIN_TRIES - count)

    def sign_in(self, staff_id: str, pin: str) -> Member:
        member = self._check_pin(staff_id, pin)
        self.signed_in, self._handed_over = member, None
        self.last_action = self.now()
        self._approval = self._asked = None
        return member

    def sign_out(self) -> None:
        """Sign-out, a shift change (Z close), or the window's idle lock."""
        self.signed_in = self._handed_over = None
        self._approval = self._asked = None

    def current(self) -> Member | None:
        """The member signed in, or None once the shop's idle time has passed."""
        if self.signed_in is not None and \
                self.now() - self.last_action > self.config["staff_idle_s"]:
            self.sign_out()
        return self.signed_in

    def asked(self, needed: ApprovalNeeded) -> ApprovalNeeded:
        """Note the action `needed` refused: a manager's PIN given next approves that one
        action, up to that amount, and nothing else."""
        self._asked = (needed.action, needed.amount)
        return needed

    def approve(self, staff_id: str, pin: str, action: str | None = None,
                amount: int = 0) -> Member:
        """A manager's PIN for the next action (only that one): the one last refused for
        want of it (`asked`), or `action` of up to `amount` when given (the command line's
        --approver, given before the action). An approval given for one action is dropped,
        unused, by any other action, or by the same action for a larger amount: a refund
        approved at ¥3,500 never approves a void of ¥50,000 later."""
        member = self._check_pin(staff_id, pin)
        if member.role != "manager":
            raise Refused("not_a_manager")
        bound = (action, amount) if action is not None else self._asked
        self._approval = (member, *bound) if bound else (member, None, 0)
        self._asked = None
        return member

    def _approval_for(self, action: str, amount: int) -> Member | None:
        """The pending approval if it was given for `action` of at least `amount`; it is
        taken either way (an approval is for the next action only)."""
        approval, self._approval = self._approval, None
        if approval is None:
            return None
        member, approved_action, approved_amount = approval
        if approved_action is not None and (approved_action != action
                                            or amount > approved_amount):
            return None
        return member

    def take_approval(self, action: str, amount: int = 0) -> Member | None:
        """The manager's approval given for `action` (of up to `amount`), used up here: for
        a step that needs one even from a manager (a second close of a day already closed).
        An approval given for anything else is dropped."""
        return self._approval_for(action, amount)

    def unlock_admin(self, pin: str) -> Member | None:
        """The admin screen's PIN: a manager's (the one signed in, if a manager is; else
        any manager's, who is then signed in: the manager takes over the counter while the
        admin screen is open, and what it does is theirs; `lock_admin` hands it back).
        Wrong PINs count against the admin screen itself (`ADMIN_TRIES_ID`) and lock it as
        a member's would; a manager locked out at sign-in is locked out here too. None in
        first-setup mode."""
        if not self.enforcing:
            return None
        me = self.current()
        if me is not None and me.role == "manager":
            return self._check_pin(me.staff_id, pin)
        tries = self.store.get(TRIES_KEY) or {}
        mine = tries.get(ADMIN_TRIES_ID, {"count": 0, "until": 0})
        now = self.now()
        if mine["until"] > now:
            raise Refused("staff_locked", name="admin",
                          minutes=max(1, round((mine["until"] - now) / 60)))
        for member in self.members().values():
            if member.role == "manager" and pins.matches(pin, member.pin, self.store.pin_key):
                locked = tries.get(member.staff_id, {}).get("until", 0)
                if locked > now:  # a member's lock-out holds here too
                    raise Refused("staff_locked", name=member.name,
                                  minutes=max(1, round((locked - now) / 60)))
                tries.pop(ADMIN_TRIES_ID, None)
                self.store.put(TRIES_KEY, tries)
                self._handed_over = (member, self.current())
                self.signed_in, self.last_action = member, self.now()
                self._approval = self._asked = None
                return member
        count = mine["count"] + 1
        if count >= MAX_STAFF_PIN_TRIES:
            tries[ADMIN_TRIES_ID] = {"count": 0, "until": now + STAFF_LOCK_S}
            self.store.put(TRIES_KEY, tries)
            raise Refused("staff_locked", name="admin", minutes=STAFF_LOCK_S // 60)
        tries[ADMIN_TRIES_ID] = {"count": count, "until": 0}
        self.store.put(TRIES_KEY, tries)
        raise Refused("staff_pin_wrong", left=MAX_STAFF_PIN_TRIES - count)

    def lock_admin(self) -> None:
        """The admin screen locked (left, or idle): a manager who signed in through it hands
        the counter back to whoever was signed in before (or signs out if nobody was), so
        the cashier who called the manager over does not go on with a manager's rights."""
        handed, self._handed_over = self._handed_over, None
        if handed is None or self.signed_in is None or \
                self.signed_in.staff_id != handed[0].staff_id:
            return
        self.signed_in, self.last_action = handed[1], self.now()
        self._approval = self._asked = None

    def view(self) -> dict[str, Any]:
        """What the screens show: who is signed in, who can sign in, the mode."""
        member = self.current()
        return {"signed_in": member.public() if member else None, "staff": self.listing(),
                "enforcing": self.enforcing, "training": self.training}

    # --- rules ----------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, int]:
        return staff_config(self._config())

    def why_approval(self, action: str, amount: int, in_campaign: bool = True,
                     before: int = 0) -> tuple[str, int] | None:
        """Why `action` of `amount` (yen or points) needs a manager, as (WHY key, limit),
        or None. `before`: what was refunded of the same sale already (a refund in parts
        is judged by all it gives back)."""
        config = self.config
        if action in APPROVABLE:
            return action, 0
        if action == "refund" and before + amount > config["approve_refund_above"]:
            return "refund", config["approve_refund_above"]
        if action == "grant":
            if not in_campaign:
                return "grant_outside", 0
            if amount > config["approve_grant_above"]:
                return "grant", config["approve_grant_above"]
        return None

    def require(self, action: str, amount: int = 0, in_campaign: bool = True,
                before: int = 0) -> tuple[Member | None, Member | None]:
        """Who does `action` and who approved it: (staff, approver), both None in
        first-setup mode. Raises Refused (not signed in, not this role's) or ApprovalNeeded.
        An approval given by `approve` is used up by the action it was given for. `before`:
        for a refund, what was given back of the same sale already."""
        assert action in ACTIONS, action
        if not self.enforcing:
            return None, None
        member = self.current()
        if member is None:
            raise Refused("not_signed_in")
        if action not in PERMISSIONS[member.role] and action not in APPROVABLE:
            raise Refused("not_allowed", role=member.role, action=action)
        self.last_action = self.now()
        why = self.why_approval(action, amount, in_campaign, before)
        approver = self._approval_for(action, amount)
        if why is None or member.role == "manager":
            if approver is not None and member.role == "manager":
                # kept for a step that needs one even from a manager (close_day)
                self._approval = (approver, action, amount)
            return member, None
        if approver is None:
            raise self.asked(ApprovalNeeded(action, amount, *why))
        return member, approver

    def check_grant_caps(self, points: int, day: str) -> None:
        """Refused above the per-grant cap or the day's cap at this terminal."""
        config = self.config
        if points > config["grant_cap"]:
            raise Refused("grant_over_cap", cap=config["grant_cap"])
        given = self.granted_today(day)
        if given + points > config["grant_day_cap"]:
            raise Refused("grant_day_cap", cap=config["grant_day_cap"],
                          left=max(0, config["grant_day_cap"] - given))

    def granted_today(self, day: str) -> int:
        kept = self.store.get(GRANTS_KEY) or {}
        return kept.get("points", 0) if kept.get("day") == day else 0

    def note_grant(self, points: int, day: str) -> None:
        self.store.put(GRANTS_KEY, {"day": day, "points": self.granted_today(day) + points})
