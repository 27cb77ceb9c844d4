"""The terminal's services on a worker thread, spoken to by queued signals.

`TerminalBridge` lives on its own QThread and owns the `Node` (journal, snapshot, counter,
sync worker). The window never calls the services directly: it emits a request signal, the
bridge runs it on its thread, and answers with `done` (an Outcome or a look-up), `refused`
(a code and a message to show) or `failed`. The sync worker's status arrives from its own
thread through `status`, a queued signal too. Nothing here can make the screen wait.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from sync import campaigns, keys
from sync.client import SyncError
from sync.keyfile import KeyFileError
from terminal import audit
from terminal.counter import Outcome, Presented
from terminal.demo import DemoError, DemoRegion
from terminal.errors import StorageDamaged, TerminalError
from terminal.health import (
    Damage,
    HealthReport,
    free_bytes,
    storage_refusal,
)
from terminal.node import Node
from terminal.policy import Refused

log = logging.getLogger(__name__)

# Sales listed for refunds and voids.
RECENT_SALES = 50
# Where day-close sheets go, in the terminal's data directory.
TALLY_DIR = "tallies"
# Receipts waiting for a slow printer before new ones are shown but not printed.
PRINT_QUEUE_MAX = 20
UNPRINTED_KEPT = 50  # receipts that did not print, kept in memory for reprint
PRINTER_STOP_TIMEOUT_S = 10
# What a training sale's receipt says above its title (terminal.staff's training mode).
TRAINING_MARK = "練習 TRAINING"
# The campaign kinds the window offers actions or inputs for (`offers`).
OFFER_KINDS = ("stamp_rally", "ticket", "premium_voucher", "point_grant", "exchange",
               "gift_code")


class TerminalBridge(QObject):
    ready = Signal(dict)  # terminal id, merchant, demo customers
    done = Signal(str, object)  # action, result
    refused = Signal(str, str, str, dict)  # action, code, English message, its details
    failed = Signal(str, str)  # action, message
    status = Signal(object)  # SyncStatus
    clock = Signal(object)  # terminal.clock.ClockCheck: the wall clock against the ledger's
    token = Signal(str)  # a demo phone's live code
    receipt = Signal(str)  # the receipt as text, for the screen
    printed = Signal(int, str)  # receipt no., "" when printed, else why not (kept to reprint)
    health = Signal(object)  # terminal.health.HealthReport: damage found, free space

    def __init__(self, data_dir: Path, demo_base: Path | None = None) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._demo_base = demo_base
        self.demo: DemoRegion | None = None
        self.node: Node | None = None
        self._phones: dict = {}
        self.printer = None
        self.language = "ja"
        # The other diners' credentials for the next payment (`set_diners`, sent just
        # before `pay` on the same queue): (kind, value) pairs.
        self._diners: tuple[tuple[str, str], ...] = ()
        self.unprinted: dict[int, Any] = {}  # receipt no. -> Receipt that did not print
        self._tendered: int | None = None  # cash handed over for the top-up being made
        self._print_failed = False  # the last receipt did not print

    # --- start and stop -------------------------------------------------------------------

    def _start_printer(self) -> None:
        """The receipt printer from terminal.json ("printer": {...}); PDFs into the data
        directory when none is set or the one set cannot be opened."""
        from terminal.printer import PdfPrinter, PrinterUnavailable, make_printer

        try:
            printer = make_printer(self.printer_settings(), self._data_dir)
        except (OSError, ValueError, PrinterUnavailable) as exc:
            printer = PdfPrinter(self._data_dir / "receipts")
            self.failed.emit("printer", f"{exc}; receipts go to {printer.status()}")
        self._start_print_thread(printer)

    def printer_settings(self) -> dict:
        from terminal.node import CONFIG_FILE

        try:
            config = json.loads((self._data_dir / CONFIG_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return config.get("printer") or {} if isinstance(config, dict) else {}

    def _start_print_thread(self, printer) -> None:
        self.printer = printer
        self._print_queue: queue.Queue = queue.Queue(PRINT_QUEUE_MAX)
        self._print_thread = threading.Thread(target=self._print_loop, args=(printer,),
                                              name="printer", daemon=True)
        self._print_thread.start()

    def _stop_print_thread(self) -> None:
        if self.printer is not None:
            self._print_queue.put(None)  # after the receipts already waiting
            self._print_thread.join(PRINTER_STOP_TIMEOUT_S)
            self.printer = None

    @Slot(str, str, int)
    def configure_printer(self, kind: str, address: str, columns: int) -> None:
        """The admin screen's printer: opened and checked first (a printer that does not
        answer keeps the one in use), then saved in terminal.json and used from now on."""
        from terminal.node import save_settings
        from terminal.printer import PrinterUnavailable, config_from, make_printer

        try:
            if self.node is not None:
                self.node.counter.require("printer")  # a manager's (terminal.staff)
        except Refused as exc:
            self.refused.emit("printer_setup", exc.code, exc.message, exc.details)
            return
        try:
            config = config_from(kind, address, columns)
            printer = make_printer(config, self._data_dir)
        except PrinterUnavailable as exc:
            self.failed.emit("printer_setup", exc.message)
            return
        save_settings(self._data_dir, {"printer": config})
        self._stop_print_thread()
        self._start_print_thread(printer)
        self.done.emit("printer_setup", printer.status())

    def _print_loop(self, printer) -> None:
        """Receipts print here, so the next customer never waits for the printer."""
        from terminal.printer import PrinterUnavailable

        while True:
            receipt = self._print_queue.get()
            if receipt is None:
                return
            try:
                printer.print_receipt(receipt)
            except (PrinterUnavailable, OSError) as exc:
                self._not_printed(receipt, str(exc))
            else:
                self.unprinted.pop(receipt.seq, None)
                self.printed.emit(receipt.seq, "")
                if self._print_failed:  # paper back in: the admin screen says so
                    self._print_failed = False
                    self.done.emit("printer_setup", printer.status())

    def _not_printed(self, receipt, why: str) -> None:
        """A receipt that did not print is kept for reprint and said so, never reported as
        printed (the oldest kept goes when too many wait: the journal still has it)."""
        self.unprinted[receipt.seq] = receipt
        self._print_failed = True
        while len(self.unprinted) > UNPRINTED_KEPT:
            self.unprinted.pop(min(self.unprinted))
        self.printed.emit(receipt.seq, why)
        self.failed.emit("printer", f"receipt no. {receipt.seq} was not printed ({why}); "
                         "it is kept for reprint")

    def _print(self, receipt) -> None:
        self.receipt.emit("\n".join(receipt.text_lines()))
        try:
            self._print_queue.put_nowait(receipt)
        except queue.Full:
            self._not_printed(receipt, "the printer is behind")

    def _receipt(self, outcome) -> None:
        from terminal.receipt import build_receipt

        assert self.node is not None
        tendered, self._tendered = self._tendered, None
        receipt = build_receipt(outcome, self.node.state.merchant(), self.node.terminal_id,
                                self.language,
                                tendered=tendered if outcome.kind == "charge" else None)
        if outcome.record.get("type") == "training":  # decided and printed, marked 練習
            receipt = dataclasses.replace(receipt, title=f"{TRAINING_MARK} {receipt.title}")
        self._print(receipt)

    @Slot(str)
    def set_language(self, language: str) -> None:
        self.language = language

    @Slot()
    def start(self) -> None:
        try:
            if self._demo_base is not None:
                self.demo = DemoRegion(self._demo_base)
                self._data_dir = self.demo.start()
            self.node = Node(self._data_dir, on_status=self._sync_status)
            # The full check (journal verify, quick_check) runs on a thread of its own; the
            # counter refuses sales as soon as it finds damage.
            self.node.health.start(self.health.emit)
            self.health.emit(self.node.health.report())
            self.node.sync_once()
            if self.node.worker is not None:
                self.node.worker.start()
        except StorageDamaged as exc:  # a database that cannot even be opened
            self.health.emit(HealthReport((Damage(exc.part, exc.message),), True,
                                          free_bytes(self._data_dir)))
            self.failed.emit("damaged", exc.message)
            return
        except (TerminalError, KeyFileError, DemoError, SyncError, sqlite3.Error,
                OSError) as exc:  # sqlite3 / OSError: a disk that filled up during the sync
            self.failed.emit("start", getattr(exc, "message", str(exc)))
            return
        self._start_printer()
        node = self.node
        self.ready.emit({"terminal_id": node.terminal_id, "merchant": node.state.merchant(),
                         "customers": self._customers(), "data_dir": str(self._data_dir),
                         "printer": self.printer_settings(),
                         "printer_status": self.printer.status() if self.printer else "",
                         "ledger_keys": [keys.fingerprint(k) for k in
                                         node.journal.ledger_keys().values()],
                         "demo": self.demo is not None,
                         "staff": node.counter.staff.view()})
        self._check_clock()

    def _sync_status(self, status) -> None:
        """The sync worker's status (on its thread), the clock as the pull left it, and the
        storage (the free space as it is now)."""
        self.status.emit(status)
        self._check_clock()
        self._check_health()

    def _check_health(self) -> None:
        node = self.node
        if node is not None:
            self.health.emit(node.health.report())

    @Slot()
    def rebuild_state(self) -> None:
        """The admin's way out of a damaged state.db (terminal.repair): the services stop,
        the state is rebuilt from a fresh snapshot, and the terminal starts again."""
        from terminal import keystore, repair

        if self.demo is not None:
            self.failed.emit("rebuild_state", "the demo's state is rebuilt by restarting it")
            return
        self._stop_print_thread()
        if self.node is not None:
            self.node.close()
            self.node = None
        try:
            text = repair.rebuild_state(self._data_dir, keystore.passphrase_from_env())
        except (TerminalError, KeyFileError, sqlite3.Error, OSError) as exc:
            self.failed.emit("rebuild_state", exc.message if isinstance(exc, TerminalError)
                             else str(exc))
        else:
            self.done.emit("rebuild_state", text)
        self.start()

    def _check_clock(self) -> None:
        node = self.node
        if node is not None:
            self.clock.emit(node.clock.check())

    def _customers(self) -> list[dict[str, str]]:
        """Who the demo panel can 'present': demo phones (real app tokens), cards, and
        printed gift codes."""
        from terminal.simulate import customers

        assert self.node is not None
        gifts: list[dict[str, str]] = []
        if self.demo is not None:
            self._phones = self.demo.app_phones()
            try:
                gifts = [{"kind": "gift", "value": code} for code in self.demo.gift_codes()]
            except DemoError as exc:  # an older demo ledger without the gift campaign
                gifts = [{"kind": "note", "value": str(exc)}]
        phones = [{"kind": "phone", "value": w} for w in self._phones]
        cards = [{"kind": p.kind, "value": p.value} for p in customers(self.node)]
        return phones + cards + gifts

    @Slot(str)
    def phone_token(self, wallet_id: str) -> None:
        """A demo phone shows its live code (a fresh token, next counter)."""
        phone = self._phones.get(wallet_id)
        if phone is None:
            self.failed.emit("phone", f"no demo phone for {wallet_id}")
            return
        self.token.emit(phone.token())

    @Slot(str, str)
    def enroll(self, ledger_url: str, code: str, fingerprint: str = "") -> None:
        """Set up a terminal that was never enrolled, then start it; `fingerprint` (from the
        ledger's operator) must be the ledger key's, when given."""
        from sync.keyfile import KeyFileError
        from terminal import keystore
        from terminal.node import enroll

        try:
            enroll(self._data_dir, ledger_url.strip(), code.strip(),
                   keystore.passphrase_from_env(), fingerprint=fingerprint.strip() or None)
        except (TerminalError, SyncError, KeyFileError) as exc:
            self.failed.emit("enroll", getattr(exc, "message", str(exc)))
            return
        self.start()

    @Slot()
    def stop(self) -> None:
        self._stop_print_thread()
        if self.node is not None:
            self.node.close()
            self.node = None
        if self.demo is not None:
            self.demo.stop()

    # --- services -------------------------------------------------------------------------

    def _run(self, action: str, work) -> None:
        if self.node is None:
            self.failed.emit(action, "the terminal is not ready")
            return
        try:
            try:
                result = work(self.node.counter)
            except (sqlite3.Error, OSError) as exc:  # a full disk, a damaged file
                refusal = storage_refusal(self.node.health, exc)
                if refusal is None:
                    raise
                log.warning("%s failed on the storage: %s", action, exc)
                raise refusal from exc
        except Refused as exc:
            self.refused.emit(action, exc.code, exc.message, exc.details)
        except TerminalError as exc:
            log.warning("%s failed: %s", action, exc.message)
            self.failed.emit(action, exc.message)
        else:
            self.done.emit(action, result)
            if isinstance(result, Outcome):
                self._receipt(result)
        self._check_clock()
        self._check_health()

    @Slot(object)
    def set_diners(self, diners) -> None:
        """The other diners' cards or app codes for the payment that comes next."""
        self._diners = tuple((str(kind), str(value)) for kind, value in diners)

    @Slot(str, str, int, int, int, object, str)
    def pay(self, kind: str, value: str, amount: int, excluded: int, people: int = 1,
            tags=(), pin: str = "") -> None:
        diners, self._diners = [Presented(*pair) for pair in self._diners], ()
        self._run("pay", lambda c: c.pay(Presented(kind, value), amount, excluded, people,
                                         frozenset(tags), pin or None, diners=diners))

    @Slot(str, int, int)
    def pay_gift(self, code: str, amount: int, excluded: int) -> None:
        self._run("pay", lambda c: c.pay_gift(code, amount, excluded))

    @Slot(str, str, str, int)
    def buy_voucher(self, kind: str, value: str, campaign_id: str, price: int) -> None:
        self._run("voucher", lambda c: c.buy_voucher(Presented(kind, value), campaign_id, price))

    @Slot(str, str, str)
    def grant_campaign(self, kind: str, value: str, campaign_id: str) -> None:
        self._run("grant_campaign",
                  lambda c: c.grant_campaign(Presented(kind, value), campaign_id))

    @Slot(str, str)
    def use_ticket(self, kind: str, value: str) -> None:
        self._run("ride", lambda c: c.use_ticket(Presented(kind, value)))

    @Slot(str, str, str, int)
    def exchange(self, kind: str, value: str, campaign_id: str, steps: int) -> None:
        self._run("exchange", lambda c: c.exchange(Presented(kind, value), campaign_id, steps))

    @Slot(str, str, str)
    def redeem_gift(self, kind: str, value: str, code: str) -> None:
        self._run("redeem", lambda c: c.redeem_gift(Presented(kind, value), code))

    @Slot()
    def offers(self) -> None:
        """This shop's active campaigns of the kinds the window has inputs for, by kind."""
        def work(counter) -> dict[str, list[dict]]:
            offers = counter.offers()
            out = {kind: [dict(rule) for rule in offers.active(kind)] for kind in OFFER_KINDS}
            for rule in out.get("stamp_rally", []):  # what this shop's kind allows
                rule["double_here"] = campaigns.double_here(rule, offers.merchant_id)
                rule["diners_here"] = campaigns.diners_here(rule, offers.merchant_id)
            return out

        self._run("offers", work)

    @Slot(str, str, int, int)
    def charge(self, kind: str, value: str, cash: int, tendered: int = 0) -> None:
        """A cash top-up; `tendered` (0: not given) is the cash handed over, printed with
        the change on the receipt."""
        self._tendered = tendered if tendered >= cash > 0 else None
        self._run("charge", lambda c: c.charge(Presented(kind, value), cash))

    @Slot(str, str, int)
    def grant(self, kind: str, value: str, points: int) -> None:
        self._run("grant", lambda c: c.grant(Presented(kind, value), points, "town-office"))

    @Slot(str, str)
    def balance(self, kind: str, value: str) -> None:
        self._run("balance", lambda c: c.balance(Presented(kind, value)))

    @Slot(str)
    def look_up_wallet(self, wallet_id: str) -> None:
        """The admin screen's look-up of a wallet by its id: read only."""
        self._run("lookup", lambda c: c.look_up_wallet(wallet_id))

    @Slot(str, int, bool)
    def refund(self, tx_id: str, amount: int, void: bool) -> None:
        self._run("refund", lambda c: c.refund(tx_id, amount or None, void))

    @Slot(str, str, str, str)
    def issue_card(self, number: str, age_band: str, area: str, pin: str = "") -> None:
        self._run("issue_card", lambda c: c.issue_card(number, age_band=age_band or None,
                                                       area=area or None, pin=pin or None))

    @Slot(int, str)
    def cash_move(self, amount: int, direction: str) -> None:
        self._run("cash_move", lambda c: c.cash_move(amount, direction))

    @Slot()
    def recent_sales(self) -> None:
        from terminal import history

        self._run("recent_sales", lambda c: history.recent_payments(c.journal, RECENT_SALES))

    @Slot()
    def verify(self) -> None:
        def work(_counter) -> str:
            try:
                return "✔ " + audit.verify_journal(self._data_dir).summary()
            except TerminalError as exc:
                return "✘ " + exc.message

        self._run("verify", work)

    @Slot(bool, int)
    def tally(self, close: bool, counted: int) -> None:
        """The X report (close=False) or the Z close, with its sheet as a PDF in tallies/."""
        if close:
            self.close_day(counted, False, "")
            return

        def work(counter) -> str:
            counter.require("x_report")
            return self._sheet_text(counter, False)

        self._run("tally", work)

    @Slot(int, bool, str)
    def close_day(self, counted: int, shift: bool, approved_by: str) -> None:
        """The Z close (or a shift close, `shift`) through the counter (Counter.close_day):
        a manager's, and a second close on the day of a Z is refused `approval_needed`
        with what the first covered until a manager approves it. `approved_by`: a shop in
        first-setup mode only (no staff to approve)."""
        from terminal import tally

        def work(counter):
            try:
                counter.close_day(counted if counted >= 0 else None, shift, approved_by or None)
            except tally.SecondClose as exc:  # first-setup mode: nobody to approve it
                first = exc.first["body"]
                return ("second_close", {
                    "first": tally.describe_close(exc.first, self.language),
                    "day": str(first.get("business_date")),
                    "next": tally.x_report(counter.journal).business_date})
            self.done.emit("staff", counter.staff.view())  # the close signed them out
            notice = tally.after_close_notice(counter.journal)
            return ("closed", self._sheet_text(counter, True), notice or ())

        self._run("close_day", work)

    def _sheet_text(self, counter, closed: bool) -> str:
        from terminal import tally

        day = tally.runs(counter.journal)[-2].business_date if closed else None
        sheet = tally.for_date(counter.journal, day) if closed else \
            tally.x_report(counter.journal)
        records = tally.day_records(counter.journal, day)  # by staff member, below
        tally.name_sheet(sheet, counter.state)
        folder = self._data_dir / TALLY_DIR
        folder.mkdir(exist_ok=True)
        kind = "Z" if closed else "X"
        path = folder / f"{sheet.business_date}-{kind}-{sheet.last_seq}.pdf"
        tally.export(sheet, "pdf", path, sheet.shop_name, self.language)
        names = {m["staff"]: m["name"] for m in counter.staff.listing()}
        staff = [f"{who}  {what}  {count}  ¥{amount:,}" + (f"  ✔{approved}" if approved else "")
                 for who, what, count, amount, approved in tally.staff_rows(
                     tally.by_staff(records), names, self.language)]
        text = "\n".join(f"{label}  {value}" for label, value in
                         tally.rows(sheet, self.language)) + "\n" + "\n".join(staff) + \
            f"\n→ {path}"
        notice = tally.after_close_notice(counter.journal)
        if closed and notice is not None:
            text += "\n" + ("営業日 {0} を締めました。これからの売上は次の営業日 {1} に入ります。"
                            if self.language == "ja" else
                            "Business day {0} is closed. Sales from now on belong to the next "
                            "business day, {1}.").format(*notice)
        return text

    @Slot(str)
    def export_tally(self, fmt: str) -> None:
        """The open business day's sheet (every shift so far) as CSV, XLSX or PDF in
        tallies/; answers the file's path."""
        from terminal import tally

        def work(counter) -> str:
            day = tally.runs(counter.journal)[-1].business_date
            try:
                sheet = tally.for_date(counter.journal, day)
            except tally.TallyError:  # nothing yet today: the day just closed
                sheet = tally.for_date(counter.journal,
                                       tally.runs(counter.journal)[-2].business_date)
            tally.name_sheet(sheet, counter.state)
            folder = self._data_dir / TALLY_DIR
            folder.mkdir(exist_ok=True)
            path = folder / f"{sheet.business_date}-{sheet.terminal_id}.{fmt}"
            tally.export(sheet, fmt, path, sheet.shop_name, self.language)
            return str(path)

        self._run("export", work)

    @Slot()
    def day_sales(self) -> None:
        from terminal import history

        self._run("day_sales", lambda c: history.day_sales(c.journal))

    @Slot(int)
    def reprint(self, seq: int) -> None:
        """Receipt no. `seq` (0: the last one) again, marked 再発行, shown and printed."""
        from terminal import history

        made: list = []

        def work(counter) -> int:
            names = {rule["id"]: rule.get("name") or rule["id"]
                     for rule in counter.state.campaigns()}
            made.append(history.reprint(counter.journal, counter.state.merchant(), names,
                                        seq or None, self.language))
            return made[0].seq

        self._run("reprint", work)
        if made:  # after `done`, as a sale's receipt follows its result
            self._print(made[0])

    # --- staff (terminal.staff) -----------------------------------------------------------

    @Slot()
    def staff_view(self) -> None:
        self._run("staff", lambda c: c.staff.view())

    @Slot(str, str)
    def sign_in(self, staff_id: str, pin: str) -> None:
        def work(counter):
            counter.staff.sign_in(staff_id, pin)
            return counter.staff.view()

        self._run("staff", work)

    @Slot()
    def sign_out(self) -> None:
        def work(counter):
            counter.staff.sign_out()
            return counter.staff.view()

        self._run("staff", work)

    @Slot(str, str)
    def approve(self, staff_id: str, pin: str) -> None:
        """A manager's PIN for the action the window sends next (its queued signal)."""
        self._run("approve", lambda c: c.staff.approve(staff_id, pin).public())

    @Slot(str)
    def admin_unlock(self, pin: str) -> None:
        if self.node is None:
            # The services could not start (a damaged state.db holds the staff too): the
            # admin screen opens for the ways out only; every counter action is refused.
            self.done.emit("admin_unlock", {"limited": True})
            return

        def work(counter):
            member = counter.staff.unlock_admin(pin)
            return {"limited": False, "by": member.public() if member else None,
                    "view": counter.staff.view()}

        self._run("admin_unlock", work)

    @Slot()
    def admin_lock(self) -> None:
        """The admin screen locked: a manager signed in by it hands the counter back."""
        if self.node is None:
            return

        def work(counter):
            counter.staff.lock_admin()
            return counter.staff.view()

        self._run("staff", work)

    @Slot(bool)
    def set_training(self, on: bool) -> None:
        def work(counter):
            counter.set_training(on)
            return counter.staff.view()

        self._run("staff", work)

    @Slot(str, str, str)
    def create_staff(self, name: str, role: str, pin: str) -> None:
        def work(counter):
            counter.create_staff(name, role, pin)
            return counter.staff.view()

        self._run("staff", work)

    @Slot()
    def sync_now(self) -> None:
        if self.node is not None and self.node.worker is not None:
            self.node.worker.notify(pull=True)
