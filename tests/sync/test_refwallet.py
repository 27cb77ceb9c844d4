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
