"""Start the Qt application: the look and language (terminal.ui.look, with this terminal's
saved settings laid over the launch's language) and the counter window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from sync.platform import procs
from terminal.ui import look
from terminal.ui.window import MainWindow

DEFAULT_LANGUAGE = look.DEFAULT_LANGUAGE


def run(data_dir: Path, demo_base: Path | None = None, argv: list[str] | None = None,
        lang: str = DEFAULT_LANGUAGE) -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        argv or sys.argv[:1])
    app.setApplicationName("Machi POS")
    look.load_style(app)
    look.set_language(lang)
    window = MainWindow(data_dir, demo_base)  # applies the terminal's saved settings
    window.show()
    # SIGTERM (a service manager stopping the counter; SIGBREAK on Windows) closes the window
    # properly: the journal and sync threads stop and the demo ledger with them. Python sees
    # the signal when the event loop hands it control, which the window's status timer does
    # each second.
    procs.on_stop(window.close)
    return app.exec()
