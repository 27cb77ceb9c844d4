"""What the counter window's tests share: time limits, typing an amount, waiting for a
result, the demo panel's customers, the booth's campaign list and a balance look-up."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from sync import cards

READY_MS = 60_000
DONE_MS = 15_000


def type_amount(win, screen, amount: int) -> None:
    screen.pad.clear()
    for digit in str(amount):
        screen.pad.press(digit)


def settle(qtbot, screen, states=("approved", "refused")) -> str:
    qtbot.waitUntil(lambda: screen.result.property("state") in states, timeout=DONE_MS)
    return screen.result.property("state")


# Cards the tests issued at the booth. The demo panel lists every active card of the
# snapshot, so a card a test issued (with a PIN, perhaps locked by wrong ones) would take a
# place among the demo's own cards, which tests count from either end of the list.
ISSUED_CARDS: set[str] = set()


def issued(number: str) -> str:
    """`number`, noted as a card a test issues (demo() leaves it out)."""
    ISSUED_CARDS.add(cards.normalize(number))
    return number


def demo(win, kind: str) -> list[str]:
    """The demo panel's customers of one kind ("card", "phone", "gift"), in its order;
    of the cards, the demo's own (not those the tests issued)."""
    out = []
    for row in range(win.demo_list.count()):
        data = win.demo_list.item(row).data(Qt.ItemDataRole.UserRole)
        if data and data[0] == kind and data[1] not in ISSUED_CARDS:
            out.append(data[1])
    return out


def first(win, kind: str) -> str:
    found = demo(win, kind)
    if not found:
        raise AssertionError(f"no demo {kind}")
    return found[0]


def choose(qtbot, win, words: str) -> None:
    """Open the booth's campaign list and click the line that says `words`."""
    win.booth.buttons["campaigns"].click()
    assert win.booth.choices.isVisible()
    for row in range(win.booth.choices.count()):
        item = win.booth.choices.item(row)
        if words in item.text():
            rect = win.booth.choices.visualItemRect(item)
            qtbot.mouseClick(win.booth.choices.viewport(), Qt.MouseButton.LeftButton,
                             pos=rect.center())
            assert win.booth.pending and win.booth.pending.action != "campaigns"
            return
    lines = [win.booth.choices.item(r).text() for r in range(win.booth.choices.count())]
    raise AssertionError(f"no campaign line with {words!r}: {lines}")


def points_of(qtbot, win, who: str) -> int:
    """The card's points, by a balance look-up at the booth."""
    win.modes["booth"].click()
    win.booth.buttons["balance"].click()
    win.present("card", who)
    assert settle(qtbot, win.booth) == "approved"
    found = re.search(r"Points: ¥([\d,]+)", win.booth.result.detail.text())
    return int(found.group(1).replace(",", "")) if found else 0


def staff_id(win, role: str) -> str:
    """The demo shop's member of `role` (the demo has one of each)."""
    return next(m["staff"] for m in win.staff_bar.staff if m["role"] == role)


def sign_in(qtbot, win, role: str = "manager") -> None:
    """Sign the demo's member of `role` in through the staff bar, with the PIN the demo
    panel shows."""
    from sync.staff import DEMO_STAFF

    bar = win.staff_bar
    if bar.signed_in is not None:
        bar.out.click()
        qtbot.waitUntil(lambda: bar.signed_in is None, timeout=DONE_MS)
    pin = next(p for _, r, p in DEMO_STAFF if r == role)
    bar.who.setCurrentIndex(bar.who.findData(staff_id(win, role)))
    bar.pin.setText(pin)
    bar.ok.click()
    qtbot.waitUntil(lambda: (bar.signed_in or {}).get("role") == role, timeout=DONE_MS)


def unlock_admin(qtbot, win, pin: str | None = None) -> None:
    """Open the admin screen with a manager's PIN (the demo's) and wait until it is open."""
    from sync.staff import DEMO_MANAGER_PIN

    win.modes["admin"].click()
    win.admin.pin.setText(pin or DEMO_MANAGER_PIN)
    win.admin.unlock_button.click()
    qtbot.waitUntil(lambda: not win.admin.admin_panel.isHidden(), timeout=DONE_MS)


def confirm(win) -> None:
    """Answer the "really?" of a void or refund with yes."""
    assert win.confirm.isVisible()
    win.confirm.yes.click()
