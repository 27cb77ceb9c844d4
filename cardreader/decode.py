"""Decode QR Code and Code 128 symbols from camera frames, and de-duplicate repeated reads.

zxing-cpp is the main backend; pyzbar (libzbar) is an optional second one (the install's
`pyzbar` extra), imported only when asked for. Both are restricted to the two symbologies
we issue: DESIGN §9 measured that enabling every format makes zxing-cpp about ten times
slower on a 1280x720 frame.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cardreader.errors import DecoderUnavailable, FrameError
from cardreader.events import CredentialKind

# Symbology names as zxing-cpp spells them; they are also what Credential.symbology carries.
QR_CODE = "QRCode"
CODE_128 = "Code128"
SUPPORTED_SYMBOLOGIES: tuple[str, ...] = (QR_CODE, CODE_128)
KIND_BY_SYMBOLOGY: dict[str, CredentialKind] = {QR_CODE: "qr", CODE_128: "barcode"}

# zxing-cpp search options. Inverted (light-on-dark) codes are never shown by our wallet app
# nor printed on our cards, and trying them doubles the time spent on frames without a code,
# which are most frames. Rotation stays on: a card's Code 128 may be held upright (QR finds
# any orientation anyway).
ZXING_TRY_ROTATE = True
ZXING_TRY_DOWNSCALE = True
ZXING_TRY_INVERT = False

# The camera looks for Code 128 only in every Nth frame: a linear-code pass costs ~6 ms on a
# 1280x720 frame, twice a QR pass (bench/decode.py), and QR is what most customers show. At
# 30 fps a card held up for a third of a second still meets several Code 128 passes.
CODE128_EVERY_N_FRAMES = 3

# The same payload seen again within this many seconds of its previous sighting is the same
# read: a code held in front of the camera is decoded in frame after frame.
DEDUPE_WINDOW_S = 2.0
# Distinct payloads remembered by the de-duplicator; older ones are forgotten first.
DEDUPE_MAX_ENTRIES = 256

# Frames smaller than this on either side cannot hold a readable code; bigger than this is not
# a camera frame (8K) and would stall the decode thread.
MIN_FRAME_SIDE = 16
MAX_FRAME_SIDE = 8192


@dataclass(frozen=True, slots=True)
class Decoded:
    """One symbol found in a frame."""

    text: str
    symbology: str

    @property
    def kind(self) -> CredentialKind:
        return KIND_BY_SYMBOLOGY.get(self.symbology, "barcode")


class Decoder(Protocol):
    name: str

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        """All supported symbols in the frame, in the decoder's order; [] when none."""


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A contiguous 8-bit single-channel view of a grayscale, BGR or BGRA frame."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"a frame must be a numpy array, not {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"a frame must be 8-bit (uint8), not {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise FrameError(f"a frame must be grayscale, BGR or BGRA, not shape {frame.shape}")
    height, width = frame.shape[:2]
    if min(height, width) < MIN_FRAME_SIDE or max(height, width) > MAX_FRAME_SIDE:
        raise FrameError(f"frame size {width}x{height} is outside what a camera delivers")
    if frame.ndim == 3:
        import cv2  # OpenCV's conversion is ~10x faster than numpy's weighted sum

        code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(frame, code)
    return np.ascontiguousarray(frame)


class ZxingDecoder:
    """zxing-cpp restricted to the given symbologies (QR Code and Code 128 by default)."""

    name = "zxing"

    def __init__(
        self,
        symbologies: Sequence[str] = SUPPORTED_SYMBOLOGIES,
        *,
        try_rotate: bool = ZXING_TRY_ROTATE,
        try_downscale: bool = ZXING_TRY_DOWNSCALE,
        try_invert: bool = ZXING_TRY_INVERT,
    ) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise DecoderUnavailable(f"zxing-cpp is not installed: {exc}") from exc
        unknown = [s for s in symbologies if s not in SUPPORTED_SYMBOLOGIES]
        assert not unknown and symbologies, f"unsupported symbologies {unknown}"
        self._zxing = zxingcpp
        # A tuple of formats, not `a | b`: zxing-cpp 3 deprecates the operator form.
        self._formats = tuple(getattr(zxingcpp.BarcodeFormat, s) for s in symbologies)
        self._try_rotate = try_rotate
        self._try_downscale = try_downscale
        self._try_invert = try_invert

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        gray = to_gray(frame)
        found = self._zxing.read_barcodes(
            gray, formats=self._formats,  # type: ignore[arg-type]  # a tuple works (above)
            try_rotate=self._try_rotate, try_downscale=self._try_downscale,
            try_invert=self._try_invert)
        return [Decoded(text=b.text, symbology=b.format.name) for b in found if b.valid]


class PyzbarDecoder:
    """pyzbar over libzbar, QR Code and Code 128 only; a second opinion and a benchmark peer."""

    name = "pyzbar"

    def __init__(self, symbologies: Sequence[str] = SUPPORTED_SYMBOLOGIES) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:
            # pyzbar raises ImportError both when it is missing and when libzbar.so is not
            # found; the message says which.
            raise DecoderUnavailable(
                f"pyzbar cannot be used ({exc}); it is optional: pip install "
                "'machi-pos[pyzbar]' and the libzbar0 system library"
            ) from exc
        except OSError as exc:  # libzbar present but unloadable (wrong architecture, ...)
            raise DecoderUnavailable(f"libzbar cannot be loaded: {exc}") from exc
        symbols = {QR_CODE: pyzbar.ZBarSymbol.QRCODE, CODE_128: pyzbar.ZBarSymbol.CODE128}
        self._names = {symbols[s].name: s for s in symbologies}
        self._symbols = [symbols[s] for s in symbologies]
        self._pyzbar = pyzbar

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        gray = to_gray(frame)
        found = self._pyzbar.decode(gray, symbols=self._symbols)
        # libzbar hands back bytes; our payloads are ASCII, so a replacement character only
        # appears for a foreign code, which the credential parser then rejects with a reason.
        return [
            Decoded(text=r.data.decode("utf-8", errors="replace"), symbology=self._names[r.type])
            for r in found
            if r.type in self._names
        ]


class ScheduledDecoder:
    """Runs each of several decoders on every Nth frame it is given (its own N).

    The camera's default: QR on every frame, Code 128 on every CODE128_EVERY_N_FRAMES-th, so
    the common case stays within the per-frame budget. Not thread-safe: one decode thread.
    """

    def __init__(self, schedule: Sequence[tuple[Decoder, int]], name: str = "") -> None:
        assert schedule and all(every >= 1 for _, every in schedule)
        self._schedule = list(schedule)
        self.name = name or "+".join(d.name for d, _ in schedule)
        self._frame = 0

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        frame = to_gray(frame)  # once, not once per decoder
        found: list[Decoded] = []
        for decoder, every in self._schedule:
            if self._frame % every == 0:
                found.extend(decoder.decode(frame))
        self._frame += 1
        return found


DECODER_NAMES: tuple[str, ...] = ("zxing", "pyzbar")


def make_decoder(name: str = "zxing") -> Decoder:
    """The named backend reading both symbologies in one pass; DecoderUnavailable when it
    cannot be loaded here."""
    if name == "zxing":
        return ZxingDecoder()
    if name == "pyzbar":
        return PyzbarDecoder()
    raise DecoderUnavailable(f"unknown decoder {name!r}; choose one of {', '.join(DECODER_NAMES)}")


def make_camera_decoder(name: str = "zxing") -> Decoder:
    """The named backend on the camera's schedule: QR every frame, Code 128 every Nth."""
    qr: Decoder
    linear: Decoder
    if name == "zxing":
        qr, linear = ZxingDecoder((QR_CODE,)), ZxingDecoder((CODE_128,))
    elif name == "pyzbar":
        qr, linear = PyzbarDecoder((QR_CODE,)), PyzbarDecoder((CODE_128,))
    else:
        raise DecoderUnavailable(
            f"unknown decoder {name!r}; choose one of {', '.join(DECODER_NAMES)}"
        )
    return ScheduledDecoder([(qr, 1), (linear, CODE128_EVERY_N_FRAMES)], name=name)


class Deduplicator:
    """Collapses repeated sightings of one payload into one read.

    A payload is new when it was not seen within `window_s` of its previous sighting. Every
    sighting refreshes the window, so a code held in front of the camera for a minute is one
    read; taken away and shown again after the window, it is a second read.
    Thread-safe: camera decode threads and tests may call it concurrently.
    """

    def __init__(
        self,
        window_s: float = DEDUPE_WINDOW_S,
        *,
        max_entries: int = DEDUPE_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert window_s >= 0 and max_entries > 0
        self.window_s = window_s
        self._max_entries = max_entries
        self._clock = clock
        self._last_seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def is_new(self, kind: str, payload: str, now: float | None = None) -> bool:
        """Record a sighting; True when it starts a new read."""
        at = self._clock() if now is None else now
        key = (kind, payload)
        with self._lock:
            previous = self._last_seen.pop(key, None)
            self._last_seen[key] = at
            self._forget_old(at)
            return previous is None or not (0 <= at - previous <= self.window_s)

    def clear(self) -> None:
        with self._lock:
            self._last_seen.clear()

    def _forget_old(self, now: float) -> None:
        # Entries are kept in sighting order, so the stale ones are at the front.
        while self._last_seen:
            key, seen = next(iter(self._last_seen.items()))
            if len(self._last_seen) <= self._max_entries and now - seen <= self.window_s:
                break
            del self._last_seen[key]
