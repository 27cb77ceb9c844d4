"""What the shop and booth screens share: the result panel, the keypad screen, the step a
screen waits in (`Pending`), and the words for outcomes and holdings.

Sentences are translated in the "MainWindow" context (as staffbox and day do), so the
translation file keeps one context for the counter's own words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from sync import giftcodes
from terminal import receipt as paper
from terminal import tally
from terminal.credentials import SCAN
from terminal.policy import REASONS
from terminal.ui import campaigns as campaign_words
from terminal.ui import look
from terminal.ui.ops import OpFailure
from terminal.ui.staffbox import why_words
from terminal.ui.widgets import AmountPad, FitLabel, big_font, touch_button, yen

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

BALANCE_POINT_SIZE = 40
BALANCE_MIN_POINT_SIZE = 20  # what a long balance shrinks to at most (1024 px, large type)
HEADLINE_POINT_SIZE = 26
DETAIL_POINT_SIZE = 15
CAMPAIGN_POINT_SIZE = 16  # what the campaigns did: read out to the customer, so large
NOTE_POINT_SIZE = 12  # campaigns that did not apply: there, but calm
RECEIPT_POINT_SIZE = 10
CONTEXT = "MainWindow"
log = logging.getLogger(__name__)
PAD_STRETCH, ACTIONS_STRETCH, RESULT_STRETCH = 3, 2, 5  # the screen's columns, in shares
POCKETS = {"charged": "Charged money", "premium_common": "Vouchers (all shops)",
           "premium_exclusive": "Vouchers (small shops)", "points": "Points"}


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def credential_of(text: str) -> tuple[str, str]:
    """A scanned or typed code as the window passes it on: a gift code goes its own way (it
    pays, or goes into a wallet at the booth); anything else goes to the services as a scan,
    where terminal.credentials tells an app code or a card number from what cannot pay (a
    wallet id, a web address...) and refuses that with its reason."""
    if text.strip().startswith(giftcodes.GIFT_PREFIX):
        return "gift", text.strip()
    return SCAN, text


@dataclass
class Pending:
    """The step a screen waits in: an action waiting for a card or code (and what it
    carries), or `sent` once its op is on its way (a second scan is then ignored)."""

    action: str
    amount: int = 0
    excluded: int = 0
    campaign: str = ""
    steps: int = 1
    code: str = ""
    who: tuple[str, str] | None = None
    tendered: int | None = None
    sent: bool = False


def said_details(failure: OpFailure) -> dict[str, Any]:
    """A refusal's details, with a manager's approval's reason in the screen's words."""
    details = failure.details
    if failure.code == "approval_needed" and "why_key" in details:
        why = why_words(details["why_key"], details["limit"])
        if "first_close" in details:  # a second close: what the first one covered
            why += " — " + tally.describe_close(details["first_close"], look.language())
        details = {**details, "why": why}
    return details


FAILURE_CONTEXT = "Failure"
# The terminal's own failures (terminal.errors.TerminalError's subclasses, by code) and the
# op failures the bridge reports ("failed", "damaged", "start", ...), one sentence each for a
# cashier who does not read English. In English the failure's own message is shown (it says
# more: what and why); in another language this sentence, and the message goes to the log.
FAILURE_WORDS: dict[str, str] = {
    "bad_input": "The request was not in the expected form.",
    "bad_ledger_time": "The ledger's answer carried no valid time.",
    "bad_receipt": "This receipt cannot be made.",
    "demo": "The demo ledger could not be started.",
    "endpoint": "The register connection cannot start.",
    "journal": "The journal cannot be opened or written.",
    "journal_broken": "The journal's records do not hold together. Export it and call "
                      "support.",
    "journal_damaged": "The journal was found damaged, so the day cannot be closed. Export "
                       "it and call support.",
    "no_receipt": "That receipt cannot be found or made again.",
    "not_enrolled": "This terminal is not enrolled with the ledger yet.",
    "not_ready": "The terminal is not ready yet.",
    "one_line": "The command line cannot be read.",
    "pin_key_missing": "The key to seal card PINs is missing.",
    "printer_unavailable": "The printer cannot be used. Check its power, paper and cable.",
    "refused": "Not accepted.",
    "repair_failed": "The repair did not succeed.",
    "second_close": "The day was already closed today. A second close needs a manager's "
                    "approval.",
    "tally": "This tally cannot be made.",
    "terminal_error": "The terminal could not do that.",
    # what the bridge reports for an op (terminal/ui/bridge.py)
    "failed": "That could not be done.",
    "op_failed": "That could not be done.",  # OpError's own default; ops carry their code
    "damaged": "A database of this terminal is damaged.",
    "start": "The terminal could not start.",
    "enroll": "Enrolling with the ledger did not succeed.",
    "printer": "The printer did not answer.",
    "internal": "An error in this terminal. It is written in the log.",
}


def failure_words(failure: OpFailure) -> str:
    """A refusal or failure in the interface's language (the policy's English template,
    looked up in the translation, with its details filled in; a failure's sentence)."""
    template = REASONS.get(failure.code)
    if template is not None:
        try:
            return QCoreApplication.translate("Refusal", template).format(
                **said_details(failure))
        except (KeyError, IndexError):  # a failure that shares a refusal's code, not its details
            log.warning("no details to word %s: %s", failure.code, failure.details)
    if look.language() == "en" and failure.message:
        return failure.message
    # a code without a sentence of its own still gets words in the interface's language
    sentence = FAILURE_WORDS.get(failure.code, FAILURE_WORDS["failed"])
    return QCoreApplication.translate(FAILURE_CONTEXT, sentence)


class ResultPanel(QFrame):
    """The right-hand side: a hint, the prompt to scan, or the result of the last action.
    Long text (a receipt, campaign lines, a list) scrolls inside it; it never grows the
    window."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("result")
        # it takes the room it is given, never more: what does not fit scrolls or wraps
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.headline = QLabel()
        self.headline.setObjectName("headline")
        self.headline.setFont(big_font(HEADLINE_POINT_SIZE))
        self.headline.setWordWrap(True)
        self.balance = FitLabel(BALANCE_MIN_POINT_SIZE)  # a long balance shrinks, never cut
        self.balance.setObjectName("balance")
        self.balance.setFont(big_font(BALANCE_POINT_SIZE))
        # one line always (a wrapped "Remaining" would push the amount out of view)
        self.balance.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        receipt_font = big_font(RECEIPT_POINT_SIZE, bold=False)
        receipt_font.setFamilies(["Noto Sans Mono CJK JP", "monospace"])
        self.receipt.setFont(receipt_font)
        # what the campaigns did and the receipt scroll together when they are long
        words = QWidget()
        words_layout = QVBoxLayout(words)
        words_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.campaigns, self.notes):
            words_layout.addWidget(widget)
        receipt_box = QWidget()
        centred = QHBoxLayout(receipt_box)
        centred.addStretch(1)
        centred.addWidget(self.receipt)
        centred.addStretch(1)
        words_layout.addWidget(receipt_box)
        words_layout.addStretch(1)
        self.receipt_area = _WordsArea(self._words_shown)
        self.receipt_area.setObjectName("result_scroll")
        self.receipt_area.setWidget(words)
        self.receipt_area.setWidgetResizable(True)
        self.receipt_area.setFrameShape(QFrame.Shape.NoFrame)
        self.receipt_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.receipt_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.extras = QVBoxLayout()  # lists and inputs a screen shows here for one step
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.balance)
        layout.addWidget(self.detail)
        layout.addLayout(self.extras)
        layout.addWidget(self.receipt_area, 1)
        self._layout = layout
        layout.addStretch(0)  # takes the room when the words are hidden for a list or a PIN
        self.campaigns.hide()
        self.notes.hide()

    def _words_shown(self, shown: bool) -> None:
        """A list shown instead of the words (sales, campaigns, receipts) takes their room."""
        self._layout.setStretchFactor(self.extras, 0 if shown else 1)

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
        self.receipt.hide()  # until a receipt comes (its paper would show empty)


class _WordsArea(QScrollArea):
    """The result's scrolling words, saying when they are shown or hidden."""

    def __init__(self, shown: Any) -> None:
        super().__init__()
        self._shown = shown

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt's name
        super().setVisible(visible)
        self._shown(visible)


class CounterScreen(QWidget):
    """Keypad on the left, actions below it, the result panel on the right; the shop and
    the booth are made of it."""

    name = ""

    def __init__(self, frame: MainWindow, actions: list[str]) -> None:
        super().__init__()
        self.frame = frame
        self.pending: Pending | None = None
        self.pad = AmountPad()
        self.result = ResultPanel()
        self.buttons: dict[str, QPushButton] = {}
        # Three columns, so a 768-pixel-high screen holds the keypad and every action in
        # large type too: the keypad, the actions one under the other, the result.
        left = QVBoxLayout()
        left.addWidget(self.pad)
        left.addStretch(1)
        self.grid = QGridLayout()
        for index, key in enumerate(actions):
            button = touch_button("", f"action_{key}")
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.buttons[key] = button
            self.grid.addWidget(button, index, 0)
        middle = QVBoxLayout()
        middle.addLayout(self.grid)
        middle.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, PAD_STRETCH)
        columns.addLayout(middle, ACTIONS_STRETCH)
        self.under = QVBoxLayout()  # a row under the keypad and the actions (the shop's party)
        inputs = QVBoxLayout()
        inputs.addLayout(columns, 1)
        inputs.addLayout(self.under)
        layout = QHBoxLayout(self)
        layout.addLayout(inputs, PAD_STRETCH + ACTIONS_STRETCH)
        layout.addWidget(self.result, RESULT_STRETCH)
        self.pad.changed.connect(lambda _: self._typing())

    # --- what a screen does itself ----------------------------------------------------------

    def hide_extras(self) -> None:
        self.result.receipt_area.show()

    def idle(self, headline: str) -> None:
        self.result.show_state("idle", headline)

    def cancel(self) -> bool:
        """Esc: the step waited in is given up (True when there was one)."""
        if self.pending is None or self.pending.sent:
            return False
        self.pending = None
        self.hide_extras()
        self.idle(tr("Cancelled."))
        return True

    def wait_for(self, pending: Pending, prompt: str, hint: str) -> None:
        self.frame.claim(self)
        self.hide_extras()
        self.pending = pending
        self.result.show_state("waiting", prompt, "", hint)

    def _typing(self) -> None:
        if self.pad.amount == 0:
            return  # cleared after a sale: the result stays up until the next customer types
        if self.pending is not None:
            return
        if self.result.property("state") == "approved":
            self.frame.customer_show_thanks()  # the last customer is done: the next begins
        self.result.show_state("idle", tr("Type the amount, then choose."),
                               yen(self.pad.amount))

    def start(self, action: str) -> None:
        """Wait for a card or code for `action` (the screen's own actions)."""
        raise NotImplementedError

    def present(self, kind: str, value: str) -> None:
        raise NotImplementedError

    def scan_alone(self, kind: str, value: str) -> None:
        """A scan with no action chosen asks for the balance; a gift code alone pays
        nothing."""
        if kind == "gift":
            self.result.show_state("refused", tr("A gift code pays for a sale"), "",
                                   tr("Type the amount, press Pay, then scan the gift code."))
            return
        self.frame.claim(self)
        self.pending = Pending("balance")
        self.present(kind, value)

    def enter(self) -> None:
        raise NotImplementedError

    def progress(self, text: str) -> None:
        """A still-running op: 処理中… and what it waits for."""
        if self.pending is not None and self.pending.sent:
            self.result.show_state("working", text)

    def refused(self, failure: OpFailure) -> None:
        """A refusal or failure of this screen's op, said on the result panel."""
        message = failure_words(failure)
        self.pending = None
        self.hide_extras()
        self.frame.staff.refused(failure.code, message, said_details(failure))
        self.result.show_state("refused", "✘ " + tr("Not accepted"), "", message)
        self.frame.sound("refuse")
        self.frame.refusal.emit(failure.code, message)
        self.frame.customer_show_refused(failure.code, message)

    def balance_shown(self, result: Any) -> None:
        view, how = result
        self.pending = None
        self.hide_extras()
        lines = holding_lines(view, self.frame.ride_name) + rally_lines(view)
        self.result.show_state("approved", tr("Balance ({0})").format(tr(how)),
                               yen(view.total), "\n".join(lines))

    def show_outcome(self, result: Any) -> None:
        """The result of a committed transaction: what it did, what each campaign did, what
        is left; the receipt follows on its own signal."""
        self.pending = None
        self.hide_extras()
        self.frame.last_outcome = result
        self.frame.sound("approve")
        self.frame.staff.approval_done()
        did, notes = campaign_words.outcome_words(result)
        self.result.show_state("approved", "✔ " + title(result), remaining(result),
                               "\n".join(outcome_lines(result)), did,
                               ["・" + note for note in notes])
        self.frame.customer_show_result(result)
        self.pad.clear()
        self.frame.refresh_offers()  # a campaign may have run out, or a new snapshot come


# --- words ------------------------------------------------------------------------------


def pocket(name: str) -> str:
    return tr(POCKETS[name]) if name in POCKETS else name


def holding_lines(view: Any, ride_name: Any) -> list[str]:
    """Each pocket by expiry and usable-from day (#16.7), then the rides."""
    lines = []
    for held in view.holdings():
        when = [tr("until {0}").format(held["expires"])] if held["expires"] else []
        if held["usable_from"]:
            when.append(tr("usable from {0}").format(held["usable_from"]))
        lines.append(f"{pocket(held['pocket'])}: {yen(held['yen'])}"
                     + (f" ({', '.join(when)})" if when else ""))
    lines += [f"{ride_name(c)}: " + tr("{0} rides").format(n)
              for c, n in sorted(view.rides.items())]
    return lines


def rally_lines(view: Any) -> list[str]:
    """Each rally card with the shops that stamped it (取得したスタンプには店舗名が表示
    されます)."""
    out = []
    for card in getattr(view, "rally", []):
        have = sum(shop["stamps"] for shop in card["shops"])
        shops = "、".join(f"{shop['name']} ×{shop['stamps']}" for shop in card["shops"])
        out.append(tr("{0}: {1} of {2} stamps {3} (completed {4})").format(
            card["name"], have, card["needed"], shops, card["done"]))
    return out


def title(result: Any) -> str:
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


def outcome_lines(result: Any) -> list[str]:
    lines = []
    if result.kind == "payment" and result.price is not None and \
            result.price != result.amount:
        lines.append(tr("Goods {0} → to pay {1}").format(yen(result.price), yen(result.amount)))
    if result.kind == "gift":
        lines.append(tr("Sale {0}: the gift code paid {1}. No change is given.")
                     .format(yen(result.price or result.amount), yen(result.amount)))
    lines += [f"{pocket(p)}: {yen(v)}" for p, v in sorted(result.paid_by.items())
              if p in POCKETS and v > 0 and result.kind not in ("exchange",)]
    if result.decision and result.kind != "gift":
        lines.append(tr("decided {0} · receipt no. {1}").format(tr(result.decision),
                                                                result.seq))
    else:
        lines.append(tr("receipt no. {0}").format(result.seq))
    return lines


def remaining(result: Any) -> str:
    """The big line under the title: rides left, still to pay, or the balance left."""
    left = [entry["rides_left"] for entry in result.campaigns if "rides_left" in entry]
    if result.kind == "ticket" and left:
        return tr("{0} rides left").format(left[0])  # big: card users look here
    if result.kind == "gift":
        return tr("Still to pay {0}").format(yen(result.rest)) if result.rest else ""
    if result.balance_after is not None:
        return tr("Remaining {0}").format(yen(result.balance_after))
    return ""
