"""Everything Japanese in the Japanese interface (#18.5): a sentence left in English fails
here.

(a) Statically, every sentence the Qt code hands to Qt's translation — `self.tr("…")` in a
class (context: the class), a module's own `tr`/`_tr` helper (context: the one its body
passes to `QCoreApplication.translate`), `QCoreApplication.translate("Context", "…")` —
and every table of sentences the new widgets translate by key, has a finished Japanese
translation in terminal/resources/i18n/machi_ja.ts, in that context, keeping its placeholders.

(b) Every refusal code raised anywhere (`Refused("code", …)` in terminal/ and sync/, the
token and gift-code errors) has a sentence in terminal.policy.REASONS, and that sentence a
Japanese one (context "Refusal").

(c) At run time, the counter window built in Japanese on the demo, signed in, every screen
shown, the admin screen unlocked: no text a widget holds (labels, buttons, tool tips, combo
items, list items, table headers, placeholders, titles) has a run of ASCII letters other
than data (paths, ids, codes with digits) and the short words of `ALLOWED_WORDS`. It walks
whatever top-level windows exist, so it survives the screens' restructuring.
"""

from __future__ import annotations

import ast
import re
import string
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QStackedWidget,
    QTableWidget,
    QTabWidget,
    QWidget,
)

import terminal.staff  # noqa: F401 - adds the staff refusals to REASONS
from terminal.paths import resource_dir
from terminal.policy import REASONS
from terminal.ui import admin, booth, customer, screen, statusbar

ROOT = Path(__file__).resolve().parents[3]
TS_FILE = resource_dir() / "i18n" / "machi_ja.ts"
UI_DIR = ROOT / "terminal" / "ui"
CODE_DIRS = (ROOT / "terminal", ROOT / "sync")
# Words a Japanese screen writes in Latin letters: the yen sign's neighbours, what is
# printed on cards and keys, file formats, units.
ALLOWED_WORDS = frozenset({
    "QR", "NFC", "PIN", "ID", "IC", "Z", "X", "CSV", "PDF", "XLSX", "OK", "pt", "MiB", "GiB",
    "KB", "MB", "Esc", "Enter", "Tab", "F", "USB", "TCP", "IP", "Wi", "Fi", "LAN",
    "ESC", "POS", "No",  # "No.2": a receipt's number, as Japanese receipts print it
    "English",  # the language switch names the language in itself
})
# Data, not words: a path, a web address, an id or code (capitals and digits, with a digit
# or a hyphen: T-Z9E6SH2R6W, W-…), a hash, a gift code, a number mask (XXXX-XXXX). A
# lower-case word beside a number ("10s", "3 records") is a word, not data.
DATA = re.compile(r"\S*[/\\]\S*|https?://\S+|MG1:\S*|\b[0-9a-f]{8,}\b"
                  r"|\b[0-9A-F]{4}(?: [0-9A-F]{4}){3,}\b"  # a key's fingerprint
                  r"|\b[A-Z]{1,3}-[A-Z0-9]{4,}\b"  # an id: T-WN3X1Z09B2, whatever it draws
                  r"|[*…]+[A-Z0-9]+\b"  # the end of a masked card, sale or gift code
                  r"|(?<![A-Za-z0-9])[A-Z0-9-]*\d[A-Z0-9-]*(?![a-z])"
                  r"|\b[A-Z]+-(?:…|\.\.\.)|\bX{2,}(?:-X{2,})*")
LATIN_RUN = re.compile(r"[A-Za-z]+")


# --- (a) the catalogue --------------------------------------------------------------

def catalogue() -> dict[tuple[str, str], str | None]:
    """(context, English) -> Japanese; None when unfinished or empty."""
    out: dict[tuple[str, str], str | None] = {}
    for context in ET.parse(TS_FILE).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            done = translation is not None and translation.get("type") is None
            text = translation.text if translation is not None else None
            out[(name, message.findtext("source") or "")] = text if done and text else None
    return out


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's string constants (NAME = "…")."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def _context_of(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _helper_contexts(tree: ast.Module, constants: dict[str, str]) -> dict[str, str]:
    """Module-level `def tr(text)` / `def _tr(text)` helpers: name -> their context."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                        call.func.attr == "translate" and call.args:
                    context = _context_of(call.args[0], constants)
                    if context:
                        out[node.name] = context
    return out


def sentences_in_code() -> set[tuple[str, str, str]]:
    """(context, English, where) for every literal sentence given to Qt's translation."""
    found = set()
    for path in sorted(UI_DIR.glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        constants = _constants(tree)
        helpers = _helper_contexts(tree, constants)
        classes = {}
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef):
                for inner in ast.walk(cls):
                    classes.setdefault(id(inner), cls.name)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            text_arg = node.args[0]
            context = None
            if isinstance(func, ast.Attribute) and func.attr == "translate" and \
                    len(node.args) >= 2:
                context, text_arg = _context_of(node.args[0], constants), node.args[1]
            elif isinstance(func, ast.Attribute) and func.attr == "tr" and \
                    isinstance(func.value, ast.Name) and func.value.id == "self":
                context = classes.get(id(node))
            elif isinstance(func, ast.Name) and func.id in helpers:
                context = helpers[func.id]
            if context and isinstance(text_arg, ast.Constant) and \
                    isinstance(text_arg.value, str):
                found.add((context, text_arg.value, where))
    return found


def sentences_in_tables() -> set[tuple[str, str, str]]:
    """The new widgets' sentences translated by key (their tables)."""
    out = set()
    tables = {customer.CONTEXT: [customer.WORDS, customer.POCKETS, customer.CUSTOMER_WORDS,
                                 customer.KIND_WORDS, {"": customer.ASK_STAFF}],
              statusbar.CONTEXT: [statusbar.FAILURE_WORDS, {"": statusbar.UNKNOWN_FAILURE}],
              screen.FAILURE_CONTEXT: [screen.FAILURE_WORDS],
              screen.CONTEXT: [{k: v for k, v in booth.AGE_BANDS.items() if v},
                               admin.READER_NAMES, admin.READER_STATES]}
    for context, dicts in tables.items():
        for table in dicts:
            for text in table.values():
                out.add((context, text, "table"))
    return out


def fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text)
                  if name is not None)


def test_the_scan_finds_the_sentences_it_must():
    """The scan is not empty-handed: it sees each kind of call."""
    found = {(context, text) for context, text, _ in sentences_in_code()}
    assert ("MainWindow", "Not accepted") in found  # self.tr in MainWindow
    assert ("LogView", "Refresh") in found  # a module's _tr helper
    assert ("StatusLine", "● Online") in found


def untranslated(wanted: set[tuple[str, str, str]]) -> list[str]:
    table = catalogue()
    out = []
    for context, english, where in sorted(wanted):
        japanese = table.get((context, english))
        if not japanese:
            out.append(f"{where} [{context}] {english!r}: no finished translation")
        elif fields(japanese) != fields(english):
            out.append(f"{where} [{context}] {english!r}: placeholders {fields(english)} "
                       f"became {fields(japanese)}")
    return out


def test_the_check_fails_on_what_it_must():
    """A sentence with no translation, one translated in another context only, and one whose
    translation lost a placeholder are each reported."""
    said = untranslated({("StatusLine", "No such sentence anywhere", "x.py:1"),
                         ("LogView", "● Online", "x.py:2"),
                         ("StatusLine", "{0} unsent", "x.py:3")})
    assert len(said) == 2 and all("no finished translation" in s for s in said)
    table = catalogue()
    assert fields(table[("StatusLine", "{0} unsent")] or "") == ["0"]
    assert fields("未送信") != fields("{0} unsent")


def test_every_sentence_of_the_code_has_a_finished_japanese_translation():
    assert not untranslated(sentences_in_code() | sentences_in_tables())


def test_the_new_widgets_keep_no_translation_of_a_sentence_that_is_gone():
    from terminal.ui import logview

    contexts = {customer.CONTEXT, statusbar.CONTEXT, logview.CONTEXT}
    wanted = {(context, text) for context, text, _ in
              sentences_in_code() | sentences_in_tables()}
    stale = [key for key in catalogue() if key[0] in contexts and key not in wanted]
    assert not stale


# --- (b) refusals --------------------------------------------------------------------

RAISED = re.compile(r"\bRefused\(\s*[\"'](\w+)[\"']")
RAISED_BY_NAME = re.compile(r"\bRefused\(\s*[\"'](\w+)[\"']\s+if\b.*?else\s+[\"'](\w+)[\"']")


def refusal_codes_raised() -> dict[str, str]:
    """Every code a `Refused(...)` is raised with in terminal/ and sync/ -> where."""
    out = {}
    for folder in CODE_DIRS:
        for path in sorted(folder.rglob("*.py")):
            text = path.read_text("utf-8")
            for pattern in (RAISED, RAISED_BY_NAME):
                for found in pattern.finditer(text):
                    line = text.count("\n", 0, found.start()) + 1
                    for code in found.groups():
                        out.setdefault(code, f"{path.relative_to(ROOT)}:{line}")
    return out


def test_the_refusal_scan_sees_the_codes_it_must():
    codes = refusal_codes_raised()
    assert {"insufficient", "staff_pin_wrong", "scan_empty", "app_only", "card_only"} <= \
        set(codes)


def test_every_refusal_raised_anywhere_has_a_japanese_message():
    table = catalogue()
    missing = []
    for code, where in sorted(refusal_codes_raised().items()):
        english = REASONS.get(code)
        if english is None:
            missing.append(f"{where}: {code} has no sentence in terminal.policy.REASONS")
        elif not table.get(("Refusal", english)):
            missing.append(f"{where}: {code} {english!r} has no Japanese (context Refusal)")
        elif fields(table[("Refusal", english)] or "") != fields(english):
            missing.append(f"{where}: {code}: placeholders differ")
    assert not missing


def test_every_refusal_message_has_japanese():
    """Also those raised through other exception classes (tokens, gift codes)."""
    table = catalogue()
    assert not [code for code, english in REASONS.items()
                if not table.get(("Refusal", english))]


def terminal_failure_codes() -> dict[str, str]:
    """The code of every expected terminal failure (terminal.errors.TerminalError and its
    subclasses anywhere in terminal/) -> its class."""
    import importlib
    import pkgutil

    import terminal
    from terminal.errors import TerminalError

    for module in pkgutil.walk_packages(terminal.__path__, "terminal."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    out, todo = {}, [TerminalError]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        out.setdefault(cls.code, f"{cls.__module__}.{cls.__qualname__}")
    return out


def failure_sentence(code: str) -> str | None:
    """The Japanese words the window shows for a failure's code: its refusal sentence
    (context "Refusal") or its failure sentence (terminal.ui.screen.FAILURE_WORDS)."""
    table = catalogue()
    if code in REASONS:
        return table.get(("Refusal", REASONS[code]))
    if code in screen.FAILURE_WORDS:
        return table.get((screen.FAILURE_CONTEXT, screen.FAILURE_WORDS[code]))
    return None


def test_every_terminal_failure_has_japanese_words():
    missing = sorted(code for code in terminal_failure_codes() if not failure_sentence(code))
    assert not missing, f"no Japanese words for {missing}"


def test_a_failure_is_said_in_japanese_and_in_english_with_its_message(qapp):
    """A second close refused by the tally: in Japanese its sentence, in English the
    failure's own message (which says more)."""
    from terminal.ui.ops import OpFailure

    failure = OpFailure("second_close", "the day 2026-12-02 was closed (Z) at 18:00")
    set_japanese()
    try:
        said = screen.failure_words(failure)
        assert said == catalogue()[(screen.FAILURE_CONTEXT, screen.FAILURE_WORDS["second_close"])]
        assert not latin_words(said)
    finally:
        set_english()
    assert screen.failure_words(failure) == failure.message


def test_the_journal_check_and_the_readers_are_worded_in_japanese(qapp, tmp_path):
    """The admin screen's journal check from terminal.audit's fields, and the devices'
    states, in Japanese: no English word left."""
    from terminal import audit
    from terminal.errors import JournalBroken, JournalError

    report = audit.VerifyReport("T-EJD8BAPHB7", 3, 3, "74dcc7fc009fbd16aa", 1, 3)
    set_japanese()
    try:
        intact = admin.journal_check_words(report)
        none_kept = admin.journal_check_words(audit.VerifyReport("T-EJD8BAPHB7", 0, 0, "", 0,
                                                                 0))
        broken = admin.journal_check_words(JournalBroken(7, "prev hash differs"))
        unreadable = admin.journal_check_words(JournalError(f"no journal at {tmp_path}"))
        states = [admin.reader_state_words(name, text) for name, text in (
            ("camera", "unavailable: no camera is plugged in"), ("sound", "ready"),
            ("printer", "ready: file /tmp/r.txt"),
            ("printer", f"no printer: receipts saved as PDF in {tmp_path}"),
            ("sound", "aplay not found: install alsa-utils"))]
        names = [admin.reader_name_words(name) for name in admin.READER_NAMES]
    finally:
        set_english()
    assert "T-EJD8BAPHB7" in intact and "74dcc7fc009fbd16" in intact and "3" in intact
    assert "7" in broken
    for text in (intact, none_kept, broken, unreadable, *states, *names):
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text
        assert not latin_words(text), text
    assert states[0] != states[1] and states[1] == states[2]
    assert states[4] == states[0]  # a sound that cannot play: unavailable
    # in English the device's own line, and the check's sentence as terminal.audit says it
    assert "journal intact" in admin.journal_check_words(report)
    assert admin.reader_state_words("camera", "unavailable: no camera is plugged in") == \
        "unavailable: no camera is plugged in"


# --- (c) at run time -----------------------------------------------------------------

def latin_words(text: str) -> list[str]:
    """The runs of ASCII letters in `text` that are words, not data or allowed."""
    rest = DATA.sub(" ", text)
    return [word for word in LATIN_RUN.findall(rest) if word not in ALLOWED_WORDS]


def test_latin_words_tells_words_from_data():
    assert latin_words("端末 T-0001 · データ: /tmp/pytest-1/terminal") == []
    assert latin_words("¥1,500 お支払い · QR · PIN · 100 pt") == []
    assert latin_words("カード番号 XXXX-XXXX-XXXX · W-… · ハッシュ 3c23d5f3cd6ae748") == []
    assert latin_words("端末 T-ABCDEFGHJK · 取引ID *KGGEKPV · ギフト …QXWZ") == []
    assert latin_words("台帳鍵: 47A6 1E40 2DCC C31F 09A7 181A 9B6B 6D1A · 2DCC") == []
    assert latin_words("年代 20s") == ["s"]  # an English plural, not data
    assert latin_words("● Online · 0 unsent") == ["Online", "unsent"]


def texts_of(widget: QWidget) -> list[tuple[str, str]]:
    """(what, text) for everything `widget` itself shows in words."""
    out = []
    kind = type(widget).__name__
    name = widget.objectName() or kind
    if widget.toolTip() and not widget.property(admin.TECHNICAL_TIP):
        # (a device's or the journal check's own words, for support, stay in English)
        out.append((f"{name} tooltip", widget.toolTip()))
    if widget.isWindow() and widget.windowTitle():
        out.append((f"{name} title", widget.windowTitle()))
    if isinstance(widget, (QLabel, QAbstractButton)):
        out.append((name, widget.text()))
    if isinstance(widget, QLineEdit):
        out += [(name, widget.placeholderText())]
    if isinstance(widget, QPlainTextEdit):
        out += [(name, widget.placeholderText())]
    if isinstance(widget, QComboBox):
        out += [(f"{name} item", widget.itemText(i)) for i in range(widget.count())]
    if isinstance(widget, QListWidget):
        out += [(f"{name} item", widget.item(i).text()) for i in range(widget.count())]
    if isinstance(widget, QTableWidget):
        for column in range(widget.columnCount()):
            item = widget.horizontalHeaderItem(column)
            if item is not None:
                out.append((f"{name} header", item.text()))
    if isinstance(widget, QTabWidget):
        out += [(f"{name} tab", widget.tabText(i)) for i in range(widget.count())]
    if isinstance(widget, (QGroupBox, QDockWidget)):
        out.append((name, widget.title() if isinstance(widget, QGroupBox)
                    else widget.windowTitle()))
    return [(what, text) for what, text in out if text]


def english_on_screen() -> list[str]:
    out = []
    for top in QApplication.topLevelWidgets():
        if not top.isVisible():
            continue
        for widget in [top, *top.findChildren(QWidget)]:
            for what, text in texts_of(widget):
                words = latin_words(text)
                if words:
                    out.append(f"{what}: {text!r} -> {words}")
    return sorted(set(out))


def set_japanese() -> None:
    """The interface in Japanese, wherever the look-and-language state lives."""
    try:
        from terminal.ui import look  # type: ignore[attr-defined]

        look.set_language("ja")
    except ImportError:
        from terminal.ui import app

        assert app.set_language("ja"), "compile the .qm: pyside6-lrelease"


def set_english() -> None:
    try:
        from terminal.ui import look  # type: ignore[attr-defined]

        look.set_language("en")
    except ImportError:
        from terminal.ui import app

        app.set_language("en")


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-translated")


@pytest.fixture
def japanese_window(qtbot, demo_base):
    from terminal.ui.window import MainWindow
    from tests.terminal.ui.helpers import READY_MS, sign_in, unlock_admin

    set_japanese()
    win = MainWindow(demo_base / "terminal", demo_base)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: bool(win.info) and bool(win.offers), timeout=READY_MS)
    qtbot.waitUntil(lambda: win.last_status is not None, timeout=READY_MS)
    sign_in(qtbot, win, "manager")
    unlock_admin(qtbot, win)
    yield win
    win.close()
    set_english()


def walk_every_screen(qtbot, win) -> list[str]:
    """Each page of each stack shown in turn; what is in English on any of them."""
    found = set(english_on_screen())
    for stack in win.findChildren(QStackedWidget):
        for index in range(stack.count()):
            stack.setCurrentIndex(index)
            QCoreApplication.processEvents()
            found.update(english_on_screen())
    return sorted(found)


def after_a_sale_and_a_refusal(qtbot, win) -> list[str]:
    """A demo card pays ¥500, then is refused ¥900,000 (more than any balance), then its
    balance is looked up at the booth: the result panel's words after each."""
    from tests.terminal.ui.helpers import first, settle, type_amount

    found: set[str] = set()
    card = first(win, "card")
    for amount in (500, 900_000):
        win.modes["shop"].click()
        type_amount(win, win.shop, amount)
        win.shop.buttons["pay"].click()
        win.present("card", card)
        settle(qtbot, win.shop)
        found.update(english_on_screen())
    win.modes["booth"].click()
    win.booth.buttons["balance"].click()
    win.present("card", card)
    settle(qtbot, win.booth)
    found.update(english_on_screen())
    return sorted(found)


def test_no_english_in_the_japanese_window(qtbot, japanese_window):
    win = japanese_window
    qtbot.waitUntil(lambda: win.modes["admin"].text() != "", timeout=5_000)
    english = walk_every_screen(qtbot, win)
    english += after_a_sale_and_a_refusal(qtbot, win)
    assert not english, "\n".join(english)


def test_the_walk_sees_the_japanese_window(qtbot, japanese_window):
    """What the walk reads is the window in Japanese: the mode buttons are in Japanese, and
    the walk finds every stack's pages."""
    win = japanese_window
    texts = {text for top in QApplication.topLevelWidgets() if top.isVisible()
             for widget in top.findChildren(QAbstractButton) for _, text in texts_of(widget)}
    assert texts and any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in texts)
    assert win.findChildren(QStackedWidget)
    assert Qt.WindowType.Window & win.windowFlags()


def test_the_admin_actions_answer_in_japanese(qtbot, japanese_window):
    """The admin screen's result lines in the Japanese window: a sync now, the journal
    check, an X report, the day's sheet exported, a close without a count and a look-up of
    no wallet id (both refused): each answer on screen is Japanese."""
    from tests.terminal.ui.helpers import DONE_MS, unlock_admin

    win = japanese_window
    admin_screen = win.admin
    assert not after_a_sale_and_a_refusal(qtbot, win)  # a sale: the day has a sheet
    win.modes["admin"].click()
    if not admin_screen.is_open():  # leaving the admin screen locks it
        unlock_admin(qtbot, win)
    admin_screen.buttons["sync"].click()
    admin_screen.lookup_id.setText("not a wallet id!")
    admin_screen._look_up()
    qtbot.waitUntil(lambda: "✘" in admin_screen.lookup_info.text(), timeout=DONE_MS)
    refused = admin_screen.lookup_info.text()
    admin_screen.verify_info.clear()
    admin_screen.buttons["verify"].click()
    qtbot.waitUntil(lambda: admin_screen.verify_info.text().startswith("✔"), timeout=DONE_MS)
    checked = admin_screen.verify_info.text()
    admin_screen.buttons["x_report"].click()
    qtbot.waitUntil(lambda: "→" in admin_screen.verify_info.text(), timeout=DONE_MS)
    reported = admin_screen.verify_info.text()
    admin_screen.day_controls.export_button.click()
    qtbot.waitUntil(lambda: bool(admin_screen.day_controls.info.text()), timeout=DONE_MS)
    admin_screen.counted.clear()
    admin_screen.buttons["close_day"].click()
    not_counted = admin_screen.verify_info.text()
    for text in (refused, checked, reported, not_counted,
                 admin_screen.day_controls.info.text()):
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text
        assert not latin_words(text), text
    assert not english_on_screen(), "\n".join(english_on_screen())
