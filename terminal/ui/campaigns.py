"""What the town's campaigns did to a sale, in words on the result screen (DESIGN §11).

The wording is the receipt's (`terminal.receipt.campaign_lines`), so screen and paper say
the same: its English templates go through Qt's translation (context "Campaign"). Campaign
names are data, already in the town's words, and are never translated.

The counter's notes about campaigns that did not apply travel as codes with parameters
(terminal.effects.Note) and are worded by terminal.ui.effectwords.

The screens ask for all of this through ONE function, `outcome_words(outcome)`.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from terminal import receipt
from terminal.counter import Outcome
from terminal.ui.effectwords import effect_text
from terminal.ui.widgets import yen

CONTEXT = "Campaign"
MINUS = "−"  # a discount on screen: a real minus sign reads better than a hyphen at 16 pt


def outcome_words(outcome: Outcome) -> tuple[list[str], list[str]]:
    """What the campaigns did to a sale, and the notes about those that did not apply,
    each a line in the interface's language."""
    return lines(outcome), [effect_text(note) for note in outcome.notes]


def words() -> dict[str, str]:
    """The "c/..." templates in the interface's language."""
    return {key: QCoreApplication.translate(CONTEXT, template)
            for key, template in receipt.CAMPAIGN_WORDS["en"].items()}


def lines(outcome: Outcome) -> list[str]:
    """One line per thing a campaign did, e.g. "北斗市 冬のクーポン −¥150" or
    "牧之原 スタンプラリー: スタンプ 1個 (この店の先着割引 −¥200)"."""
    out = []
    for parts in receipt.campaign_lines(outcome, words(), yen, MINUS):
        (text, value), *more = parts
        line = f"{text} {value}".strip()
        for text, value in more:
            line += f" ({text} {value})" if value else f" ({text})"
        out.append(line)
    return out

