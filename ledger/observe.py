"""What an operator sees of a running ledger: its log and its metrics.

Log: one line per request (`request route=... status=... ms=... terminal=...`) and one per
ingest batch (`ingest terminal=... records=... accepted=... duplicates=... rejected=...
flags=... ms=...`), as key=value pairs after the time and level, to standard error or a
file rotated by size. A line holds ids, counts, codes and times only: never a request's
headers or body, so never the admin token, a PIN (hashed or not), a signature or a key.

Metrics: Prometheus text at /metrics (prometheus-client), for the admin bearer token only.
Not "loopback only": behind the reverse proxy (deploy/) every request comes from
127.0.0.1, so a loopback check would show the ledger's figures to anyone on the internet;
the token is what the ledger already checks for its admin endpoints, and Prometheus sends it
with `authorization: {credentials_file: ...}`. With several worker processes the figures are
summed over them (prometheus-client's multiprocess mode, in a directory `serve` makes).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("ledger")

LOG_LEVELS = ("debug", "info", "warning", "error")
# Where `serve` tells its worker processes how to log.
LOG_LEVEL_ENV = "MACHI_LEDGER_LOG_LEVEL"
LOG_FILE_ENV = "MACHI_LEDGER_LOG_FILE"
# A log file is rotated at this size, keeping this many old ones (ledger.log.1 ...).
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_KEEP = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# prometheus-client's multiprocess mode reads this (set by `serve` for --workers > 1).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Ingest time of a batch, seconds: a one-record sale push to a 1,000-record catch-up.
INGEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Items (wallets + cards + campaigns) in a snapshot page; a page holds at most
# service.SNAPSHOT_PAGE_MAX of each feed.
SNAPSHOT_BUCKETS = (0, 1, 10, 100, 500, 1000, 2000, 5000, 10000)


def setup_logging(level: str = "info", file: Path | str | None = None) -> None:
    """The process's log: level by name, to `file` (rotated) or standard error."""
    handler: logging.Handler
    if file:
        handler = logging.handlers.RotatingFileHandler(
            file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_KEEP, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def setup_from_env() -> None:
    setup_logging(os.environ.get(LOG_LEVEL_ENV, "warning"), os.environ.get(LOG_FILE_ENV))


def fields(**values) -> str:
    """key=value pairs for a log line (values without spaces: ids, counts, codes)."""
    return " ".join(f"{key}={'-' if value is None or value == '' else value}"
                    for key, value in values.items())


REQUESTS = Counter("machi_ledger_requests", "HTTP requests by route and status",
                   ["route", "status"])
RECORDS = Counter("machi_ledger_records_ingested", "records taken in batches, by outcome "
                  "(created, duplicate, rejected)", ["outcome"])
REFUSALS = Counter("machi_ledger_refusals", "requests and records refused, by reason code",
                   ["reason"])
FORKS = Counter("machi_ledger_forks", "records refused as forks (the terminal is suspended)")
BATCH_FLAGS = Counter("machi_ledger_flags_raised", "flags raised by ingested batches, by kind",
                      ["kind"])
INGEST_SECONDS = Histogram("machi_ledger_ingest_seconds", "time to take a batch",
                           buckets=INGEST_BUCKETS_S)
SNAPSHOT_ITEMS = Histogram("machi_ledger_snapshot_page_items",
                           "wallets, cards and campaigns in a snapshot page",
                           buckets=SNAPSHOT_BUCKETS)
HELPER_UP = Gauge("machi_ledger_verifier_helper_up",
                  "1 while this process's record-checking helper runs", multiprocess_mode="max")
HELPER_BATCHES = Gauge("machi_ledger_verifier_shared_batches",
                       "batches the checking helper took part in", multiprocess_mode="sum")


class _Stored:
    """Figures read from the database at each scrape (the same whichever worker answers)."""

    def __init__(self, db) -> None:
        self.db = db

    def collect(self):
        held = GaugeMetricFamily("machi_ledger_flags", "flags stored, by kind and whether "
                                 "resolved", labels=["kind", "resolved"])
        with self.db.reading() as conn:
            rows = conn.all("SELECT kind, resolved_us IS NOT NULL, COUNT(*) FROM flags "
                            "GROUP BY kind, resolved_us IS NOT NULL")
        for kind, resolved, count in rows:
            held.add_metric([kind, "yes" if resolved else "no"], count)
        yield held


def registry(db) -> CollectorRegistry:
    """What /metrics shows: this process's figures (or all workers' in multiprocess
    mode) and the stored flags."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        from prometheus_client import REGISTRY as reg  # noqa: N811
    found = CollectorRegistry()
    found.register(_Merged(reg, _Stored(db)))
    return found


class _Merged:
    def __init__(self, *sources) -> None:
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def exposition(reg: CollectorRegistry, verifier) -> tuple[bytes, str]:
    helper = getattr(verifier, "_helper", None)
    HELPER_UP.set(1 if helper is not None and helper.alive() else 0)
    HELPER_BATCHES.set(verifier.shared_batches)
    return generate_latest(reg), CONTENT_TYPE_LATEST
