"""PC/SC NFC reader: wait for a card on its own thread, read its UID / FeliCa IDm, emit it.

Uses pyscard's low-level `smartcard.scard` API, imported lazily so the terminal runs without
it. The thread blocks in SCardGetStatusChange with a bounded timeout (no busy loop); stop()
cancels the wait at once. When pyscard is missing, pcscd is not running or no reader is
attached, one "unavailable" status is emitted and the thread re-checks slowly, so a reader
plugged in later is picked up. The UID is a lookup key only: it can be cloned (DESIGN §5).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType

from cardreader.decode import Deduplicator
from cardreader.errors import ApduError, PcscUnavailable
from cardreader.events import Credential, ThreadedReader

# PC/SC part 3 "Get Data" pseudo-APDU: CLA FF, INS CA, P1 00 = UID (ISO 14443) / IDm (FeliCa),
# P2 00, Le 00 = as many bytes as there are. Readers answer it themselves, not the card.
GET_UID_APDU: tuple[int, ...] = (0xFF, 0xCA, 0x00, 0x00, 0x00)
SW_SUCCESS = (0x90, 0x00)
# "End of data reached before Le bytes": a warning; the data that came is the whole UID.
SW_END_OF_DATA = (0x62, 0x82)
# ISO 14443-3 UIDs are 4, 7 or 10 bytes; a FeliCa IDm is 8. Anything else is not a UID.
UID_LENGTHS: tuple[int, ...] = (4, 7, 8, 10)

# Longest block in SCardGetStatusChange; stop() cancels it sooner, this bounds a lost cancel.
STATUS_WAIT_TIMEOUT_S = 0.5
# How often to look again for the PC/SC service or a reader after finding none.
UNAVAILABLE_RETRY_S = 5.0
# A card lifted and laid down again within this window (a wobbling hand) is one read.
NFC_DEDUPE_WINDOW_S = 1.0

_STATUS_WORD_MEANINGS = {
    (0x63, 0x00): "the reader could not read the card's UID",
    (0x67, 0x00): "wrong length",
    (0x68, 0x00): "class byte not supported by this reader",
    (0x6A, 0x81): "the reader does not support Get Data (not a PC/SC part 3 reader)",
    (0x6B, 0x00): "wrong parameters P1-P2",
    (0x6D, 0x00): "instruction not supported",
    (0x6E, 0x00): "class not supported",
}


def split_response(response: Sequence[int]) -> tuple[bytes, int, int]:
    """(data, SW1, SW2) from a raw response APDU: the data bytes, then two status bytes."""
    if isinstance(response, bytes | bytearray):
        raw = bytes(response)
    elif not isinstance(response, list | tuple):
        raise ApduError(
            f"a response APDU must be bytes or a list of bytes, not {type(response).__name__}"
        )
    else:
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in response):
            raise ApduError("a response APDU must be a sequence of byte values")
        if not all(0 <= b <= 0xFF for b in response):
            raise ApduError("a response APDU byte is outside 0..255")
        raw = bytes(response)
    if len(raw) < 2:
        raise ApduError(f"a response APDU needs two status bytes, got {len(raw)} byte(s)")
    return raw[:-2], raw[-2], raw[-1]


def parse_uid_response(response: Sequence[int]) -> str:
    """The UID / IDm as uppercase hex from the answer to GET_UID_APDU; ApduError otherwise."""
    data, sw1, sw2 = split_response(response)
    status = (sw1, sw2)
    if status not in (SW_SUCCESS, SW_END_OF_DATA):
        if sw1 == 0x6C:
            meaning = f"wrong Le, the reader has {sw2} byte(s)"
        else:
            meaning = _STATUS_WORD_MEANINGS.get(status, "error")
        raise ApduError(f"the reader answered {sw1:02X} {sw2:02X}: {meaning}")
    if len(data) not in UID_LENGTHS:
        raise ApduError(
            f"a UID is {', '.join(map(str, UID_LENGTHS))} bytes long, the reader sent {len(data)}"
        )
    return data.hex().upper()


def import_scard() -> ModuleType:
    """pyscard's low-level module; PcscUnavailable when pyscard or libpcsclite is missing."""
    try:
        from smartcard import scard
    except ImportError as exc:
        raise PcscUnavailable(
            f"pyscard is not installed or libpcsclite is missing ({exc}); "
            "install pyscard and the libpcsclite1 and pcscd packages"
        ) from exc
    except OSError as exc:  # libpcsclite present but not loadable
        raise PcscUnavailable(f"the PC/SC library cannot be loaded: {exc}") from exc
    return scard


class PcscReader(ThreadedReader):
    """Emits Credential(kind="nfc", payload=UID hex) for each card laid on a PC/SC reader.

    reader_filter: only watch readers whose name contains it (e.g. "PaSoRi", "ACR122"); a
    reader plugged in while this one runs is noticed only after a reconnect.
    scard_loader: how to obtain pyscard's scard module; tests pass a stand-in device.
    """

    def __init__(
        self,
        *,
        reader_filter: str | None = None,
        name: str = "pcsc",
        scard_loader: Callable[[], ModuleType] = import_scard,
        wait_timeout_s: float = STATUS_WAIT_TIMEOUT_S,
        retry_s: float = UNAVAILABLE_RETRY_S,
    ) -> None:
        super().__init__(name)
        self._filter = reader_filter
        self._loader = scard_loader
        self._wait_timeout_ms = int(wait_timeout_s * 1000)
        self._retry_s = retry_s
        self._scard: ModuleType | None = None
        self._context: int | None = None
        self._context_lock = threading.Lock()
        self._dedupe = Deduplicator(NFC_DEDUPE_WINDOW_S)

    def _make_threads(self) -> list[threading.Thread]:
        return [threading.Thread(target=self._run, name=f"{self.name}-watch", daemon=True)]

    def _wake(self) -> None:
        with self._context_lock:
            if self._scard is not None and self._context is not None:
                self._scard.SCardCancel(self._context)

    def _run(self) -> None:
        try:
            self._scard = self._loader()
        except PcscUnavailable as exc:
            # Nothing will change until the program is reinstalled: say so once and end.
            self._status("unavailable", exc.message, exc.code)
            return
        announced = ""
        while not self._stopping.is_set():
            try:
                self._session(self._scard)
            except PcscUnavailable as exc:
                if exc.message != announced:
                    self._status("unavailable", exc.message, exc.code)
                    announced = exc.message
                self._stopping.wait(self._retry_s)
            else:
                announced = ""

    def _session(self, scard: ModuleType) -> None:
        """Watch the attached readers until stop() or until the service or reader goes away."""
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise PcscUnavailable(
                f"the PC/SC service (pcscd) is not running: {scard.SCardGetErrorMessage(hresult)}"
            )
        with self._context_lock:
            self._context = context
        try:
            readers = self._list_readers(scard, context)
            self._status("ready", f"NFC reader ready: {', '.join(readers)}")
            self._watch(scard, context, readers)
        finally:
            with self._context_lock:
                self._context = None
            scard.SCardReleaseContext(context)

    def _list_readers(self, scard: ModuleType, context: int) -> list[str]:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE):
            raise PcscUnavailable(
                f"PC/SC cannot list readers: {scard.SCardGetErrorMessage(hresult)}"
            )
        readers = [r for r in readers or [] if not self._filter or self._filter in r]
        if not readers:
            which = f" matching {self._filter!r}" if self._filter else ""
            raise PcscUnavailable(f"no NFC card reader{which} is attached")
        return readers

    def _watch(self, scard: ModuleType, context: int, readers: list[str]) -> None:
        states = {reader: scard.SCARD_STATE_UNAWARE for reader in readers}
        present = dict.fromkeys(readers, False)
        gone = scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_UNKNOWN
        while not self._stopping.is_set():
            hresult, changed = scard.SCardGetStatusChange(
                context, self._wait_timeout_ms, list(states.items())
            )
            if hresult == scard.SCARD_E_TIMEOUT:
                continue
            if hresult == scard.SCARD_E_CANCELLED:
                return
            if hresult != scard.SCARD_S_SUCCESS:
                raise PcscUnavailable(
                    f"PC/SC stopped answering: {scard.SCardGetErrorMessage(hresult)}"
                )
            for reader, event_state, _atr in changed:
                if event_state & gone:
                    raise PcscUnavailable(f"the NFC reader {reader} was disconnected")
                states[reader] = event_state & ~scard.SCARD_STATE_CHANGED
                has_card = bool(event_state & scard.SCARD_STATE_PRESENT) and not (
                    event_state & scard.SCARD_STATE_MUTE
                )
                if has_card and not present[reader]:
                    self._read_card(scard, context, reader)
                present[reader] = has_card

    def _read_card(self, scard: ModuleType, context: int, reader: str) -> None:
        hresult, card, protocol = scard.SCardConnect(
            context,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            self._status(
                "error",
                f"card on {reader} could not be read: {scard.SCardGetErrorMessage(hresult)}",
            )
            return
        try:
            hresult, response = scard.SCardTransmit(card, protocol, list(GET_UID_APDU))
            if hresult != scard.SCARD_S_SUCCESS:
                self._status(
                    "error",
                    f"card on {reader} did not answer: {scard.SCardGetErrorMessage(hresult)}",
                )
                return
            try:
                uid = parse_uid_response(response)
            except ApduError as exc:
                self._status("error", exc.message, exc.code)
                return
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        read_at = time.monotonic()
        if self._dedupe.is_new("nfc", uid, read_at):
            self._emit(
                Credential(kind="nfc", payload=uid, source=f"pcsc:{reader}", read_at=read_at)
            )
