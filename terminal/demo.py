"""The self-contained demo: a local ledger with the demo region, and this terminal enrolled
with it, all under one directory. No camera, card reader or network needed.

The terminal may not import the ledger (DESIGN §3), so the demo drives it as an operator
would: `python -m ledger seed-demo / admin create-terminal / serve` in child processes. The
ledger listens on a free port on 127.0.0.1; the terminal's config follows it there.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from sync.platform import procs
from sync.refwallet import DEVICE_KEY_FILE, WALLET_FILE, ReferenceWallet, WalletError
from terminal.errors import TerminalError
from terminal.journal import DB_FILE
from terminal.node import TerminalConfig, enroll

DEMO_MERCHANT = "M-SAKURA"
DEMO_WALLETS = 200
# Demo app users whose phones the demo panel can show (card users among them are skipped).
DEMO_APP_WALLETS = [f"W-DEMO-{n:05d}" for n in range(1, 13)]
# Printed gift cards (QR) the demo panel can present: a few codes of the demo's gift campaign,
# made once by the ledger (`admin create-gift-codes`) and kept in the demo directory.
DEMO_GIFT_CAMPAIGN = "furusato-gift"
DEMO_GIFT_CODES = 4
GIFT_CODES_FILE = "gift-codes.txt"
LEDGER_START_TIMEOUT_S = 30
CLI_TIMEOUT_S = 120
HEALTH_POLL_S = 0.1
STOP_TIMEOUT_S = 5
ROOT = Path(__file__).resolve().parents[1]


class DemoError(TerminalError):
    """The demo ledger could not be started; the message says why."""

    code = "demo"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DemoRegion:
    base: Path
    process: subprocess.Popen | None = None
    url: str = ""

    @property
    def ledger_home(self) -> Path:
        return self.base / "ledger"

    @property
    def terminal_dir(self) -> Path:
        return self.base / "terminal"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.ledger_home / 'ledger.db'}"

    def _ledger(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "ledger", *args[:2], "--db", self.db_url, "--home",
             str(self.ledger_home), *args[2:]] if args[0] == "admin" else
            [sys.executable, "-m", "ledger", args[0], "--db", self.db_url, "--home",
             str(self.ledger_home), *args[1:]],
            cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
        if result.returncode != 0:
            raise DemoError(f"ledger {' '.join(args[:2])}: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> Path:
        """Start the ledger (seeding it the first time), enroll if needed; returns the
        terminal's data directory."""
        self.ledger_home.mkdir(parents=True, exist_ok=True)
        if not (self.ledger_home / "ledger.db").exists():
            self._ledger("seed-demo", "--wallets", str(DEMO_WALLETS), "--staff")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.ledger_home / "serve.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "serve", "--db", self.db_url, "--home",
             str(self.ledger_home), "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            # its own process group, ended with the app (on Linux even on kill -9)
            **procs.child_options())
        self._wait_healthy()
        if not (self.terminal_dir / DB_FILE).exists():
            code = json.loads(self._ledger("admin", "create-terminal", "--merchant",
                                           DEMO_MERCHANT))["code"]
            enroll(self.terminal_dir, self.url, code)
        else:
            config = TerminalConfig.load(self.terminal_dir)
            TerminalConfig(config.terminal_id, self.url, config.merchant_id).save(
                self.terminal_dir)
        return self.terminal_dir

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + LEDGER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise DemoError(f"the demo ledger stopped; see {self.ledger_home / 'serve.log'}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(HEALTH_POLL_S)
        raise DemoError("the demo ledger did not start in time")

    def app_phones(self) -> dict[str, ReferenceWallet]:
        """Reference wallets (phones) for the first app users in the demo region, certified
        by the demo ledger once and kept in the demo directory."""
        phones = {}
        for wallet_id in DEMO_APP_WALLETS:
            phone = ReferenceWallet(self.base / "phones" / wallet_id)
            if not (phone.directory / WALLET_FILE).exists():
                phone.directory.mkdir(parents=True, exist_ok=True)
                if not (phone.directory / DEVICE_KEY_FILE).exists():
                    phone.create()
                try:
                    phone.certify(self.url, wallet_id, self.admin_token())
                except WalletError:
                    continue  # a card user, or suspended: not an app in this demo
            phones[wallet_id] = phone
        return phones

    def gift_codes(self) -> list[str]:
        """The demo's gift codes (each single-use: one already spent is refused as used)."""
        path = self.base / GIFT_CODES_FILE
        if not path.exists():
            made = self._ledger("admin", "create-gift-codes", "--campaign", DEMO_GIFT_CAMPAIGN,
                                "--count", str(DEMO_GIFT_CODES))
            path.write_text(made, encoding="utf-8")
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def admin_token(self) -> str:
        return (self.ledger_home / "admin.token").read_text().strip()

    def stop(self) -> None:
        if self.process is not None:
            procs.stop(self.process, STOP_TIMEOUT_S)
        self.process = None
