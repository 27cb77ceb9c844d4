"""Staff at the counter (terminal.staff): roles enforced in the core, sign-in with a PIN and
lock-out kept across a restart, idle sign-out, approvals by a manager's PIN, manual grant
caps, records naming staff and approver, training records. Real journal and state files."""

from __future__ import annotations

import pytest

from sync import bodies, pins, record
from terminal import staff as staff_rules
from terminal.counter import Counter, Presented
from terminal.policy import Refused
from terminal.staff import ApprovalNeeded, StaffDesk
from terminal.state import StateStore
from tests.terminal.test_campaigns import Till, card_of, cash, wallet

PINS = {"manager": "4711", "cashier": "1234", "booth": "5678"}


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def staffed_till(tmp_path, config=None, balance=20_000):
    """A till whose merchant has a manager, a cashier and a booth member (the snapshot's),
    and one wallet holding `balance` yen."""
    till = Till(tmp_path)
    till.state.put("merchant", {"merchant_id": "M-A", "class": "small",
                                "config": config or {}})
    members = [{"staff": f"S-{role}", "name": role.title(), "role": role,
                "pin": pins.make(pin, 0)} for role, pin in PINS.items()]
    till.snapshot(wallets=[wallet([cash(balance)])])
    till.state.apply_snapshot({"cursor": "c2", "server_time_ms": int(
        till.clock().timestamp() * 1000), "staff": members}, till.journal.last_seq)
    clock = Clock()
    till.counter.staff.now = clock
    return till, clock


def customer(till):
    from tests.terminal.test_campaigns import WALLET

    return Presented("card", card_of(WALLET))


def code_of(call) -> str:
    with pytest.raises(Refused) as info:
        call()
    return info.value.code


def test_roles_are_enforced_in_the_core(tmp_path):
    """The cashier pays and checks balances but may not top up or grant; the booth tops up
    and grants but may not take a payment; nobody acts before signing in."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    assert code_of(lambda: c.pay(customer(till), 500)) == "not_signed_in"
    c.staff.sign_in("S-cashier", PINS["cashier"])
    done = c.pay(customer(till), 500)
    assert done.record["body"]["staff"] == "S-cashier" and "approver" not in done.record["body"]
    assert code_of(lambda: c.charge(customer(till), 1_000)) == "not_allowed"
    assert code_of(lambda: c.grant(customer(till), 100, "town")) == "not_allowed"
    c.staff.sign_out()
    c.staff.sign_in("S-booth", PINS["booth"])
    assert c.charge(customer(till), 1_000).record["body"]["staff"] == "S-booth"
    assert code_of(lambda: c.pay(customer(till), 500)) == "not_allowed"
    # the refusals are in the refusal log too
    assert {"not_signed_in", "not_allowed"} <= {row[4] for row in till.state.refusals()}


def test_first_setup_mode_until_the_first_manager(tmp_path):
    """A merchant with no staff yet: nothing is asked, records name nobody (as before); the
    first member made at the counter must be a manager, and from then on sign-in counts."""
    till = Till(tmp_path)
    till.snapshot(wallets=[wallet([cash(5_000)])])
    c = till.counter
    assert not c.staff.enforcing
    assert "staff" not in c.pay(customer(till), 100).record["body"]
    assert code_of(lambda: c.create_staff("Aoki", "cashier", "1111")) == "bad_staff"
    made = c.create_staff("Sato", "manager", "2222")
    member = made.record["body"]["member"]
    assert made.record["type"] == "staff" and member["role"] == "manager"
    assert "2222" not in str(made.record)
    assert c.staff.enforcing
    assert code_of(lambda: c.pay(customer(till), 100)) == "not_signed_in"
    c.staff.sign_in(member["staff"], "2222")
    cashier = c.create_staff("Aoki", "cashier", "1111").record
    assert cashier["body"]["staff"] == member["staff"]  # made by the manager signed in
    # PINs are unique in a shop: a cashier with the manager's PIN would open the admin
    # screen as the manager (it takes any manager's PIN)
    seq = till.journal.last_seq
    assert code_of(lambda: c.create_staff("Ito", "cashier", "2222")) == "bad_staff"
    assert till.journal.last_seq == seq


def test_wrong_pins_lock_the_member_across_a_restart(tmp_path):
    """MAX_STAFF_PIN_TRIES wrong PINs lock that member (not the others) for STAFF_LOCK_S;
    the count is in state.db, so a new Counter on the same files still refuses."""
    till, clock = staffed_till(tmp_path)
    desk = till.counter.staff
    for _ in range(staff_rules.MAX_STAFF_PIN_TRIES - 1):
        with pytest.raises(Refused) as info:
            desk.sign_in("S-cashier", "0000")
        assert info.value.code == "staff_pin_wrong"
    assert info.value.details["left"] == 1
    assert code_of(lambda: desk.sign_in("S-cashier", "0000")) == "staff_locked"
    again = Counter(till.journal, StateStore(till.dir, till.state.pin_key))
    again.staff.now = clock
    assert code_of(lambda: again.staff.sign_in("S-cashier", PINS["cashier"])) == \
        "staff_locked"
    again.staff.sign_in("S-booth", PINS["booth"])  # only that member is locked
    clock.t += staff_rules.STAFF_LOCK_S + 1
    assert again.staff.sign_in("S-cashier", PINS["cashier"]).role == "cashier"


def test_sign_in_lapses_after_the_shops_idle_time(tmp_path):
    """staff_idle_s from the merchant's config (here 120 s): an action at 119 s keeps the
    sign-in; 121 s after the last action it has lapsed."""
    till, clock = staffed_till(tmp_path, {"staff_idle_s": 120})
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    clock.t += 119
    c.pay(customer(till), 100)
    clock.t += 121
    assert code_of(lambda: c.pay(customer(till), 100)) == "not_signed_in"


def test_approvals_by_a_managers_pin(tmp_path):
    """Defaults: a refund above ¥3,000 and every void need a manager. The cashier's refund
    of ¥3,000 goes through; ¥3,001 asks; a wrong PIN or a non-manager's does not approve;
    the manager's PIN approves that one action, named as approver in its record."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    sale = c.pay(customer(till), 9_000)
    small = c.refund(sale.tx_id, 3_000)
    assert "approver" not in small.record["body"]
    with pytest.raises(ApprovalNeeded) as info:
        c.refund(sale.tx_id, 3_001)
    assert info.value.details["action"] == "refund" and info.value.details["amount"] == 3_001
    assert code_of(lambda: c.staff.approve("S-booth", PINS["booth"])) == "not_a_manager"
    assert code_of(lambda: c.staff.approve("S-manager", "9999")) == "staff_pin_wrong"
    c.staff.approve("S-manager", PINS["manager"])
    big = c.refund(sale.tx_id, 3_001)
    assert big.record["body"]["staff"] == "S-cashier"
    assert big.record["body"]["approver"] == "S-manager"
    # used up: the void of another sale asks again
    other = c.pay(customer(till), 100)
    with pytest.raises(ApprovalNeeded):
        c.refund(other.tx_id, void=True)
    c.staff.approve("S-manager", PINS["manager"])
    assert c.refund(other.tx_id, void=True).record["body"]["approver"] == "S-manager"


def test_manual_grant_limits_and_caps(tmp_path):
    """Merchant's settings: 5,000 pt per grant, 6,000 pt a day. A manual grant outside a
    running campaign always asks a manager; 5,001 pt is refused even approved; after
    1,000 + 4,000 = 5,000 pt today only 1,000 pt are left; a manager signed in needs no
    second PIN, and the caps hold for the manager too."""
    till, _ = staffed_till(tmp_path, {"grant_cap": 5_000, "grant_day_cap": 6_000})
    c = till.counter
    c.staff.sign_in("S-booth", PINS["booth"])
    with pytest.raises(ApprovalNeeded) as info:
        c.grant(customer(till), 1_000, "town", "bus")  # no campaign "bus" runs here
    assert "outside a running campaign" in info.value.message
    c.staff.approve("S-manager", PINS["manager"])
    assert c.grant(customer(till), 1_000, "town").record["body"]["approver"] == "S-manager"
    c.staff.approve("S-manager", PINS["manager"])
    assert code_of(lambda: c.grant(customer(till), 5_001, "town")) == "grant_over_cap"
    c.staff.approve("S-manager", PINS["manager"])
    c.grant(customer(till), 4_000, "town")
    c.staff.sign_out()
    c.staff.sign_in("S-manager", PINS["manager"])
    with pytest.raises(Refused) as info:
        c.grant(customer(till), 1_001, "town")
    assert info.value.code == "grant_day_cap" and info.value.details["left"] == 1_000
    assert "approver" not in c.grant(customer(till), 1_000, "town").record["body"]


def test_manager_only_actions(tmp_path):
    """Float out asks for a manager; a cashier cannot switch training mode on at all."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-booth", PINS["booth"])
    c.cash_move(5_000, "in")
    with pytest.raises(ApprovalNeeded):
        c.cash_move(1_000, "out")
    c.staff.sign_out()
    c.staff.sign_in("S-cashier", PINS["cashier"])
    assert code_of(lambda: c.set_training(True)) == "not_allowed"


def test_training_sales_are_training_records(tmp_path):
    """In training mode a payment is decided as usual but kept as a `training` record: no
    wallet effect (the balance stays ¥20,000), no payment in the totals."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-manager", PINS["manager"])
    c.set_training(True)
    done = c.pay(customer(till), 700)
    assert done.record["type"] == "training" and done.record["body"]["kind"] == "payment"
    assert done.record["body"]["staff"] == "S-manager"
    assert c.view(c.resolve(customer(till))).total == 20_000
    assert "payment" not in till.journal.totals
    c.set_training(False)
    assert c.pay(customer(till), 700).record["type"] == "payment"


def test_bodies_check_staff_fields():
    """`staff` and `approver` are ids when present; a body without them still passes."""
    body = {"amount": 100, "direction": "in"}
    bodies.check("cash_move", body)
    bodies.check("cash_move", {**body, "staff": "S-1", "approver": "S-2"})
    for bad in ({"staff": ""}, {"approver": 5}, {"staff": "a b"}):
        with pytest.raises(bodies.BodyError):
            bodies.check("cash_move", {**body, **bad})
    assert "staff" in record.RECORD_TYPES
    with pytest.raises(bodies.BodyError):
        bodies.check("staff", {"member": {"staff": "S-1", "name": "A", "role": "owner",
                                          "pin": pins.make("1234", 0)}})


def test_desk_listing_hides_pins(tmp_path):
    till, _ = staffed_till(tmp_path)
    listing = StaffDesk.listing(till.counter.staff)
    assert [m["role"] for m in listing] == ["manager", "booth", "cashier"]
    assert all(set(m) == {"staff", "name", "role"} for m in listing)


def test_the_day_by_staff_member_adds_up_to_the_sheet(tmp_path):
    """Cashier: ¥500 + ¥300 paid, a ¥100 refund; booth: a ¥1,000 top-up; manager: a
    ¥3,500 refund of the ¥5,000 sale (no approval asked of a manager), and a training
    sale that is in no line. By staff, payments add up to ¥5,800 as on the sheet."""
    from terminal import tally

    till, _ = staffed_till(tmp_path, balance=30_000)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    first_sale = c.pay(customer(till), 500)
    c.pay(customer(till), 300)
    c.refund(first_sale.tx_id, 100)
    c.staff.sign_in("S-booth", PINS["booth"])
    c.charge(customer(till), 1_000)
    c.staff.sign_in("S-manager", PINS["manager"])
    big = c.pay(customer(till), 5_000)
    c.refund(big.tx_id, 3_500)
    c.set_training(True)
    c.pay(customer(till), 900)
    table = tally.by_staff(tally.day_records(till.journal))
    assert table["S-cashier"]["payment"] == {"n": 2, "yen": 800, "approved": 0}
    assert table["S-cashier"]["refund"] == {"n": 1, "yen": 100, "approved": 0}
    assert table["S-booth"] == {"charge": {"n": 1, "yen": 1_000, "approved": 0}}
    assert table["S-manager"]["refund"]["yen"] == 3_500
    sheet = tally.x_report(till.journal)
    for rtype in ("payment", "refund", "charge"):
        assert sum(t.get(rtype, {}).get("yen", 0) for t in table.values()) == sheet.yen[rtype]
    assert sheet.yen["payment"] == 5_800 and sheet.counts["training"] == 1
    rows = tally.staff_rows(table, {"S-cashier": "Cashier"}, "en")
    assert ("Cashier", "Payments", 2, 800, 0) in rows


def test_the_admin_screen_takes_a_managers_pin_only(tmp_path):
    """A cashier's PIN does not open it; a manager's does and signs that manager in; wrong
    PINs lock the admin screen itself after MAX_STAFF_PIN_TRIES (kept in state.db)."""
    till, clock = staffed_till(tmp_path)
    desk = till.counter.staff
    desk.sign_in("S-cashier", PINS["cashier"])
    assert code_of(lambda: desk.unlock_admin(PINS["cashier"])) == "staff_pin_wrong"
    assert desk.unlock_admin(PINS["manager"]).role == "manager"
    assert desk.current().staff_id == "S-manager"
    desk.sign_out()
    for _ in range(staff_rules.MAX_STAFF_PIN_TRIES - 1):
        assert code_of(lambda: desk.unlock_admin("0000")) == "staff_pin_wrong"
    assert code_of(lambda: desk.unlock_admin("0000")) == "staff_locked"
    assert code_of(lambda: desk.unlock_admin(PINS["manager"])) == "staff_locked"
    clock.t += staff_rules.STAFF_LOCK_S + 1
    assert desk.unlock_admin(PINS["manager"]).role == "manager"


def test_the_z_close_is_a_managers_and_a_second_one_needs_an_approval(tmp_path):
    """A cashier's Z needs a manager's PIN; the close names both and signs the cashier out
    (a close ends the shift). The Z pressed again the same day is refused
    `approval_needed` saying what the first covered, even for the manager signed in, and
    nothing is written; the manager's PIN given after that refusal closes the sales since
    as shift 2 of the same business day, naming the approver."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    c.pay(customer(till), 600)
    with pytest.raises(ApprovalNeeded):
        c.close_day(600)
    c.staff.approve("S-manager", PINS["manager"])
    sheet, first = c.close_day(600)
    assert (first["body"]["staff"], first["body"]["approver"]) == ("S-cashier", "S-manager")
    assert c.staff.current() is None  # the shift is over
    c.staff.sign_in("S-manager", PINS["manager"])
    seq = till.journal.last_seq
    with pytest.raises(ApprovalNeeded) as info:
        c.close_day(0)
    assert info.value.details["why_key"] == "z_close_again"
    assert f"seq {first['body']['first_seq']}..{first['body']['last_seq']}" in \
        info.value.message
    assert till.journal.last_seq == seq  # nothing written
    c.staff.approve("S-manager", PINS["manager"])
    _, second = c.close_day(0)
    assert (second["body"]["business_date"], second["body"]["shift"]) == \
        (first["body"]["business_date"], 2)
    assert second["body"]["approved_by"] == "S-manager"


def test_an_approval_is_for_the_action_it_was_asked_for(tmp_path):
    """A manager approves the cashier's refund of ¥3,500 (above the ¥3,000 default). That
    approval does not approve a void of another sale of ¥9,000 instead, nor a larger
    refund of the same sale (¥5,000), and is dropped by them; an approval left unused
    while the cashier goes on selling (a ¥100 payment) is gone by the time a void is tried
    later."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    small = c.pay(customer(till), 3_500)
    big = c.pay(customer(till), 9_000)
    with pytest.raises(ApprovalNeeded):
        c.refund(small.tx_id, 3_500)
    c.staff.approve("S-manager", PINS["manager"])
    with pytest.raises(ApprovalNeeded):  # another action: not approved
        c.refund(big.tx_id, void=True)
    with pytest.raises(ApprovalNeeded):  # and the approval was dropped by it
        c.refund(small.tx_id, 3_500)
    c.staff.approve("S-manager", PINS["manager"])
    with pytest.raises(ApprovalNeeded):  # the same action, for more
        c.refund(big.tx_id, 5_000)
    with pytest.raises(ApprovalNeeded):
        c.refund(small.tx_id, 3_500)
    c.staff.approve("S-manager", PINS["manager"])
    c.pay(customer(till), 100)  # the cashier goes on selling: the approval is not kept
    with pytest.raises(ApprovalNeeded):
        c.refund(small.tx_id, 3_500)
    c.staff.approve("S-manager", PINS["manager"])
    done = c.refund(small.tx_id, 3_500)  # asked, approved, done: named
    assert done.record["body"]["approver"] == "S-manager"
    assert not till.journal.givebacks_of(big.tx_id)  # the big sale was never voided


def test_a_locked_manager_is_not_let_in_through_the_admin_screen(tmp_path):
    """MAX_STAFF_PIN_TRIES wrong PINs at sign-in lock the manager for STAFF_LOCK_S. The
    admin screen's PIN box takes any manager's PIN: the locked manager's own PIN must not
    open it (nor sign that manager in) until the lock has passed — else the lock-out is
    worth nothing, the admin screen having its own count of tries."""
    till, clock = staffed_till(tmp_path)
    desk = till.counter.staff
    for _ in range(staff_rules.MAX_STAFF_PIN_TRIES):
        with pytest.raises(Refused):
            desk.sign_in("S-manager", "0000")
    assert code_of(lambda: desk.sign_in("S-manager", PINS["manager"])) == "staff_locked"
    assert code_of(lambda: desk.unlock_admin(PINS["manager"])) == "staff_locked"
    assert desk.current() is None
    desk.sign_in("S-cashier", PINS["cashier"])
    assert code_of(lambda: desk.unlock_admin(PINS["manager"])) == "staff_locked"
    assert desk.current().staff_id == "S-cashier"
    clock.t += staff_rules.STAFF_LOCK_S + 1
    assert desk.unlock_admin(PINS["manager"]).staff_id == "S-manager"


def test_a_training_sale_does_not_use_up_a_real_gift_code(tmp_path):
    """A gift code (ふるさとギフト, ¥3,000) shown during training is decided and kept as a
    training record only: once training mode is off, the same code still pays ¥2,000 for
    real (the training sale took nothing of it), and only then is it used up."""
    from sync import giftcodes
    from tests.terminal.test_campaigns import GIFT, LEDGER_KEY

    till = Till(tmp_path)
    till.snapshot([GIFT])
    c = till.counter
    code = giftcodes.make(LEDGER_KEY, "furusato", 3_000)
    c.set_training(True)
    practice = c.pay_gift(code.text(), 2_000)
    assert practice.record["type"] == "training"
    c.set_training(False)
    real = c.pay_gift(code.text(), 2_000)
    assert real.record["type"] == "gift" and real.amount == 2_000
    assert code_of(lambda: c.pay_gift(code.text(), 2_000)) == "gift_used"


def test_the_admin_screen_hands_the_counter_back_when_it_locks(tmp_path):
    """The cashier calls the manager to the admin screen; the manager's PIN signs the
    manager in while it is open. When it locks (left or idle) the counter is the
    cashier's again: a void then asks a manager's PIN as before, instead of going through
    in the manager's name. Nobody signed in before: nobody after."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    sale = c.pay(customer(till), 800)
    assert c.staff.unlock_admin(PINS["manager"]).staff_id == "S-manager"
    c.staff.lock_admin()
    assert c.staff.current().staff_id == "S-cashier"
    with pytest.raises(ApprovalNeeded):
        c.refund(sale.tx_id, void=True)
    c.staff.sign_out()
    c.staff.unlock_admin(PINS["manager"])
    c.staff.lock_admin()
    assert c.staff.current() is None
    c.staff.sign_in("S-manager", PINS["manager"])  # a manager signed in opens it: stays
    c.staff.unlock_admin(PINS["manager"])
    c.staff.lock_admin()
    assert c.staff.current().staff_id == "S-manager"


def test_a_refund_split_in_parts_under_the_limit_still_asks_a_manager(tmp_path):
    """A ¥9,000 sale; the limit is ¥3,000 (default). The cashier refunds ¥3,000 alone (the
    sale's refunds come to ¥3,000: no manager), then ¥1 more: ¥3,001 given back of that
    sale is above the limit, so the second part asks a manager's PIN — else three parts of
    ¥3,000 would give back the whole ¥9,000 with nobody asked. The prompt says the part
    asked for (¥1)."""
    till, _ = staffed_till(tmp_path)
    c = till.counter
    c.staff.sign_in("S-cashier", PINS["cashier"])
    sale = c.pay(customer(till), 9_000)
    c.refund(sale.tx_id, 3_000)
    with pytest.raises(ApprovalNeeded) as info:
        c.refund(sale.tx_id, 1)
    assert info.value.details["amount"] == 1
    c.staff.approve("S-manager", PINS["manager"])
    assert c.refund(sale.tx_id, 1).record["body"]["approver"] == "S-manager"
    other = c.pay(customer(till), 2_000)  # another sale's refunds are counted apart
    assert "approver" not in c.refund(other.tx_id, 2_000).record["body"]
