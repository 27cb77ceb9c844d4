"""Damaged storage and a disk running out, as the counter window shows them (offscreen), on
a real terminal data directory whose state.db had a bit flipped (see
tests/terminal/test_storage.py for the services and the command line)."""

from __future__ import annotations

import pytest

from sync import keys
from terminal import health
from terminal.policy import REASONS
from terminal.state import STATE_FILE
from terminal.ui import look as uiapp
from terminal.ui.window import MainWindow
from tests.terminal.test_clock import CARD, Clocks, make_terminal
from tests.terminal.test_storage import (  # noqa: F401 - `region` is a fixture
    flip_page_type,
    region,
    root_page,
    with_unsent_sales,
)
from tests.terminal.ui.helpers import READY_MS, settle, type_amount

SALE_YEN = 500


@pytest.fixture
def damaged_window(qtbot, tmp_path, monkeypatch):
    # Every disk is below the threshold, so the warning shows on this machine's disk too.
    monkeypatch.setattr(health, "LOW_SPACE_BYTES", 1 << 62)
    data = tmp_path / "t"
    make_terminal(data, keys.generate(), Clocks())
    flip_page_type(data / STATE_FILE, root_page(data / STATE_FILE, "lots"))
    uiapp.set_language("en")
    win = MainWindow(data)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: "damaged" in win.status_line.text(), timeout=READY_MS)
    yield win
    win.close()


def test_the_status_line_says_the_records_are_damaged_and_the_disk_is_low(damaged_window):
    text = damaged_window.status_line.text()
    assert "This terminal's records are damaged (state): no sales" in text
    assert "MiB left on this terminal's disk" in text
    assert damaged_window.status_line.property("storage") == "wrong"


def test_a_sale_is_refused_in_words_and_the_admin_is_offered_the_rebuild(qtbot,
                                                                         damaged_window):
    win = damaged_window
    type_amount(win, win.shop, SALE_YEN)
    win.shop.buttons["pay"].click()
    win.present("card", CARD)
    assert settle(qtbot, win.shop) == "refused"
    assert REASONS["storage_damaged"] in win.shop.result.detail.text()
    assert not win.admin.rebuild_button.isHidden()
    assert "rebuilt from the ledger" in win.admin.storage_info.text()


def test_an_unopenable_state_is_shown_as_damage_and_the_admin_rebuilds_it(
        qtbot, tmp_path, region):  # noqa: F811 - the fixture imported above
    """A state.db that is no database any more: the window says the records are damaged
    (not "set up this terminal"), and the admin's button rebuilds it from the ledger."""
    data = tmp_path / "t"
    with_unsent_sales(region, data)
    with open(data / STATE_FILE, "r+b") as fh:
        fh.write(b"X")  # the header's magic string
    uiapp.set_language("en")
    win = MainWindow(data)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: "damaged" in win.status_line.text(), timeout=READY_MS)
        assert win.admin.setup_panel.isHidden()
        assert "damaged" in win.shop.result.headline.text()
        # the services could not start (the staff are in that state.db too): the admin
        # screen opens for the ways out only, and no sale can be made
        win.admin.unlock_button.click()
        qtbot.waitUntil(lambda: not win.admin.admin_panel.isHidden(), timeout=READY_MS)
        assert not win.admin.rebuild_button.isHidden()
        win.admin.rebuild_button.click()
        qtbot.waitUntil(lambda: "state rebuilt" in win.admin.verify_info.text(), timeout=READY_MS)
        qtbot.waitUntil(lambda: bool(win.info), timeout=READY_MS)  # started again
        qtbot.waitUntil(lambda: "damaged" not in win.status_line.text(), timeout=READY_MS)
        assert win.admin.rebuild_button.isHidden()
        assert list(data.glob(STATE_FILE + ".damaged-*"))
    finally:
        win.close()
