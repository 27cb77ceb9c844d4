"""The reference wallet and the printed demo cards, read back as a scanner would."""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest
import zxingcpp

from sync import cards, keys, refwallet, tokens

NUMBERS = ["8874 5268 5969 3848", "8269371955627991", "8262229751196412"]


def test_demo_cards_pdf_scans_back(tmp_path):
    out = tmp_path / "cards.pdf"
    assert refwallet.main(["cards-pdf", "--out", str(out), *sum((["--card", n] for n in NUMBERS),
                                                                 [])]) == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "まちポイントカード" in text and "カード番号" in text
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(out),
                    str(tmp_path / "page")], check=True)
    page = cv2.imread(str(next(tmp_path.glob("page*.png"))), cv2.IMREAD_GRAYSCALE)
    found = zxingcpp.read_barcodes(page, formats=[zxingcpp.BarcodeFormat.QRCode,
                                                  zxingcpp.BarcodeFormat.Code128])
    read = {(str(b.format), b.text) for b in found}
    for number in NUMBERS:
        digits = cards.normalize(number)
        assert any(t == digits and "QR" in f for f, t in read), (number, read)
        assert any(t == digits and "128" in f for f, t in read), (number, read)


def test_bad_card_number_is_refused(tmp_path, capsys):
    assert refwallet.main(["cards-pdf", "--out", str(tmp_path / "x.pdf"),
                           "--card", "1234"]) == 1
    assert "16 digits" in capsys.readouterr().err


def test_tokens_count_up_and_verify(tmp_path):
    ledger = keys.generate()
    wallet = refwallet.ReferenceWallet(tmp_path)
    device = wallet.create()
    cert = tokens.issue_certificate(ledger, "W-1", device, 3_000, 2_000_000_000)
    (tmp_path / refwallet.WALLET_FILE).write_text(
        f'{{"wallet": "W-1", "certificate": "{tokens.b45encode(cert.to_bytes())}", '
        '"expires": 2000000000, "offline_limit": 3000, "counter": 0}')
    verifier = tokens.TokenVerifier({ledger.public_key().key_id: ledger.public_key()})
    first, second = wallet.token(), wallet.token()
    assert verifier.verify(first).counter == 1 and verifier.verify(second).counter == 2
    with pytest.raises(tokens.TokenError):
        verifier.verify(first)
    png = tmp_path / "token.png"
    refwallet.write_qr_png(wallet.token(), png)
    image = cv2.imdecode(np.fromfile(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    (code,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert verifier.verify(code.text).counter == 3


def test_certify_against_the_real_ledger_then_pay_with_the_token(tmp_path):
    """The whole app path: the ledger certifies the reference wallet's device over HTTP, the
    wallet shows a token, and a terminal accepts it offline."""
    from ledger import demo
    from tests.ledger.helpers import LedgerProcess

    server = LedgerProcess(f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "home").start()
    try:
        db = server.db()
        demo.seed_demo(db, 5)
        wallet = refwallet.ReferenceWallet(tmp_path / "phone")
        wallet.create()
        with pytest.raises(refwallet.WalletError, match="401"):
            wallet.certify(server.url, "W-DEMO-00001", "wrong token")
        answer = wallet.certify(server.url, "W-DEMO-00001", server.admin_token, 2_000)
        assert answer["offline_limit"] == 2_000
        with pytest.raises(refwallet.WalletError, match="404"):
            wallet.certify(server.url, "W-NOBODY", server.admin_token)
        with db.reading() as conn:
            (ledger_hex,) = conn.one("SELECT public_key FROM ledger_keys")
        ledger_key = keys.load_public_key_hex(ledger_hex)
        verifier = tokens.TokenVerifier({ledger_key.key_id: ledger_key})
        assert verifier.verify(wallet.token()).cert.wallet_id == "W-DEMO-00001"
        db.close()
    finally:
        server.stop()
