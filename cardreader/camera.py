"""Camera QR / barcode reader: capture on one thread, decode the newest frame on another.

The capture thread reads frames as fast as the source delivers them and keeps only the newest
in a one-slot mailbox; the decode thread always takes the newest frame and never works through
a backlog, so a slow decode costs dropped frames, not latency. Frame sources are injectable: a
real camera, a video file, or any iterator of numpy frames (tests, demos).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from cardreader.decode import Decoder, Deduplicator, make_camera_decoder
from cardreader.errors import CameraUnavailable, DecoderUnavailable, EndOfFrames, FrameError
from cardreader.events import MAX_PAYLOAD_CHARS, Credential, ThreadedReader
from sync.platform import camera as os_camera

if TYPE_CHECKING:
    import cv2  # imported when a source opens: loading OpenCV takes a while

# What we ask the camera for: MJPG lets a USB 2 webcam deliver 1280x720 at 30 fps, where raw
# YUYV is limited to ~10 fps at that size; 720p gives a 300-character QR enough pixels.
CAMERA_FOURCC = "MJPG"
CAMERA_WIDTH = 1280
CAMERA_HEIGHT = 720
# Driver-side buffer in frames: 1 keeps V4L2 from queueing stale frames behind our back.
CAMERA_BUFFER_FRAMES = 1
# Consecutive failed reads after which a live camera counts as unplugged.
MAX_CONSECUTIVE_READ_FAILURES = 30
# Pause after a failed read, so a dead camera is not polled in a busy loop.
READ_RETRY_DELAY_S = 0.05
# How long the decode thread waits for a new frame before rechecking for stop().
FRAME_WAIT_TIMEOUT_S = 0.1


class FrameSource(Protocol):
    """Where frames come from. open() and read() may block; they run on the capture thread."""

    name: str

    def open(self) -> None:
        """Acquire the device; CameraUnavailable when it cannot be opened."""

    def read(self) -> np.ndarray:
        """The next frame; EndOfFrames when a finite source is done, CameraUnavailable when a
        live one fails, FrameError for one bad frame."""

    def close(self) -> None:
        """Release the device; safe to call more than once."""


class OpenCVSource:
    """A camera (by index) or a video file / stream (by path) through cv2.VideoCapture.

    A camera is opened through this OS's backends in turn (sync.platform.camera: V4L2 on
    Linux; Media Foundation, then DirectShow on Windows; AVFoundation on macOS).

    For a file, `fps` paces reading like a camera would (None: the file's own frame rate,
    0: as fast as it decodes). A camera paces itself.
    """

    def __init__(
        self,
        device: int | str | os.PathLike[str],
        *,
        width: int = CAMERA_WIDTH,
        height: int = CAMERA_HEIGHT,
        fourcc: str = CAMERA_FOURCC,
        fps: float | None = None,
    ) -> None:
        self._device = device if isinstance(device, int) else os.fspath(device)
        self._is_camera = isinstance(device, int)
        self.name = f"camera:{device}" if self._is_camera else f"file:{self._device}"
        self._width, self._height, self._fourcc = width, height, fourcc
        self._fps = fps
        self._capture: cv2.VideoCapture | None = None
        self._pacer: _Pacer | None = None
        self._failures = 0

    def open(self) -> None:
        import cv2

        if not self._is_camera and not os.path.isfile(self._device):
            raise CameraUnavailable(f"video file {self._device} does not exist")
        capture: cv2.VideoCapture | None = None
        if self._is_camera:
            for backend in os_camera.backends():
                capture = cv2.VideoCapture(self._device, backend)
                if capture.isOpened():
                    break
                capture.release()
        else:
            capture = cv2.VideoCapture(self._device)
        if capture is None or not capture.isOpened():
            if capture is not None:
                capture.release()
            what = f"camera {self._device}" if self._is_camera else f"video {self._device}"
            raise CameraUnavailable(f"{what} cannot be opened (missing, busy or no permission)")
        if self._is_camera:
            # Ask, don't insist: a camera that can't do MJPG 720p still works at what it can.
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self._fourcc))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, CAMERA_BUFFER_FRAMES)
        else:
            fps = capture.get(cv2.CAP_PROP_FPS) if self._fps is None else self._fps
            self._pacer = _Pacer(fps if fps and fps > 0 else 0.0)
        self._capture = capture
        self._failures = 0

    def read(self) -> np.ndarray:
        assert self._capture is not None, "read() before open()"
        if self._pacer is not None:
            self._pacer.wait()
        ok, frame = self._capture.read()
        if ok and frame is not None:
            self._failures = 0
            return frame
        if not self._is_camera:
            raise EndOfFrames(f"end of video {self._device}")
        self._failures += 1
        if self._failures >= MAX_CONSECUTIVE_READ_FAILURES:
            raise CameraUnavailable(f"camera {self._device} stopped delivering frames")
        time.sleep(READ_RETRY_DELAY_S)
        raise FrameError(f"camera {self._device} returned no frame")

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class IteratorSource:
    """Frames from any iterable of numpy arrays; `fps` paces them (0: as fast as consumed)."""

    def __init__(self, frames: Iterable[np.ndarray], *, fps: float = 0.0, name: str = "frames"):
        self.name = name
        self._frames = frames
        self._iterator: Iterator[np.ndarray] | None = None
        self._pacer = _Pacer(fps)

    def open(self) -> None:
        self._iterator = iter(self._frames)

    def read(self) -> np.ndarray:
        assert self._iterator is not None, "read() before open()"
        self._pacer.wait()
        try:
            return next(self._iterator)
        except StopIteration:
            raise EndOfFrames(f"{self.name}: no more frames") from None

    def close(self) -> None:
        self._iterator = None


class _Pacer:
    """Sleeps so that successive wait() calls return no faster than `fps` per second."""

    def __init__(self, fps: float) -> None:
        self._period = 1.0 / fps if fps > 0 else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if not self._period:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._period


@dataclass(slots=True)
class CameraStats:
    """Counters for tests and benchmarks; written by the reader threads, read by anyone."""

    captured: int = 0
    decoded: int = 0
    dropped: int = 0
    decode_seconds: float = 0.0


class LatestFrame:
    """A one-slot mailbox: put() replaces any frame not yet taken, take() gets the newest."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._closed = False
        self.dropped = 0

    def put(self, frame: np.ndarray) -> None:
        with self._condition:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._seq += 1
            self._condition.notify()

    def close(self) -> None:
        """No more frames will come; take() returns what is left, then None at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def take(self, timeout: float) -> tuple[int, np.ndarray] | None:
        """(sequence number, newest frame), or None after `timeout` or once closed and empty."""
        with self._condition:
            if self._frame is None and not self._closed:
                self._condition.wait(timeout)
            if self._frame is None:
                return None
            frame, self._frame = self._frame, None
            return self._seq, frame

    @property
    def closed(self) -> bool:
        with self._condition:
            return self._closed and self._frame is None


class CameraReader(ThreadedReader):
    """Emits a Credential per distinct QR / Code 128 read from a frame source.

    The default decoder is zxing-cpp on the camera schedule (make_camera_decoder).
    Statuses: "ready" once the source is open; "unavailable" when it cannot be opened or the
    decoder is missing; "error" when a live camera stops delivering; "stopped" when a finite
    source (file, iterator) is exhausted and its last frame decoded.
    """

    def __init__(
        self,
        source: FrameSource,
        *,
        decoder: Decoder | None = None,
        deduplicator: Deduplicator | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name or source.name)
        self._source = source
        self._decoder = decoder
        self._dedupe = deduplicator or Deduplicator()
        self._mailbox = LatestFrame()
        self.stats = CameraStats()
        # Sequence numbers (1 = first frame captured) of the frames the decode thread took.
        self.decoded_seqs: list[int] = []
        self._exhausted = False

    def _make_threads(self) -> list[threading.Thread]:
        self._mailbox = LatestFrame()
        self.stats = CameraStats()
        self.decoded_seqs = []
        self._exhausted = False
        return [
            threading.Thread(target=self._capture_loop, name=f"{self.name}-capture", daemon=True),
            threading.Thread(target=self._decode_loop, name=f"{self.name}-decode", daemon=True),
        ]

    def _capture_loop(self) -> None:
        # The decoder is made here, not in start(), so loading zxing-cpp never holds up the
        # UI thread; the decode thread only needs it once a frame arrives, which is after.
        if self._decoder is None:
            try:
                self._decoder = make_camera_decoder()
            except DecoderUnavailable as exc:
                self._mailbox.close()
                self._status("unavailable", exc.message, exc.code)
                return
        try:
            self._source.open()
        except CameraUnavailable as exc:
            self._mailbox.close()
            self._status("unavailable", exc.message, exc.code)
            return
        self._status("ready", f"{self.name} is open")
        try:
            while not self._stopping.is_set():
                try:
                    frame = self._source.read()
                except FrameError:
                    continue  # one bad frame; the source already paced the retry
                self.stats.captured += 1
                self._mailbox.put(frame)
        except EndOfFrames:
            self._exhausted = True
        except CameraUnavailable as exc:
            self._status("error", exc.message, exc.code)
        finally:
            self._source.close()
            self._mailbox.close()

    def _decode_loop(self) -> None:
        last_error = ""
        while not (self._stopping.is_set() or self._mailbox.closed):
            taken = self._mailbox.take(FRAME_WAIT_TIMEOUT_S)
            if taken is None:
                continue
            seq, frame = taken
            assert self._decoder is not None, "a frame arrived before the decoder was made"
            self.decoded_seqs.append(seq)
            self.stats.dropped = self._mailbox.dropped
            started = time.monotonic()
            try:
                found = self._decoder.decode(frame)
            except FrameError as exc:
                # Said once: a source that delivers bad frames delivers them 30 times a second.
                if exc.message != last_error:
                    self._status("error", exc.message, exc.code)
                    last_error = exc.message
                continue
            read_at = time.monotonic()
            self.stats.decoded += 1
            self.stats.decode_seconds += read_at - started
            for symbol in found:
                if len(symbol.text) > MAX_PAYLOAD_CHARS:
                    continue
                if self._dedupe.is_new(symbol.kind, symbol.text, read_at):
                    self._emit(
                        Credential(
                            kind=symbol.kind,
                            payload=symbol.text,
                            source=self.name,
                            read_at=read_at,
                            symbology=symbol.symbology,
                        )
                    )
        self.stats.dropped = self._mailbox.dropped
        if self._exhausted and not self._stopping.is_set():
            self._status("stopped", f"{self.name}: no more frames")
