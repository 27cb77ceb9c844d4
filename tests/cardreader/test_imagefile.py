"""Image files decoded into credentials, the image-file reader, and the fake reader."""

from __future__ import annotations

import dataclasses
import queue

import cv2
import numpy as np
import pytest

from cardreader import Credential, Reader, ReaderStatus, synthetic
from cardreader.camera import CameraReader, IteratorSource
from cardreader.errors import ImageFileError, ReaderStateError
from cardreader.fake import FakeReader
from cardreader.imagefile import ImageFileReader, decode_image_file, load_image
from cardreader.pcsc import PcscReader
from cardreader.wedge import WedgeReader

TOKEN = "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHG"
RNG_SEED = 3


def write_image(path, payload: str, *, barcode: bool = False) -> None:
    rng = np.random.default_rng(RNG_SEED)
    symbol = synthetic.code128_image(payload, 3) if barcode else synthetic.qr_image(payload, 5)
    frame = synthetic.centred(synthetic.background(rng, width=800, height=600), symbol)
    ok, encoded = cv2.imencode(path.suffix, frame)
    assert ok
    path.write_bytes(encoded.tobytes())


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_qr_image_file_round_trip(tmp_path, suffix):
    path = tmp_path / f"wallet{suffix}"
    write_image(path, TOKEN)
    [credential] = decode_image_file(path)
    assert (credential.kind, credential.payload, credential.symbology) == ("qr", TOKEN, "QRCode")
    assert credential.source == f"file:{path}"


def test_code128_image_file_with_japanese_name(tmp_path):
    path = tmp_path / "会員カード.png"
    write_image(path, "MC-0001-2345", barcode=True)
    [credential] = decode_image_file(path)
    assert (credential.kind, credential.payload) == ("barcode", "MC-0001-2345")


def test_image_without_code_gives_nothing(tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), synthetic.background(np.random.default_rng(RNG_SEED)))
    assert decode_image_file(path) == []


def test_missing_and_non_image_files_are_image_file_errors(tmp_path):
    with pytest.raises(ImageFileError, match="cannot be read"):
        load_image(tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ImageFileError, match="not a PNG"):
        load_image(text)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageFileError, match="not a PNG"):
        decode_image_file(empty)
    with pytest.raises(ImageFileError, match="cannot be read"):
        load_image(tmp_path)  # a directory


def test_image_file_reader_reads_all_and_reports_bad_ones(tmp_path):
    good = tmp_path / "a.png"
    write_image(good, "FIRST-CODE")
    second = tmp_path / "b.jpg"
    write_image(second, "SECOND-CODE")
    events: queue.Queue = queue.Queue()
    reader = ImageFileReader([good, tmp_path / "missing.png", second])
    reader.start(events.put)
    try:
        assert reader.wait(10.0)
    finally:
        reader.stop()
    got = []
    while not events.empty():
        got.append(events.get_nowait())
    assert [e.state for e in got if isinstance(e, ReaderStatus)] == ["ready", "error", "stopped"]
    assert [e.payload for e in got if isinstance(e, Credential)] == ["FIRST-CODE", "SECOND-CODE"]


def test_fake_reader_present_and_status():
    events = []
    fake = FakeReader()
    with pytest.raises(ReaderStateError, match="not started"):
        fake.present("qr", "X")
    fake.start(events.append)
    with pytest.raises(ReaderStateError, match="already started"):
        fake.start(events.append)
    credential = fake.present("nfc", "04A1B2C3", symbology=None)
    fake.set_status("unavailable", "no PC/SC service")
    with pytest.raises(ReaderStateError, match="unknown credential kind"):
        fake.present("magstripe", "X")
    fake.stop()
    assert events == fake.events
    assert events[1] == credential and credential.source == "fake"
    assert [type(e).__name__ for e in events] == ["ReaderStatus", "Credential", "ReaderStatus"]


def test_events_are_frozen_and_every_reader_fits_the_protocol():
    credential = Credential(kind="qr", payload="A", source="fake", read_at=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        credential.payload = "B"
    readers = [
        FakeReader(),
        WedgeReader(),
        PcscReader(),
        ImageFileReader([]),
        CameraReader(IteratorSource([])),
    ]
    assert all(isinstance(r, Reader) for r in readers)


def test_threaded_reader_cannot_start_twice():
    reader = CameraReader(IteratorSource([], fps=1))
    reader.start(lambda event: None)
    try:
        with pytest.raises(ReaderStateError):
            reader.start(lambda event: None)
    finally:
        reader.stop()


def test_package_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, cardreader, cardreader.wedge, cardreader.pcsc, cardreader.fake;"
        "heavy = {'cv2', 'zxingcpp', 'pyzbar', 'smartcard', 'PySide6', 'terminal', 'ledger'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
