"""The screen words every campaign note as the receipt does: English without a translator,
the receipt's Japanese with machi_ja.qm (context "effectwords"), parameters filled in."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from terminal import receipt
from terminal.effects import NOTE_PARAMS, Note
from terminal.paths import resource_dir
from terminal.ui import effectwords

QM = resource_dir() / "i18n" / "machi_ja.qm"
PARAMS = {"name": "牧之原 スタンプラリー", "max": 6, "share": 500, "threshold": 600,
          "yen": 1_500}


def notes() -> list[Note]:
    return [Note(code, {name: PARAMS[name] for name in names})
            for code, names in sorted(NOTE_PARAMS.items())]


@pytest.fixture
def japanese(qapp):
    translator = QTranslator()
    assert translator.load(str(QM)), "compile resources/i18n/machi_ja.ts first"
    QCoreApplication.installTranslator(translator)
    yield
    QCoreApplication.removeTranslator(translator)


def test_english_without_a_translator(qapp):
    for note in notes():
        assert effectwords.effect_text(note) == receipt.note_text(note, "en")


def test_japanese_as_on_the_receipt(japanese):
    for note in notes():
        text = effectwords.effect_text(note)
        assert text == receipt.note_text(note, "ja"), note.code
        assert text != receipt.note_text(note, "en")
    owed = effectwords.effect_text(Note("grant_spent_owed", {"yen": 400}))
    assert "¥400" in owed
