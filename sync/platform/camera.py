"""Which OpenCV capture backends open a camera here, and whether one may be plugged in.

    Linux    V4L2; a camera is a /dev/video* device node
    Windows  Media Foundation, then DirectShow (older USB cameras open only there)
    macOS    AVFoundation
Neither Windows nor macOS shows cameras as files, and asking OpenCV to open one takes
seconds, so there a camera "may be present" and the reader's own thread finds out (and says
"unavailable" if not). Windows and macOS are designed from OpenCV's documentation, not yet run.
"""

from __future__ import annotations

import glob

from sync.platform import IS_LINUX, IS_MACOS, IS_WINDOWS

LINUX_DEVICES = "/dev/video*"


def backends() -> list[int]:
    """cv2.CAP_* values to try, in order, for a camera given by index."""
    import cv2

    if IS_LINUX:
        return [cv2.CAP_V4L2]
    if IS_WINDOWS:
        return [cv2.CAP_MSMF, cv2.CAP_DSHOW]
    if IS_MACOS:
        return [cv2.CAP_AVFOUNDATION]
    return [cv2.CAP_ANY]


def may_be_present() -> bool:
    """False only when this OS can tell, without opening anything, that there is no camera."""
    if IS_LINUX:
        return bool(glob.glob(LINUX_DEVICES))
    return True
