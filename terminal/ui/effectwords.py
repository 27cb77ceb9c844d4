"""What the counter tells the cashier about a sale's campaigns, in the interface's language.

A note travels as a code with parameters (terminal.effects.Note); this is where the screen
words it. The English template of each code is the receipt's (terminal.receipt.NOTE_WORDS),
translated by Qt in context "effectwords" to the receipt's Japanese, so screen and paper say
the same thing (tests/terminal/ui/test_effectwords.py checks every code).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from terminal import receipt
from terminal.effects import Note, shown_params

CONTEXT = "effectwords"


def template(code: str) -> str:
    """The template of one code in the interface's language."""
    return QCoreApplication.translate(CONTEXT, receipt.NOTE_WORDS["en"][code])


def effect_text(effect: Note) -> str:
    """One note in words, e.g. "北斗市 冬のクーポン: この端末の割当分がなくなりました。"."""
    return template(effect.code).format(**shown_params(effect))
