"""Damaged storage and a full disk (issue #22, points 4 and 5), on real files.

A real ledger process (SQLite) and real terminals enrolled with it; their data directories
are then damaged byte by byte as a failing disk would (a flipped bit in journal.db or
state.db), or put on a tmpfs too small for them. The terminal must start, say what is
damaged, refuse every sale until a manager takes a way out, and lose no unsent record; a
sale on a full disk is refused with a message a cashier can read, and `terminal status`
works there and writes nothing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import demo, service
from terminal import audit, health
from terminal import journal as journal_module
from terminal.counter import Presented
from terminal.errors import StorageDamaged
from terminal.journal import DB_FILE, Journal
from terminal.node import Node, enroll
from terminal.policy import REASONS, Refused
from terminal.state import STATE_FILE
from tests.ledger.helpers import ROOT, LedgerProcess

SALE_YEN = 100
OFFLINE_SALES = 3
TMPFS_SIZE = "2m"
FILL_CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    """A demo region on a ledger process, shared by the module's terminals."""
    base = tmp_path_factory.mktemp("storage")
    ledger = LedgerProcess(f"sqlite:///{base / 'ledger.db'}", base / "home").start()
    db = ledger.db()
    demo.seed_demo(db, 10, campaigns=False)
    with db.reading() as conn:
        cards = [c for (c,) in conn.all("SELECT card_id FROM cards WHERE status = 'active' "
                                        "ORDER BY card_id")]
    yield ledger, db, cards
    db.close()
    ledger.stop()


def enrolled(region, data: Path) -> Node:
    """A terminal enrolled in `data`, its snapshot pulled, one sale made online."""
    ledger, db, cards = region
    enroll(data, ledger.url, service.create_terminal(db, "M-SAKURA")["code"])
    node = Node(data)
    node.sync_once()
    node.counter.pay(Presented("card", cards[0]), SALE_YEN)
    node.sync_once()
    return node


def with_unsent_sales(region, data: Path) -> int:
    """An enrolled terminal that then sold offline; closed. Returns its last seq."""
    _, _, cards = region
    enrolled(region, data).close()
    with Node(data, offline=True) as node:
        for number in range(OFFLINE_SALES):
            node.counter.pay(Presented("card", cards[number % len(cards)]), SALE_YEN)
        assert node.journal.pending_count() == OFFLINE_SALES
        return node.journal.last_seq


def page_size(path: Path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def flip_page_type(path: Path, page_no: int) -> None:
    """Flip one bit of a B-tree page's type byte: SQLite reads that page as malformed."""
    offset = (page_no - 1) * page_size(path)
    assert page_no > 1, "page 1 starts with the file header"
    with open(path, "r+b") as fh:
        fh.seek(offset)
        kind = fh.read(1)[0]
        assert kind in (0x02, 0x05, 0x0A, 0x0D), f"page {page_no} is no B-tree page"
        fh.seek(offset)
        fh.write(bytes([kind ^ 0x01]))


def page_of(path: Path, needle: bytes) -> int:
    pos = path.read_bytes().rfind(needle)
    assert pos >= 0, needle
    return pos // page_size(path) + 1


def root_page(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                            (table,)).fetchone()[0]
    finally:
        conn.close()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "terminal", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def refused(code: str, work) -> Refused:
    with pytest.raises(Refused) as info:
        work()
    assert info.value.code == code, info.value.message
    return info.value


# --- a damaged journal --------------------------------------------------------------------------


def test_a_flipped_bit_in_the_newest_journal_page_starts_says_so_and_refuses_sales(
        region, tmp_path):
    _, _, cards = region
    data = tmp_path / "t"
    last = with_unsent_sales(region, data)
    path = data / DB_FILE
    flip_page_type(path, page_of(path, b'"seq":%d,' % last))

    # Before: an uncaught sqlite3.DatabaseError priming the app-token counters.
    with Node(data, offline=True) as node:
        assert node.health.report().damaged  # found while opening, before any check
        refused("storage_damaged", lambda: node.counter.pay(Presented("card", cards[0]),
                                                            SALE_YEN))
        refused("storage_damaged", lambda: node.counter.cash_move(SALE_YEN, "in"))
        report = node.health.run_check()
        assert report.checked and report.part_damaged(health.JOURNAL)
        assert not report.part_damaged(health.STATE)

    status = cli("status", "--data", str(data))
    assert status.returncode == 1, status.stdout + status.stderr
    assert "Traceback" not in status.stderr
    assert "journal DAMAGED" in status.stdout
    assert "journal export" in status.stdout  # the way out is named


def test_a_flipped_bit_in_a_records_signature_is_found_by_the_check_at_start(
        region, tmp_path):
    _, _, cards = region
    data = tmp_path / "t"
    last = with_unsent_sales(region, data)
    path = data / DB_FILE
    raw = bytearray(path.read_bytes())
    needle = b'"seq":%d,"sig":"' % last
    at = raw.rfind(needle) + len(needle)
    for bit in (0x01, 0x02, 0x04):  # one bit that leaves a hex digit a hex digit
        if chr(raw[at] ^ bit) in "0123456789abcdef":
            raw[at] ^= bit
            break
    path.write_bytes(bytes(raw))

    with Node(data, offline=True) as node:
        assert not node.health.report().damaged  # the file reads well: the check finds it
        node.health.start()
        node.health.wait(60)
        report = node.health.report()
        assert report.checked and report.part_damaged(health.JOURNAL)
        assert f"seq {last}" in report.damage[0].detail
        refused("storage_damaged", lambda: node.counter.pay(Presented("card", cards[0]),
                                                            SALE_YEN))
        assert node.journal.last_seq == last  # nothing written

    # Restarted, it remembers at once, before any new check has run.
    with Node(data, offline=True) as node:
        assert node.health.report().part_damaged(health.JOURNAL)
        refused("storage_damaged", lambda: node.counter.pay(Presented("card", cards[0]),
                                                            SALE_YEN))

    status = cli("status", "--data", str(data))
    assert status.returncode == 1 and f"at seq {last}" in status.stdout, status.stdout
    # quick_check alone cannot see it, but the damage found earlier is remembered
    quick = cli("status", "--quick", "--data", str(data))
    assert quick.returncode == 1 and "journal verified" not in quick.stdout, quick.stdout

    # Nor is the day closed on it: its figures cannot be trusted.
    close = cli("close", "--data", str(data))
    assert close.returncode != 0 and "cannot be closed" in close.stdout + close.stderr
    with Journal.open(data) as journal:
        assert journal.last_seq == last

    # The way out: export what verifies, with the steps to enroll anew.
    out = tmp_path / "verified.jsonl"
    export = cli("journal", "export", "--data", str(data), "--out", str(out))
    assert export.returncode == 1
    assert f"DAMAGED at seq {last}" in export.stdout and "enroll" in export.stdout
    with open(out, "rb") as fh:
        assert audit.verify_lines(fh).last_seq == last - 1


# --- a damaged state ----------------------------------------------------------------------------


def test_a_damaged_state_is_rebuilt_from_a_fresh_snapshot_keeping_unsent_records(
        region, tmp_path):
    ledger, db, cards = region
    data = tmp_path / "t"
    last = with_unsent_sales(region, data)
    path = data / STATE_FILE
    flip_page_type(path, root_page(path, "lots"))

    with Node(data) as node:
        report = node.health.run_check()
        assert report.part_damaged(health.STATE) and not report.part_damaged(health.JOURNAL)
        refused("storage_damaged", lambda: node.counter.pay(Presented("card", cards[0]),
                                                            SALE_YEN))
    status = cli("status", "--data", str(data))
    assert status.returncode == 1 and "state DAMAGED" in status.stdout, status.stdout
    assert "repair rebuild-state" in status.stdout
    with Node(data, offline=True) as node:  # restarted: still refused, with no new check
        assert node.health.report().part_damaged(health.STATE)

    repaired = cli("repair", "rebuild-state", "--data", str(data))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "state rebuilt" in repaired.stdout
    assert list(data.glob(STATE_FILE + ".damaged-*"))  # kept, for whoever looks into it

    with Node(data, offline=True) as node:
        assert node.health.report().damage == ()  # the way out cleared the mark
        assert node.health.run_check().damage == ()
        assert node.journal.last_seq == last and node.journal.pending_count() == 0
        node.counter.pay(Presented("card", cards[0]), SALE_YEN)
    with db.reading() as conn:  # every unsent record reached the ledger
        sent = conn.all("SELECT count(*) FROM records WHERE terminal_id = ?",
                        (Node_id(data),))[0][0]
    assert sent == last
    assert cli("status", "--data", str(data)).returncode == 0


def Node_id(data: Path) -> str:  # noqa: N802 - reads as what it returns
    from terminal.node import TerminalConfig

    return TerminalConfig.load(data).terminal_id


def test_rebuild_without_the_ledger_puts_the_damaged_state_back(region, tmp_path):
    data = tmp_path / "t"
    with_unsent_sales(region, data)
    path = data / STATE_FILE
    flip_page_type(path, root_page(path, "lots"))
    damaged = path.read_bytes()
    config = (data / "terminal.json").read_text()
    (data / "terminal.json").write_text(config.replace(region[0].url, "http://127.0.0.1:9"))
    result = cli("repair", "rebuild-state", "--data", str(data))
    assert result.returncode == 1 and "not rebuilt" in result.stderr, result.stderr
    assert path.read_bytes() == damaged
    assert not list(data.glob(STATE_FILE + ".damaged-*"))


def test_rebuild_that_fails_any_other_way_puts_the_damaged_state_back(region, tmp_path):
    """A wrong passphrase (a KeyFileError, no TerminalError) must not leave a new, empty
    state.db in place: it would look sound, and sales would start on it."""
    from terminal import repair

    data = tmp_path / "t"
    with_unsent_sales(region, data)
    path = data / STATE_FILE
    flip_page_type(path, root_page(path, "lots"))
    damaged = path.read_bytes()
    with pytest.raises(repair.RepairFailed):
        repair.rebuild_state(data, passphrase="not-the-passphrase")
    assert path.read_bytes() == damaged
    assert not list(data.glob(STATE_FILE + ".damaged-*"))


def test_an_unopenable_state_is_named_not_a_crash(region, tmp_path):
    data = tmp_path / "t"
    with_unsent_sales(region, data)
    path = data / STATE_FILE
    with open(path, "r+b") as fh:  # the header's magic string: not a database any more
        fh.write(b"X")
    with pytest.raises(StorageDamaged) as info:
        Node(data, offline=True)
    assert info.value.part == health.STATE and "rebuild-state" in info.value.message
    status = cli("status", "--data", str(data))
    assert status.returncode == 1 and "state DAMAGED" in status.stdout, status.stdout


# --- a full disk --------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [
    sqlite3.OperationalError("database or disk is full"),
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
], ids=["sqlite_full", "enospc"])
def test_a_sale_that_does_not_fit_is_refused_and_nothing_of_it_kept(
        region, tmp_path, monkeypatch, failure):
    _, _, cards = region
    node = enrolled(region, tmp_path / "t")
    try:
        before = (node.journal.last_seq, node.journal.pending_count(),
                  node.journal.conn.execute("SELECT count(*) FROM effects").fetchone()[0])
        real = journal_module._insert_effects

        def full(conn, seq, rtype, body):  # the record and outbox rows are in: then it fails
            real(conn, seq, rtype, body)
            raise failure

        monkeypatch.setattr(journal_module, "_insert_effects", full)
        exc = refused("disk_full", lambda: node.counter.pay(Presented("card", cards[1]),
                                                            SALE_YEN))
        assert "disk is full" in exc.message and "manager" in exc.message
        assert (node.journal.last_seq, node.journal.pending_count(),
                node.journal.conn.execute("SELECT count(*) FROM effects").fetchone()[0]
                ) == before
        assert not node.health.report().damaged  # a full disk is not damage
        monkeypatch.setattr(journal_module, "_insert_effects", real)
        done = node.counter.pay(Presented("card", cards[1]), SALE_YEN)
        assert done.seq == before[0] + 1
    finally:
        node.close()
    audit.verify_journal(tmp_path / "t")


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of TMPFS_SIZE mounted for the test (root only), unmounted after it."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8); the same refusal is tested "
                    "by injecting the error at the journal's write")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the same refusal "
                    "is tested by injecting the error at the journal's write")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (FILL_CHUNK, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def snapshot_of(directory: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.iterdir()) if path.is_file()}


def test_a_full_disk_refuses_the_sale_readably_and_status_still_works(region, small_disk):
    _, _, cards = region
    data = small_disk / "t"
    node = enrolled(region, data)
    try:
        status = cli("status", "--data", str(data))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "LOW" in status.stdout  # all of 2 MiB is below the warning's threshold
        filler = fill(small_disk)
        kept, refusal = [], None
        for _ in range(50):  # the write-ahead log may have room for a few more records
            try:
                kept.append(node.counter.pay(Presented("card", cards[2]), SALE_YEN).seq)
            except Refused as exc:
                refusal = exc
                break
        assert refusal is not None and refusal.code == "disk_full", refusal
        assert refusal.message == REASONS["disk_full"].format(**refusal.details)
        assert refusal.details["free_mib"] == "0.0"
        node.counter.online_hint = False  # offline: the journal's own write meets the disk
        refused("disk_full", lambda: node.counter.pay(Presented("card", cards[2]), SALE_YEN))
        last = node.journal.last_seq
        assert not kept or kept[-1] == last
    finally:
        node.close()

    before = snapshot_of(data)
    status = cli("status", "--data", str(data))
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"journal: {last} records" in status.stdout
    assert "LOW" in status.stdout and "MiB free" in status.stdout
    assert snapshot_of(data) == before  # status wrote nothing
    filler.unlink()
    audit.verify_journal(data)
    with Node(data, offline=True) as node:
        assert node.counter.pay(Presented("card", cards[2]), SALE_YEN).seq == last + 1
