"""A terminal's data directory opened as one working unit: config, key, journal, snapshot
state, the counter services, and the sync worker.

    DIR/terminal.json   terminal id, ledger URL, merchant (written at enrollment)
    DIR/terminal.key    the private key (owner-only; see terminal.keystore)
    DIR/journal.db      the signed journal and its outbox
    DIR/state.db        the ledger's snapshot as this terminal last saw it

The sync worker gets a journal connection of its own, and the counter a ledger client of its
own, so the two threads never share a connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync import client as sync_client
from sync import files, keys, pins
from terminal import keystore
from terminal.counter import Counter
from terminal.errors import TerminalError
from terminal.journal import DB_FILE, Journal
from terminal.leases import LeaseKeeper
from terminal.state import StateStore

CONFIG_FILE = "terminal.json"


class NotEnrolled(TerminalError):
    code = "not_enrolled"


@dataclass(frozen=True)
class TerminalConfig:
    terminal_id: str
    ledger_url: str
    merchant_id: str

    @classmethod
    def load(cls, data_dir: Path) -> TerminalConfig:
        try:
            raw = json.loads((data_dir / CONFIG_FILE).read_text("utf-8"))
            return cls(raw["terminal_id"], raw["ledger_url"], raw["merchant_id"])
        except FileNotFoundError as exc:
            raise NotEnrolled(f"{data_dir} holds no enrolled terminal: run `python -m terminal "
                              "enroll --ledger URL --code CODE`") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise TerminalError(f"{data_dir / CONFIG_FILE} is damaged: {exc}") from exc

    def save(self, data_dir: Path) -> None:
        """Write the three fields, keeping every other setting in the file (the printer)."""
        save_settings(data_dir, {"terminal_id": self.terminal_id, "ledger_url": self.ledger_url,
                                 "merchant_id": self.merchant_id})


def save_settings(data_dir: Path, changes: dict[str, Any]) -> None:
    """Merge `changes` into terminal.json atomically (the rest of the file is kept)."""
    path = data_dir / CONFIG_FILE
    try:
        current = json.loads(path.read_text("utf-8"))
        current = current if isinstance(current, dict) else {}
    except (OSError, ValueError):
        current = {}
    files.write_private(path, json.dumps({**current, **changes}, indent=2,
                                         ensure_ascii=False) + "\n")


def enroll(data_dir: Path, ledger_url: str, code: str, passphrase: str | None = None
           ) -> dict[str, Any]:
    """Enroll a new terminal with a ledger and set up its data directory."""
    if (data_dir / DB_FILE).exists():
        config = TerminalConfig.load(data_dir)
        raise TerminalError(f"{data_dir} is already terminal {config.terminal_id}")
    if (data_dir / keystore.KEY_FILE).exists():  # an earlier attempt got this far
        key = keystore.load_key(data_dir, passphrase)
    else:
        key = keystore.create_key(data_dir, passphrase)
    answer = sync_client.enroll(ledger_url, code, key.public_key())
    merchant = answer["merchant"]
    journal = Journal.create(data_dir, answer["terminal_id"], key,
                             start_body={"merchant": merchant["merchant_id"]})
    for item in answer["ledger_keys"]:
        journal.add_ledger_key(item["public_key"])
    journal.close()
    state = StateStore(data_dir)
    state.put("merchant", merchant)
    state.put("ledger_keys", answer["ledger_keys"])
    state.close()
    TerminalConfig(answer["terminal_id"], ledger_url, merchant["merchant_id"]).save(data_dir)
    return answer


class _Sink:
    """The snapshot sink the sync worker writes to: the state store, plus ledger keys the
    snapshot announces (so new ledger heads verify)."""

    def __init__(self, state: StateStore, journal: Journal, clients) -> None:
        self.state = state
        self.journal = journal
        self.clients = clients

    def cursor(self) -> str:
        return self.state.cursor()

    def apply_snapshot(self, page: dict[str, Any], basis_seq: int) -> None:
        self.state.apply_snapshot(page, basis_seq)
        for item in page.get("ledger_keys") or []:
            kid = self.journal.add_ledger_key(item["public_key"])
            for client in self.clients:
                client.ledger_keys[kid] = keys.load_public_key_hex(item["public_key"])


class Node:
    """Open with `Node(data_dir)`; `offline=True` never contacts the ledger."""

    def __init__(self, data_dir: Path, passphrase: str | None = None, offline: bool = False,
                 on_status=None) -> None:
        self.data_dir = data_dir
        self.config = TerminalConfig.load(data_dir)
        key = keystore.load_key(data_dir, passphrase or keystore.passphrase_from_env())
        self.journal = Journal.open(data_dir, key)
        self.state = StateStore(data_dir, pins.seal_key(key.seed()))
        self.offline = offline
        self.worker: sync_client.SyncWorker | None = None
        counter_client = None
        if not offline:
            trusted = self.journal.ledger_keys()
            counter_client = sync_client.LedgerClient(self.config.ledger_url,
                                                      self.config.terminal_id, key, dict(trusted))
            worker_client = sync_client.LedgerClient(self.config.ledger_url,
                                                     self.config.terminal_id, key, dict(trusted))
            self._sync_journal = Journal.open(data_dir)
            sink = _Sink(self.state, self._sync_journal, [counter_client, worker_client])
            self.worker = sync_client.SyncWorker(
                worker_client, self._sync_journal, sink, on_status=on_status,
                after_sync=LeaseKeeper(self._sync_journal, self.state,
                                       lambda: self.journal._clock().date().isoformat()))
        self.counter = Counter(self.journal, self.state, counter_client,
                               on_commit=lambda _done: self.worker and self.worker.notify())

    @property
    def terminal_id(self) -> str:
        return self.config.terminal_id

    def sync_once(self) -> sync_client.SyncStatus:
        """Push everything and pull the snapshot now, on this thread."""
        if self.worker is None:
            raise TerminalError("this terminal was opened offline")
        return self.worker.run_once(pull=True)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker.client.close()
            self._sync_journal.close()
        if self.counter.client is not None:
            self.counter.client.close()
        self.journal.close()
        self.state.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
