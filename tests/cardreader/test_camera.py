"""The camera reader fed from synthetic frames and a real MJPG video file, no camera needed."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from cardreader import synthetic
from cardreader.camera import CameraReader, IteratorSource, LatestFrame, OpenCVSource
from cardreader.decode import QR_CODE, Decoded, ZxingDecoder
from cardreader.errors import CameraUnavailable, EndOfFrames
from cardreader.events import Credential, ReaderStatus

# Small frames keep the tests fast; the decode benchmark covers 1280x720.
WIDTH, HEIGHT = 480, 320
# Longest a test waits for a reader to finish a short, paced frame sequence.
FINISH_TIMEOUT_S = 10.0
# Pacing for sequences where every code must be seen: several decode times per frame.
PACED_FPS = 60
MODULE_PX = 4


class Collector:
    """A callback that records events from the reader's thread."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()

    def __call__(self, event) -> None:
        self.events.put(event)

    def drain(self) -> list:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def wait_for(self, predicate, timeout: float = FINISH_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            seen.append(event)
            if predicate(event):
                return seen
        raise AssertionError(f"no matching event within {timeout} s; saw {seen}")


def blank(seed: int = 1) -> np.ndarray:
    return synthetic.background(np.random.default_rng(seed), width=WIDTH, height=HEIGHT)


def with_qr(payload: str, seed: int = 1) -> np.ndarray:
    return synthetic.centred(blank(seed), synthetic.qr_image(payload, MODULE_PX))


def with_barcode(payload: str) -> np.ndarray:
    return synthetic.centred(blank(), synthetic.code128_image(payload, 2, height_px=80))


def credentials(events) -> list[Credential]:
    return [e for e in events if isinstance(e, Credential)]


def statuses(events) -> list[ReaderStatus]:
    return [e for e in events if isinstance(e, ReaderStatus)]


def run_to_end(reader: CameraReader, collector: Collector) -> list:
    reader.start(collector)
    try:
        assert reader.wait(FINISH_TIMEOUT_S), "reader did not finish its frames"
    finally:
        reader.stop()
    assert not reader.running
    return collector.drain()


def test_synthetic_source_one_credential_per_distinct_code():
    frames = (
        [blank()] * 3
        + [with_qr("WALLET-A")] * 8
        + [blank()] * 3
        + [with_barcode("CARD-0001")] * 8
        + [with_qr("WALLET-B")] * 8
        + [with_qr("WALLET-A")] * 5  # shown again within the window: the same read
    )
    reader = CameraReader(IteratorSource(frames, fps=PACED_FPS, name="synthetic"))
    events = run_to_end(reader, Collector())
    got = [(c.kind, c.payload, c.symbology) for c in credentials(events)]
    assert got == [
        ("qr", "WALLET-A", "QRCode"),
        ("barcode", "CARD-0001", "Code128"),
        ("qr", "WALLET-B", "QRCode"),
    ]
    assert all(c.source == "synthetic" for c in credentials(events))
    states = [s.state for s in statuses(events)]
    assert states == ["ready", "stopped"]
    assert reader.stats.captured == len(frames)


def test_video_file_one_credential_per_distinct_code(tmp_path):
    import cv2

    path = tmp_path / "counter.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (WIDTH, HEIGHT))
    assert writer.isOpened(), "OpenCV cannot write MJPG AVI here"
    for frame in [blank()] * 4 + [with_qr("FILE-ONE")] * 8 + [with_qr("FILE-TWO")] * 8:
        writer.write(frame)
    writer.release()
    assert path.stat().st_size > 0

    collector = Collector()
    reader = CameraReader(OpenCVSource(path, fps=PACED_FPS))
    events = run_to_end(reader, collector)
    assert [c.payload for c in credentials(events)] == ["FILE-ONE", "FILE-TWO"]
    assert {c.source for c in credentials(events)} == {f"file:{path}"}
    assert reader.stats.captured == 20


class SlowDecoder:
    """The real zxing decoder, slowed down to stand in for a busy 2-core machine."""

    name = "slow-zxing"
    DELAY_S = 0.03

    def __init__(self) -> None:
        self._inner = ZxingDecoder((QR_CODE,))

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        time.sleep(self.DELAY_S)
        return self._inner.decode(frame)


def test_only_the_newest_frame_is_decoded_when_frames_outrun_decoding():
    count = 40
    frames = [with_qr(f"FRAME-{i + 1:03d}") for i in range(count)]
    reader = CameraReader(IteratorSource(frames, fps=200), decoder=SlowDecoder())
    events = run_to_end(reader, Collector())

    seqs = reader.decoded_seqs
    assert reader.stats.captured == count
    assert len(seqs) < count / 2, "a backlog was decoded"
    assert seqs == sorted(set(seqs)), "frames were decoded out of order or twice"
    assert seqs[-1] == count, "the last (newest) frame was not decoded"
    assert reader.stats.dropped == count - len(seqs)
    # Each decoded frame is the one that was newest when taken: its own code came out.
    assert [c.payload for c in credentials(events)] == [f"FRAME-{s:03d}" for s in seqs]


def test_missing_camera_is_unavailable_status_not_exception():
    collector = Collector()
    reader = CameraReader(OpenCVSource(42))
    reader.start(collector)
    try:
        seen = collector.wait_for(lambda e: isinstance(e, ReaderStatus))
    finally:
        reader.stop()
    assert seen[-1].state == "unavailable"
    assert seen[-1].reader == "camera:42"
    assert "camera 42 cannot be opened" in seen[-1].message
    assert seen[-1].code == CameraUnavailable.code
    assert not reader.running
    assert collector.drain() == []  # no "stopped" after "unavailable"


def test_missing_video_file_is_unavailable(tmp_path):
    collector = Collector()
    reader = CameraReader(OpenCVSource(tmp_path / "nope.avi"))
    events = run_to_end(reader, collector)
    assert [(s.state, "does not exist" in s.message) for s in statuses(events)] == [
        ("unavailable", True)
    ]


class DyingCamera:
    """A live source that delivers a few frames and then is unplugged."""

    name = "camera:dying"

    def __init__(self) -> None:
        self.closed = False
        self._left = 3

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        if self._left == 0:
            raise CameraUnavailable("camera dying stopped delivering frames")
        self._left -= 1
        time.sleep(0.01)
        return with_qr("BEFORE-UNPLUG")

    def close(self) -> None:
        self.closed = True


def test_camera_unplugged_mid_stream_is_error_status_and_released():
    source = DyingCamera()
    reader = CameraReader(source)
    events = run_to_end(reader, Collector())
    assert [c.payload for c in credentials(events)] == ["BEFORE-UNPLUG"]
    assert [s.state for s in statuses(events)] == ["ready", "error"]
    assert source.closed


def test_stop_ends_an_endless_source_promptly():
    def endless():
        frame = blank()
        while True:
            yield frame

    reader = CameraReader(IteratorSource(endless(), fps=PACED_FPS))
    collector = Collector()
    reader.start(collector)
    collector.wait_for(lambda e: isinstance(e, ReaderStatus) and e.state == "ready")
    started = time.monotonic()
    reader.stop()
    assert time.monotonic() - started < 1.0
    assert not reader.running
    assert reader.stats.decoded > 0


def test_reader_runs_off_the_callers_thread():
    threads: set[str] = set()

    def callback(event) -> None:
        threads.add(threading.current_thread().name)

    reader = CameraReader(IteratorSource([with_qr("THREAD")] * 2, fps=PACED_FPS), name="cam")
    reader.start(callback)
    try:
        assert reader.wait(FINISH_TIMEOUT_S)
    finally:
        reader.stop()
    assert threading.current_thread().name not in threads
    assert threads <= {"cam-capture", "cam-decode"}


def test_latest_frame_mailbox_keeps_only_newest():
    box = LatestFrame()
    assert box.take(timeout=0.01) is None
    for i in range(5):
        box.put(np.full((2, 2), i, np.uint8))
    seq, frame = box.take(timeout=0.01)
    assert seq == 5 and frame[0, 0] == 4
    assert box.dropped == 4
    box.put(np.zeros((2, 2), np.uint8))
    box.close()
    assert not box.closed  # one frame still waiting
    assert box.take(timeout=0.01)[0] == 6
    assert box.closed
    assert box.take(timeout=5.0) is None  # returns at once once closed


def test_iterator_source_end_of_frames():
    source = IteratorSource([blank()])
    source.open()
    source.read()
    with pytest.raises(EndOfFrames):
        source.read()
    source.close()


def test_missing_decoder_library_is_unavailable_status(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_zxing(name, *args, **kwargs):
        if name == "zxingcpp":
            raise ImportError("No module named 'zxingcpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_zxing)
    reader = CameraReader(IteratorSource([blank()]))
    events = run_to_end(reader, Collector())
    assert [(s.state, "zxing-cpp is not installed" in s.message) for s in statuses(events)] == [
        ("unavailable", True)
    ]
    assert reader.stats.captured == 0
