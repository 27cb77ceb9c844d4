"""Benchmark: the terminal's side of sync (DESIGN §9).

1. Push: one enrolled terminal with a backlog of records (offline sales made through the
   real counter services on a seeded demo region, topped up with cash-drawer moves where the
   wallets' offline allowance runs out) pushes it to the real ledger process
   (`python -m ledger serve`, SQLite, one worker) with the real client (sync.client.push_all
   in batches of PUSH_BATCH, PUSH_IN_FLIGHT at a time, every answer checked, every signed head
   kept). The clock runs
   from the first request to the last head kept. The rate is set against the single-core
   Ed25519 verify rate measured in the same run (target >= 0.5: the ledger verifies every
   record, so this says how much of that the rest of the path costs).
2. Snapshot: a terminal applies a snapshot of `--wallets` wallets (target <= 3 s for
   100,000). The pages are built in memory in the ledger's wire format (ledger.service
   snapshot(): cursor, more, server_time_ms, wallets with lots and debt, cards, campaigns,
   merchant, ledger_keys), SNAPSHOT_PAGE_MAX wallets a page, because seeding a real ledger
   with 100,000 wallets takes far longer than the measurement. The clock covers the
   terminal's one check of each page (sync.wire.check_snapshot_page, as
   LedgerClient.snapshot checks it) and StateStore.apply_snapshot over every page into a
   fresh state.db, not building the pages.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.ledger import LedgerServer
from bench.stats import ed25519_rates, filesystem_of, write_json
from ledger import check, demo, service
from ledger.db import Database
from ledger.schema import migrate
from sync import bodies, clitools, ids, wire
from sync.client import LedgerClient, push_all
from terminal import keystore, simulate
from terminal.journal import Journal
from terminal.node import Node, enroll
from terminal.state import StateStore

DEFAULT_RECORDS = 10_000
DEFAULT_WALLETS = 100_000
# Demo wallets seeded per record of the backlog, within bounds: enough wallets that most
# sales find value, few enough that seeding stays short.
RECORDS_PER_DEMO_WALLET = 10
MIN_DEMO_WALLETS, MAX_DEMO_WALLETS = 40, 1_000
SHOP = "M-SAKURA"
SEED = 20261122
# One server process: a single terminal pushes one batch at a time.
SERVER_WORKERS = 1
TARGET_PUSH_VS_VERIFY = 0.5
TARGET_SNAPSHOT_S = 3.0
TARGET_SNAPSHOT_WALLETS = 100_000
# The snapshot's make-up: lots per wallet, the share of wallets with a card (LOVESAIJO-like,
# as the demo region), how many of the cards also have an NFC UID.
LOTS_PER_WALLET = (1, 3)
CARD_SHARE = 0.4
NFC_SHARE = 0.5
POCKETS = ("charged", "points", "premium_common", "premium_exclusive")
VOUCHER_ENDS = "2027-02-28"


# --- 1. push -------------------------------------------------------------------------------


def _backlog(data_dir: Path, records: int) -> int:
    """`records` unacknowledged records made at the counter, offline; returns the last seq."""
    with Node(data_dir, offline=True) as node:
        target = node.journal.last_seq + records
        simulate.run(node, records, seed=SEED, sync=False)
        moves = 0
        while node.journal.last_seq < target:
            node.counter.cash_move(1_000, "in" if moves % 2 else "out", "float")
            moves += 1
        assert node.journal.pending_count() == records
        return node.journal.last_seq


def measure_push(tmp: Path, records: int) -> dict[str, Any]:
    wallets = max(MIN_DEMO_WALLETS, min(MAX_DEMO_WALLETS, records // RECORDS_PER_DEMO_WALLET))
    db_url = f"sqlite:///{tmp / 'ledger.db'}"
    db = Database(db_url)
    migrate(db)
    demo.seed_demo(db, wallets)
    code = service.create_terminal(db, SHOP)["code"]
    db.close()
    server = LedgerServer(db_url, tmp / "ledger-home", SERVER_WORKERS).start()
    try:
        data_dir = tmp / "terminal"
        terminal_id = enroll(data_dir, server.url, code)["terminal_id"]
        with Node(data_dir) as node:
            node.sync_once()  # the first snapshot, so offline sales know the wallets
        made = time.perf_counter()
        last = _backlog(data_dir, records)
        made = time.perf_counter() - made
        with Journal.open(data_dir) as journal:
            client = LedgerClient(server.url, terminal_id, keystore.load_key(data_dir),
                                  journal.ledger_keys())
            try:
                started = time.perf_counter()
                refused = push_all(client, journal)
                seconds = time.perf_counter() - started
            finally:
                client.close()
            acked, pending = journal.acked_seq(), journal.pending_count()
        if refused or acked != last or pending:
            raise RuntimeError(f"push incomplete: acked {acked} of {last}, {pending} pending, "
                               f"refused {refused[:3]}")
        db = Database(db_url)
        report = check.check(db)
        db.close()
        if not report.ok:
            raise RuntimeError(f"ledger check failed: {report.problems[:5]}")
    finally:
        server.stop()
    return {"records": records, "push_s": seconds, "push_per_s": records / seconds,
            "demo_wallets": wallets, "backlog_made_s": made}


# --- 2. snapshot ---------------------------------------------------------------------------


def snapshot_pages(wallets: int, page_size: int, seed: int = SEED) -> list[dict[str, Any]]:
    """A full snapshot of `wallets` wallets as the ledger pages it (ledger.service.snapshot)."""
    rng = random.Random(seed)
    merchant = {"merchant_id": SHOP, "name": "さくら商店", "class": "small", "fee_plan": 1,
                "config": dict(service.DEFAULT_MERCHANT_CONFIG)}
    ledger_keys = [{"key_id": "0" * 16, "public_key": "00" * 32, "status": "active"}]
    now_ms = int(time.time() * 1000)
    pages = []
    for start in range(0, wallets, page_size):
        page_wallets, page_cards = [], []
        for index in range(start, min(wallets, start + page_size)):
            wallet_id = f"W-{ids.new_id()}"
            lots = []
            for _ in range(rng.randint(*LOTS_PER_WALLET)):
                pocket = rng.choice(POCKETS)
                lots.append({
                    "lot": f"L-{ids.new_id()}", "pocket": pocket,
                    "remaining": rng.randrange(1, 200) * 100,
                    "expires": None if pocket == "charged" else VOUCHER_ENDS,
                    "classes": ["small"] if pocket == "premium_exclusive"
                    else list(bodies.MERCHANT_CLASSES)})
            page_wallets.append({"wallet": wallet_id, "status": "active",
                                 "version": rng.randint(1, 5), "lots": lots, "debt": 0})
            if rng.random() < CARD_SHARE:
                page_cards.append({"card": f"{9_000_000_000_000_000 + index}",
                                   "wallet": wallet_id, "status": "active",
                                   "nfc_uid": f"{index:016X}" if rng.random() < NFC_SHARE
                                   else None, "version": 1})
        pages.append({"cursor": f"bench-{start}", "more": start + page_size < wallets,
                      "server_time_ms": now_ms, "wallets": page_wallets, "cards": page_cards,
                      "campaigns": demo.CAMPAIGNS if start == 0 else [],
                      "merchant": merchant, "ledger_keys": ledger_keys})
    return pages


def measure_snapshot(tmp: Path, wallets: int) -> dict[str, Any]:
    pages = snapshot_pages(wallets, service.SNAPSHOT_PAGE_MAX)
    state = StateStore(tmp / "snapshot-terminal")
    try:
        started = time.perf_counter()
        for page in pages:
            wire.check_snapshot_page(page)
            state.apply_snapshot(page, 1)
        seconds = time.perf_counter() - started
        counts = state.counts()
    finally:
        state.close()
    if counts["wallets"] != wallets:
        raise RuntimeError(f"the snapshot left {counts['wallets']} wallets, not {wallets}")
    return {"wallets": wallets, "pages": len(pages), "lots": counts["lots"],
            "cards": counts["cards"], "snapshot_s": seconds}


# --- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = clitools.Parser(prog="python -m bench sync", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=clitools.positive, default=DEFAULT_RECORDS,
                        help="records in the backlog pushed")
    parser.add_argument("--wallets", type=clitools.positive, default=DEFAULT_WALLETS,
                        help="wallets in the snapshot applied")
    parser.add_argument("--dir", type=Path, help="where to put the databases (a real disk)")
    parser.add_argument("--json", type=clitools.writable_file,
                        help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.records < 1 or args.wallets < 1:
        parser.error("--records and --wallets must be at least 1")

    with tempfile.TemporaryDirectory(prefix="machi-bench-sync-", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        _, verify_per_s = ed25519_rates()
        push = measure_push(tmp, args.records)
        snap = measure_snapshot(tmp, args.wallets)
        fs = filesystem_of(tmp)
    # The target is for 100,000 wallets; a smaller run is scaled up linearly.
    snapshot_100k_s = snap["snapshot_s"] * TARGET_SNAPSHOT_WALLETS / args.wallets
    figures = {
        "verify_per_s": round(verify_per_s, 1),
        "push_per_s": round(push["push_per_s"], 1),
        "push_vs_verify": round(push["push_per_s"] / verify_per_s, 3),
        "push_s": round(push["push_s"], 3),
        "records": args.records,
        "snapshot_s": round(snap["snapshot_s"], 3),
        "snapshot_wallets": args.wallets,
        "snapshot_100k_s": round(snapshot_100k_s, 3),
        "filesystem": fs,
    }
    ok_push = figures["push_vs_verify"] >= TARGET_PUSH_VS_VERIFY
    ok_snap = snapshot_100k_s <= TARGET_SNAPSHOT_S
    print(f"Ed25519 verify, one core: {verify_per_s:,.0f}/s (filesystem {fs})")
    print(f"push + ack of {args.records:,} records (one terminal, SQLite ledger, batches of "
          f"1,000): {push['push_s']:.2f} s = {push['push_per_s']:,.0f} records/s = "
          f"{figures['push_vs_verify']:.2f} x verify (target >= {TARGET_PUSH_VS_VERIFY}): "
          f"{'met' if ok_push else 'MISSED'}")
    scaled = "" if args.wallets == TARGET_SNAPSHOT_WALLETS else \
        f" -> {snapshot_100k_s:.2f} s per 100,000 (scaled)"
    print(f"snapshot of {args.wallets:,} wallets ({snap['lots']:,} lots, {snap['cards']:,} "
          f"cards, {snap['pages']} pages built in memory in the wire format) applied in "
          f"{snap['snapshot_s']:.2f} s{scaled} (target <= {TARGET_SNAPSHOT_S} s): "
          f"{'met' if ok_snap else 'MISSED'}")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
