"""The log viewer of the admin screen (#18.7), built directly on a real log file: the last
lines, newest at the foot, at most `MAX_LINES`, refreshed when shown and on the button."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtGui import QFontInfo

from terminal.ui.logview import MAX_LINES, LogView


@pytest.fixture
def log_file(tmp_path):
    return tmp_path / "terminal.log"


def tail(path):
    def read() -> list[str]:
        return path.read_text("utf-8").splitlines()
    return read


def write(path, lines) -> None:
    with path.open("a", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")


def test_shows_the_last_lines_when_shown(qtbot, log_file):
    write(log_file, [f"2026-12-02 14:00:{n:02d} INFO sync: pushed {n} records" for n in
                     range(3)])
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    assert view.lines() == []  # nothing read before it is shown
    view.show()
    assert view.lines()[-1] == "2026-12-02 14:00:02 INFO sync: pushed 2 records"
    assert len(view.lines()) == 3
    assert view.info.text() == "last 3 lines"


def test_refresh_reads_again(qtbot, log_file):
    write(log_file, ["first"])
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.show()
    write(log_file, ["second"])
    assert view.lines() == ["first"]
    view.refresh_button.click()
    assert view.lines() == ["first", "second"]


def test_keeps_only_the_last_lines(qtbot, log_file):
    """MAX_LINES + 250 lines written: the first 250 are not on screen."""
    write(log_file, [f"line {n}" for n in range(MAX_LINES + 250)])
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.show()
    assert len(view.lines()) == MAX_LINES
    assert view.lines()[0] == "line 250"
    assert view.lines()[-1] == f"line {MAX_LINES + 249}"
    small = LogView(tail(log_file), max_lines=10)
    qtbot.addWidget(small)
    small.show()
    assert small.lines() == [f"line {n}" for n in range(MAX_LINES + 240, MAX_LINES + 250)]


def test_scrolls_inside_itself_and_is_monospace(qtbot, log_file):
    write(log_file, [f"line {n} " + "x" * 300 for n in range(200)])
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    assert view.height() <= 300  # long content does not grow the view
    bar = view.text.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()  # at the newest line
    assert view.text.horizontalScrollBar().maximum() > 0
    assert QFontInfo(view.text.font()).fixedPitch()


def test_an_unreadable_log_says_so_and_keeps_what_was_shown(qtbot, log_file):
    write(log_file, ["kept"])
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.show()
    log_file.unlink()
    view.refresh()
    assert view.lines() == ["kept"]
    assert view.info.text().startswith("The log could not be read: ")


def test_a_real_logging_file(qtbot, log_file):
    """Lines the logging module writes (as terminal/logs.py will) show as written."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("machi.test.logview")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("payment refused: insufficient")
        logger.warning("printer: out of paper")
    finally:
        logger.removeHandler(handler)
        handler.close()
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.show()
    assert view.lines() == ["INFO machi.test.logview: payment refused: insufficient",
                            "WARNING machi.test.logview: printer: out of paper"]


def test_empty_log(qtbot, log_file):
    log_file.write_text("")
    view = LogView(tail(log_file))
    qtbot.addWidget(view)
    view.show()
    assert view.lines() == []
    assert view.info.text() == "No log lines yet."
