"""App QR tokens: Base45, the certificate and token round trip, one crafted input per
failure reason, the size budget, a fuzz of the parser, and a real QR code decoded back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import ids, keys, tokens
from sync.tokens import TokenError, TokenVerifier

NOW = 1_795_000_000


@pytest.mark.parametrize("raw, text", [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"),
                                       (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")])
def test_base45_rfc9285_examples(raw, text):
    assert tokens.b45encode(raw) == text
    assert tokens.b45decode(text) == raw


@given(st.binary(max_size=300))
def test_base45_round_trip(data):
    assert tokens.b45decode(tokens.b45encode(data)) == data


@pytest.mark.parametrize("bad", ["GGW", "ZZZZ", "abc", "A"])
def test_base45_refuses_bad_text(bad):
    with pytest.raises(TokenError):
        tokens.b45decode(bad)


class Phone:
    def __init__(self, ledger, wallet="W-" + "0" * 26, limit=5_000, expires=NOW + 86_400):
        self.key = keys.generate()
        self.cert = tokens.issue_certificate(ledger, wallet, self.key.public_key(), limit,
                                             expires)
        self.counter = 0

    def show(self, at=NOW, counter=None):
        self.counter += 1
        return tokens.make_token(self.cert, self.key, counter or self.counter, at)


@pytest.fixture
def ledger():
    return keys.generate()


@pytest.fixture
def verifier(ledger):
    return TokenVerifier({ledger.public_key().key_id: ledger.public_key()})


def reason(verifier, text, now=NOW):
    with pytest.raises(TokenError) as info:
        verifier.verify(text, now)
    return info.value.code


def test_round_trip_and_size(ledger, verifier):
    phone = Phone(ledger, wallet="W-" + ids.new_id())
    text = phone.show()
    assert len(text) <= 320 and set(text) <= set(tokens._B45) | set("MP1:")
    token = verifier.verify(text, NOW + 5)
    assert token.cert.wallet_id == phone.cert.wallet_id and token.cert.offline_limit == 5_000


def test_each_failure_has_its_reason(ledger, verifier):
    phone = Phone(ledger)
    assert reason(verifier, "hello") == "malformed"
    assert reason(verifier, tokens.TOKEN_PREFIX + "AB") == "malformed"
    assert reason(verifier, Phone(keys.generate()).show()) == "unknown_ledger_key"
    forged = tokens.Certificate(phone.cert.wallet_id, phone.cert.device_key, 999_999,
                                phone.cert.expires, phone.cert.ledger_kid_prefix,
                                phone.cert.signature)
    assert reason(verifier, tokens.make_token(forged, phone.key, 1, NOW)) == "bad_certificate"
    assert reason(verifier, Phone(ledger, expires=NOW - 1).show()) == "certificate_expired"
    thief = tokens.make_token(phone.cert, keys.generate(), 1, NOW)
    assert reason(verifier, thief) == "bad_device_signature"
    assert reason(verifier, phone.show(at=NOW - tokens.FRESH_WINDOW_S - 1)) == "stale"
    live = phone.show()
    verifier.verify(live, NOW)
    assert reason(verifier, live) == "replayed"
    assert reason(verifier, phone.show(counter=1)) == "replayed"  # an older counter
    verifier.verify(phone.show(), NOW)  # the next live code is fine


def test_qr_code_of_a_token_decodes_back(ledger, verifier):
    import cv2
    import segno
    import zxingcpp

    text = Phone(ledger, wallet="W-" + ids.new_id()).show()
    qr = segno.make_qr(text, error="m")
    assert qr.mode == "alphanumeric"
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=4)
    image = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    (found,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert found.text == text
    assert verifier.verify(found.text, NOW).cert.wallet_id.startswith("W-")


@given(st.text(max_size=400))
def test_parser_raises_only_its_own_error(text):
    try:
        tokens.parse_token(tokens.TOKEN_PREFIX + text)
    except TokenError:
        pass


@given(st.binary(min_size=0, max_size=400))
def test_parser_on_random_bytes(data):
    try:
        tokens.parse_token(tokens.TOKEN_PREFIX + tokens.b45encode(data))
    except TokenError:
        pass
