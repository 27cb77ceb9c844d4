"""Small helpers shared by the benchmarks: percentiles, the machine's own limits, output."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from sync import keys

# How long each reference measurement of the machine runs.
REFERENCE_SECONDS = 1.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ed25519_rates(seconds: float = REFERENCE_SECONDS) -> tuple[float, float]:
    """Single-core Ed25519 signs/s and verifies/s (sync.keys, libsodium), measured now."""
    key = keys.generate()
    public = key.public_key()
    message = b"x" * 400
    sig = key.sign_raw(message)
    rates = []
    for op in (lambda: key.sign_raw(message), lambda: public.verify_raw(message, sig)):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(100):
                op()
            count += 100
        rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1]


def filesystem_of(path: Path) -> str:
    """The filesystem type holding `path` (from /proc/mounts), or 'unknown'."""
    best, fstype = "", "unknown"
    target = str(path.resolve())
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and target.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, fstype = parts[1], parts[2]
    except OSError:
        pass
    return fstype


def write_json(path: str | os.PathLike | None, figures: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", "utf-8")
