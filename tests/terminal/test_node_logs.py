"""The counter's log file (issue #18.7, terminal.logs): where it is, that it rotates, that
`tail` gives the last lines in order (across a rotation too), and that a real terminal's
sale with a PIN and its key load leave neither the PIN nor the key in it, while the
decision (type, amount, how decided) and the refusal (its code) are there."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import service
from terminal import keystore, logs
from terminal.counter import Presented
from terminal.node import Node, enroll
from terminal.policy import Refused
from tests.ledger.helpers import LedgerProcess

log = logging.getLogger("terminal.test_node_logs")

# Six digits: a run that appears nowhere else in the file by chance (ids are hex, times
# have separators).
PIN = "739154"
WRONG_PIN = "739155"
# Small files, so a few hundred lines rotate several times.
SMALL_BYTES = 2_000
SMALL_BACKUPS = 2


@pytest.fixture
def logged(tmp_path) -> Iterator[Path]:
    """A data directory whose log is set up (and closed after the test)."""
    yield tmp_path
    logs.close(tmp_path)


def files_text(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((data_dir / logs.LOG_DIR).iterdir()))


def test_setup_writes_the_data_dirs_log_once(logged):
    path = logs.setup(logged)
    assert path == logged / "logs" / "machi-pos.log"
    assert logs.setup(logged) == path  # again: no second handler
    logging.getLogger("sync.client").info("sync: the ledger answers again")
    logging.getLogger("terminal.counter").debug("below the level")
    lines = logs.tail(logged, 10)
    assert len(lines) == 1 and lines[0].endswith("INFO MainThread sync.client: sync: the "
                                                 "ledger answers again")
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    logs.close(logged)
    log.warning("after close")
    assert logs.tail(logged, 10) == lines


def test_the_file_rotates_and_tail_reads_across_it(logged):
    """400 numbered lines of about 60 bytes into files of 2,000 bytes, 2 kept: several
    rotations; the newest lines are in .log and .log.1, no .log.3 is ever made, and tail
    gives the last ones in order, reaching into .log.1 when .log holds fewer."""
    path = logs.setup(logged, max_bytes=SMALL_BYTES, backup_count=SMALL_BACKUPS)
    for n in range(400):
        log.info("line %04d", n)
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["machi-pos.log", "machi-pos.log.1", "machi-pos.log.2"]
    assert all(p.stat().st_size <= SMALL_BYTES for p in path.parent.iterdir())
    in_current = len(path.read_text("utf-8").splitlines())
    wanted = in_current + 5
    got = logs.tail(logged, wanted)
    assert [line[-9:] for line in got] == [f"line {n:04d}" for n in range(400 - wanted, 400)]
    assert [line[-9:] for line in logs.tail(logged, 3)] == ["line 0397", "line 0398",
                                                             "line 0399"]
    assert logs.tail(logged, 0) == []


def test_tail_reads_long_lines_and_a_long_file_from_the_end(logged):
    """Lines longer than the block `tail` reads back, in a file of many blocks: whole and
    in order; a first line cut by the block boundary is not given as a line."""
    path = logs.setup(logged)
    long = "x" * (logs.TAIL_BLOCK_BYTES + 100)
    for n in range(50):
        log.info("%s %02d", long if n % 2 else "short", n)
    assert path.stat().st_size > 20 * logs.TAIL_BLOCK_BYTES
    got = logs.tail(logged, 3)
    assert [line[-2:] for line in got] == ["47", "48", "49"]
    assert got[0].endswith(f"{long} 47") and got[1].endswith("short 48")
    assert logs.tail(logged.parent / "nowhere", 5) == []


def test_redaction_blanks_named_pins_keys_and_registered_secrets():
    seed = bytes(range(32))
    logs.forget_value(seed)
    for text, gone in [
        (f"card pin={PIN} asked", PIN),
        (f"{{'pin': '{PIN}'}}", PIN),
        (f"暗証番号 {PIN}", PIN),
        ("passphrase is open-sesame-123", "open-sesame-123"),
        (f"seed {seed.hex()} loaded", seed.hex()),
        ("-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----", "MC4CAQAw"),
        ("key=" + "ab" * 32, "ab" * 32),
    ]:
        assert gone not in logs.redact(text) and logs.REDACTED in logs.redact(text), text
    # Amounts, seqs and key ids are not secrets: left as they are.
    kept = "payment seq 12, amount ¥3,000, PIN asked above ¥3,000, key_id 1a2b3c4d"
    assert logs.redact(kept) == kept


@pytest.fixture
def shop(tmp_path) -> Iterator[dict]:
    """The real ledger; a card with PIN 739154 asked above ¥0 and ¥20,000 on its wallet;
    an enrolled terminal whose log is set up."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = LedgerProcess(url, tmp_path / "home").start()
    db = ledger.db()
    data = tmp_path / "terminal"
    try:
        service.create_merchant(db, "M-LOG", "店", "small", 1)
        wallet_id = service.create_wallet(db, "card", "W-LOG")
        card = service.create_card(db, wallet_id, pin=PIN, pin_above=0)
        service.issue_value(db, wallet_id, "charged", 20_000, "opening-cash")
        data.mkdir()
        logs.setup(data)
        enroll(data, ledger.url, service.create_terminal(db, "M-LOG")["code"])
        yield {"data": data, "card": Presented("card", card)}
    finally:
        logs.close(data)
        db.close()
        ledger.stop()


def test_a_sale_with_a_pin_and_a_key_load_leave_no_pin_or_key_in_the_log(shop):
    """Enroll (the key made and saved), open the terminal (the key loaded), pull, refuse a
    wrong PIN, take a ¥500 sale with the right one and send it; then, as a careless line would, log
    the PIN and the key's seed by name. The file holds the decisions and the refusal, and
    neither the PIN's digits nor the key's seed in hex or raw bytes."""
    data = shop["data"]
    with Node(data) as node:
        node.sync_once()
        with pytest.raises(Refused):
            node.counter.pay(shop["card"], 500, pin=WRONG_PIN)
        sale = node.counter.pay(shop["card"], 500, pin=PIN)
        node.sync_once()  # the sale goes to the ledger: a sync attempt worth a line
        log.info("careless: pin=%s", PIN)
        log.error("careless: seed %s", keystore.load_key(data).seed().hex())
    seed = keystore.load_key(data).seed()
    text = files_text(data)
    assert f"recorded payment seq {sale.seq}".encode() in text, text
    assert "amount ¥500".encode() in text and b"decided online" in text
    assert b"pin_wrong" in text
    assert f"sync: acknowledged up to seq {sale.seq}".encode() in text
    assert PIN.encode() not in text and WRONG_PIN.encode() not in text
    assert seed.hex().encode() not in text and seed not in text
    assert b"careless: pin=" + logs.REDACTED.encode() in text
