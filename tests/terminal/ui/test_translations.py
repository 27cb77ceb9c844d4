"""The Japanese translation (terminal/resources/i18n/machi_ja.ts) covers every English sentence the
counter can show: each literal `tr(...)` in terminal/ui, each refusal reason, each campaign
note and the campaign words the receipt prints; a translation keeps its placeholders. A
sentence left out would reach a Japanese cashier in English."""

from __future__ import annotations

import ast
import re
import string
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from terminal import receipt
from terminal.policy import REASONS

ROOT = Path(__file__).resolve().parents[3]
TS_FILE = ROOT / "terminal" / "resources" / "i18n" / "machi_ja.ts"
UI_DIR = ROOT / "terminal" / "ui"
NAMES_OF_THEMSELVES = ("English",)  # the language switch names the language in itself


def catalogue() -> dict[tuple[str, str], str | None]:
    """(context, English) -> Japanese, None when unfinished or empty."""
    out: dict[tuple[str, str], str | None] = {}
    for context in ET.parse(TS_FILE).getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            translation = message.find("translation")
            done = translation is not None and translation.get("type") is None
            out[(name, message.findtext("source"))] = \
                translation.text if done and translation.text else None
    return out


def literal_tr_calls() -> set[str]:
    """Every English string passed as a literal to `tr` / `self.tr` in the Qt code."""
    found = set()
    for path in UI_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "tr" and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def fields(text: str) -> list[str]:
    return sorted(name for _, name, spec, _ in string.Formatter().parse(text)
                  if name is not None)


def expected() -> list[tuple[str, str]]:
    from terminal.ui.screen import POCKETS
    from terminal.ui.shop import DOUBLE_TAGS

    out = [("MainWindow", text) for text in literal_tr_calls()]
    out += [("MainWindow", text) for text in DOUBLE_TAGS.values()]
    out += [("MainWindow", text) for text in POCKETS.values()]
    out += [("Refusal", text) for text in REASONS.values()]
    out += [("effectwords", text) for text in receipt.NOTE_WORDS["en"].values()]
    out += [("Campaign", text) for text in receipt.CAMPAIGN_WORDS["en"].values()]
    return sorted(set(out))


@pytest.mark.parametrize("context, english", expected())
def test_every_sentence_has_a_japanese_translation(context, english):
    japanese = catalogue().get((context, english))
    assert japanese, f"no finished translation in {context}: {english!r}"
    assert fields(japanese) == fields(english), "a placeholder was lost or renamed"
    words = re.sub(r"\{[^}]*\}", "", english)
    assert not (re.fullmatch(r"[\x00-\x7f]*", japanese) and re.search(r"[A-Za-z]{3,}", words)
                and english not in NAMES_OF_THEMSELVES), "still English"


def test_the_screen_and_the_receipt_say_the_same_about_campaigns():
    table = catalogue()
    for key, english in receipt.CAMPAIGN_WORDS["en"].items():
        assert table[("Campaign", english)] == receipt.CAMPAIGN_WORDS["ja"][key]


def test_no_translation_is_left_for_a_sentence_that_is_gone():
    wanted = set(expected())
    # Some sentences are passed through tr() from data (decisions, languages, modes).
    stale = [key for key in catalogue() if key[0] in ("Refusal", "effectwords", "Campaign")
             and key not in wanted]
    assert not stale, f"translations of sentences no longer in the code: {stale}"
