"""The terminal's Ed25519 key at rest.

The private key lives in one PEM (PKCS#8) file readable and writable by its owner only,
optionally encrypted with a passphrase; a key file anyone else can read is refused, as ssh
does. The public key is written beside it so checks that need no secret (journal verify)
never touch the private key. The key is never written to the database or the log.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync import keys
from terminal.errors import KeyFileError, PassphraseError

KEY_FILE = "terminal.key"
PUBLIC_KEY_FILE = "terminal.pub"
KEY_FILE_MODE = 0o600
# Environment variable the CLI and app read the passphrase from (never a command-line flag,
# which other users can see in the process list).
PASSPHRASE_ENV = "MACHI_KEY_PASSPHRASE"
MIN_PASSPHRASE_CHARS = 8


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file that only its owner can read, durably, refusing to overwrite."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if a key is already there: never replace a key silently
    except FileExistsError as exc:
        raise KeyFileError(f"a key already exists at {path}; refusing to replace it") from exc
    finally:
        tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_key(data_dir: Path, passphrase: str | None = None) -> keys.PrivateKey:
    """Make a new terminal key in `data_dir` and return it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise PassphraseError(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    private_key = keys.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    pem = Ed25519PrivateKey.from_private_bytes(private_key.seed()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    _write_private(data_dir / KEY_FILE, pem)
    public = keys.public_key_hex(private_key.public_key())
    (data_dir / PUBLIC_KEY_FILE).write_text(public + "\n", encoding="ascii")
    return private_key


def load_key(data_dir: Path, passphrase: str | None = None) -> keys.PrivateKey:
    """Read the terminal key, refusing a file other users could read."""
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise KeyFileError(f"no terminal key at {path}") from exc
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077:
            raise KeyFileError(
                f"{path} can be read by other users (mode {info.st_mode & 0o777:o}); "
                f"run: chmod 600 {path}"
            )
        if info.st_uid != os.geteuid():
            raise KeyFileError(f"{path} belongs to another user")
        pem = os.read(fd, 64 * 1024)
    finally:
        os.close(fd)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        private_key = serialization.load_pem_private_key(pem, password=password)
    except TypeError as exc:
        if password is None:
            raise PassphraseError(
                f"the terminal key is encrypted: set {PASSPHRASE_ENV} to its passphrase"
            ) from exc
        raise PassphraseError("the terminal key is not encrypted; no passphrase is needed") from exc
    except ValueError as exc:
        if password is not None:
            raise PassphraseError("wrong passphrase for the terminal key") from exc
        raise KeyFileError(f"{path} is not a readable key file") from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 key")
    seed = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return keys.PrivateKey(seed)


def load_public_hex(data_dir: Path) -> str | None:
    """The public key written beside the key file, or None if there is none."""
    try:
        return (data_dir / PUBLIC_KEY_FILE).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None


def passphrase_from_env() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None
