"""Expected failures of the input-device readers, as exception classes with stable codes.

`code` is what the UI and logs key translations on; the message is the English text.
Bugs are assertions, not these.
"""

from __future__ import annotations

from typing import Any


class CardReaderError(Exception):
    """Base of every expected failure in `cardreader`."""

    code = "cardreader_error"

    def __init__(self, message: str = "", code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})


class DecoderUnavailable(CardReaderError):
    """A barcode decoder backend is not installed or its native library is missing."""

    code = "decoder_unavailable"


class FrameError(CardReaderError):
    """A frame is not an image the decoders accept (wrong dtype, shape or channels)."""

    code = "frame_invalid"


class CameraUnavailable(CardReaderError):
    """The camera (or video file) cannot be opened or stopped delivering frames."""

    code = "camera_unavailable"


class EndOfFrames(CardReaderError):
    """A finite frame source (video file, test iterator) has no more frames."""

    code = "end_of_frames"


class ImageFileError(CardReaderError):
    """An image file is missing, unreadable or not an image."""

    code = "image_file"


class PcscUnavailable(CardReaderError):
    """pyscard is missing, the PC/SC service is not running, or no reader is attached."""

    code = "pcsc_unavailable"


class ApduError(CardReaderError):
    """A card answered an APDU with an error status word or a malformed response."""

    code = "apdu_error"


class WedgeInputError(CardReaderError):
    """A key event handed to the keyboard-wedge parser is malformed."""

    code = "wedge_input"


class ReaderStateError(CardReaderError):
    """A reader was used in the wrong state (e.g. started twice, or driven before start)."""

    code = "reader_state"
