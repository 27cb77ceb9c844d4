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


# --- remembered counters (a restarted terminal primes the cache from its journal) ----------


def prefix_of(phone):
    """The device as the journal's records name it: the key's first 16 hex characters."""
    return bytes.fromhex(phone.cert.device_key.hex()[:16])


def test_remembered_counter_refuses_tokens_at_or_below_it(ledger, verifier):
    phone = Phone(ledger)
    assert prefix_of(phone) == phone.cert.device_key[:tokens.REPLAY_KEY_BYTES]
    verifier.remember(prefix_of(phone), 7)
    assert reason(verifier, phone.show(counter=7)) == "replayed"
    assert reason(verifier, phone.show(counter=3)) == "replayed"
    assert verifier.verify(phone.show(counter=8), NOW).counter == 8
    other = Phone(ledger)  # another device is not touched
    assert verifier.verify(other.show(counter=1), NOW).counter == 1


def test_remember_raises_and_never_lowers(ledger, verifier):
    phone = Phone(ledger)
    verifier.verify(phone.show(counter=10), NOW)
    verifier.remember(prefix_of(phone), 4)  # lower than what was accepted: ignored
    assert reason(verifier, phone.show(counter=10)) == "replayed"
    assert reason(verifier, phone.show(counter=5)) == "replayed"
    verifier.remember(prefix_of(phone), 20)  # higher: raised
    verifier.remember(prefix_of(phone), 12)  # and not lowered again
    assert reason(verifier, phone.show(counter=15)) == "replayed"
    assert reason(verifier, phone.show(counter=20)) == "replayed"
    verifier.verify(phone.show(counter=21), NOW)
    assert reason(verifier, phone.show(counter=21)) == "replayed"


@pytest.mark.parametrize("prefix, counter", [
    (bytes(tokens.REPLAY_KEY_BYTES - 1), 1), (bytes(keys.PUBLIC_KEY_BYTES), 1),
    ("00" * tokens.REPLAY_KEY_BYTES, 1), (bytes(tokens.REPLAY_KEY_BYTES), -1),
    (bytes(tokens.REPLAY_KEY_BYTES), 2**32), (bytes(tokens.REPLAY_KEY_BYTES), True),
    (bytes(tokens.REPLAY_KEY_BYTES), "5")])
def test_remember_refuses_what_is_not_a_prefix_and_a_counter(verifier, prefix, counter):
    with pytest.raises(ValueError):
        verifier.remember(prefix, counter)


def test_remembered_devices_respect_the_cache_size(ledger, verifier, monkeypatch):
    monkeypatch.setattr(tokens, "REPLAY_CACHE_DEVICES", 2)
    first, second, third = Phone(ledger), Phone(ledger), Phone(ledger)
    for phone in (first, second, third):
        verifier.remember(prefix_of(phone), 50)
    assert len(verifier._counters) == 2
    assert verifier.verify(first.show(counter=50), NOW).counter == 50  # the oldest forgotten
    assert reason(verifier, third.show(counter=50)) == "replayed"
