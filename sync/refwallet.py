"""The reference wallet: the phone app's side of the protocol, for tests, the demo and
benchmarks (DESIGN §5), and printable demo cards for people without the app.

    python -m sync.refwallet new --dir DIR                      make a device key
    python -m sync.refwallet certify --dir DIR --ledger URL --wallet W   (admin token in
                                                                 $MACHI_LEDGER_ADMIN_TOKEN)
    python -m sync.refwallet token --dir DIR [--png FILE]       show a fresh token
    python -m sync.refwallet cards-pdf --out FILE --card N [--card N ...]

The device key stays in DIR (owner-only key file); the certificate and the token counter sit
in DIR/wallet.json. Each token uses the next counter, so a terminal refuses a replay.
Exit codes: 0 done, 1 refused (one line on standard error says why), 2 a bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from sync import cards, clitools, keyfile, keys, tokens
from sync.errors import SyncPackageError

DEVICE_KEY_FILE = "device.key"
WALLET_FILE = "wallet.json"
ADMIN_TOKEN_ENV = "MACHI_LEDGER_ADMIN_TOKEN"
HTTP_TIMEOUT_S = 10
QR_SCALE = 6
# Demo card layout (points; 72 pt = 1 inch): a bank-card-sized box, two on a row.
CARD_W, CARD_H = 243, 153
CARD_GAP = 18
JAPANESE_FONT = "HeiseiKakuGo-W5"  # a CID font every PDF reader has: nothing to embed


class WalletError(SyncPackageError):
    """The reference wallet cannot do what was asked; the message says why."""

    code = "wallet"


@dataclass
class ReferenceWallet:
    directory: Path

    @property
    def _state_path(self) -> Path:
        return self.directory / WALLET_FILE

    def create(self) -> keys.PublicKey:
        return keyfile.create(self.directory / DEVICE_KEY_FILE).public_key()

    def device_key(self) -> keys.PrivateKey:
        return keyfile.load(self.directory / DEVICE_KEY_FILE)

    def _state(self) -> dict:
        try:
            return json.loads(self._state_path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise WalletError("no certificate yet: run `certify` first") from exc

    def _save(self, state: dict) -> None:
        tmp = self._state_path.with_name(WALLET_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2), "utf-8")
        os.replace(tmp, self._state_path)

    def certify(self, ledger_url: str, wallet_id: str, admin_token: str,
                offline_limit: int | None = None) -> dict:
        """Ask the ledger to certify this device for `wallet_id`."""
        body: dict[str, str | int] = {"device_public_key": self.device_key().public_key().hex}
        if offline_limit is not None:
            body["offline_limit"] = offline_limit
        try:
            reply = requests.post(f"{ledger_url.rstrip('/')}/v1/admin/wallets/{wallet_id}"
                                  "/certificate", json=body, timeout=HTTP_TIMEOUT_S,
                                  headers={"authorization": f"Bearer {admin_token}"})
        except requests.RequestException as exc:
            raise WalletError(f"the ledger cannot be reached: {exc}") from exc
        if reply.status_code != 200:
            raise WalletError(f"the ledger refused ({reply.status_code}): {reply.text[:200]}")
        answer = reply.json()
        tokens.parse_certificate(tokens.b45decode(answer["certificate"]))  # well formed?
        self._save({"wallet": wallet_id, "certificate": answer["certificate"],
                    "expires": answer["expires"], "offline_limit": answer["offline_limit"],
                    "counter": 0})
        return answer

    def token(self, issued_at: int | None = None) -> str:
        """A fresh token with the next counter (saved before it is shown)."""
        state = self._state()
        cert = tokens.parse_certificate(tokens.b45decode(state["certificate"]))
        state["counter"] += 1
        self._save(state)
        return tokens.make_token(cert, self.device_key(), state["counter"], issued_at)


def write_qr_png(text: str, path: Path, scale: int = QR_SCALE) -> None:
    import segno

    segno.make_qr(text, error="m").save(str(path), kind="png", scale=scale, border=4)


CARD_SHEET_MARGIN = 40  # points around the cards on an A4 sheet
CARDS_PER_ROW = 2


def card_slots(page, count: int):
    """Where each of `count` card-sized boxes goes on A4 sheets of `page` (a reportlab
    canvas): yields (x, y) of each box's lower left corner, two to a row, and starts a new
    sheet when one is full. The box's outline is drawn before it is yielded."""
    from reportlab.lib.pagesizes import A4

    _, height = A4
    top = height - CARD_SHEET_MARGIN - CARD_H
    y = top
    for index in range(count):
        x = CARD_SHEET_MARGIN + (index % CARDS_PER_ROW) * (CARD_W + CARD_GAP)
        page.roundRect(x, y, CARD_W, CARD_H, 10)
        yield x, y
        if index % CARDS_PER_ROW == CARDS_PER_ROW - 1:
            y -= CARD_H + CARD_GAP
            if y < CARD_SHEET_MARGIN:
                page.showPage()
                y = top


def cards_pdf(numbers: list[str], out: Path, title: str = "まちポイントカード (デモ)") -> None:
    """Printable demo cards: QR code and Code 128 of the number, the number in print, and
    Japanese labels, two cards to a row on A4."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import code128, qr
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    checked = [cards.normalize(n) for n in numbers]
    pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    page = canvas.Canvas(str(out), pagesize=A4)
    page.setTitle(title)
    for number, (x, y) in zip(checked, card_slots(page, len(checked)), strict=True):
        page.setFont(JAPANESE_FONT, 11)
        page.drawString(x + 12, y + CARD_H - 20, title)
        page.setFont(JAPANESE_FONT, 7)
        page.drawString(x + 12, y + CARD_H - 32, "お店でこのカードを見せてください")
        code = qr.QrCodeWidget(number)
        bounds = code.getBounds()
        side = 78
        drawing = Drawing(side, side, transform=[side / (bounds[2] - bounds[0]), 0, 0,
                                                 side / (bounds[3] - bounds[1]), 0, 0])
        drawing.add(code)
        renderPDF.draw(drawing, page, x + CARD_W - side - 8, y + 40)
        bars = code128.Code128(number, barHeight=22, barWidth=0.72)
        bars.drawOn(page, x + 4, y + 14)
        page.setFont("Courier-Bold", 12)
        page.drawString(x + 12, y + 52, cards.printed(number))
        page.setFont(JAPANESE_FONT, 7)
        page.drawString(x + 12, y + 66, "カード番号")
    page.save()


def build_parser() -> argparse.ArgumentParser:
    parser = clitools.Parser(prog="python -m sync.refwallet", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    texts = {"new": "make the wallet's device key in DIR (prints its public key)",
             "certify": "have the ledger certify the device key for a wallet (admin token in "
                        f"${ADMIN_TOKEN_ENV})",
             "token": "print a fresh payment token (the QR code's text), the next counter"}
    for name, text in texts.items():
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--dir", type=Path, required=True, help="the wallet's directory")
        if name == "certify":
            cmd.add_argument("--ledger", required=True,
                             help="the ledger's URL, http://host:port or https://host:port")
            cmd.add_argument("--wallet", required=True, help="the wallet id, e.g. W-DEMO-00001")
            cmd.add_argument("--offline-limit", type=clitools.yen,
                             help="yen the app may pay offline (default: the ledger's)")
        if name == "token":
            cmd.add_argument("--png", type=clitools.writable_file,
                             help="also write the QR code here (PNG)")
    text = "printable demo cards (A4 PDF): QR code, barcode and number of each card"
    pdf = sub.add_parser("cards-pdf", help=text, description=text)
    pdf.add_argument("--out", type=clitools.writable_file, required=True,
                     help="the PDF file to write")
    pdf.add_argument("--card", action="append", required=True,
                     help="a card number (repeat for more cards)")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "new":
        print(ReferenceWallet(args.dir).create().hex)
    elif args.command == "certify":
        token = os.environ.get(ADMIN_TOKEN_ENV)
        if not token:
            raise WalletError(f"set {ADMIN_TOKEN_ENV} to the ledger's admin token")
        if not args.ledger.startswith(("http://", "https://")):
            raise WalletError("the ledger URL must be http://host:port or https://host:port, "
                              f"not {args.ledger!r}")
        with clitools.working(f"asking {args.ledger} for a certificate"):
            answer = ReferenceWallet(args.dir).certify(args.ledger, args.wallet, token,
                                                       args.offline_limit)
        print(f"certified for {answer['wallet']} until {answer['expires']} "
              f"(offline limit ¥{answer['offline_limit']:,})")
    elif args.command == "token":
        text = ReferenceWallet(args.dir).token()
        if args.png:
            write_qr_png(text, args.png)
        print(text)
    elif args.command == "cards-pdf":
        with clitools.working(f"drawing {len(args.card):,} cards"):
            cards_pdf(args.card, args.out)
        print(f"{len(args.card)} cards written to {args.out}")
    return 0


def _one_line(text: object) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 refused (the message says why, one line on standard error),
    2 a bad command line."""
    def run() -> int:
        args = build_parser().parse_args(argv)
        try:
            return _run(args)
        except (WalletError, keyfile.KeyFileError, cards.CardNumberError,
                tokens.TokenError) as exc:
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            return 1
        except OSError as exc:  # a directory that is not there, a file that cannot be written
            if isinstance(exc, BrokenPipeError):
                raise
            where = f" {exc.filename}:" if exc.filename else ""
            print(f"error:{where} {_one_line(exc.strerror or exc)}", file=sys.stderr)
            return 1

    return clitools.quiet_on_broken_pipe(run)


if __name__ == "__main__":
    sys.exit(main())
