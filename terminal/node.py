"""A terminal's data directory opened as one working unit: config, key, journal, snapshot
state, the counter services, and the sync worker.

    DIR/terminal.json   terminal id, ledger URL, merchant (written at enrollment)
    DIR/terminal.key    the private key (owner-only; see terminal.keystore)
    DIR/journal.db      the signed journal and its outbox
    DIR/state.db        the ledger's snapshot as this terminal last saw it, and the anchor of
                        the trusted clock (terminal.clock)
    DIR/ledger-ca.pem   the CA (or certificate) an https ledger is checked with, when one
                        was given at enrollment (otherwise the system's CAs)

Every ledger answer that carries the ledger's signed time (enrollment, snapshot pages,
online checks) anchors the trusted clock, which times the journal's records, the snapshot's
age and app codes' freshness. The sync worker gets a journal connection of its own, and the
counter a ledger client of its own, so the two threads never share a connection.

Opening a Node never touches the network: the counter sells at once from the journal and
the last snapshot, and the worker (`worker.start()`) syncs on its own thread. Each record
the counter writes is logged (its type, seq, amount, how it was decided; never a credential
or PIN) and raises the worker's unsent count at once; the worker's status also tells the
counter when the ledger cannot be heard, so a sale does not wait for an online check then.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sync import client as sync_client
from sync import files, keys, pins, trust
from terminal import keystore, logs
from terminal.clock import BadLedgerTime, ClockSources, TrustedClock
from terminal.counter import Counter
from terminal.errors import JournalError, StorageDamaged, TerminalError
from terminal.health import JOURNAL, STATE, StorageHealth
from terminal.journal import DB_FILE, Appended, Journal
from terminal.leases import LeaseKeeper
from terminal.state import STATE_FILE, StateStore

CONFIG_FILE = "terminal.json"
CA_FILE = "ledger-ca.pem"
# Closing waits this long for the sync worker's round to end (a window that quits must not
# hang on a silent ledger); a round still waiting then is left to end by its own timeout.
CLOSE_WAIT_S = 2.0

log = logging.getLogger(__name__)


class NotEnrolled(TerminalError):
    code = "not_enrolled"


@dataclass(frozen=True)
class TerminalConfig:
    terminal_id: str
    ledger_url: str
    merchant_id: str
    ca_file: str | None = None  # what an https ledger's certificate is checked with

    @classmethod
    def load(cls, data_dir: Path) -> TerminalConfig:
        try:
            raw = json.loads((data_dir / CONFIG_FILE).read_text("utf-8"))
            ca = data_dir / CA_FILE
            return cls(raw["terminal_id"], raw["ledger_url"], raw["merchant_id"],
                       str(ca) if ca.exists() else None)
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


def check_ledger_url(url: str, fingerprint: str | None = None) -> str:
    """A ledger URL the terminal can use: https://, or http:// on this machine; http:// to
    another machine only with the ledger key's fingerprint (anyone on a link in clear could
    pose as the ledger at enrollment, and the terminal would pin their key)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TerminalError(f"the ledger URL must be http://host:port or https://host:port, "
                            f"not {url!r}")
    if parts.scheme == "http" and not fingerprint and not _loopback(parts.hostname):
        raise TerminalError(f"enrolling over plain http:// with {parts.hostname} needs the "
                            "ledger key's fingerprint (ask its operator: ledger admin "
                            "show-key); better, use https://")
    return url.strip()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def enroll(data_dir: Path, ledger_url: str, code: str, passphrase: str | None = None,
           ca_file: Path | None = None, fingerprint: str | None = None,
           clock_sources: ClockSources | None = None) -> dict[str, Any]:
    """Enroll a new terminal with a ledger and set up its data directory.

    The ledger keys the (signed) answer lists are pinned; `fingerprint`, given by the ledger's
    operator out of band, must match the key that signed it. `ca_file` is kept in the data
    directory and checks an https ledger's certificate from then on. The answer's signed
    time anchors the trusted clock."""
    ledger_url = check_ledger_url(ledger_url, fingerprint)
    if (data_dir / DB_FILE).exists():
        config = TerminalConfig.load(data_dir)
        raise TerminalError(f"{data_dir} is already terminal {config.terminal_id}")
    if ca_file is not None and not Path(ca_file).is_file():
        raise TerminalError(f"no CA file at {ca_file}")
    if (data_dir / keystore.KEY_FILE).exists():  # an earlier attempt got this far
        key = keystore.load_key(data_dir, passphrase)
    else:
        key = keystore.create_key(data_dir, passphrase)
    answer = sync_client.enroll(ledger_url, code, key.public_key(),
                                ca_file=str(ca_file) if ca_file else None,
                                fingerprint=fingerprint)
    if ca_file is not None:
        shutil.copyfile(ca_file, data_dir / CA_FILE)
    merchant = answer["merchant"]
    state = StateStore(data_dir)
    # The start record is never dated before the ledger enrolled the terminal.
    clock = TrustedClock(state, clock_sources)
    if "server_time_ms" in answer:
        clock.anchor(answer["server_time_ms"])
    journal = Journal.create(data_dir, answer["terminal_id"], key, clock=clock.local_now,
                             start_body={"merchant": merchant["merchant_id"]})
    for item in answer["ledger_keys"]:
        journal.add_ledger_key(item["public_key"])
    journal.close()
    state.put("merchant", merchant)
    state.put("ledger_keys", answer["ledger_keys"])
    state.put("ledger_fingerprint", answer["ledger_fingerprint"])
    state.close()
    TerminalConfig(answer["terminal_id"], ledger_url, merchant["merchant_id"]).save(data_dir)
    return answer


def pin_rotated_key(journal: Journal, clients, new: keys.PublicKey) -> None:
    """Keep a ledger key learnt from a rotation statement (checked by sync.trust)."""
    journal.add_ledger_key(new.hex)
    for client in clients:
        client.ledger_keys[new.key_id] = new


class _Sink:
    """The snapshot sink the sync worker writes to: the state store, plus new ledger keys
    the snapshot proves with rotation statements signed by a pinned key (so new ledger
    heads verify; a key listed without such a statement is refused and logged), plus the
    ledger's time on each page (the trusted clock's anchor)."""

    def __init__(self, state: StateStore, journal: Journal, clients,
                 clock: TrustedClock) -> None:
        self.state = state
        self.journal = journal
        self.clients = clients
        self.clock = clock

    def cursor(self) -> str:
        return self.state.cursor()

    def apply_snapshot(self, page: dict[str, Any], basis_seq: int) -> None:
        try:
            self.clock.anchor(page["server_time_ms"])
        except BadLedgerTime as exc:
            raise sync_client.SyncError(f"the snapshot page is refused: {exc}",
                                        "clock") from exc
        self.state.apply_snapshot(page, basis_seq)
        listed = [item for item in page.get("ledger_keys") or [] if isinstance(item, dict)]
        pinned = self.journal.ledger_keys()
        for new, _ in trust.learn([item.get("rotation") for item in listed], pinned):
            log.warning("sync: pinned ledger key %s from a rotation statement", new.key_id)
            pin_rotated_key(self.journal, self.clients, new)
            pinned[new.key_id] = new
        for item in listed:
            if item.get("key_id") not in pinned:
                log.warning("sync: refused ledger key %r: no rotation statement signed by a "
                            "key this terminal trusts", item.get("key_id"))


def describe_record(done: Appended) -> str:
    """One line for the log of what a record decided: type, seq, tx, amount (yen), how it
    was decided, the credential's kind. Never the credential's value, a PIN or a key."""
    body = done.record.get("body") or {}
    rtype = done.record.get("type", "?")
    parts = [f"{rtype} seq {done.seq} tx {done.tx_id}"]
    if type(body.get("amount")) is int:
        parts.append(f"amount ¥{body['amount']:,}")
    if body.get("decision"):
        parts.append(f"decided {body['decision']}")
    credential = body.get("credential")
    if isinstance(credential, dict) and credential.get("kind"):
        parts.append(f"by {credential['kind']}")
    if rtype == "training" and body.get("kind"):
        parts.append(f"(training {body['kind']})")
    return ", ".join(parts)


class Node:
    """Open with `Node(data_dir)`; `offline=True` never contacts the ledger;
    `clock_sources` replace the machine's clocks (tests move the wall clock so)."""

    def __init__(self, data_dir: Path, passphrase: str | None = None, offline: bool = False,
                 on_status: Callable[[sync_client.SyncStatus], None] | None = None,
                 clock_sources: ClockSources | None = None) -> None:
        self.data_dir = data_dir
        self.config = TerminalConfig.load(data_dir)
        passphrase = passphrase or keystore.passphrase_from_env()
        key = keystore.load_key(data_dir, passphrase)
        # The log's second guard (terminal.logs): the key, and its passphrase, never in it.
        logs.forget_value(key.seed())
        if passphrase:
            logs.forget_value(passphrase)
        # Damage found while opening, and by the check `health.start()` runs (the window
        # starts it at once; `terminal status` runs it in full).
        self.health = StorageHealth(data_dir)
        try:
            self.state = StateStore(data_dir, pins.seal_key(key.seed()))
        except sqlite3.DatabaseError as exc:
            raise StorageDamaged(STATE, f"{data_dir / STATE_FILE} cannot be opened ({exc}): "
                                 "rebuild it with `python -m terminal repair "
                                 "rebuild-state`") from exc
        self.clock = TrustedClock(self.state, clock_sources)
        try:
            self.journal = Journal.open(data_dir, key, clock=self.clock.local_now)
        except JournalError as exc:
            self.state.close()
            if isinstance(exc.__cause__, sqlite3.DatabaseError):
                raise StorageDamaged(JOURNAL, f"{exc.message}: export what verifies "
                                     "(`python -m terminal journal export`) and enroll this "
                                     "terminal anew") from exc
            raise
        except BaseException:
            self.state.close()
            raise
        self.offline = offline
        self.worker: sync_client.SyncWorker | None = None
        counter_client = None
        if not offline:
            trusted = self.journal.ledger_keys()
            ca = self.config.ca_file
            counter_client = sync_client.LedgerClient(self.config.ledger_url,
                                                      self.config.terminal_id, key, dict(trusted),
                                                      ca_file=ca)
            worker_client = sync_client.LedgerClient(self.config.ledger_url,
                                                     self.config.terminal_id, key, dict(trusted),
                                                     ca_file=ca)
            self._sync_journal = Journal.open(data_dir)
            clients = [counter_client, worker_client]
            # Each client keeps what it learns through the journal connection of its own
            # thread: the counter's on the counter's, the worker's on the worker's.
            counter_client.on_new_key = lambda new, _s: pin_rotated_key(self.journal, clients,
                                                                        new)
            worker_client.on_new_key = lambda new, _s: pin_rotated_key(self._sync_journal,
                                                                       clients, new)
            sink = _Sink(self.state, self._sync_journal, clients, self.clock)
            self.worker = sync_client.SyncWorker(
                worker_client, self._sync_journal, sink,
                on_status=lambda status: self._on_status(status, on_status),
                after_sync=LeaseKeeper(self._sync_journal, self.state,
                                       lambda: self.journal._clock().date().isoformat()),
                # On each turn of the worker's loop, online or not: the clock keeps its
                # anchor moved on (at its own pace), so a reboot does not take the time back
                # to the last pull.
                on_tick=self.clock.heartbeat)
        self.counter = Counter(self.journal, self.state, counter_client,
                               on_commit=self._committed, clock=self.clock,
                               health=self.health)

    def _committed(self, done: Appended) -> None:
        """A record is in the journal (on the counter's thread): log the decision, and
        tell the worker, with the unsent count for the status at once."""
        log.info("recorded %s", describe_record(done))
        if self.worker is not None:
            self.worker.notify(pending=self.journal.pending_count())

    def _on_status(self, status: sync_client.SyncStatus,
                   listener: Callable[[sync_client.SyncStatus], None] | None) -> None:
        """Each new sync status: the counter skips its online check while the ledger
        cannot be heard (a sale never waits for it then); then the caller's listener."""
        self.counter.online_hint = status.failure_code not in sync_client.NETWORK_FAILURES
        if listener is not None:
            listener(status)

    @property
    def terminal_id(self) -> str:
        return self.config.terminal_id

    def sync_once(self) -> sync_client.SyncStatus:
        """Push everything and pull the snapshot now, on this thread."""
        if self.worker is None:
            raise TerminalError("this terminal was opened offline")
        status = self.worker.run_once(pull=True)
        self.clock.heartbeat()  # as the worker's loop does on each turn
        return status

    def close(self) -> None:
        if self.worker is not None:
            if self.worker.stop(CLOSE_WAIT_S):
                self.worker.client.close()
                self._sync_journal.close()
            else:  # a round still waits on a silent ledger: it ends by its own timeout
                log.warning("sync: closing while a round still waits on the ledger; it is "
                            "left to end by its timeout")
        if self.counter.client is not None:
            self.counter.client.close()
        self.journal.close()
        self.state.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
