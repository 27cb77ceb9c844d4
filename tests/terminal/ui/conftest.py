"""The counter window on a real demo region: each test module names its own demo directory
(a module-scoped `demo_base` fixture), so modules never share wallets or stock."""

from __future__ import annotations

import pytest

from terminal.ui import look as uiapp
from terminal.ui.window import MainWindow
from tests.terminal.ui.helpers import READY_MS, sign_in


@pytest.fixture
def window(qtbot, demo_base):
    uiapp.set_language("en")
    win = MainWindow(demo_base / "terminal", demo_base)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: bool(win.info) and bool(win.offers), timeout=READY_MS)
    sign_in(qtbot, win, "manager")  # the demo's manager may do everything
    yield win
    win.close()
