"""The counter window: shop mode, booth mode, admin, and the status that is always in view.

One flow for every ticket type (DESIGN §11): amount -> scan or tap -> result. The result
stays beside the keypad instead of in a dialog, so the next customer can start at once;
typing an amount clears it. Everything the services do runs on the bridge's thread.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QRegularExpression,
    QSize,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeySequence, QRegularExpressionValidator, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sync import cards, giftcodes
from sync.pins import PIN_MAX_DIGITS
from sync.staff import DEMO_STAFF
from terminal import receipt as paper
from terminal import tally
from terminal.clock import CLOCK_BEHIND_TOLERANCE_S
from terminal.credentials import SCAN
from terminal.policy import MAX_PARTY, REASONS
from terminal.printer import PRINTER_KINDS
from terminal.printer import address_of as printer_address_of
from terminal.sounds import SoundPlayer
from terminal.ui import campaigns as campaign_words
from terminal.ui.day import ROW_MIN_PX, DayControls, HistoryPanel, TenderBox
from terminal.ui.staffbox import (
    ConfirmPanel,
    StaffAdmin,
    StaffBar,
    TrainingBanner,
    why_words,
)
from terminal.ui.widgets import AmountPad, big_font, touch_button, yen

WORKER_STOP_MS = 10_000
FIRST_PAINT_ENV = "MACHI_REPORT_FIRST_PAINT"
FIRST_PAINT_MARKER = "machi-pos: first paint"
# Fits a 1280x800 counter screen with the demo panel open.
WINDOW_W, WINDOW_H = 1280, 740
DEMO_PANEL_W = 330
STATUS_TICK_MS = 1_000
BALANCE_POINT_SIZE = 40
HEADLINE_POINT_SIZE = 26
DETAIL_POINT_SIZE = 15
CAMPAIGN_POINT_SIZE = 16  # what the campaigns did: read out to the customer, so large
NOTE_POINT_SIZE = 12  # campaigns that did not apply: there, but calm
CHOICE_POINT_SIZE = 16
PARTY_POINT_SIZE = 20
PIN_POINT_SIZE = 24
PRINTER_COLUMN_CHOICES = (32, 42, 48)  # 58 mm Font A, 80 mm Font B, 80 mm Font A
PIN_CODES = ("pin_required", "pin_wrong")  # refusals answered by asking for the PIN
# The admin screen locks itself this long after its last use (and whenever it is left).
ADMIN_IDLE_LOCK_MS = 2 * 60 * 1000
# How often the window asks whether the sign-in lapsed (the shop's idle time, in the core).
STAFF_CHECK_MS = 30_000
# Requests sent again once a manager's PIN has approved them (terminal.staff approvals).
APPROVABLE_REQUESTS = ("request_refund", "request_grant", "request_cash", "request_tally",
                       "request_close")
DEMO_PINS = {name: pin for name, _, pin in DEMO_STAFF}
AGE_BANDS = ("", "10s", "20s", "30s", "40s", "50s", "60s", "70s", "80+")
AREAS = ("", "中央", "北部", "南部", "東部", "西部")


def credential_of(text: str) -> tuple[str, str]:
    """A scanned or typed code as the window passes it on: a gift code goes its own way (it
    pays, or goes into a wallet at the booth); anything else goes to the services as a scan,
    where terminal.credentials tells an app code or a card number from what cannot pay (a
    wallet id, a web address...) and refuses that with its reason."""
    if text.strip().startswith(giftcodes.GIFT_PREFIX):
        return "gift", text.strip()
    return SCAN, text


class ResultPanel(QFrame):
    """The right-hand side: a hint, the prompt to scan, or the result of the last action."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("result")
        self.headline = QLabel()
        self.headline.setObjectName("headline")
        self.headline.setFont(big_font(HEADLINE_POINT_SIZE))
        self.headline.setWordWrap(True)
        self.balance = QLabel()
        self.balance.setObjectName("balance")
        self.balance.setFont(big_font(BALANCE_POINT_SIZE))
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setFont(big_font(DETAIL_POINT_SIZE, bold=False))
        self.campaigns = QLabel()
        self.campaigns.setObjectName("campaigns")
        self.campaigns.setWordWrap(True)
        self.campaigns.setFont(big_font(CAMPAIGN_POINT_SIZE))
        self.notes = QLabel()
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        notes_font = big_font(NOTE_POINT_SIZE, bold=False)
        notes_font.setItalic(True)
        self.notes.setFont(notes_font)
        self.receipt = QLabel()
        self.receipt.setObjectName("receipt")
        # left-aligned lines (the receipt's columns), the block itself centred
        self.receipt.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        receipt_font = big_font(10, bold=False)
        receipt_font.setFamilies(["Noto Sans Mono CJK JP", "monospace"])
        self.receipt.setFont(receipt_font)
        # a receipt with campaign lines is long: it scrolls rather than push the result away
        self.receipt_area = QScrollArea()
        receipt_box = QWidget()
        centred = QHBoxLayout(receipt_box)
        centred.addStretch(1)
        centred.addWidget(self.receipt)
        centred.addStretch(1)
        self.receipt_area.setWidget(receipt_box)
        self.receipt_area.setWidgetResizable(True)
        self.receipt_area.setFrameShape(QFrame.Shape.NoFrame)
        self.receipt_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.extras = QVBoxLayout()  # lists and inputs a screen shows here for one step
        layout = QVBoxLayout(self)
        for widget in (self.headline, self.balance, self.detail, self.campaigns, self.notes):
            layout.addWidget(widget)
        layout.addLayout(self.extras)
        layout.addWidget(self.receipt_area, 1)
        layout.addStretch(0)  # takes the room when the receipt is hidden for a list or a PIN
        self.campaigns.hide()
        self.notes.hide()

    def show_state(self, state: str, headline: str, balance: str = "", detail: str = "",
                   campaigns: list[str] | None = None, notes: list[str] | None = None) -> None:
        self.setProperty("state", state)  # the style sheet colours approved/refused/waiting
        self.style().unpolish(self)
        self.style().polish(self)
        self.headline.setText(headline)
        self.balance.setText(balance)
        self.balance.setVisible(bool(balance))
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        for label, text in ((self.campaigns, campaigns), (self.notes, notes)):
            label.setText("\n".join(text or []))
            label.setVisible(bool(text))
        self.receipt.clear()


class CounterScreen(QWidget):
    """Keypad on the left, actions below it, the result panel on the right."""

    def __init__(self, actions: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pad = AmountPad()
        self.result = ResultPanel()
        self.buttons: dict[str, QPushButton] = {}
        left = QVBoxLayout()
        left.addWidget(self.pad)
        self.grid = QGridLayout()
        for index, (key, label) in enumerate(actions):
            button = touch_button(label, f"action_{key}")
            self.buttons[key] = button
            self.grid.addWidget(button, index // 2, index % 2)
        left.addLayout(self.grid)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addWidget(self.result, 3)


class MainWindow(QMainWindow):
    request_start = Signal()
    request_pay = Signal(str, str, int, int, int, object, str)  # ..., people, tags, PIN
    request_diners = Signal(object)  # the other diners' (kind, value), just before a payment
    request_pay_gift = Signal(str, int, int)
    request_voucher = Signal(str, str, str, int)
    request_grant_campaign = Signal(str, str, str)
    request_ride = Signal(str, str)
    request_exchange = Signal(str, str, str, int)
    request_redeem = Signal(str, str, str)
    request_offers = Signal()
    request_charge = Signal(str, str, int, int)  # ..., amount, cash tendered (0: not given)
    request_grant = Signal(str, str, int)
    request_balance = Signal(str, str)
    request_lookup = Signal(str)  # a wallet id, on the admin screen: read only
    request_refund = Signal(str, int, bool)
    request_issue = Signal(str, str, str, str)  # number, age band, area, PIN
    request_printer = Signal(str, str, int)  # kind, address, columns
    request_cash = Signal(int, str)
    request_recent = Signal()
    request_verify = Signal()
    request_sync = Signal()
    request_enroll = Signal(str, str, str)
    request_phone = Signal(str)
    request_language = Signal(str)
    request_tally = Signal(bool, int)
    request_close = Signal(int, bool, str)  # counted, shift close, approved by (see _close_day)
    request_export = Signal(str)
    request_day_sales = Signal()
    request_reprint = Signal(int)
    request_rebuild = Signal()
    request_sign_in = Signal(str, str)
    request_sign_out = Signal()
    request_approve = Signal(str, str)
    request_admin_unlock = Signal(str)
    request_admin_lock = Signal()
    request_training = Signal(bool)
    request_create_staff = Signal(str, str, str)
    request_staff_view = Signal()

    def __init__(self, data_dir: Path, demo_base: Path | None = None) -> None:
        super().__init__()
        self.resize(WINDOW_W, WINDOW_H)
        self.waiting: dict[str, Any] | None = None  # the action awaiting a card or code
        self.info: dict[str, Any] = {}
        self.offers: dict[str, list[dict]] = {}  # this shop's active campaigns, by kind
        self.last_outcome = None  # what the last committed transaction did
        self.last_status = None
        self.storage = None  # terminal.health.HealthReport, from the bridge
        self.clock_check = None  # terminal.clock.ClockCheck, from the bridge
        self._painted = False
        self._build()
        self.retranslate()
        self._connect_screen()
        self.reader_states: dict[str, str] = {}
        self.sounds = SoundPlayer()
        threading.Thread(target=self.sounds.prepare, name="sounds", daemon=True).start()
        self.reader_states["sound"] = self.sounds.status
        self._tick = QTimer(self)
        self._tick.setInterval(STATUS_TICK_MS)
        self._tick.timeout.connect(self._show_status)
        self._tick.start()
        # The window is drawn first; the services (journal, network, card readers) load
        # right after, so the cashier sees the counter at once and "starting…" until ready.
        self._data_dir, self._demo_base = data_dir, demo_base
        self.bridge = None
        QTimer.singleShot(0, self._start_services)

    def _start_services(self) -> None:
        from terminal.ui.bridge import TerminalBridge
        from terminal.ui.readers import ReaderHub
        from terminal.ui.scanner import WedgeFilter

        self._thread = QThread(self)
        self.bridge = TerminalBridge(self._data_dir, self._demo_base)
        self.bridge.moveToThread(self._thread)
        self._connect_bridge()
        self.scanner = WedgeFilter(self)
        self.scanner.scanned.connect(self.present_text)
        QApplication.instance().installEventFilter(self.scanner)
        self.readers = ReaderHub(self)
        self.readers.scanned.connect(self.present_text)
        self.readers.tapped.connect(lambda uid: self.present("nfc", uid))
        self.readers.status.connect(self._on_reader_status)
        self.readers.start()
        self._thread.start()
        self.request_start.emit()

    # --- building ---------------------------------------------------------------------

    def _build(self) -> None:
        header = QWidget()
        header.setObjectName("header")
        self.shop_name = QLabel()
        self.shop_name.setFont(big_font(18))
        self.mode_buttons = QButtonGroup(self)
        head = QHBoxLayout(header)
        head.addWidget(self.shop_name, 1)
        self.modes = {}
        for index, key in enumerate(("shop", "booth", "admin")):
            button = QPushButton()
            button.setCheckable(True)
            button.setMinimumHeight(48)
            button.setObjectName(f"mode_{key}")
            self.mode_buttons.addButton(button, index)
            self.modes[key] = button
            head.addWidget(button)
        self.lang_button = QPushButton()
        self.lang_button.setMinimumHeight(48)
        head.addWidget(self.lang_button)

        self.shop = CounterScreen([("pay", ""), ("balance", ""), ("refunds", ""),
                                   ("excluded", ""), ("receipts", ""), ("ride", "")])
        self.booth = CounterScreen([("charge", ""), ("grant", ""), ("card", ""),
                                    ("float_in", ""), ("float_out", ""), ("balance", ""),
                                    ("campaigns", "")])
        self._build_party()
        self.shop.buttons["ride"].hide()  # shown while a ticket campaign runs here
        # A new card's holder: asked for on the right while the card waits to be scanned.
        self.card_extra = QWidget()
        self.card_extra.setObjectName("card_extra")
        self.age_band, self.area = QComboBox(), QComboBox()
        self.age_band.addItems(AGE_BANDS)
        self.area.addItems(AREAS)
        extra = QHBoxLayout(self.card_extra)
        self.age_label, self.area_label = QLabel(), QLabel()
        self.new_pin_label, self.new_pin = QLabel(), self._pin_field("new_pin")
        for widget in (self.age_label, self.age_band, self.area_label, self.area,
                       self.new_pin_label, self.new_pin):
            widget.setFont(big_font(14, bold=False))
            extra.addWidget(widget)
        self.booth.result.extras.addWidget(self.card_extra)
        self.card_extra.hide()
        # A card's PIN, asked on the shop's result panel when a payment needs it.
        self.pin_box = QWidget()
        self.pin_box.setObjectName("pin_box")
        pin_row = QHBoxLayout(self.pin_box)
        self.pin_entry = self._pin_field("pin_entry")
        self.pin_entry.setFont(big_font(PIN_POINT_SIZE))
        self.pin_button = touch_button("", "action_pin")
        pin_row.addWidget(self.pin_entry, 1)
        pin_row.addWidget(self.pin_button)
        self.shop.result.extras.addWidget(self.pin_box)
        self.pin_box.hide()
        self.last_pay: tuple | None = None  # the payment a PIN is asked for, to send again
        # The booth's campaign actions: one list, choose then scan.
        self.choices = QListWidget()
        self.choices.setObjectName("choices")
        self.choices.setFont(big_font(CHOICE_POINT_SIZE, bold=False))
        self.choices.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.choices.setWordWrap(True)  # a long campaign name wraps rather than scrolls
        self.choices.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.booth.result.extras.addWidget(self.choices, 1)
        self.choices.hide()
        self.sales = QListWidget()
        self.sales.setFont(big_font(14, bold=False))
        self.refund_buttons = QHBoxLayout()
        self.refund_button = touch_button("", "action_refund")
        self.void_button = touch_button("", "action_void")
        self.refund_buttons.addWidget(self.refund_button)
        self.refund_buttons.addWidget(self.void_button)
        self.shop.result.extras.addWidget(self.sales)
        self.shop.result.extras.addLayout(self.refund_buttons)
        self.sales.hide()
        self.refund_button.hide()
        self.void_button.hide()
        self.excluded = 0
        # today's receipts (reprint) on the shop's side; cash handed over at the booth's
        self.history = HistoryPanel()
        self.shop.result.extras.addWidget(self.history, 1)
        self.history.hide()
        self.tender = TenderBox()
        self.booth.result.extras.addWidget(self.tender)
        self.tender.hide()
        self.admin = self._build_admin()

        self.stack = QStackedWidget()
        for screen in (self.shop, self.booth, self.admin):
            self.stack.addWidget(screen)
        self.status_line = QLabel()
        self.status_line.setObjectName("status")
        self.status_line.setFont(big_font(14))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(header)
        # Staff (terminal.ui.staffbox): who is signed in or a PIN asked, training, "really?"
        self.staff_bar, self.training_banner = StaffBar(), TrainingBanner()
        self.confirm = ConfirmPanel()
        for widget in (self.training_banner, self.staff_bar, self.confirm):
            layout.addWidget(widget)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status_line)
        self.setCentralWidget(central)
        self.modes["shop"].setChecked(True)

        self.demo_dock = QDockWidget()
        self.demo_list = QListWidget()
        self.demo_list.setFont(big_font(11, bold=False))
        self.demo_dock.setWidget(self.demo_list)
        self.demo_dock.setObjectName("demo")
        self.demo_dock.setMaximumWidth(DEMO_PANEL_W)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.demo_dock)
        self.demo_dock.hide()

    def _build_party(self) -> None:
        """The party size (a rally's threshold is per person at restaurants) and the rally's
        double-stamp word (e.g. a banquet), beside the shop's actions while a rally runs."""
        self.party_box = QWidget()
        row = QHBoxLayout(self.party_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.party_label = QLabel()
        self.party_label.setFont(big_font(14))
        self.party = QSpinBox()
        self.party.setObjectName("party")
        self.party.setRange(1, MAX_PARTY)
        self.party.setFont(big_font(PARTY_POINT_SIZE))
        self.party.setMinimumHeight(touch_button("").minimumHeight())
        self.party.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.double_button = touch_button("", "action_double")
        self.double_button.setCheckable(True)
        self.double_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.double_tag = ""
        # The other diners' cards or app codes (a restaurant stamps each by their share).
        self.diner_button = touch_button("", "action_diner")
        self.diner_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.diners: list[tuple[str, str]] = []
        row.addWidget(self.party_label)
        row.addWidget(self.party, 1)
        row.addWidget(self.double_button)
        row.addWidget(self.diner_button)
        self.shop.grid.addWidget(self.party_box, 2, 1)
        self.party_box.hide()
        self.double_button.hide()
        self.diner_button.hide()

    def _reset_party(self) -> None:
        self.party.setValue(1)
        self.double_button.setChecked(False)
        self.diners = []
        self._show_diners()

    def _show_diners(self) -> None:
        self.diner_button.setText(self.tr("Add diner ({0})").format(len(self.diners))
                                  if self.diners else self.tr("Add diner"))

    def _await_diner(self) -> None:
        """The next scan is another diner's card or app code, not the payer's."""
        if self.diner_button.isHidden():
            return
        self._hide_extras()
        self.waiting = {"action": "diner", "screen": self.shop, "amount": 0}
        self.shop.result.show_state("waiting", self.tr(
            "Other diner: tap their card or show the app's code"), "", self.tr("Esc cancels."))

    def _add_diner(self, kind: str, value: str) -> None:
        self.waiting = None
        if kind == "gift":
            self.shop.result.show_state("refused", self.tr("A gift code pays for a sale"))
            return
        if (kind, value) not in self.diners:
            self.diners.append((kind, value))
            self.party.setValue(max(self.party.value(), len(self.diners) + 1))
        self._show_diners()
        self.shop.result.show_state("waiting", self.tr("{0} other diner(s) added").format(
            len(self.diners)), "", self.tr("Type the amount, press Pay, then the payer's card."))

    def _emit_pay(self, pin: str) -> None:
        assert self.last_pay is not None
        self.request_diners.emit(list(self.diners))
        self.request_pay.emit(*self.last_pay, pin)

    def _drop_sale_inputs(self) -> None:
        """What was set for one sale besides its amount: excluded goods, party, banquet."""
        self.excluded = 0
        self._reset_party()

    def _build_admin(self) -> QWidget:
        page = QWidget()
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(8)
        self.pin.setFont(big_font(24))
        self.pin_label = QLabel()
        self.pin_message = QLabel()
        self.unlock_button = touch_button("", "action_unlock")
        self.admin_panel = QWidget()
        self.sync_button = touch_button("", "action_sync")
        self.verify_button = touch_button("", "action_verify")
        self.contrast_button = touch_button("", "action_contrast")
        self.large_button = touch_button("", "action_large")
        self.lock_button = touch_button("", "action_lock")
        self.x_button = touch_button("", "action_x_report")
        self.z_button = touch_button("", "action_close_day")
        # The way out of a damaged state.db (terminal.repair), shown only when it is damaged.
        self.rebuild_button = touch_button("", "action_rebuild_state")
        self.rebuild_button.hide()
        self.storage_info = QLabel()
        self.storage_info.setWordWrap(True)
        self.storage_info.setFont(big_font(14, bold=False))
        self.storage_info.setObjectName("storage")
        self.counted = QLineEdit()
        self.counted.setPlaceholderText("¥")
        self.counted.setMaxLength(9)
        self.admin_info = QLabel()
        self.admin_info.setWordWrap(True)
        self.admin_info.setFont(big_font(14, bold=False))
        self.admin_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QGridLayout(self.admin_panel)
        for index, button in enumerate((self.sync_button, self.verify_button,
                                        self.contrast_button, self.large_button,
                                        self.x_button, self.z_button, self.lock_button)):
            grid.addWidget(button, index // 2, index % 2)
        self.counted_label = QLabel()
        counted_row = QHBoxLayout()
        counted_row.addWidget(self.counted_label)
        counted_row.addWidget(self.counted, 1)
        grid.addLayout(counted_row, 3, 1)
        grid.addWidget(self.admin_info, 6, 0, 1, 2)
        self.verify_info = QLabel()
        self.verify_info.setWordWrap(True)
        self.verify_info.setFont(big_font(14, bold=False))
        grid.addWidget(self.verify_info, 7, 0, 1, 2)
        self.readers_info = QLabel()
        self.readers_info.setWordWrap(True)
        self.readers_info.setFont(big_font(12, bold=False))
        grid.addWidget(self.readers_info, 8, 0, 1, 2)
        grid.addWidget(self.storage_info, 9, 0)
        grid.addWidget(self.rebuild_button, 9, 1)
        grid.addLayout(self._build_printer_row(), 5, 0, 1, 2)
        grid.addWidget(self._build_lookup(), 4, 0, 1, 2)
        self.day_controls = DayControls()
        grid.addWidget(self.day_controls, 10, 0, 1, 2)
        self.staff_admin = StaffAdmin()
        grid.addWidget(self.staff_admin, 11, 0, 1, 2)
        self.admin_idle = QTimer(self)
        self.admin_idle.setSingleShot(True)
        self.admin_idle.setInterval(ADMIN_IDLE_LOCK_MS)
        self.admin_panel.hide()
        self.setup_panel = QWidget()
        self.setup_title = QLabel()
        self.setup_title.setFont(big_font(18))
        self.ledger_url, self.enroll_code = QLineEdit(), QLineEdit()
        self.ledger_url.setPlaceholderText("https://ledger.example:8700")
        self.enroll_code.setPlaceholderText("XXXX-XXXX-XXXX")
        # The ledger key's fingerprint from its operator (ledger admin show-key): the
        # terminal pins that key and no other.
        self.ledger_fingerprint = QLineEdit()
        self.enroll_button = touch_button("", "action_enroll")
        form = QVBoxLayout(self.setup_panel)
        for widget in (self.setup_title, self.ledger_url, self.enroll_code,
                       self.ledger_fingerprint, self.enroll_button):
            form.addWidget(widget)
        self.setup_panel.hide()
        layout = QVBoxLayout(page)
        layout.addWidget(self.setup_panel)
        row = QHBoxLayout()
        row.addWidget(self.pin_label)
        row.addWidget(self.pin, 1)
        row.addWidget(self.unlock_button)
        layout.addLayout(row)
        layout.addWidget(self.pin_message)
        layout.addWidget(self.admin_panel, 1)
        return page

    def _build_lookup(self) -> QWidget:
        """A wallet looked up by its id, for the admin only (it sits on the PIN-locked
        panel): what it holds, read only. A wallet id is no credential, so this is the one
        place that takes one, and nothing here can pay."""
        self.lookup_row = QWidget()
        self.lookup_row.setObjectName("lookup")
        self.lookup_label, self.lookup_id = QLabel(), QLineEdit()
        self.lookup_id.setObjectName("lookup_id")
        self.lookup_id.setMaxLength(64)
        self.lookup_id.setPlaceholderText("W-…")
        self.lookup_button = touch_button("", "action_lookup")
        self.lookup_info = QLabel()
        self.lookup_info.setWordWrap(True)
        self.lookup_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        for widget in (self.lookup_label, self.lookup_id, self.lookup_info):
            widget.setFont(big_font(13, bold=False))
        row.addWidget(self.lookup_label)
        row.addWidget(self.lookup_id, 1)
        row.addWidget(self.lookup_button)
        box = QVBoxLayout(self.lookup_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(row)
        box.addWidget(self.lookup_info)
        return self.lookup_row

    def _look_up(self) -> None:
        if self.admin_panel.isHidden() or not self.lookup_id.text().strip():
            return  # locked: the look-up is the admin's
        self.lookup_info.setText(self.tr("One moment…"))
        self.request_lookup.emit(self.lookup_id.text())

    def _holding_lines(self, view) -> list[str]:
        """Each pocket by expiry and usable-from day (#16.7), then the rides."""
        lines = []
        for held in view.holdings():
            when = [self.tr("until {0}").format(held["expires"])] if held["expires"] else []
            if held["usable_from"]:
                when.append(self.tr("usable from {0}").format(held["usable_from"]))
            lines.append(f"{self._pocket(held['pocket'])}: {yen(held['yen'])}"
                         + (f" ({', '.join(when)})" if when else ""))
        lines += [f"{self._ride_name(c)}: " + self.tr("{0} rides").format(n)
                  for c, n in sorted(view.rides.items())]
        return lines

    def _show_lookup(self, view, how: str) -> None:
        lines = self._holding_lines(view)
        state = self.tr("in use") if view.status == "active" and not view.debt else \
            self.tr("suspended ({0})").format(view.status if not view.debt else yen(view.debt))
        self.lookup_info.setText("\n".join(
            [self.tr("Wallet {0} ({1}, {2}): {3}").format(view.wallet_id, state, self.tr(how),
                                                          yen(view.total))] + lines
            + self._rally_lines(view)))

    def _rally_lines(self, view) -> list[str]:
        """Each rally card with the shops that stamped it (取得したスタンプには店舗名が表示
        されます)."""
        out = []
        for card in getattr(view, "rally", []):
            have = sum(shop["stamps"] for shop in card["shops"])
            shops = "、".join(f"{shop['name']} ×{shop['stamps']}" for shop in card["shops"])
            out.append(self.tr("{0}: {1} of {2} stamps {3} (completed {4})").format(
                card["name"], have, card["needed"], shops, card["done"]))
        return out

    def _build_printer_row(self) -> QHBoxLayout:
        """The receipt printer: its kind, one address field, the paper width; saved only
        once the printer answers."""
        row = QHBoxLayout()
        self.printer_label = QLabel()
        self.printer_kind = QComboBox()
        self.printer_kind.setObjectName("printer_kind")
        for kind in PRINTER_KINDS:
            self.printer_kind.addItem(kind, kind)
        self.printer_address = QLineEdit()
        self.printer_address.setObjectName("printer_address")
        self.printer_columns = QComboBox()
        for columns in PRINTER_COLUMN_CHOICES:
            self.printer_columns.addItem(str(columns), columns)
        self.printer_button = touch_button("", "action_printer")
        for widget in (self.printer_label, self.printer_kind, self.printer_address,
                       self.printer_columns):
            widget.setFont(big_font(13, bold=False))
            row.addWidget(widget, 1 if widget is self.printer_address else 0)
        row.addWidget(self.printer_button)
        self.printer_kind.currentIndexChanged.connect(self._printer_hint)
        return row

    def _printer_hint(self) -> None:
        hints = {"pdf": self.tr("no printer: receipts as PDF"),
                 "network": "192.168.1.50:9100", "usb": "04b8:0202",
                 "serial": "/dev/ttyUSB0@9600", "file": "/dev/usb/lp0"}
        kind = self.printer_kind.currentData()
        self.printer_address.setPlaceholderText(hints.get(kind, ""))
        self.printer_address.setEnabled(kind != "pdf")

    def _show_printer_settings(self, config: dict) -> None:
        kind, address, columns = printer_address_of(config)
        self.printer_kind.setCurrentIndex(max(0, self.printer_kind.findData(kind)))
        self.printer_address.setText(address)
        self.printer_columns.setCurrentIndex(max(0, self.printer_columns.findData(columns)))
        self._printer_hint()

    def _save_printer(self) -> None:
        self.reader_states["printer"] = self.tr("checking…")
        self._show_readers()
        self.request_printer.emit(self.printer_kind.currentData(), self.printer_address.text(),
                                  self.printer_columns.currentData())

    def _connect_bridge(self) -> None:
        b = self.bridge
        self.request_start.connect(b.start)
        self.request_diners.connect(b.set_diners)
        self.request_pay.connect(b.pay)
        self.request_pay_gift.connect(b.pay_gift)
        self.request_voucher.connect(b.buy_voucher)
        self.request_grant_campaign.connect(b.grant_campaign)
        self.request_ride.connect(b.use_ticket)
        self.request_exchange.connect(b.exchange)
        self.request_redeem.connect(b.redeem_gift)
        self.request_offers.connect(b.offers)
        self.request_charge.connect(b.charge)
        self.request_grant.connect(b.grant)
        self.request_balance.connect(b.balance)
        self.request_lookup.connect(b.look_up_wallet)
        self.request_refund.connect(b.refund)
        self.request_issue.connect(b.issue_card)
        self.request_printer.connect(b.configure_printer)
        self.request_cash.connect(b.cash_move)
        self.request_recent.connect(b.recent_sales)
        self.request_verify.connect(b.verify)
        self.request_sync.connect(b.sync_now)
        self.request_tally.connect(b.tally)
        self.request_close.connect(b.close_day)
        self.request_export.connect(b.export_tally)
        self.request_day_sales.connect(b.day_sales)
        self.request_reprint.connect(b.reprint)
        b.printed.connect(self.history.mark)
        self.request_rebuild.connect(b.rebuild_state)
        self.request_sign_in.connect(b.sign_in)
        self.request_sign_out.connect(b.sign_out)
        self.request_approve.connect(b.approve)
        self.request_admin_unlock.connect(b.admin_unlock)
        self.request_admin_lock.connect(b.admin_lock)
        self.request_training.connect(b.set_training)
        self.request_create_staff.connect(b.create_staff)
        self.request_staff_view.connect(b.staff_view)
        self.staff_check = QTimer(self)  # a lapsed sign-in shown without waiting for a sale
        self.staff_check.setInterval(STAFF_CHECK_MS)
        self.staff_check.timeout.connect(self.request_staff_view.emit)
        self.staff_check.start()
        b.health.connect(self._on_health)
        b.ready.connect(self._on_ready)
        b.done.connect(self._on_done)
        b.refused.connect(self._on_refused)
        b.failed.connect(self._on_failed)
        b.status.connect(self._on_status)
        b.clock.connect(self._on_clock)
        self.request_enroll.connect(b.enroll)
        self.request_phone.connect(b.phone_token)
        b.token.connect(self.present_text)
        b.receipt.connect(self._on_receipt)
        self.request_language.connect(b.set_language)
        from terminal.ui import app

        self.request_language.emit(app.language())

    def _shortcuts(self) -> None:
        """Every action from the keyboard: digits and Enter pay, Esc cancels, and these."""
        keys = {
            "F1": lambda: self.modes["shop"].click(),
            "F2": lambda: self.modes["booth"].click(),
            "F3": lambda: self.modes["admin"].click(),
            "F5": lambda: self._await("balance", self._current_counter()),
            "F6": self._show_refunds,
            "F7": self._set_excluded,
            "F8": lambda: self.booth.buttons["card"].click(),
            "F9": lambda: self.booth.buttons["grant"].click(),
            "F4": self._ride,
            "F10": self._show_campaigns,
            "Ctrl+B": lambda: self.double_button.isVisible() and self.double_button.click(),
            "Ctrl+D": self._await_diner,
            "F11": self._show_history,
            "F12": self._toggle_language,
        }
        for key, action in keys.items():
            QShortcut(QKeySequence(key), self, activated=action)

    def _current_counter(self) -> CounterScreen:
        screen = self.stack.currentWidget()
        return screen if isinstance(screen, CounterScreen) else self.shop

    def _connect_screen(self) -> None:
        self._shortcuts()
        self.enroll_button.clicked.connect(
            lambda: self.request_enroll.emit(self.ledger_url.text(), self.enroll_code.text(),
                                             self.ledger_fingerprint.text()))
        self.mode_buttons.idClicked.connect(self.stack.setCurrentIndex)
        self.mode_buttons.idClicked.connect(self._left_admin)
        self.staff_bar.sign_in.connect(self.request_sign_in.emit)
        self.staff_bar.sign_out.connect(self.request_sign_out.emit)
        self.staff_bar.approve.connect(self._approve)
        self.staff_admin.training.connect(self.request_training.emit)
        self.staff_admin.create.connect(self.request_create_staff.emit)
        self.admin_idle.timeout.connect(self._lock)
        for button in self.admin_panel.findChildren(QPushButton):
            button.clicked.connect(self._admin_used)
        self._last_request: tuple | None = None  # what a manager's PIN would approve
        for name in APPROVABLE_REQUESTS:
            signal = getattr(self, name)
            signal.connect(lambda *args, signal=signal: self._remember(signal, args))
        self.lang_button.clicked.connect(self._toggle_language)
        s, o = self.shop.buttons, self.booth.buttons
        s["pay"].clicked.connect(lambda: self._await("pay", self.shop))
        s["balance"].clicked.connect(lambda: self._await("balance", self.shop))
        s["refunds"].clicked.connect(self._show_refunds)
        s["excluded"].clicked.connect(self._set_excluded)
        s["ride"].clicked.connect(self._ride)
        self.diner_button.clicked.connect(self._await_diner)
        s["receipts"].clicked.connect(self._show_history)
        self.history.reprint.connect(self.request_reprint.emit)
        self.day_controls.close_shift.connect(lambda: self._close_day(shift=True))
        self.day_controls.export.connect(self.request_export.emit)
        self.pin_entry.returnPressed.connect(self._send_pin)
        self.pin_button.clicked.connect(self._send_pin)
        self.printer_button.clicked.connect(self._save_printer)
        o["campaigns"].clicked.connect(self._show_campaigns)
        self.choices.itemActivated.connect(self._choose)
        self.choices.itemClicked.connect(self._choose)
        self.mode_buttons.idClicked.connect(lambda _: self._refresh_offers())
        o["charge"].clicked.connect(lambda: self._await("charge", self.booth))
        o["grant"].clicked.connect(lambda: self._await("grant", self.booth))
        o["card"].clicked.connect(lambda: self._await("card", self.booth))
        o["balance"].clicked.connect(lambda: self._await("balance", self.booth))
        o["float_in"].clicked.connect(lambda: self._cash("in"))
        o["float_out"].clicked.connect(lambda: self._cash("out"))
        self.refund_button.clicked.connect(lambda: self._refund(False))
        self.void_button.clicked.connect(lambda: self._refund(True))
        self.shop.pad.changed.connect(lambda _: self._typing(self.shop))
        self.booth.pad.changed.connect(lambda _: self._typing(self.booth))
        self.unlock_button.clicked.connect(self._unlock)
        self.pin.returnPressed.connect(self._unlock)
        self.lock_button.clicked.connect(self._lock)
        self.lookup_button.clicked.connect(self._look_up)
        self.lookup_id.returnPressed.connect(self._look_up)
        self.sync_button.clicked.connect(self.request_sync.emit)
        self.x_button.clicked.connect(lambda: self.request_tally.emit(False, -1))
        self.z_button.clicked.connect(self._close_day)
        self.verify_button.clicked.connect(self.request_verify.emit)
        self.rebuild_button.clicked.connect(self._rebuild_state)
        self.contrast_button.clicked.connect(lambda: self._toggle_style("high_contrast"))
        self.large_button.clicked.connect(lambda: self._toggle_style("large_type"))
        self.demo_list.itemActivated.connect(self._demo_present)
        self.demo_list.itemClicked.connect(self._demo_present)

    # --- language ---------------------------------------------------------------------

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        tr = self.tr
        for widget in (self.staff_bar, self.training_banner, self.confirm, self.staff_admin):
            widget.retranslate()
        self.setWindowTitle(tr("Machi POS"))
        self.modes["shop"].setText(tr("Shop"))
        self.modes["booth"].setText(tr("Booth"))
        self.modes["admin"].setText(tr("Admin"))
        from terminal.ui import app

        # the button names the language it switches to, in that language
        self.lang_button.setText("English" if app.language() == "ja" else "日本語")
        labels = {"pay": tr("Pay"), "balance": tr("Balance"), "refunds": tr("Refund / void"),
                  "excluded": tr("Excluded goods"), "charge": tr("Top up (cash)"),
                  "grant": tr("Grant points"), "card": tr("New card"),
                  "float_in": tr("Float in"), "float_out": tr("Float out"),
                  "ride": tr("Ride"), "campaigns": tr("Campaigns"),
                  "receipts": tr("Receipts (F11)")}
        for screen in (self.shop, self.booth):
            for key, button in screen.buttons.items():
                button.setText(labels[key])
        self.refund_button.setText(tr("Refund the amount typed"))
        self.void_button.setText(tr("Void the whole sale"))
        self.age_label.setText(tr("Age band"))
        self.party_label.setText(tr("People"))
        self._show_double_tag()
        self.area_label.setText(tr("Area"))
        self.new_pin_label.setText(tr("PIN (optional)"))
        self.printer_label.setText(tr("Printer"))
        kinds = {"pdf": tr("None (PDF)"), "network": tr("Network"), "usb": "USB",
                 "serial": tr("Serial"), "file": tr("Device file")}
        for index in range(self.printer_kind.count()):
            self.printer_kind.setItemText(index, kinds[self.printer_kind.itemData(index)])
        self.printer_button.setText(tr("Save and test"))
        self.lookup_label.setText(tr("Wallet by id (look-up only)"))
        self.lookup_button.setText(tr("Look up"))
        self._printer_hint()
        self.pin_button.setText(tr("OK"))
        self.pin_label.setText(tr("Admin PIN"))
        self.unlock_button.setText(tr("Unlock"))
        self.sync_button.setText(tr("Sync now"))
        self.verify_button.setText(tr("Verify journal"))
        self.contrast_button.setText(tr("High contrast"))
        self.large_button.setText(tr("Large type"))
        self.lock_button.setText(tr("Lock"))
        self.x_button.setText(tr("X report (so far)"))
        self.z_button.setText(tr("Close the day (Z)"))
        self.counted_label.setText(tr("Cash counted"))
        self.rebuild_button.setText(tr("Rebuild state from the ledger"))
        self._show_storage()
        self.setup_title.setText(tr("Set up this terminal: the ledger's address and the "
                                    "one-time code from the town office"))
        self.ledger_fingerprint.setToolTip(tr("The ledger key's fingerprint, from the town "
                                              "office (needed for an http:// address)"))
        self.ledger_fingerprint.setPlaceholderText(tr("Ledger key fingerprint, e.g. 3F2A 9C01 "
                                                      "… (from the town office)"))
        self.enroll_button.setText(tr("Enroll"))
        self.demo_dock.setWindowTitle(tr("Demo: tap a customer to present their card or app"))
        if self.waiting is None:
            for screen in (self.shop, self.booth):
                screen.result.show_state("idle", tr("Type the amount, then choose."))
        self._show_status()

    def _toggle_language(self) -> None:
        from terminal.ui import app

        app.switch_language()
        self.request_language.emit(app.language())  # receipts follow the screen

    def _toggle_style(self, option: str) -> None:
        from terminal.ui import app

        app.toggle_style(option)

    # --- flows ------------------------------------------------------------------------

    def _typing(self, screen: CounterScreen) -> None:
        if screen.pad.amount == 0:
            return  # cleared after a sale: the result stays up until the next customer types
        if self.waiting is not None and self.waiting["screen"] is screen:
            return
        screen.result.show_state("idle", self.tr("Type the amount, then choose."),
                                 yen(screen.pad.amount) if screen.pad.amount else "")

    def _await(self, action: str, screen: CounterScreen) -> None:
        amount = screen.pad.amount
        if action in ("pay", "charge", "grant") and amount <= 0:
            screen.result.show_state("refused", self.tr("Type the amount first."))
            return
        self._hide_extras()
        self.waiting = {"action": action, "screen": screen, "amount": amount,
                        "excluded": self.excluded if action == "pay" else 0}
        prompts = {
            "pay": self.tr("Pay {0}: tap the card or show the app's code").format(yen(amount)),
            "balance": self.tr("Balance: tap the card or show the app's code"),
            "charge": self.tr("Top up {0}: tap the card or show the app's code").format(
                yen(amount)),
            "grant": self.tr("Grant {0} points: tap the card or show the app's code").format(
                f"{amount:,}"),
            "card": self.tr("New card: scan the blank card's number"),
            "ride": self.tr("Ride: tap the card or show the app's code"),
        }
        hint = self.tr("Esc cancels.")
        if action == "pay":
            hint = self.tr("A gift code pays too: scan it now. Esc cancels.")
        screen.result.show_state("waiting", prompts[action], "", hint)
        if action == "card":
            self.card_extra.show()
        if action == "charge":
            self.tender.start(amount)
            self.tender.show()
            self.tender.field.setFocus()  # typed cash goes here; the card's scan commits

    def _ride(self) -> None:
        if self.shop.buttons["ride"].isHidden():
            return  # no ticket campaign runs here
        self.modes["shop"].click()
        self._await("ride", self.shop)

    # --- campaigns at the booth ---------------------------------------------------------

    def _refresh_offers(self) -> None:
        if self.bridge is not None:
            self.request_offers.emit()

    def _apply_offers(self, offers: dict[str, list[dict]]) -> None:
        """Show the inputs this shop's campaigns need today, and only those."""
        self.offers = offers
        self.shop.buttons["ride"].setVisible(bool(offers.get("ticket")))
        rallies = offers.get("stamp_rally") or []
        self.party_box.setVisible(bool(rallies))
        tags = [rule["double_tag"] for rule in rallies
                if rule.get("double_tag") and rule.get("double_here")]
        self.double_tag = tags[0] if tags else ""
        self._show_double_tag()
        self.diner_button.setVisible(any(rule.get("diners_here") for rule in rallies))
        self._show_diners()
        if not rallies:
            self._reset_party()

    DOUBLE_TAGS = {"banquet": "Banquet"}  # a rally's double-stamp word, as the button says it

    def _show_double_tag(self) -> None:
        tag = self.double_tag
        self.double_button.setVisible(bool(tag) and not self.party_box.isHidden())
        self.double_button.setText(self.tr(self.DOUBLE_TAGS[tag]) if tag in self.DOUBLE_TAGS
                                   else tag)

    def _choice_items(self) -> list[tuple[str, tuple]]:
        """(words, what to do) for each campaign action the booth can take today."""
        tr, out = self.tr, []
        for rule in self.offers.get("premium_voucher", []):
            for item in rule["sets"]:
                out.append((tr("{0}: sell the {1} set (worth {2})").format(
                    rule["name"], yen(item["price"]), yen(item["common"] + item["exclusive"])),
                    ("voucher", rule["id"], item["price"])))
        for rule in self.offers.get("point_grant", []):
            out.append((tr("{0}: grant {1} pt").format(rule["name"], f"{rule['points']:,}"),
                        ("grant_campaign", rule["id"], 0)))
        for rule in self.offers.get("ticket", []):
            out.append((tr("{0}: grant {1} rides").format(rule["name"], f"{rule['rides']:,}"),
                        ("grant_campaign", rule["id"], 0)))
        for rule in self.offers.get("exchange", []):
            out.append((tr("{0}: {1} pt → {2} (type a number for more at once)").format(
                rule["name"], f"{rule['points']:,}", yen(rule["value"])),
                ("exchange", rule["id"], 0)))
        if self.offers.get("gift_code"):
            out.append((tr("Gift code into a wallet"), ("redeem", "", 0)))
        return out

    def _show_campaigns(self) -> None:
        """The booth's campaign actions: choose one (arrows, touch), then scan the customer."""
        self.modes["booth"].click()
        self._hide_extras()
        self.choices.clear()
        for text, action in self._choice_items():
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, action)
            self.choices.addItem(item)
        result = self.booth.result
        if not self.choices.count():
            self.waiting = None
            result.show_state("idle", self.tr("No campaigns at this booth today."))
            return
        self.waiting = {"action": "campaigns", "screen": self.booth, "amount": 0}
        result.show_state("waiting", self.tr("Choose, then tap the card or show the app's code"),
                          "", self.tr("↑ ↓ choose · Esc cancels."))
        result.receipt_area.hide()  # the list takes the room: there is no receipt to show
        self.choices.show()
        self.choices.setCurrentRow(0)
        self.choices.setFocus()

    def _choose(self, item: QListWidgetItem) -> None:
        """A campaign action chosen: now the customer's card, app or (a gift) code."""
        action, campaign_id, price = item.data(Qt.ItemDataRole.UserRole)
        steps = self.booth.pad.amount or 1
        self.waiting = {"action": action, "screen": self.booth, "amount": price,
                        "campaign": campaign_id, "steps": steps, "code": "", "who": None}
        self.choices.hide()
        if action == "redeem":
            prompt = self.tr("Gift code into a wallet: scan the gift code")
        elif action == "exchange" and steps > 1:
            prompt = self.tr("{0} × {1}: tap the card or show the app's code").format(
                item.text().split(":")[0], steps)
        else:
            prompt = self.tr("{0}: tap the card or show the app's code").format(item.text())
        self.booth.result.show_state("waiting", prompt, "", self.tr("Esc cancels."))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape and self.confirm.isVisible():
            self.confirm.hide()  # "really?" answered no
            return
        if event.key() == Qt.Key.Key_Escape and self.waiting is not None:
            screen = self.waiting["screen"]
            self.waiting = None
            self._hide_extras()
            if screen is self.shop:
                self._drop_sale_inputs()  # the sale is given up: the next one starts clean
            screen.result.show_state("idle", self.tr("Cancelled."))
            return
        screen = self.stack.currentWidget()
        if event.key() == Qt.Key.Key_Escape and screen is self.shop and (
                self.excluded or self.diners):
            self._drop_sale_inputs()  # excluded goods or diners set for a sale not made
            screen.pad.clear()
            screen.result.show_state("idle", self.tr("Cancelled."))
            return
        if isinstance(screen, CounterScreen):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.waiting is not None and self.waiting["action"] != "balance":
                    return  # already waiting for a card; an Enter from a list lands here too
                self._await("pay" if screen is self.shop else "charge", screen)
                return
            if screen is self.shop and not self.party_box.isHidden() and \
                    event.text() in ("+", "-", "*"):
                if event.text() == "*":
                    self.double_button.isVisible() and self.double_button.click()
                else:
                    self.party.stepBy(1 if event.text() == "+" else -1)
                return
            screen.pad.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    @Slot(str)
    def present_text(self, text: str) -> None:
        """A code arrived from the scanner, the camera, or the demo panel."""
        kind, value = credential_of(text)
        self.present(kind, value)

    def present(self, kind: str, value: str) -> None:
        if self.waiting is not None and self.waiting["action"] == "pin":
            return  # the PIN is being typed for the card already shown
        if self.waiting is None:
            screen = self.stack.currentWidget()
            if not isinstance(screen, CounterScreen):
                return
            if kind == "gift":
                screen.result.show_state("refused", self.tr("A gift code pays for a sale"), "",
                                         self.tr("Type the amount, press Pay, then scan the "
                                                 "gift code."))
                return
            # no action chosen: a scan alone asks for the balance
            self.waiting = {"action": "balance", "screen": screen, "amount": 0}
        if self.waiting["action"] == "campaigns":
            item = self.choices.currentItem()  # chosen by moving to it: the scan confirms
            if item is None:
                return
            self._choose(item)
        if self.waiting["action"] == "diner":
            self._add_diner(kind, value)
            return
        if self._gift_step(kind, value):
            return
        action, amount = self.waiting["action"], self.waiting["amount"]
        if action == "charge" and self.tender.short():
            return  # the box says by how much: the card waits until the cash is enough
        tendered = self.tender.value() if action == "charge" else None
        self.waiting["tendered"] = tendered
        self.waiting["screen"].result.show_state("working", self.tr("One moment…"))
        self._hide_extras()
        if action == "pay" and kind == "gift":
            self.request_pay_gift.emit(value, amount, self.waiting["excluded"])
        elif action == "pay":
            tags = [self.double_tag] if self.double_tag and self.double_button.isChecked() \
                else []
            self.last_pay = (kind, value, amount, self.waiting["excluded"],
                             self.party.value(), tags)
            self._emit_pay("")
        elif action == "ride":
            self.request_ride.emit(kind, value)
        elif action == "voucher":
            self.request_voucher.emit(kind, value, self.waiting["campaign"], amount)
        elif action == "grant_campaign":
            self.request_grant_campaign.emit(kind, value, self.waiting["campaign"])
        elif action == "exchange":
            self.request_exchange.emit(kind, value, self.waiting["campaign"],
                                       self.waiting["steps"])
        elif action == "redeem":
            who_kind, who_value = self.waiting["who"]
            self.request_redeem.emit(who_kind, who_value, self.waiting["code"])
        elif action == "charge":
            self.request_charge.emit(kind, value, amount, tendered or 0)
        elif action == "grant":
            self.request_grant.emit(kind, value, amount)
        elif action == "balance":
            self.request_balance.emit(kind, value)
        elif action == "card":
            self.request_issue.emit(value, self.age_band.currentText(), self.area.currentText(),
                                    self.new_pin.text())
            self.new_pin.clear()

    def _gift_step(self, kind: str, value: str) -> bool:
        """A gift code where none is taken, or half of a booth redeem (the code and the
        customer, in either order): True when there is nothing to send yet."""
        action, screen = self.waiting["action"], self.waiting["screen"]
        if action == "redeem":
            if kind == "gift":
                self.waiting["code"] = value
            else:
                self.waiting["who"] = (kind, value)
            if not self.waiting["code"]:
                screen.result.show_state("waiting", self.tr("Now scan the gift code"), "",
                                         self.tr("Esc cancels."))
                return True
            if self.waiting["who"] is None:
                screen.result.show_state("waiting", self.tr(
                    "Gift code read: now tap the card or show the app's code"), "",
                    self.tr("Esc cancels."))
                return True
            return False
        if kind == "gift" and action != "pay":
            self.waiting = None
            screen.result.show_state("refused", self.tr("A gift code pays for a sale"), "",
                                     self.tr("Type the amount, press Pay, then scan the "
                                             "gift code."))
            return True
        return False

    def _set_excluded(self) -> None:
        self.excluded = self.shop.pad.amount
        self.shop.pad.clear()
        self.shop.result.show_state("idle", self.tr("Excluded goods: {0} (not payable with "
                                                    "vouchers). Now type the total.").format(
                                                        yen(self.excluded)))

    def _cash(self, direction: str) -> None:
        amount = self.booth.pad.amount
        if amount <= 0:
            self.booth.result.show_state("refused", self.tr("Type the amount first."))
            return
        self.waiting = {"action": "cash", "screen": self.booth, "amount": amount}
        self.request_cash.emit(amount, direction)

    def _show_refunds(self) -> None:
        self._hide_extras()
        self.waiting = {"action": "refunds", "screen": self.shop, "amount": 0}
        self.request_recent.emit()

    def _refund(self, void: bool) -> None:
        item = self.sales.currentItem()
        if item is None:
            self.shop.result.show_state("refused", self.tr("Choose a sale first."))
            return
        tx_id, amount = item.data(Qt.ItemDataRole.UserRole), self.shop.pad.amount
        what = self.tr("Void this sale?") if void else self.tr("Refund?")

        def send() -> None:
            self.waiting = {"action": "refund", "screen": self.shop, "amount": 0}
            self.request_refund.emit(tx_id, 0 if void else amount, void)

        # "Really?" with the amount in large type: the whole sale for a void
        self.confirm.ask(what, item.data(Qt.ItemDataRole.UserRole + 1) if void else amount,
                         send)

    def _pin_field(self, name: str) -> QLineEdit:
        field = QLineEdit()
        field.setObjectName(name)
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setMaxLength(PIN_MAX_DIGITS)
        field.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d*"), field))
        return field

    def _ask_pin(self, message: str) -> None:
        """The card needs its PIN: the customer types it here, Enter sends the sale again."""
        self.waiting = {"action": "pin", "screen": self.shop, "amount": self.last_pay[2]}
        self.shop.result.show_state("waiting", self.tr("PIN, please"), "",
                                    message + "\n" + self.tr("Esc cancels."))
        self.shop.result.receipt_area.hide()
        self.pin_entry.clear()
        self.pin_box.show()
        self.pin_entry.setFocus()

    def _send_pin(self) -> None:
        if self.last_pay is None or not self.pin_entry.text():
            return
        pin = self.pin_entry.text()
        self.pin_entry.clear()
        self._hide_extras()
        self.waiting = {"action": "pay", "screen": self.shop, "amount": self.last_pay[2]}
        self.shop.result.show_state("working", self.tr("One moment…"))
        self._emit_pay(pin)

    def _hide_extras(self) -> None:
        self.pin_entry.clear()
        for widget in (self.sales, self.refund_button, self.void_button, self.choices,
                       self.card_extra, self.pin_box, self.history, self.tender):
            widget.hide()
        for screen in (self.shop, self.booth):
            screen.result.receipt_area.show()

    # --- results ----------------------------------------------------------------------

    def _screen_for(self, action: str) -> CounterScreen:
        if self.waiting is not None:
            return self.waiting["screen"]
        return self.booth if action in ("charge", "grant", "issue_card", "cash_move", "voucher",
                                        "grant_campaign", "exchange", "redeem") else self.shop

    POCKETS = {"charged": "Charged money", "premium_common": "Vouchers (all shops)",
               "premium_exclusive": "Vouchers (small shops)", "points": "Points"}

    def _pocket(self, pocket: str) -> str:
        return self.tr(self.POCKETS.get(pocket, pocket))

    @Slot(str, object)
    def _on_done(self, action: str, result: Any) -> None:
        if action in ("staff", "approve", "admin_unlock"):
            self._staff_done(action, result)
            return
        bar = self.staff_bar
        if bar.mode == "approve" and hasattr(result, "kind"):
            # another transaction was made: the approval asked before is not wanted
            bar.show_view({"staff": bar.staff, "signed_in": bar.signed_in, "enforcing": True})
            self._last_request = None
        if action == "recent_sales":
            self._list_sales(result)
            return
        if action in ("day_sales", "reprint", "export", "close_day"):
            self._on_day(action, result)
            return
        if action == "printer_setup":
            self.reader_states["printer"] = result
            self._show_readers()
            return
        if action == "offers":
            self._apply_offers(result)
            return
        if action in ("verify", "tally", "rebuild_state"):
            self.verify_info.setText(result)
            return
        if action == "lookup":
            self._show_lookup(*result)
            return
        screen = self._screen_for(action)
        tendered = self.waiting.get("tendered") if self.waiting else None
        self.waiting = None
        self._hide_extras()
        if action == "balance":
            view, how = result
            lines = self._holding_lines(view) + self._rally_lines(view)
            screen.result.show_state("approved", self.tr("Balance ({0})").format(
                self.tr(how)), yen(view.total), "\n".join(lines))
            return
        self._show_outcome(screen, result)
        if result.kind == "charge" and tendered:
            # the change is what the cashier counts out now: the big line
            screen.result.balance.setText(self.tr("Change {0}").format(
                yen(tendered - result.amount)))
        screen.pad.clear()
        if result.kind in ("payment", "gift"):
            self._drop_sale_inputs()
        self._refresh_offers()  # a campaign may have run out, or a new snapshot come

    def _ride_name(self, campaign_id: str) -> str:
        for rule in self.offers.get("ticket", []):
            if rule["id"] == campaign_id:
                return rule["name"]
        return self.tr("Rides")

    def _title(self, result) -> str:
        tr = self.tr
        titles = {"payment": tr("Paid {0}"), "refund": tr("Refunded {0}"),
                  "void": tr("Voided {0}"), "charge": tr("Topped up {0}"),
                  "grant": tr("Granted {0} points"), "card_issue": tr("New card issued"),
                  "cash_move": tr("Cash float recorded: {0}"),
                  "gift": tr("Paid {0} with a gift code"), "ticket": tr("Ride recorded"),
                  "exchange": tr("Exchanged: {0} added"), "grant/ticket": tr("Granted {0} rides"),
                  "grant/gift": tr("Gift code added: {0}"),
                  "charge/voucher": tr("Voucher set sold for {0}")}
        named = paper.variant(result)
        counted = named in ("grant", "grant/ticket")
        return titles[named].format(f"{result.amount:,}" if counted else yen(result.amount))

    def _show_outcome(self, screen: CounterScreen, result) -> None:
        """The result of a committed transaction: what it did, what each campaign did, what
        is left; the receipt follows on its own signal."""
        self.last_outcome = result
        self._sound("approve")
        lines = []
        if result.kind == "payment" and result.price is not None and \
                result.price != result.amount:
            lines.append(self.tr("Goods {0} → to pay {1}").format(yen(result.price),
                                                                  yen(result.amount)))
        if result.kind == "gift":
            lines.append(self.tr("Sale {0}: the gift code paid {1}. No change is given.")
                         .format(yen(result.price or result.amount), yen(result.amount)))
        lines += [f"{self._pocket(p)}: {yen(v)}" for p, v in sorted(result.paid_by.items())
                  if p in self.POCKETS and v > 0 and result.kind not in ("exchange",)]
        if result.decision and result.kind != "gift":
            lines.append(self.tr("decided {0} · receipt no. {1}").format(
                self.tr(result.decision), result.seq))
        else:
            lines.append(self.tr("receipt no. {0}").format(result.seq))
        balance = ""
        left = [entry["rides_left"] for entry in result.campaigns if "rides_left" in entry]
        if result.kind == "ticket" and left:
            balance = self.tr("{0} rides left").format(left[0])  # big: card users look here
        elif result.kind == "gift":
            if result.rest:
                balance = self.tr("Still to pay {0}").format(yen(result.rest))
        elif result.balance_after is not None:
            balance = self.tr("Remaining {0}").format(yen(result.balance_after))
        screen.result.show_state("approved", "✔ " + self._title(result), balance,
                                 "\n".join(lines), campaign_words.lines(result),
                                 ["・" + campaign_words.note(n) for n in result.notes])

    def _list_sales(self, sales: list) -> None:
        self.sales.clear()
        for sale in sales:  # history.Sale: voided and refunded ones marked, as in F11's list
            item = QListWidgetItem(self.history.row_text(sale))
            item.setData(Qt.ItemDataRole.UserRole, sale.tx_id)
            item.setSizeHint(QSize(0, ROW_MIN_PX))  # a row a finger can tap
            item.setData(Qt.ItemDataRole.UserRole + 1, sale.amount)
            if sale.status in ("voided", "refunded"):
                font = item.font()
                font.setStrikeOut(True)
                item.setFont(font)
            self.sales.addItem(item)
        self.shop.result.show_state("waiting", self.tr("Choose a sale; type an amount for a "
                                                       "partial refund."))
        self.shop.result.receipt_area.hide()  # the list takes the room
        for widget in (self.sales, self.refund_button, self.void_button):
            widget.show()

    @Slot(str)
    def _on_receipt(self, text: str) -> None:
        """The receipt on screen (it prints, or goes to a PDF, on its own thread)."""
        screen = self.booth if self.stack.currentWidget() is self.booth else self.shop
        screen.result.receipt.setText(text)

    @Slot(str, str, str, dict)
    def _on_refused(self, action: str, code: str, message: str, details: dict) -> None:
        if action == "offers":
            return  # the inputs stay as they were; the next result asks again
        template = REASONS.get(code)
        if code == "approval_needed" and "why_key" in details:  # said in the screen's words
            why = why_words(details["why_key"], details["limit"])
            if "first_close" in details:  # a second close: what the first one covered
                from terminal.ui import app

                why += " — " + tally.describe_close(details["first_close"], app.language())
            details = {**details, "why": why}
        if template is not None:
            # the same English template the policy used, looked up in the translation
            message = QCoreApplication.translate("Refusal", template).format(**details)
        if action == "lookup":
            self.lookup_info.setText("✘ " + message)  # the admin screen's: no sale waits
            return
        if self._staff_refused(action, code, message, details):
            return
        screen = self._screen_for(action)
        self.waiting = None
        self._hide_extras()
        if action == "pay" and code in PIN_CODES and self.last_pay is not None:
            self._ask_pin(message)
            return
        screen.result.show_state("refused", "✘ " + self.tr("Not accepted"), "", message)
        self._sound("refuse")

    def _sound(self, kind: str) -> None:
        """Approve or refuse, heard; the system beep for a refusal when no player is set up."""
        if not self.sounds.play(kind) and kind == "refuse":
            QApplication.beep()

    @Slot(str, str)
    def _on_failed(self, action: str, message: str) -> None:
        if action == "printer":
            self.reader_states["printer"] = message
            self._show_readers()
            return
        if action == "printer_setup":  # the new printer did not answer: the old one stays
            self.reader_states["printer"] = self.tr("not saved: {0}").format(message)
            self._show_readers()
            return
        if action == "offers":
            return
        if action == "rebuild_state":
            self.verify_info.setText("✘ " + message)
            return
        if action == "damaged":  # a database that cannot be opened: no enrolling here
            self.shop.result.show_state("refused", self.tr("This terminal's records are "
                                                           "damaged"), "", message)
            return
        if action in ("start", "enroll"):
            self.shop.result.show_state("refused", self.tr("This terminal is not ready"), "",
                                        message)
            self.status_line.setText(self.tr("Not set up: {0}").format(message))
            self.setup_panel.show()
            self.modes["admin"].setChecked(True)
            self.stack.setCurrentWidget(self.admin)
            return
        self._on_refused(action, "failed", message, {})

    @Slot(dict)
    def _on_ready(self, info: dict) -> None:
        self.info = info
        self.setup_panel.hide()
        merchant = info.get("merchant") or {}
        self.shop_name.setText(merchant.get("name", ""))
        self._show_printer_settings(info.get("printer") or {})
        if info.get("printer_status") and "printer" not in self.reader_states:
            self.reader_states["printer"] = info["printer_status"]
            self._show_readers()
        self._refresh_offers()
        if info.get("staff"):
            self._staff_done("staff", info["staff"])
        if info.get("demo"):
            self.demo_list.clear()
            for member in (info.get("staff") or {}).get("staff", []):
                pin = DEMO_PINS.get(member["name"])
                if pin:  # the demo's ready-made staff, their PINs said on screen
                    item = QListWidgetItem(self.tr("Staff {0} ({1}): PIN {2}").format(
                        member["name"], self.tr(member["role"]), pin))
                    item.setData(Qt.ItemDataRole.UserRole, ("staff", member["staff"]))
                    self.demo_list.addItem(item)
            for person in info["customers"]:
                if person["kind"] == "card":
                    label = self.tr("Card") + "  " + cards.printed(person["value"])
                elif person["kind"] == "note":  # something the demo could not offer
                    self.demo_list.addItem(QListWidgetItem(person["value"]))
                    continue
                elif person["kind"] == "gift":
                    label = self.tr("Gift code {0} …{1}").format(
                        yen(giftcodes.parse(person["value"]).value), person["value"][-4:])
                else:
                    label = self.tr("App") + "  " + person["value"]  # a demo phone
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, (person["kind"], person["value"]))
                self.demo_list.addItem(item)
            self.demo_dock.show()
        limits = merchant.get("config") or {}
        self.admin_info.setText(self.tr("Terminal {0}\nData: {1}").format(
            info["terminal_id"], info["data_dir"]) + "\n" + self.tr(
            "Ledger keys pinned: {0}").format(", ".join(info.get("ledger_keys", []))) + \
            "\n" + self.tr(
            "Offline limits: {0} per payment, {1} per wallet until the next sync, balances "
            "older than {2} h allow only {3}; wallet cap {4}").format(
            *(yen(limits.get(k, 0)) if k != "max_snapshot_age_s" else limits.get(k, 0) // 3600
              for k in ("max_offline_payment", "max_offline_per_wallet", "max_snapshot_age_s",
                        "small_payment_when_stale", "wallet_balance_cap"))))
        self._show_status()

    def _demo_present(self, item: QListWidgetItem) -> None:
        if item.data(Qt.ItemDataRole.UserRole) is None:
            return  # a note, not a customer
        kind, value = item.data(Qt.ItemDataRole.UserRole)
        if kind == "staff":  # chosen in the staff bar; the PIN is typed there
            self.staff_bar.who.setCurrentIndex(self.staff_bar.who.findData(value))
            self.staff_bar.pin.setFocus()
        elif kind == "phone":
            self.request_phone.emit(value)  # the phone's live code comes back as `token`
        else:
            self.present(kind, value)

    @Slot(object)
    def _on_status(self, status) -> None:
        self.last_status = status
        self._show_status()

    @Slot(object)
    def _on_clock(self, check) -> None:
        self.clock_check = check
        self._show_status()

    @Slot(object)
    def _on_health(self, report) -> None:
        self.storage = report
        self._show_storage()
        self._show_status()

    def storage_warnings(self) -> list[str]:
        """What is wrong with this terminal's storage, in the cashier's language."""
        from terminal.health import JOURNAL, MIB, STATE

        report = self.storage
        if report is None:
            return []
        out = []
        if report.damaged:
            parts = [self.tr("journal") if report.part_damaged(JOURNAL) else "",
                     self.tr("state") if report.part_damaged(STATE) else ""]
            out.append(self.tr("⛔ This terminal's records are damaged ({0}): no sales. "
                               "Manager: see the admin screen.")
                       .format(", ".join(p for p in parts if p)))
        if report.low_space:
            out.append(self.tr("⚠ Only {0} MiB left on this terminal's disk: free space "
                               "before it is full.").format(f"{report.free_bytes / MIB:.1f}"))
        return out

    def _show_storage(self) -> None:
        """The admin screen's account of damage, and its ways out."""
        from terminal.health import JOURNAL, STATE

        report = self.storage
        if report is None or not report.damaged:
            self.storage_info.clear()
            self.rebuild_button.hide()
            return
        lines = [f"✘ {d.part}: {d.detail}" for d in report.damage]
        if report.part_damaged(STATE):
            lines.append(self.tr("The state (the ledger's snapshot) can be rebuilt from the "
                                 "ledger; no record is lost."))
        if report.part_damaged(JOURNAL):
            lines.append(self.tr("The journal cannot be mended: export what verifies "
                                 "(python -m terminal journal export --out FILE), sync, and "
                                 "enroll this terminal anew in a new data directory."))
        self.storage_info.setText("\n".join(lines))
        self.rebuild_button.setVisible(report.part_damaged(STATE))

    def _rebuild_state(self) -> None:
        self.rebuild_button.hide()
        self.verify_info.setText(self.tr("Rebuilding the state from the ledger…"))
        self.request_rebuild.emit()

    def _duration(self, seconds: float) -> str:
        for text, size in ((self.tr("{0} d"), 86_400), (self.tr("{0} h"), 3_600),
                           (self.tr("{0} min"), 60)):
            if seconds >= size:
                return text.format(round(seconds / size))
        return self.tr("{0} s").format(round(seconds))

    def clock_warnings(self) -> list[str]:
        """What is wrong with this terminal's wall clock, in the cashier's language."""
        check = self.clock_check
        if check is None or check.ok:
            return []
        out = []
        if check.behind_ledger_s > CLOCK_BEHIND_TOLERANCE_S:
            out.append(self.tr("⚠ This terminal's clock is {0} behind the ledger's time: set "
                               "it right (sales are dated by the ledger's time meanwhile).")
                       .format(self._duration(check.behind_ledger_s)))
        if check.behind_record_s > CLOCK_BEHIND_TOLERANCE_S:
            out.append(self.tr("⚠ This terminal's clock is {0} behind its last sale: set it "
                               "right.").format(self._duration(check.behind_record_s)))
        if check.ahead:
            out.append(self.tr("⚠ This terminal's clock is {0} ahead of the ledger's time: "
                               "app codes are refused until it is set right.")
                       .format(self._duration(check.ahead_s)))
        return out

    def _show_status(self) -> None:
        status = self.last_status
        tid = self.info.get("terminal_id", "…")
        storage = self.storage_warnings()
        self.status_line.setProperty("storage", "wrong" if storage else "ok")
        if status is None:
            self.status_line.setText("\n".join([
                self.tr("Terminal {0} · starting…").format(tid), *storage]))
            self.status_line.setProperty("online", "unknown")
            return
        if status.last_success:
            ago = max(0, int(time.time() - status.last_success))
            when = self.tr("last sync {0} s ago").format(ago) if ago < 120 else \
                self.tr("last sync {0} min ago").format(ago // 60)
        else:
            when = self.tr("never synced")
        state = self.tr("● Online") if status.online else self.tr("○ Offline")
        warnings = self.clock_warnings()
        self.status_line.setText("\n".join([
            self.tr("{0} · {1} records not yet sent · {2} · terminal {3}")
            .format(state, status.pending, when, tid), *storage, *warnings]))
        self.status_line.setProperty("online", "yes" if status.online else "no")
        self.status_line.setProperty("clock", "wrong" if warnings else "ok")
        self.status_line.style().unpolish(self.status_line)
        self.status_line.style().polish(self.status_line)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            if os.environ.get(FIRST_PAINT_ENV):  # bench app times cold start to this line
                print(FIRST_PAINT_MARKER, flush=True)

    # --- admin ------------------------------------------------------------------------

    def _unlock(self) -> None:
        """A manager's PIN opens the admin screen (asked of the core: wrong PINs count)."""
        pin = self.pin.text()
        self.pin.clear()
        self.request_admin_unlock.emit(pin)

    def _opened_admin(self, result: dict) -> None:
        if result.get("view"):
            self._staff_done("staff", result["view"])  # the manager is signed in now
        self.pin_message.clear()
        self.admin_panel.show()
        self.admin_idle.start()
        self.request_verify.emit()

    def _admin_used(self) -> None:
        if not self.admin_panel.isHidden():
            self.admin_idle.start()  # restarted: it locks that long after the last use

    def _left_admin(self, index: int) -> None:
        if self.stack.widget(index) is not self.admin:
            self._lock()

    # --- staff ------------------------------------------------------------------------

    def _remember(self, signal, args: tuple) -> None:
        self._last_request = (signal, args)

    def _approve(self, staff_id: str, pin: str) -> None:
        """The manager's PIN, then the request that waited for it, in that order (both
        queued to the bridge's thread)."""
        self.request_approve.emit(staff_id, pin)
        bar = self.staff_bar
        bar.show_view({"staff": bar.staff, "signed_in": bar.signed_in, "enforcing": True})
        if self._last_request is not None:
            signal, args = self._last_request
            signal.emit(*args)

    def _staff_done(self, action: str, result: Any) -> None:
        if action == "admin_unlock":
            self._opened_admin(result)
            return
        if action == "approve":
            return  # the action sent after it answers
        bar = self.staff_bar
        if bar.mode == "approve" and result.get("signed_in") == bar.signed_in:
            bar.staff = result.get("staff") or []  # a check: the PIN asked stays asked
        else:
            bar.show_view(result)
        self.training_banner.setVisible(bool(result.get("training")))
        self.staff_admin.training_button.setChecked(bool(result.get("training")))
        self.staff_admin.first_setup(not result.get("enforcing"))
        if not self.admin_panel.isHidden():
            self.staff_admin.info.setText("\n".join(
                f"{m['name']} ({self.tr(m['role'])})" for m in result.get("staff", [])))

    def _staff_refused(self, action: str, code: str, message: str, details: dict) -> bool:
        """Refusals the staff bar answers: True when it took this one."""
        if action == "admin_unlock":
            self.pin_message.setText("✘ " + message)
            return True
        if action == "approve":
            self._approval_error = message  # said again when the action asks once more
            return True
        if action == "staff":
            self.staff_bar.message.setText("✘ " + message)
            self.staff_admin.training_button.setChecked(not self.training_banner.isHidden())
            if action == "staff" and not self.admin_panel.isHidden():
                self.staff_admin.info.setText("✘ " + message)
            return True
        if code == "approval_needed":
            self.staff_bar.ask_approval(details.get("why", ""), details.get("amount", 0),
                                        details.get("action") == "grant")
            error, self._approval_error = getattr(self, "_approval_error", ""), ""
            if error:
                self.staff_bar.message.setText("✘ " + error + "  " +
                                               self.staff_bar.message.text())
        elif code == "not_signed_in":
            self.staff_bar.ask_sign_in(message)
        return False

    def _close_day(self, shift: bool = False) -> None:
        """The Z close (or a shift close). A second close on the day of a Z is refused by
        the counter, saying what the first covered, and the staff bar asks a manager's PIN
        (Counter.close_day); with no staff yet it is refused outright."""
        text = self.counted.text().replace(",", "").replace("¥", "").strip()
        if not text.isdigit():
            self.verify_info.setText(self.tr("Count the cash in the drawer and enter it first."))
            return
        self.request_close.emit(int(text), shift, "")
        self.counted.clear()

    def _show_history(self) -> None:
        """Today's receipts on the shop's result panel: search, reprint."""
        self.modes["shop"].setChecked(True)
        self.stack.setCurrentWidget(self.shop)
        self._hide_extras()
        self.waiting = {"action": "receipts", "screen": self.shop, "amount": 0}
        self.shop.result.show_state("waiting", self.tr("Today's receipts"), "",
                                    self.tr("Enter reprints the chosen one. Esc closes."))
        self.shop.result.receipt_area.hide()  # the list takes the room
        self.history.show()
        self.request_day_sales.emit()

    def _on_day(self, action: str, result: Any) -> None:
        if action == "day_sales":
            self.history.show_sales(result)
        elif action == "reprint":
            self.shop.result.receipt_area.show()
            self.history.hide()
            self.waiting = None
            self.shop.result.show_state("approved", self.tr("Receipt no. {0} printed again "
                                                            "(再発行)").format(result))
        elif action == "export":
            self.day_controls.saved(result)
        elif result[0] == "second_close":
            self.day_controls.second_close(result[1])
            self.verify_info.setText("")
        else:
            self.day_controls.info.setText("")
            self.verify_info.setText(result[1])
            if result[2]:  # a Z: the counter says which day its sales now go to
                self.shop.result.show_state("idle", self.tr(
                    "Business day {0} is closed. Sales from now on belong to the next "
                    "business day, {1}.").format(*result[2]))

    def _lock(self) -> None:
        if not self.admin_panel.isHidden():  # a manager signed in by it hands back
            self.request_admin_lock.emit()
        self.admin_idle.stop()
        self.admin_panel.hide()
        self.lookup_id.clear()
        self.lookup_info.clear()

    @Slot(str, str, str)
    def _on_reader_status(self, reader: str, state: str, message: str) -> None:
        self.reader_states[reader] = f"{state}: {message}"
        self._show_readers()

    def _show_readers(self) -> None:
        lines = [f"{name} — {text}" for name, text in sorted(self.reader_states.items())]
        self.readers_info.setText(self.tr("Readers") + "\n" + "\n".join(lines))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._tick.stop()
        if self.bridge is not None:
            self.readers.stop()
            QApplication.instance().removeEventFilter(self.scanner)
            # Let the worker finish what it is doing, then stop the services here: a stop
            # queued to the thread would be dropped when its event loop quits.
            self._thread.quit()
            self._thread.wait(WORKER_STOP_MS)
            self.bridge.stop()
        super().closeEvent(event)
