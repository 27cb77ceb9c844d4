"""A reader that stops working leaves a line in the counter's log (#18.7), once per change
of state; a reader that works says nothing there."""

from __future__ import annotations

import logging

from cardreader.events import ReaderStatus
from terminal.ui.readers import ReaderHub


def test_a_reader_that_fails_is_logged_and_a_ready_one_is_not(qapp, caplog):
    hub = ReaderHub()
    said: list[tuple[str, str, str]] = []
    hub.status.connect(lambda *args: said.append(args))
    with caplog.at_level(logging.INFO, logger="terminal.ui.readers"):
        hub._on_event(ReaderStatus(reader="pcsc", state="ready", message="", code=""))
        hub._on_event(ReaderStatus(reader="pcsc", state="unavailable",
                                   message="no PC/SC reader attached", code="no_reader"))
    lines = [r.getMessage() for r in caplog.records if r.name == "terminal.ui.readers"]
    assert lines == ["pcsc: unavailable: no PC/SC reader attached"]
    assert [s[1] for s in said] == ["ready", "unavailable"]  # the screen hears both
