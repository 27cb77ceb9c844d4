"""The status line (#18.4), built directly and fed fabricated sync.client.SyncStatus values:
online/offline in words (the colour only repeats them), the unsent count, the last sync and
its age kept true by the widget's own timer, and why the last sync failed in words.

The clock is the test's: a list holding "now", so the ages are exact and nothing waits."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from sync.client import SyncStatus
from terminal.paths import resource_dir
from terminal.ui import statusbar
from terminal.ui.statusbar import AGE_TICK_MS, FAILURE_WORDS, StatusLine, age_words
from tests.terminal.ui.test_customer import QM_FILE

# 2026-12-02 14:00:00 local time: a shop's afternoon.
NOON_TWO = datetime(2026, 12, 2, 14, 0, 0).timestamp()


@dataclasses.dataclass(frozen=True)
class NewerStatus(SyncStatus):
    """SyncStatus with the node's newer fields, for as long as sync.client lacks them."""

    failure_code: str = ""
    failure_at: float | None = None
    last_attempt: float | None = None


def status(**fields) -> SyncStatus:
    """A SyncStatus; the newer fields through NewerStatus when this sync.client has none."""
    names = {f.name for f in dataclasses.fields(SyncStatus)}
    cls = SyncStatus if set(fields) <= names else NewerStatus
    return cls(**fields)


@pytest.fixture
def now():
    return [NOON_TWO]


@pytest.fixture
def line(qtbot, now):
    widget = StatusLine(clock=lambda: now[0])
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def japanese(qapp):
    translator = QTranslator()
    assert translator.load(str(QM_FILE))
    QCoreApplication.installTranslator(translator)
    yield
    QCoreApplication.removeTranslator(translator)


def test_before_the_first_status(line):
    assert line.state.text() == "◌ Starting…"
    assert line.online() == "unknown"
    assert not line.pending.isVisible() and not line.failure.isVisible()


def test_online_with_nothing_pending(line, now):
    """Synced 42 s ago at 13:59:18."""
    line.update_status(status(online=True, pending=0, last_success=NOON_TWO - 42))
    assert line.state.text() == "● Online"
    assert line.pending.text() == "0 unsent"
    assert line.last_sync.text() == "last sync 13:59 (42 s ago)"
    assert not line.failure.isVisible()
    assert line.property("online") == "yes"


def test_offline_says_why_in_words_and_keeps_the_detail_as_tooltip(line, now):
    """The network went at 13:55; the last good sync was at 13:50, 10 min before now."""
    line.update_status(status(online=False, pending=1_234, last_success=NOON_TWO - 600,
                              last_error="[Errno 101] Network is unreachable",
                              failure_code="offline", failure_at=NOON_TWO - 300,
                              last_attempt=NOON_TWO - 5))
    assert line.state.text() == "○ Offline"
    assert line.pending.text() == "1,234 unsent"
    assert line.last_sync.text() == "last sync 13:50 (10 min ago)"
    assert line.failure.text() == "✘ no network connection, 5 min ago"
    assert line.failure.toolTip() == "[Errno 101] Network is unreachable"
    assert line.property("online") == "no"


def test_the_age_stays_true_without_a_new_status(line, now, qtbot):
    """Nothing new comes for 3 minutes: the line's timer brings the age up to date."""
    line.update_status(status(online=True, pending=0, last_success=NOON_TWO - 10))
    assert line.last_sync.text() == "last sync 13:59 (10 s ago)"
    assert line.ticker.isActive() and line.ticker.interval() == AGE_TICK_MS
    now[0] += 180
    line.ticker.timeout.emit()  # what the timer does each second
    assert line.last_sync.text() == "last sync 13:59 (3 min ago)"


def test_a_failure_before_the_last_success_is_not_shown(line):
    line.update_status(status(online=True, pending=0, last_success=NOON_TWO - 10,
                              last_error="timed out", failure_code="timeout",
                              failure_at=NOON_TWO - 70))
    assert not line.failure.isVisible()


def test_refused_records_are_counted(line):
    line.update_status(status(online=True, pending=2, last_success=NOON_TWO - 10,
                              refused=["seq 5: bad signature", "seq 6: gap"]))
    assert line.failure.text() == "✘ the ledger refused records (2 records)"


def test_an_old_status_without_a_code_still_says_it_failed(line):
    line.update_status(SyncStatus(online=False, pending=3, last_success=None,
                                  last_error="connection refused"))
    assert line.last_sync.text() == "never synced"
    assert line.failure.text() == "✘ the last sync failed"
    assert line.failure.toolTip() == "connection refused"


@pytest.mark.parametrize("code", sorted(FAILURE_WORDS))
def test_every_failure_code_has_japanese_words(line, japanese, code):
    line.update_status(status(online=False, pending=0, last_success=None, last_error="x",
                              failure_code=code, failure_at=NOON_TWO - 3_600))
    japanese_words = QCoreApplication.translate(statusbar.CONTEXT, FAILURE_WORDS[code])
    assert japanese_words != FAILURE_WORDS[code]
    assert line.failure.text() == f"✘ {japanese_words}（60分前）"


def test_japanese_line(line, japanese):
    line.set_terminal_id("T-01")
    line.update_status(status(online=False, pending=5, last_success=NOON_TWO - 86_400,
                              failure_code="timeout", failure_at=NOON_TWO - 30))
    assert line.state.text() == "○ オフライン"
    assert line.pending.text() == "未送信 5件"
    assert line.last_sync.text() == "最終同期 2026-12-01 14:00（24時間前）"
    assert line.failure.text() == "✘ 台帳サーバーが時間内に応答しません（30秒前）"
    assert line.terminal.text() == "端末 T-01"


@pytest.mark.parametrize("seconds, words", [(0, "0 s ago"), (119, "119 s ago"),
                                            (120, "2 min ago"), (7_199, "119 min ago"),
                                            (7_200, "2 h ago"), (172_799, "47 h ago"),
                                            (172_800, "2 d ago")])
def test_ages(qapp, seconds, words):
    assert age_words(seconds) == words


def test_colour_follows_the_words(line):
    line.update_status(status(online=True, pending=0, last_success=NOON_TWO))
    online_sheet = line.styleSheet()
    line.update_status(status(online=False, pending=0, last_success=NOON_TWO))
    assert line.styleSheet() != online_sheet
    line.set_high_contrast(True)
    assert "#000000" in line.styleSheet()


def test_warnings_go_below(line):
    line.set_warnings(["⚠ Only 12.0 MiB left on this terminal's disk"])
    assert line.warnings.isVisible()
    assert line.warnings.text().startswith("⚠ Only 12.0 MiB")
    line.set_warnings([])
    assert not line.warnings.isVisible()


def test_the_real_clock_is_the_default(qtbot):
    widget = StatusLine()
    qtbot.addWidget(widget)
    assert abs(widget.clock() - time.time()) < 60


@pytest.mark.parametrize("large", [False, True])
def test_fits_the_narrowest_counter_screen(line, japanese, qapp, large):
    """The longest line it says (offline, thousands unsent, a dated last sync, a failure,
    the terminal) fits 1024 px, the narrowest screen of #18.1, in large type too."""

    root = resource_dir()
    sheets = ["style.qss"] + (["large_type.qss"] if large else [])
    qapp.setStyleSheet("\n".join((root / name).read_text("utf-8") for name in sheets))
    try:
        line.set_terminal_id("T-WN3X1Z09B2")
        line.update_status(status(online=False, pending=12_345, last_success=NOON_TWO - 86_400,
                                  last_error="x", failure_code="bad_answer",
                                  failure_at=NOON_TWO - 30, refused=["seq 5: gap"]))
        assert line.minimumSizeHint().width() <= 1024
        line.resize(1024, line.heightForWidth(1024) if line.hasHeightForWidth()
                    else line.sizeHint().height())
        for label in (line.state, line.pending, line.last_sync, line.failure, line.terminal):
            assert line.rect().contains(label.geometry())
    finally:
        qapp.setStyleSheet("")
