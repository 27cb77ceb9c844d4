"""Test helpers: the real ledger process, and a terminal that enrolls and pushes its real
journal over signed HTTP (the full sync client is the engine issue's; this is the minimum
the ledger's tests need to speak the protocol)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from ledger.db import Database
from ledger.schema import migrate
from ledger.server import HOME_ENV
from sync import auth, record
from terminal import keystore
from terminal.journal import Journal

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LedgerProcess:
    """`python -m ledger serve` in a child process."""

    def __init__(self, db_url: str, home: Path, workers: int = 1,
                 port: int | None = None, tls: tuple[Path, Path, Path] | None = None) -> None:
        """`tls`: (certificate, its key, the CA that signed it) to serve HTTPS."""
        self.db_url = db_url
        self.home = home
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.workers = workers
        self.tls = tls
        self.proc: subprocess.Popen | None = None

    def start(self) -> LedgerProcess:
        env = dict(os.environ, **{HOME_ENV: str(self.home)})
        self.log = open(self.home.parent / f"ledger-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ledger", "serve", "--db", self.db_url, "--port",
             str(self.port), "--workers", str(self.workers),
             *(["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
               if self.tls else [])],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        verify = str(self.tls[2]) if self.tls else True
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ledger exited: {Path(self.log.name).read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1, verify=verify).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("ledger did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    @property
    def admin_token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def db(self) -> Database:
        db = Database(self.db_url)
        migrate(db)
        return db


class Terminal:
    """A terminal with a real key file and journal that speaks the sync protocol."""

    def __init__(self, base_url: str, data_dir: Path) -> None:
        self.base_url = base_url
        self.data_dir = data_dir
        self.key = keystore.create_key(data_dir)
        self.terminal_id = ""
        self.journal: Journal | None = None
        self.enrolled: dict[str, Any] = {}

    def enroll(self, code: str) -> Terminal:
        reply = requests.post(self.base_url + "/v1/enroll", timeout=HTTP_TIMEOUT_S,
                              json={"code": code, "public_key": self.key.public_key().hex})
        reply.raise_for_status()
        self.enrolled = reply.json()
        self.terminal_id = self.enrolled["terminal_id"]
        self.journal = Journal.create(self.data_dir, self.terminal_id, self.key)
        for item in self.enrolled["ledger_keys"]:
            self.journal.add_ledger_key(item["public_key"])
        return self

    def signed(self, method: str, path: str, body: bytes = b"", **kw) -> requests.Response:
        headers = auth.sign_request(self.key, self.terminal_id, method, path, body)
        if body:
            headers["content-type"] = "application/json"
        return requests.request(method, self.base_url + path, data=body or None,
                                headers=headers, timeout=HTTP_TIMEOUT_S, **kw)

    def push_records(self, records: list[dict]) -> requests.Response:
        body = json.dumps({"terminal_id": self.terminal_id, "records": records},
                          ensure_ascii=False).encode("utf-8")
        return self.signed("POST", "/v1/journal", body)

    def push(self) -> dict:
        """Send every unacknowledged record; keep the signed head."""
        assert self.journal is not None
        pending = [json.loads(data) for _, data in self.journal.pending()]
        reply = self.push_records(pending)
        reply.raise_for_status()
        answer = reply.json()
        if answer["head"]:
            self.journal.keep_head(answer["head"])
        return answer

    def snapshot(self, cursor: str = "") -> dict:
        path = "/v1/snapshot" + (f"?cursor={cursor}" if cursor else "")
        reply = self.signed("GET", path)
        reply.raise_for_status()
        return reply.json()

    def wallet(self, wallet_id: str) -> dict:
        reply = self.signed("GET", f"/v1/wallets/{wallet_id}")
        reply.raise_for_status()
        return reply.json()

    def pay(self, wallet_id: str, lots: list[tuple[str, int]], decision: str = "offline"):
        assert self.journal is not None
        return self.journal.append("payment", {
            "amount": sum(a for _, a in lots), "wallet": wallet_id,
            "lots": [{"lot": lot, "amount": a} for lot, a in lots],
            "decision": decision, "credential": {"kind": "card", "id": wallet_id},
        })

    def close(self) -> None:
        if self.journal:
            self.journal.close()


def verify_head(head: dict, ledger_keys: list[dict]) -> dict:
    from sync import keys

    trusted = {k["key_id"]: keys.load_public_key_hex(k["public_key"]) for k in ledger_keys}
    return record.verify_head(head, trusted)
