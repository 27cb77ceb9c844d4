"""Start the Qt application with the app's style and show the window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from terminal.ui.window import TrainingWindow

STYLE_FILE = Path(__file__).resolve().parents[2] / "resources" / "style.qss"
log = logging.getLogger(__name__)


def load_style(app: QApplication) -> None:
    try:
        app.setStyleSheet(STYLE_FILE.read_text("utf-8"))
    except OSError as exc:
        log.warning("style sheet not loaded, using Qt's default look: %s", exc)


def run(data_dir: Path, demo: bool, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Machi POS")
    load_style(app)
    window = TrainingWindow(data_dir, demo)
    window.show()
    return app.exec()
