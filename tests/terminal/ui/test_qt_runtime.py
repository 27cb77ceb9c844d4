"""The Qt binding itself: PySide6-Essentials 6.12.0's Signal.emit() dropped a reference to
True on every call, which aborted the counter after a few thousand signals (a day of sales).
This keeps any release with that fault out."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

EMISSIONS = 500  # a leak of one per call shows; too few to exhaust True and abort


class _Emitter(QObject):
    fired = Signal(str)


def test_emitting_signals_leaves_true_alone(qapp):
    emitter = _Emitter()
    received = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True)
    for _ in range(EMISSIONS):
        emitter.fired.emit("x")
    assert len(received) == EMISSIONS
    assert abs(sys.getrefcount(True) - before) < EMISSIONS // 10, "this PySide6 leaks True"
