"""terminal.ui.ops: an op's work runs on the one worker thread that owns the services, its
answer comes back on the UI thread; a refusal arrives as its code; a still-running op shows
its progress after a short delay; an op that times out frees the screen, and its late
result is dropped, never applied."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget

from terminal.policy import Refused
from terminal.ui.bridge import TerminalBridge
from terminal.ui.ops import Op, OpFailure, Runner

DONE_MS = 15_000
SHORT_TIMEOUT_S = 0.3  # an op that is made to wait past it


class Host(QWidget):
    """A widget as the window is, for ops: it has the runner."""

    def __init__(self, data_dir) -> None:
        super().__init__()
        self.services = TerminalBridge(data_dir)  # not started: no terminal is needed here
        self.runner = Runner(self, self.services)


@pytest.fixture
def host(qtbot, tmp_path):
    widget = Host(tmp_path)
    qtbot.addWidget(widget)
    yield widget
    widget.runner.stop()


def test_work_runs_on_the_worker_thread_and_the_answer_on_the_ui_thread(qtbot, host):
    seen: dict[str, int] = {}

    def work(services) -> int:
        assert services is host.services
        seen["work"] = threading.get_ident()
        return 42

    def success(result: int) -> None:
        seen["answer"] = threading.get_ident()
        seen["result"] = result

    Op(host, work, success=success, label="a sum").run()
    qtbot.waitUntil(lambda: "result" in seen, timeout=DONE_MS)
    assert seen["result"] == 42
    assert seen["answer"] == threading.get_ident() != seen["work"]


def test_a_refusal_arrives_with_its_code_and_details(qtbot, host):
    failed: list[OpFailure] = []

    def work(_services):
        raise Refused("insufficient", available=300)

    Op(host, work, success=lambda _: pytest.fail("refused work succeeded"),
       failure=failed.append, label="a payment").run()
    qtbot.waitUntil(lambda: bool(failed), timeout=DONE_MS)
    assert failed[0].code == "insufficient" and failed[0].details == {"available": 300}


def test_the_services_not_started_is_a_failure_not_a_crash(qtbot, host):
    failed: list[OpFailure] = []
    Op(host, lambda s: s.counter.balance(None), failure=failed.append, label="x").run()
    qtbot.waitUntil(lambda: bool(failed), timeout=DONE_MS)
    assert failed[0].code == "not_ready" and "not ready" in failed[0].message


def test_a_bug_in_the_work_is_said_and_frees_the_screen(qtbot, host):
    failed: list[OpFailure] = []
    Op(host, lambda _s: {}["missing"], failure=failed.append, label="a look-up").run()
    qtbot.waitUntil(lambda: bool(failed), timeout=DONE_MS)
    assert failed[0].code == "internal" and "KeyError" in failed[0].message
    assert not host.runner.busy()


def test_a_slow_op_says_what_it_waits_for(qtbot, host):
    release = threading.Event()
    shown: list[str] = []
    done: list[int] = []
    Op(host, lambda _s: release.wait(DONE_MS / 1000) and 1, success=done.append,
       label="the printer", progress=shown.append, timeout_s=DONE_MS / 1000).run()
    qtbot.waitUntil(lambda: bool(shown), timeout=DONE_MS)
    assert "the printer" in shown[0]
    release.set()
    qtbot.waitUntil(lambda: bool(done), timeout=DONE_MS)


def test_a_timed_out_op_frees_the_screen_and_its_late_result_is_dropped(qtbot, host):
    release = threading.Event()
    late: list[object] = []
    failed: list[OpFailure] = []
    Op(host, lambda _s: release.wait(DONE_MS / 1000) and "paid", success=late.append,
       failure=failed.append, label="the payment", timeout_s=SHORT_TIMEOUT_S).run()
    qtbot.waitUntil(lambda: bool(failed), timeout=DONE_MS)
    assert failed[0].code == "timeout" and "the payment" in failed[0].message
    assert not host.runner.busy()  # the screen is free for the next sale
    release.set()  # the old work ends now; the next op runs after it on the same thread
    after: list[str] = []
    Op(host, lambda _s: "next sale", success=after.append, label="the next payment").run()
    qtbot.waitUntil(lambda: bool(after), timeout=DONE_MS)
    assert after == ["next sale"] and late == []  # the old answer came first, and was dropped


def test_an_op_that_timed_out_waiting_its_turn_never_runs(qtbot, host):
    """A slow report holds the worker; a payment queued behind it times out before it
    begins: it is never made (the cashier was told it did not happen)."""
    release = threading.Event()
    ran: list[str] = []
    failed: list[OpFailure] = []
    Op(host, lambda _s: release.wait(DONE_MS / 1000), label="the X report",
       timeout_s=DONE_MS / 1000).run()
    Op(host, lambda _s: ran.append("paid"), failure=failed.append, label="the payment",
       timeout_s=SHORT_TIMEOUT_S).run()
    qtbot.waitUntil(lambda: bool(failed), timeout=DONE_MS)
    assert failed[0].code == "timeout"
    release.set()
    after: list[str] = []
    Op(host, lambda _s: "next", success=after.append, label="the next sale").run()
    qtbot.waitUntil(lambda: bool(after), timeout=DONE_MS)
    assert ran == []  # the payment that timed out in the queue was never made
