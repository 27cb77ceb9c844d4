"""What the status line says: online or not, unsent records, the last sync, and what is
wrong with the storage or the wall clock, in the cashier's language."""

from __future__ import annotations

import time
from typing import Any

from terminal.clock import CLOCK_BEHIND_TOLERANCE_S
from terminal.ui.screen import tr


def storage_warnings(report: Any) -> list[str]:
    """What is wrong with this terminal's storage (a terminal.health.HealthReport)."""
    from terminal.health import JOURNAL, MIB, STATE

    if report is None:
        return []
    out = []
    if report.damaged:
        parts = [tr("journal") if report.part_damaged(JOURNAL) else "",
                 tr("state") if report.part_damaged(STATE) else ""]
        out.append(tr("⛔ This terminal's records are damaged ({0}): no sales. "
                      "Manager: see the admin screen.")
                   .format(", ".join(p for p in parts if p)))
    if report.low_space:
        out.append(tr("⚠ Only {0} MiB left on this terminal's disk: free space "
                      "before it is full.").format(f"{report.free_bytes / MIB:.1f}"))
    return out


def duration(seconds: float) -> str:
    for text, size in ((tr("{0} d"), 86_400), (tr("{0} h"), 3_600), (tr("{0} min"), 60)):
        if seconds >= size:
            return text.format(round(seconds / size))
    return tr("{0} s").format(round(seconds))


def clock_warnings(check: Any) -> list[str]:
    """What is wrong with this terminal's wall clock (a terminal.clock.ClockCheck)."""
    if check is None or check.ok:
        return []
    out = []
    if check.behind_ledger_s > CLOCK_BEHIND_TOLERANCE_S:
        out.append(tr("⚠ This terminal's clock is {0} behind the ledger's time: set "
                      "it right (sales are dated by the ledger's time meanwhile).")
                   .format(duration(check.behind_ledger_s)))
    if check.behind_record_s > CLOCK_BEHIND_TOLERANCE_S:
        out.append(tr("⚠ This terminal's clock is {0} behind its last sale: set it "
                      "right.").format(duration(check.behind_record_s)))
    if check.ahead:
        out.append(tr("⚠ This terminal's clock is {0} ahead of the ledger's time: "
                      "app codes are refused until it is set right.")
                   .format(duration(check.ahead_s)))
    return out


def sync_words(status: Any, terminal_id: str, ready: bool) -> str:
    """The first line: the sync worker's status (sync.client.SyncStatus), or starting."""
    if status is None:
        return tr("Terminal {0} · starting…").format(terminal_id) if not ready else \
            tr("Terminal {0} · ready · first sync running…").format(terminal_id)
    if status.last_success:
        ago = max(0, int(time.time() - status.last_success))
        when = tr("last sync {0} s ago").format(ago) if ago < 120 else \
            tr("last sync {0} min ago").format(ago // 60)
    else:
        when = tr("never synced")
    state = tr("● Online") if status.online else tr("○ Offline")
    return tr("{0} · {1} records not yet sent · {2} · terminal {3}").format(
        state, status.pending, when, terminal_id)
