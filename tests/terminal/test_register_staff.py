"""The register's staff and diners (terminal.register, #16 and #17): a shop whose staff were
made at the ledger (`admin create-staff`), driven through the command line and the HTTP
endpoint beside a real ledger process. A cashier's sale goes through and names the cashier;
a cashier's void is refused `approval_needed` (exit 3, with why) until a manager approves it,
and the void's record names both; a wrong PIN is refused; a request without staff at a
staffed shop is refused `not_signed_in`; the other diners of a restaurant party are stamped
on their own cards."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
import requests

from ledger import service
from terminal import register, register_http
from terminal.__main__ import main
from terminal.journal import Journal
from tests.ledger.helpers import ROOT
from tests.terminal.seedday import Town

MANAGER_PIN, CASHIER_PIN = "2580", "1470"
# A small rally at the restaurant (seed 004's rule, its own figures): ≥ ¥600 a stamp, ¥200
# off a stamp, each diner's share judged per person.
RALLY = {"id": "rally", "kind": "stamp_rally", "name": "ラリー", "funder": "city",
         "threshold": 600, "stamps_to_complete": 3,
         "prize": {"value": 1_000, "quantity": 10, "expires": "2030-12-31"},
         "shop_discount": {"off": 200, "first": 100}, "restaurants": ["M-IROHA"]}
HTTP_TIMEOUT_S = 30
START_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """The restaurant with a manager and a cashier (made at the ledger before its terminal
    was enrolled: the snapshot carries them), a booth in first-setup mode (no staff), and
    three cards with ¥10,000 each charged at the booth."""
    with Town(tmp_path_factory.mktemp("staff")) as made:
        made.merchant("M-IROHA", "いろは亭")
        made.merchant("M-BOOTH", "窓口")
        made.campaign(RALLY)
        made.manager = service.create_staff(made.db, "M-IROHA", "店長", "manager",
                                            MANAGER_PIN)["staff"]
        made.cashier = service.create_staff(made.db, "M-IROHA", "レジ", "cashier",
                                            CASHIER_PIN)["staff"]
        made.cards = [made.card() for _ in range(3)]
        booth = made.till("M-BOOTH")
        for card in made.cards:
            booth.do("charge", credential=card, amount=10_000)  # no staff there: no PIN
        made.shop = made.till("M-IROHA")
        yield made


def cli(till, *argv: str, stdin: str = "", env: dict | None = None) -> tuple[int, dict]:
    saved_in, out = sys.stdin, io.StringIO()
    sys.stdin = io.StringIO(stdin)
    with pytest.MonkeyPatch.context() as patch:
        for name in (register.STAFF_PIN_ENV, register.APPROVER_PIN_ENV):
            patch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = main([*argv, "--data", str(till.data)])
        finally:
            sys.stdin = saved_in
    return code, json.loads(out.getvalue())


def body_of(till, tx_id: str) -> dict:
    with Journal.open(till.data) as journal:
        return journal.record_by_tx(tx_id)["body"]


def test_a_cashier_sells_and_a_void_needs_a_manager(town):
    card = town.cards[0]
    code, sale = cli(town.shop, "sale", "--credential", card, "--amount", "1,000", "--staff",
                     town.cashier, stdin=CASHIER_PIN + "\n")
    assert (code, sale["status"], sale["amount"]) == (register.EXIT_APPROVED, "approved", 800)
    assert body_of(town.shop, sale["tx_id"])["staff"] == town.cashier
    assert "approver" not in body_of(town.shop, sale["tx_id"])

    code, answer = cli(town.shop, "void", "--tx", sale["tx_id"], "--staff", town.cashier,
                       stdin=CASHIER_PIN + "\n")
    assert (code, answer["status"], answer["code"]) == \
        (register.EXIT_REFUSED, "refused", "approval_needed")
    assert "a void" in answer["message"] and answer["details"]["why_key"] == "void"

    # the approver's PIN from its environment variable, the cashier's from stdin
    code, void = cli(town.shop, "void", "--tx", sale["tx_id"], "--staff", town.cashier,
                     "--approver", town.manager, stdin=CASHIER_PIN + "\n",
                     env={register.APPROVER_PIN_ENV: MANAGER_PIN})
    assert (code, void["kind"], void["amount"]) == (register.EXIT_APPROVED, "void", 800)
    recorded = body_of(town.shop, void["tx_id"])
    assert (recorded["staff"], recorded["approver"]) == (town.cashier, town.manager)
    town.shop.sync()
    assert town.balance(town.wallet_of(card))["total"] == 10_000


def test_both_pins_on_stdin_and_the_approval_is_for_that_action_only(town):
    card = town.cards[0]
    _, sale = cli(town.shop, "sale", "--credential", card, "--amount", "300", "--staff",
                  town.manager, env={register.STAFF_PIN_ENV: MANAGER_PIN})
    code, void = cli(town.shop, "void", "--tx", sale["tx_id"], "--staff", town.cashier,
                     "--approver", town.manager, stdin=f"{CASHIER_PIN}\n{MANAGER_PIN}\n")
    assert code == register.EXIT_APPROVED and body_of(town.shop, void["tx_id"])["approver"] \
        == town.manager
    # a cashier may not approve
    _, again = cli(town.shop, "sale", "--credential", card, "--amount", "300", "--staff",
                   town.cashier, stdin=CASHIER_PIN + "\n")
    code, answer = cli(town.shop, "void", "--tx", again["tx_id"], "--staff", town.cashier,
                       "--approver", town.cashier, stdin=f"{CASHIER_PIN}\n{CASHIER_PIN}\n")
    assert (code, answer["code"]) == (register.EXIT_REFUSED, "not_a_manager")


def test_wrong_pin_missing_staff_and_bad_input(town):
    card = town.cards[0]
    code, answer = cli(town.shop, "sale", "--credential", card, "--amount", "500", "--staff",
                       town.cashier, stdin="0000\n")
    assert (code, answer["code"]) == (register.EXIT_REFUSED, "staff_pin_wrong")
    code, answer = cli(town.shop, "sale", "--credential", card, "--amount", "500")
    assert (code, answer["code"]) == (register.EXIT_REFUSED, "not_signed_in")
    code, answer = cli(town.shop, "sale", "--credential", card, "--amount", "500", "--staff",
                       "S-NOSUCH", stdin="1234\n")
    assert (code, answer["code"]) == (register.EXIT_REFUSED, "staff_unknown")
    code, answer = cli(town.shop, "sale", "--credential", card, "--amount", "500", "--staff",
                       town.cashier, stdin="")
    assert (code, answer["status"], answer["field"]) == \
        (register.EXIT_BAD_INPUT, "bad_input", "staff_pin")
    with pytest.raises(register.BadInput):
        register.check_request("sale", {"amount": 5, "credential": card, "staff": "S-1"})
    with pytest.raises(register.BadInput):
        register.check_request("sale", {"amount": 5, "credential": card, "diners": "x"})
    with pytest.raises(register.BadInput):
        register.check_request("sale", {"amount": 5, "credential": card,
                                        "diners": [card] * (register.MAX_DINERS + 1)})
    town.shop.sync()
    assert town.balance(town.wallet_of(card))["total"] == 10_000 - 300  # nothing more sold


def test_the_other_diners_are_stamped_on_their_own_cards(town):
    """A party of three pays ¥1,800 (¥600 each): the payer's stamp and each diner's, ¥200
    off a stamp, so the payer pays 1,800 − 3 × 200 = ¥1,200."""
    payer, one, two = town.cards
    code, sale = cli(town.shop, "sale", "--credential", payer, "--amount", "1,800",
                     "--diner", one, "--diner", two, "--staff", town.cashier,
                     stdin=CASHIER_PIN + "\n")
    assert (code, sale["amount"], sale["price"]) == (register.EXIT_APPROVED, 1_200, 1_800)
    diners = body_of(town.shop, sale["tx_id"])["diners"]
    assert sorted(diner["wallet"] for diner in diners) == \
        sorted(town.wallet_of(card) for card in (one, two))
    assert all(diner["campaigns"][0]["stamps"] == 1 for diner in diners)
    assert sum(entry["discount"] for entry in sale["campaigns"]) == 600


def test_the_http_endpoint_takes_staff_approver_and_diners(town):
    """The same through `serve-register`: each request names its member, nothing carries
    over to the next request."""
    payer, one, _ = town.cards
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "serve-register", "--data",
                             str(town.shop.data), "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "register endpoint on http://127.0.0.1:" in line, proc.stderr.read()
        url = line.split(" on ", 1)[1].split()[0].rstrip("/")
        token = (town.shop.data / register_http.TOKEN_FILE).read_text().strip()

        def post(action: str, body: dict) -> tuple[int, dict]:
            reply = requests.post(f"{url}/{action}", json=body, timeout=HTTP_TIMEOUT_S,
                                  headers={"Authorization": f"Bearer {token}"})
            return reply.status_code, reply.json()

        cashier = {"staff": town.cashier, "staff_pin": CASHIER_PIN}
        status, sale = post("sale", {"credential": payer, "amount": 1_200, "diners": [one],
                                     **cashier})
        # ¥600 each, but both cards already hold this shop's stamp (the test above): none
        assert status == 200 and (sale["amount"], sale["campaigns"]) == (1_200, []), sale
        status, refused = post("void", {"tx": sale["tx_id"], **cashier})
        assert (status, refused["code"]) == (409, "approval_needed")
        status, void = post("void", {"tx": sale["tx_id"], **cashier,
                                     "approver": town.manager, "approver_pin": MANAGER_PIN})
        assert (status, void["kind"]) == (200, "void")
        status, answer = post("sale", {"credential": payer, "amount": 100})
        assert (status, answer["code"]) == (409, "not_signed_in")
        status, answer = post("sale", {"credential": payer, "amount": 100, "staff":
                                       town.cashier, "staff_pin": "9999"})
        assert (status, answer["code"]) == (409, "staff_pin_wrong")
    finally:
        proc.terminate()
        proc.wait(START_TIMEOUT_S)


def test_a_real_process_reads_the_pins_from_stdin(town):
    """`python -m terminal void ... --staff S --approver M` as a child process, both PINs
    on standard input (never in its argument list)."""
    code, sale = town.shop.run("sale", "--credential", town.cards[1], "--amount", "300",
                               "--staff", town.cashier, stdin=CASHIER_PIN + "\n")
    assert (code, sale["status"]) == (register.EXIT_APPROVED, "approved")
    code, void = town.shop.run("void", "--tx", sale["tx_id"], "--staff", town.cashier,
                               "--approver", town.manager,
                               stdin=f"{CASHIER_PIN}\n{MANAGER_PIN}\n")
    assert (code, void["kind"]) == (register.EXIT_APPROVED, "void")
    recorded = body_of(town.shop, void["tx_id"])
    assert (recorded["staff"], recorded["approver"]) == (town.cashier, town.manager)
