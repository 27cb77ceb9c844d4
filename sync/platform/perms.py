"""Owner-only files: POSIX permission bits, or on Windows the file's access list.

POSIX: directories 0700, files 0600; a secret other users could read, or that another user
owns, is refused (as ssh does) with the chmod that fixes it.

Windows (designed, not yet run): a new file inherits its directory's access list, and the
per-user data directory (%LOCALAPPDATA%) is already the user's own, so nothing is changed.
A secret is checked through its access list when pywin32 is installed: readable by an
account other than its owner, SYSTEM or Administrators is refused with the `icacls` command
that fixes it. Without pywin32 it is read with a warning, once, saying it was not checked.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

from sync.platform import IS_WINDOWS

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# Bits that let the group or other users in.
OTHERS_BITS = 0o077
# Windows accounts that may always read a user's files: SYSTEM, Administrators.
WINDOWS_TRUSTED_SIDS = ("S-1-5-18", "S-1-5-32-544")
# FILE_READ_DATA | GENERIC_READ | GENERIC_ALL (winnt.h)
WINDOWS_READ_MASK = 0x0001 | 0x80000000 | 0x10000000

log = logging.getLogger(__name__)
_warned: set[str] = set()


def make_private_dir(directory: Path) -> None:
    """Create one directory (its parent exists) that only its owner may enter."""
    directory.mkdir(mode=PRIVATE_DIR_MODE)
    if not IS_WINDOWS:
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is narrowed by the umask only


def close_up(path: Path) -> None:
    """Take the group's and others' access away from a file of ours (a database left
    readable by an older version, or a copy). Nothing to do on Windows (see the module)."""
    if IS_WINDOWS:
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_mode & OTHERS_BITS and info.st_uid == os.geteuid():
        os.chmod(path, stat.S_IMODE(info.st_mode) & PRIVATE_FILE_MODE)


def secret_problem(fd: int, path: Path, what: str) -> str | None:
    """Why the open secret `fd` (at `path`) must not be used, or None when only its owner,
    who is this user, can read it."""
    if sys.platform == "win32":
        return _windows_secret_problem(path, what)
    info = os.fstat(fd)
    if info.st_mode & OTHERS_BITS:
        return (f"the {what} {path} can be read by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o}); run: chmod 600 {path}")
    if info.st_uid != os.geteuid():
        return f"the {what} {path} belongs to another user"
    return None


def _windows_secret_problem(path: Path, what: str) -> str | None:  # pragma: no cover
    try:
        import win32api
        import win32security
    except ImportError:
        if str(path) not in _warned:
            _warned.add(str(path))
            log.warning("cannot check who may read the %s %s: pywin32 is not installed "
                        "(pip install pywin32); keep it in your own user profile", what, path)
        return None
    info = (win32security.OWNER_SECURITY_INFORMATION |
            win32security.DACL_SECURITY_INFORMATION)
    descriptor = win32security.GetFileSecurity(str(path), info)
    owner = descriptor.GetSecurityDescriptorOwner()
    token = win32security.OpenProcessToken(win32api.GetCurrentProcess(),
                                           win32security.TOKEN_QUERY)
    me = win32security.GetTokenInformation(token, win32security.TokenUser)[0]
    if owner != me:
        return f"the {what} {path} belongs to another user"
    dacl = descriptor.GetSecurityDescriptorDacl()
    fix = f'run: icacls "{path}" /inheritance:r /grant:r "%USERNAME%":F'
    if dacl is None:  # no access list at all: everyone may do anything
        return f"the {what} {path} can be read by every user; {fix}"
    for index in range(dacl.GetAceCount()):
        (ace_type, _flags), mask, sid = dacl.GetAce(index)
        if ace_type != win32security.ACCESS_ALLOWED_ACE_TYPE or not mask & WINDOWS_READ_MASK:
            continue
        name = win32security.ConvertSidToStringSid(sid)
        if sid != owner and name not in WINDOWS_TRUSTED_SIDS:
            return f"the {what} {path} can be read by other users ({name}); {fix}"
    return None
