"""Operations: the UI's work on the terminal's services, each carrying its own callbacks.

In the manner of Anki's `CollectionOp`/`QueryOp` (learned from, not copied): an `Op` names the
work (a callable run on the ONE worker thread that owns the Node, given the services), what to
do with its result (`success`) and with a failure (`failure`, an `OpFailure` with a code), a
label that says what it waits for, and a timeout. Success and failure are called on the UI
thread. After `PROGRESS_DELAY_MS` a still-running op shows its progress ("処理中…" and what
it waits for) through `progress`; after its timeout the op fails with code "timeout", the
screen is free again; an op that had not begun by then never runs, and a result that
arrives later is logged and dropped: it is never applied to a newer sale.

    Op(self, work=lambda s: s.counter.pay(...), success=self._paid, failure=self._refused,
       label=self.tr("the payment"), timeout_s=PAY_TIMEOUT_S).run()
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from terminal.errors import TerminalError

log = logging.getLogger(__name__)

# A still-running op says so after this long (a quick one never flickers).
PROGRESS_DELAY_MS = 400
# Timeouts, by kind of work (seconds). A counter decision is local (journal and snapshot);
# a few seconds covers a slow disk. Reports and exports write files; start-up may wait for
# the demo's ledger; a printer check may wait for a network printer to answer.
COUNTER_TIMEOUT_S = 10
REPORT_TIMEOUT_S = 60
START_TIMEOUT_S = 120
PRINTER_TIMEOUT_S = 30
WORKER_STOP_MS = 10_000


@dataclass(frozen=True)
class OpFailure:
    """Why an op did not succeed: a refusal's code and details, "timeout", "failed" (an
    expected error with its message), or "internal" (a bug, logged with its trace)."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Job:
    id: int
    work: Callable[[Any], Any]
    label: str


class _Worker(QObject):
    """Lives on the worker thread; runs each job there, in the order given."""

    finished = Signal(int, bool, object)  # job id, succeeded, result or OpFailure

    def __init__(self, services: Any) -> None:
        super().__init__()
        self.services = services
        self._lock = threading.Lock()
        self._cancelled: set[int] = set()  # jobs that timed out before they began

    def cancel(self, job_id: int) -> None:
        """Called on the UI thread: a job not begun yet never runs (a sale the screen gave
        up on is never made behind the cashier's back)."""
        with self._lock:
            self._cancelled.add(job_id)

    @Slot(object)
    def run(self, job: _Job) -> None:
        assert QThread.currentThread() is self.thread(), "ops run on the worker thread only"
        with self._lock:
            if job.id in self._cancelled:
                self._cancelled.discard(job.id)
                log.warning("%s timed out before it began: not run", job.label)
                return
        try:
            result = self.services.perform(job.work)
        except OpError as exc:
            self.finished.emit(job.id, False, exc.failure)
        except Exception as exc:  # a bug: said, logged, and the counter freed
            log.exception("op %r failed", job.label)
            self.finished.emit(job.id, False, OpFailure("internal", f"{type(exc).__name__}: "
                                                        f"{exc}"))
        else:
            self.finished.emit(job.id, True, result)
            self.services.after(result)  # e.g. the receipt, after the result is on screen


class OpError(TerminalError):
    """Raised by `perform` to turn an expected failure into an `OpFailure` (whose code and
    details it carries)."""

    code = "op_failed"

    def __init__(self, failure: OpFailure) -> None:
        super().__init__(failure.message, failure.code, dict(failure.details or {}))
        self.failure = failure


class Runner(QObject):
    """The worker thread and the ops in flight; one per window. `services` (moved to the
    thread here) has `perform(work)`, which runs one op's work and raises `OpError` for an
    expected failure, and `after(result)`, run once the result is on its way to the UI."""

    _submit = Signal(object)

    def __init__(self, parent: QObject, services: Any) -> None:
        super().__init__(parent)
        self.thread_ = QThread(self)
        self.thread_.setObjectName("terminal-services")
        self.services = services
        self._worker = _Worker(services)
        self._worker.moveToThread(self.thread_)
        if isinstance(services, QObject):
            services.moveToThread(self.thread_)
        self._submit.connect(self._worker.run)
        self._worker.finished.connect(self._finished)
        self._ids = itertools.count(1)
        self._in_flight: dict[int, Op] = {}
        self.thread_.start()

    def submit(self, op: Op) -> int:
        job_id = next(self._ids)
        self._in_flight[job_id] = op
        self._submit.emit(_Job(job_id, op.work, op.label))
        return job_id

    def forget(self, job_id: int) -> None:
        """The job timed out: dropped if it has not begun, its late answer ignored if it
        has."""
        self._in_flight.pop(job_id, None)
        self._worker.cancel(job_id)

    def busy(self) -> bool:
        return bool(self._in_flight)

    @Slot(int, bool, object)
    def _finished(self, job_id: int, ok: bool, payload: Any) -> None:
        op = self._in_flight.pop(job_id, None)
        if op is None:  # it timed out: the screen has moved on
            log.warning("a late result for job %d dropped (%s)", job_id,
                        "ok" if ok else getattr(payload, "code", "?"))
            return
        op._done(ok, payload)

    def stop(self) -> None:
        self.thread_.quit()
        self.thread_.wait(WORKER_STOP_MS)


class Op:
    """One piece of work on the services, with its callbacks (see the module's doc)."""

    def __init__(self, parent: QObject, work: Callable[[Any], Any],
                 success: Callable[[Any], None] | None = None,
                 failure: Callable[[OpFailure], None] | None = None, label: str = "",
                 timeout_s: float = COUNTER_TIMEOUT_S,
                 progress: Callable[[str], None] | None = None) -> None:
        self.parent, self.work, self.label = parent, work, label
        self._success, self._failure, self._progress = success, failure, progress
        self.timeout_s = timeout_s
        self._job: int | None = None
        self._started = 0.0
        self._timers: list[QTimer] = []

    def run(self, runner: Runner | None = None) -> Op:
        runner = runner or _runner_of(self.parent)
        self._runner = runner
        self._started = time.monotonic()
        self._job = runner.submit(self)
        if self._progress is not None:
            self._timer(PROGRESS_DELAY_MS, self._show_progress)
        self._timer(int(self.timeout_s * 1000), self._timed_out)
        return self

    def _timer(self, ms: int, then: Callable[[], None]) -> None:
        timer = QTimer(self.parent)
        timer.setSingleShot(True)
        timer.timeout.connect(then)
        timer.start(ms)
        self._timers.append(timer)

    def _stop_timers(self) -> None:
        for timer in self._timers:
            timer.stop()
            timer.deleteLater()
        self._timers = []

    def _show_progress(self) -> None:
        assert self._progress is not None
        self._progress(QCoreApplication.translate("Op", "Working… waiting for {0}")
                       .format(self.label))

    def _timed_out(self) -> None:
        assert self._job is not None
        self._runner.forget(self._job)
        self._stop_timers()
        log.warning("%s: no answer after %g s; the screen is freed", self.label, self.timeout_s)
        self._done(False, OpFailure("timeout", QCoreApplication.translate(
            "Op", "No answer after {0} s while waiting for {1}. It may still be done: "
            "look at today's receipts (F11) before trying again.").format(
                f"{self.timeout_s:g}", self.label)))

    def _done(self, ok: bool, payload: Any) -> None:
        self._stop_timers()
        if ok:
            if self._success is not None:
                self._success(payload)
        elif self._failure is not None:
            self._failure(payload)
        else:
            log.warning("%s failed: %s", self.label, getattr(payload, "message", payload))


def _runner_of(obj: QObject | None) -> Runner:
    """The runner of the window `obj` belongs to (its `runner` attribute)."""
    while obj is not None:
        runner = getattr(obj, "runner", None)
        if isinstance(runner, Runner):
            return runner
        obj = obj.parent()
    raise AssertionError("an Op's parent must belong to a window with a runner")
