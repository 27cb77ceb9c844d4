"""deploy/ names only what the ledger has: its commands, flags and the address it serves."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from ledger import __main__ as cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "machi-ledger.service"
PROXY = DEPLOY / "nginx-ledger.conf"


def _ledger_commands(unit: str) -> list[list[str]]:
    """The `python -m ledger ...` words of every Exec line of the unit."""
    found = []
    for line in unit.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("Exec") and "-m ledger" in value:
            words = shlex.split(value)
            found.append(words[words.index("ledger") + 1 :])
    return found


def _subparser(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(word)
    return None


def test_the_unit_runs_real_commands_with_real_flags(tmp_path):
    commands = _ledger_commands(UNIT.read_text())
    assert [c[0] for c in commands] == ["migrate", "serve"]
    for words in commands:
        parser = cli.build_parser()
        for word in words:
            if word.startswith("-"):
                break
            child = _subparser(parser, word)
            assert child is not None, f"no ledger command {word!r} in {words}"
            parser = child
        options = {o for a in parser._actions for o in a.option_strings}
        flags = [w for w in words if w.startswith("--")]
        assert set(flags) <= options, f"unknown flags {set(flags) - options}"
        # and the values parse (the log directory is made by systemd: here a temporary one)
        given = [str(tmp_path / "ledger.log") if i and words[i - 1] == "--log-file" else w
                 for i, w in enumerate(words)]
        args = cli.build_parser().parse_args(given)
        assert args.func is not None
    serve = cli.build_parser().parse_args(
        [str(tmp_path / "x") if w.endswith(".log") else w for w in commands[1]])
    assert (serve.host, serve.port) == ("127.0.0.1", 8700)
    unit = UNIT.read_text()
    assert "MACHI_LEDGER_HOME=" in unit and "MACHI_LEDGER_DB=" in unit
    assert cli.HOME_ENV == "MACHI_LEDGER_HOME" and cli.DB_ENV == "MACHI_LEDGER_DB"


def test_the_proxy_sends_to_where_the_unit_serves():
    serve = next(c for c in _ledger_commands(UNIT.read_text()) if c[0] == "serve")
    host, port = serve[serve.index("--host") + 1], serve[serve.index("--port") + 1]
    proxy = PROXY.read_text()
    passes = set(re.findall(r"proxy_pass\s+http://([\d.]+:\d+);", proxy))
    assert passes == {f"{host}:{port}"}
    assert re.search(r"listen 443 ssl;", proxy) and "ssl_certificate_key" in proxy
    # the ledger's body cap fits through the proxy
    from ledger.app import MAX_BODY_BYTES

    size = re.search(r"client_max_body_size (\d+)m;", proxy)
    assert size and int(size.group(1)) * 1024 * 1024 >= MAX_BODY_BYTES


def test_every_ledger_command_and_admin_action_is_in_the_readme():
    readme = " ".join((DEPLOY.parent / "README.md").read_text("utf-8").split())
    parser = cli.build_parser()
    commands = _subparser(parser, "admin")
    assert commands is not None
    missing = [f"python -m ledger {name}" for name in
               next(a for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
               if f"python -m ledger {name}" not in readme]
    missing += [f"admin {name}" for name in next(
        a for a in commands._actions if isinstance(a, argparse._SubParsersAction)).choices
        if f"admin {name}" not in readme]
    assert not missing, f"undocumented in README.md: {missing}"
