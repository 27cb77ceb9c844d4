"""The customer display (#18.2), built directly: each state in the customer's words, the
balance digits at least 15 mm tall on a 15.6" 1366x768 screen, nothing clipped, high
contrast, and the window that goes full screen on a second screen.

The sale is one of Shiga's Koko Coupon (seed 003) with a Makinohara stamp (seed 004):
set ① "7,500円 (販売額 5,000円) 全店共通ポイント/3,000円・専用ポイント/4,500円", usable
"令和4年1月8日(土)～令和4年2月28日(月)". A small shop sells goods for ¥1,700; its rally
stamp "1スタンプにつき200円をお買い物総額から割り引きます" takes ¥200 off, so ¥1,500 is
paid ("1回あたり1,500円以上の支払いが対象", just enough), from the small-shop pocket:
4,500 - 1,500 = ¥3,000 left there, ¥3,000 common untouched, ¥6,000 in all. The stamp is
the customer's second of the "3個" a rally card needs.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QRect, QTranslator
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QLabel, QWidget

from terminal.counter import Outcome, WalletView
from terminal.paths import resource_dir
from terminal.policy import REASONS
from terminal.ui import customer
from terminal.ui.customer import (
    BALANCE_DIGIT_PX,
    CUSTOMER_WORDS,
    REFERENCE_DPI,
    CustomerDisplay,
    CustomerPanel,
    CustomerWindow,
    customer_screen,
    digit_height,
    digit_px,
)

ROOT = Path(__file__).resolve().parents[3]
QM_FILE = resource_dir() / "i18n" / "machi_ja.qm"
DISPLAY_SIZE = (1366, 768)  # the display full screen on the reference screen
PANEL_SIZE = (480, 700)  # the compact panel beside a cashier's 1366x768 screen
SEED_USABLE = ("2022-01-08", "2022-02-28")


@pytest.fixture
def japanese(qapp):
    translator = QTranslator()
    assert translator.load(str(QM_FILE)), "compile the .qm: pyside6-lrelease"
    QCoreApplication.installTranslator(translator)
    yield
    QCoreApplication.removeTranslator(translator)


def koko_outcome() -> Outcome:
    return Outcome(kind="payment", seq=7, tx_id="tx-koko-1", amount=1_500, wallet_id="w-koko",
                   decision="offline", paid_by={"premium_exclusive": 1_500},
                   balance_after=6_000, price=1_700,
                   campaigns=[{"campaign": "maki-rally", "name": "牧之原 スタンプラリー",
                               "kind": "stamp_rally", "stamps": 1, "discount": 200}])


def koko_wallet() -> WalletView:
    first, last = SEED_USABLE
    lots = [{"lot": "l-common", "pocket": "premium_common", "remaining": 3_000,
             "expires": last, "usable_from": first, "classes": ["small", "large"]},
            {"lot": "l-small", "pocket": "premium_exclusive", "remaining": 3_000,
             "expires": last, "usable_from": first, "classes": ["small"]}]
    return WalletView(wallet_id="w-koko", status="active", status_reason="", lots=lots,
                      debt=0, offline_spent=1_500,
                      rally=[{"name": "牧之原 スタンプラリー", "needed": 3, "done": 0,
                              "shops": [{"name": "相良の店", "stamps": 1},
                                        {"name": "静波の店", "stamps": 1}]}])


def build(qtbot, cls=CustomerDisplay, size=DISPLAY_SIZE) -> CustomerDisplay:
    display = cls(dots_per_inch=REFERENCE_DPI)
    qtbot.addWidget(display)
    display.resize(*size)
    display.show()
    qtbot.waitExposed(display)
    return display


def shown_texts(display: QWidget) -> list[str]:
    return [label.text() for label in display.findChildren(QLabel)
            if label.isVisibleTo(display) and label.text()]


STATES = {
    "idle": lambda d: d.show_idle("ココ商店"),
    "amount": lambda d: d.show_amount(1_500),
    "approved": lambda d: d.show_result(koko_outcome(), koko_wallet()),
    "approved_total": lambda d: d.show_result(koko_outcome()),
    "refused": lambda d: d.show_refused("insufficient", "Not enough balance: ¥800 can be "
                                                        "used here."),
    "thanks": lambda d: d.show_thanks(),
}


def test_the_15_mm_arithmetic():
    """sqrt(1366² + 768²) = 1567.1 px over 15.6" is 100.45 px/in; 15 mm is 0.5906 in,
    59.3 px: 60 px whole. A 15.6" 1920x1080 screen (141.2 px/in) needs 83.4 -> 84 px; a
    screen that reports no believable size gets the reference."""
    assert REFERENCE_DPI == pytest.approx(100.45, abs=0.01)
    assert BALANCE_DIGIT_PX == 60
    assert digit_px(None) == digit_px(0.0) == digit_px(10_000.0) == BALANCE_DIGIT_PX
    assert digit_px(REFERENCE_DPI) == BALANCE_DIGIT_PX
    assert digit_px(math.hypot(1920, 1080) / 15.6) == 84


def ink_height(label: QLabel, text: str) -> int:
    """Rows of pixels `text` inks in `label`'s font (the one its style sheets left it)."""
    metrics = QFontMetrics(label.font())
    image = QImage(metrics.horizontalAdvance(text) + 8, metrics.height() + 8,
                   QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setFont(label.font())
    painter.setPen(QColor("#000000"))
    painter.drawText(4, 4 + metrics.ascent(), text)
    painter.end()
    rows = [y for y in range(image.height())
            if any(QColor(image.pixel(x, y)).lightness() < 128 for x in range(image.width()))]
    return rows[-1] - rows[0] + 1 if rows else 0


def test_balance_digits_are_at_least_15_mm_at_1366x768(qtbot, japanese):
    display = build(qtbot)
    display.show_result(koko_outcome(), koko_wallet())
    figures = [figure for _, _, figure in display.pocket_labels]
    assert [f.text() for f in figures] == ["¥3,000", "¥3,000"]
    for figure in figures:
        assert figure.isVisibleTo(display)
        assert digit_height(figure.font()) >= BALANCE_DIGIT_PX
        for digit in "0123456789":  # as drawn, each digit alone
            assert ink_height(figure, digit) >= BALANCE_DIGIT_PX - 1  # antialiased edge
    panel = build(qtbot, CustomerPanel, PANEL_SIZE)
    panel.show_result(koko_outcome(), koko_wallet())
    assert all(digit_height(f.font()) >= BALANCE_DIGIT_PX for _, _, f in panel.pocket_labels)


def test_each_state_in_japanese(qtbot, japanese):
    display = build(qtbot)
    STATES["idle"](display)
    assert shown_texts(display) == ["いらっしゃいませ", "ココ商店"]
    STATES["amount"](display)
    assert shown_texts(display) == ["お支払い金額", "¥1,500"]
    STATES["approved"](display)
    said = shown_texts(display)
    assert said[:3] == ["✔ 完了しました", "お支払い ¥1,500", "残高"]
    when = "有効期限 2022-02-28  2022-01-08 から利用可"
    assert said[3:9] == ["プレミアム商品券 (全店共通)", when, "¥3,000",
                         "プレミアム商品券 (中小店専用)", when, "¥3,000"]
    extras = said[9].split("\n")
    assert extras[0] == "牧之原 スタンプラリー: スタンプ 2/3"
    assert extras[1] == "ご利用のクーポン・キャンペーン"
    assert extras[2].startswith("・牧之原 スタンプラリー") and "−¥200" in extras[2]
    assert said[10:] == ["ありがとうございました"]
    STATES["approved_total"](display)
    assert ["合計", "¥6,000"] == shown_texts(display)[3:5]
    STATES["refused"](display)
    assert shown_texts(display) == ["✘ ご利用いただけません", "残高が不足しています。"]
    STATES["thanks"](display)
    assert shown_texts(display) == ["ありがとうございました"]


def test_each_state_in_english(qtbot):
    display = build(qtbot)
    STATES["approved_total"](display)
    assert shown_texts(display)[:5] == ["✔ Approved", "Paid ¥1,500", "Remaining balance",
                                        "Total", "¥6,000"]
    STATES["refused"](display)
    assert shown_texts(display) == ["✘ Not accepted", "Not enough balance."]


def test_a_refusal_never_shows_the_code_or_the_cashiers_words(qtbot, japanese):
    display = build(qtbot)
    for code in sorted(REASONS):
        display.show_refused(code, REASONS[code])
        said = " ".join(shown_texts(display))
        assert code not in said and REASONS[code] not in said
        assert not re.search(r"[A-Za-z]", said), f"{code}: {said!r}"
    for code, words in CUSTOMER_WORDS.items():
        display.show_refused(code, "")
        assert display.reason.text() == QCoreApplication.translate(customer.CONTEXT, words)


def clipped(display: QWidget) -> list[str]:
    """Visible labels not wholly inside the display or smaller than their text needs.
    Labels inside the scrolling body count against the body, which must not need to
    scroll at the display's size."""
    out = []
    whole = display.rect()
    body = display.body_area
    for label in display.findChildren(QLabel):
        if not label.isVisibleTo(display) or not label.text():
            continue
        inside = body.isAncestorOf(label)
        frame = body.widget().rect() if inside else whole
        origin = label.mapTo(body.widget() if inside else display, QPoint(0, 0))
        box = QRect(origin, label.size())
        need_h = label.heightForWidth(label.width()) if label.wordWrap() else \
            label.sizeHint().height()
        need_w = 0 if label.wordWrap() else label.sizeHint().width()
        if not frame.contains(box) or label.height() < need_h or label.width() < need_w:
            out.append(f"{label.objectName()} {label.text()!r} {box} needs {need_w}x{need_h}")
    if body.isVisibleTo(display) and body.verticalScrollBar().maximum() > 0:
        out.append("the body scrolls at this size")
    return out


@pytest.mark.parametrize("high_contrast", [False, True])
@pytest.mark.parametrize("state", sorted(STATES))
def test_nothing_is_clipped(qtbot, japanese, tmp_path, state, high_contrast):
    display = build(qtbot)
    display.set_high_contrast(high_contrast)
    STATES[state](display)
    qtbot.wait(1)  # let the layout settle before the picture
    assert display.grab().save(str(tmp_path / f"customer-{state}.png"))
    assert display.state() == state.split("_")[0]
    assert not clipped(display)


@pytest.mark.parametrize("state", ["amount", "refused", "approved"])
def test_the_compact_panel_keeps_all_it_says_reachable(qtbot, japanese, state):
    """The panel may scroll its body (a narrow column beside the cashier's screen), but
    nothing it says lies outside it."""
    panel = build(qtbot, CustomerPanel, PANEL_SIZE)
    STATES[state](panel)
    qtbot.wait(1)
    outside = [text for text in clipped(panel) if text != "the body scrolls at this size"]
    assert not outside


def test_approved_and_refused_differ_in_colour_too(qtbot):
    display = build(qtbot)
    corner = QPoint(1, 1)  # the frame's border, in the state's colour
    colours = {}
    for state in ("approved", "refused"):
        STATES[state](display)
        colours[state] = display.grab().toImage().pixelColor(corner).name()
    assert colours["approved"] != colours["refused"]
    assert QColor(colours["approved"]).green() > QColor(colours["approved"]).red()
    assert QColor(colours["refused"]).red() > QColor(colours["refused"]).green()


def test_high_contrast_is_white_on_black(qtbot):
    display = build(qtbot)
    STATES["approved"](display)
    inside = QPoint(display.width() // 2, display.height() - 8)
    assert display.grab().toImage().pixelColor(inside).lightness() > 200
    display.set_high_contrast(True)
    assert display.high_contrast()
    assert display.grab().toImage().pixelColor(inside).name() == "#000000"


def test_language_change_says_the_state_again(qtbot):
    display = build(qtbot)
    STATES["refused"](display)
    assert display.reason.text() == "Not enough balance."
    translator = QTranslator()
    assert translator.load(str(QM_FILE))
    QCoreApplication.installTranslator(translator)
    try:  # Qt posts LanguageChange to every widget: it arrives with the event loop
        qtbot.waitUntil(lambda: display.reason.text() == "残高が不足しています。")
    finally:
        QCoreApplication.removeTranslator(translator)
    qtbot.waitUntil(lambda: display.reason.text() == "Not enough balance.")


def test_one_screen_means_no_customer_window(qtbot):
    """The tests run on one offscreen screen: the window stays hidden, the frame's panel
    is the display then."""
    assert customer_screen() is None
    window = CustomerWindow()
    qtbot.addWidget(window)
    assert window.place() is False
    assert not window.isVisible()


SECOND_SCREEN_SCRIPT = """
import json, sys
from PySide6.QtWidgets import QApplication
from terminal.ui.customer import CustomerWindow, customer_screen
app = QApplication([])
window = CustomerWindow()
placed = window.place()
app.processEvents()
print(json.dumps({"placed": placed, "screen": window.screen().name(),
                  "geometry": window.geometry().getRect(), "full": window.isFullScreen(),
                  "digit_px": window.display.balance_digit_px()}))
"""


def test_a_second_screen_gets_the_window_full_screen(tmp_path):
    """Two offscreen screens (the platform's own configuration file): the cashier's
    1366x768 and a 1024x600 tablet to its right, both at Qt's 100 px/in: 15 mm is
    15 / 25.4 * 100 = 59.1 -> 60 px."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"synchronousWindowSystemEvents": False,
                                  "windowFrameMargins": False, "screens": [
        {"name": "cashier", "x": 0, "y": 0, "width": 1366, "height": 768,
         "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1},
        {"name": "customer", "x": 1366, "y": 0, "width": 1024, "height": 600,
         "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SECOND_SCREEN_SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"placed": True, "screen": "customer", "geometry": [1366, 0, 1024, 600],
                    "full": True, "digit_px": 60}


@pytest.mark.parametrize("sheets", [("style.qss", "large_type.qss"),
                                    ("style.qss", "high_contrast.qss", "large_type.qss")])
def test_the_counters_style_sheets_do_not_shrink_the_digits(qtbot, qapp, sheets):
    """The application's style sheets (large type sets every QLabel to 19 pt) apply to the
    whole application, the display included: its own sizes must win."""
    qapp.setStyleSheet("\n".join((resource_dir() / name).read_text("utf-8")
                                 for name in sheets))
    try:
        display = build(qtbot)
        display.show_result(koko_outcome(), koko_wallet())
        qtbot.wait(1)
        for _, _, figure in display.pocket_labels:
            assert digit_height(figure.font()) >= BALANCE_DIGIT_PX
            assert ink_height(figure, "0") >= BALANCE_DIGIT_PX - 1
        assert display.headline.font().pixelSize() > display.reason.font().pixelSize() > 0
        assert not clipped(display)
    finally:
        qapp.setStyleSheet("")


def test_a_result_goes_back_to_the_welcome(qtbot):
    """The next customer does not read this one's balance: the result holds
    RESULT_HOLD_MS, the thank-you THANKS_HOLD_MS, then the shop's welcome; the cashier's next
    amount replaces either at once. (The timer's end is triggered here, not waited for.)"""
    display = build(qtbot)
    display.show_idle("ココ商店")
    STATES["approved"](display)
    assert display.hold.isActive() and display.hold.interval() == customer.RESULT_HOLD_MS
    display.hold.timeout.emit()
    assert display.state() == "idle" and display.reason.text() == "ココ商店"
    STATES["refused"](display)
    assert display.hold.interval() == customer.RESULT_HOLD_MS
    STATES["amount"](display)
    assert not display.hold.isActive() and display.state() == "amount"
    display.show_thanks()
    assert display.hold.interval() == customer.THANKS_HOLD_MS
    display.hold.timeout.emit()
    assert display.state() == "idle"
    assert not [text for text in shown_texts(display) if "¥" in text]


def test_the_panel_at_its_narrowest(qtbot, japanese):
    """At its minimum width the panel shows a full wallet (¥50,000, DESIGN §6's cap) in
    full-height digits, and the largest sale the keypad takes (¥1,000,000) whole, in smaller
    digits: the amount shrinks, the balance does not."""
    from terminal.policy import DEFAULT_LIMITS, MAX_TRANSACTION_YEN

    panel = build(qtbot, CustomerPanel, (100, PANEL_SIZE[1]))
    assert panel.width() == panel.minimumWidth() > 100
    full = koko_wallet()
    full.lots = [{"lot": "l-charged", "pocket": "charged", "expires": None,
                  "remaining": DEFAULT_LIMITS["wallet_balance_cap"], "classes": ["small"]}]
    panel.show_result(koko_outcome(), full)
    qtbot.wait(1)
    (_, _, figure), = panel.pocket_labels
    assert figure.text() == "¥50,000"
    assert not clipped(panel)
    assert panel.body_area.horizontalScrollBar().maximum() == 0
    assert digit_height(figure.font()) >= BALANCE_DIGIT_PX
    panel.show_amount(MAX_TRANSACTION_YEN)
    qtbot.wait(1)
    metrics = QFontMetrics(panel.amount.font())
    assert metrics.horizontalAdvance(panel.amount.text()) <= panel.amount.width()
    assert panel.amount.text() == "¥1,000,000"
