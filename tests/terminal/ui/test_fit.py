"""Fits and stays fitted (#18.1): at 1024×768, 1280×800, 1366×768 and 1920×1080, in normal
and large type and in high contrast, every screen shows every visible button and the status
line inside the window; content that is long (a receipt, a list, the admin screen's
reports) scrolls inside its pane, and the window does not grow after an X report or with
large type."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QScrollArea, QWidget

from terminal.ui import look
from tests.terminal.ui.helpers import DONE_MS, first, settle, type_amount, unlock_admin

SIZES = ((1024, 768), (1280, 800), (1366, 768), (1920, 1080))
MODES = ((), ("large_type",), ("high_contrast",), ("large_type", "high_contrast"))


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-fit")


def rect_in(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def scroller_of(widget: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


def off_window(window) -> list[str]:
    """Visible buttons (and the status line) not wholly inside the window. A button in a
    scrolling pane counts by its pane: it is reached by scrolling, the pane must fit."""
    area = window.rect()
    wrong = []
    for widget in [*window.findChildren(QAbstractButton), window.status_line]:
        if not widget.isVisible() or widget.window() is not window:
            continue
        pane = scroller_of(widget)
        shown = pane.viewport() if pane is not None else widget
        # inside the window, and inside every widget around it (a screen squeezed below
        # what it needs would draw its buttons past its own edge, over the status line)
        outer = shown.parentWidget()
        while outer is not None and outer is not window:
            if not rect_in(outer, window).contains(rect_in(shown, window)):
                break
            outer = outer.parentWidget()
        if outer is not window or not area.contains(rect_in(shown, window)):
            name = widget.objectName() or getattr(widget, "text", lambda: "")()
            wrong.append(f"{name!r} at {rect_in(shown, window)} outside "
                         f"{rect_in(outer, window) if outer is not None else area}")
    return wrong


def set_look(options: tuple[str, ...]) -> None:
    for option in look.OPTIONS:
        look.set_option(option, option in options)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_screen_fits_at_each_size_and_look(qtbot, window, size):
    width, height = size
    window.setMaximumSize(width, height)  # the counter's screen: the window may not pass it
    window.resize(width, height)
    type_amount(window, window.shop, 1_200)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"  # a result with its receipt
    unlock_admin(qtbot, window)
    try:
        for options in MODES:
            set_look(options)
            for name in ("shop", "booth", "admin"):
                window.show_screen(name)
                qtbot.wait(50)  # laid out
                assert window.width() <= width and window.height() <= height, (name, options)
                wrong = off_window(window)
                assert not wrong, f"{name} {options}: " + "; ".join(wrong)
                if name == "shop":  # the balance is shown whole: it shrinks, never cut off
                    balance = window.shop.result.balance
                    drawn = QFontMetrics(balance.font()).horizontalAdvance(balance.text())
                    assert drawn <= balance.contentsRect().width(), (options, balance.text())
    finally:
        set_look(())


def test_a_long_report_and_large_type_do_not_grow_the_window(qtbot, window):
    width, height = 1366, 768
    window.setMaximumSize(width, height)
    window.resize(width, height)
    qtbot.wait(50)
    before = window.size()
    unlock_admin(qtbot, window)
    window.admin.buttons["x_report"].click()
    qtbot.waitUntil(lambda: "→" in window.admin.verify_info.text(), timeout=DONE_MS)
    window.shop.show_history()
    qtbot.wait(50)
    try:
        set_look(("large_type",))
        for name in ("admin", "shop", "booth"):
            window.show_screen(name)
            qtbot.wait(50)
            assert window.size() == before, name
            assert not off_window(window), name
        # what the window asks for fits the screen: it would not grow if it could
        assert window.minimumSizeHint().height() <= height
    finally:
        set_look(())
