"""Campaign notes travel as codes with parameters (terminal.effects.Note) and are worded
only by the receipt (here) and the screen (tests/terminal/ui/test_effectwords.py): every
code in Japanese and English, with its parameters, on paper."""

from __future__ import annotations

import re

import pytest

from terminal import receipt
from terminal.counter import Outcome
from terminal.effects import NOTE_PARAMS, Note
from terminal.receipt import build_receipt

AT = "2026-11-22T14:05:09.123+09:00"
TX = "01JD8Z3K4Q7M2X9V5T6B8N0C1R"
SHOP = {"merchant_id": "M-SAKURA", "name": "さくら商店", "class": "small"}
# Parameters as the counter gives them: the Makinohara rally (seed 004: ¥600 a person, at
# most 6 completions), a restaurant bill of ¥1,000 for two (¥500 each), a void keeping ¥1,500.
PARAMS = {"name": "牧之原 スタンプラリー", "max": 6, "share": 500, "threshold": 600,
          "yen": 1_500}
# What each parameter looks like in words.
SHOWN = {"name": "牧之原 スタンプラリー", "max": "6", "share": "¥500", "threshold": "¥600",
         "yen": "¥1,500"}


def sample(code: str) -> Note:
    return Note(code, {name: PARAMS[name] for name in NOTE_PARAMS[code]})


def placeholders(template: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", template))


def test_every_code_has_words_in_both_languages_with_its_parameters():
    for lang in receipt.LANGS:
        assert set(receipt.NOTE_WORDS[lang]) == set(NOTE_PARAMS), lang
        for code, template in receipt.NOTE_WORDS[lang].items():
            assert placeholders(template) == set(NOTE_PARAMS[code]), (lang, code)


@pytest.mark.parametrize("code", sorted(NOTE_PARAMS))
def test_each_note_is_worded_with_its_figures(code):
    note = sample(code)
    japanese, english = receipt.note_text(note, "ja"), receipt.note_text(note, "en")
    for name in NOTE_PARAMS[code]:
        assert SHOWN[name] in japanese and SHOWN[name] in english, (code, name)
    assert re.search(r"[ぁ-んァ-ン一-龯]", japanese.replace(PARAMS["name"], ""))
    assert re.fullmatch(r"[\x20-\x7e¥]*", english.replace(PARAMS["name"], ""))


def test_a_note_takes_exactly_its_parameters():
    with pytest.raises(AssertionError):
        Note("sold_out", {})
    with pytest.raises(AssertionError):
        Note("grant_spent_kept", {"yen": 1, "name": "x"})
    with pytest.raises(AssertionError):
        Note("sold out", {"name": "x"})
    assert sample("diner_no_stamp").as_json() == {
        "code": "diner_no_stamp",
        "params": {"name": "牧之原 スタンプラリー", "share": 500, "threshold": 600}}


@pytest.mark.parametrize("lang", receipt.LANGS)
def test_the_receipt_prints_the_notes(lang):
    """A ¥1,000 payment at a restaurant for two: the rally's ¥500 a person is under its
    ¥600, so no stamp for the other diner; the Hokuto coupon ran out at this terminal."""
    notes = [sample("diner_no_stamp"), Note("sold_out", {"name": "北斗市 冬のクーポン"})]
    outcome = Outcome("payment", 7, TX, 1_000, "W-1", "online", {"charged": 1_000}, 4_000,
                      {"at": AT, "type": "payment", "body": {"amount": 1_000}}, notes=notes)
    made = build_receipt(outcome, SHOP, "T-1", lang)
    assert made.notes == tuple(receipt.note_text(note, lang) for note in notes)
    printed = "".join(made.text_lines()).replace(" ", "")
    for note in notes:
        assert receipt.note_text(note, lang).replace(" ", "") in printed
    assert receipt.TEXT[lang]["campaigns"] in printed  # under the campaigns heading
    assert "¥500" in printed and "¥600" in printed


def test_a_receipt_without_notes_has_no_campaign_heading():
    outcome = Outcome("payment", 7, TX, 1_000, "W-1", "online", {"charged": 1_000}, 4_000,
                      {"at": AT, "type": "payment", "body": {"amount": 1_000}})
    printed = "".join(build_receipt(outcome, SHOP, "T-1", "en").text_lines())
    assert "Campaigns" not in printed
