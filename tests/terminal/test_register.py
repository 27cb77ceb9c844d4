"""The register's command line (terminal.register): every action approved, refused by the
counter (exit 3, with its code) and given bad input (exit 2, one line, no traceback), against
a real ledger process; the answers' JSON; the help of every option; the README."""

from __future__ import annotations

import contextlib
import io
import json
import sys

import pytest

from terminal import register
from terminal.__main__ import build_parser, main
from terminal.journal import Journal
from tests.ledger.helpers import ROOT
from tests.terminal.seedday import Town

VOUCHER = {"id": "set", "kind": "premium_voucher", "name": "商品券", "funder": "town",
           "sets": [{"price": 5_000, "common": 3_000, "exclusive": 3_000}],
           "exclusive_classes": ["small"]}
NEW_CARD = "8000 0000 0000 1233"


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A shop and a booth, each with a terminal; a card with ¥20,000 charged at the booth."""
    with Town(tmp_path_factory.mktemp("register")) as made:
        made.merchant("M-SHOP", "店")
        made.merchant("M-BOOTH", "窓口")
        made.campaign(VOUCHER)
        made.campaign({"id": "bus", "kind": "point_grant", "name": "バス", "points": 200,
                       "funder": "town", "per_wallet": {"max": 1, "per": "month"}})
        made.campaign({"id": "ride", "kind": "ticket", "name": "乗車", "rides": 2,
                       "ride_value": 300, "funder": "town"})
        made.campaign({"id": "swap", "kind": "exchange", "name": "交換", "points": 200,
                       "value": 200, "funder": "town"})
        made.campaign({"id": "gift", "kind": "gift_code", "name": "ギフト", "value": 1_000,
                       "funder": "town"})
        made.card_number = made.card()
        made.shop, made.booth = made.till("M-SHOP"), made.till("M-BOOTH")
        made.booth.do("charge", credential=made.card_number, amount=20_000)
        yield made


def cli(till, *argv: str, stdin: str = "") -> tuple[int, dict, str]:
    """`python -m terminal ...` in this process: (exit code, the JSON answer, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--data", str(till.data)])
    finally:
        sys.stdin = saved
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines  # one JSON object, whatever happened
    return code, json.loads(lines[0]), err.getvalue()


def bad(till, *argv: str, stdin: str = "") -> str:
    """A bad command line: exit 2, one line on stderr, no traceback; that line."""
    code, answer, err = cli(till, *argv, stdin=stdin)
    assert (code, answer["status"]) == (register.EXIT_BAD_INPUT, "bad_input"), answer
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def refused(till, *argv: str) -> dict:
    code, answer, _ = cli(till, *argv)
    assert (code, answer["status"]) == (register.EXIT_REFUSED, "refused"), answer
    assert answer["message"]
    return answer


def test_sale_approved_with_its_receipt(town):
    code, answer, _ = cli(town.shop, "sale", "--credential", town.card_number, "--amount",
                          "1,200", "--lang", "en")
    assert code == register.EXIT_APPROVED
    assert (answer["status"], answer["kind"], answer["amount"], answer["decision"]) == \
        ("approved", "payment", 1_200, "online")
    assert answer["paid_by"] == {"charged": 1_200}
    wallet = town.wallet_of(town.card_number)
    assert answer["wallet"] == "****" + wallet[-4:]  # a tail, as on the receipt
    receipt = answer["receipt"]
    assert receipt["structured"]["amount"] == 1_200
    assert receipt["structured"]["tx_id"] == answer["tx_id"]
    assert any("Amount paid" in line and "1,200" in line for line in receipt["text"])
    assert town.card_number not in json.dumps(answer)  # the credential is never echoed


def test_sale_refused_and_bad_input(town):
    assert refused(town.shop, "sale", "--credential", town.card_number, "--amount",
                   "900000")["code"] == "insufficient"
    assert refused(town.shop, "sale", "--credential", "W-SOMEONE", "--amount",
                   "100")["code"] == "scan_wallet_id"  # the counter's own classification
    assert refused(town.shop, "sale", "--credential", town.card_number, "--amount",
                   "0")["code"] == "bad_amount"  # the counter decides ranges, not the CLI
    assert "not a whole number" in bad(town.shop, "sale", "--credential", "1", "--amount",
                                       "12a")
    bad(town.shop, "sale", "--amount", "100")  # nobody paying
    bad(town.shop, "sale", "--credential", "1", "--nfc", "04AB", "--amount", "100")
    bad(town.shop, "sale", "--credential", "1", "--amount", "100", "--bogus")
    bad(town.shop, "sale", "--credential", "1", "--amount", "100", "--pin-stdin", stdin="")


def test_an_nfc_card_and_the_offline_switch(town):
    nfc_card = town.card(nfc_uid="04A1B2C3D4")
    town.booth.sync()  # a top-up decides on the snapshot: the booth learns the new card
    town.booth.do("charge", nfc="04A1B2C3D4", amount=2_000)
    code, answer, _ = cli(town.shop, "sale", "--nfc", "04A1B2C3D4", "--amount", "500")
    assert (code, answer["decision"], answer["balance_after"]) == (0, "online", 1_500)
    code, answer, _ = cli(town.shop, "sale", "--credential", nfc_card, "--amount", "500",
                          "--offline", "--no-push")
    assert (code, answer["decision"], answer["balance_after"]) == (0, "offline", 1_000)
    assert refused(town.shop, "sale", "--nfc", "FFFF0000", "--amount", "500")["code"] == \
        "unknown_card"


def test_sale_with_a_gift_code_pays_as_at_the_window(town):
    code_text = town.gift_codes("gift")[0]
    code, answer, _ = cli(town.shop, "sale", "--credential", code_text, "--amount", "1500")
    assert (code, answer["kind"], answer["amount"], answer["rest"]) == (0, "gift", 1_000, 500)
    assert refused(town.shop, "sale", "--credential", code_text, "--amount",
                   "1500")["code"] == "gift_used"


def test_charge(town):
    code, answer, _ = cli(town.booth, "charge", "--credential", town.card_number,
                          "--amount", "1000")
    assert (code, answer["kind"], answer["paid_by"]) == (0, "charge", {"charged": 1_000})
    over = refused(town.booth, "charge", "--credential", town.card_number, "--amount", "49000")
    assert over["code"] == "over_cap" and over["details"]["cap"] == 50_000
    bad(town.booth, "charge", "--credential", town.card_number)  # no amount


def test_voucher(town):
    assert refused(town.booth, "voucher", "--credential", town.card_number, "--campaign",
                   "set", "--price", "4000")["code"] == "no_voucher_set"
    code, answer, _ = cli(town.booth, "voucher", "--credential", town.card_number,
                          "--campaign", "set", "--price", "5000")
    assert (code, answer["paid_by"]) == (0, {"premium_common": 3_000,
                                             "premium_exclusive": 3_000})
    assert answer["campaigns"][0]["name"] == "商品券"
    bad(town.booth, "voucher", "--credential", town.card_number, "--price", "5000")


def test_grant_points_and_campaigns(town):
    code, answer, _ = cli(town.booth, "grant", "--credential", town.card_number, "--points",
                          "300", "--funder", "town-office")
    assert (code, answer["paid_by"]) == (0, {"points": 300})
    code, answer, _ = cli(town.booth, "grant", "--credential", town.card_number,
                          "--campaign", "bus")
    assert (code, answer["campaigns"][0]["points"]) == (0, 200)
    assert refused(town.booth, "grant", "--credential", town.card_number, "--campaign",
                   "bus")["code"] == "campaign_limit"
    assert refused(town.booth, "grant", "--credential", town.card_number, "--campaign",
                   "nope")["code"] == "campaign_unknown"
    bad(town.booth, "grant", "--credential", town.card_number, "--campaign", "bus",
        "--points", "10")
    bad(town.booth, "grant", "--credential", town.card_number, "--campaign", "bus",
        "--funder", "x")


def test_refund_and_void(town):
    _, sale, _ = cli(town.shop, "sale", "--credential", town.card_number, "--amount", "700")
    _, other, _ = cli(town.shop, "sale", "--credential", town.card_number, "--amount", "300")
    code, answer, _ = cli(town.shop, "refund", "--tx", sale["tx_id"], "--amount", "200")
    assert (code, answer["kind"], answer["amount"]) == (0, "refund", 200)
    over = refused(town.shop, "refund", "--tx", sale["tx_id"], "--amount", "600")
    assert over["details"] == {"left": 500}
    assert refused(town.shop, "void", "--tx", sale["tx_id"])["code"] == "not_refundable"
    code, answer, _ = cli(town.shop, "void", "--tx", other["tx_id"])
    assert (code, answer["kind"], answer["amount"]) == (0, "void", 300)
    assert refused(town.shop, "void", "--tx", "01NOSUCHSALE")["code"] == "not_found"
    bad(town.shop, "refund", "--amount", "5")
    bad(town.shop, "void")


def test_issue_card_with_a_pin_from_stdin(town):
    code, answer, _ = cli(town.booth, "issue-card", "--card", NEW_CARD, "--age-band", "60s",
                          "--area", "中央", "--pin-stdin", stdin="2468\n")
    assert (code, answer["kind"]) == (0, "card_issue")
    with Journal.open(town.booth.data) as journal:
        body = journal.record_by_tx(answer["tx_id"])["body"]
    assert body["pin"]["hash"] and "2468" not in json.dumps(body)  # only its salted hash
    assert refused(town.booth, "issue-card", "--card", NEW_CARD)["code"] == "card_exists"
    assert refused(town.booth, "issue-card", "--card", "8000 0000 0000 0000")["code"] == \
        "bad_credential"
    bad(town.booth, "issue-card", "--age-band", "60s")
    bad(town.booth, "issue-card", "--card", NEW_CARD, "--pin-stdin", stdin="\n")


def test_ride_exchange_redeem_and_cash(town):
    assert refused(town.shop, "ride", "--credential", town.card_number)["code"] == \
        "no_tickets"
    cli(town.booth, "grant", "--credential", town.card_number, "--campaign", "ride")
    code, answer, _ = cli(town.shop, "ride", "--credential", town.card_number)
    assert (code, answer["kind"], answer["campaigns"][0]["rides_left"]) == (0, "ticket", 1)
    code, answer, _ = cli(town.booth, "exchange", "--credential", town.card_number,
                          "--campaign", "swap")
    assert (code, answer["kind"]) == (0, "exchange")
    assert refused(town.booth, "exchange", "--credential", town.card_number, "--campaign",
                   "swap", "--steps", "0")["code"] == "bad_steps"
    code_text = town.gift_codes("gift")[0]
    code, answer, _ = cli(town.booth, "redeem", "--credential", town.card_number, "--gift",
                          code_text)
    assert (code, answer["kind"], answer["amount"]) == (0, "grant", 1_000)
    assert refused(town.booth, "redeem", "--credential", town.card_number, "--gift",
                   code_text)["code"] == "gift_used"
    code, answer, _ = cli(town.booth, "cash", "--amount", "5000", "--direction", "in",
                          "--reason", "釣銭")
    assert (code, answer["kind"], answer["amount"]) == (0, "cash_move", 5_000)
    assert refused(town.booth, "cash", "--amount", "0", "--direction", "out")["code"] == \
        "bad_amount"
    bad(town.booth, "cash", "--amount", "5000", "--direction", "sideways")


def test_an_unenrolled_directory_is_an_error_not_a_traceback(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["sale", "--credential", "1", "--amount", "5", "--data",
                     str(tmp_path / "none")])
    answer = json.loads(out.getvalue())
    assert (code, answer["status"], answer["code"]) == \
        (register.EXIT_ERROR, "error", "not_enrolled")
    assert err.getvalue().count("\n") == 1


def test_without_the_ledger_the_counter_decides_offline(tmp_path):
    """The online check has its deadline: a ledger that is gone leaves the sale to the
    snapshot (and the push after it fails without a word on stdout)."""
    with Town(tmp_path) as town:
        town.merchant("M-SHOP", "店")
        card = town.card()
        wallet = town.wallet_of(card)
        from ledger import service

        service.issue_value(town.db, wallet, "charged", 5_000, "opening-cash")
        shop = town.till("M-SHOP")
        town.ledger.stop()
        code, answer, _ = cli(shop, "sale", "--credential", card, "--amount", "800")
        assert (code, answer["decision"], answer["balance_after"]) == (0, "offline", 4_200)
        code, answer, _ = cli(shop, "sale", "--credential", card, "--amount", "20000")
        assert (code, answer["code"]) == (register.EXIT_REFUSED, "over_offline_payment")


def test_a_real_process_answers_the_same(town):
    import subprocess

    done = subprocess.run([sys.executable, "-m", "terminal", "sale", "--credential",
                           town.card_number, "--amount", "99999999", "--data",
                           str(town.shop.data)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    answer = json.loads(done.stdout)
    assert (done.returncode, answer["code"]) == (register.EXIT_REFUSED, "bad_amount")
    done = subprocess.run([sys.executable, "-m", "terminal", "refund", "--data",
                           str(town.shop.data)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == register.EXIT_BAD_INPUT
    assert done.stderr.count("\n") == 1 and "--tx" in done.stderr


def register_parsers():
    parser = build_parser()
    sub = next(action for action in parser._actions if action.dest == "command")
    return {name: sub.choices[name] for name in (*register.ACTIONS, "serve-register")}


def test_every_command_and_option_has_help():
    for name, parser in register_parsers().items():
        assert parser.description, name
        for action in parser._actions:
            assert action.help, (name, action.option_strings)


def test_every_register_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [name for name in register_parsers() if f"python -m terminal {name}" not in
               readme]
    assert not missing, f"undocumented in README.md: {missing}"
    words = " ".join(readme.split())
    assert (f"{register.EXIT_APPROVED} approved, {register.EXIT_REFUSED} refused by the "
            f"counter, {register.EXIT_BAD_INPUT} bad input") in words
