"""The counter's staff widgets: the sign-in / manager-approval bar above every screen, the
training banner, the confirmation before a void or refund (its amount in large type), and the
admin screen's staff controls (training mode, a new member).

The rules themselves are terminal.staff's, asked on the bridge's thread; these widgets only
collect a choice and a PIN and show what the core answered. Keyboard alone: the PIN field
takes the focus when the bar asks, Enter sends, Esc (the window's) cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from sync.pins import PIN_MAX_DIGITS
from terminal.ui.widgets import big_font, touch_button, yen

CONFIRM_AMOUNT_POINT_SIZE = 48
STAFF_POINT_SIZE = 14
BANNER_POINT_SIZE = 18
ROLES = ("cashier", "booth", "manager")


def tr(text: str) -> str:
    """The window's words (one translation context for the counter's screens)."""
    return QCoreApplication.translate("MainWindow", text)


def why_words(key: str, limit: int) -> str:
    """Why an action needs a manager (terminal.staff.WHY), in the screen's language."""
    words = {
        "void": tr("a void"),
        "float_out": tr("cash out of the drawer"),
        "z_close": tr("the Z close"),
        "z_close_again": tr("closing a business day already closed (Z) again"),
        "reopen": tr("reopening a closed day"),
        "settings": tr("a change of settings"),
        "refund": tr("a refund above ¥{limit:,}"),
        "grant": tr("a grant above {limit:,} pt"),
        "grant_outside": tr("a grant outside a running campaign"),
    }
    return words.get(key, key).format(limit=limit)


def pin_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(PIN_MAX_DIGITS)
    field.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d*"), field))
    field.setFont(big_font(STAFF_POINT_SIZE))
    return field


class StaffBar(QWidget):
    """Who is signed in (and a sign-out button), or a member's choice and PIN to sign in;
    in `approve` mode the same row asks a manager's PIN for the action that waits."""

    sign_in = Signal(str, str)  # staff id, PIN
    approve = Signal(str, str)
    sign_out = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("staff_bar")
        self.mode = "sign_in"
        self.staff: list[dict] = []
        self.signed_in: dict | None = None
        self.message = QLabel()
        self.message.setFont(big_font(STAFF_POINT_SIZE))
        self.message.setWordWrap(True)
        self.who = QComboBox()
        self.who.setObjectName("staff_who")
        self.who.setFont(big_font(STAFF_POINT_SIZE, bold=False))
        self.pin = pin_field("staff_pin")
        self.ok = touch_button("", "action_staff_ok")
        self.out = touch_button("", "action_sign_out")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.message, 2)
        row.addWidget(self.who, 1)
        row.addWidget(self.pin, 1)
        row.addWidget(self.ok)
        row.addWidget(self.out)
        self.ok.clicked.connect(self._send)
        self.pin.returnPressed.connect(self._send)
        self.out.clicked.connect(self.sign_out.emit)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.ok.setText(tr("OK"))
        self.out.setText(tr("Sign out"))
        self.show_view({"staff": self.staff, "signed_in": self.signed_in,
                        "enforcing": bool(self.staff)})

    def _fill(self, managers_only: bool) -> None:
        current = self.who.currentData()
        self.who.clear()
        for member in self.staff:
            if managers_only and member["role"] != "manager":
                continue
            self.who.addItem(f"{member['name']} ({tr(member['role'])})", member["staff"])
        index = self.who.findData(current)
        if index >= 0:
            self.who.setCurrentIndex(index)

    def show_view(self, view: dict) -> None:
        """The core's StaffDesk.view(): sign-in asked, or who is signed in."""
        self.staff = view.get("staff") or []
        self.signed_in = view.get("signed_in")
        self.mode = "sign_in"
        self.pin.clear()
        if not view.get("enforcing"):
            self.hide()  # first setup: no staff yet (the admin screen makes the first)
            return
        self.show()
        if self.signed_in:
            self.message.setText(tr("Signed in: {0} ({1})").format(
                self.signed_in["name"], tr(self.signed_in["role"])))
            for widget in (self.who, self.pin, self.ok):
                widget.hide()
            self.out.show()
        else:
            self.message.setText(tr("Sign in: choose your name, type your PIN."))
            self._fill(managers_only=False)
            for widget in (self.who, self.pin, self.ok):
                widget.show()
            self.out.hide()

    def ask_approval(self, why: str, amount: int, points: bool = False) -> None:
        """A manager's PIN for the action that waits (sent again once approved); its
        `amount` in yen, or in points for a grant."""
        self.mode = "approve"
        self.show()
        text = tr("Manager's PIN, please: {0}").format(why)
        if amount:
            text += f"  {amount:,} pt" if points else f"  {yen(amount)}"
        self.message.setText(text)
        self._fill(managers_only=True)
        for widget in (self.who, self.pin, self.ok):
            widget.show()
        self.out.hide()
        self.pin.clear()
        self.pin.setFocus()

    def ask_sign_in(self, message: str) -> None:
        self.show_view({"staff": self.staff, "signed_in": None, "enforcing": True})
        self.message.setText(message)
        self.pin.setFocus()

    def _send(self) -> None:
        staff_id, pin = self.who.currentData(), self.pin.text()
        if not staff_id or not pin:
            return
        self.pin.clear()
        (self.approve if self.mode == "approve" else self.sign_in).emit(staff_id, pin)


class TrainingBanner(QLabel):
    """On every screen while training mode is on."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("training_banner")
        self.setFont(big_font(BANNER_POINT_SIZE))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #b00020; color: white; padding: 4px;")
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.setText("練習 " + tr("TRAINING: sales here are practice, never posted"))


class ConfirmPanel(QWidget):
    """"Really?" before a void or a refund: what, and the amount in large type."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("confirm")
        self.what = QLabel()
        self.what.setFont(big_font(STAFF_POINT_SIZE + 4))
        self.amount = QLabel()
        self.amount.setObjectName("confirm_amount")
        self.amount.setFont(big_font(CONFIRM_AMOUNT_POINT_SIZE))
        self.yes = touch_button("", "action_confirm")
        self.no = touch_button("", "action_cancel")
        buttons = QHBoxLayout()
        buttons.addWidget(self.yes)
        buttons.addWidget(self.no)
        layout = QVBoxLayout(self)
        layout.addWidget(self.what)
        layout.addWidget(self.amount)
        layout.addLayout(buttons)
        self._then = None
        self.yes.clicked.connect(self._yes)
        self.no.clicked.connect(self.hide)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.yes.setText(tr("Yes, do it"))
        self.no.setText(tr("Cancel"))

    def ask(self, what: str, amount: int | None, then) -> None:
        self.what.setText(what)
        self.amount.setText(yen(amount) if amount else tr("all that is left"))
        self._then = then
        self.show()
        self.yes.setFocus()

    def _yes(self) -> None:
        then, self._then = self._then, None
        self.hide()
        if then is not None:
            then()


class StaffAdmin(QWidget):
    """The admin screen's staff controls: training mode on or off, and a new member made
    here (a shop with no ledger access; the first one is a manager)."""

    training = Signal(bool)
    create_member = Signal(str, str, str)  # name, role, PIN (QWidget has a create())

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("staff_admin")
        self.training_button = touch_button("", "action_training")
        self.training_button.setCheckable(True)
        self.name = QLineEdit()
        self.name.setObjectName("new_staff_name")
        self.name.setMaxLength(40)
        self.role = QComboBox()
        self.role.setObjectName("new_staff_role")
        for role in ROLES:
            self.role.addItem(role, role)
        self.pin = pin_field("new_staff_pin")
        self.add_button = touch_button("", "action_add_staff")
        self.info = QLabel()
        self.info.setWordWrap(True)
        # one row: the admin screen is already taller than a 768-px screen (issue #18)
        row = QHBoxLayout()
        for widget in (self.training_button, self.name, self.role, self.pin, self.add_button):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.info)
        self.training_button.clicked.connect(
            lambda: self.training.emit(self.training_button.isChecked()))
        self.add_button.clicked.connect(self._add)
        self.retranslate()

    def retranslate(self) -> None:
        self.training_button.setText(tr("Training mode"))
        self.add_button.setText(tr("Add staff"))
        self.name.setPlaceholderText(tr("Name"))
        self.pin.setPlaceholderText(tr("PIN (4-6 digits)"))
        for index, role in enumerate(ROLES):
            self.role.setItemText(index, tr(role))

    def first_setup(self, on: bool) -> None:
        """No staff yet: only a manager can be made, and training waits for one."""
        self.training_button.setVisible(not on)
        if on:
            self.role.setCurrentIndex(self.role.findData("manager"))
            self.info.setText(tr("No staff yet: anyone can do anything at this "
                                      "counter. Make the first manager here."))
        self.role.setEnabled(not on)

    def _add(self) -> None:
        if self.name.text().strip() and self.pin.text():
            self.create_member.emit(self.name.text().strip(), self.role.currentData(),
                             self.pin.text())
            self.pin.clear()
