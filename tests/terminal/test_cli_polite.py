"""Every command line but the ledger's is polite (#19.4), as an operator meets it: real
processes, a real ledger and an enrolled terminal.

`--help` of every command and action of `python -m terminal` and `python -m sync.refwallet`
(found by walking their argparse parsers, so a new command cannot escape it) and of every
benchmark of `python -m bench`; a table of bad inputs, each one line on standard error with a
non-zero exit and never a traceback; a reader that goes away (`... | head -1`); a spinner
while a long command runs on a terminal, and silence when piped. (The ledger's own:
tests/ledger/test_ops.py.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from sync import clitools, refwallet
from terminal import register
from terminal.__main__ import build_parser
from tests.ledger.helpers import ROOT
from tests.terminal.seedday import Town

CLI_TIMEOUT_S = 60
TERMINAL = build_parser()
WALLET = refwallet.build_parser()
COMMANDS = [("terminal", words) for words, _, _ in clitools.subcommands(TERMINAL)] + \
    [("sync.refwallet", words) for words, _, _ in clitools.subcommands(WALLET)] + \
    [("bench", (name,)) for name in BENCHMARKS]
UNUSED_CARD = "8000 0000 0000 9999"


def run(module: str, *args: str, stdin: str = "", env: dict | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                          env={**os.environ, **(env or {})})


def test_every_command_and_option_has_a_help_line():
    for parser in (TERMINAL, WALLET):
        found = list(clitools.subcommands(parser))
        missing = [" ".join(words) for words, _, text in found if not text]
        assert not missing, f"no help line: {missing}"
        for words, child, _ in found:
            assert child.description, words
            for action in child._actions:
                if action.option_strings and not isinstance(action,
                                                            argparse._SubParsersAction):
                    assert action.help, f"{' '.join(words)} {action.option_strings[0]}"
    words = [w for _, w in COMMANDS]
    assert ("journal", "export") in words and ("repair", "rebuild-state") in words
    assert ("serve-register",) in words and ("cards-pdf",) in words
    assert all((action,) in words for action in register.ACTIONS)


@pytest.mark.parametrize(("module", "words"), [("terminal", ()), ("sync.refwallet", ()),
                                               ("bench", ()), *COMMANDS],
                         ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_help_of_every_command(module, words):
    done = run(module, *words, "--help")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == "" and done.stdout.startswith("usage: python -m ")
    assert " ".join(("python -m", module, *words)) in done.stdout


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A shop with an enrolled terminal, and a card with ¥5,000 charged on it."""
    with Town(tmp_path_factory.mktemp("polite")) as made:
        made.merchant("M-SHOP", "店")
        made.card_number = made.card()
        made.shop = made.till("M-SHOP")
        made.shop.do("charge", credential=made.card_number, amount=5_000)
        yield made


def terminal_bad_inputs(tmp: Path, data: str) -> list[tuple[list[str], int, str]]:
    """(command line, exit code, words of the one line on standard error)."""
    none = str(tmp / "none")
    out = str(tmp / "t.pdf")
    return [
        (["tally", "--data", data, "--date", "2024-02-30", "--out", out], 2, "not a day"),
        (["tally", "--data", data, "--date", "yesterday", "--out", out], 2, "not a day"),
        (["tally", "--data", data, "--out", str(tmp / "no-dir" / "t.pdf")], 2,
         "cannot write"),
        (["tally", "--data", data, "--out", str(tmp)], 2, "is a directory"),
        (["tally", "--data", none, "--out", out], 1, "no journal"),
        (["journal", "export", "--data", data, "--out", str(tmp / "no-dir" / "j.jsonl")], 2,
         "cannot write"),
        (["journal", "verify", "--jsonl", str(tmp / "none.jsonl")], 1, "cannot read"),
        (["serve-register", "--data", data, "--port", "99999"], 2, "not a TCP port"),
        (["serve-register", "--data", data, "--port", "http"], 2, "not a TCP port"),
        (["serve-register", "--data", none, "--port", "0"], 1, "no enrolled terminal"),
        (["simulate", "--data", data, "--sales", "0"], 2, "at least 1"),
        (["close", "--data", data, "--counted", "12x"], 2, "not an amount"),
        (["status", "--data", none], 1, "no enrolled terminal"),
        (["sync", "--data", none], 1, "no enrolled terminal"),
        (["close", "--data", none], 1, "no enrolled terminal"),
        (["repair", "rebuild-state", "--data", none], 1, "no enrolled terminal"),
        (["balance", "--data", data, "--card", UNUSED_CARD, "--offline"], 1, "refused"),
        (["balance", "--data", data, "--wallet", "W-NONE"], 1, "refused"),
        (["enroll", "--data", str(tmp / "new"), "--ledger", "ledger.example", "--code", "X"],
         1, "must be http"),
        (["enroll", "--data", str(tmp / "new2"), "--ledger", "http://127.0.0.1:1", "--code",
          "X"], 1, "cannot be reached"),
        (["sale", "--data", data, "--credential", UNUSED_CARD, "--amount", "12x"], 2,
         "not a whole number"),
        (["sale", "--data", none, "--credential", UNUSED_CARD, "--amount", "100"], 1,
         "no enrolled terminal"),
        (["nosuch"], 2, "invalid choice"),
        (["balance", "--data", data], 2, "required"),
    ]


def test_bad_input_is_one_line_and_never_a_traceback(town, tmp_path):
    data = str(town.shop.data)
    for args, code, words in terminal_bad_inputs(tmp_path, data):
        done = run("terminal", *args)
        lines = done.stderr.strip().splitlines()
        assert "Traceback" not in done.stdout + done.stderr, (args, done.stderr)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        assert len(lines) == 1 and words in lines[0], (args, done.stderr)


def test_the_registers_exit_codes_stay(town):
    """The register's actions keep their codes: 3 refused by the counter (an unknown tx,
    its JSON on stdout), 2 bad input, 1 the terminal cannot act."""
    done = run("terminal", "refund", "--data", str(town.shop.data), "--tx", "T-NONE")
    assert done.returncode == register.EXIT_REFUSED and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["status"] == "refused"
    done = run("terminal", "cash", "--data", str(town.shop.data), "--amount", "5,000",
               "--direction", "sideways")
    assert done.returncode == register.EXIT_BAD_INPUT
    assert json.loads(done.stdout)["status"] == "bad_input"


def wallet_bad_inputs(tmp: Path, ledger_url: str) -> list[tuple[list[str], dict, str]]:
    """(command line, environment, words of the one line on standard error): exit 1 for a
    refusal, 2 for a bad command line (the words start with its program)."""
    phone = str(tmp / "phone")
    token = {refwallet.ADMIN_TOKEN_ENV: "not-the-token"}
    return [
        (["certify", "--dir", phone, "--ledger", ledger_url, "--wallet", "W-1"], {},
         f"set {refwallet.ADMIN_TOKEN_ENV}"),
        (["certify", "--dir", phone, "--ledger", "ledger.example", "--wallet", "W-1"], token,
         "must be http"),
        (["certify", "--dir", phone, "--ledger", "http://127.0.0.1:1", "--wallet", "W-1"],
         token, "cannot be reached"),
        (["certify", "--dir", phone, "--ledger", ledger_url, "--wallet", "W-NONE"], token,
         "refused (401)"),
        (["certify", "--dir", phone, "--ledger", ledger_url, "--wallet", "W-1",
          "--offline-limit", "lots"], token, "not an amount"),
        (["token", "--dir", phone], {}, "no certificate yet"),
        (["token", "--dir", phone, "--png", str(tmp / "no-dir" / "t.png")], {},
         "cannot write"),
        (["cards-pdf", "--out", str(tmp / "c.pdf"), "--card", "123"], {}, "card"),
        (["cards-pdf", "--out", str(tmp / "no-dir" / "c.pdf"), "--card", UNUSED_CARD], {},
         "cannot write"),
        (["new", "--dir", "/proc/no-such/phone"], {}, "error"),
        (["nosuch"], {}, "invalid choice"),
    ]


def test_the_wallets_bad_input_is_one_line(town, tmp_path):
    assert run("sync.refwallet", "new", "--dir", str(tmp_path / "phone")).returncode == 0
    for args, env, words in wallet_bad_inputs(tmp_path, town.ledger.url):
        done = run("sync.refwallet", *args, env=env)
        lines = done.stderr.strip().splitlines()
        assert "Traceback" not in done.stdout + done.stderr, (args, done.stderr)
        assert done.returncode in (1, 2), (args, done.returncode)
        assert len(lines) == 1 and words in lines[0], (args, done.stderr)


@pytest.mark.parametrize(("args", "words"), [
    (["nosuch"], "no benchmark 'nosuch'"),
    (["journal", "--sales", "0"], "at least 1"),
    (["tally", "--json", "/no-such-dir/t.json"], "cannot write"),
    (["decode", "--frames", "many"], "at least 1"),
    (["sync", "--records", "-1"], "at least 1"),
    (["storage", "--lots", "0"], "at least 1"),
], ids=" ".join)
def test_a_benchmarks_bad_input_is_one_line(args, words):
    done = run("bench", *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and words in done.stderr


@pytest.mark.parametrize("argv", [["terminal", "status"], ["terminal", "--help"],
                                  ["sync.refwallet", "--help"]], ids=" ".join)
def test_a_reader_that_goes_away_is_no_error(town, argv):
    """`... | head -1`: the reader closes the pipe before anything is written; the command
    ends without a word on standard error."""
    data = ["--data", str(town.shop.data)] if argv[1] == "status" else []
    proc = subprocess.Popen([sys.executable, "-m", *argv, *data], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child, still importing, writes a line
    _, err = proc.communicate(timeout=CLI_TIMEOUT_S)
    assert err == b"", err.decode()


def test_a_long_command_shows_it_works_on_a_terminal_only(town):
    """`simulate`: a spinner with the time on a terminal's standard error; nothing on a
    pipe (a script or a log stays clean)."""
    argv = [sys.executable, "-m", "terminal", "simulate", "--data", str(town.shop.data),
            "--sales", "3", "--offline"]
    piped = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                           timeout=CLI_TIMEOUT_S)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    assert piped.stdout.startswith("3 sales")
    pty = pytest.importorskip("pty", reason="a pseudo-terminal is POSIX-only")
    leader, follower = pty.openpty()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=follower,
                          timeout=CLI_TIMEOUT_S)
    os.close(follower)
    shown = b""
    try:
        while chunk := os.read(leader, 4096):
            shown += chunk
    except OSError:  # the pseudo-terminal is closed: everything was read
        pass
    os.close(leader)
    assert done.returncode == 0
    assert "simulating 3 sales: done" in shown.decode(errors="replace")
