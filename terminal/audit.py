"""Journal verification and export for auditors.

`verify_journal` re-walks every row of the database: the signed record must parse, follow the
chain (gap-free seq, prev hash, running totals, key, signature), and agree with the columns
stored beside it; the ledger's kept heads must match, and the journal must not end below
the highest of them. The first row that does not hold is reported by seq with the reason.
`verify_lines` runs the same walk over an exported JSON-lines file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sync import canonical, record
from terminal import keystore
from terminal.errors import JournalBroken, JournalError
from terminal.journal import DB_FILE, Journal

# Columns kept beside each signed record, and how to derive each from the record.
_COLUMNS = {
    "tx_id": lambda r: r["tx_id"],
    "type": lambda r: r["type"],
    "at": lambda r: r["at"],
    "amount": record.record_amount,
}


@dataclass(frozen=True)
class VerifyReport:
    terminal_id: str
    records: int
    last_seq: int
    last_hash: str
    heads: int
    highest_head: int

    def summary(self) -> str:
        heads = (
            f"{self.heads} ledger head(s) match, highest seq {self.highest_head}"
            if self.heads
            else "no ledger head kept yet"
        )
        return (
            f"journal intact: terminal {self.terminal_id}, {self.records} records "
            f"(seq 1..{self.last_seq}), last hash {self.last_hash[:16]}, {heads}"
        )


def _advance(chain: record.Chain, data: bytes) -> dict:
    try:
        return chain.advance(data)
    except record.RecordError as exc:
        raise JournalBroken(exc.seq or chain.seq + 1, exc.message, exc.code) from exc


def verify_journal(data_dir: Path) -> VerifyReport:
    """Walk the database in `data_dir`; raise JournalBroken at the first bad seq."""
    if not (data_dir / DB_FILE).exists():
        raise JournalError(f"no journal at {data_dir / DB_FILE}")
    try:
        with Journal.open_read_only(data_dir) as journal:
            return _walk_db(journal)
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{data_dir / DB_FILE} cannot be read: {exc}") from exc


def _walk_db(journal: Journal) -> VerifyReport:
    heads = journal.heads()
    _check_head_signatures(heads, journal.ledger_keys())
    chain = record.Chain(journal.terminal_id)
    count = 0
    for seq, tx_id, rtype, at, amount, digest, text in journal.rows():
        expected = chain.seq + 1
        if seq != expected:
            raise JournalBroken(expected, f"missing: the next row is seq {seq} (row deleted?)",
                                "seq_gap")
        data = text.encode("utf-8")
        try:
            signed = record.parse(data)
        except record.RecordError as exc:
            raise JournalBroken(seq, f"unreadable record: {exc.message}") from exc
        if signed["seq"] != seq:
            raise JournalBroken(
                seq, f"row holds the record of seq {signed['seq']} (rows reordered?)", "reordered"
            )
        _advance(chain, data)
        stored = {"tx_id": tx_id, "type": rtype, "at": at, "amount": amount}
        for name, derive in _COLUMNS.items():
            if stored[name] != derive(signed):
                raise JournalBroken(seq, f"column {name} differs from the signed record",
                                    "column_edited")
        if digest != chain.hash:
            raise JournalBroken(seq, "column hash differs from the signed record", "column_edited")
        head = heads.get(seq)
        if head is not None and head["hash"] != chain.hash:
            raise JournalBroken(seq, "record differs from the one the ledger acknowledged",
                                "head_mismatch")
        count += 1
    _check_tail(heads, chain)
    _check_public_key(journal.data_dir, chain)
    return VerifyReport(
        journal.terminal_id, count, chain.seq, chain.hash, len(heads), max(heads, default=0)
    )


def _check_head_signatures(heads: dict, ledger_keys: dict) -> None:
    for seq, head in sorted(heads.items()):
        try:
            record.verify_head(head, ledger_keys)
        except record.RecordError as exc:
            raise JournalBroken(seq, f"kept ledger head is not valid: {exc.message}",
                                "bad_head") from exc
        if head["seq"] != seq:
            raise JournalBroken(seq, "kept ledger head is filed under another seq", "bad_head")


def _check_tail(heads: dict, chain: record.Chain) -> None:
    highest = max(heads, default=0)
    if highest > chain.seq:
        raise JournalBroken(
            chain.seq + 1,
            f"tail cut: the ledger acknowledged up to seq {highest} but the journal ends at "
            f"seq {chain.seq}",
            "tail_cut",
        )


def _check_public_key(data_dir: Path, chain: record.Chain) -> None:
    on_disk = keystore.load_public_hex(data_dir)
    if on_disk is not None and chain.seq and on_disk != chain.public_key_hex:
        raise JournalBroken(
            chain.seq, "the journal is signed by a key other than this terminal's", "foreign_key"
        )


def verify_lines(lines: Iterable[bytes]) -> VerifyReport:
    """Walk an exported journal (one canonical record per line)."""
    chain: record.Chain | None = None
    count = 0
    for number, line in enumerate(lines, start=1):
        data = line.rstrip(b"\n")
        if not data:
            continue
        if chain is None:
            try:
                first = canonical.loads(data)
                chain = record.Chain(first["terminal_id"])
            except (canonical.CanonicalError, KeyError, TypeError, ValueError) as exc:
                raise JournalBroken(1, f"line {number} is not a journal record") from exc
        _advance(chain, data)
        count += 1
    if chain is None:
        raise JournalError("the file holds no records")
    return VerifyReport(chain.terminal_id, count, chain.seq, chain.hash, 0, 0)


@dataclass(frozen=True)
class ExportReport:
    count: int  # records written (seq 1..count)
    broken: JournalBroken | None  # the first record that does not verify, if any


def export_lines(data_dir: Path, out: Path) -> ExportReport:
    """Write the records that verify, as signed, one per line, atomically: every record of
    a sound journal; of a damaged one, those before the first that does not verify (each
    is proved by the chain up to it, so the file passes `verify_lines`)."""
    tmp = out.with_name(out.name + ".tmp")
    broken = None
    with Journal.open_read_only(data_dir) as journal, open(tmp, "wb") as fh:
        chain = record.Chain(journal.terminal_id)
        try:
            for row in journal.rows():
                if row[0] != chain.seq + 1:
                    raise JournalBroken(chain.seq + 1, f"missing: the next row is seq {row[0]}",
                                        "seq_gap")
                data = row[6].encode("utf-8")
                _advance(chain, data)
                fh.write(data + b"\n")
        except JournalBroken as exc:
            broken = exc
        except sqlite3.DatabaseError as exc:
            broken = JournalBroken(chain.seq + 1, f"cannot be read: {exc}", "unreadable")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(out)
    return ExportReport(chain.seq, broken)
