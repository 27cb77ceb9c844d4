"""The register's HTTP endpoint (terminal.register_http): `python -m terminal serve-register`
as a real child process beside a real ledger process; the bearer token, the loopback-only
bind, the bounded body, and the same answers as the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from terminal import register_http
from tests.filemodes import mode, open_umask  # noqa: F401 - the fixture
from tests.ledger.helpers import ROOT
from tests.terminal.seedday import Town

HTTP_TIMEOUT_S = 30
START_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """A shop's terminal serving the register endpoint, and a card with ¥10,000."""
    with Town(tmp_path_factory.mktemp("endpoint")) as town:
        town.merchant("M-SHOP", "店")
        town.merchant("M-BOOTH", "窓口")
        card = town.card()
        town.till("M-BOOTH").do("charge", credential=card, amount=10_000)
        shop = town.till("M-SHOP")
        proc = subprocess.Popen([sys.executable, "-m", "terminal", "serve-register", "--data",
                                 str(shop.data), "--port", "0"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()  # "register endpoint on http://127.0.0.1:P/v1/ ..."
            assert "register endpoint on http://127.0.0.1:" in line, proc.stderr.read()
            url = line.split(" on ", 1)[1].split()[0].rstrip("/")

            class Endpoint:
                pass

            made = Endpoint()
            made.url, made.card, made.data, made.town, made.proc = url, card, shop.data, town, proc
            made.token = (shop.data / register_http.TOKEN_FILE).read_text().strip()
            made.post = lambda action, body, token=made.token, **kw: requests.post(
                f"{url}/{action}", json=body, timeout=HTTP_TIMEOUT_S,
                headers={"Authorization": f"Bearer {token}"} if token else {}, **kw)
            yield made
        finally:
            proc.terminate()
            proc.wait(START_TIMEOUT_S)


def test_the_token_file_is_the_owners_only(endpoint):
    assert mode(endpoint.data / register_http.TOKEN_FILE) == 0o600
    assert len(endpoint.token) >= register_http.TOKEN_BYTES


def test_a_sale_answers_as_the_command_line(endpoint):
    reply = endpoint.post("sale", {"credential": endpoint.card, "amount": 1_500,
                                   "tags": ["lunch"]})
    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["status"], answer["kind"], answer["amount"], answer["decision"]) == \
        ("approved", "payment", 1_500, "online")
    assert answer["receipt"]["structured"]["tx_id"] == answer["tx_id"]
    reply = endpoint.post("refund", {"tx": answer["tx_id"], "amount": 500})
    assert (reply.status_code, reply.json()["amount"]) == (200, 500)


def test_a_refusal_is_409_with_its_code(endpoint):
    reply = endpoint.post("sale", {"credential": endpoint.card, "amount": 900_000})
    assert (reply.status_code, reply.json()["code"]) == (409, "insufficient")


def test_no_token_or_a_wrong_one_is_401(endpoint):
    body = {"credential": endpoint.card, "amount": 100}
    assert endpoint.post("sale", body, token=None).status_code == 401
    wrong = endpoint.token[:-1] + ("A" if endpoint.token[-1] != "A" else "B")
    reply = endpoint.post("sale", body, token=wrong)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(f"{endpoint.url}/status", timeout=HTTP_TIMEOUT_S).status_code == 401
    status = requests.get(f"{endpoint.url}/status", timeout=HTTP_TIMEOUT_S,
                          headers={"Authorization": f"Bearer {endpoint.token}"})
    assert (status.status_code, status.json()["merchant"]) == (200, "M-SHOP")
    # nothing was sold by the refused requests
    assert endpoint.town.balance(endpoint.town.wallet_of(endpoint.card))["total"] == \
        10_000 - 1_500 + 500


def test_bad_input_is_a_clear_4xx(endpoint):
    headers = {"Authorization": f"Bearer {endpoint.token}"}
    reply = endpoint.post("sale", {"credential": endpoint.card, "amount": "1500"})
    assert (reply.status_code, reply.json()["field"]) == (400, "amount")
    reply = endpoint.post("sale", {"credential": endpoint.card, "amount": 1, "amout": 2})
    assert (reply.status_code, reply.json()["field"]) == (400, "amout")
    reply = requests.post(f"{endpoint.url}/sale", data=b"{not json", timeout=HTTP_TIMEOUT_S,
                          headers={**headers, "Content-Type": "application/json"})
    assert (reply.status_code, reply.json()["code"]) == (400, "bad_json")
    reply = requests.post(f"{endpoint.url}/sale", data=b"amount=1", timeout=HTTP_TIMEOUT_S,
                          headers={**headers, "Content-Type": "text/plain"})
    assert reply.status_code == 415
    assert endpoint.post("sell", {"amount": 1}).status_code == 404
    assert requests.get(f"{endpoint.url}/sale", headers=headers,
                        timeout=HTTP_TIMEOUT_S).status_code == 405


def test_an_oversize_body_is_413_and_not_read(endpoint):
    body = {"credential": "x" * (register_http.MAX_BODY_BYTES + 1), "amount": 1}
    reply = endpoint.post("sale", body)
    assert (reply.status_code, reply.json()["code"]) == (413, "too_large")
    # the endpoint still serves the next request
    assert endpoint.post("sale", {"credential": endpoint.card, "amount": 100}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])
def test_a_non_loopback_bind_is_refused(endpoint, host):
    done = subprocess.run([sys.executable, "-m", "terminal", "serve-register", "--data",
                           str(endpoint.data), "--host", host, "--port", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=START_TIMEOUT_S)
    assert done.returncode == 2
    assert "loopback" in done.stderr and done.stderr.count("\n") == 1


def test_a_token_file_others_can_read_is_refused(endpoint, tmp_path):
    path = endpoint.data / register_http.TOKEN_FILE
    os.chmod(path, 0o644)
    try:
        done = subprocess.run([sys.executable, "-m", "terminal", "serve-register", "--data",
                               str(endpoint.data), "--port", "0"], cwd=ROOT,
                              capture_output=True, text=True, timeout=START_TIMEOUT_S)
    finally:
        os.chmod(path, 0o600)
    assert done.returncode == 2 and "chmod 600" in done.stderr
