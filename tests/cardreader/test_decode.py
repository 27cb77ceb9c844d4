"""Decoding with the real zxing-cpp and pyzbar backends, and the de-duplicator."""

from __future__ import annotations

import numpy as np
import pytest

from cardreader import synthetic
from cardreader.decode import (
    CODE_128,
    DEDUPE_WINDOW_S,
    QR_CODE,
    Decoded,
    Deduplicator,
    PyzbarDecoder,
    ScheduledDecoder,
    ZxingDecoder,
    make_camera_decoder,
    make_decoder,
    to_gray,
)
from cardreader.errors import DecoderUnavailable, FrameError

RNG_SEED = 7
TOKEN = synthetic.base45_text(300, np.random.default_rng(RNG_SEED))
CARD_NUMBER = "MC-0123-4567-89"


def _pyzbar() -> PyzbarDecoder:
    try:
        return PyzbarDecoder()
    except DecoderUnavailable as exc:
        pytest.skip(exc.message)


def qr_frame(payload: str = TOKEN, module_px: int = 4) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    return synthetic.centred(synthetic.background(rng), synthetic.qr_image(payload, module_px))


def code128_frame(payload: str = CARD_NUMBER) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    return synthetic.centred(synthetic.background(rng), synthetic.code128_image(payload, 3))


@pytest.mark.parametrize("make", [ZxingDecoder, _pyzbar], ids=["zxing", "pyzbar"])
def test_qr_round_trip(make):
    found = make().decode(qr_frame())
    assert found == [Decoded(TOKEN, QR_CODE)]
    assert found[0].kind == "qr"


@pytest.mark.parametrize("make", [ZxingDecoder, _pyzbar], ids=["zxing", "pyzbar"])
def test_code128_round_trip(make):
    found = make().decode(code128_frame())
    assert found == [Decoded(CARD_NUMBER, CODE_128)]
    assert found[0].kind == "barcode"


def test_grayscale_bgr_and_bgra_frames_decode_alike():
    bgr = qr_frame("GRAY-1234")
    decoder = ZxingDecoder()
    gray = to_gray(bgr)
    bgra = np.concatenate([bgr, np.full(bgr.shape[:2] + (1,), 255, np.uint8)], axis=2)
    for frame in (bgr, gray, gray[:, :, np.newaxis], bgra):
        assert [d.text for d in decoder.decode(frame)] == ["GRAY-1234"]


def test_restricted_formats_ignore_other_symbologies():
    qr_only = ZxingDecoder((QR_CODE,))
    assert qr_only.decode(code128_frame()) == []
    linear_only = ZxingDecoder((CODE_128,))
    assert linear_only.decode(qr_frame()) == []


def test_two_codes_in_one_frame():
    rng = np.random.default_rng(RNG_SEED)
    frame = synthetic.background(rng)
    frame = synthetic.place(frame, synthetic.qr_image("LEFT-QR", 5), 40, 200)
    frame = synthetic.place(frame, synthetic.code128_image("RIGHT-128", 3), 600, 300)
    found = {(d.text, d.symbology) for d in ZxingDecoder().decode(frame)}
    assert found == {("LEFT-QR", QR_CODE), ("RIGHT-128", CODE_128)}


def test_blurred_noisy_and_warped_frames_still_decode():
    rng = np.random.default_rng(RNG_SEED)
    medium = synthetic.noise(synthetic.blur(qr_frame(module_px=3), 1.0), 8, rng)
    hard = synthetic.low_contrast(synthetic.perspective(qr_frame(), 0.08, rng), 90, 170)
    decoder = ZxingDecoder((QR_CODE,))
    assert [d.text for d in decoder.decode(medium)] == [TOKEN]
    assert [d.text for d in decoder.decode(hard)] == [TOKEN]


def test_empty_frame_finds_nothing():
    frame = synthetic.background(np.random.default_rng(RNG_SEED))
    assert ZxingDecoder().decode(frame) == []


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((100, 100), dtype=np.float32),
        np.zeros((100, 100, 2), dtype=np.uint8),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((100,), dtype=np.uint8),
        [[0, 0], [0, 0]],
    ],
    ids=["float", "two-channel", "tiny", "1-d", "list"],
)
def test_bad_frames_are_frame_errors(frame):
    with pytest.raises(FrameError):
        ZxingDecoder().decode(frame)


def test_make_decoder_names():
    assert make_decoder("zxing").name == "zxing"
    assert make_camera_decoder().name == "zxing"
    with pytest.raises(DecoderUnavailable, match="unknown decoder"):
        make_decoder("opencv")
    with pytest.raises(DecoderUnavailable, match="unknown decoder"):
        make_camera_decoder("opencv")


def test_camera_schedule_reads_code128_every_nth_frame():
    decoder = ScheduledDecoder([(ZxingDecoder((QR_CODE,)), 1), (ZxingDecoder((CODE_128,)), 3)])
    frame = code128_frame()
    hits = [bool(decoder.decode(frame)) for _ in range(6)]
    assert hits == [True, False, False, True, False, False]


def test_dedupe_one_read_while_held_then_new_after_window():
    dedupe = Deduplicator(window_s=2.0)
    assert dedupe.is_new("qr", "A", now=10.0)
    # Seen in frame after frame: each sighting refreshes the window.
    assert not any(dedupe.is_new("qr", "A", now=10.0 + 0.5 * i) for i in range(1, 20))
    assert dedupe.is_new("qr", "B", now=20.0)
    assert not dedupe.is_new("qr", "B", now=21.9)
    assert dedupe.is_new("qr", "B", now=24.0)  # taken away and shown again later
    assert dedupe.is_new("barcode", "A", now=20.0)  # another kind is another credential


def test_dedupe_forgets_old_and_bounds_memory():
    clock = iter(float(i) for i in range(1000))
    dedupe = Deduplicator(window_s=DEDUPE_WINDOW_S, max_entries=4, clock=lambda: next(clock))
    for i in range(100):
        assert dedupe.is_new("qr", f"P{i}")
    assert len(dedupe._last_seen) <= 4
    dedupe.clear()
    assert dedupe.is_new("qr", "P99")


def test_dedupe_clock_stepping_back_counts_as_new():
    dedupe = Deduplicator(window_s=2.0)
    assert dedupe.is_new("qr", "A", now=100.0)
    assert dedupe.is_new("qr", "A", now=50.0)


def test_pyzbar_without_libzbar_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_zbar(name, *args, **kwargs):
        if name.startswith("pyzbar"):
            raise ImportError("Unable to find zbar shared library")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_zbar)
    with pytest.raises(DecoderUnavailable, match="libzbar0"):
        PyzbarDecoder()


def test_pyzbar_not_installed_names_the_extra(monkeypatch):
    """pyzbar is an extra (machi-pos[pyzbar]): without it the backend says how to add it,
    and the default backend (zxing-cpp) is unaffected."""
    import builtins

    real_import = builtins.__import__

    def no_pyzbar(name, *args, **kwargs):
        if name.startswith("pyzbar"):
            raise ModuleNotFoundError("No module named 'pyzbar'", name="pyzbar")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyzbar)
    with pytest.raises(DecoderUnavailable, match=r"machi-pos\[pyzbar\]"):
        PyzbarDecoder()
    assert make_camera_decoder("zxing").decode(qr_frame())[0].text == TOKEN
