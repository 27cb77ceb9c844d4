"""Ed25519 private keys at rest, for terminals and the ledger alike.

One PEM (PKCS#8) file, readable and writable by its owner only, optionally encrypted with a
passphrase; a key file that other users could read, or that another user owns, is refused,
as ssh does. A new key never replaces an existing one. The public key is written beside it
(`<name>.pub`, hex) so checks that need no secret never touch the private key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync import files, keys
from sync.errors import SyncPackageError

KEY_FILE_MODE = files.PRIVATE_FILE_MODE
MIN_PASSPHRASE_CHARS = 8


class KeyFileError(SyncPackageError):
    """The key file is missing, unsafe or unreadable."""

    code = "key_file"


class PassphraseError(KeyFileError):
    """The key file is encrypted and the passphrase is missing or wrong."""

    code = "passphrase"


def fsync_dir(path: Path) -> None:
    """Make a new or renamed entry in `path` durable (a file's fsync alone does not)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    """Write a new owner-only file durably; refuse to replace an existing one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
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
    fsync_dir(path.parent)


def public_path(path: Path) -> Path:
    return path.with_name(path.stem + ".pub")


def create(path: Path, passphrase: str | None = None,
           private_key: keys.PrivateKey | None = None) -> keys.PrivateKey:
    """Write a new key (`private_key`, or a fresh one) at `path`, with its public key beside
    it, and return it."""
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise PassphraseError(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    files.private_dir(path.parent)
    private_key = private_key or keys.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    pem = Ed25519PrivateKey.from_private_bytes(private_key.seed()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    _write_private(path, pem)
    public_path(path).write_text(private_key.public_key().hex + "\n", encoding="ascii")
    return private_key


def _read_owner_only(path: Path) -> bytes:
    try:
        return files.read_secret(path, "key file")
    except FileNotFoundError as exc:
        raise KeyFileError(f"no key at {path}") from exc
    except files.UnsafeFileError as exc:
        raise KeyFileError(str(exc)) from exc


def load(path: Path, passphrase: str | None = None, passphrase_env: str = "") -> keys.PrivateKey:
    """Read a key file, refusing one other users could read. `passphrase_env` names the
    environment variable to mention when a passphrase is needed."""
    pem = _read_owner_only(path)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        loaded = serialization.load_pem_private_key(pem, password=password)
    except TypeError as exc:
        if password is None:
            hint = f": set {passphrase_env} to its passphrase" if passphrase_env else ""
            raise PassphraseError(f"the key at {path} is encrypted{hint}") from exc
        raise PassphraseError(f"the key at {path} is not encrypted; give no passphrase") from exc
    except ValueError as exc:
        if password is not None:
            raise PassphraseError(f"wrong passphrase for the key at {path}") from exc
        raise KeyFileError(f"{path} is not a readable key file") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 key")
    seed = loaded.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return keys.PrivateKey(seed)


def load_public_hex(path: Path) -> str | None:
    """The public key written beside a key file, or None if there is none."""
    try:
        return public_path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
