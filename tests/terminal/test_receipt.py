"""Receipts for every kind of transaction, in Japanese and English, as text, as a PDF read
back with poppler and a QR scanner, and as ESC/POS bytes sent to a file and to a network
printer on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
from datetime import datetime, timedelta, timezone

import cv2
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal import printer, receipt
from terminal.counter import Outcome
from terminal.printer import FilePrinter, PdfPrinter, PrinterUnavailable, make_printer
from terminal.receipt import Receipt, build_receipt, text_width
from tests.terminal.loopback_printer import LoopbackPrinter

JST = timezone(timedelta(hours=9))
AT = "2026-11-22T14:05:09.123+09:00"
TX = "01JD8Z3K4Q7M2X9V5T6B8N0C1R"
SHOP = {"merchant_id": "M-SAKURA", "name": "さくら商店 駅前店", "class": "small"}
TERMINAL = "T-SAKURA-01"
# kind -> (outcome, Japanese words on the receipt, English words on the receipt)
CASES = {
    "payment": (Outcome("payment", 41, TX, 1_500, "W-01JD8Z3K4Q7M2X9V5T6B8N0AAA", "online",
                        {"charged": 700, "premium_common": 500, "premium_exclusive": 200,
                         "points": 100}, 12_300,
                        {"at": AT, "type": "payment", "body": {"amount": 1_500}}),
                ["お支払い", "¥1,500", "チャージ残高", "プレミアム商品券(共通)",
                 "プレミアム商品券(中小店専用)", "ポイント", "オンライン", "残高", "¥12,300"],
                ["Payment", "¥1,500", "Charged money", "Vouchers (all shops)",
                 "Vouchers (small shops)", "Points", "online", "Balance", "¥12,300"]),
    "refund": (Outcome("refund", 42, TX, 300, "W-A1", "offline", {}, 12_600,
                       {"at": AT, "body": {"of": "01JD8Z3K4Q7M2X9V5T6B8OLDTX"}}),
               ["返金", "返金額", "¥300", "元の取引", "*6B8OLDTX", "¥12,600"],
               ["Refund", "Refunded", "¥300", "Original", "*6B8OLDTX", "¥12,600"]),
    "void": (Outcome("void", 43, TX, 1_500, "W-A1", "offline", {}, 14_100,
                     {"at": AT, "body": {"of": "01JD8Z3K4Q7M2X9V5T6B8OLDTX"}}),
             ["取消", "¥1,500", "¥14,100"], ["Void", "¥1,500", "¥14,100"]),
    "charge": (Outcome("charge", 44, TX, 10_000, "W-A1", "offline", {"charged": 10_000},
                       24_100, {"at": AT, "body": {}}),
               ["チャージ", "¥10,000", "¥24,100", "オフライン"],
               ["Top-up", "¥10,000", "¥24,100", "offline"]),
    "grant": (Outcome("grant", 45, TX, 500, "W-A1", "offline", {"points": 500}, 24_600,
                      {"at": AT, "body": {}}),
              ["ポイント付与", "500 pt", "¥24,600"], ["Points granted", "500 pt", "¥24,600"]),
    "card_issue": (Outcome("card_issue", 46, TX, 0, "W-NEW1", "offline", {}, None,
                           {"at": AT, "body": {"card": "8874526859693848", "new_wallet": True}}),
                   ["カード発行", "****3848", "新しいウォレット"],
                   ["Card issued", "****3848", "new wallet"]),
    "cash_move/in": (Outcome("cash_move", 47, TX, 30_000, record={
                         "at": AT, "body": {"direction": "in", "reason": "朝の準備金"}}),
                     ["釣銭準備金 入金", "¥30,000", "朝の準備金"],
                     ["Cash float in", "¥30,000"]),
    "cash_move/out": (Outcome("cash_move", 48, TX, 20_000, record={
                          "at": AT, "body": {"direction": "out"}}),
                      ["釣銭準備金 出金", "¥20,000"], ["Cash float out", "¥20,000"]),
    # Campaigns: the goods total, what each campaign took off or gave, then what was paid.
    "payment/campaigns": (Outcome(
        "payment", 49, TX, 950, "W-A1", "online", {"charged": 950}, 9_050,
        {"at": AT, "body": {"amount": 950, "price": 1_300}},
        [{"campaign": "hokuto", "kind": "threshold_coupon", "discount": 150,
          "name": "北斗市 冬のクーポン"},
         {"campaign": "rally", "kind": "stamp_rally", "stamps": 1, "discount": 200,
          "complete": True, "prize": 1_000, "name": "牧之原 スタンプラリー"},
         {"campaign": "cb", "kind": "cash_back", "points": 9, "name": "ポイント還元 1%"}],
        price=1_300),
        ["お買い上げ合計", "¥1,300", "キャンペーン", "北斗市 冬のクーポン", "-¥150",
         "牧之原 スタンプラリー", "スタンプ 1個", "この店の先着割引", "-¥200",
         "カード完成! 賞品", "¥1,000", "ポイント還元 1%", "+9 pt", "¥950", "¥9,050"],
        ["Goods total", "¥1,300", "Campaigns", "-¥150", "スタンプラリー: 1", "stamp(s)",
         "early-bird discount here", "Card complete! Prize", "+9 pt", "¥950"]),
    "gift": (Outcome("gift", 50, TX, 3_000, None, "offline", {"gift": 3_000}, None,
                     {"at": AT, "body": {"amount": 3_000}},
                     [{"campaign": "gift", "kind": "gift_code", "value": 3_000, "unused": 0,
                       "name": "ふるさとギフト"}], price=5_000, rest=2_000),
             ["ギフトコード払い", "¥3,000", "残りのお支払い", "¥2,000", "おつりは出ません"],
             ["Gift code payment", "¥3,000", "Still to pay", "¥2,000", "no change given"]),
    "ticket": (Outcome("ticket", 51, TX, 1, "W-A1", "offline", {}, None,
                       {"at": AT, "body": {}},
                       [{"campaign": "ride", "kind": "ticket", "rides_left": 9,
                         "name": "苫前 回数券"}]),
               ["乗車券 利用", "1回", "苫前 回数券: 残り 9回"],
               ["Ride", "1 ride(s)", "苫前 回数券: 9 rides left"]),
    "grant/ticket": (Outcome("grant", 52, TX, 10, "W-A1", "", {}, None,
                             {"at": AT, "body": {}},
                             [{"campaign": "ride", "kind": "ticket", "rides": 10,
                               "name": "苫前 回数券"}]),
                     ["回数券 付与", "10回", "苫前 回数券: 10回分"],
                     ["Tickets granted", "10 ride(s)", "苫前 回数券: 10 rides"]),
    "exchange": (Outcome("exchange", 53, TX, 1_000, "W-A1", "", {}, 8_000,
                         {"at": AT, "body": {"points": 1_000, "value": 1_000}},
                         [{"campaign": "ex", "kind": "exchange", "name": "ポイント交換"}]),
                 ["ポイント交換", "交換額", "¥1,000", "ポイント交換:", "1,000 pt →"],
                 ["Points exchanged", "Value added", "1,000 pt →"]),
    "charge/voucher": (Outcome(
        "charge", 54, TX, 5_000, "W-A1", "online",
        {"premium_common": 3_000, "premium_exclusive": 4_500}, 20_000,
        {"at": AT, "body": {}},
        [{"campaign": "koko", "kind": "premium_voucher", "set": 5_000, "name": "ここクーポン"}]),
        ["プレミアム商品券 販売", "販売額", "¥5,000", "ここクーポン ¥5,000セット:",
         "共通 ¥3,000 + 中小店専用"],
        ["Voucher set sale", "Price paid", "ここクーポン ¥5,000 set: all",
         "shops ¥3,000 + small shops"]),
}


def make(case: str, lang: str = "ja", merchant: dict | None = None) -> Receipt:
    return build_receipt(CASES[case][0], merchant or SHOP, TERMINAL, lang)


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def scan_page(pdf, tmp_path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / pdf.stem)], check=True)
    (png,) = tmp_path.glob(f"{pdf.stem}*.png")
    page = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    return [code.text for code in zxingcpp.read_barcodes(
        page, formats=zxingcpp.BarcodeFormat.QRCode)]


# --- the model and its text -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_in_both_languages(case, lang):
    made = make(case, lang)
    text = "\n".join(made.text_lines())
    words = CASES[case][1 if lang == "ja" else 2]
    for word in words + ["さくら商店 駅前店", TERMINAL, f"No.{made.seq}", "*6B8N0C1R"]:
        assert word in text, (word, text)
    assert made.when == datetime(2026, 11, 22, 14, 5, 9, 123_000, tzinfo=JST)
    assert ("2026年11月22日(日)" if lang == "ja" else "2026-11-22 (Sun)") in text
    assert "14:05" in text
    assert TX not in text  # short on paper; the full id is in the QR
    assert [b.left for b in made.blocks() if b.style == "qr"] == [TX]
    other = "Payment" if lang == "ja" else "お支払い"
    assert other not in text


@pytest.mark.parametrize("width", [24, 32, 42, 48])
@pytest.mark.parametrize("case", list(CASES))
def test_text_lines_never_exceed_the_width(case, width):
    long_shop = {"name": "まちのパン屋さん ブーランジェリー・さくら 駅前本店 (日曜定休)"}
    for lang in ("ja", "en"):
        for shop in (SHOP, long_shop):
            lines = make(case, lang, shop).text_lines(width)
            assert lines and all(text_width(line) <= width for line in lines), lines


def test_balance_lines_up_at_the_right_edge():
    lines = make("payment").text_lines(32)
    (balance,) = [line for line in lines if line.startswith("残高")]
    assert text_width(balance) == 32 and balance.endswith("¥12,300")
    (item,) = [line for line in lines if "チャージ残高" in line]
    assert item.startswith("  ") and text_width(item) == 32


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=0, max_size=80), width=st.integers(min_value=16, max_value=64),
       amount=st.integers(min_value=0, max_value=10_000_000))
def test_any_shop_name_fits_and_encodes(name, width, amount):
    outcome = Outcome("payment", 1, TX, amount, "W-1", "offline", {"premium_exclusive": amount},
                      amount, {"at": AT})
    made = build_receipt(outcome, {"name": name}, TERMINAL)
    assert all(text_width(line) <= width for line in made.text_lines(width))
    data = made.to_escpos(width)
    assert b"\x1b" not in receipt.sjis(made.shop)  # no command smuggled in by a name
    assert data.endswith(receipt.CUT_PARTIAL + b"\x00")


def test_unknown_kind_or_language_is_refused():
    with pytest.raises(receipt.ReceiptError, match="language 'fr'"):
        make("payment", "fr")
    with pytest.raises(receipt.ReceiptError, match="'balance'"):
        build_receipt(Outcome("balance", 1, TX, 0), SHOP, TERMINAL)


def test_time_comes_from_the_record_else_now():
    now = datetime(2027, 1, 4, 8, 30, tzinfo=JST)
    assert make("payment").when.hour == 14
    bare = Outcome("charge", 2, TX, 1_000, "W-1", "offline", {"charged": 1_000}, 1_000)
    made = build_receipt(bare, SHOP, TERMINAL, now=now)
    assert made.when == now and "2027年1月4日(月)" in "\n".join(made.text_lines())


# --- PDF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pdf_reads_back_and_its_qr_scans_to_the_tx_id(tmp_path, lang):
    pdf = make("payment", lang).to_pdf(tmp_path / f"receipt-{lang}.pdf")
    text = pdf_text(pdf)
    assert "さくら商店 駅前店" in text and "1,500" in text and "12,300" in text
    assert ("お支払い" if lang == "ja" else "Payment") in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    width_pt = float(info.split("Page size:")[1].split()[0])
    assert width_pt == pytest.approx(receipt.PDF_PAGE_W_MM * receipt.MM, abs=0.5)
    assert scan_page(pdf, tmp_path) == [TX]
    assert (tmp_path / f"receipt-{lang}-1.png").stat().st_size > 0


@pytest.mark.parametrize("case", list(CASES))
def test_pdf_for_every_kind(tmp_path, case):
    pdf = make(case).to_pdf(tmp_path / "r.pdf")
    text = pdf_text(pdf)
    for word in CASES[case][1]:
        if word.isascii() and "¥" not in word:
            assert word in text, (word, text)
    assert CASES[case][1][0] in text


def test_unencodable_characters_do_not_crash(tmp_path):
    made = make("payment", merchant={"name": "🍡髙橋だんご①\x1b@ café"})
    assert "\x1b" not in made.shop
    assert receipt.fold_jis(made.shop) == "〓〓橋だんご1 @ cafe"
    data = made.to_escpos()
    assert "〓〓橋だんご1 @ cafe".encode("shift_jis") in data and b"?" not in data
    pdf = made.to_pdf(tmp_path / "odd.pdf")
    assert "橋だんご1" in pdf_text(pdf)
    assert scan_page(pdf, tmp_path) == [TX]


# --- ESC/POS ----------------------------------------------------------------------------------


def test_escpos_bytes_use_kanji_mode_and_carry_qr_and_cut():
    data = make("payment").to_escpos()
    assert data.startswith(receipt.INIT)
    assert b"\x1cC\x01" in data and b"\x1c&" in data  # FS C 1 (Shift_JIS), FS & (Kanji on)
    assert data.index(b"\x1c&") < data.index("さくら商店".encode("shift_jis"))
    assert "お支払い".encode("shift_jis") in data
    assert "プレミアム商品券(中小店専用)".encode("shift_jis") in data
    assert b"\\1,500" in data  # ¥ is 0x5C in Shift_JIS, printed as ¥ with ESC R 8
    assert b"\x1bR\x08" in data
    store = b"\x1d(k" + bytes([len(TX) + 3, 0]) + b"1P0" + TX.encode()
    assert store in data and b"\x1d(k\x03\x001Q0" in data  # store, then print the QR
    assert data.endswith(b"\x1dVB\x00")
    assert b"\x1d!\x11" in data  # the balance (and the shop name) in double size
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # no UTF-8 leaks into a Shift_JIS stream


def test_escpos_text_lines_fit_the_paper():
    columns = 32
    data = make("payment").to_escpos(columns)
    body = data.split(b"\x1c&", 1)[1].split(b"\x1c.", 1)[0]
    for raw in body.split(b"\n"):
        # strip the commands we send; what is left is printed text, 1 byte per column
        for command in (receipt.ALIGN_LEFT, receipt.ALIGN_CENTER, receipt.SIZE_NORMAL,
                        receipt.SIZE_TALL, receipt.SIZE_DOUBLE, receipt.BOLD_ON,
                        receipt.BOLD_OFF):
            raw = raw.replace(command, b"")
        if b"\x1d(k" not in raw:
            assert len(raw) <= columns, raw


# --- printers ---------------------------------------------------------------------------------


def test_file_printer_writes_the_escpos_bytes(tmp_path):
    out = tmp_path / "lp0"
    made = make("charge")
    chosen = make_printer({"kind": "file", "path": str(out), "columns": 32})
    assert isinstance(chosen, FilePrinter) and chosen.status().startswith("ready")
    assert chosen.print_receipt(made) == out
    assert out.read_bytes() == made.to_escpos(32)
    chosen.print_receipt(made)
    assert out.read_bytes() == made.to_escpos(32) * 2  # a device node is written, not replaced


def test_file_printer_that_cannot_write_is_unavailable(tmp_path):
    with pytest.raises(PrinterUnavailable, match="cannot write receipts to"):
        FilePrinter(tmp_path / "missing" / "lp0").print_receipt(make("charge"))


def test_no_printer_means_pdfs_in_the_data_dir(tmp_path):
    chosen = make_printer({}, data_dir=tmp_path)
    assert isinstance(chosen, PdfPrinter)
    path = chosen.print_receipt(make("grant"))
    assert path.parent == tmp_path / "receipts" and path.name.endswith("-000045.pdf")
    assert "ポイント付与" in pdf_text(path)
    assert "receipts" in chosen.status()
    other = make_printer({"kind": "pdf", "dir": str(tmp_path / "elsewhere")})
    assert other.print_receipt(make("void")).parent == tmp_path / "elsewhere"


def test_missing_usb_printer_is_unavailable_with_a_clear_message():
    with pytest.raises(PrinterUnavailable) as info:
        make_printer({"kind": "usb", "vendor": "0x04b8", "product": "0x0202"})
    assert "USB printer 04b8:0202" in info.value.message
    assert info.value.code == "printer_unavailable"
    assert "\n" not in info.value.message


def test_network_printer_that_is_off_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once it is closed
    with pytest.raises(PrinterUnavailable, match=f"network printer 127.0.0.1:{port} cannot be "
                                                 "opened"):
        make_printer({"kind": "network", "host": "127.0.0.1", "port": port})


def test_network_printer_on_loopback_receives_the_receipt():
    """A printer that does not answer status queries (a bare port): its state is unknown,
    and the receipt is sent as before."""
    with LoopbackPrinter(2) as device:  # the check at set-up, then the receipt
        chosen = make_printer({"kind": "network", "host": "127.0.0.1", "port": device.port})
        made = make("payment")
        chosen.print_receipt(made)
        device.thread.join(timeout=printer.NETWORK_TIMEOUT_S)
    assert device.got == [printer.DLE_EOT + b"\x01", made.to_escpos()]  # asked once only
    assert not chosen.answers_status


@pytest.mark.parametrize("paper, says", [("out", "out of paper"),
                                         ("cover", "open: close its cover"),
                                         ("offline", "offline")])
def test_a_printer_out_of_paper_is_seen_and_gets_no_receipt(paper, says):
    """DLE EOT 1/2/4 answered as an Epson printer does: out of paper (or cover open, or
    offline) is shown in its status, and a receipt is refused (never reported printed):
    nothing but the status queries reaches the printer."""
    with LoopbackPrinter(3, paper=paper) as device:
        chosen = printer.EscPosPrinter.network("127.0.0.1", device.port)
        assert chosen.status() == f"unavailable: the network printer 127.0.0.1:{device.port} "\
            f"is {says}"
        with pytest.raises(PrinterUnavailable, match=f"is {says}: receipt no. 41 was not "
                                                     "printed"):
            chosen.print_receipt(make("payment"))
        assert chosen.check().problem() is not None
        device.thread.join(timeout=printer.NETWORK_TIMEOUT_S)
    assert [device.without_queries(n) for n in range(3)] == [b"", b"", b""]


@pytest.mark.parametrize("paper, text", [("ok", "paper ok"), ("near_end", "paper low")])
def test_a_ready_printer_says_how_its_paper_is_and_prints(paper, text):
    with LoopbackPrinter(2, paper=paper) as device:
        chosen = printer.EscPosPrinter.network("127.0.0.1", device.port)
        assert chosen.status().endswith(f"({text})")
        made = make("charge")
        chosen.print_receipt(made)
        device.thread.join(timeout=printer.NETWORK_TIMEOUT_S)
    assert device.without_queries(1) == made.to_escpos()


def test_status_bytes_that_are_not_status_are_unknown():
    assert not printer.parse_state(0x00, None, None).known
    assert printer.parse_state(0x12, 0x12, 0x7E).paper == "out"
    assert printer.parse_state(0x12, 0x32, 0x12).paper == "out"  # stopped: paper end


@pytest.mark.parametrize("config, message", [
    ({"kind": "teletype"}, "unknown printer kind 'teletype'"),
    ({"kind": "usb", "vendor": "epson", "product": 1}, "'vendor' is not a number"),
    ({"kind": "network"}, "needs 'host'"),
    ({"kind": "file"}, "needs 'path'"),
    ({"kind": "file", "path": "x", "columns": 200}, "columns must be"),
])
def test_bad_printer_settings_are_explained(config, message):
    with pytest.raises(PrinterUnavailable, match=message):
        make_printer(config)


def test_pdf_page_is_receipt_sized(tmp_path):
    pdf = make("card_issue").to_pdf(tmp_path / "card.pdf")
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    height_pt = float(out.split("Page size:")[1].split()[2])
    assert 100 < height_pt < 600  # one short strip, not an A4 page


# --- the admin screen's printer settings ------------------------------------------------------


@pytest.mark.parametrize("kind, address, columns, config", [
    ("pdf", "ignored", 48, {"kind": "pdf"}),
    ("network", "192.168.1.50", 48,
     {"kind": "network", "columns": 48, "host": "192.168.1.50", "port": 9100}),
    ("network", " printer.local:9101 ", 42,
     {"kind": "network", "columns": 42, "host": "printer.local", "port": 9101}),
    ("usb", "04b8:0202", 48, {"kind": "usb", "columns": 48, "vendor": 0x04B8,
                              "product": 0x0202}),
    ("serial", "/dev/ttyUSB0@19200", 32,
     {"kind": "serial", "columns": 32, "device": "/dev/ttyUSB0", "baudrate": 19200}),
    ("serial", "/dev/ttyS0", 48,
     {"kind": "serial", "columns": 48, "device": "/dev/ttyS0", "baudrate": 9600}),
    ("file", "/dev/usb/lp0", 48, {"kind": "file", "columns": 48, "path": "/dev/usb/lp0"}),
])
def test_one_line_printer_settings_round_trip(kind, address, columns, config):
    assert printer.config_from(kind, address, columns) == config
    again = printer.address_of(config)
    assert printer.config_from(*again) == config


@pytest.mark.parametrize("kind, address, message", [
    ("network", "", "needs an address"),
    ("network", "host:port", "'port' is not a number"),
    ("usb", "04b8", "vendor:product in hex"),
    ("usb", "epson:0202", "is not a number"),
    ("serial", "/dev/ttyS0@fast", "is not a number"),
    ("fax", "x", "unknown printer kind"),
])
def test_bad_printer_settings_say_what_is_wrong(kind, address, message):
    with pytest.raises(PrinterUnavailable, match=message):
        printer.config_from(kind, address)
    with pytest.raises(PrinterUnavailable, match="columns must be"):
        printer.config_from("file", "/tmp/x", 100)


# --- widths, whatever the characters -------------------------------------------------------

# Wide kanji, a kanji Shift_JIS lacks (髙), emoji (wide, and with joiners and variation
# selectors), half-width kana, accented and combining Latin, ambiguous symbols, NEC extras.
AWKWARD = "漢字髙﨑🍡👨\u200d👩\u2764\ufe0fｱｲｳé\u0301ø×…①Ⅱ㈱～ -ab1"


def printed_lines(data: bytes) -> list[int]:
    """The width in printer columns of every text line of ESC/POS `data`: in Kanji mode a
    Shift_JIS byte is one column (a full-width character is two bytes), doubled under
    GS ! 0x11; our commands and the QR are left out."""
    body = data.split(receipt.KANJI_ON, 1)[1].split(receipt.KANJI_OFF, 1)[0]
    widths, double = [], False
    for raw in body.split(b"\n"):
        if b"\x1d(k" in raw:
            continue
        for command in (receipt.ALIGN_LEFT, receipt.ALIGN_CENTER, receipt.SIZE_NORMAL,
                        receipt.SIZE_TALL, receipt.SIZE_DOUBLE, receipt.BOLD_ON,
                        receipt.BOLD_OFF):
            if command == receipt.SIZE_DOUBLE and command in raw:
                double = True
            if command == receipt.SIZE_NORMAL and command in raw:
                double = raw.rindex(command) < raw.rfind(receipt.SIZE_DOUBLE)
            raw = raw.replace(command, b"")
        widths.append(len(raw) * (2 if double else 1))
    return widths


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("case", ["payment", "payment/campaigns", "charge/voucher"])
def test_awkward_characters_never_overflow_and_never_print_as_a_question_mark(case, columns):
    name = AWKWARD * 3
    made = make(case, merchant={"name": name})
    data = made.to_escpos(columns)
    assert max(printed_lines(data)) <= columns
    assert b"?" not in data  # substitutes are 〓, never a bare ?
    assert "〓".encode("shift_jis") in data and "漢字".encode("shift_jis") in data
    assert all(text_width(line) <= columns for line in made.text_lines(columns))


@settings(max_examples=80, deadline=None)
@given(name=st.text(alphabet=st.sampled_from(AWKWARD + "日本語のお店 ABCｶﾀｶﾅ"), max_size=90),
       columns=st.integers(min_value=24, max_value=64))
def test_any_mix_of_widths_fits_the_paper(name, columns):
    made = build_receipt(CASES["payment/campaigns"][0], {"name": name}, TERMINAL)
    assert max(printed_lines(made.to_escpos(columns))) <= columns
    assert all(text_width(line) <= columns for line in made.text_lines(columns))


def test_widths_are_the_printers():
    assert [receipt.char_width(c) for c in "aｱ漢髙🍡×é\u0301\u200d\ufe0f"] == \
        [1, 1, 2, 2, 2, 2, 2, 0, 0, 0]  # é is ambiguous: two, until folded to e
    assert receipt.fold_jis("👨\u200d👩") == "〓〓"  # the joiner prints as nothing
