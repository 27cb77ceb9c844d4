"""The counter's log file (issue #18.7): DIR/logs/machi-pos.log, rotating.

`setup(data_dir)` installs one rotating file handler on the root logger, so every module's
`logging.getLogger(__name__)` lands there: the counter's decisions (terminal.node logs each
record written: type, seq, amount, how it was decided; terminal.counter each refusal with
its code and amount), sync attempts and failures (sync.client), storage damage
(terminal.health), printer and reader errors (terminal.printer, cardreader). `tail(data_dir,
lines)` reads the last lines back for the admin screen, from the end of the file.

Nothing secret is meant to be logged; `Redactor`, on the handler, is the second guard: it
blanks what looks like a PIN or a key before a line is written (see its docstring), and
values registered with `forget_value` (the terminal's private key, by terminal.node)
wherever they appear.
"""

from __future__ import annotations

import base64
import logging
import logging.handlers
import os
import re
import threading
from pathlib import Path

LOG_DIR = "logs"
LOG_FILE = "machi-pos.log"
# A file is rotated at this size; this many older files are kept (machi-pos.log.1 ... .5):
# a busy day logs well under 1 MiB, so the files hold about a week.
LOG_MAX_BYTES = 1024 * 1024
LOG_BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
# `tail` reads the file backwards in blocks of this many bytes.
TAIL_BLOCK_BYTES = 8 * 1024
# The most lines `tail` gives, whatever is asked (the admin screen shows far fewer).
TAIL_MAX_LINES = 10_000
# What replaces a value the redactor took out.
REDACTED = "[redacted]"
# A secret registered with `forget_value` shorter than this is not searched for (it would
# blank common text); keys are 32 bytes and more.
MIN_SECRET_CHARS = 16

# A PIN named as such and its digits: "pin=1234", "PIN: 1234", "'pin': '1234'", "暗証番号 1234".
_NAMED_PIN = re.compile(r"(?i)(\bpin(?:_code)?\b|\bpasscode\b|暗証番号)(\W{0,4})(\d{3,12})(?!\d)")
# A passphrase or other secret named as such, with ":", "=" or "is", and its value.
_NAMED_SECRET = re.compile(
    r"(?i)(\b(?:passphrase|password|secret|seed|private[ _]?key)\b|パスワード)"
    r"(\s*(?:[:=]|\bis\b)\s*)"
    r"('[^']*'|\"[^\"]*\"|[^\s,;)}\]]+)")
# A private key written out: a PEM block, or a long run of hex or base64 after "key".
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
                  re.S)
_KEYISH = re.compile(r"(?i)(\bkey\b\s*[:=]?\s*)([0-9a-f]{64,}|[A-Za-z0-9+/_-]{43,}={0,2})")

_lock = threading.Lock()
_installed: dict[Path, logging.Handler] = {}
_forgotten: set[str] = set()


def forget_value(secret: str | bytes) -> None:
    """Never write `secret` (or, for bytes, its hex) to the log, wherever it appears."""
    if isinstance(secret, bytes):
        forms = {secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode().rstrip("="),
                 base64.urlsafe_b64encode(secret).decode().rstrip("=")}
    else:
        forms = {secret}
    with _lock:
        _forgotten.update(form for form in forms if len(form) >= MIN_SECRET_CHARS)


def redact(text: str) -> str:
    """`text` with what looks like a PIN or a key blanked (see `Redactor`)."""
    with _lock:
        forgotten = list(_forgotten)
    for secret in forgotten:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _PEM.sub(REDACTED, text)
    text = _NAMED_PIN.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _NAMED_SECRET.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _KEYISH.sub(lambda m: m.group(1) + REDACTED, text)


class Redactor(logging.Filter):
    """The second guard on the log file: a record's message (its arguments put in) and its
    traceback are written with any PIN or passphrase named as such ("pin=1234"), any
    private key in PEM, any long hex or base64 after the word "key", and every value
    registered with `forget_value` replaced by REDACTED. Bare digits are left alone:
    amounts and seqs look like PINs, and no code logs a PIN bare (the first guard)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is still logged, redacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_DIR / LOG_FILE


def setup(data_dir: Path, level: int = logging.INFO, max_bytes: int = LOG_MAX_BYTES,
          backup_count: int = LOG_BACKUP_COUNT) -> Path:
    """Log to DIR/logs/machi-pos.log from now on (rotating at `max_bytes`, keeping
    `backup_count` old files), at `level` and above; returns the file's path. Called
    again for the same directory it changes nothing. The directory is the owner's only."""
    path = log_path(data_dir)
    key = path.resolve()
    with _lock:
        if key in _installed:
            return path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        handler.setLevel(level)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(Redactor())
        _installed[key] = handler
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > level:
        root.setLevel(level)
    return path


def close(data_dir: Path) -> None:
    """Stop logging to `data_dir`'s file (tests, and a window that closes its terminal)."""
    with _lock:
        handler = _installed.pop(log_path(data_dir).resolve(), None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _last_lines(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of one file, read backwards in blocks from its end."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, read in blocks
    except FileNotFoundError:
        return []
    with handle:
        end = handle.seek(0, os.SEEK_END)
        data = b""
        position = end
        while position > 0 and data.count(b"\n") <= lines:
            step = min(TAIL_BLOCK_BYTES, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    text = data.decode("utf-8", errors="replace")
    found = text.splitlines()
    if position > 0 and found:
        found = found[1:]  # the first line read may be the end of a longer one
    return found[-lines:] if lines else []


def tail(data_dir: Path, lines: int) -> list[str]:
    """The log's last `lines` lines (at most TAIL_MAX_LINES), oldest first, without the
    line ends; from the newest rotated file too when the current one holds fewer. Reads
    from the end: the cost is the lines asked for, not the file's size."""
    lines = max(0, min(lines, TAIL_MAX_LINES))
    path = log_path(data_dir)
    found = _last_lines(path, lines)
    if len(found) < lines:
        older = _last_lines(path.with_name(path.name + ".1"), lines - len(found))
        found = older + found
    return found
