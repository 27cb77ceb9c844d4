"""Where receipts go: an ESC/POS printer (USB, network or serial), a file, or PDFs.

`make_printer(config)` picks one from the terminal's settings:

    {"kind": "usb", "vendor": "0x04b8", "product": "0x0202"}   Epson TM-T88 over USB
    {"kind": "network", "host": "192.168.1.50", "port": 9100}  raw TCP (JetDirect)
    {"kind": "serial", "device": "/dev/ttyUSB0", "baudrate": 9600}
    {"kind": "file", "path": "/dev/usb/lp0"}                   ESC/POS bytes into a file
    {"kind": "pdf", "dir": "..."}                              one PDF per receipt
    {}                                                         no printer: PDFs in receipts/

Any of them may carry "columns" (48 for 80 mm rolls, 32 for 58 mm). python-escpos is only
the connection here (the receipt writes its own ESC/POS bytes, Kanji mode included), and it
is imported when a real printer is asked for, so a terminal without it still starts. A
printer that is missing, off or unplugged raises `PrinterUnavailable`; the counter then shows
the receipt on screen and goes on. Printing blocks on the device: call it from a worker
thread, never the UI thread (DESIGN §12).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.errors import TerminalError
from terminal.paths import default_data_dir
from terminal.receipt import ESCPOS_COLUMNS, Receipt

log = logging.getLogger(__name__)

RECEIPTS_DIR = "receipts"
NETWORK_PORT = 9100  # raw printing port of every network ESC/POS printer
NETWORK_TIMEOUT_S = 5.0  # connect and send; the counter must not wait longer for paper
USB_TIMEOUT_MS = 5_000  # one bulk write (pyusb counts milliseconds)
SERIAL_BAUDRATE = 9600  # the factory setting of most thermal printers' DIP switches
SERIAL_TIMEOUT_S = 5.0
MAX_COLUMNS = 64
MIN_COLUMNS = 24
# ESC/POS real-time status (DLE EOT n): answered by the printer even when it is offline or
# out of paper, one byte per query. A connection that does not answer within the timeout
# leaves the state unknown, and the receipt is sent as before.
DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER = 1, 2, 4
STATUS_TIMEOUT_S = 1.0
STATUS_FIXED_MASK, STATUS_FIXED_BITS = 0x93, 0x12  # bits 0, 1, 4, 7 of every answer
OFFLINE_BIT = 0x08  # n=1: the printer is offline
COVER_OPEN_BIT = 0x04  # n=2: the cover is open
PAPER_STOP_BIT = 0x20  # n=2: printing stopped because the paper ran out
ERROR_BIT = 0x40  # n=2: an error (cutter, head temperature)
PAPER_NEAR_END_BITS = 0x0C  # n=4: the roll is nearly used up
PAPER_END_BITS = 0x60  # n=4: no paper


class PrinterUnavailable(TerminalError):
    """The receipt printer cannot be used; the message says why and what to check."""

    code = "printer_unavailable"


@dataclass(frozen=True)
class PrinterState:
    """What the printer said of itself (DLE EOT); `known` False when it did not answer."""

    known: bool
    offline: bool = False
    paper: str = "ok"  # "ok", "near_end", "out"
    cover_open: bool = False
    error: bool = False

    def problem(self) -> str | None:
        """Why a receipt cannot print now, in words; None when it can (or is unknown)."""
        if self.paper == "out":
            return "out of paper"
        if self.cover_open:
            return "open: close its cover"
        if self.error:
            return "in error (cutter or head): switch it off and on"
        if self.offline:
            return "offline"
        return None

    def text(self) -> str:
        if not self.known:
            return "status not reported"
        problem = self.problem()
        if problem:
            return problem
        return "paper low" if self.paper == "near_end" else "paper ok"


def parse_state(printer: int | None, cause: int | None, paper: int | None) -> PrinterState:
    """The answers to DLE EOT 1, 2 and 4 (None: not answered) as a PrinterState."""
    answers = [a for a in (printer, cause, paper) if a is not None]
    if not answers or any(a & STATUS_FIXED_MASK != STATUS_FIXED_BITS for a in answers):
        return PrinterState(False)
    paper_state = "ok"
    if paper is not None and paper & PAPER_END_BITS:
        paper_state = "out"
    elif cause is not None and cause & PAPER_STOP_BIT:
        paper_state = "out"
    elif paper is not None and paper & PAPER_NEAR_END_BITS:
        paper_state = "near_end"
    return PrinterState(True, bool(printer is not None and printer & OFFLINE_BIT), paper_state,
                        bool(cause is not None and cause & COVER_OPEN_BIT),
                        bool(cause is not None and cause & ERROR_BIT))


class Printer(ABC):
    """A place receipts go."""

    @abstractmethod
    def print_receipt(self, receipt: Receipt) -> Path | None:
        """Print `receipt`; returns the file written, if the receipt went to one."""

    @abstractmethod
    def status(self) -> str:
        """A short line for the admin screen: what this printer is and whether it is ready."""


# --- ESC/POS printers -----------------------------------------------------------------------


CHECK_HINTS = {
    "Usb": "is it plugged in, switched on, and may this user open it (udev rule)?",
    "Network": "is it switched on, and is the address right and reachable?",
    "Serial": "is the cable in, and is the port and its speed right?",
}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())  # python-escpos messages span lines


def _escpos_printer_module():
    try:
        from escpos import printer
    except ImportError as exc:
        raise PrinterUnavailable("receipt printing needs python-escpos: "
                                 "pip install 'python-escpos>=3,<4'") from exc
    return printer


def _escpos_errors() -> tuple[type[BaseException], ...]:
    from escpos import exceptions

    # OSError: sockets, serial ports and USB device files; ValueError: pyusb's
    # NoBackendError (no libusb) and bad serial settings; RuntimeError: python-escpos's
    # "dependency missing" guard.
    return (exceptions.Error, OSError, ValueError, RuntimeError)


class EscPosPrinter(Printer):
    """A thermal printer over a python-escpos connection, opened for each receipt so a
    printer switched off and on again (or re-plugged) works on the next receipt."""

    def __init__(self, connection: str, options: dict[str, Any], description: str,
                 columns: int = ESCPOS_COLUMNS) -> None:
        assert connection in ("Usb", "Network", "Serial"), connection
        self.connection = connection
        self.options = options
        self.description = description
        self.columns = columns
        # A printer that left the first status query unanswered is not asked again (each
        # query would wait STATUS_TIMEOUT_S, or a USB/serial read timeout, per receipt).
        self.answers_status = True

    @classmethod
    def usb(cls, vendor: int, product: int, columns: int = ESCPOS_COLUMNS) -> EscPosPrinter:
        return cls("Usb", {"idVendor": vendor, "idProduct": product,
                           "timeout": USB_TIMEOUT_MS},
                   f"USB printer {vendor:04x}:{product:04x}", columns)

    @classmethod
    def network(cls, host: str, port: int = NETWORK_PORT,
                columns: int = ESCPOS_COLUMNS) -> EscPosPrinter:
        return cls("Network", {"host": host, "port": port, "timeout": NETWORK_TIMEOUT_S},
                   f"network printer {host}:{port}", columns)

    @classmethod
    def serial(cls, device: str, baudrate: int = SERIAL_BAUDRATE,
               columns: int = ESCPOS_COLUMNS) -> EscPosPrinter:
        return cls("Serial", {"devfile": device, "baudrate": baudrate,
                              "timeout": SERIAL_TIMEOUT_S},
                   f"serial printer {device} at {baudrate} baud", columns)

    def _open(self):
        module = _escpos_printer_module()
        kind = getattr(module, self.connection)
        if not kind.is_usable():
            extra = {"Usb": "pyusb (and libusb)", "Serial": "pyserial"}.get(self.connection, "")
            raise PrinterUnavailable(f"the {self.description} needs {extra}, which is not "
                                     "installed on this terminal")
        try:
            device = kind(**self.options)
            device.open()
        except _escpos_errors() as exc:
            hint = CHECK_HINTS[self.connection]
            raise PrinterUnavailable(f"the {self.description} cannot be opened: {hint} "
                                     f"({_one_line(exc)})") from exc
        return device

    def check(self) -> PrinterState:
        """Open the connection, ask the printer's state and close; PrinterUnavailable when
        it cannot be opened."""
        device = self._open()
        try:
            return self.query_state(device)
        finally:
            self._close(device)

    def _ask(self, device, n: int) -> int | None:
        """One real-time status byte (DLE EOT n), or None when none comes in time."""
        sock = getattr(device, "device", None) if self.connection == "Network" else None
        old = sock.gettimeout() if sock is not None else None
        # A connection that cannot read back (python-escpos's own, or none) has no status.
        unanswered: tuple[type[BaseException], ...] = (
            *_escpos_errors(), AttributeError, NotImplementedError)
        try:
            if sock is not None:
                sock.settimeout(STATUS_TIMEOUT_S)
            device._raw(DLE_EOT + bytes([n]))
            answer = device._read()
        except unanswered:
            return None
        finally:
            if sock is not None:
                try:
                    sock.settimeout(old)
                except OSError:
                    pass  # the connection is gone: the write that follows says so
        return answer[0] if answer else None

    def query_state(self, device) -> PrinterState:
        """The printer's state from DLE EOT 1, 2 and 4 over an open connection; unknown
        (and no further questions) when the first goes unanswered."""
        if not self.answers_status:
            return PrinterState(False)
        printer = self._ask(device, STATUS_PRINTER)
        if printer is None:
            self.answers_status = False
            return PrinterState(False)
        return parse_state(printer, self._ask(device, STATUS_OFFLINE_CAUSE),
                           self._ask(device, STATUS_PAPER))

    def _close(self, device) -> None:
        try:
            device.close()
        except _escpos_errors() as exc:
            # the receipt is out already; a failed release is logged, not a failed sale
            log.warning("closing the %s: %s", self.description, exc)

    def print_receipt(self, receipt: Receipt) -> None:
        """Print `receipt`, after asking the printer whether it can: out of paper, cover
        open or offline raises PrinterUnavailable and nothing is sent (the receipt is kept
        by the caller for reprint, never reported as printed)."""
        data = receipt.to_escpos(self.columns)
        device = self._open()
        try:
            problem = self.query_state(device).problem()
            if problem:
                raise PrinterUnavailable(f"the {self.description} is {problem}: receipt no. "
                                         f"{receipt.seq} was not printed")
            device._raw(data)  # our own commands: Kanji mode, QR and cut are in `data`
        except _escpos_errors() as exc:
            raise PrinterUnavailable(f"the {self.description} stopped while printing: "
                                     f"check paper and cable ({_one_line(exc)})") from exc
        finally:
            self._close(device)

    def status(self) -> str:
        try:
            state = self.check()
        except PrinterUnavailable as exc:
            return f"unavailable: {exc.message}"
        if state.problem():
            return f"unavailable: the {self.description} is {state.problem()}"
        return f"ready: {self.description} ({state.text()})"


# --- files ------------------------------------------------------------------------------------


class FilePrinter(Printer):
    """ESC/POS bytes appended to a file: a device node such as /dev/usb/lp0, or a plain file
    for tests and for trying receipts without a printer."""

    def __init__(self, path: Path | str, columns: int = ESCPOS_COLUMNS) -> None:
        self.path = Path(path)
        self.columns = columns

    def print_receipt(self, receipt: Receipt) -> Path:
        data = receipt.to_escpos(self.columns)
        try:
            with open(self.path, "ab") as out:
                out.write(data)
        except OSError as exc:
            raise PrinterUnavailable(f"cannot write receipts to {self.path}: "
                                     f"{exc.strerror or exc}") from exc
        return self.path

    def status(self) -> str:
        target = self.path if self.path.exists() else self.path.parent
        if os.access(target, os.W_OK):
            return f"ready: file {self.path}"
        return f"unavailable: {self.path} is not writable"


class PdfPrinter(Printer):
    """No printer: each receipt becomes a PDF in `directory` (the screen shows it too)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path_for(self, receipt: Receipt) -> Path:
        stamp = receipt.when.strftime("%Y%m%d-%H%M%S")
        return self.directory / f"{stamp}-{receipt.terminal_id}-{receipt.seq:06d}.pdf"

    def print_receipt(self, receipt: Receipt) -> Path:
        path = self.path_for(receipt)
        tmp = path.with_name(path.name + ".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            receipt.to_pdf(tmp)
            os.replace(tmp, path)  # a reader never sees half a PDF
        except OSError as exc:
            raise PrinterUnavailable(f"cannot write the receipt PDF into {self.directory}: "
                                     f"{exc.strerror or exc}") from exc
        return path

    def status(self) -> str:
        return f"no printer: receipts saved as PDF in {self.directory}"


# --- choosing -------------------------------------------------------------------------------


def _int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if value is None:
        raise PrinterUnavailable(f"the printer setting needs {key!r}")
    try:
        return value if type(value) is int else int(str(value), 0)  # "0x04b8" or "1208"
    except ValueError as exc:
        raise PrinterUnavailable(f"the printer setting {key!r} is not a number: "
                                 f"{value!r}") from exc


def _text(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value:
        raise PrinterUnavailable(f"the printer setting needs {key!r}")
    return value


def make_printer(config: dict[str, Any] | None, data_dir: Path | None = None) -> Printer:
    """The printer `config` describes; a real printer is opened once here, so a missing one
    is reported at start-up (PrinterUnavailable) rather than at the first sale."""
    config = config or {}
    kind = config.get("kind") or "pdf"
    columns = _int(config, "columns", ESCPOS_COLUMNS)
    if not MIN_COLUMNS <= columns <= MAX_COLUMNS:
        raise PrinterUnavailable(f"printer columns must be {MIN_COLUMNS} to {MAX_COLUMNS}, "
                                 f"not {columns}")
    if kind == "pdf":
        directory = config.get("dir") or (data_dir or default_data_dir()) / RECEIPTS_DIR
        return PdfPrinter(directory)
    if kind == "file":
        return FilePrinter(_text(config, "path"), columns)
    if kind == "usb":
        made = EscPosPrinter.usb(_int(config, "vendor"), _int(config, "product"), columns)
    elif kind == "network":
        made = EscPosPrinter.network(_text(config, "host"),
                                     _int(config, "port", NETWORK_PORT), columns)
    elif kind == "serial":
        made = EscPosPrinter.serial(_text(config, "device"),
                                    _int(config, "baudrate", SERIAL_BAUDRATE), columns)
    else:
        raise PrinterUnavailable(f"unknown printer kind {kind!r}: use usb, network, serial, "
                                 "file or pdf")
    made.check()
    return made


# --- the admin screen's one-line settings -----------------------------------------------------

PRINTER_KINDS = ("pdf", "network", "usb", "serial", "file")


def config_from(kind: str, address: str, columns: int = ESCPOS_COLUMNS) -> dict[str, Any]:
    """A printer setting from the admin screen's kind and one address field: "host[:port]"
    (network), "vendor:product" in hex (USB, as lsusb shows it), "device[@baudrate]"
    (serial), a path (file), nothing (PDF). Bad text raises PrinterUnavailable saying why."""
    address = address.strip()
    if kind not in PRINTER_KINDS:
        raise PrinterUnavailable(f"unknown printer kind {kind!r}")
    if not MIN_COLUMNS <= columns <= MAX_COLUMNS:
        raise PrinterUnavailable(f"printer columns must be {MIN_COLUMNS} to {MAX_COLUMNS}")
    if kind == "pdf":
        return {"kind": "pdf"}
    if not address:
        raise PrinterUnavailable(f"a {kind} printer needs an address")
    config: dict[str, Any] = {"kind": kind, "columns": columns}
    if kind == "network":
        host, _, port = address.rpartition(":") if address.count(":") == 1 else \
            (address, "", "")
        config.update(host=host, port=_int({"port": port}, "port") if port else NETWORK_PORT)
    elif kind == "usb":
        vendor, sep, product = address.partition(":")
        if not sep:
            raise PrinterUnavailable("a USB printer is vendor:product in hex, e.g. 04b8:0202")
        config.update(vendor=_int({"v": "0x" + vendor}, "v"),
                      product=_int({"p": "0x" + product}, "p"))
    elif kind == "serial":
        device, _, baudrate = address.partition("@")
        config.update(device=device,
                      baudrate=_int({"b": baudrate}, "b") if baudrate else SERIAL_BAUDRATE)
    else:
        config["path"] = address
    return config


def address_of(config: dict[str, Any] | None) -> tuple[str, str, int]:
    """The admin screen's (kind, address, columns) for a stored setting."""
    config = config or {}
    kind = config.get("kind") or "pdf"
    columns = config.get("columns", ESCPOS_COLUMNS)
    if kind == "network":
        return kind, f"{config.get('host', '')}:{config.get('port', NETWORK_PORT)}", columns
    if kind == "usb":
        try:
            return kind, f"{_int(config, 'vendor'):04x}:{_int(config, 'product'):04x}", columns
        except PrinterUnavailable:
            return kind, "", columns
    if kind == "serial":
        return kind, f"{config.get('device', '')}@{config.get('baudrate', SERIAL_BAUDRATE)}", \
            columns
    if kind == "file":
        return kind, str(config.get("path", "")), columns
    return "pdf", "", columns

