"""The town's booth: cash top-ups (with the cash handed over and the change), points,
new cards, the cash float, balances, and the campaigns' actions (voucher sets, grants,
exchanges, gift codes into a wallet): choose, then scan the customer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from terminal.counter import Presented
from terminal.ui.day import TenderBox
from terminal.ui.ops import COUNTER_TIMEOUT_S, Op
from terminal.ui.screen import CounterScreen, Pending, tr
from terminal.ui.staffbox import pin_field
from terminal.ui.widgets import big_font, yen

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

CHOICE_POINT_SIZE = 16
# A new card's holder's age band: the code kept with the card (item data) -> its words on
# screen (translated: 10代 … 80代以上). The first, empty, is "not given".
AGE_BANDS = {"": "", "10s": "10s", "20s": "20s", "30s": "30s", "40s": "40s", "50s": "50s",
             "60s": "60s", "70s": "70s", "80+": "80+"}
AREAS = ("", "中央", "北部", "南部", "東部", "西部")
ACTIONS = ["charge", "grant", "card", "float_in", "float_out", "balance", "campaigns"]


class BoothScreen(CounterScreen):
    name = "booth"

    def __init__(self, frame: MainWindow) -> None:
        super().__init__(frame, ACTIONS)
        # A new card's holder: asked for on the right while the card waits to be scanned.
        self.card_extra = QWidget()
        self.card_extra.setObjectName("card_extra")
        self.age_band, self.area = QComboBox(), QComboBox()
        for code in AGE_BANDS:
            self.age_band.addItem(code, code)
        self.area.addItems(AREAS)
        extra = QHBoxLayout(self.card_extra)
        self.age_label, self.area_label = QLabel(), QLabel()
        self.new_pin_label, self.new_pin = QLabel(), pin_field("new_pin")
        for widget in (self.age_label, self.age_band, self.area_label, self.area,
                       self.new_pin_label, self.new_pin):
            widget.setFont(big_font(14, bold=False))
            extra.addWidget(widget)
        self.result.extras.addWidget(self.card_extra)
        # The campaigns' actions: one list, choose then scan.
        self.choices = QListWidget()
        self.choices.setObjectName("choices")
        self.choices.setFont(big_font(CHOICE_POINT_SIZE, bold=False))
        self.choices.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.choices.setWordWrap(True)  # a long campaign name wraps rather than scrolls
        self.choices.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.result.extras.addWidget(self.choices, 1)
        self.tender = TenderBox()  # the cash handed over for a top-up
        self.result.extras.addWidget(self.tender)
        self.hide_extras()
        b = self.buttons
        b["charge"].clicked.connect(lambda: self.start("charge"))
        b["grant"].clicked.connect(lambda: self.start("grant"))
        b["card"].clicked.connect(lambda: self.start("card"))
        b["balance"].clicked.connect(lambda: self.start("balance"))
        b["float_in"].clicked.connect(lambda: self._cash("in"))
        b["float_out"].clicked.connect(lambda: self._cash("out"))
        b["campaigns"].clicked.connect(self.show_campaigns)
        self.choices.itemActivated.connect(self._choose)
        self.choices.itemClicked.connect(self._choose)

    def retranslate(self) -> None:
        labels = {"charge": tr("Top up (cash)"), "grant": tr("Grant points"),
                  "card": tr("New card"), "float_in": tr("Float in"),
                  "float_out": tr("Float out"), "balance": tr("Balance"),
                  "campaigns": tr("Campaigns")}
        for key, button in self.buttons.items():
            button.setText(labels[key])
        self.age_label.setText(tr("Age band"))
        for index in range(self.age_band.count()):
            code = self.age_band.itemData(index)
            self.age_band.setItemText(index, tr(AGE_BANDS[code]) if code else "")
        self.area_label.setText(tr("Area"))
        self.new_pin_label.setText(tr("PIN (optional)"))

    def hide_extras(self) -> None:
        for widget in (self.choices, self.card_extra, self.tender):
            widget.hide()
        super().hide_extras()

    # --- the flows ------------------------------------------------------------------------

    def start(self, action: str) -> None:
        amount = self.pad.amount
        if action in ("charge", "grant") and amount <= 0:
            self.result.show_state("refused", tr("Type the amount first."))
            return
        prompts = {
            "balance": tr("Balance: tap the card or show the app's code"),
            "charge": tr("Top up {0}: tap the card or show the app's code").format(
                yen(amount)),
            "grant": tr("Grant {0} points: tap the card or show the app's code").format(
                f"{amount:,}"),
            "card": tr("New card: scan the blank card's number"),
        }
        self.wait_for(Pending(action, amount), prompts[action], tr("Esc cancels."))
        if action == "card":
            self.card_extra.show()
        if action == "charge":
            self.tender.start(amount)
            self.tender.show()
            self.tender.field.setFocus()  # typed cash goes here; the card's scan commits

    def enter(self) -> None:
        if self.pending is not None and self.pending.action != "balance":
            return  # already waiting for a card; an Enter from a list lands here too
        self.start("charge")

    def _cash(self, direction: str) -> None:
        amount = self.pad.amount
        if amount <= 0:
            self.result.show_state("refused", tr("Type the amount first."))
            return
        self.frame.claim(self)
        self.pending = Pending("cash", amount, sent=True)
        self.frame.staff.approvable(lambda: self._op(
            lambda s: s.counter.cash_move(amount, direction), tr("the cash float")))

    def present(self, kind: str, value: str) -> None:
        pending = self.pending
        if pending is None:
            self.scan_alone(kind, value)
            return
        if pending.sent:
            return
        if pending.action == "campaigns":
            item = self.choices.currentItem()  # chosen by moving to it: the scan confirms
            if item is None:
                return
            self._choose(item)
            pending = self.pending
            assert pending is not None
        if self._gift_step(pending, kind, value):
            return
        if pending.action == "charge" and self.tender.short():
            return  # the box says by how much: the card waits until the cash is enough
        pending.tendered = self.tender.value() if pending.action == "charge" else None
        pending.sent = True
        self.hide_extras()
        self.result.show_state("working", tr("One moment…"))
        who = Presented(kind, value)
        action, amount, campaign = pending.action, pending.amount, pending.campaign
        if action == "voucher":
            self._op(lambda s: s.counter.buy_voucher(who, campaign, amount), tr("the sale"))
        elif action == "grant_campaign":
            self._op(lambda s: s.counter.grant_campaign(who, campaign), tr("the grant"))
        elif action == "exchange":
            steps = pending.steps
            self._op(lambda s: s.counter.exchange(who, campaign, steps), tr("the exchange"))
        elif action == "redeem":
            assert pending.who is not None
            payer, code = Presented(*pending.who), pending.code
            self._op(lambda s: s.counter.redeem_gift(payer, code), tr("the gift code"))
        elif action == "charge":
            tendered = pending.tendered or 0
            self._op(lambda s: s.charge(who, amount, tendered), tr("the top-up"))
        elif action == "grant":
            self.frame.staff.approvable(lambda: self._op(
                lambda s: s.counter.grant(who, amount, "town-office"), tr("the grant")))
        elif action == "balance":
            self._op(lambda s: s.counter.balance(who), tr("the balance"),
                     success=self.balance_shown)
        elif action == "card":
            age, area, pin = self.age_band.currentData(), self.area.currentText(), \
                self.new_pin.text()
            self.new_pin.clear()
            self._op(lambda s: s.counter.issue_card(value, age_band=age or None,
                                                    area=area or None, pin=pin or None),
                     tr("the new card"))

    def _op(self, work: Any, label: str, success: Any = None) -> None:
        Op(self, work, success=success or self._done, failure=self.refused, label=label,
           timeout_s=COUNTER_TIMEOUT_S, progress=self.progress).run()

    def _done(self, result: Any) -> None:
        tendered = self.pending.tendered if self.pending is not None else None
        self.show_outcome(result)
        if result.kind == "charge" and tendered:
            # the change is what the cashier counts out now: the big line
            self.result.balance.setText(tr("Change {0}").format(yen(tendered - result.amount)))

    def _gift_step(self, pending: Pending, kind: str, value: str) -> bool:
        """A gift code where none is taken, or half of a redeem (the code and the customer,
        in either order): True when there is nothing to send yet."""
        if pending.action == "redeem":
            if kind == "gift":
                pending.code = value
            else:
                pending.who = (kind, value)
            if not pending.code:
                self.result.show_state("waiting", tr("Now scan the gift code"), "",
                                       tr("Esc cancels."))
                return True
            if pending.who is None:
                self.result.show_state("waiting", tr(
                    "Gift code read: now tap the card or show the app's code"), "",
                    tr("Esc cancels."))
                return True
            return False
        if kind == "gift":
            self.pending = None
            self.result.show_state("refused", tr("A gift code pays for a sale"), "",
                                   tr("Type the amount, press Pay, then scan the gift code."))
            return True
        return False

    # --- campaigns ------------------------------------------------------------------------

    def _choice_items(self) -> list[tuple[str, tuple]]:
        """(words, what to do) for each campaign action the booth can take today."""
        offers, out = self.frame.offers, []
        for rule in offers.get("premium_voucher", []):
            for item in rule["sets"]:
                out.append((tr("{0}: sell the {1} set (worth {2})").format(
                    rule["name"], yen(item["price"]), yen(item["common"] + item["exclusive"])),
                    ("voucher", rule["id"], item["price"])))
        for rule in offers.get("point_grant", []):
            out.append((tr("{0}: grant {1} pt").format(rule["name"], f"{rule['points']:,}"),
                        ("grant_campaign", rule["id"], 0)))
        for rule in offers.get("ticket", []):
            out.append((tr("{0}: grant {1} rides").format(rule["name"], f"{rule['rides']:,}"),
                        ("grant_campaign", rule["id"], 0)))
        for rule in offers.get("exchange", []):
            out.append((tr("{0}: {1} pt → {2} (type a number for more at once)").format(
                rule["name"], f"{rule['points']:,}", yen(rule["value"])),
                ("exchange", rule["id"], 0)))
        if offers.get("gift_code"):
            out.append((tr("Gift code into a wallet"), ("redeem", "", 0)))
        return out

    def show_campaigns(self) -> None:
        """The campaign actions: choose one (arrows, touch), then scan the customer."""
        self.frame.show_screen("booth")
        self.frame.claim(self)
        self.hide_extras()
        self.choices.clear()
        for text, action in self._choice_items():
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, action)
            self.choices.addItem(item)
        if not self.choices.count():
            self.pending = None
            self.idle(tr("No campaigns at this booth today."))
            return
        self.pending = Pending("campaigns")
        self.result.show_state("waiting", tr("Choose, then tap the card or show the app's "
                                             "code"), "", tr("↑ ↓ choose · Esc cancels."))
        self.result.receipt_area.hide()  # the list takes the room: there is no receipt
        self.choices.show()
        self.choices.setCurrentRow(0)
        self.choices.setFocus()

    def _choose(self, item: QListWidgetItem) -> None:
        """A campaign action chosen: now the customer's card, app or (a gift) code."""
        action, campaign_id, price = item.data(Qt.ItemDataRole.UserRole)
        steps = self.pad.amount or 1
        self.pending = Pending(action, price, campaign=campaign_id, steps=steps)
        self.choices.hide()
        if action == "redeem":
            prompt = tr("Gift code into a wallet: scan the gift code")
        elif action == "exchange" and steps > 1:
            prompt = tr("{0} × {1}: tap the card or show the app's code").format(
                item.text().split(":")[0], steps)
        else:
            prompt = tr("{0}: tap the card or show the app's code").format(item.text())
        self.result.show_state("waiting", prompt, "", tr("Esc cancels."))
