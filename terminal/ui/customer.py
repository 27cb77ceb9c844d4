"""The customer display (#18.2): what the customer reads while the cashier works.

It follows the cashier's screen: the shop's welcome while nothing happens, the amount to
pay, then approved or refused in words and colour, what is left in each pocket in digits
an elderly customer reads from a metre away, expiries, stamps, the coupons used, and the
thank-you. `CustomerWindow` fills a second screen (a monitor, a customer-facing tablet or a
pole display); `CustomerPanel` is the compact form beside the cashier's own screen when the
terminal has one screen only.

The customer never reads internal codes: a refusal is said in the customer's words
(`CUSTOMER_WORDS`, keyed by the refusal's code), the cashier's message stays on the
cashier's screen. Japanese first (context "CustomerDisplay" in terminal/resources/i18n/machi_ja.ts),
English when the interface is English.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication, QResizeEvent, QScreen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from terminal.counter import Outcome, WalletView
from terminal.ui import campaigns as campaign_words
from terminal.ui.widgets import yen

CONTEXT = "CustomerDisplay"

# The balance digits must be at least 15 mm tall on the commonest shop screen, a 15.6"
# panel at 1366x768 (#18.2). Its diagonal is sqrt(1366² + 768²) = 1567.1 px over 15.6 in,
# so 100.45 px per inch; 15 mm = 15 / 25.4 in = 0.5906 in -> 59.3 px, rounded up.
MM_PER_INCH = 25.4
BALANCE_DIGIT_MM = 15
REFERENCE_SCREEN_PX = (1366, 768)
REFERENCE_SCREEN_INCH = 15.6
REFERENCE_DPI = math.hypot(*REFERENCE_SCREEN_PX) / REFERENCE_SCREEN_INCH  # ~100.45 px/in
BALANCE_DIGIT_PX = math.ceil(BALANCE_DIGIT_MM / MM_PER_INCH * REFERENCE_DPI)  # 60 px
# A screen's own physical DPI is believed only in this range: monitors and TVs that do not
# know their size report 0, 1 or absurd values, and then the reference screen applies.
SANE_DPI = (50.0, 400.0)
# Everything else is sized from the digit height, so the display scales with the screen.
AMOUNT_SCALE = 1.6  # the amount to pay: the largest thing on the display
HEADLINE_SCALE = 0.75  # approved / refused
REASON_SCALE = 0.55  # the refusal's reason, the shop's name: said to the customer
TEXT_SCALE = 0.42  # pocket names, stamps, coupons
SMALL_SCALE = 0.34  # expiries; the compact panel's secondary lines
COMPACT_TEXT_SCALE = 0.36
DIGITS = "0123456789"
# The compact panel is at least as wide as this balance in full-height digits (DESIGN §6's
# default wallet cap is ¥50,000), plus room for the scroll bar; a larger one scrolls.
PANEL_WIDEST_BALANCE = "¥88,888"
PANEL_SLACK_PX = 24
MIN_AMOUNT_PX = 24  # the amount shrinks to fit a narrow panel, never below this
# A result stays this long, then the display goes back to the shop's welcome: the next
# customer in the queue should not read this one's balance. The cashier's next amount
# replaces it at once.
RESULT_HOLD_MS = 20_000
THANKS_HOLD_MS = 5_000  # the thank-you alone, then the welcome

# Pocket names as the customer reads them (the counter's pockets: sync.bodies.YEN_POCKETS).
POCKETS = {"charged": "Balance", "premium_common": "Vouchers (all shops)",
           "premium_exclusive": "Vouchers (small shops)", "points": "Points"}
# A refusal in the customer's words, by the refusal's code (terminal.policy.REASONS and the
# staff and token codes). The cashier's message may name limits, keys and procedures; the
# customer learns what it means for them and whom to ask. Codes not here get `ASK_STAFF`.
ASK_STAFF = "Please ask the staff."
CUSTOMER_WORDS = {
    "insufficient": "Not enough balance.",
    "not_enough_points": "Not enough points.",
    "no_tickets": "No rides left.",
    "card_blocked": "This card cannot be used. Please ask at the booth.",
    "unknown_card": "This card cannot be used here yet. Please ask the staff.",
    "denied": "This account cannot be used now. Please ask at the booth.",
    "pin_required": "Please enter your PIN.",
    "pin_wrong": "The PIN is not correct. Please try again.",
    "pin_locked": "The PIN was wrong too often. Please ask at the booth.",
    "over_cap": "This is more than the account can hold.",
    "over_offline_payment": "This amount cannot be paid right now. Please ask the staff.",
    "over_offline_wallet": "This amount cannot be paid right now. Please ask the staff.",
    "over_app_limit": "This amount cannot be paid right now. Please ask the staff.",
    "snapshot_stale": "This amount cannot be paid right now. Please ask the staff.",
    "gift_used": "This gift code has been used already.",
    "gift_expired": "This gift code has expired.",
    "below_min_spend": "This voucher needs a larger purchase.",
    "voucher_not_usable_yet": "This voucher cannot be used yet.",
    "campaign_limit": "You have already used this offer.",
    "scan_empty": "The code could not be read. Please show it again.",
    "scan_unknown": "This code cannot be used. Please show the card or the app's code.",
}
# The refused state's headline, and the other fixed words of the display.
WORDS = {"welcome": "Welcome", "to_pay": "Amount to pay", "approved": "Approved",
         "refused": "Not accepted", "thanks": "Thank you very much",
         "left": "Remaining balance", "total": "Total", "until": "valid until {0}",
         "from": "usable from {0}", "rides": "Rides left",
         "stamps": "{0}: {1} of {2} stamps", "coupons": "Coupons and campaigns"}
# What the transaction was, above the balances (Outcome.kind; a grant's amount is points).
KIND_WORDS = {"payment": "Paid {0}", "gift": "Paid {0}", "charge": "Topped up {0}",
              "refund": "Refunded {0}", "void": "Cancelled {0}", "grant": "{0} points added",
              "ticket": "Ride recorded", "exchange": "Exchanged: {0} added"}

COLOURS = {  # (background, text, accent for the headline and frame, balance digits)
    False: {"idle": ("#f6f7f9", "#111111", "#1f3a5f", "#111111"),
            "amount": ("#ffffff", "#111111", "#1f3a5f", "#111111"),
            "approved": ("#e7f6ec", "#111111", "#15803d", "#14532d"),
            "refused": ("#fdecec", "#111111", "#b91c1c", "#111111"),
            "thanks": ("#f6f7f9", "#111111", "#1f3a5f", "#111111")},
    True: {"idle": ("#000000", "#ffffff", "#ffff00", "#ffffff"),
           "amount": ("#000000", "#ffffff", "#ffff00", "#ffffff"),
           "approved": ("#000000", "#ffffff", "#00ff00", "#00ff00"),
           "refused": ("#000000", "#ffffff", "#ff4040", "#ffffff"),
           "thanks": ("#000000", "#ffffff", "#ffff00", "#ffffff")},
}


def _tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def digit_px(dots_per_inch: float | None) -> int:
    """Pixels for `BALANCE_DIGIT_MM` on a screen of `dots_per_inch` (the reference
    1366x768 15.6" screen when it is unknown or not believable)."""
    if dots_per_inch is None or not SANE_DPI[0] <= dots_per_inch <= SANE_DPI[1]:
        return BALANCE_DIGIT_PX
    return math.ceil(BALANCE_DIGIT_MM / MM_PER_INCH * dots_per_inch)


def digit_height(font: QFont) -> int:
    """The height of the shortest digit as `font` draws it (ink, not line height)."""
    metrics = QFontMetrics(font)
    return min(metrics.tightBoundingRect(d).height() for d in DIGITS)


def digit_font(target_px: int) -> QFont:
    """A bold font whose digits are at least `target_px` tall."""
    font = QFont()
    font.setBold(True)
    size = max(1, int(target_px / 0.75))  # digits are about 0.7 of the em in most fonts
    font.setPixelSize(size)
    while digit_height(font) < target_px:
        size += 1
        font.setPixelSize(size)
    return font


def text_font(px: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, px))
    font.setBold(bold)
    return font


def _label(name: str, wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class CustomerDisplay(QWidget):
    """The display's content, in one of five states: idle, amount, approved, refused,
    thanks (`state()`). `compact` packs it for a panel beside the cashier's screen."""

    def __init__(self, parent: QWidget | None = None, compact: bool = False,
                 dots_per_inch: float | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customer_display")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.compact = compact
        self._dpi = dots_per_inch
        self._high_contrast = False
        self._state = "idle"
        self._shown: tuple[str, tuple[Any, ...]] = ("idle", ("",))
        self._shop = ""
        self.hold = QTimer(self)  # back to the welcome after a result or the thank-you
        self.hold.setSingleShot(True)
        self.hold.timeout.connect(lambda: self.show_idle())
        self.headline = _label("cd_headline")
        self.amount = _label("cd_amount", wrap=False)
        # its width never widens the display: its font shrinks instead (_fitted_amount_font)
        self.amount.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reason = _label("cd_reason")
        self.balance_title = _label("cd_balance_title")
        self.pockets = QWidget()
        self.pockets.setObjectName("cd_pockets")
        self.pocket_grid = QGridLayout(self.pockets)
        self.pocket_grid.setContentsMargins(0, 0, 0, 0)
        self.pocket_grid.setHorizontalSpacing(24)
        self.pocket_grid.setVerticalSpacing(0)
        self.pocket_labels: list[tuple[QLabel, QLabel, QLabel]] = []
        self.extras = _label("cd_extras")
        self.extras.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # What is left, then stamps and coupons: on a display too small for all of it
        # (the compact panel, a long list of campaigns) it scrolls inside, nothing is cut.
        body = QWidget()
        body.setObjectName("cd_body")
        inside = QVBoxLayout(body)
        inside.setContentsMargins(0, 0, 0, 0)
        inside.setSpacing(8)
        for widget in (self.balance_title, self.pockets, self.extras):
            inside.addWidget(widget)
        inside.addStretch(1)
        self.body_area = QScrollArea()
        self.body_area.setObjectName("cd_body_area")
        self.body_area.setWidget(body)
        self.body_area.setWidgetResizable(True)
        self.body_area.setFrameShape(QFrame.Shape.NoFrame)
        self.body_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.body_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.thanks = _label("cd_thanks")
        layout = self.main_layout = QVBoxLayout(self)
        margin = 12 if compact else 24
        layout.setContentsMargins(margin, margin, margin, margin)
        layout.setSpacing(8)
        layout.addStretch(1)
        for widget in (self.headline, self.amount, self.reason):
            layout.addWidget(widget)
        layout.addWidget(self.body_area, 100)
        layout.addWidget(self.thanks)
        layout.addStretch(1)
        self._size_fonts()
        self.show_idle("")

    # --- look -----------------------------------------------------------------------

    def set_high_contrast(self, on: bool) -> None:
        self._high_contrast = on
        self._restyle()

    def high_contrast(self) -> bool:
        return self._high_contrast

    def set_dots_per_inch(self, dots_per_inch: float | None) -> None:
        """The screen the display is on changed: size the digits for it."""
        self._dpi = dots_per_inch
        self._size_fonts()
        self._render()

    def balance_digit_px(self) -> int:
        """The balance digits' height this display promises, in pixels."""
        dpi = self._dpi
        if dpi is None:
            screen = self.screen()
            dpi = screen.physicalDotsPerInch() if screen is not None else None
        return digit_px(dpi)

    def _size_fonts(self) -> None:
        px = self.balance_digit_px()
        self.digit_font = digit_font(px)
        self.amount_font = digit_font(int(px * (1.0 if self.compact else AMOUNT_SCALE)))
        self.amount.setFont(self.amount_font)
        self.headline.setFont(text_font(int(px * HEADLINE_SCALE), bold=True))
        text = int(px * (COMPACT_TEXT_SCALE if self.compact else TEXT_SCALE))
        for label in (self.balance_title, self.thanks):
            label.setFont(text_font(text, bold=True))
        self.reason.setFont(text_font(int(px * (COMPACT_TEXT_SCALE if self.compact
                                                else REASON_SCALE))))
        self.extras.setFont(text_font(int(px * (SMALL_SCALE if self.compact
                                                else TEXT_SCALE))))
        self.pocket_name_font = text_font(text, bold=True)
        self.expiry_font = text_font(int(px * SMALL_SCALE))
        if self.compact:  # the widest balance a wallet usually holds fits without scrolling
            margins = self.main_layout.contentsMargins()
            self.setMinimumWidth(QFontMetrics(self.digit_font).horizontalAdvance(
                PANEL_WIDEST_BALANCE) + margins.left() + margins.right() + PANEL_SLACK_PX)
        self._restyle()

    def _fitted_amount_font(self) -> QFont:
        """The amount's font, made smaller only when the amount is wider than the display
        (a narrow panel and a large sale): the amount to pay is never cut."""
        font = QFont(self.amount_font)
        margins = self.main_layout.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        text = self.amount.text()
        while room > 0 and text and font.pixelSize() > MIN_AMOUNT_PX and \
                QFontMetrics(font).horizontalAdvance(text) > room:
            font.setPixelSize(font.pixelSize() - 2)
        return font

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._restyle()  # the amount's size follows the width

    def _restyle(self) -> None:
        """Colours by state and look, and the sizes again: the application's style sheets
        (large type sets every QLabel's size) would otherwise override the fonts set here;
        a parent's style sheet wins over the application's."""
        background, text, accent, figures = COLOURS[self._high_contrast][self._state]
        border = 6 if self._high_contrast else 4
        root = "QWidget#customer_display"
        sizes = "".join(
            f" {root} QLabel#{name} {{ font-size: {font.pixelSize()}px;"
            f" font-weight: {'bold' if font.bold() else 'normal'}; }}"
            for name, font in (("cd_headline", self.headline.font()),
                               ("cd_amount", self._fitted_amount_font()),
                               ("cd_reason", self.reason.font()),
                               ("cd_balance_title", self.balance_title.font()),
                               ("cd_thanks", self.thanks.font()),
                               ("cd_extras", self.extras.font()),
                               ("cd_pocket_name", self.pocket_name_font),
                               ("cd_pocket_expiry", self.expiry_font),
                               ("cd_pocket_yen", self.digit_font)))
        sheet = (
            f"{root} {{ background: {background}; border: {border}px solid {accent}; }}"
            f" {root} QLabel {{ color: {text}; background: transparent; border: none; }}"
            f" {root} QLabel#cd_headline {{ color: {accent}; }}"
            f" {root} QLabel#cd_pocket_yen {{ color: {figures}; }}"
            f" {root} QWidget#cd_pockets, {root} QWidget#cd_body, {root} QScrollArea,"
            f" {root} QScrollArea > QWidget {{ background: transparent; border: none; }}"
            + sizes)
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)

    # --- states -----------------------------------------------------------------------

    def state(self) -> str:
        return self._state

    def show_idle(self, shop: str | None = None) -> None:
        """The shop's welcome (`shop`: its name; None keeps the last one)."""
        if shop is not None:
            self._shop = shop
        self._shown = ("idle", (self._shop,))
        self.hold.stop()
        self._render()

    def show_amount(self, amount: int) -> None:
        self._shown = ("amount", (amount,))
        self.hold.stop()
        self._render()

    def show_result(self, outcome: Outcome, wallet: WalletView | None = None) -> None:
        """Approved: what was paid, then what is left. With `wallet` (the wallet as the
        counter sees it after this transaction) each pocket by expiry, the rides and the
        stamp rallies; without it the total left (`outcome.balance_after`)."""
        self._shown = ("approved", (outcome, wallet))
        self.hold.start(RESULT_HOLD_MS)
        self._render()

    def show_refused(self, code: str, message: str = "") -> None:
        """Refused: the customer's words for `code`; `message` is the cashier's and is not
        shown (it may name limits and procedures meant for staff)."""
        self._shown = ("refused", (code, message))
        self.hold.start(RESULT_HOLD_MS)
        self._render()

    def show_thanks(self) -> None:
        self._shown = ("thanks", ())
        self.hold.start(THANKS_HOLD_MS)
        self._render()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)

    # --- drawing ----------------------------------------------------------------------

    def _render(self) -> None:
        state, args = self._shown
        self._state = state
        for widget in (self.headline, self.amount, self.reason, self.balance_title,
                       self.pockets, self.extras, self.body_area, self.thanks):
            widget.hide()
        self._set_pockets([])
        if state == "idle":
            self._say(self.headline, _tr(WORDS["welcome"]))
            self._say(self.reason, args[0])
        elif state == "amount":
            self._say(self.headline, _tr(WORDS["to_pay"]))
            self._say(self.amount, yen(args[0]))
        elif state == "approved":
            self._render_result(*args)
        elif state == "refused":
            self._say(self.headline, "✘ " + _tr(WORDS["refused"]))
            self._say(self.reason, self.refusal_words(args[0]))
        else:
            self._say(self.headline, _tr(WORDS["thanks"]))
        self._restyle()

    @staticmethod
    def refusal_words(code: str) -> str:
        return _tr(CUSTOMER_WORDS.get(code, ASK_STAFF))

    @staticmethod
    def pocket_name(pocket: str) -> str:
        return _tr(POCKETS[pocket]) if pocket in POCKETS else pocket

    def _render_result(self, outcome: Outcome, wallet: WalletView | None) -> None:
        self._say(self.headline, "✔ " + _tr(WORDS["approved"]))
        what = KIND_WORDS.get(outcome.kind)
        figure = f"{outcome.amount:,}" if outcome.kind == "grant" else yen(outcome.amount)
        self._say(self.reason, _tr(what).format(figure) if what else "")
        rows: list[tuple[str, str, str]] = []  # pocket words, digits, expiry words
        extras: list[str] = []
        if wallet is not None:
            for held in wallet.holdings():
                when = [_tr(WORDS["until"]).format(held["expires"])] if held["expires"] else []
                if held.get("usable_from"):
                    when.append(_tr(WORDS["from"]).format(held["usable_from"]))
                rows.append((self.pocket_name(held["pocket"]), yen(held["yen"]),
                             "  ".join(when)))
            for campaign, count in sorted(wallet.rides.items()):
                rows.append((self._ride_name(outcome, campaign), f"{count:,}", ""))
            for card in wallet.rally:
                have = sum(shop["stamps"] for shop in card["shops"])
                extras.append(_tr(WORDS["stamps"]).format(card["name"], have, card["needed"]))
        else:
            left = [entry["rides_left"] for entry in outcome.campaigns
                    if "rides_left" in entry]
            if outcome.kind == "ticket" and left:
                rows.append((_tr(WORDS["rides"]), f"{left[0]:,}", ""))
            elif outcome.balance_after is not None:
                rows.append((_tr(WORDS["total"]), yen(outcome.balance_after), ""))
        coupons = campaign_words.lines(outcome)
        if coupons:
            extras += [_tr(WORDS["coupons"])] + ["・" + line for line in coupons]
        if rows:
            self._say(self.balance_title, _tr(WORDS["left"]))
            self._set_pockets(rows)
        if extras:
            self.extras.setText("\n".join(extras))
            self.extras.show()
        self.body_area.setVisible(bool(rows or extras))
        self._say(self.thanks, _tr(WORDS["thanks"]))

    @staticmethod
    def _ride_name(outcome: Outcome, campaign_id: str) -> str:
        for entry in outcome.campaigns:
            if entry.get("campaign") == campaign_id and entry.get("name"):
                return str(entry["name"])
        return _tr(WORDS["rides"])

    def _say(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def _set_pockets(self, rows: list[tuple[str, str, str]]) -> None:
        """One row per pocket: its name (and expiry, smaller) beside the digits; in the
        compact panel the name goes above the digits, which keep their height."""
        for words, expiry, figure in self.pocket_labels:
            for label in (words, expiry, figure):
                label.hide()
                label.setParent(None)  # gone now: a later deleteLater would still paint
                label.deleteLater()
        self.pocket_labels = []
        for row, (name, digits, when) in enumerate(rows):
            # made inside the grid: a parentless label shown (the expiry) is a window of its
            # own, and takes the counter's keyboard shortcuts away from it
            words = QLabel(name, self.pockets)
            words.setObjectName("cd_pocket_name")
            words.setFont(self.pocket_name_font)
            expiry = QLabel(when, self.pockets)
            expiry.setObjectName("cd_pocket_expiry")
            expiry.setFont(self.expiry_font)
            expiry.setVisible(bool(when))
            for label in (words, expiry):
                label.setWordWrap(True)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            figure = QLabel(digits, self.pockets)
            figure.setObjectName("cd_pocket_yen")
            figure.setFont(self.digit_font)
            figure.setTextFormat(Qt.TextFormat.PlainText)
            figure.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if self.compact:
                self.pocket_grid.addWidget(words, 3 * row, 0)
                self.pocket_grid.addWidget(expiry, 3 * row + 1, 0)
                self.pocket_grid.addWidget(figure, 3 * row + 2, 0)
            else:
                self.pocket_grid.addWidget(words, 2 * row, 0, Qt.AlignmentFlag.AlignBottom)
                self.pocket_grid.addWidget(expiry, 2 * row + 1, 0, Qt.AlignmentFlag.AlignTop)
                self.pocket_grid.addWidget(figure, 2 * row, 1, 2, 1)
            self.pocket_labels.append((words, expiry, figure))
        self.pocket_grid.setColumnStretch(0, 1)
        self.pockets.setVisible(bool(rows))


class CustomerPanel(CustomerDisplay):
    """The display in a compact form, beside the cashier's screen when there is no second
    screen; the balance digits keep their height."""

    def __init__(self, parent: QWidget | None = None,
                 dots_per_inch: float | None = None) -> None:
        super().__init__(parent, compact=True, dots_per_inch=dots_per_inch)


def customer_screen(screens: list[QScreen] | None = None) -> QScreen | None:
    """The screen the customer faces: the first that is not the primary one, else None."""
    screens = QGuiApplication.screens() if screens is None else screens
    primary = QGuiApplication.primaryScreen()
    others = [screen for screen in screens if screen is not primary]
    return others[0] if others else None


class CustomerWindow(QWidget):
    """A top-level window holding the display, full screen on the customer's screen."""

    def __init__(self, dots_per_inch: float | None = None) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("customer_window")
        self.display = CustomerDisplay(self, dots_per_inch=dots_per_inch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.display)
        self._retitle()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self._retitle()
        super().changeEvent(event)

    def _retitle(self) -> None:
        self.setWindowTitle(_tr("Customer display"))

    def place(self, screen: QScreen | None = None) -> bool:
        """Go full screen on `screen` (the customer's: `customer_screen()`); False, and
        nothing shown, when there is none (the frame shows a `CustomerPanel` then)."""
        screen = screen or customer_screen()
        if screen is None:
            return False
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.display.set_dots_per_inch(screen.physicalDotsPerInch())
        self.showFullScreen()
        return True
