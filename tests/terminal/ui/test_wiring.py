"""The parts around the counter's screens, plugged into the frame (#18.2, .4, .7): the
customer display follows the cashier's screen with no extra key, the status line says
every SyncStatus, and the admin screen shows the log's last lines. On a real demo region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.client import SyncStatus
from terminal.ui.customer import CUSTOMER_WORDS
from tests.terminal.ui.helpers import first, settle, type_amount, unlock_admin

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-wiring")


def yen_of(text: str) -> int:
    return int(text.replace("¥", "").replace(",", ""))


def test_a_sale_drives_the_customer_display(qtbot, window):
    """Pay shows the amount; the approval shows each pocket the wallet holds after the sale
    (read on the worker in the same op), their yen adding up to the balance the counter
    computed; typing the next amount says thank you. On the tests' one offscreen screen
    there is no customer window: the panel beside the shop screen is the display."""
    displays = window.customer_displays()
    assert displays == [window.customer_panel] and window.customer_window is None
    type_amount(window, window.shop, 700)
    window.shop.buttons["pay"].click()
    assert [d.state() for d in displays] == ["amount"]
    assert "700" in window.customer_panel.amount.text()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "approved"
    outcome = window.last_outcome
    assert [d.state() for d in displays] == ["approved"]
    rows = [(words.text(), figure.text()) for words, _, figure in
            window.customer_panel.pocket_labels]
    assert rows, "the pockets after the sale"
    held = sum(yen_of(figure) for _, figure in rows if figure.startswith("¥"))
    assert held == outcome.balance_after
    type_amount(window, window.shop, 5)  # the next customer's amount
    assert [d.state() for d in displays] == ["thanks"]


def test_a_refusal_shows_the_customers_words(qtbot, window):
    """Not enough balance: the cashier reads the limits, the customer reads the display's
    own words for the code (terminal.ui.customer.CUSTOMER_WORDS)."""
    type_amount(window, window.shop, 999_000)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "refused"
    for display in window.customer_displays():
        assert display.state() == "refused"
        assert display.reason.text() == CUSTOMER_WORDS["insufficient"]
    window.shop.pad.clear()


def test_high_contrast_reaches_the_display_and_the_status_line(qtbot, window):
    assert not window.customer_panel.high_contrast()
    window.toggle_option("high_contrast")
    try:
        assert all(d.high_contrast() for d in window.customer_displays())
        assert window.status_line._high_contrast
    finally:
        window.toggle_option("high_contrast")
    assert not any(d.high_contrast() for d in window.customer_displays())
    assert not window.status_line._high_contrast


def test_the_status_line_says_offline_and_why(qtbot, window):
    """Fed a status of a ledger that cannot be reached 30 s ago, with 3 records unsent
    (no event is processed between: the sync worker's next status cannot come between)."""
    now = time.time()
    window.status_update(SyncStatus(online=False, pending=3, last_success=now - 600,
                                    last_error="the ledger cannot be reached",
                                    failure_code="offline", failure_at=now - 30,
                                    last_attempt=now - 30, waiting_for="push"))
    text = window.status_line.text()
    assert "Offline" in text
    assert "3 unsent" in text
    assert "no network connection, 30 s ago" in text
    assert "sending records" in text
    assert window.info["terminal_id"] in text


def test_the_admin_log_view_shows_what_the_counter_logged(qtbot, window):
    """A refused sale is logged by the counter (terminal/counter.py, "refused payment of
    …"); the admin screen's log view, read from the log file, shows that line."""
    type_amount(window, window.shop, 888_000)
    window.shop.buttons["pay"].click()
    window.present("card", first(window, "card"))
    assert settle(qtbot, window.shop) == "refused"
    window.shop.pad.clear()
    unlock_admin(qtbot, window)
    window.log_view.refresh()
    assert any("refused payment of 888000" in line for line in window.log_view.lines())


SECOND_SCREEN_SCRIPT = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from terminal.ui import look
from terminal.ui.window import MainWindow
app = QApplication([])
look.set_language("en")
window = MainWindow(Path(sys.argv[1]))
window.show()
app.processEvents()
shown = window.customer_window
print(json.dumps({"window": shown.isVisible(), "screen": shown.screen().name(),
                  "full": shown.isFullScreen(),
                  "panel": window.customer_panel.isVisibleTo(window)}))
window.close()
"""


def test_a_second_screen_gets_the_customer_window(tmp_path):
    """Two offscreen screens (the platform's configuration file, as in test_customer.py):
    the counter on the cashier's 1366x768, the customer window full screen on the
    1024x600 tablet, and no panel beside the shop screen. The terminal is not enrolled:
    the display is placed when the window is made, before the services answer."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"synchronousWindowSystemEvents": False,
                                  "windowFrameMargins": False, "screens": [
        {"name": "cashier", "x": 0, "y": 0, "width": 1366, "height": 768,
         "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1},
        {"name": "customer", "x": 1366, "y": 0, "width": 1024, "height": 600,
         "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SECOND_SCREEN_SCRIPT,
                           str(tmp_path / "terminal")], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"window": True, "screen": "customer", "full": True, "panel": False}
