"""Input devices turned into credential events: camera QR, keyboard-wedge scanner, PC/SC
NFC reader, image files and a fake reader for tests. No Qt widgets here.

Every reader implements `Reader` (start(callback) / stop()) and emits `Credential` and
`ReaderStatus` events from its own thread; terminal/ui marshals them to the Qt thread.
Heavy dependencies (OpenCV, zxing-cpp, pyzbar, pyscard) are imported by the submodules
that need them, so importing this package is cheap.
"""

from cardreader.errors import CardReaderError
from cardreader.events import Credential, Reader, ReaderStatus

__all__ = ["CardReaderError", "Credential", "Reader", "ReaderStatus"]
