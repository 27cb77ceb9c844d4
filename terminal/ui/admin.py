"""The admin screen: opened with a manager's PIN, locked again after a while. Sync, the
journal check, X and Z reports, the printer, a wallet look-up, storage damage and its way
out, the readers, staff, the look (high contrast, large type), set-up of a new terminal,
and quitting the counter. Everything below the PIN row scrolls inside the screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from terminal import audit
from terminal.errors import JournalBroken, JournalError
from terminal.ui import look
from terminal.ui.day import DayControls
from terminal.ui.ops import REPORT_TIMEOUT_S, START_TIMEOUT_S, Op, OpFailure
from terminal.ui.printerrow import PrinterRow
from terminal.ui.screen import failure_words, holding_lines, rally_lines, said_details, tr
from terminal.ui.staffbox import StaffAdmin
from terminal.ui.widgets import big_font, touch_button, yen

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

# The admin screen locks itself this long after its last use (and whenever it is left).
ADMIN_IDLE_LOCK_MS = 2 * 60 * 1000
ADMIN_PIN_MAX = 8


# The devices the admin screen lists (MainWindow.reader_states' keys) and the states they
# report (cardreader ReaderState, terminal.printer / terminal.sounds `status`: "state" or
# "state: what"), in words, with the device's own words in the tool tip.
TECHNICAL_TIP = "technical_tip"  # a widget property: its tool tip is a device's own words
READER_NAMES = {"camera": "Camera", "pcsc": "IC card reader", "printer": "Printer",
                "sound": "Sound"}
READER_STATES = {"ready": "ready", "unavailable": "unavailable", "error": "error",
                 "stopped": "stopped", "no printer": "no printer: receipts are saved as PDF"}


def reader_state_words(name: str, text: str) -> str:
    """A device's status line ("unavailable: no camera is plugged in") as its state in the
    interface's language. In English the device's own line says more and is shown as it
    is; a line the screen already worded ("checking…", "✘ …") is shown as it is."""
    if look.language() == "en":
        return text
    state = text.partition(":")[0].strip()
    if state in READER_STATES:
        return tr(READER_STATES[state])
    if name == "sound":  # terminal.sounds: "ready", or what to install (sync.platform.sound)
        return tr(READER_STATES["unavailable"])
    return text


def reader_name_words(name: str) -> str:
    """A device's name: in English its own short name ("pcsc"), as its lines say it."""
    return name if look.language() == "en" else tr(READER_NAMES.get(name, name))


def journal_check_words(result: audit.VerifyReport | JournalError) -> str:
    """The journal check's result in the interface's language."""
    if isinstance(result, audit.VerifyReport):
        heads = tr("{0} ledger head(s) match, highest seq {1}").format(
            result.heads, result.highest_head) if result.heads else \
            tr("no ledger head kept yet")
        return tr("✔ journal intact: terminal {0}, {1} records (seq 1..{2}), last hash {3}, "
                  "{4}").format(result.terminal_id, result.records, result.last_seq,
                                result.last_hash[:16], heads)
    if isinstance(result, JournalBroken):
        return tr("✘ The journal does not hold at record {0}. Export what verifies and call "
                  "support.").format(result.seq)
    return "✘ " + failure_words(OpFailure(result.code, result.message))


def _label(points: int = 14) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setFont(big_font(points, bold=False))
    return label


class AdminScreen(QWidget):
    def __init__(self, frame: MainWindow) -> None:
        super().__init__()
        self.frame = frame
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(ADMIN_PIN_MAX)
        self.pin.setFont(big_font(24))
        self.pin_label, self.pin_message = QLabel(), QLabel()
        self.unlock_button = touch_button("", "action_unlock")
        self.admin_panel = QWidget()
        names = ("sync", "verify", "contrast", "large", "x_report", "close_day", "lock",
                 "quit")
        self.buttons = {name: touch_button("", f"action_{name}") for name in names}
        # The way out of a damaged state.db (terminal.repair), shown only when it is damaged.
        self.rebuild_button = touch_button("", "action_rebuild_state")
        self.rebuild_button.hide()
        self.storage_info = _label()
        self.storage_info.setObjectName("storage")
        self.counted = QLineEdit()
        self.counted.setPlaceholderText("¥")
        self.counted.setMaxLength(9)
        self.admin_info = _label()
        self.admin_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verify_info, self.readers_info = _label(), _label(12)
        for widget in (self.verify_info, self.readers_info):  # the tool tip is for support
            widget.setProperty(TECHNICAL_TIP, True)
        grid = QGridLayout(self.admin_panel)
        for index, name in enumerate(names):
            grid.addWidget(self.buttons[name], index // 2, index % 2)
        self.counted_label = QLabel()
        counted_row = QHBoxLayout()
        counted_row.addWidget(self.counted_label)
        counted_row.addWidget(self.counted, 1)
        grid.addLayout(counted_row, 4, 0, 1, 2)
        grid.addWidget(self._build_lookup(), 5, 0, 1, 2)
        self.printer = PrinterRow(frame)
        grid.addWidget(self.printer, 6, 0, 1, 2)
        # by their names here too (the tests and the drive use them)
        self.printer_kind, self.printer_address = self.printer.kind, self.printer.address
        self.printer_columns, self.printer_button = self.printer.columns, self.printer.button
        for line, widget in enumerate((self.admin_info, self.verify_info, self.readers_info),
                                      start=7):
            grid.addWidget(widget, line, 0, 1, 2)
        grid.addWidget(self.storage_info, 10, 0)
        grid.addWidget(self.rebuild_button, 10, 1)
        self.day_controls = DayControls()
        grid.addWidget(self.day_controls, 11, 0, 1, 2)
        self.staff_admin = StaffAdmin()
        grid.addWidget(self.staff_admin, 12, 0, 1, 2)
        self.log_slot = QVBoxLayout()  # where the log view goes (see `install_log_view`)
        grid.addLayout(self.log_slot, 13, 0, 1, 2)
        self.idle_lock = QTimer(self)
        self.idle_lock.setSingleShot(True)
        self.idle_lock.setInterval(ADMIN_IDLE_LOCK_MS)
        self.admin_panel.hide()
        self.setup_panel = self._build_setup()
        self.setup_panel.hide()
        self.pane = scroll = QScrollArea()
        scroll.setObjectName("admin_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addWidget(self.setup_panel)
        inner_layout.addWidget(self.admin_panel)
        inner_layout.addStretch(1)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.pin_label)
        row.addWidget(self.pin, 1)
        row.addWidget(self.unlock_button)
        layout.addLayout(row)
        layout.addWidget(self.pin_message)
        layout.addWidget(scroll, 1)
        self._connect()

    def _build_setup(self) -> QWidget:
        panel = QWidget()
        self.setup_title = QLabel()
        self.setup_title.setFont(big_font(18))
        self.setup_title.setWordWrap(True)
        self.ledger_url, self.enroll_code = QLineEdit(), QLineEdit()
        self.ledger_url.setPlaceholderText("https://ledger.example:8700")
        self.enroll_code.setPlaceholderText("XXXX-XXXX-XXXX")
        # The ledger key's fingerprint from its operator (ledger admin show-key): the
        # terminal pins that key and no other.
        self.ledger_fingerprint = QLineEdit()
        self.enroll_button = touch_button("", "action_enroll")
        form = QVBoxLayout(panel)
        for widget in (self.setup_title, self.ledger_url, self.enroll_code,
                       self.ledger_fingerprint, self.enroll_button):
            form.addWidget(widget)
        return panel

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
        self.lookup_info = _label(13)
        self.lookup_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        for widget in (self.lookup_label, self.lookup_id):
            widget.setFont(big_font(13, bold=False))
        row.addWidget(self.lookup_label)
        row.addWidget(self.lookup_id, 1)
        row.addWidget(self.lookup_button)
        box = QVBoxLayout(self.lookup_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(row)
        box.addWidget(self.lookup_info)
        return self.lookup_row

    def _connect(self) -> None:
        b, f = self.buttons, self.frame
        self.enroll_button.clicked.connect(self._enroll)
        self.unlock_button.clicked.connect(self._unlock)
        self.pin.returnPressed.connect(self._unlock)
        b["lock"].clicked.connect(self.lock)
        b["sync"].clicked.connect(self.sync_now)
        b["x_report"].clicked.connect(self._x_report)
        b["close_day"].clicked.connect(lambda: self.close_day(shift=False))
        b["verify"].clicked.connect(self.verify)
        b["contrast"].clicked.connect(lambda: f.toggle_option("high_contrast"))
        b["large"].clicked.connect(lambda: f.toggle_option("large_type"))
        b["quit"].clicked.connect(self._quit)
        self.rebuild_button.clicked.connect(self._rebuild_state)
        self.lookup_button.clicked.connect(self._look_up)
        self.lookup_id.returnPressed.connect(self._look_up)
        self.day_controls.close_shift.connect(lambda: self.close_day(shift=True))
        self.day_controls.export.connect(self._export)
        self.staff_admin.training.connect(
            lambda on: Op(self, lambda s: s.set_training(on), success=f.staff.view_shown,
                          failure=self.staff_failed, label=tr("training mode")).run())
        self.staff_admin.create_member.connect(
            lambda name, role, pin: Op(self, lambda s: s.create_staff(name, role, pin),
                                       success=f.staff.view_shown, failure=self.staff_failed,
                                       label=tr("the new staff member")).run())
        self.idle_lock.timeout.connect(self.lock)
        for button in self.admin_panel.findChildren(QPushButton):
            button.clicked.connect(self._used)

    def retranslate(self) -> None:
        words = {"sync": tr("Sync now"), "verify": tr("Verify journal"),
                 "contrast": tr("High contrast"), "large": tr("Large type"),
                 "lock": tr("Lock"), "x_report": tr("X report (so far)"),
                 "close_day": tr("Close the day (Z)"), "quit": tr("Quit the counter")}
        for name, text in words.items():
            self.buttons[name].setText(text)
        self.printer.retranslate()
        self.lookup_label.setText(tr("Wallet by id (look-up only)"))
        self.lookup_button.setText(tr("Look up"))
        self.pin_label.setText(tr("Admin PIN"))
        self.unlock_button.setText(tr("Unlock"))
        self.counted_label.setText(tr("Cash counted"))
        self.rebuild_button.setText(tr("Rebuild state from the ledger"))
        self.setup_title.setText(tr("Set up this terminal: the ledger's address and the "
                                    "one-time code from the town office"))
        self.ledger_fingerprint.setToolTip(tr("The ledger key's fingerprint, from the town "
                                              "office (needed for an http:// address)"))
        self.ledger_fingerprint.setPlaceholderText(tr("Ledger key fingerprint, e.g. 3F2A 9C01 "
                                                      "… (from the town office)"))
        self.enroll_button.setText(tr("Enroll"))

    # --- lock and unlock --------------------------------------------------------------------

    def _unlock(self) -> None:
        """A manager's PIN opens the admin screen (asked of the core: wrong PINs count)."""
        pin = self.pin.text()
        self.pin.clear()
        Op(self, lambda s: s.admin_unlock(pin), success=self._opened,
           failure=lambda f: self.pin_message.setText("✘ " + failure_words(f)),
           label=tr("the PIN check")).run()

    def _opened(self, result: dict) -> None:
        if result.get("view"):
            self.frame.staff.view_shown(result["view"])  # the manager is signed in now
        self.pin_message.clear()
        self.admin_panel.show()
        self.idle_lock.start()
        self.verify()

    def is_open(self) -> bool:
        return not self.admin_panel.isHidden()

    def _used(self) -> None:
        if self.is_open():
            self.idle_lock.start()  # restarted: it locks that long after the last use

    def lock(self) -> None:
        if self.is_open():  # a manager signed in by it hands back
            Op(self, lambda s: s.admin_lock(), success=self._locked, label=tr("the lock")).run()
        self.idle_lock.stop()
        self.admin_panel.hide()
        self.lookup_id.clear()
        self.lookup_info.clear()

    def sync_now(self) -> None:
        """The sync worker goes now instead of at its next round (never waited for)."""
        Op(self, lambda s: s.sync_now(), label=tr("the sync")).run()

    def _locked(self, view: dict | None) -> None:
        if view is not None:
            self.frame.staff.view_shown(view)

    def _quit(self) -> None:
        """Quit the counter, after a "really?": the window closes and the services stop."""
        self.frame.confirm.ask(tr("Quit the counter?"), None, self.frame.close)

    # --- what the panel does --------------------------------------------------------------

    def verify(self) -> None:
        """The journal walked again (terminal.audit), its result worded here from its
        fields; a broken or unreadable journal is a result too, not a failure of the op."""
        data_dir = self.frame._data_dir

        def check(_services: Any) -> audit.VerifyReport | JournalError:
            try:
                return audit.verify_journal(data_dir)
            except JournalError as exc:
                return exc

        Op(self, check, success=self._verified, failure=self._said_failure,
           label=tr("the journal check"), timeout_s=REPORT_TIMEOUT_S).run()

    def _verified(self, result: audit.VerifyReport | JournalError) -> None:
        self.verify_info.setText(journal_check_words(result))
        # what the check found, as terminal.audit says it (for support): a tool tip only
        self.verify_info.setToolTip("" if isinstance(result, audit.VerifyReport)
                                    else result.message)

    def _said_failure(self, failure: OpFailure) -> None:
        self.verify_info.setText("✘ " + failure_words(failure))
        self.frame.staff.refused(failure.code, failure_words(failure), said_details(failure))

    def _report(self, text: str) -> None:
        """A report's text, scrolled into view (it is below the buttons)."""
        self.verify_info.setText(text)
        QTimer.singleShot(0, self._scroll_to_report)

    def _scroll_to_report(self) -> None:
        inner = self.pane.widget()
        if inner is not None:
            top = self.verify_info.mapTo(inner, QPoint(0, 0)).y()
            self.pane.verticalScrollBar().setValue(top)

    def _x_report(self) -> None:
        self.frame.staff.approvable(lambda: Op(
            self, lambda s: s.x_report(), success=self._report,
            failure=self._said_failure, label=tr("the X report"),
            timeout_s=REPORT_TIMEOUT_S).run())

    def close_day(self, shift: bool = False) -> None:
        """The Z close (or a shift close). A second close on the day of a Z is refused by
        the counter, saying what the first covered, and the staff bar asks a manager's PIN
        (Counter.close_day); with no staff yet it is refused outright."""
        text = self.counted.text().replace(",", "").replace("¥", "").strip()
        if not text.isdigit():
            self.verify_info.setText(tr("Count the cash in the drawer and enter it first."))
            return
        counted = int(text)
        self.counted.clear()
        self.frame.staff.approvable(lambda: Op(
            self, lambda s: s.close_day(counted, shift, ""), success=self._closed,
            failure=self._said_failure, label=tr("the day close"),
            timeout_s=REPORT_TIMEOUT_S).run())

    def _closed(self, result: tuple) -> None:
        if result[0] == "second_close":
            self.day_controls.second_close(result[1])
            self.verify_info.setText("")
            return
        _, text, notice, view = result
        self.frame.staff.view_shown(view)  # the close signed them out
        self.day_controls.info.setText("")
        self._report(text)
        if notice:  # a Z: the counter says which day its sales now go to
            self.frame.shop.idle(tr("Business day {0} is closed. Sales from now on belong "
                                    "to the next business day, {1}.").format(*notice))

    def _export(self, fmt: str) -> None:
        Op(self, lambda s: s.export_tally(fmt), success=self.day_controls.saved,
           failure=self._said_failure, label=tr("the export"),
           timeout_s=REPORT_TIMEOUT_S).run()

    def _look_up(self) -> None:
        if not self.is_open() or not self.lookup_id.text().strip():
            return  # locked: the look-up is the admin's
        self.lookup_info.setText(tr("One moment…"))
        wallet = self.lookup_id.text()
        Op(self, lambda s: s.counter.look_up_wallet(wallet), success=self._show_lookup,
           failure=lambda f: self.lookup_info.setText("✘ " + failure_words(f)),
           label=tr("the look-up")).run()

    def show_info(self, info: dict) -> None:
        """The terminal, its data directory, the ledger keys it trusts, its offline limits."""
        limits = (info.get("merchant") or {}).get("config") or {}
        self.admin_info.setText(tr("Terminal {0}\nData: {1}").format(
            info["terminal_id"], info["data_dir"]) + "\n" + tr(
            "Ledger keys pinned: {0}").format(", ".join(info.get("ledger_keys", []))) +
            "\n" + tr(
            "Offline limits: {0} per payment, {1} per wallet until the next sync, balances "
            "older than {2} h allow only {3}; wallet cap {4}").format(
            *(yen(limits.get(k, 0)) if k != "max_snapshot_age_s" else limits.get(k, 0) // 3600
              for k in ("max_offline_payment", "max_offline_per_wallet", "max_snapshot_age_s",
                        "small_payment_when_stale", "wallet_balance_cap"))))

    def _show_lookup(self, result: Any) -> None:
        view, how = result
        lines = holding_lines(view, self.frame.ride_name)
        state = tr("in use") if view.status == "active" and not view.debt else \
            tr("suspended ({0})").format(view.status if not view.debt else yen(view.debt))
        self.lookup_info.setText("\n".join(
            [tr("Wallet {0} ({1}, {2}): {3}").format(view.wallet_id, state, tr(how),
                                                     yen(view.total))] + lines
            + rally_lines(view)))

    def staff_failed(self, failure: OpFailure) -> None:
        message = failure_words(failure)
        self.frame.staff_bar.message.setText("✘ " + message)
        self.staff_admin.training_button.setChecked(
            not self.frame.training_banner.isHidden())
        if self.is_open():
            self.staff_admin.info.setText("✘ " + message)

    def show_readers(self, states: dict[str, str]) -> None:
        """Each reader, the printer and the sound by name with its state, in words; what the
        device said of itself (English, for support) is the tool tip."""
        lines = [f"{reader_name_words(name)} — {reader_state_words(name, text)}"
                 for name, text in sorted(states.items())]
        self.readers_info.setText(tr("Readers") + "\n" + "\n".join(lines))
        self.readers_info.setToolTip("\n".join(f"{name}: {text}"
                                               for name, text in sorted(states.items())))

    # --- set-up and repair ----------------------------------------------------------------

    def _enroll(self) -> None:
        url, code = self.ledger_url.text(), self.enroll_code.text()
        fingerprint = self.ledger_fingerprint.text()
        Op(self, lambda s: s.enroll(url, code, fingerprint), success=self.frame.ready,
           failure=self.frame.start_failed, label=tr("the enrolment"),
           timeout_s=START_TIMEOUT_S).run()

    def show_storage(self, report: Any) -> None:
        """The account of damage, and its ways out."""
        from terminal.health import JOURNAL, STATE

        if report is None or not report.damaged:
            self.storage_info.clear()
            self.rebuild_button.hide()
            return
        lines = [f"✘ {d.part}: {d.detail}" for d in report.damage]
        if report.part_damaged(STATE):
            lines.append(tr("The state (the ledger's snapshot) can be rebuilt from the "
                            "ledger; no record is lost."))
        if report.part_damaged(JOURNAL):
            lines.append(tr("The journal cannot be mended: export what verifies "
                            "(python -m terminal journal export --out FILE), sync, and "
                            "enroll this terminal anew in a new data directory."))
        self.storage_info.setText("\n".join(lines))
        self.rebuild_button.setVisible(report.part_damaged(STATE))

    def _rebuild_state(self) -> None:
        self.rebuild_button.hide()
        self.verify_info.setText(tr("Rebuilding the state from the ledger…"))
        Op(self, lambda s: s.rebuild_state(), success=self._rebuilt,
           failure=self._said_failure, label=tr("the rebuild"),
           timeout_s=START_TIMEOUT_S).run()

    def _rebuilt(self, result: tuple) -> None:
        text, info = result
        self.verify_info.setText(text)
        if info is not None:
            self.frame.ready(info)
