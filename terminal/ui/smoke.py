"""`machi-pos --smoke`: start the app as usual, and quit once its window has first been
drawn, printing how long that took. It checks that a package (a wheel, a PyInstaller
folder) carries everything the window needs; tests/test_packaging.py runs it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from terminal.ui import app as app_module

SMOKE_LINE = "machi-pos smoke: first paint after"


class _FirstPaint(QObject):
    """Quits the application at the first paint of a top-level window."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (not self.seen and event.type() == QEvent.Type.Paint and
                isinstance(watched, QWidget) and watched.isWindow()):
            self.seen = True
            print(f"{SMOKE_LINE} {time.perf_counter() - self.started:.2f} s "
                  f"({type(watched).__name__})", flush=True)
            QTimer.singleShot(0, self._quit)
        return False

    def _quit(self) -> None:
        for window in QApplication.topLevelWidgets():
            window.close()
        QApplication.quit()


def run_smoke(data_dir: Path, demo_base: Path | None = None, lang: str = "ja") -> int:
    started = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    watcher = _FirstPaint(started)
    app.installEventFilter(watcher)
    code = app_module.run(data_dir, demo_base, lang=lang)
    app.removeEventFilter(watcher)
    return code if watcher.seen else 1
