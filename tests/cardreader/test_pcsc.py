"""PC/SC: APDU response parsing (pure), the unavailable paths, and the watch loop against a
stand-in for pyscard's scard module (no NFC hardware here)."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.decode import Deduplicator
from cardreader.errors import ApduError, CardReaderError, PcscUnavailable
from cardreader.events import Credential, ReaderStatus
from cardreader.pcsc import GET_UID_APDU, PcscReader, parse_uid_response, split_response

# Longest a test waits for an expected event from the reader thread.
EVENT_TIMEOUT_S = 5.0
# Short retry and wait so the tests run in milliseconds.
FAST = {"wait_timeout_s": 0.05, "retry_s": 0.05}
READER = "Fake PaSoRi RC-S380 00 00"


# --- APDU parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "uid"),
    [
        ([0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x90, 0x00], "04A1B2C3D4E5F6"),  # 7-byte
        ([0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00], "DEADBEEF"),  # 4-byte MIFARE Classic
        (bytes.fromhex("0114B3C4D5E6F7089000"), "0114B3C4D5E6F708"),  # FeliCa IDm
        (bytes.fromhex("0102030405060708090A6282"), "0102030405060708090A"),  # 10 bytes
    ],
)
def test_uid_parsed_as_uppercase_hex(response, uid):
    assert parse_uid_response(response) == uid


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ([0x6A, 0x81], "does not support Get Data"),
        ([0x63, 0x00], "could not read the card's UID"),
        ([0x6C, 0x07], "wrong Le, the reader has 7 byte(s)"),
        ([0x12, 0x34], "answered 12 34: error"),
        ([0x90], "needs two status bytes"),
        ([], "needs two status bytes"),
        ([0x90, 0x00], "the reader sent 0"),
        ([1, 2, 3, 0x90, 0x00], "the reader sent 3"),
        ([256, 0x90, 0x00], "outside 0..255"),
        ([-1, 0x90, 0x00], "outside 0..255"),
        ([True, 0x90, 0x00], "sequence of byte values"),
        ("9000", "must be bytes or a list"),
        (None, "must be bytes or a list"),
    ],
)
def test_bad_responses_are_apdu_errors(response, message):
    with pytest.raises(ApduError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_uid_response(response)


def test_split_response():
    assert split_response([0x01, 0x02, 0x90, 0x00]) == (b"\x01\x02", 0x90, 0x00)
    assert split_response(b"\x6a\x81") == (b"", 0x6A, 0x81)


RESPONSES = st.one_of(
    st.binary(max_size=20),
    st.lists(st.integers(min_value=-300, max_value=300), max_size=20),
    st.lists(st.one_of(st.integers(0, 255), st.booleans(), st.floats(), st.text(max_size=1))),
    st.tuples(st.integers(0, 255), st.integers(0, 255)),
    st.none(),
    st.text(max_size=10),
    st.integers(),
)


@settings(max_examples=500, deadline=None)
@given(RESPONSES)
def test_fuzz_apdu_parser_raises_only_apdu_errors(response):
    try:
        uid = parse_uid_response(response)
    except ApduError as exc:
        assert exc.message
    else:
        assert uid == uid.upper() and len(uid) // 2 in (4, 7, 8, 10)


# --- a stand-in for smartcard.scard ------------------------------------------------------


class FakeScard:
    """Just enough of pyscard's scard module: one context, readers, cards laid and lifted."""

    SCARD_S_SUCCESS = 0
    SCARD_E_CANCELLED = 0x80100002
    SCARD_E_TIMEOUT = 0x8010000A
    SCARD_E_NO_SERVICE = 0x8010001D
    SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
    SCARD_SCOPE_USER = 0
    SCARD_SHARE_SHARED = 2
    SCARD_PROTOCOL_T0 = 1
    SCARD_PROTOCOL_T1 = 2
    SCARD_LEAVE_CARD = 0
    SCARD_STATE_UNAWARE = 0x0
    SCARD_STATE_CHANGED = 0x2
    SCARD_STATE_UNKNOWN = 0x4
    SCARD_STATE_UNAVAILABLE = 0x8
    SCARD_STATE_EMPTY = 0x10
    SCARD_STATE_PRESENT = 0x20
    SCARD_STATE_MUTE = 0x200

    def __init__(self, readers=(READER,), service: bool = True) -> None:
        self.service = service
        self.readers = list(readers)
        self.card: list[int] | None = None  # the response the card's reader gives to GET_UID
        self.unplugged = False
        self.sent: list[list[int]] = []
        self.released = 0
        self._changed = threading.Condition()
        self._cancelled = False

    # driven by the test
    def lay_card(self, response: list[int]) -> None:
        with self._changed:
            self.card = response
            self._changed.notify_all()

    def lift_card(self) -> None:
        with self._changed:
            self.card = None
            self._changed.notify_all()

    def unplug(self) -> None:
        with self._changed:
            self.unplugged = True
            self._changed.notify_all()

    # the scard API
    def SCardEstablishContext(self, scope):
        return (0, 1) if self.service else (self.SCARD_E_NO_SERVICE, 0)

    def SCardReleaseContext(self, context):
        self.released += 1
        return 0

    def SCardGetErrorMessage(self, hresult):
        return {self.SCARD_E_NO_SERVICE: "Service not available."}.get(hresult, hex(hresult))

    def SCardListReaders(self, context, groups):
        if not self.readers:
            return self.SCARD_E_NO_READERS_AVAILABLE, []
        return 0, list(self.readers)

    def _state(self) -> int:
        if self.unplugged:
            return self.SCARD_STATE_UNAVAILABLE
        return self.SCARD_STATE_PRESENT if self.card else self.SCARD_STATE_EMPTY

    def SCardGetStatusChange(self, context, timeout_ms, states):
        deadline = time.monotonic() + timeout_ms / 1000
        with self._changed:
            while True:
                if self._cancelled:
                    self._cancelled = False
                    return self.SCARD_E_CANCELLED, []
                current = self._state()
                if any(known & ~self.SCARD_STATE_CHANGED != current for _, known in states):
                    return 0, [(r, current | self.SCARD_STATE_CHANGED, []) for r, _ in states]
                left = deadline - time.monotonic()
                if left <= 0:
                    return self.SCARD_E_TIMEOUT, []
                self._changed.wait(left)

    def SCardCancel(self, context):
        with self._changed:
            self._cancelled = True
            self._changed.notify_all()
        return 0

    def SCardConnect(self, context, reader, share, protocols):
        return 0, 42, self.SCARD_PROTOCOL_T1

    def SCardTransmit(self, card, protocol, apdu):
        self.sent.append(list(apdu))
        return 0, list(self.card or [0x63, 0x00])

    def SCardDisconnect(self, card, disposition):
        return 0


class Collector:
    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()

    def __call__(self, event) -> None:
        self.events.put(event)

    def next(self, timeout: float = EVENT_TIMEOUT_S):
        return self.events.get(timeout=timeout)

    def quiet_for(self, seconds: float) -> bool:
        try:
            event = self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {event}")


@pytest.fixture
def device():
    return FakeScard()


@pytest.fixture
def running(device):
    """A started reader on the stand-in device; always stopped."""
    reader = PcscReader(scard_loader=lambda: device, **FAST)
    collector = Collector()
    reader.start(collector)
    yield reader, collector
    reader.stop()
    assert not reader.running


def test_card_laid_on_reader_gives_one_nfc_credential(running, device):
    reader, events = running
    ready = events.next()
    assert (ready.state, READER in ready.message) == ("ready", True)
    device.lay_card([0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x90, 0x00])
    credential = events.next()
    assert isinstance(credential, Credential)
    assert (credential.kind, credential.payload, credential.source) == (
        "nfc",
        "04A1B2C3D4E5F6",
        f"pcsc:{READER}",
    )
    assert device.sent == [list(GET_UID_APDU)]
    assert events.quiet_for(0.2)  # the card staying on the reader is not read again


def test_card_lifted_and_laid_again_after_window_is_a_second_read(running, device):
    reader, events = running
    reader._dedupe = Deduplicator(window_s=0.0)
    events.next()
    felica = list(bytes.fromhex("0114B3C4D5E6F7089000"))
    device.lay_card(felica)
    assert events.next().payload == "0114B3C4D5E6F708"
    device.lift_card()
    time.sleep(0.1)
    device.lay_card(felica)
    assert events.next().payload == "0114B3C4D5E6F708"


def test_error_status_word_is_an_error_status_not_a_crash(running, device):
    reader, events = running
    events.next()
    device.lay_card([0x6A, 0x81])
    status = events.next()
    assert isinstance(status, ReaderStatus)
    assert status.state == "error" and "does not support Get Data" in status.message
    assert reader.running


def test_reader_unplugged_then_unavailable(running, device):
    reader, events = running
    events.next()
    device.unplug()
    status = events.next()
    assert status.state == "unavailable" and "disconnected" in status.message


def test_stop_cancels_a_long_wait_promptly(device):
    reader = PcscReader(scard_loader=lambda: device, wait_timeout_s=30.0)
    events = Collector()
    reader.start(events)
    assert events.next().state == "ready"
    time.sleep(0.05)  # let the thread enter SCardGetStatusChange
    started = time.monotonic()
    reader.stop()
    assert time.monotonic() - started < 1.0
    assert not reader.running
    assert device.released == 1


def test_no_service_is_one_unavailable_status_then_recovers():
    device = FakeScard(service=False)
    reader = PcscReader(scard_loader=lambda: device, **FAST)
    events = Collector()
    reader.start(events)
    try:
        status = events.next()
        assert status.state == "unavailable"
        assert "pcscd" in status.message and "Service not available" in status.message
        assert events.quiet_for(0.3)  # retried several times, said once
        device.service = True
        assert events.next().state == "ready"
    finally:
        reader.stop()


def test_no_reader_attached_is_unavailable():
    reader = PcscReader(scard_loader=lambda: FakeScard(readers=()), **FAST)
    events = Collector()
    reader.start(events)
    try:
        status = events.next()
        assert (status.state, status.message) == ("unavailable", "no NFC card reader is attached")
    finally:
        reader.stop()


def test_reader_filter_that_matches_nothing_is_unavailable():
    reader = PcscReader(scard_loader=lambda: FakeScard(), reader_filter="ACR122", **FAST)
    events = Collector()
    reader.start(events)
    try:
        assert "matching 'ACR122'" in events.next().message
    finally:
        reader.stop()


def test_pyscard_missing_is_unavailable_and_thread_ends():
    def missing():
        raise PcscUnavailable("pyscard is not installed (No module named 'smartcard')")

    reader = PcscReader(scard_loader=missing)
    events = Collector()
    reader.start(events)
    try:
        status = events.next()
        assert status.state == "unavailable" and "pyscard" in status.message
        assert reader.wait(EVENT_TIMEOUT_S)
    finally:
        reader.stop()


def test_real_pyscard_here_is_unavailable_without_crashing():
    """Whatever this machine lacks (pyscard, pcscd, a reader), the answer is a status."""
    reader = PcscReader(retry_s=0.05)
    events = Collector()
    reader.start(events)
    try:
        status = events.next()
    finally:
        reader.stop()
    assert isinstance(status, ReaderStatus)
    assert status.state == "unavailable", status.message
    assert status.code == PcscUnavailable.code
    assert not reader.running


def test_errors_are_cardreader_errors():
    assert issubclass(ApduError, CardReaderError)
    assert issubclass(PcscUnavailable, CardReaderError)
