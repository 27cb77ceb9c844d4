"""Start the Qt application: Japanese by default (English switchable), the style sheets
(high contrast and large type as options), and the counter window.

Translations are Qt's: `terminal/resources/i18n/machi_ja.ts` is the source, compiled to `.qm` by the
set-up (pyside6-lrelease). Without the `.qm` the app runs in English and says so in the log.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication

from sync.platform import procs
from terminal import paths
from terminal.ui.window import MainWindow

RESOURCES = paths.resource_dir()  # inside the package: a wheel and a frozen app carry it
STYLE_FILE = RESOURCES / "style.qss"
STYLE_OPTIONS = {"high_contrast": RESOURCES / "high_contrast.qss",
                 "large_type": RESOURCES / "large_type.qss"}
TRANSLATIONS = {"ja": RESOURCES / "i18n" / "machi_ja.qm"}
DEFAULT_LANGUAGE = "ja"
log = logging.getLogger(__name__)

_state = {"language": "en", "options": set()}
_translator: QTranslator | None = None


def load_style(app: QApplication) -> None:
    sheets = [STYLE_FILE] + [STYLE_OPTIONS[o] for o in sorted(_state["options"])]
    text = []
    for sheet in sheets:
        try:
            text.append(sheet.read_text("utf-8"))
        except OSError as exc:
            log.warning("style sheet %s not loaded: %s", sheet.name, exc)
    app.setStyleSheet("\n".join(text))


def toggle_style(option: str) -> None:
    _state["options"] ^= {option}
    app = QApplication.instance()
    if app is not None:
        load_style(app)


def set_language(language: str) -> bool:
    """Switch the interface language; every window retranslates itself."""
    global _translator
    app = QCoreApplication.instance()
    if _translator is not None:
        app.removeTranslator(_translator)
        _translator = None
    if language in TRANSLATIONS:
        translator = QTranslator(app)
        if not translator.load(str(TRANSLATIONS[language])):
            log.warning("no compiled translation at %s: run ./run.sh to build it",
                        TRANSLATIONS[language])
            _state["language"] = "en"
            return False
        app.installTranslator(translator)
        _translator = translator
    _state["language"] = language
    return True


def switch_language() -> None:
    set_language("en" if _state["language"] == "ja" else "ja")


def language() -> str:
    return _state["language"]


def run(data_dir: Path, demo_base: Path | None = None, argv: list[str] | None = None,
        lang: str = DEFAULT_LANGUAGE) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Machi POS")
    load_style(app)
    set_language(lang)
    window = MainWindow(data_dir, demo_base)
    window.show()
    # SIGTERM (a service manager stopping the counter) closes the window properly: the
    # journal and sync threads stop and the demo ledger with them. Python sees the signal
    # when the event loop hands it control, which the window's status timer does each second.
    procs.on_stop(window.close)  # SIGTERM (and SIGBREAK on Windows)
    return app.exec()
