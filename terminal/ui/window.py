"""The counter window: a frame holding the shop, booth and admin screens, the staff bar,
the status that is always in view, and the demo panel; later the customer display.

The frame owns the worker thread (terminal.ui.ops.Runner) with the terminal's services
(terminal.ui.bridge). It is drawn first; the services start right after, from the journal
and the last snapshot, and the counter takes a sale as soon as they answer. The sync runs in
the background and is never waited for.

Hooks for the parts plugged in later, each one method:
  customer display  `customer_show_idle/amount/result/refused/thanks` (CustomerDisplay)
  status line       `status_update(status)` (StatusLine.update_status)
  log view          `AdminScreen.log_slot` via `install_log_view(widget)` (LogView)
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sync import cards, giftcodes
from sync.staff import DEMO_STAFF
from terminal import settings as saved_settings
from terminal.clock import CLOCK_BEHIND_TOLERANCE_S
from terminal.sounds import SoundPlayer
from terminal.ui import look
from terminal.ui.admin import AdminScreen
from terminal.ui.booth import BoothScreen
from terminal.ui.bridge import TerminalBridge
from terminal.ui.ops import START_TIMEOUT_S, Op, OpFailure, Runner
from terminal.ui.screen import CounterScreen, credential_of, failure_words, tr
from terminal.ui.shop import ShopScreen
from terminal.ui.staffbox import ConfirmPanel, StaffBar, TrainingBanner
from terminal.ui.widgets import big_font, yen

FIRST_PAINT_ENV = "MACHI_REPORT_FIRST_PAINT"
FIRST_PAINT_MARKER = "machi-pos: first paint"
SALE_READY_MARKER = "machi-pos: sale-ready"
# The window's size when the screen has room: fits a 1280x800 counter with the demo panel.
WINDOW_W, WINDOW_H = 1280, 740
DEMO_PANEL_W = 330  # at most; a fifth of a narrow window, and never under DEMO_PANEL_MIN_W
DEMO_PANEL_MIN_W = 200
MODE_BUTTON_MIN_PX = 48
STATUS_STRETCH, STAFF_STRETCH = 3, 2  # the bottom row's shares
STATUS_TICK_MS = 1_000
# How often the window asks whether the sign-in lapsed (the shop's idle time, in the core).
STAFF_CHECK_MS = 30_000
DEMO_PINS = {name: pin for name, _, pin in DEMO_STAFF}


class MainWindow(QMainWindow):
    phone_code = Signal(str)  # a demo phone's live code, as the phone shows it
    refusal = Signal(str, str)  # a counter op refused: its code and the words shown

    def __init__(self, data_dir: Path, demo_base: Path | None = None) -> None:
        super().__init__()
        self._data_dir, self._demo_base = Path(data_dir), demo_base
        self._apply_saved_settings()  # before anything is drawn
        self.info: dict[str, Any] = {}
        self.offers: dict[str, list[dict]] = {}  # this shop's active campaigns, by kind
        self.last_outcome: Any = None  # what the last committed transaction did
        self.last_status: Any = None
        self.storage: Any = None  # terminal.health.HealthReport, from the services
        self.clock_check: Any = None  # terminal.clock.ClockCheck, from the services
        self.reader_states: dict[str, str] = {}
        self._retry: Any = None  # the op a manager's PIN would approve, to run again
        self._approval_error = ""
        self._painted = False
        self.bridge = TerminalBridge(self._data_dir, demo_base)
        self.runner = Runner(self, self.bridge)
        self._build()
        self._fit_to_screen()
        self.retranslate()
        self._connect()
        self.sounds = SoundPlayer()
        threading.Thread(target=self.sounds.prepare, name="sounds", daemon=True).start()
        self.reader_states["sound"] = self.sounds.status
        self._tick = QTimer(self)
        self._tick.setInterval(STATUS_TICK_MS)
        self._tick.timeout.connect(self._show_status)
        self._tick.start()
        self.readers: Any = None
        QTimer.singleShot(0, self._start_services)

    # --- settings ---------------------------------------------------------------------------

    def _apply_saved_settings(self) -> None:
        """This terminal's language and look, as it was left (terminal.settings)."""
        if not saved_settings.saved(self._data_dir):
            return  # the launch's language and the plain look stand
        chosen = saved_settings.load(self._data_dir)
        look.set_language(chosen.language)
        look.set_option("high_contrast", chosen.high_contrast)
        look.set_option("large_type", chosen.large_type)

    def _save_settings(self) -> None:
        on = look.options()
        saved_settings.save(self._data_dir, saved_settings.Settings(
            look.language(), "high_contrast" in on, "large_type" in on))

    def toggle_option(self, option: str) -> None:
        look.toggle_style(option)
        self._save_settings()

    def toggle_language(self) -> None:
        look.switch_language()
        self._save_settings()
        self._tell_language()

    def _tell_language(self) -> None:
        language = look.language()  # receipts follow the screen
        Op(self, lambda s: s.set_language(language), label=tr("the language")).run()

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        header = QWidget()
        header.setObjectName("header")
        self.shop_name = QLabel()
        self.shop_name.setFont(big_font(18))
        # a long shop name is cut rather than widen the window
        self.shop_name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.mode_buttons = QButtonGroup(self)
        head = QHBoxLayout(header)
        head.addWidget(self.shop_name, 1)
        self.modes: dict[str, QPushButton] = {}
        for index, key in enumerate(("shop", "booth", "admin")):
            button = QPushButton()
            button.setCheckable(True)
            button.setMinimumHeight(MODE_BUTTON_MIN_PX)
            button.setObjectName(f"mode_{key}")
            self.mode_buttons.addButton(button, index)
            self.modes[key] = button
            head.addWidget(button)
        self.lang_button = QPushButton()
        self.lang_button.setMinimumHeight(MODE_BUTTON_MIN_PX)
        head.addWidget(self.lang_button)
        self.shop, self.booth = ShopScreen(self), BoothScreen(self)
        self.admin = AdminScreen(self)
        self.stack = QStackedWidget()
        for screen in (self.shop, self.booth, self.admin):
            self.stack.addWidget(screen)
        self.stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.status_line = QLabel()  # the status line widget replaces it (`status_update`)
        self.status_line.setObjectName("status")
        self.status_line.setFont(big_font(14))
        self.status_line.setWordWrap(True)
        central = QWidget()
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # keys reach the counter
        self.central = central
        layout = QVBoxLayout(central)
        layout.addWidget(header)
        # Staff (terminal.ui.staffbox): who is signed in or a PIN asked, training, "really?"
        self.staff_bar, self.training_banner = StaffBar(), TrainingBanner()
        self.confirm = ConfirmPanel()
        self.training_banner.setWordWrap(True)
        for widget in (self.training_banner, self.confirm):
            layout.addWidget(widget)
        layout.addWidget(self.stack, 1)
        # the status and who is signed in share the bottom row: the screens keep the height
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_line, STATUS_STRETCH)
        bottom.addWidget(self.staff_bar, STAFF_STRETCH)
        layout.addLayout(bottom)
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

    def _fit_to_screen(self) -> None:
        """As large as the window likes, never larger than the screen it is on."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(WINDOW_W, WINDOW_H)
            return
        room = screen.availableGeometry().size()
        self.setMaximumSize(room)
        self.resize(min(WINDOW_W, room.width()), min(WINDOW_H, room.height()))

    def _connect(self) -> None:
        self._shortcuts()
        self.mode_buttons.idClicked.connect(self._mode_chosen)
        self.staff_bar.sign_in.connect(
            lambda who, pin: self._staff_op(lambda s: s.sign_in(who, pin), tr("the sign-in")))
        self.staff_bar.sign_out.connect(
            lambda: self._staff_op(lambda s: s.sign_out(), tr("the sign-out")))
        self.staff_bar.approve.connect(self._approve)
        self.lang_button.clicked.connect(self.toggle_language)
        self.demo_list.itemActivated.connect(self._demo_present)
        self.demo_list.itemClicked.connect(self._demo_present)
        b = self.bridge
        b.printed.connect(self.shop.history.mark)
        b.health.connect(self._on_health)
        b.status.connect(self._on_status)
        b.clock.connect(self._on_clock)
        b.receipt.connect(self._on_receipt)
        b.printer_state.connect(lambda text: self.reader_state("printer", text))
        self.staff_check = QTimer(self)  # a lapsed sign-in shown without waiting for a sale
        self.staff_check.setInterval(STAFF_CHECK_MS)
        self.staff_check.timeout.connect(self._check_staff)
        self.staff_check.start()

    def _shortcuts(self) -> None:
        """Every action from the keyboard: digits and Enter pay, Esc cancels, and these."""
        keys = {
            "F1": lambda: self.modes["shop"].click(),
            "F2": lambda: self.modes["booth"].click(),
            "F3": lambda: self.modes["admin"].click(),
            "F5": lambda: self._current_counter().start("balance"),
            "F6": self.shop.show_refunds,
            "F7": self.shop.set_excluded,
            "F8": lambda: self.booth.buttons["card"].click(),
            "F9": lambda: self.booth.buttons["grant"].click(),
            "F4": self.shop.ride,
            "F10": self.booth.show_campaigns,
            "Ctrl+B": lambda: self.shop.key_for_party("*"),
            "Ctrl+D": self.shop.await_diner,
            "F11": self.shop.show_history,
            "F12": self.toggle_language,
        }
        for key, action in keys.items():
            QShortcut(QKeySequence(key), self).activated.connect(action)

    def _start_services(self) -> None:
        from terminal.ui.readers import ReaderHub
        from terminal.ui.scanner import WedgeFilter

        self.scanner = WedgeFilter(self)
        self.scanner.scanned.connect(self.present_text)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self.scanner)
        self.readers = ReaderHub(self)
        self.readers.scanned.connect(self.present_text)
        self.readers.tapped.connect(lambda uid: self.present("nfc", uid))
        self.readers.status.connect(lambda r, state, m: self.reader_state(r, f"{state}: {m}"))
        self.readers.start()
        self._tell_language()
        Op(self, lambda s: s.start(), success=self.ready, failure=self.start_failed,
           label=tr("the terminal's records"), timeout_s=START_TIMEOUT_S).run()

    # --- screens ----------------------------------------------------------------------------

    def _current_counter(self) -> CounterScreen:
        screen = self.stack.currentWidget()
        return screen if isinstance(screen, CounterScreen) else self.shop

    def show_screen(self, name: str) -> None:
        self.modes[name].setChecked(True)
        self.stack.setCurrentWidget({"shop": self.shop, "booth": self.booth,
                                     "admin": self.admin}[name])

    def _mode_chosen(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        if self.stack.widget(index) is not self.admin:
            self.admin.lock()
        self.refresh_offers()

    def pending(self) -> Any:
        """The step a counter screen waits in (terminal.ui.screen.Pending), if any."""
        for screen in (self.shop, self.booth):
            if screen.pending is not None:
                return screen.pending
        return None

    def claim(self, screen: CounterScreen) -> None:
        """`screen` starts waiting: a step the other counter screen waited in is dropped."""
        for other in (self.shop, self.booth):
            if other is not screen and other.pending is not None and not other.pending.sent:
                other.pending = None
                other.hide_extras()

    def focus_counter(self) -> None:
        """The keyboard back to the counter (after the demo panel took it)."""
        self.activateWindow()
        self.central.setFocus(Qt.FocusReason.OtherFocusReason)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        for widget in (self.staff_bar, self.training_banner, self.confirm,
                       self.admin.staff_admin):
            widget.retranslate()
        for screen in (self.shop, self.booth, self.admin):
            screen.retranslate()
        self.setWindowTitle(tr("Machi POS"))
        self.modes["shop"].setText(tr("Shop"))
        self.modes["booth"].setText(tr("Booth"))
        self.modes["admin"].setText(tr("Admin"))
        # the button names the language it switches to, in that language
        self.lang_button.setText("English" if look.language() == "ja" else "日本語")
        self.admin.show_storage(self.storage)
        self.demo_dock.setWindowTitle(tr("Demo: tap a customer to present their card or app"))
        for screen in (self.shop, self.booth):
            if screen.pending is None:
                screen.idle(tr("Type the amount, then choose."))
        self._show_status()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        screen = self.stack.currentWidget()
        if key == Qt.Key.Key_Escape:
            if self.confirm.isVisible():
                self.confirm.hide()  # "really?" answered no
                return
            for waiting in (self.shop, self.booth):
                if waiting.cancel():
                    if waiting is self.shop:
                        self.shop.drop_sale_inputs()  # the next sale starts clean
                    self.customer_show_idle()
                    return
            if isinstance(screen, CounterScreen) and (
                    screen.result.property("state") == "refused" or
                    (screen is self.shop and self.shop.has_sale_inputs())):
                # a refused amount, or excluded goods or diners set for a sale not made
                if screen is self.shop:
                    self.shop.drop_sale_inputs()
                screen.pad.clear()
                screen.idle(tr("Cancelled."))
                self.customer_show_idle()
                return
        if isinstance(screen, CounterScreen):
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                screen.enter()
                return
            if screen is self.shop and self.shop.key_for_party(event.text()):
                return
            screen.pad.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    # --- customers ------------------------------------------------------------------------

    @Slot(str)
    def present_text(self, text: str) -> None:
        """A code arrived from the scanner, the camera, or the demo panel."""
        kind, value = credential_of(text)
        self.present(kind, value)

    def present(self, kind: str, value: str) -> None:
        """A card or code goes to the screen waiting for one, else to the one in view."""
        waiting = [s for s in (self.shop, self.booth) if s.pending is not None]
        if waiting:
            waiting[0].present(kind, value)
        elif isinstance(self.stack.currentWidget(), CounterScreen):
            self._current_counter().present(kind, value)

    def demo_phone(self, wallet_id: str, scan: bool = True) -> None:
        """A demo phone shows its live code (a fresh token), presented as if scanned
        unless `scan` is False."""
        def shown(code: str) -> None:
            self.phone_code.emit(code)
            if scan:
                self.present_text(code)

        Op(self, lambda s: s.phone_token(wallet_id), success=shown,
           failure=self._current_counter().refused, label=tr("the demo phone")).run()

    def _demo_present(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if data is None:
            return  # a note, not a customer
        kind, value = data
        if kind == "staff":  # chosen in the staff bar; the PIN is typed there
            self.staff_bar.who.setCurrentIndex(self.staff_bar.who.findData(value))
            self.staff_bar.pin.setFocus()
            return
        if kind == "phone":
            self.demo_phone(value)
        else:
            self.present(kind, value)
        self.focus_counter()

    def ride_name(self, campaign_id: str) -> str:
        for rule in self.offers.get("ticket", []):
            if rule["id"] == campaign_id:
                return rule["name"]
        return tr("Rides")

    def refresh_offers(self) -> None:
        if self.info:
            Op(self, lambda s: s.offers(), success=self._apply_offers,
               failure=lambda _: None, label=tr("the campaigns")).run()

    def _apply_offers(self, offers: dict[str, list[dict]]) -> None:
        self.offers = offers
        self.shop.apply_offers(offers)

    def sound(self, kind: str) -> None:
        """Approve or refuse, heard; the system beep for a refusal when no player is set up."""
        if not self.sounds.play(kind) and kind == "refuse":
            QApplication.beep()

    @Slot(str)
    def _on_receipt(self, text: str) -> None:
        """The receipt on screen (it prints, or goes to a PDF, on its own thread)."""
        screen = self.booth if self.stack.currentWidget() is self.booth else self.shop
        screen.result.receipt.setText(text)

    # --- the services answer ----------------------------------------------------------------

    def ready(self, info: dict) -> None:
        """The services are up: from now on the counter takes a sale."""
        self.info = info
        self.admin.setup_panel.hide()
        merchant = info.get("merchant") or {}
        self.shop_name.setText(merchant.get("name", ""))
        self.admin.show_printer_settings(info.get("printer") or {})
        if info.get("printer_status") and "printer" not in self.reader_states:
            self.reader_state("printer", info["printer_status"])
        self.refresh_offers()
        if info.get("staff"):
            self.staff_view_shown(info["staff"])
        if info.get("demo"):
            self._fill_demo_panel(info)
        limits = merchant.get("config") or {}
        self.admin.admin_info.setText(tr("Terminal {0}\nData: {1}").format(
            info["terminal_id"], info["data_dir"]) + "\n" + tr(
            "Ledger keys pinned: {0}").format(", ".join(info.get("ledger_keys", []))) +
            "\n" + tr(
            "Offline limits: {0} per payment, {1} per wallet until the next sync, balances "
            "older than {2} h allow only {3}; wallet cap {4}").format(
            *(yen(limits.get(k, 0)) if k != "max_snapshot_age_s" else limits.get(k, 0) // 3600
              for k in ("max_offline_payment", "max_offline_per_wallet", "max_snapshot_age_s",
                        "small_payment_when_stale", "wallet_balance_cap"))))
        self.customer_show_idle()
        self._show_status()
        if os.environ.get(FIRST_PAINT_ENV):  # bench app times cold start to this line
            print(SALE_READY_MARKER, flush=True)

    def _fill_demo_panel(self, info: dict) -> None:
        self.demo_list.clear()
        for member in (info.get("staff") or {}).get("staff", []):
            pin = DEMO_PINS.get(member["name"])
            if pin:  # the demo's ready-made staff, their PINs said on screen
                item = QListWidgetItem(tr("Staff {0} ({1}): PIN {2}").format(
                    member["name"], tr(member["role"]), pin))
                item.setData(Qt.ItemDataRole.UserRole, ("staff", member["staff"]))
                self.demo_list.addItem(item)
        for person in info["customers"]:
            if person["kind"] == "card":
                label = tr("Card") + "  " + cards.printed(person["value"])
            elif person["kind"] == "note":  # something the demo could not offer
                self.demo_list.addItem(QListWidgetItem(person["value"]))
                continue
            elif person["kind"] == "gift":
                label = tr("Gift code {0} …{1}").format(
                    yen(giftcodes.parse(person["value"]).value), person["value"][-4:])
            else:
                label = tr("App") + "  " + person["value"]  # a demo phone
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, (person["kind"], person["value"]))
            self.demo_list.addItem(item)
        self.demo_dock.show()

    def start_failed(self, failure: OpFailure) -> None:
        if failure.code == "damaged":  # a database that cannot be opened: no enrolling here
            self.shop.result.show_state("refused", tr("This terminal's records are "
                                                      "damaged"), "", failure.message)
            return
        self.shop.result.show_state("refused", tr("This terminal is not ready"), "",
                                    failure.message)
        self.status_line.setText(tr("Not set up: {0}").format(failure.message))
        self.admin.setup_panel.show()
        self.show_screen("admin")

    def reader_state(self, reader: str, text: str) -> None:
        self.reader_states[reader] = text
        self.admin.show_readers(self.reader_states)

    # --- staff ------------------------------------------------------------------------------

    def _staff_op(self, work: Any, label: str) -> None:
        Op(self, work, success=self.staff_view_shown, failure=self.admin._staff_failed,
           label=label).run()

    def _check_staff(self) -> None:
        if self.info and not self.runner.busy():
            Op(self, lambda s: s.staff_view(), success=self.staff_view_shown,
               failure=lambda _: None, label=tr("the sign-in")).run()

    def approvable(self, run: Any) -> None:
        """Run an op a manager's PIN may have to approve; remembered to run again then."""
        self._retry = run
        run()

    def approval_done(self) -> None:
        """Another transaction was made: an approval asked before is not wanted."""
        bar = self.staff_bar
        if bar.mode == "approve":
            bar.show_view({"staff": bar.staff, "signed_in": bar.signed_in, "enforcing": True})
            self._retry = None

    def _approve(self, staff_id: str, pin: str) -> None:
        """The manager's PIN, then the op that waited for it, in that order (both on the
        one worker thread)."""
        def refused(failure: OpFailure) -> None:
            self._approval_error = failure_words(failure)  # said when the op asks again

        Op(self, lambda s: s.counter.staff.approve(staff_id, pin).public(),
           failure=refused, label=tr("the approval")).run()
        bar = self.staff_bar
        bar.show_view({"staff": bar.staff, "signed_in": bar.signed_in, "enforcing": True})
        if self._retry is not None:
            self._retry()

    def staff_view_shown(self, view: dict) -> None:
        bar = self.staff_bar
        if bar.mode == "approve" and view.get("signed_in") == bar.signed_in:
            bar.staff = view.get("staff") or []  # a check: the PIN asked stays asked
        else:
            bar.show_view(view)
        self.training_banner.setVisible(bool(view.get("training")))
        staff_admin = self.admin.staff_admin
        staff_admin.training_button.setChecked(bool(view.get("training")))
        staff_admin.first_setup(not view.get("enforcing"))
        if self.admin.is_open():
            staff_admin.info.setText("\n".join(
                f"{m['name']} ({tr(m['role'])})" for m in view.get("staff", [])))

    def staff_refused(self, code: str, message: str, details: dict) -> None:
        """Refusals the staff bar answers too: a manager's approval, a sign-in."""
        if code == "approval_needed":
            self.staff_bar.ask_approval(details.get("why", ""), details.get("amount", 0),
                                        details.get("action") == "grant")
            error, self._approval_error = self._approval_error, ""
            if error:
                self.staff_bar.message.setText("✘ " + error + "  " +
                                               self.staff_bar.message.text())
        elif code == "not_signed_in":
            self.staff_bar.ask_sign_in(message)

    # --- status -----------------------------------------------------------------------------

    @Slot(object)
    def _on_status(self, status: Any) -> None:
        self.last_status = status
        self.status_update(status)

    @Slot(object)
    def _on_clock(self, check: Any) -> None:
        self.clock_check = check
        self._show_status()

    @Slot(object)
    def _on_health(self, report: Any) -> None:
        self.storage = report
        self.admin.show_storage(report)
        self._show_status()

    def storage_warnings(self) -> list[str]:
        """What is wrong with this terminal's storage, in the cashier's language."""
        from terminal.health import JOURNAL, MIB, STATE

        report = self.storage
        if report is None:
            return []
        out = []
        if report.damaged:
            parts = [tr("journal") if report.part_damaged(JOURNAL) else "",
                     tr("state") if report.part_damaged(STATE) else ""]
            out.append(tr("⛔ This terminal's records are damaged ({0}): no sales. "
                          "Manager: see the admin screen.")
                       .format(", ".join(p for p in parts if p)))
        if report.low_space:
            out.append(tr("⚠ Only {0} MiB left on this terminal's disk: free space "
                          "before it is full.").format(f"{report.free_bytes / MIB:.1f}"))
        return out

    def _duration(self, seconds: float) -> str:
        for text, size in ((tr("{0} d"), 86_400), (tr("{0} h"), 3_600),
                           (tr("{0} min"), 60)):
            if seconds >= size:
                return text.format(round(seconds / size))
        return tr("{0} s").format(round(seconds))

    def clock_warnings(self) -> list[str]:
        """What is wrong with this terminal's wall clock, in the cashier's language."""
        check = self.clock_check
        if check is None or check.ok:
            return []
        out = []
        if check.behind_ledger_s > CLOCK_BEHIND_TOLERANCE_S:
            out.append(tr("⚠ This terminal's clock is {0} behind the ledger's time: set "
                          "it right (sales are dated by the ledger's time meanwhile).")
                       .format(self._duration(check.behind_ledger_s)))
        if check.behind_record_s > CLOCK_BEHIND_TOLERANCE_S:
            out.append(tr("⚠ This terminal's clock is {0} behind its last sale: set it "
                          "right.").format(self._duration(check.behind_record_s)))
        if check.ahead:
            out.append(tr("⚠ This terminal's clock is {0} ahead of the ledger's time: "
                          "app codes are refused until it is set right.")
                       .format(self._duration(check.ahead_s)))
        return out

    def _show_status(self) -> None:
        status = self.last_status
        tid = self.info.get("terminal_id", "…")
        storage = self.storage_warnings()
        line = self.status_line
        line.setProperty("storage", "wrong" if storage else "ok")
        if status is None:
            starting = tr("Terminal {0} · starting…").format(tid) if not self.info else \
                tr("Terminal {0} · ready · first sync running…").format(tid)
            line.setText("\n".join([starting, *storage]))
            line.setProperty("online", "unknown")
            return
        if status.last_success:
            ago = max(0, int(time.time() - status.last_success))
            when = tr("last sync {0} s ago").format(ago) if ago < 120 else \
                tr("last sync {0} min ago").format(ago // 60)
        else:
            when = tr("never synced")
        state = tr("● Online") if status.online else tr("○ Offline")
        warnings = self.clock_warnings()
        line.setText("\n".join([
            tr("{0} · {1} records not yet sent · {2} · terminal {3}")
            .format(state, status.pending, when, tid), *storage, *warnings]))
        line.setProperty("online", "yes" if status.online else "no")
        line.setProperty("clock", "wrong" if warnings else "ok")
        line.style().unpolish(line)
        line.style().polish(line)

    # --- hooks for the parts plugged in later -----------------------------------------------

    def status_update(self, status: Any) -> None:
        """The sync worker's status (sync.client.SyncStatus): StatusLine.update_status goes
        here; until then the plain status line says it."""
        self._show_status()

    def install_log_view(self, widget: QWidget) -> None:
        """The admin screen's view of the log's last lines (LogView)."""
        self.admin.log_slot.addWidget(widget)

    def customer_show_idle(self) -> None:
        """The customer display: the shop's name, waiting for the next customer."""

    def customer_show_amount(self, amount: int) -> None:
        """The customer display: the amount to pay, when Pay is pressed."""

    def customer_show_result(self, outcome: Any) -> None:
        """The customer display: approved, what is left, stamps (a terminal.counter.Outcome)."""

    def customer_show_refused(self, code: str, message: str) -> None:
        """The customer display: refused, in words."""

    def customer_show_thanks(self) -> None:
        """The customer display: thank you, once the cashier starts the next sale."""

    # --- painting and closing ---------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.demo_dock.setMaximumWidth(max(DEMO_PANEL_MIN_W,
                                           min(DEMO_PANEL_W, self.width() // 5)))
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            if os.environ.get(FIRST_PAINT_ENV):  # bench app times cold start to this line
                print(FIRST_PAINT_MARKER, flush=True)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._tick.stop()
        self.staff_check.stop()
        if self.readers is not None:
            self.readers.stop()
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self.scanner)
        # Let the worker finish what it is doing, then stop the services here: a stop
        # queued to the thread would be dropped when its event loop quits.
        self.runner.stop()
        self.bridge.stop()
        super().closeEvent(event)
