"""The terminal's services on the worker thread: what the window's operations run on.

`TerminalBridge` lives on the worker QThread of `terminal.ui.ops.Runner` and owns the `Node`
(journal, snapshot, counter, sync worker). The window never calls it directly: an `Op` runs
a function of it there (`perform`), and gets the result or an `OpFailure` back on the UI
thread. What happens on its own (the sync worker's status, the clock and storage checks,
receipts printed) arrives through queued signals. Nothing here can make the screen wait.

`start` opens the node from the journal and the last snapshot and returns at once: the
counter takes a sale from then on, while the sync runs in the background.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from sync import campaigns, keys
from sync.client import SyncError
from sync.keyfile import KeyFileError
from terminal import audit, logs
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
from terminal.ui.ops import OpError, OpFailure

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



@dataclass(frozen=True)
class Sold:
    """A committed sale and the wallet after it (terminal.state.WalletView, None for a
    sale without a wallet): what the customer display shows."""

    outcome: Outcome
    wallet: Any

class NotReady(TerminalError):
    code = "not_ready"

    def __init__(self) -> None:
        super().__init__("the terminal is not ready")


class TerminalBridge(QObject):
    """The services, on the worker thread. Its methods are what ops run there."""

    status = Signal(object)  # SyncStatus
    clock = Signal(object)  # terminal.clock.ClockCheck: the wall clock against the ledger's
    receipt = Signal(str)  # the receipt as text, for the screen
    printed = Signal(int, str)  # receipt no., "" when printed, else why not (kept to reprint)
    printer_state = Signal(str)  # the printer's state in words, when it changes
    health = Signal(object)  # terminal.health.HealthReport: damage found, free space

    def __init__(self, data_dir: Path, demo_base: Path | None = None) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._demo_base = demo_base
        self.demo: DemoRegion | None = None
        self.node: Node | None = None
        self._phones: dict = {}
        self.printer: Any = None
        self.language = "ja"
        self.unprinted: dict[int, Any] = {}  # receipt no. -> Receipt that did not print
        self._tendered: int | None = None  # cash handed over for the top-up being made
        self._print_failed = False  # the last receipt did not print
        self._reprinted: Any = None  # a reprint's receipt, printed after its op answers
        # the data directory whose log file this terminal writes (set by `start`); the
        # admin screen's log view reads its tail from the UI thread
        self.log_dir: Path | None = None

    def _on_worker(self) -> None:
        assert QThread.currentThread() is self.thread(), "the services run on their thread"

    @property
    def counter(self) -> Any:
        self._on_worker()
        if self.node is None:
            raise NotReady()
        return self.node.counter

    # --- running ops ------------------------------------------------------------------------

    def perform(self, work) -> Any:
        """Run one op's work: a refusal or an expected error becomes an `OpFailure` with its
        code; a full disk or a damaged file becomes the storage refusal."""
        self._on_worker()
        try:
            try:
                return work(self)
            except (sqlite3.Error, OSError) as exc:  # a full disk, a damaged file
                refusal = storage_refusal(self.node.health, exc) if self.node else None
                if refusal is None:
                    raise
                log.warning("an op failed on the storage: %s", exc)
                raise refusal from exc
        except Refused as exc:
            raise OpError(OpFailure(exc.code, exc.message, exc.details)) from exc
        except StorageDamaged as exc:
            raise OpError(OpFailure("damaged", exc.message)) from exc
        except (TerminalError, KeyFileError, DemoError, SyncError) as exc:
            message = getattr(exc, "message", str(exc))
            code = getattr(exc, "code", None) or "failed"  # the screen words it by its code
            log.warning("an op failed (%s): %s", code, message)
            raise OpError(OpFailure(code, message, dict(getattr(exc, "details", None) or {}))
                          ) from exc
        finally:
            self._check_clock()
            self._check_health()

    def after(self, result: Any) -> None:
        """After an op's answer went to the screen: its receipt, shown and printed."""
        if isinstance(result, Sold):
            result = result.outcome
        if isinstance(result, Outcome):
            self._receipt(result)
        if self._reprinted is not None:
            receipt, self._reprinted = self._reprinted, None
            self._print(receipt)

    # --- start and stop -------------------------------------------------------------------

    def _start_printer(self) -> None:
        """The receipt printer from terminal.json ("printer": {...}); PDFs into the data
        directory when none is set or the one set cannot be opened."""
        from terminal.printer import PdfPrinter, PrinterUnavailable, make_printer

        try:
            printer = make_printer(self.printer_settings(), self._data_dir)
        except (OSError, ValueError, PrinterUnavailable) as exc:
            printer = PdfPrinter(self._data_dir / "receipts")
            self.printer_state.emit(f"{exc}; receipts go to {printer.status()}")
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

    def configure_printer(self, kind: str, address: str, columns: int) -> str:
        """The admin screen's printer: opened and checked first (a printer that does not
        answer keeps the one in use), then saved in terminal.json and used from now on."""
        from terminal.node import save_settings
        from terminal.printer import PrinterUnavailable, config_from, make_printer

        self.counter.require("printer")  # a manager's (terminal.staff)
        try:
            config = config_from(kind, address, columns)
            printer = make_printer(config, self._data_dir)
        except PrinterUnavailable as exc:
            raise OpError(OpFailure("printer", exc.message)) from exc
        save_settings(self._data_dir, {"printer": config})
        self._stop_print_thread()
        self._start_print_thread(printer)
        return printer.status()

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
                    self.printer_state.emit(printer.status())

    def _not_printed(self, receipt, why: str) -> None:
        """A receipt that did not print is kept for reprint and said so, never reported as
        printed (the oldest kept goes when too many wait: the journal still has it)."""
        log.warning("receipt no. %s not printed: %s (kept for reprint)", receipt.seq, why)
        self.unprinted[receipt.seq] = receipt
        self._print_failed = True
        while len(self.unprinted) > UNPRINTED_KEPT:
            self.unprinted.pop(min(self.unprinted))
        self.printed.emit(receipt.seq, why)
        self.printer_state.emit(f"receipt no. {receipt.seq} was not printed ({why}); "
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

    def set_language(self, language: str) -> None:
        self.language = language

    def start(self) -> dict[str, Any]:
        """Open the node from the journal and the last snapshot, start the sync worker in
        the background (never waited for) and answer what the window shows."""
        self._on_worker()
        try:
            if self._demo_base is not None and self.demo is None:
                self.demo = DemoRegion(self._demo_base)
                self._data_dir = self.demo.start()
            # the log file before the node: its opening and first sync are logged too
            self.log_dir = self._data_dir
            logs.setup(self.log_dir)
            self.node = Node(self._data_dir, on_status=self._sync_status)
            # The full check (journal verify, quick_check) runs on a thread of its own; the
            # counter refuses sales as soon as it finds damage.
            self.node.health.start(self.health.emit)
            self.health.emit(self.node.health.report())
            if self.demo is not None and self.node.worker is not None:
                # The demo's panel lists the customers of its snapshot, and its ledger is a
                # local process just started: the demo takes its first snapshot now. A real
                # terminal never waits here.
                self.node.sync_once()
            if self.node.worker is not None:
                self.node.worker.start()  # its first round syncs; the counter does not wait
        except StorageDamaged as exc:  # a database that cannot even be opened
            self.health.emit(HealthReport((Damage(exc.part, exc.message),), True,
                                          free_bytes(self._data_dir)))
            raise OpError(OpFailure("damaged", exc.message)) from exc
        except (TerminalError, KeyFileError, DemoError, SyncError, sqlite3.Error,
                OSError) as exc:  # sqlite3 / OSError: a disk that filled up
            raise OpError(OpFailure("start", getattr(exc, "message", str(exc)))) from exc
        self._start_printer()
        node = self.node
        return {"terminal_id": node.terminal_id, "merchant": node.state.merchant(),
                "customers": self._customers(), "data_dir": str(self._data_dir),
                "printer": self.printer_settings(),
                "printer_status": self.printer.status() if self.printer else "",
                "ledger_keys": [keys.fingerprint(k) for k in
                                node.journal.ledger_keys().values()],
                "demo": self.demo is not None,
                "staff": node.counter.staff.view()}

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

    def rebuild_state(self) -> tuple[str, dict[str, Any] | None]:
        """The admin's way out of a damaged state.db (terminal.repair): the services stop,
        the state is rebuilt from a fresh snapshot, and the terminal starts again. Answers
        what the rebuild said and the started terminal (None when it could not start)."""
        from terminal import keystore, repair

        if self.demo is not None:
            raise OpError(OpFailure("failed", "the demo's state is rebuilt by restarting it"))
        self._stop_print_thread()
        if self.node is not None:
            self.node.close()
            self.node = None
        try:
            text = repair.rebuild_state(self._data_dir, keystore.passphrase_from_env())
        except (TerminalError, KeyFileError, sqlite3.Error, OSError) as exc:
            text = "✘ " + (exc.message if isinstance(exc, TerminalError) else str(exc))
        try:
            return text, self.start()
        except OpError:
            return text, None

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

    def phone_token(self, wallet_id: str) -> str:
        """A demo phone shows its live code (a fresh token, next counter)."""
        phone = self._phones.get(wallet_id)
        if phone is None:
            raise OpError(OpFailure("failed", f"no demo phone for {wallet_id}"))
        return phone.token()

    def enroll(self, ledger_url: str, code: str, fingerprint: str = "") -> dict[str, Any]:
        """Set up a terminal that was never enrolled, then start it; `fingerprint` (from the
        ledger's operator) must be the ledger key's, when given."""
        from terminal import keystore
        from terminal.node import enroll

        try:
            enroll(self._data_dir, ledger_url.strip(), code.strip(),
                   keystore.passphrase_from_env(), fingerprint=fingerprint.strip() or None)
        except (TerminalError, SyncError, KeyFileError) as exc:
            raise OpError(OpFailure("enroll", getattr(exc, "message", str(exc)))) from exc
        return self.start()

    def stop(self) -> None:
        """Called on the UI thread once the worker thread has stopped."""
        self._stop_print_thread()
        if self.node is not None:
            self.node.close()
            self.node = None
        if self.log_dir is not None:
            logs.close(self.log_dir)
        if self.demo is not None:
            self.demo.stop()

    # --- services that need more than one counter call ------------------------------------

    def sold(self, outcome: Outcome) -> Sold:
        """A committed sale with the wallet as the counter sees it after it, read in the
        same op (on this thread): the customer display shows its pockets."""
        return Sold(outcome, self.counter.wallet_after(outcome.wallet_id))

    def charge(self, presented: Presented, cash: int, tendered: int = 0) -> Outcome:
        """A cash top-up; `tendered` (0: not given) is the cash handed over, printed with
        the change on the receipt."""
        self._tendered = tendered if tendered >= cash > 0 else None
        return self.counter.charge(presented, cash)

    def offers(self) -> dict[str, list[dict]]:
        """This shop's active campaigns of the kinds the window has inputs for, by kind."""
        offers = self.counter.offers()
        out = {kind: [dict(rule) for rule in offers.active(kind)] for kind in OFFER_KINDS}
        for rule in out.get("stamp_rally", []):  # what this shop's kind allows
            rule["double_here"] = campaigns.double_here(rule, offers.merchant_id)
            rule["diners_here"] = campaigns.diners_here(rule, offers.merchant_id)
        return out

    def recent_sales(self) -> list:
        from terminal import history

        return history.recent_payments(self.counter.journal, RECENT_SALES)

    def verify(self) -> str:
        try:
            return "✔ " + audit.verify_journal(self._data_dir).summary()
        except TerminalError as exc:
            return "✘ " + exc.message

    def x_report(self) -> str:
        """The X report, with its sheet as a PDF in tallies/."""
        counter = self.counter
        counter.require("x_report")
        return self._sheet_text(counter, False)

    def close_day(self, counted: int, shift: bool, approved_by: str) -> tuple:
        """The Z close (or a shift close, `shift`) through the counter (Counter.close_day):
        a manager's, and a second close on the day of a Z is refused `approval_needed`
        with what the first covered until a manager approves it. `approved_by`: a shop in
        first-setup mode only (no staff to approve). Answers ("second_close", {...}) or
        ("closed", sheet text, notice, staff view)."""
        from terminal import tally

        counter = self.counter
        try:
            counter.close_day(counted if counted >= 0 else None, shift, approved_by or None)
        except tally.SecondClose as exc:  # first-setup mode: nobody to approve it
            first = exc.first["body"]
            return ("second_close", {
                "first": tally.describe_close(exc.first, self.language),
                "day": str(first.get("business_date")),
                "next": tally.x_report(counter.journal).business_date})
        notice = tally.after_close_notice(counter.journal)
        return ("closed", self._sheet_text(counter, True), notice or (),
                counter.staff.view())  # the close signed them out

    def _sheet_text(self, counter, closed: bool) -> str:
        from terminal import tally

        day = tally.runs(counter.journal)[-2].business_date if closed else None
        sheet = tally.for_date(counter.journal, day) if day is not None else \
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

    def export_tally(self, fmt: str) -> str:
        """The open business day's sheet (every shift so far) as CSV, XLSX or PDF in
        tallies/; answers the file's path."""
        from terminal import tally

        counter = self.counter
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

    def day_sales(self) -> list:
        from terminal import history

        return history.day_sales(self.counter.journal)

    def reprint(self, seq: int) -> int:
        """Receipt no. `seq` (0: the last one) again, marked 再発行, shown and printed after
        the op has answered (as a sale's receipt follows its result)."""
        from terminal import history

        counter = self.counter
        names = {rule["id"]: rule.get("name") or rule["id"]
                 for rule in counter.state.campaigns()}
        receipt = history.reprint(counter.journal, counter.state.merchant(), names,
                                  seq or None, self.language)
        self._reprinted = receipt
        return receipt.seq

    # --- staff (terminal.staff) -----------------------------------------------------------

    def staff_view(self) -> dict:
        return self.counter.staff.view()

    def sign_in(self, staff_id: str, pin: str) -> dict:
        self.counter.staff.sign_in(staff_id, pin)
        return self.counter.staff.view()

    def sign_out(self) -> dict:
        self.counter.staff.sign_out()
        return self.counter.staff.view()

    def admin_unlock(self, pin: str) -> dict:
        if self.node is None:
            # The services could not start (a damaged state.db holds the staff too): the
            # admin screen opens for the ways out only; every counter action is refused.
            return {"limited": True}
        member = self.counter.staff.unlock_admin(pin)
        return {"limited": False, "by": member.public() if member else None,
                "view": self.counter.staff.view()}

    def admin_lock(self) -> dict | None:
        """The admin screen locked: a manager signed in by it hands the counter back."""
        if self.node is None:
            return None
        self.counter.staff.lock_admin()
        return self.counter.staff.view()

    def set_training(self, on: bool) -> dict:
        self.counter.set_training(on)
        return self.counter.staff.view()

    def create_staff(self, name: str, role: str, pin: str) -> dict:
        self.counter.create_staff(name, role, pin)
        return self.counter.staff.view()

    def sync_now(self) -> None:
        if self.node is not None and self.node.worker is not None:
            self.node.worker.notify(pull=True)
