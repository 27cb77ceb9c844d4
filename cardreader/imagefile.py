"""Decode QR / Code 128 symbols in PNG or JPEG files into Credential events.

For the demo (a folder of sample wallet codes) and for tests. Files are read as bytes and
decoded with cv2.imdecode, so paths with Japanese characters work (cv2.imread does not
handle non-ASCII paths on every platform).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from cardreader.decode import Decoder, make_decoder
from cardreader.errors import DecoderUnavailable, FrameError, ImageFileError
from cardreader.events import Credential, ThreadedReader

# Larger files are not pictures of a QR code; refuse them before reading them into memory.
MAX_IMAGE_FILE_BYTES = 20 * 1024 * 1024


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The file's pixels as a BGR (or grayscale) array; ImageFileError when it is not an image."""
    import cv2

    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise ImageFileError(f"{file} is {size} bytes, over {MAX_IMAGE_FILE_BYTES}")
        data = np.frombuffer(file.read_bytes(), dtype=np.uint8)
    except OSError as exc:
        raise ImageFileError(f"{file} cannot be read: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageFileError(f"{file} is not a PNG, JPEG or other image OpenCV can read")
    return image


def decode_image_file(
    path: str | os.PathLike[str], decoder: Decoder | None = None
) -> list[Credential]:
    """Every supported symbol in the image file, as Credentials with source "file:<path>"."""
    decoder = decoder or make_decoder()
    image = load_image(path)
    try:
        found = decoder.decode(image)
    except FrameError as exc:
        raise ImageFileError(f"{path}: {exc.message}") from exc
    read_at = time.monotonic()
    source = f"file:{os.fspath(path)}"
    return [
        Credential(
            kind=s.kind, payload=s.text, source=source, read_at=read_at, symbology=s.symbology
        )
        for s in found
    ]


class ImageFileReader(ThreadedReader):
    """A reader that decodes a list of image files once, on its own thread, then stops.

    Every symbol found is emitted (no de-duplication: each file is a deliberate read); a bad
    file gives an "error" status and the next file is still read.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        decoder: Decoder | None = None,
        name: str = "files",
    ) -> None:
        super().__init__(name)
        self._paths = [os.fspath(p) for p in paths]
        self._decoder = decoder

    def _make_threads(self) -> list[threading.Thread]:
        return [threading.Thread(target=self._run, name=f"{self.name}-decode", daemon=True)]

    def _run(self) -> None:
        try:
            decoder = self._decoder or make_decoder()
        except DecoderUnavailable as exc:
            self._status("unavailable", exc.message, exc.code)
            return
        self._status("ready", f"reading {len(self._paths)} image file(s)")
        for path in self._paths:
            if self._stopping.is_set():
                return
            try:
                credentials = decode_image_file(path, decoder)
            except ImageFileError as exc:
                self._status("error", exc.message, exc.code)
                continue
            for credential in credentials:
                self._emit(credential)
        self._status("stopped", "all image files read")
