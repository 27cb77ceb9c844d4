"""The counter window: a frame holding the shop, booth and admin screens, the staff bar,
the status that is always in view, the demo panel, and the customer display.

The frame owns the worker thread (terminal.ui.ops.Runner) with the terminal's services
(terminal.ui.bridge). It is drawn first; the services start right after, from the journal
and the last snapshot, and the counter takes a sale as soon as they answer. The sync runs in
the background and is never waited for.

The parts around the screens, each fed by one method:
  customer display  `customer_show_idle/amount/result/refused/thanks` (terminal.ui.customer:
                    a CustomerWindow full screen on a second screen, else a CustomerPanel
                    beside the shop screen)
  status line       `status_update(status)` (terminal.ui.statusbar.StatusLine)
  log view          `AdminScreen.log_slot` via `install_log_view(widget)` (terminal.ui.logview)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal import logs
from terminal.sounds import SoundPlayer
from terminal.ui import keys, look
from terminal.ui.admin import AdminScreen
from terminal.ui.booth import BoothScreen
from terminal.ui.bridge import TerminalBridge
from terminal.ui.customer import (
    CustomerDisplay,
    CustomerPanel,
    CustomerWindow,
    customer_screen,
)
from terminal.ui.demopanel import DemoPanel
from terminal.ui.logview import LogView
from terminal.ui.ops import START_TIMEOUT_S, Op, OpFailure, Runner
from terminal.ui.screen import CounterScreen, credential_of, tr
from terminal.ui.shop import ShopScreen
from terminal.ui.staffbox import ConfirmPanel, StaffBar, TrainingBanner
from terminal.ui.staffflow import StaffFlow
from terminal.ui.statusbar import StatusLine
from terminal.ui.statuswords import clock_warnings, storage_warnings
from terminal.ui.widgets import big_font

FIRST_PAINT_ENV = "MACHI_REPORT_FIRST_PAINT"
FIRST_PAINT_MARKER = "machi-pos: first paint"
SALE_READY_MARKER = "machi-pos: sale-ready"
# The window's size when the screen has room: fits a 1280x800 counter with the demo panel.
WINDOW_W, WINDOW_H = 1280, 740
MODE_BUTTON_MIN_PX = 48
STATUS_STRETCH, STAFF_STRETCH = 3, 2  # the bottom row's shares
STATUS_TICK_MS = 1_000
LOG_VIEW_LINES = 200  # the admin screen's view of the log: its last lines (logs.tail is bounded)
# The customer panel beside the shop screen (no second screen) takes this share of its width
# (the keypad and actions 5, the result 5), and is shown only while the shop screen is at
# least this wide: below it (a 1024 or 1280 px window with the demo panel) the keypad, the
# actions and the result need the whole width (tests/terminal/ui/test_fit.py), so there
# the customer reads the cashier's result panel as before.
CUSTOMER_PANEL_STRETCH = 3
CUSTOMER_PANEL_MIN_SHOP_W = 1240


class MainWindow(QMainWindow):
    phone_code = Signal(str)  # a demo phone's live code, as the phone shows it
    refusal = Signal(str, str)  # a counter op refused: its code and the words shown

    def __init__(self, data_dir: Path, demo_base: Path | None = None) -> None:
        super().__init__()
        self._data_dir, self._demo_base = Path(data_dir), demo_base
        look.apply_settings(self._data_dir)  # this terminal's, before anything is drawn
        self.info: dict[str, Any] = {}
        self.offers: dict[str, list[dict]] = {}  # this shop's active campaigns, by kind
        self.last_outcome: Any = None  # what the last committed transaction did
        self.last_status: Any = None
        self.storage: Any = None  # terminal.health.HealthReport, from the services
        self.clock_check: Any = None  # terminal.clock.ClockCheck, from the services
        self.reader_states: dict[str, str] = {}
        self.not_set_up = ""  # why the services could not start, said on the status line
        self._wallets: dict[str, Any] = {}  # tx_id -> the wallet after it (customer display)
        self._painted = False
        self._contrast: bool | None = None
        self.bridge = TerminalBridge(self._data_dir, demo_base)
        self.runner = Runner(self, self.bridge)
        self._build()
        self._fit_to_screen()
        self._show_contrast()
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
        self._place_customer_display()
        QTimer.singleShot(0, self._start_services)

    # --- settings ---------------------------------------------------------------------------

    def toggle_option(self, option: str) -> None:
        look.toggle_style(option)
        look.save_settings(self._data_dir)
        self._show_contrast()

    def _show_contrast(self) -> None:
        """High contrast reaches the parts that draw their own colours."""
        on = "high_contrast" in look.options()
        if on == self._contrast:
            return
        self._contrast = on
        self.status_line.set_high_contrast(on)
        for display in self.customer_displays():
            display.set_high_contrast(on)

    def toggle_language(self) -> None:
        look.switch_language()
        look.save_settings(self._data_dir)
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
        self.status_line = StatusLine()
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
        self.demo_dock = DemoPanel()
        self.demo_list = self.demo_dock.list
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.demo_dock)
        self.demo_dock.hide()
        self.log_view = LogView(self._log_lines)
        self.install_log_view(self.log_view)
        # the customer's display: a window on a second screen, else this panel
        # made only for a second screen: a hidden top-level window would be made (and would
        # take the counter's shortcuts' window) for nothing
        self.customer_window = CustomerWindow() if customer_screen() is not None else None
        self.customer_panel = CustomerPanel()
        self.customer_panel.hide()
        shop_row = self.shop.layout()
        assert isinstance(shop_row, QHBoxLayout)  # the inputs, the result: the panel beside
        shop_row.addWidget(self.customer_panel, CUSTOMER_PANEL_STRETCH)
        self._customer_on_screen = False

    def _log_lines(self) -> list[str]:
        """The log's last lines (logs.tail reads a bounded block from the file's end)."""
        folder = self.bridge.log_dir
        return logs.tail(folder, LOG_VIEW_LINES) if folder is not None else []

    def _place_customer_display(self) -> None:
        """Full screen on a second screen when there is one; else the panel beside the shop
        screen, on a window wide enough for it."""
        self._customer_on_screen = self.customer_window is not None and \
            self.customer_window.place()
        self.fit_customer_panel()

    def fit_customer_panel(self) -> None:
        """The panel beside the shop screen, when no second screen has the window and the
        shop screen is wide enough (called as the shop screen is resized)."""
        self.customer_panel.setVisible(not self._customer_on_screen and
                                       self.shop.width() >= CUSTOMER_PANEL_MIN_SHOP_W)

    def customer_displays(self) -> list[CustomerDisplay]:
        shown: list[CustomerDisplay] = [self.customer_panel]
        return [self.customer_window.display, *shown] if self.customer_window else shown

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
        keys.install_shortcuts(self)
        self.mode_buttons.idClicked.connect(self._mode_chosen)
        self.staff = StaffFlow(self)
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

    def current_counter(self) -> CounterScreen:
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

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not keys.counter_key(self, event):
            super().keyPressEvent(event)

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
        self.demo_dock.retranslate()
        for screen in (self.shop, self.booth):
            if screen.pending is None:
                screen.idle(tr("Type the amount, then choose."))
        self._show_status()

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
            self.current_counter().present(kind, value)

    def demo_phone(self, wallet_id: str, scan: bool = True) -> None:
        """A demo phone shows its live code (a fresh token), presented as if scanned
        unless `scan` is False."""
        def shown(code: str) -> None:
            self.phone_code.emit(code)
            if scan:
                self.present_text(code)

        Op(self, lambda s: s.phone_token(wallet_id), success=shown,
           failure=self.current_counter().refused, label=tr("the demo phone")).run()

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
        screen.result.receipt.show()

    # --- the services answer ----------------------------------------------------------------

    def ready(self, info: dict) -> None:
        """The services are up: from now on the counter takes a sale."""
        self.info = info
        self.admin.setup_panel.hide()
        merchant = info.get("merchant") or {}
        self.shop_name.setText(merchant.get("name", ""))
        self.admin.printer.show_settings(info.get("printer") or {})
        if info.get("printer_status") and "printer" not in self.reader_states:
            self.reader_state("printer", info["printer_status"])
        self.refresh_offers()
        if info.get("staff"):
            self.staff.view_shown(info["staff"])
        if info.get("demo"):
            self.demo_dock.fill(info)
        self.admin.show_info(info)
        self.status_line.set_terminal_id(info.get("terminal_id", ""))
        self.not_set_up = ""
        self.customer_show_idle()
        self._show_status()
        if os.environ.get(FIRST_PAINT_ENV):  # bench app times cold start to this line
            print(SALE_READY_MARKER, flush=True)

    def start_failed(self, failure: OpFailure) -> None:
        if failure.code == "damaged":  # a database that cannot be opened: no enrolling here
            self.shop.result.show_state("refused", tr("This terminal's records are "
                                                      "damaged"), "", failure.message)
            return
        self.shop.result.show_state("refused", tr("This terminal is not ready"), "",
                                    failure.message)
        self.not_set_up = tr("Not set up: {0}").format(failure.message)
        self._show_status()
        self.admin.setup_panel.show()
        self.show_screen("admin")

    def reader_state(self, reader: str, text: str) -> None:
        self.reader_states[reader] = text
        self.admin.show_readers(self.reader_states)

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

    def _show_status(self) -> None:
        """The storage's and the clock's warnings under the sync's status."""
        status, line = self.last_status, self.status_line
        storage, warnings = storage_warnings(self.storage), clock_warnings(self.clock_check)
        setup = [self.not_set_up] if self.not_set_up else []
        line.set_warnings([*setup, *storage, *(warnings if status is not None else [])])
        line.setProperty("storage", "wrong" if storage else "ok")
        line.setProperty("clock", "wrong" if warnings else "ok")

    # --- the parts around the screens -------------------------------------------------------

    def status_update(self, status: Any) -> None:
        """The sync worker's status (sync.client.SyncStatus), said by the status line."""
        self.status_line.update_status(status)
        self._show_status()

    def install_log_view(self, widget: QWidget) -> None:
        """The admin screen's view of the log's last lines (LogView)."""
        self.admin.log_slot.addWidget(widget)

    def customer_show_idle(self) -> None:
        """The customer display: the shop's name, waiting for the next customer."""
        for display in self.customer_displays():
            display.show_idle(self.shop_name.text())

    def customer_show_amount(self, amount: int) -> None:
        """The customer display: the amount to pay, when Pay is pressed."""
        for display in self.customer_displays():
            display.show_amount(amount)

    def customer_wallet(self, outcome: Any, wallet: Any) -> None:
        """The wallet as the counter saw it after `outcome` (read on the worker thread, in
        the same op): the customer display shows its pockets when the outcome is shown."""
        if wallet is not None:
            self._wallets[outcome.tx_id] = wallet

    def customer_show_result(self, outcome: Any, wallet: Any = None) -> None:
        """The customer display: approved, what is left per pocket, stamps (a
        terminal.counter.Outcome, and the wallet after it when the op read it)."""
        wallet = self._wallets.pop(outcome.tx_id, None) if wallet is None else wallet
        self._wallets.clear()  # only the outcome being shown ever needs its wallet
        for display in self.customer_displays():
            display.show_result(outcome, wallet)

    def customer_show_refused(self, code: str, message: str) -> None:
        """The customer display: refused, in words."""
        for display in self.customer_displays():
            display.show_refused(code, message)

    def customer_show_thanks(self) -> None:
        """The customer display: thank you, once the cashier starts the next sale."""
        for display in self.customer_displays():
            display.show_thanks()

    # --- painting and closing ---------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.demo_dock.fit(self.width())
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            if os.environ.get(FIRST_PAINT_ENV):  # bench app times cold start to this line
                print(FIRST_PAINT_MARKER, flush=True)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._tick.stop()
        self.staff.stop()
        if self.readers is not None:
            self.readers.stop()
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self.scanner)
        # Let the worker finish what it is doing, then stop the services here: a stop
        # queued to the thread would be dropped when its event loop quits.
        self.runner.stop()
        self.bridge.stop()
        if self.customer_window is not None:
            self.customer_window.close()
        super().closeEvent(event)
