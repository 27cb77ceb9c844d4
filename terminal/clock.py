"""The terminal's trusted clock (DESIGN §10): the wall clock cannot be turned back.

Whoever stands at the counter can set the wall clock. Turned back, it would make an old
snapshot look fresh (so the offline limits for a fresh one apply) and an old screenshot of
an app code look live; records would go out of order. So time here is anchored to the
ledger's signed time:

- **Anchor.** Every snapshot page, the enrollment answer and each online wallet check carry
  the ledger's `server_time_ms`. The anchor is that time and the reading of an *elapsed*
  clock at receipt. Ledger time now is at least `ledger_ms + (elapsed now - elapsed then)`.
  The elapsed clock is CLOCK_BOOTTIME where there is one (Linux): it counts time asleep,
  unlike CLOCK_MONOTONIC, and no user can set it. The anchor was taken after the ledger
  wrote its time, so it runs behind the ledger's time by the answer's trip, never ahead.
- **Across a restart.** The anchor is persisted in the state store with the kernel's boot id
  (Linux's, sync.platform.boot; elsewhere none). The same boot: the elapsed clock has run on, so the
  stored pair is still an anchor. Another boot (or no boot id): the time elapsed since is
  unknown, and the stored ledger time is only a floor ("elapsed unknown"). While the
  terminal runs, the sync worker re-persists the anchor moved on by the elapsed clock
  (`heartbeat`, every `HEARTBEAT_S`), so after a reboot the floor is when the terminal was
  last running, not when it last pulled: a wall clock set back across a reboot gains at
  most the time the machine was off.
- **Trusted now** = max(wall clock, the anchor's ledger time (or the floor), the last
  record's `at`). Snapshot age, app-code freshness, the business day and new records' `at`
  use it.
- **Reported.** A wall clock behind the ledger's time or behind the last record by more than
  `CLOCK_BEHIND_TOLERANCE_S` is shown in `status` and on screen (`ClockCheck`); so is a wall
  clock ahead of a known ledger time by more than `CLOCK_AHEAD_TOLERANCE_S` (app codes are
  then refused as stale).

The journal keeps record times non-decreasing on its own as well (terminal.journal).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sync.platform import boot
from terminal.errors import TerminalError

log = logging.getLogger(__name__)

# The state store's key for the persisted anchor.
ANCHOR_KEY = "clock_anchor"
# A wall clock this far behind the trusted time is only reported beyond it: the anchor
# lags the ledger by an answer's trip, and two honest clocks differ by seconds.
CLOCK_BEHIND_TOLERANCE_S = 120.0
# A wall clock ahead of a known ledger time by more than this is reported (it refuses app
# codes as stale: their freshness window is tokens.FRESH_WINDOW_S).
CLOCK_AHEAD_TOLERANCE_S = 120.0
_MS_PER_S = 1000
# How often a running terminal re-persists its anchor moved on (see `heartbeat`).
HEARTBEAT_S = 60.0


class AnchorStore(Protocol):
    """Where the anchor survives a restart (terminal.state.StateStore)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class ClockSources:
    """Where the time comes from; tests move the wall clock by giving their own.

    `wall`: Unix seconds (anyone can set it). `elapsed`: seconds from a clock that never
    goes back and counts time asleep, relative to the boot `boot_id` names; `boot_id`: None
    where the boot cannot be told (then a persisted anchor is a floor only).
    """

    wall: Callable[[], float] = time.time
    elapsed: Callable[[], float] = boot.elapsed_s  # sync.platform.boot: per OS
    boot_id: Callable[[], str | None] = boot.boot_id


@dataclass(frozen=True)
class ClockCheck:
    """What the terminal knows about its clock at one moment (Unix seconds)."""

    wall_s: float
    trusted_s: float
    # Ledger time now as the anchor has it (a lower bound), None with no anchor.
    ledger_s: float | None
    # Whether `ledger_s` counts the time since the anchor (False: a floor from before a reboot).
    elapsed_known: bool
    last_record_s: float | None

    @property
    def behind_ledger_s(self) -> float:
        return 0.0 if self.ledger_s is None else max(0.0, self.ledger_s - self.wall_s)

    @property
    def behind_record_s(self) -> float:
        return 0.0 if self.last_record_s is None else max(0.0, self.last_record_s - self.wall_s)

    @property
    def ahead_s(self) -> float:
        if self.ledger_s is None or not self.elapsed_known:
            return 0.0
        return max(0.0, self.wall_s - self.ledger_s)

    @property
    def behind(self) -> bool:
        return max(self.behind_ledger_s, self.behind_record_s) > CLOCK_BEHIND_TOLERANCE_S

    @property
    def ahead(self) -> bool:
        return self.ahead_s > CLOCK_AHEAD_TOLERANCE_S

    @property
    def ok(self) -> bool:
        return not self.behind and not self.ahead

    def text(self) -> str:
        """One line for `status` and the log, in English (the UI translates its own)."""
        trusted = datetime.fromtimestamp(self.trusted_s).astimezone().isoformat(
            timespec="seconds")
        source = "no ledger time yet" if self.ledger_s is None else \
            "anchored to the ledger's time" if self.elapsed_known else \
            "ledger time from before a restart of the machine (time since unknown)"
        line = f"clock: {trusted} ({source})"
        if self.behind_ledger_s > CLOCK_BEHIND_TOLERANCE_S:
            line += (f"; WARNING: the wall clock is {describe(self.behind_ledger_s)} behind "
                     "the ledger's time")
        if self.behind_record_s > CLOCK_BEHIND_TOLERANCE_S:
            line += (f"; WARNING: the wall clock is {describe(self.behind_record_s)} behind "
                     "the last record")
        if self.ahead:
            line += (f"; WARNING: the wall clock is {describe(self.ahead_s)} ahead of the "
                     "ledger's time (app codes will be refused as too old)")
        return line


def describe(seconds: float) -> str:
    """A duration, rounded, in the largest unit it fills: '3 d', '5 h', '12 min', '40 s'."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{round(seconds / size)} {unit}"
    return f"{round(seconds)} s"


class BadLedgerTime(TerminalError):
    """A ledger answer's `server_time_ms` is not a time (not a non-negative integer)."""

    code = "bad_ledger_time"


class TrustedClock:
    """Thread-safe: the sync worker anchors it, the counter reads it."""

    def __init__(self, store: AnchorStore | None = None,
                 sources: ClockSources | None = None) -> None:
        self.sources = sources or ClockSources()
        self._store = store
        self._lock = threading.Lock()
        self._anchor: tuple[int, float] | None = None  # (ledger ms, elapsed s at receipt)
        self._ledger_floor_s: float | None = None  # a stored ledger time, elapsed unknown
        self._last_record_s: float | None = None
        self._last_heartbeat = float("-inf")
        if store is not None:
            self._load(store.get(ANCHOR_KEY))

    def _load(self, saved: Any) -> None:
        if not isinstance(saved, dict):
            return
        ledger_ms, boot, at_s = saved.get("ledger_ms"), saved.get("boot_id"), \
            saved.get("elapsed_s")
        if type(ledger_ms) is not int or ledger_ms < 0:
            log.warning("clock: the stored anchor is damaged; ignored")
            return
        here = self.sources.boot_id()
        if here is not None and boot == here and isinstance(at_s, int | float) and \
                0 <= at_s <= self.sources.elapsed():
            self._anchor = (ledger_ms, float(at_s))  # the same boot: the clock ran on
        else:
            self._ledger_floor_s = ledger_ms / _MS_PER_S
            log.info("clock: the machine restarted since the ledger's time was anchored; the "
                     "time since is unknown")

    # --- taking the ledger's time -----------------------------------------------------------

    def anchor(self, ledger_ms: Any, persist: bool = True) -> None:
        """Take a ledger answer's signed `server_time_ms`; with `persist`, keep it for a
        restart too."""
        if type(ledger_ms) is not int or ledger_ms < 0:
            raise BadLedgerTime(f"the ledger's time {ledger_ms!r} is not a time in ms")
        elapsed = self.sources.elapsed()
        with self._lock:
            self._anchor = (ledger_ms, elapsed)
        if persist and self._store is not None:
            self._store.put(ANCHOR_KEY, {"ledger_ms": ledger_ms, "elapsed_s": elapsed,
                                         "boot_id": self.sources.boot_id()})

    def heartbeat(self) -> None:
        """Persist the ledger's time as it runs on (the anchor plus the elapsed clock), at
        most every HEARTBEAT_S: after a reboot that is the floor. Only ledger-derived time
        is kept, never the wall clock, which whoever stands at the counter can set."""
        if self._store is None:
            return
        elapsed = self.sources.elapsed()
        with self._lock:
            ledger = self._ledger_now_locked(elapsed)
            if ledger is None or elapsed - self._last_heartbeat < HEARTBEAT_S:
                return
            self._last_heartbeat = elapsed
        self._store.put(ANCHOR_KEY, {"ledger_ms": int(ledger * _MS_PER_S),
                                     "elapsed_s": elapsed, "boot_id": self.sources.boot_id()})

    def note_record(self, at: datetime | str | None) -> None:
        """A record's `at` (this terminal's newest): trusted time never falls below it."""
        if at is None:
            return
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        seconds = moment.timestamp()
        with self._lock:
            self._last_record_s = max(self._last_record_s or seconds, seconds)

    # --- reading ----------------------------------------------------------------------------

    def _ledger_now_locked(self, elapsed: float) -> float | None:
        if self._anchor is None:
            return None
        ledger_ms, at = self._anchor
        return ledger_ms / _MS_PER_S + max(0.0, elapsed - at)

    def now_s(self) -> float:
        """Trusted Unix seconds: never before the ledger's time or the last record."""
        return self.check().trusted_s

    def now_ms(self) -> int:
        return int(self.now_s() * _MS_PER_S)

    def local_now(self) -> datetime:
        """Trusted time as local time with its UTC offset (the journal's clock)."""
        return datetime.fromtimestamp(self.now_s()).astimezone()

    def check(self) -> ClockCheck:
        wall = self.sources.wall()
        elapsed = self.sources.elapsed()
        with self._lock:
            ledger = self._ledger_now_locked(elapsed)
            known = ledger is not None
            if ledger is None:
                ledger = self._ledger_floor_s
            elif self._ledger_floor_s is not None:
                ledger = max(ledger, self._ledger_floor_s)
            last = self._last_record_s
        return ClockCheck(wall, max(wall, ledger or 0.0, last or 0.0), ledger, known, last)
