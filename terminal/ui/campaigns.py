"""What the town's campaigns did to a sale, in words on the result screen (DESIGN §11).

The wording is the receipt's (`terminal.receipt.campaign_lines`), so screen and paper say
the same: its English templates go through Qt's translation (context "Campaign"). Campaign
names are data, already in the town's words, and are never translated.

The counter's notes about campaigns that did not apply arrive as English sentences made from
`terminal.offers.SKIP_REASONS`; each is matched back to its template, which is translated
(context "Note") and filled in again.

The screens ask for all of this through ONE function, `outcome_words(outcome)`: when the
campaign effects and notes travel as codes with parameters (terminal.ui.effectwords), that
function is the one place to change, and the regex matching here goes.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QCoreApplication

from terminal import receipt
from terminal.counter import Outcome
from terminal.offers import SKIP_REASONS
from terminal.ui.widgets import yen

CONTEXT = "Campaign"
NOTE_CONTEXT = "Note"
MINUS = "−"  # a discount on screen: a real minus sign reads better than a hyphen at 16 pt


def outcome_words(outcome: Outcome) -> tuple[list[str], list[str]]:
    """What the campaigns did to a sale, and the notes about those that did not apply,
    each a line in the interface's language."""
    return lines(outcome), [note(text) for text in outcome.notes]


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


@cache
def _pattern(template: str) -> re.Pattern:
    pieces = re.split(r"(\{\w+\})", template)
    return re.compile("".join(f"(?P<{piece[1:-1]}>.+?)" if piece.startswith("{")
                              else re.escape(piece) for piece in pieces) + r"\Z")


def note(text: str) -> str:
    """A note in the interface's language (as it came when it matches no template)."""
    for template in SKIP_REASONS.values():
        found = _pattern(template).match(text)
        if found:
            return QCoreApplication.translate(NOTE_CONTEXT, template).format(**found.groupdict())
    return text
