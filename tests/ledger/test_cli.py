"""The ledger's admin CLI as an operator runs it: real processes, real database files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync import cards

ROOT = Path(__file__).resolve().parents[2]


def ledger(tmp_path: Path, *args: str, db: str | None = None) -> subprocess.CompletedProcess:
    url = db or f"sqlite:///{tmp_path / 'ledger.db'}"
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args[:2], "--db", url, "--home",
         str(tmp_path / "home"), *args[2:]] if args[0] == "admin" else
        [sys.executable, "-m", "ledger", args[0], "--db", url, "--home", str(tmp_path / "home"),
         *args[1:]],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_operator_session(tmp_path):
    # an office makes its ledger first: admin commands never make a database
    assert ledger(tmp_path, "migrate").returncode == 0
    made = ledger(tmp_path, "admin", "create-merchant", "--id", "M-1", "--name", "八百屋",
                  "--class", "small", "--plan", "1")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["config"]["max_offline_payment"] == 10_000
    term = ledger(tmp_path, "admin", "create-terminal", "--merchant", "M-1")
    code = json.loads(term.stdout)["code"]
    assert len(code) == 14 and code.count("-") == 2
    wallet = ledger(tmp_path, "admin", "create-wallet", "--kind", "card",
                    "--age-band", "70s").stdout.strip()
    card = ledger(tmp_path, "admin", "create-card", "--wallet", wallet).stdout.strip()
    assert cards.normalize(card) == card
    issued = ledger(tmp_path, "admin", "issue-value", "--wallet", wallet, "--pocket", "points",
                    "--amount", "200", "--funder", "council", "--expires", "2027-03-31")
    assert issued.returncode == 0, issued.stderr
    rules = tmp_path / "rules.json"
    bus = {"id": "bus", "kind": "point_grant", "starts": "2026-04-01", "ends": "2027-03-31",
           "points": 200, "per_wallet": {"max": 2, "per": "month"}}
    rules.write_text(json.dumps(bus))  # no funder: refused, the field named
    refused = ledger(tmp_path, "admin", "create-campaign", "--file", str(rules))
    assert refused.returncode == 1 and "funder" in refused.stderr
    rules.write_text(json.dumps({**bus, "funder": "council"}))
    assert ledger(tmp_path, "admin", "create-campaign", "--file", str(rules)).returncode == 0
    blocked = ledger(tmp_path, "admin", "block-card", "--card", card, "--new-card")
    out = json.loads(blocked.stdout)
    assert out["status"] == "blocked" and cards.normalize(out["new_card"])
    check = ledger(tmp_path, "check")
    assert check.returncode == 0 and "ledger consistent" in check.stdout
    flags = ledger(tmp_path, "admin", "flags")
    assert json.loads(flags.stdout) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (("admin", "create-terminal", "--merchant", "M-NONE"), "no merchant"),
        (("admin", "create-card", "--wallet", "W-1", "--number", "1234"), "card number"),
        (("admin", "create-merchant", "--id", "bad id!", "--name", "x", "--class", "small",
          "--plan", "1"), "merchant id"),
        (("admin", "create-campaign", "--file", "/nonexistent.json"), "cannot read"),
        (("admin", "issue-value", "--wallet", "W-NONE", "--pocket", "points", "--amount", "5",
          "--funder", "x"), "no wallet"),
    ],
)
def test_refusals_are_one_clear_line(tmp_path, args, words):
    assert ledger(tmp_path, "migrate").returncode == 0
    result = ledger(tmp_path, *args)
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr


def test_seed_demo_then_check_then_tamper(tmp_path):
    seeded = ledger(tmp_path, "seed-demo", "--wallets", "40")
    assert seeded.returncode == 0 and "40 wallets" in seeded.stdout
    assert ledger(tmp_path, "seed-demo").returncode == 1  # not twice
    assert ledger(tmp_path, "check").returncode == 0
    conn = sqlite3.connect(tmp_path / "ledger.db")
    conn.execute("UPDATE lots SET remaining = remaining + 100 WHERE rowid = 1")
    conn.commit()
    conn.close()
    broken = ledger(tmp_path, "check")
    assert broken.returncode == 1 and "lots hold" in broken.stdout


def test_bad_database_url_is_a_clear_error(tmp_path):
    result = ledger(tmp_path, "check", db="mysql://nope")
    assert result.returncode == 1 and "unknown database URL" in result.stderr
