"""Keyboard-wedge scanner parser: tell a scanner's burst of keys from a person typing.

A USB barcode / QR scanner in keyboard mode "types" its payload a few milliseconds per key and
ends with Enter; a person types a key every 100-300 ms. The parser is pure logic fed
(key, timestamp) pairs; the Qt event filter in terminal/ui feeds it and delivers whatever comes
back as `PassThrough` to the focused widget. A key is held back at most `max_gap_s` before it
is known not to start a scan, so people feel no delay; the UI calls `poll(now)` from a timer to
release held keys when no further key arrives.

A Japanese IME left on turns the scanner's ASCII into full-width characters ("ＡＢＣ１２３"),
sometimes committed several at once; NFKC normalisation folds them back to ASCII.
"""

from __future__ import annotations

import math
import threading
import time
import unicodedata
from dataclasses import dataclass

from cardreader.errors import WedgeInputError
from cardreader.events import (
    MAX_PAYLOAD_CHARS,
    Callback,
    Credential,
    CredentialKind,
    ReaderStatus,
)

# Longest pause between two keys of one scan. Scanners send a key every 5-20 ms (some are
# configurable up to ~30 ms); people rarely type two keys under 50 ms apart, and a few
# fast keys are still released as typing unless the whole burst ends in Enter.
MAX_INTER_KEY_GAP_S = 0.05
# Shortest scan: our card numbers and tokens are longer, and a person typing "12" + Enter
# very fast must not become a scan.
MIN_SCAN_LENGTH = 4
# Longest scan we accept (an app token is ~300 characters); past this the burst is typing
# or a stuck key, and is released as keys.
MAX_SCAN_LENGTH = MAX_PAYLOAD_CHARS
# Key names (as the Qt layer reports them) and characters that end a scan.
TERMINATOR_KEYS: tuple[str, ...] = ("Enter", "Return", "KP_Enter", "\r", "\n")
# Longest key name or committed IME text accepted in one event.
MAX_KEY_CHARS = 64
# Named keys that end any burst and pass through (a scanner never sends them mid-payload).
# Any other multi-character key is text an IME committed at once.
NAMED_KEYS: frozenset[str] = frozenset(
    [
        "Backspace",
        "Tab",
        "Backtab",
        "Escape",
        "Delete",
        "Insert",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "Left",
        "Right",
        "Up",
        "Down",
        "Menu",
        "Space",
    ]
    + [f"F{n}" for n in range(1, 25)]
)
# Modifier keys carry no text: a scanner presses Shift for every capital letter, so they are
# ignored rather than allowed to break a burst.
MODIFIER_KEYS: frozenset[str] = frozenset(
    ["Shift", "Control", "Alt", "AltGr", "Meta", "CapsLock", "NumLock"]
)


@dataclass(frozen=True, slots=True)
class Scan:
    """A complete scan: the payload with prefix/suffix stripped, and its first/last key times."""

    text: str
    started_at: float
    ended_at: float


@dataclass(frozen=True, slots=True)
class PassThrough:
    """A key that is not part of a scan; the UI delivers it to the focused widget as typed."""

    key: str
    at: float


WedgeOutput = Scan | PassThrough


def normalise(text: str) -> str:
    """Full-width ASCII and the ideographic space to their half-width forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


class WedgeParser:
    """Turns (key, time) events into Scans and PassThrough keys, in the order they were typed.

    `key` is the key's text when it has any (a character, or text an IME committed), else
    its name ("Enter", "Backspace", "Tab", "Shift"). Terminators end a scan; other NAMED_KEYS
    end any burst and pass through; MODIFIER_KEYS are ignored.
    With a prefix or suffix configured (scanners can be set to send one, which makes scans
    unmistakable), a burst that lacks them is passed through as typing.
    """

    def __init__(
        self,
        *,
        prefix: str = "",
        suffix: str = "",
        max_gap_s: float = MAX_INTER_KEY_GAP_S,
        min_length: int = MIN_SCAN_LENGTH,
        max_length: int = MAX_SCAN_LENGTH,
        terminators: tuple[str, ...] = TERMINATOR_KEYS,
    ) -> None:
        assert max_gap_s > 0 and 0 < min_length <= max_length
        self.prefix = normalise(prefix)
        self.suffix = normalise(suffix)
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.max_length = max_length
        self.terminators = frozenset(terminators)
        self._held: list[PassThrough] = []  # the burst so far, raw keys as typed
        self._held_chars = 0
        self._last_at: float | None = None

    @property
    def pending(self) -> bool:
        """True while keys are held back waiting to see whether they are a scan."""
        return bool(self._held)

    def feed(self, key: str, at: float) -> list[WedgeOutput]:
        """One key event; returns what is now decided (possibly nothing yet)."""
        self._check(key, at)
        if key in MODIFIER_KEYS:
            return []
        # A clock that steps back (or equal stamps) counts as no gap at all.
        at = at if self._last_at is None else max(at, self._last_at)
        out = self.poll(at)
        self._last_at = at
        if key in self.terminators:
            out.extend(self._finish(PassThrough(key, at)))
            return out
        if key in NAMED_KEYS:
            out.extend(self._release())
            out.append(PassThrough(key, at))
            return out
        self._held.append(PassThrough(key, at))
        self._held_chars += len(normalise(key))
        if self._held_chars > self.max_length:
            out.extend(self._release())
        return out

    def poll(self, now: float) -> list[WedgeOutput]:
        """Release held keys once `max_gap_s` passed without the next key; call from a timer.

        `now` may be math.inf to release everything (e.g. when the window loses focus)."""
        if not (isinstance(now, float) and math.isinf(now) and now > 0):
            _check_time(now)
        if self._held and self._last_at is not None and now - self._last_at > self.max_gap_s:
            return self._release()
        return []

    def _finish(self, terminator: PassThrough) -> list[WedgeOutput]:
        text = self._strip(normalise("".join(k.key for k in self._held)))
        if text is None or len(text) < self.min_length:
            return [*self._release(), terminator]
        scan = Scan(text=text, started_at=self._held[0].at, ended_at=terminator.at)
        self._held, self._held_chars = [], 0
        return [scan]

    def _strip(self, text: str) -> str | None:
        """The payload without the configured prefix/suffix; None when they are missing."""
        if self.prefix:
            if not text.startswith(self.prefix):
                return None
            text = text[len(self.prefix) :]
        if self.suffix:
            if not text.endswith(self.suffix):
                return None
            text = text[: -len(self.suffix)]
        return text

    def _release(self) -> list[WedgeOutput]:
        held, self._held, self._held_chars = self._held, [], 0
        return list(held)

    @staticmethod
    def _check(key: object, at: object) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            raise WedgeInputError(f"a key must be 1 to {MAX_KEY_CHARS} characters of text")
        _check_time(at)


def _check_time(at: object) -> None:
    if isinstance(at, bool) or not isinstance(at, int | float) or math.isnan(at):
        raise WedgeInputError("a key's timestamp must be a number of seconds")
    if math.isinf(at):
        raise WedgeInputError("a key's timestamp must be finite")


class WedgeReader:
    """The wedge parser as a Reader: scans become Credentials on the callback.

    It has no thread of its own: key events already arrive on the UI thread, and the parser
    only does string work, so the callback is called on the thread that calls feed()/poll().
    The scanner can't tell us the symbology, so `kind` is configured (default "barcode").
    """

    def __init__(
        self,
        parser: WedgeParser | None = None,
        *,
        kind: CredentialKind = "barcode",
        name: str = "wedge",
    ) -> None:
        self.name = name
        self.kind: CredentialKind = kind
        self.parser = parser or WedgeParser()
        self._callback: Callback | None = None
        self._lock = threading.Lock()

    def start(self, callback: Callback) -> None:
        self._callback = callback
        callback(ReaderStatus(self.name, "ready", "keyboard-wedge scanner input is watched"))

    def stop(self) -> None:
        self._callback = None

    def feed(self, key: str, at: float) -> list[PassThrough]:
        """One key event; returns the keys the UI must deliver to the focused widget."""
        with self._lock:
            return self._route(self.parser.feed(key, at))

    def poll(self, now: float | None = None) -> list[PassThrough]:
        with self._lock:
            return self._route(self.parser.poll(time.monotonic() if now is None else now))

    def _route(self, outputs: list[WedgeOutput]) -> list[PassThrough]:
        keys: list[PassThrough] = []
        for item in outputs:
            if isinstance(item, PassThrough):
                keys.append(item)
            elif self._callback is not None:
                self._callback(
                    Credential(
                        kind=self.kind, payload=item.text, source=self.name, read_at=item.ended_at
                    )
                )
        return keys
