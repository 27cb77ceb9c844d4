"""How the counter looks and speaks: style sheets (high contrast and large type as options)
and the interface language with its Qt translator. The one place that holds this state.

Every resource file (style sheets, translations) is found through `resource_dir()`, which
asks terminal.paths (the package's own resources, in a checkout, a wheel or a frozen app).

Translations are Qt's: `terminal/resources/i18n/machi_ja.ts` is the source, compiled to
`.qm` by the set-up or the wheel's build (pyside6-lrelease). Without the `.qm` the app runs
in English and says so in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication

from terminal import paths, settings

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "ja"
LANGUAGES = ("ja", "en")
STYLE_FILE = "style.qss"
OPTIONS = ("high_contrast", "large_type")  # each a style sheet laid over the base one
TRANSLATION_FILES = {"ja": "i18n/machi_ja.qm"}


def resource_dir() -> Path:
    """Where styles and translations are: inside the package (terminal.paths), so a wheel
    and a frozen app carry them."""
    return paths.resource_dir()


class _Look:
    """The state itself: one instance, `_look`, for the whole process."""

    def __init__(self) -> None:
        self.language = "en"
        self.options: set[str] = set()
        self.translator: QTranslator | None = None


_look = _Look()


def language() -> str:
    return _look.language


def options() -> frozenset[str]:
    return frozenset(_look.options)


def load_style(app: QCoreApplication | None = None) -> None:
    """The base sheet and the options that are on, applied to the whole application."""
    app = app or _application()
    if not isinstance(app, QApplication):
        return
    folder = resource_dir()
    names = [STYLE_FILE] + [f"{option}.qss" for option in sorted(_look.options)]
    text = []
    for name in names:
        try:
            text.append((folder / name).read_text("utf-8"))
        except OSError as exc:
            log.warning("style sheet %s not loaded: %s", name, exc)
    app.setStyleSheet("\n".join(text))


def set_option(option: str, on: bool) -> None:
    assert option in OPTIONS, option
    if on:
        _look.options.add(option)
    else:
        _look.options.discard(option)
    load_style()


def toggle_style(option: str) -> None:
    set_option(option, option not in _look.options)


def set_language(language: str) -> bool:
    """Switch the interface language; every window retranslates itself (LanguageChange).
    False when the compiled translation is missing (the interface stays in English)."""
    app = QCoreApplication.instance()
    assert app is not None, "the Qt application comes first"
    if _look.translator is not None:
        app.removeTranslator(_look.translator)
        _look.translator = None
    if language in TRANSLATION_FILES:
        path = resource_dir() / TRANSLATION_FILES[language]
        translator = QTranslator(app)
        if not translator.load(str(path)):
            log.warning("no compiled translation at %s: run ./run.sh to build it", path)
            _look.language = "en"
            return False
        app.installTranslator(translator)
        _look.translator = translator
    _look.language = language
    return True


def switch_language() -> None:
    set_language("en" if _look.language == "ja" else "ja")


def apply_settings(data_dir: Path) -> None:
    """This terminal's language and look as it was left (terminal.settings); a terminal
    with none saved keeps the launch's language and the plain look."""
    if not settings.saved(data_dir):
        return
    chosen = settings.load(data_dir)
    set_language(chosen.language)
    set_option("high_contrast", chosen.high_contrast)
    set_option("large_type", chosen.large_type)


def save_settings(data_dir: Path) -> None:
    settings.save(data_dir, settings.Settings(_look.language, "high_contrast" in _look.options,
                                              "large_type" in _look.options))


def _application() -> QApplication | None:
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else None
