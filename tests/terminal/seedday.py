"""A full business day of a seed scheme, against a real ledger process, driven only through
the register's command line (terminal.register): the harness of tests/terminal/test_seed_days.

    with Town(tmp_path) as town:
        town.merchant("M-GAS", "北斗石油", "small")
        town.campaign({"id": ..., "kind": ..., ...})        # starts/ends/funder defaulted
        card = town.card(age_band="40s", area="北斗")       # a card wallet at the ledger
        phone = town.phone(age_band="30s")                  # an app wallet and its phone
        gas = town.till("M-GAS")                            # enrolled through the CLI, synced
        sale = gas.do("sale", credential=card, amount=6_000)          # in-process main(argv)
        gas.do("sale", credential=card, amount=9_999, expect="refused")
        gas.run("sale", "--credential", card, "--amount", "100")      # a real subprocess
        gas.sync(); sheet = gas.close_day(counted=0)        # Z close, the day's 日計表
        town.ledger_sheet(gas), town.campaigns(), town.settlement(plan), town.kpi(), ...

Every action's answer is checked to be the status asked for (`expect`), with the exit code
that status has. Reuse it for seeds 003 and 004: new actions need nothing here (any option
is passed through as `--name value`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ledger import certs, kpi, reports, service
from ledger import liability as liability_report
from ledger.server import HOME_ENV
from sync import keyfile, keys, tokens
from sync import tally as sheet_module
from terminal import register
from terminal import tally as terminal_tally
from terminal.__main__ import main
from terminal.journal import Journal
from tests.ledger.helpers import ROOT, LedgerProcess

# Wide enough that a day run today falls in it; the seed's own dates are in the docstrings.
DAYS = {"starts": "2026-01-01", "ends": "2030-12-31"}
EXIT_OF = {"approved": register.EXIT_APPROVED, "refused": register.EXIT_REFUSED,
           "bad_input": register.EXIT_BAD_INPUT, "error": register.EXIT_ERROR}
SUBPROCESS_TIMEOUT_S = 60


def argv_of(action: str, options: dict[str, Any]) -> list[str]:
    """`--name value` per option (`tags=[...]` repeats `--tag`, `diners=[...]` `--diner`;
    True is a bare flag)."""
    argv = [action]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name in ("tags", "diners"):  # repeated: --tag WORD, --diner TEXT
            for item in value:
                argv += ["--" + name[:-1], item]
        elif value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    return argv


class Phone:
    """An app wallet's phone: each `code()` is a fresh app code (a rising counter)."""

    def __init__(self, cert: tokens.Certificate, device: keys.PrivateKey, wallet_id: str):
        self.cert, self.device, self.wallet_id = cert, device, wallet_id
        self.counter = 0

    def code(self) -> str:
        self.counter += 1
        return tokens.make_token(self.cert, self.device, self.counter)


class Till:
    """One enrolled terminal, driven through the register's command line."""

    def __init__(self, town: Town, merchant_id: str, data: Path) -> None:
        self.town, self.merchant_id, self.data = town, merchant_id, data
        self.answers: list[dict] = []

    def do(self, action: str, expect: str = "approved", **options: Any) -> dict:
        """One action through `main(argv)` in this process; its JSON answer."""
        argv = argv_of(action, options) + ["--data", str(self.data)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
        answer = json.loads(out.getvalue())
        assert answer["status"] == expect, (argv, answer)
        assert code == EXIT_OF[expect], (argv, code, answer)
        self.answers.append(answer)
        return answer

    def run(self, *argv: str, stdin: str | None = None, env: dict | None = None
            ) -> tuple[int, dict]:
        """One command as a real child process: (exit code, its JSON answer)."""
        done = subprocess.run([sys.executable, "-m", "terminal", *argv, "--data",
                               str(self.data)], cwd=ROOT, input=stdin, capture_output=True,
                              text=True, timeout=SUBPROCESS_TIMEOUT_S,
                              env={**os.environ, **(env or {})})
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, json.loads(done.stdout)

    def sync(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["sync", "--data", str(self.data)])
        assert code == 0, out.getvalue()

    def close_day(self, counted: int | None = None) -> sheet_module.Tally:
        """The Z close through the command line, a sync (the close, and the leases given
        back), and the closed day's 日計表 as the terminal prints it."""
        argv = ["close", "--data", str(self.data)]
        if counted is not None:
            argv += ["--counted", str(counted)]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0
        self.sync()
        return self.sheet(closed=True)

    def sheet(self, closed: bool = False) -> sheet_module.Tally:
        """The X report (the open day), or the last closed day's sheet."""
        with Journal.open(self.data) as journal:
            if not closed:
                return terminal_tally.x_report(journal)
            last = [rec for rec in (json.loads(row[6]) for row in journal.rows())
                    if rec["type"] == "day_close"][-1]
            return terminal_tally.for_date(journal, last["body"]["business_date"])

    def tally_csv(self, business_date: str) -> bytes:
        """`python -m terminal tally --date D --format csv`: the sheet as the shop prints it."""
        out = self.data.parent / f"{self.data.name}-{business_date}.csv"
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["tally", "--data", str(self.data), "--date", business_date,
                         "--format", "csv", "--out", str(out)]) == 0
        return out.read_bytes()

    @property
    def terminal_id(self) -> str:
        return json.loads((self.data / "terminal.json").read_text())["terminal_id"]


class Town:
    """A ledger process with the seed's merchants, campaigns and customers."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger.db'}",
                                    tmp_path / "home").start()
        self.db = self.ledger.db()
        self.tills: list[Till] = []

    def __enter__(self) -> Town:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()
        self.ledger.stop()

    # --- the seed's set-up, at the ledger ----------------------------------------------------

    def merchant(self, merchant_id: str, name: str, merchant_class: str = "small",
                 plan: int = 1) -> None:
        service.create_merchant(self.db, merchant_id, name, merchant_class, plan)

    def campaign(self, rules: dict[str, Any]) -> str:
        return service.create_campaign(self.db, {**DAYS, **rules})

    def card(self, age_band: str | None = None, area: str | None = None,
             pin: str | None = None, nfc_uid: str | None = None) -> str:
        """A new card wallet at the ledger (empty: the day charges it); its card number."""
        wallet_id = service.create_wallet(self.db, "card", age_band=age_band, area=area)
        return service.create_card(self.db, wallet_id, pin=pin, nfc_uid=nfc_uid)

    def phone(self, age_band: str | None = None, area: str | None = None) -> Phone:
        wallet_id = service.create_wallet(self.db, "app", age_band=age_band, area=area)
        device = keys.generate()
        issued = certs.issue(self.db, keyfile.load(self.ledger.home / "ledger.key"),
                             wallet_id, device.public_key().hex)
        cert = tokens.parse_certificate(tokens.b45decode(issued["certificate"]))
        return Phone(cert, device, wallet_id)

    def gift_codes(self, campaign_id: str, count: int = 1) -> list[str]:
        """Gift codes of a gift_code campaign, signed by the ledger, as printed (MG1:...)."""
        key = service.LedgerHome(self.ledger.home).signing_key()
        return [code.text() for code in service.create_gift_codes(self.db, key, campaign_id,
                                                                  count)]

    def till(self, merchant_id: str) -> Till:
        """A terminal of the merchant, enrolled through the CLI, its snapshot (and the
        campaigns' leases) pulled."""
        code = service.create_terminal(self.db, merchant_id)["code"]
        data = self.tmp / f"till{len(self.tills)}-{merchant_id}"
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["enroll", "--data", str(data), "--ledger", self.ledger.url,
                         "--code", code]) == 0
        till = Till(self, merchant_id, data)
        till.sync()
        self.tills.append(till)
        return till

    # --- what the ledger says ----------------------------------------------------------------

    def ledger_sheet(self, till: Till, business_date: str) -> sheet_module.Tally:
        """The ledger's `report tally` of the till's day."""
        found = [one for one in reports.tally(self.db, business_date, till.merchant_id)
                 if one.terminal_id == till.terminal_id]
        assert len(found) == 1, found
        return found[0]

    def campaigns(self, day: str) -> dict[str, reports.CampaignFigures]:
        return {item.campaign_id: item for item in reports.campaign_report(self.db, day, day)}

    def settlement(self, month: str, plan: int) -> dict[str, reports.Settlement]:
        return {item.merchant_id: item for item in reports.settlement(self.db, month, plan)}

    def kpi(self, day: str) -> dict:
        return kpi.kpi(self.db, day, day)

    def liability(self, on: str | None = None) -> liability_report.Liability:
        """`ledger report liability` (#16 rule 6): the value owed to holders, by pocket and
        by funder, expiry judged on `on` (default today)."""
        return liability_report.liability(self.db, on)

    def balance(self, wallet_id: str) -> dict:
        return service.wallet_view(self.db, wallet_id)

    def wallet_of(self, card: str) -> str:
        with self.db.reading() as conn:
            return conn.value("SELECT wallet_id FROM cards WHERE card_id = ?", (card,))

    def flags(self) -> list[dict]:
        return service.list_flags(self.db)

    def tally_csv(self, merchant_id: str, business_date: str) -> bytes:
        """`python -m ledger report tally --format csv` of one merchant's day."""
        out = self.tmp / f"ledger-{merchant_id}-{business_date}.csv"
        self.cli("report", "tally", "--date", business_date, "--merchant", merchant_id,
                 "--format", "csv", "--out", str(out))
        return out.read_bytes()

    def cli(self, *argv: str) -> str:
        """`python -m ledger ...` as the town office runs it (a real child process)."""
        done = subprocess.run([sys.executable, "-m", "ledger", *argv, "--db", self.ledger.db_url],
                              cwd=ROOT, capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT_S,
                              env={**os.environ, HOME_ENV: str(self.ledger.home)})
        assert done.returncode == 0, done.stderr
        return done.stdout


SHEET_FIELDS = ("counts", "yen", "by_pocket", "by_decision", "float_in", "float_out",
                "cash_counted", "campaigns", "net_sales", "cash_expected", "first_seq",
                "last_seq", "business_date")


def assert_same_sheet(terminal: sheet_module.Tally, ledger: sheet_module.Tally) -> None:
    """The terminal's 日計表 and the ledger's, figure by figure."""
    for name in SHEET_FIELDS:
        assert getattr(terminal, name) == getattr(ledger, name), name
