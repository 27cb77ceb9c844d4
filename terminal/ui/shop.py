"""The shop's counter: pay (card, app or gift code), balance, refund or void, excluded
goods, today's receipts, rides, and a rally's party size, banquet and other diners.

One flow for every ticket type (DESIGN §11): amount -> Pay -> scan or tap -> result. The
result stays beside the keypad instead of in a dialog, so the next customer can start at
once; typing an amount clears it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from terminal.counter import Presented
from terminal.policy import MAX_PARTY
from terminal.ui.day import ROW_MIN_PX, HistoryPanel
from terminal.ui.ops import COUNTER_TIMEOUT_S, REPORT_TIMEOUT_S, Op, OpFailure
from terminal.ui.screen import CounterScreen, Pending, tr
from terminal.ui.staffbox import pin_field
from terminal.ui.widgets import big_font, touch_button, yen

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

PARTY_POINT_SIZE = 20
PIN_POINT_SIZE = 24
PIN_CODES = ("pin_required", "pin_wrong")  # refusals answered by asking for the PIN
DOUBLE_TAGS = {"banquet": "Banquet"}  # a rally's double-stamp word, as the button says it
ACTIONS = ["pay", "balance", "refunds", "excluded", "receipts", "ride"]


class ShopScreen(CounterScreen):
    name = "shop"

    def __init__(self, frame: MainWindow) -> None:
        super().__init__(frame, ACTIONS)
        self.excluded = 0
        self.last_pay: tuple | None = None  # the payment a PIN is asked for, to send again
        self._build_party()
        self.buttons["ride"].hide()  # shown while a ticket campaign runs here
        # A card's PIN, asked on the result panel when a payment needs it.
        self.pin_box = QWidget()
        self.pin_box.setObjectName("pin_box")
        pin_row = QHBoxLayout(self.pin_box)
        self.pin_entry = pin_field("pin_entry")
        self.pin_entry.setFont(big_font(PIN_POINT_SIZE))
        self.pin_button = touch_button("", "action_pin")
        pin_row.addWidget(self.pin_entry, 1)
        pin_row.addWidget(self.pin_button)
        self.result.extras.addWidget(self.pin_box)
        self.sales = QListWidget()
        self.sales.setFont(big_font(14, bold=False))
        refund_row = QHBoxLayout()
        self.refund_button = touch_button("", "action_refund")
        self.void_button = touch_button("", "action_void")
        refund_row.addWidget(self.refund_button)
        refund_row.addWidget(self.void_button)
        self.result.extras.addWidget(self.sales, 1)
        self.result.extras.addLayout(refund_row)
        self.history = HistoryPanel()  # today's receipts, to reprint
        self.result.extras.addWidget(self.history, 1)
        self.hide_extras()
        b = self.buttons
        b["pay"].clicked.connect(lambda: self.start("pay"))
        b["balance"].clicked.connect(lambda: self.start("balance"))
        b["refunds"].clicked.connect(self.show_refunds)
        b["excluded"].clicked.connect(self.set_excluded)
        b["ride"].clicked.connect(self.ride)
        b["receipts"].clicked.connect(self.show_history)
        self.diner_button.clicked.connect(self.await_diner)
        self.history.reprint.connect(self.reprint)
        self.pin_entry.returnPressed.connect(self._send_pin)
        self.pin_button.clicked.connect(self._send_pin)
        self.refund_button.clicked.connect(lambda: self._refund(False))
        self.void_button.clicked.connect(lambda: self._refund(True))

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
        row.addWidget(self.double_button, 1)
        row.addWidget(self.diner_button, 1)
        for button in (self.double_button, self.diner_button):
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.under.addWidget(self.party_box)  # one row under the keypad and the actions
        for hidden in (self.party_box, self.double_button, self.diner_button):
            hidden.hide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.frame.fit_customer_panel()  # beside this screen only when it is wide enough

    def retranslate(self) -> None:
        labels = {"pay": tr("Pay"), "balance": tr("Balance"), "refunds": tr("Refund / void"),
                  "excluded": tr("Excluded goods"), "ride": tr("Ride"),
                  "receipts": tr("Receipts (F11)")}
        for key, button in self.buttons.items():
            button.setText(labels[key])
        self.refund_button.setText(tr("Refund the amount typed"))
        self.void_button.setText(tr("Void the whole sale"))
        self.party_label.setText(tr("People"))
        self.pin_button.setText(tr("OK"))
        self._show_double_tag()
        self._show_diners()

    # --- a rally's inputs -----------------------------------------------------------------

    def apply_offers(self, offers: dict[str, list[dict]]) -> None:
        """Show the inputs this shop's campaigns need today, and only those."""
        self.buttons["ride"].setVisible(bool(offers.get("ticket")))
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

    def _show_double_tag(self) -> None:
        tag = self.double_tag
        self.double_button.setVisible(bool(tag) and not self.party_box.isHidden())
        self.double_button.setText(tr(DOUBLE_TAGS[tag]) if tag in DOUBLE_TAGS else tag)

    def _reset_party(self) -> None:
        self.party.setValue(1)
        self.double_button.setChecked(False)
        self.diners = []
        self._show_diners()

    def _show_diners(self) -> None:
        self.diner_button.setText(tr("Add diner ({0})").format(len(self.diners))
                                  if self.diners else tr("Add diner"))

    def await_diner(self) -> None:
        """The next scan is another diner's card or app code, not the payer's."""
        if self.diner_button.isHidden():
            return
        self.wait_for(Pending("diner"), tr("Other diner: tap their card or show the app's "
                                           "code"), tr("Esc cancels."))

    def _add_diner(self, kind: str, value: str) -> None:
        self.pending = None
        if kind == "gift":
            self.result.show_state("refused", tr("A gift code pays for a sale"))
            return
        if (kind, value) not in self.diners:
            self.diners.append((kind, value))
            self.party.setValue(max(self.party.value(), len(self.diners) + 1))
        self._show_diners()
        self.result.show_state("waiting", tr("{0} other diner(s) added").format(
            len(self.diners)), "", tr("Type the amount, press Pay, then the payer's card."))

    def drop_sale_inputs(self) -> None:
        """What was set for one sale besides its amount: excluded goods, party, banquet."""
        self.excluded = 0
        self._reset_party()

    def has_sale_inputs(self) -> bool:
        return bool(self.excluded or self.diners)

    def key_for_party(self, text: str) -> bool:
        """+ / - for the party size, * for the banquet: True when taken."""
        if self.party_box.isHidden() or text not in ("+", "-", "*"):
            return False
        if text == "*":
            if self.double_button.isVisible():
                self.double_button.click()
        else:
            self.party.stepBy(1 if text == "+" else -1)
        return True

    # --- the flows ------------------------------------------------------------------------

    def start(self, action: str) -> None:
        amount = self.pad.amount
        if action == "pay" and amount <= 0:
            self.result.show_state("refused", tr("Type the amount first."))
            return
        if action == "pay":
            prompt = tr("Pay {0}: tap the card or show the app's code").format(yen(amount))
            hint = tr("A gift code pays too: scan it now. Esc cancels.")
            self.frame.customer_show_amount(amount)
        elif action == "ride":
            prompt, hint = tr("Ride: tap the card or show the app's code"), tr("Esc cancels.")
        else:
            prompt = tr("Balance: tap the card or show the app's code")
            hint = tr("Esc cancels.")
        self.wait_for(Pending(action, amount, self.excluded if action == "pay" else 0),
                      prompt, hint)

    def enter(self) -> None:
        if self.pending is not None and self.pending.action != "balance":
            return  # already waiting for a card; an Enter from a list lands here too
        self.start("pay")

    def ride(self) -> None:
        if self.buttons["ride"].isHidden():
            return  # no ticket campaign runs here
        self.frame.show_screen("shop")
        self.start("ride")

    def present(self, kind: str, value: str) -> None:
        pending = self.pending
        if pending is None or pending.sent or pending.action in ("pin", "refunds",
                                                                 "receipts"):
            if pending is None:
                self.scan_alone(kind, value)
            return
        if pending.action == "diner":
            self._add_diner(kind, value)
            return
        if kind == "gift" and pending.action != "pay":
            self.pending = None
            self.result.show_state("refused", tr("A gift code pays for a sale"), "",
                                   tr("Type the amount, press Pay, then scan the gift code."))
            return
        pending.sent = True
        self.hide_extras()
        self.result.show_state("working", tr("One moment…"))
        who = Presented(kind, value)
        if pending.action == "pay" and kind == "gift":
            self._op(lambda s: s.counter.pay_gift(value, pending.amount, pending.excluded),
                     tr("the payment"))
        elif pending.action == "pay":
            tags = [self.double_tag] if self.double_tag and self.double_button.isChecked() \
                else []
            self.last_pay = (kind, value, pending.amount, pending.excluded,
                             self.party.value(), tags, list(self.diners))
            self._pay("")
        elif pending.action == "ride":
            self._op(lambda s: s.counter.use_ticket(who), tr("the ride"))
        else:
            self._op(lambda s: s.counter.balance(who), tr("the balance"),
                     success=self.balance_shown)

    def _op(self, work: Any, label: str, success: Any = None,
            timeout_s: float = COUNTER_TIMEOUT_S) -> None:
        Op(self, work, success=success or self._done, failure=self.refused, label=label,
           timeout_s=timeout_s, progress=self.progress).run()

    def _pay(self, pin: str) -> None:
        assert self.last_pay is not None
        kind, value, amount, excluded, people, tags, diners = self.last_pay
        # the sale, then the wallet after it for the customer display, in the same op
        self._op(lambda s: s.sold(s.counter.pay(
            Presented(kind, value), amount, excluded, people, frozenset(tags), pin or None,
            diners=[Presented(*pair) for pair in diners])), tr("the payment"),
            success=self._paid)

    def _paid(self, sold: Any) -> None:
        """A sale made (terminal.ui.bridge.Sold): its wallet to the customer display."""
        self.frame.customer_wallet(sold.outcome, sold.wallet)
        self._done(sold.outcome)

    def _done(self, result: Any) -> None:
        self.show_outcome(result)
        if result.kind in ("payment", "gift"):
            self.drop_sale_inputs()

    def refused(self, failure: OpFailure) -> None:
        if self.pending is not None and self.pending.action == "pay" and \
                failure.code in PIN_CODES and self.last_pay is not None:
            self._ask_pin(failure)
            return
        super().refused(failure)

    def _ask_pin(self, failure: OpFailure) -> None:
        """The card needs its PIN: the customer types it here, Enter sends the sale again."""
        from terminal.ui.screen import failure_words

        assert self.last_pay is not None
        self.pending = Pending("pin", self.last_pay[2])
        self.result.show_state("waiting", tr("PIN, please"), "",
                               failure_words(failure) + "\n" + tr("Esc cancels."))
        self.result.receipt_area.hide()
        self.pin_entry.clear()
        self.pin_box.show()
        self.pin_entry.setFocus()

    def _send_pin(self) -> None:
        if self.last_pay is None or not self.pin_entry.text():
            return
        pin = self.pin_entry.text()
        self.pin_entry.clear()
        self.hide_extras()
        self.pending = Pending("pay", self.last_pay[2], sent=True)
        self.result.show_state("working", tr("One moment…"))
        self._pay(pin)

    def set_excluded(self) -> None:
        self.excluded = self.pad.amount
        self.pad.clear()
        self.result.show_state("idle", tr("Excluded goods: {0} (not payable with vouchers). "
                                          "Now type the total.").format(yen(self.excluded)))

    def hide_extras(self) -> None:
        self.pin_entry.clear()
        for widget in (self.sales, self.refund_button, self.void_button, self.pin_box,
                       self.history):
            widget.hide()
        super().hide_extras()

    # --- refunds and receipts ---------------------------------------------------------------

    def show_refunds(self) -> None:
        self.frame.claim(self)
        self.hide_extras()
        self.pending = Pending("refunds")
        Op(self, lambda s: s.recent_sales(), success=self._list_sales, failure=self.refused,
           label=tr("the list of sales"), timeout_s=REPORT_TIMEOUT_S).run()

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
        self.result.show_state("waiting", tr("Choose a sale; type an amount for a partial "
                                             "refund."))
        self.result.receipt_area.hide()  # the list takes the room
        for widget in (self.sales, self.refund_button, self.void_button):
            widget.show()

    def _refund(self, void: bool) -> None:
        item = self.sales.currentItem()
        if item is None:
            self.result.show_state("refused", tr("Choose a sale first."))
            return
        tx_id, amount = item.data(Qt.ItemDataRole.UserRole), self.pad.amount
        what = tr("Void this sale?") if void else tr("Refund?")

        def send() -> None:
            self.pending = Pending("refund", sent=True)
            self.frame.staff.approvable(lambda: self._op(
                lambda s: s.counter.refund(tx_id, None if void else amount or None, void),
                tr("the refund")))

        # "Really?" with the amount in large type: the whole sale for a void
        self.frame.confirm.ask(what, item.data(Qt.ItemDataRole.UserRole + 1) if void
                               else amount, send)

    def show_history(self) -> None:
        """Today's receipts on the result panel: search, reprint."""
        self.frame.show_screen("shop")
        self.frame.claim(self)
        self.hide_extras()
        self.pending = Pending("receipts")
        self.result.show_state("waiting", tr("Today's receipts"), "",
                               tr("Enter reprints the chosen one. Esc closes."))
        self.result.receipt_area.hide()  # the list takes the room
        self.history.show()
        Op(self, lambda s: s.day_sales(), success=self.history.show_sales,
           failure=self.refused, label=tr("today's receipts"),
           timeout_s=REPORT_TIMEOUT_S).run()

    def reprint(self, seq: int) -> None:
        Op(self, lambda s: s.reprint(seq), success=self._reprinted, failure=self.refused,
           label=tr("the reprint"), timeout_s=REPORT_TIMEOUT_S).run()

    def _reprinted(self, seq: int) -> None:
        self.hide_extras()
        self.pending = None
        self.result.show_state("approved", tr("Receipt no. {0} printed again (再発行)")
                               .format(seq))
