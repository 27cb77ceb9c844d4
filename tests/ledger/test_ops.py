"""The ledger's operations kit as an operator uses it: real processes, real databases.

Help for every command, bad input as one line (never a traceback), a broken pipe, commands
that must not make a database, the office's listings, backup and restore on both engines,
the request/ingest log (never a secret in it) and /metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ledger import __main__ as cli
from ledger import service
from ledger.db import Database
from ledger.schema import migrate
from tests.ledger.helpers import HTTP_TIMEOUT_S, LedgerProcess, Terminal

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 120


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ledger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S, **kw)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(words, help line) of every command and action of the parser, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                yield (*path, name), helps.get(name)
                yield from _commands(child, (*path, name))


COMMANDS = list(_commands(cli.build_parser()))


def test_every_command_and_action_has_a_help_line():
    missing = [" ".join(words) for words, text in COMMANDS if not text]
    assert not missing, f"no help line: {missing}"
    assert ("admin", "list-cards") in [w for w, _ in COMMANDS]
    assert ("restore",) in [w for w, _ in COMMANDS]


@pytest.mark.parametrize("words", [w for w, _ in COMMANDS], ids=" ".join)
def test_help_of_every_command(words, capsys):
    with pytest.raises(SystemExit) as ended:
        cli.main([*words, "--help"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m ledger " + " ".join(words))
    # every option says what it is for
    parser = cli.build_parser()
    for word in words:
        parser = next(a for a in parser._actions
                      if isinstance(a, argparse._SubParsersAction)).choices[word]
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._SubParsersAction):
            assert action.help, f"{' '.join(words)} {action.option_strings[0]} has no help"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("seeded")
    url = f"sqlite:///{base / 'ledger.db'}"
    assert run("migrate", "--db", url).returncode == 0
    done = run("seed-demo", "--db", url, "--wallets", "30", "--home", str(base / "home"))
    assert done.returncode == 0, done.stderr
    return url


def bad_inputs(tmp: Path, url: str) -> list[tuple[list[str], str]]:
    missing = f"sqlite:///{tmp / 'typo' / 'x.db'}"
    return [
        (["report", "tally", "--db", url, "--date", "2026-04-01", "--out",
          str(tmp / "no-dir" / "t.pdf")], "cannot write"),
        (["report", "tally", "--db", url, "--date", "2026-04-01", "--out", str(tmp)],
         "is a directory"),
        (["report", "settlement", "--db", url, "--month", "2024-13", "--plan", "1"],
         "not a month"),
        (["report", "reconcile", "--db", url, "--date", "2024-02-30"], "not a day"),
        (["report", "kpi", "--db", url, "--from", "yesterday", "--to", "2026-04-30", "--out",
          str(tmp / "k.pdf")], "not a day"),
        (["serve", "--db", url, "--port", "99999"], "not a TCP port"),
        (["serve", "--db", url, "--port", "http"], "not a TCP port"),
        (["report", "tally", "--db", url, "--date", "2026-04-01", "--merchant", "M-NONE",
          "--out", str(tmp / "t.pdf")], "no merchant M-NONE"),
        (["admin", "list-terminals", "--db", url, "--merchant", "M-NONE"], "no merchant"),
        (["admin", "list-staff", "--db", url, "--merchant", "M-NONE"], "no merchant"),
        (["admin", "revoke-terminal", "--db", url, "--terminal", "T-NONE"], "no terminal"),
        (["admin", "show-wallet", "--db", url, "--wallet", "W-NONE"], "no wallet"),
        (["admin", "list-cards", "--db", url, "--wallet", "W-NONE"], "no wallet"),
        (["check", "--db", "mysql://nope"], "unknown database URL"),
        (["check", "--db", "postgresql://machi@127.0.0.1:1/ledger"],
         "cannot connect to PostgreSQL"),
        (["check", "--db", "sqlite:///"], "names a file"),
        (["check", "--db", missing], "no ledger database"),
        (["report", "flags", "--db", missing], "no ledger database"),
        (["admin", "list-merchants", "--db", missing], "no ledger database"),
        (["backup", "--db", missing, "--out", str(tmp / "b.db")], "no ledger database"),
        (["backup", "--db", url, "--out", str(tmp / "no-dir" / "b.db")], "cannot write"),
        (["restore", "--from", str(tmp / "none.db"), "--db", url], "cannot read"),
        (["restore", "--from", __file__, "--db", url], "not a ledger backup"),
        (["seed-demo", "--db", url, "--wallets", "0"], "at least 1"),
        (["admin", "issue-value", "--db", url, "--wallet", "W-DEMO-00001", "--pocket",
          "points", "--amount", "100", "--funder", "x", "--expires", "2027-02-29"],
         "not a day"),
    ]


def test_bad_input_is_one_line_and_never_a_traceback(seeded, tmp_path):
    for args, words in bad_inputs(tmp_path, seeded):
        done = run(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert len(lines) == 1 and words in lines[0], (args, done.stderr)
    assert not (tmp_path / "typo").exists()  # no database was made on the way


def test_read_commands_never_make_a_database(tmp_path):
    """Before: `check --db sqlite:///typo/x.db` made an empty database and called it
    consistent. Now each reading command names the missing file and exits 2."""
    target = tmp_path / "x.db"
    for args in (["check"], ["report", "flags"], ["admin", "flags"],
                 ["admin", "list-cards"]):
        done = run(*args, "--db", f"sqlite:///{target}", "--home", str(tmp_path / "home"))
        assert done.returncode == 2 and "no ledger database" in done.stderr
        assert not target.exists()
    assert run("migrate", "--db", f"sqlite:///{target}").returncode == 0
    assert run("check", "--db", f"sqlite:///{target}").returncode == 0


def test_a_reader_that_goes_away_is_no_error(seeded):
    """`... | head -1`: the reader closes the pipe before the table is written; the
    command ends without a traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "ledger", "admin", "list-cards", "--db",
                             seeded], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child, still importing, writes a line
    _, err = proc.communicate(timeout=CLI_TIMEOUT_S)
    assert b"Traceback" not in err and err == b""


def test_listings_mask_card_numbers(seeded):
    db = Database(seeded)
    with db.reading() as conn:
        numbers = [r[0] for r in conn.all("SELECT card_id FROM cards")]
    db.close()
    cards = run("admin", "list-cards", "--db", seeded, "--json")
    listed = json.loads(cards.stdout)
    assert len(listed) == len(numbers) > 0
    assert all(n not in cards.stdout for n in numbers)
    assert sorted(c["card"][-4:] for c in listed) == sorted(n[-4:] for n in numbers)
    assert all(set(c["card"][:-4]) == {"*"} for c in listed)
    table = run("admin", "list-cards", "--db", seeded)
    assert table.stdout.splitlines()[0].split() == ["card", "wallet_id", "status", "nfc", "pin"]
    assert all(n not in table.stdout for n in numbers)
    merchants = json.loads(run("admin", "list-merchants", "--db", seeded, "--json").stdout)
    assert {m["merchant_id"] for m in merchants} >= {"M-SAKURA"}
    staff = run("admin", "list-staff", "--db", seeded, "--json")
    assert staff.returncode == 0 and '"pin"' not in staff.stdout


def test_show_wallet_sums_what_the_wallet_holds(seeded):
    wallet = json.loads(run("admin", "show-wallet", "--db", seeded, "--wallet",
                            "W-DEMO-00001", "--json").stdout)
    db = Database(seeded)
    with db.reading() as conn:
        held = conn.value("SELECT SUM(remaining) FROM lots WHERE wallet_id = 'W-DEMO-00001'")
    db.close()
    assert wallet["total_yen"] == sum(h["yen"] for h in wallet["holds"]) == held > 0


def test_seed_demo_shows_progress_on_a_terminal_only(tmp_path):
    piped = run("seed-demo", "--db", f"sqlite:///{tmp_path / 'a.db'}", "--wallets", "150",
                "--home", str(tmp_path / "h"))
    assert piped.returncode == 0 and piped.stderr == ""
    pty = pytest.importorskip("pty", reason="a pseudo-terminal is POSIX-only")
    leader, follower = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "ledger", "seed-demo", "--db",
                           f"sqlite:///{tmp_path / 'b.db'}", "--wallets", "150", "--home",
                           str(tmp_path / "h")], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=follower, timeout=CLI_TIMEOUT_S)
    os.close(follower)
    shown = os.read(leader, 4096).decode()
    os.close(leader)
    assert done.returncode == 0
    assert "wallets 100/150" in shown and "wallets 150/150" in shown


def _counts(url: str) -> dict[str, int]:
    db = Database(url)
    with db.reading() as conn:
        found = {t: conn.value(f"SELECT COUNT(*) FROM {t}")
                 for t in ("merchants", "wallets", "lots", "cards", "postings", "records")}
    db.close()
    return found


def test_backup_and_restore_keep_a_ledger_whole(db_url, tmp_path, request):
    """A ledger with a terminal's records and the demo region, backed up while it holds
    them, restored into a new database: the same rows, and `check` finds it consistent."""
    server = LedgerProcess(db_url, tmp_path / "home").start()
    try:
        db = server.db()
        service.create_merchant(db, "M-OPS", "八百屋", "small", 1)
        code = service.create_terminal(db, "M-OPS")["code"]
        db.close()
        terminal = Terminal(server.url, tmp_path / "term").enroll(code)
        assert terminal.push()["acked_seq"] >= 1
        terminal.close()
    finally:
        server.stop()
    assert run("seed-demo", "--db", db_url, "--wallets", "20", "--home",
               str(tmp_path / "home")).returncode == 0
    before = _counts(db_url)
    assert before["records"] >= 1 and before["lots"] > 0
    out = tmp_path / "ledger.backup"
    made = run("backup", "--db", db_url, "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert out.stat().st_mode & 0o777 == 0o600  # PIN hashes, wallets: the owner's only
    assert not list(tmp_path.glob("*.partial"))
    if db_url.startswith("sqlite"):
        fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        fresh = request.getfixturevalue("pg_cluster").create_database(
            f"restored{os.getpid()}_{tmp_path.name[-8:].replace('-', '_')}")
    done = run("restore", "--from", str(out), "--db", fresh)
    assert done.returncode == 0, done.stderr
    assert _counts(fresh) == before
    checked = run("check", "--db", fresh)
    assert checked.returncode == 0 and "ledger consistent" in checked.stdout
    again = run("restore", "--from", str(out), "--db", fresh)
    assert again.returncode == 1 and "not empty" in again.stderr
    forced = run("restore", "--from", str(out), "--db", fresh, "--force")
    assert forced.returncode == 0, forced.stderr
    assert _counts(fresh) == before


def test_the_log_has_a_line_per_request_and_batch_and_no_secret(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    db = Database(url)
    migrate(db)
    service.create_merchant(db, "M-LOG", "八百屋", "small", 1)
    pin = "97531"
    service.create_staff(db, "M-LOG", "佐藤", "manager", pin)
    with db.reading() as conn:
        stored = json.loads(conn.value("SELECT pin FROM staff"))  # the PIN's salt and hash
    code = service.create_terminal(db, "M-LOG")["code"]
    db.close()
    server = LedgerProcess(url, tmp_path / "home").start()
    try:
        terminal = Terminal(server.url, tmp_path / "term").enroll(code)
        pushed = terminal.push()
        terminal.snapshot()
        terminal.close()
        token = server.admin_token
        refused = requests.get(server.url + "/metrics", timeout=HTTP_TIMEOUT_S)
        assert refused.status_code == 401
        metrics = requests.get(server.url + "/metrics", timeout=HTTP_TIMEOUT_S,
                               headers={"authorization": f"Bearer {token}"})
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        key_seed = service.LedgerHome(tmp_path / "home").signing_key().seed().hex()
    finally:
        server.stop()
    log = Path(server.log.name).read_text()
    created = len(pushed["results"])
    assert re.search(r"request method=POST route=/v1/journal status=200 ms=[\d.]+ "
                     rf"terminal={terminal.terminal_id}", log)
    assert re.search(rf"ingest terminal={terminal.terminal_id} records={created} "
                     rf"accepted={created} duplicates=0 rejected=0 forks=0 flags=\d+ ms=", log)
    assert "route=/v1/snapshot status=200" in log
    assert "route=/metrics status=401" in log
    for secret in (token, pin, code, key_seed, terminal.key.seed().hex(), stored["salt"],
                   stored["hash"]):
        assert secret and secret not in log
    assert f'machi_ledger_records_ingested_total{{outcome="created"}} {float(created)}' in text
    assert 'machi_ledger_requests_total{route="/v1/journal",status="200"} 1.0' in text
    assert 'machi_ledger_refusals_total{reason="unauthorized"} 1.0' in text
    assert "machi_ledger_ingest_seconds_count 1.0" in text
    assert "machi_ledger_snapshot_page_items_count 1.0" in text
    assert "machi_ledger_verifier_helper_up" in text


def test_metrics_are_summed_over_worker_processes(tmp_path):
    """Two workers: /metrics counts the requests both answered (multiprocess mode), the
    one /healthz the start-up probe got plus the ones sent here."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate(Database(url))
    server = LedgerProcess(url, tmp_path / "home", workers=2).start()
    sent = 12
    try:
        with requests.Session() as http:
            for _ in range(sent):
                assert http.get(server.url + "/healthz", timeout=HTTP_TIMEOUT_S).ok
        text = requests.get(server.url + "/metrics", timeout=HTTP_TIMEOUT_S, headers={
            "authorization": f"Bearer {server.admin_token}"}).text
    finally:
        server.stop()
    assert (f'machi_ledger_requests_total{{route="/healthz",status="200"}} {float(sent + 1)}'
            in text)


def test_without_pg_dump_a_postgres_backup_is_one_clear_line(tmp_path, monkeypatch):
    """A machine with no PostgreSQL client programs (none installed, none on PATH)."""
    from ledger import ops

    monkeypatch.setattr(ops.glob, "glob", lambda pattern: [])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ops.OpsError, match=r"^pg_dump is not installed \(PostgreSQL client"):
        ops.backup("postgresql://machi:secret@127.0.0.1:1/ledger", tmp_path / "b.backup")
    assert not list(tmp_path.iterdir())  # no half file left


def test_listings_filter_on_both_engines(ledger_db):
    """A listing narrowed to one merchant or wallet works on PostgreSQL too (a bare
    `? IS NULL` cannot be typed there), and the unfiltered listing still shows them all."""
    from ledger import ops

    service.create_merchant(ledger_db, "M-A", "A店", "small", 1)
    service.create_merchant(ledger_db, "M-B", "B店", "small", 1)
    service.create_terminal(ledger_db, "M-A")
    service.create_terminal(ledger_db, "M-B")
    service.create_wallet(ledger_db, "card", "W-A")
    service.create_wallet(ledger_db, "card", "W-B")
    service.create_card(ledger_db, "W-A")
    service.create_card(ledger_db, "W-B")
    assert {t["merchant_id"] for t in ops.list_terminals(ledger_db, "M-A")} == {"M-A"}
    assert len(ops.list_terminals(ledger_db)) == 2
    assert {c["wallet_id"] for c in ops.list_cards(ledger_db, "W-B")} == {"W-B"}
    assert len(ops.list_cards(ledger_db)) == 2
    assert ops.list_staff(ledger_db, "M-A") == []
