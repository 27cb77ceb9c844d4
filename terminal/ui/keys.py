"""The counter from the keyboard: digits and Enter pay, Esc cancels (or clears a refused
amount), + - * set a rally's party, and the function keys below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut

from terminal.ui.screen import CounterScreen, tr

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow


def install_shortcuts(frame: MainWindow) -> None:
    shop, booth = frame.shop, frame.booth
    actions = {
        "F1": lambda: frame.modes["shop"].click(),
        "F2": lambda: frame.modes["booth"].click(),
        "F3": lambda: frame.modes["admin"].click(),
        "F4": shop.ride,
        "F5": lambda: frame.current_counter().start("balance"),
        "F6": shop.show_refunds,
        "F7": shop.set_excluded,
        "F8": lambda: booth.buttons["card"].click(),
        "F9": lambda: booth.buttons["grant"].click(),
        "F10": booth.show_campaigns,
        "F11": shop.show_history,
        "F12": frame.toggle_language,
        "Ctrl+B": lambda: shop.key_for_party("*"),
        "Ctrl+D": shop.await_diner,
    }
    for key, action in actions.items():
        QShortcut(QKeySequence(key), frame).activated.connect(action)


def counter_key(frame: MainWindow, event: QKeyEvent) -> bool:
    """A key the counter takes (True), or one for Qt (False)."""
    key = event.key()
    screen = frame.stack.currentWidget()
    if key == Qt.Key.Key_Escape and _escape(frame, screen):
        return True
    if not isinstance(screen, CounterScreen):
        return False
    if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        screen.enter()
    elif not (screen is frame.shop and frame.shop.key_for_party(event.text())):
        screen.pad.keyPressEvent(event)
    return True


def _escape(frame: MainWindow, screen: object) -> bool:
    if frame.confirm.isVisible():
        frame.confirm.hide()  # "really?" answered no
        return True
    for waiting in (frame.shop, frame.booth):
        if waiting.cancel():
            if waiting is frame.shop:
                frame.shop.drop_sale_inputs()  # the next sale starts clean
            frame.customer_show_idle()
            return True
    if isinstance(screen, CounterScreen) and (
            screen.result.property("state") == "refused" or
            (screen is frame.shop and frame.shop.has_sale_inputs())):
        # a refused amount, or excluded goods or diners set for a sale not made
        if screen is frame.shop:
            frame.shop.drop_sale_inputs()
        screen.pad.clear()
        screen.idle(tr("Cancelled."))
        frame.customer_show_idle()
        return True
    return False
