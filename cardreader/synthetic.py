"""Synthetic camera frames holding QR and Code 128 symbols, for tests, benchmarks and the demo.

QR codes are drawn with segno (imported here only: the terminal itself never makes codes) and
Code 128 with zxing-cpp's writer. Frames are made in memory; the difficulty helpers imitate
what a counter camera sees: small codes, blur from a phone held too close, sensor noise, a
phone tilted away, a dim screen.
"""

from __future__ import annotations

import numpy as np

# The frame size the camera reader asks for (DESIGN §9 measures decode time at this size).
FRAME_WIDTH = 1280
FRAME_HEIGHT = 720
# The base45 alphabet: exactly QR's alphanumeric set, so a token in it packs at 5.5 bits
# per character (DESIGN §5).
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# The four-module quiet zone the QR specification requires around a symbol.
QR_QUIET_MODULES = 4
# A Code 128 bar this many pixels high reads from any row the decoder scans.
BARCODE_HEIGHT_PX = 120


def base45_text(length: int, rng: np.random.Generator) -> str:
    """Random text in the base45 alphabet, standing in for a wallet app's token."""
    picks = rng.integers(0, len(BASE45_ALPHABET), size=length)
    return "".join(BASE45_ALPHABET[i] for i in picks)


def qr_image(payload: str, module_px: int, *, error: str = "m") -> np.ndarray:
    """The QR symbol as 8-bit grayscale (black on white), quiet zone included."""
    import segno

    # boost_error=False keeps the error level as asked, so symbol sizes are reproducible.
    symbol = segno.make_qr(payload, error=error, boost_error=False)
    modules = np.array(symbol.matrix, dtype=bool)
    modules = np.pad(modules, QR_QUIET_MODULES, constant_values=False)
    pixels = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(pixels, np.ones((module_px, module_px), dtype=np.uint8))


def code128_image(
    payload: str, module_px: int, *, height_px: int = BARCODE_HEIGHT_PX
) -> np.ndarray:
    """The Code 128 symbol as 8-bit grayscale (black on white), quiet zones included."""
    import zxingcpp

    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.Code128)
    row = np.asarray(barcode.to_image(scale=1, add_quiet_zones=True))[0]
    return np.repeat(np.repeat(row[np.newaxis, :], height_px, axis=0), module_px, axis=1)


def background(
    rng: np.random.Generator, *, width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT
) -> np.ndarray:
    """A BGR counter-top scene: a soft lighting gradient with a few darker blocks."""
    ramp = np.linspace(150, 210, width, dtype=np.float32)[np.newaxis, :]
    shade = np.linspace(0, 25, height, dtype=np.float32)[:, np.newaxis]
    gray = ramp - shade
    for _ in range(4):
        x, y = int(rng.integers(0, width - 100)), int(rng.integers(0, height - 100))
        w, h = int(rng.integers(40, 300)), int(rng.integers(40, 200))
        gray[y : y + h, x : x + w] *= float(rng.uniform(0.5, 0.9))
    frame = np.clip(gray, 0, 255).astype(np.uint8)
    return np.repeat(frame[:, :, np.newaxis], 3, axis=2)


def place(frame: np.ndarray, symbol: np.ndarray, x: int, y: int) -> np.ndarray:
    """A copy of the BGR frame with the grayscale symbol pasted at (x, y), clipped to fit."""
    out = frame.copy()
    h = min(symbol.shape[0], out.shape[0] - y)
    w = min(symbol.shape[1], out.shape[1] - x)
    assert h > 0 and w > 0, "symbol placed outside the frame"
    out[y : y + h, x : x + w] = symbol[:h, :w, np.newaxis]
    return out


def centred(frame: np.ndarray, symbol: np.ndarray) -> np.ndarray:
    y = max(0, (frame.shape[0] - symbol.shape[0]) // 2)
    x = max(0, (frame.shape[1] - symbol.shape[1]) // 2)
    return place(frame, symbol, x, y)


def blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(frame, (0, 0), sigma)


def noise(frame: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise of the given standard deviation in grey levels."""
    noisy = frame.astype(np.float32) + rng.normal(0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def low_contrast(frame: np.ndarray, low: int, high: int) -> np.ndarray:
    """Squeeze grey levels 0..255 into low..high, like a dim phone screen under shop lights."""
    scaled = low + frame.astype(np.float32) * ((high - low) / 255.0)
    return scaled.astype(np.uint8)


def perspective(frame: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Warp the frame as if seen at an angle: each corner moves up to `jitter` of the size."""
    import cv2

    h, w = frame.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    moved = corners + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * [w, h]
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    return cv2.warpPerspective(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
