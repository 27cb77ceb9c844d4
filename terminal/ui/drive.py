"""Drive the real counter window for screenshots and measurements.

    python -m terminal.ui.drive screens --out DIR [--lang ja|en] [--size WxH]
                                        walk the main flows on the demo, a PNG of each screen
                                        (the window at WxH, default: as large as the screen)
    python -m terminal.ui.drive load --sales N                      N sales through the window's
                                                                   bridge, then peak RSS (MB)

`bench/screens.py` and `bench/app.py` run these in child processes (under xvfb-run for
screenshots). Every step waits for the window's own signals; nothing here bypasses the UI.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from sync import cards
from sync.staff import DEMO_MANAGER_PIN
from terminal.ui import look
from terminal.ui.window import MainWindow

READY_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 20_000
SETTLE_MS = 300
DEMO_NEW_PIN = "4826"  # the PIN the walk-through gives the card it issues
LOAD_MIN_YEN, LOAD_MAX_YEN = 100, 2_000


def _wait(condition, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)
    waited = [0]

    def check() -> None:
        waited[0] += 20
        if condition() or waited[0] > timeout_ms:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def _pause(ms: int = SETTLE_MS) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _settled(screen) -> bool:
    return screen.result.property("state") in ("approved", "refused")


def _first(win: MainWindow, kind: str) -> str:
    for row in range(win.demo_list.count()):
        data = win.demo_list.item(row).data(256)  # Qt.UserRole; None on a note
        if data and data[0] == kind:
            return data[1]
    raise LookupError(kind)


def _choose(win: MainWindow, words: str) -> None:
    """Open the booth's campaign list and pick the line that starts with `words`."""
    win.booth.buttons["campaigns"].click()
    for row in range(win.booth.choices.count()):
        if win.booth.choices.item(row).text().startswith(words):
            win.booth.choices.setCurrentRow(row)
            return
    raise LookupError(words)


def _amount(screen, amount: int) -> None:
    screen.pad.clear()
    for digit in str(amount):
        screen.pad.press(digit)


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, e.g. 1366x768: {text!r}")
    return int(width), int(height)


def screens(out: Path, lang: str, base: Path,
            size: tuple[int, int] | None = None) -> list[Path]:
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    look.load_style(qt)
    look.set_language(lang)
    win = MainWindow(base / "terminal", base)
    if size is not None:  # a counter screen of that size: the window fills it
        win.setMaximumSize(*size)
        win.resize(*size)
    win.show()
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(name: str) -> None:
        _pause()
        path = out / f"{len(shots) + 1:02d}-{name}.png"
        win.grab().save(str(path))
        shots.append(path)

    _wait(lambda: bool(win.info), READY_TIMEOUT_MS)
    shot("shop-ready")
    bar = win.staff_bar  # the demo's manager signs in, with the PIN the demo panel shows
    _wait(lambda: bool(bar.staff))
    bar.who.setCurrentIndex(bar.who.findData(
        next(m["staff"] for m in bar.staff if m["role"] == "manager")))
    bar.pin.setText(DEMO_MANAGER_PIN)
    bar.ok.click()
    _wait(lambda: bar.signed_in is not None)
    shot("shop-signed-in")
    _amount(win.shop, 1_500)
    win.shop.buttons["pay"].click()
    shot("shop-waiting-for-card")
    win.present("card", _first(win, "card"))
    _wait(lambda: _settled(win.shop))
    shot("shop-paid-card")
    _amount(win.shop, 980)
    win.shop.buttons["pay"].click()
    win.demo_phone(_first(win, "phone"))
    _wait(lambda: _settled(win.shop))
    shot("shop-paid-app")
    _amount(win.shop, 900_000)
    win.shop.buttons["pay"].click()
    win.present("card", _first(win, "card"))
    _wait(lambda: _settled(win.shop))
    shot("shop-refused")
    win.shop.buttons["refunds"].click()
    _wait(lambda: win.shop.sales.count() > 0)
    win.shop.sales.setCurrentRow(0)
    shot("shop-refunds")
    win.modes["booth"].click()
    _amount(win.booth, 5_000)
    win.booth.buttons["charge"].click()
    win.present("card", _first(win, "card"))
    _wait(lambda: _settled(win.booth))
    shot("booth-top-up")
    # The town's campaigns: a printed gift code pays, the booth sells a voucher set.
    win.modes["shop"].click()
    _amount(win.shop, 2_000)
    win.shop.buttons["pay"].click()
    win.present("gift", _first(win, "gift"))
    _wait(lambda: _settled(win.shop))
    shot("shop-paid-gift-code")
    win.modes["booth"].click()
    _choose(win, "ここクーポン")
    shot("booth-campaigns")
    win.present("card", _first(win, "card"))  # the scan confirms the line chosen
    _wait(lambda: _settled(win.booth))
    shot("booth-voucher-sold")
    # A new card with a PIN: a payment above its amount asks for it.
    number = cards.new_card_number()
    win.booth.buttons["card"].click()
    win.booth.new_pin.setText(DEMO_NEW_PIN)
    win.present("card", number)
    _wait(lambda: _settled(win.booth))
    _amount(win.booth, 10_000)
    win.booth.buttons["charge"].click()
    win.present("card", number)
    _wait(lambda: _settled(win.booth))
    win.modes["shop"].click()
    _amount(win.shop, 4_000)
    win.shop.buttons["pay"].click()
    win.present("card", number)
    _wait(lambda: win.shop.pin_box.isVisible())
    win.shop.pin_entry.setText(DEMO_NEW_PIN)
    shot("shop-pin")
    win.shop.pin_entry.returnPressed.emit()
    _wait(lambda: _settled(win.shop))
    win.modes["admin"].click()
    win.admin.pin.setText(DEMO_MANAGER_PIN)
    win.admin.unlock_button.click()
    # the journal check's answer, in either language: ✔ intact or ✘ what is wrong
    _wait(lambda: win.admin.verify_info.text().startswith(("✔", "✘")))
    shot("admin")
    win.admin.buttons["x_report"].click()
    _wait(lambda: "→" in win.admin.verify_info.text())
    shot("admin-x-report")
    win.toggle_option("high_contrast")  # the status line and customer display follow
    win.modes["shop"].click()
    shot("shop-high-contrast")
    win.toggle_option("high_contrast")
    win.toggle_option("large_type")
    shot("shop-large-type")
    win.toggle_option("large_type")
    _dispose(win)
    return shots


def load(sales: int, base: Path) -> float:
    """Peak resident memory (MB) of this process after `sales` sales through the window."""
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    look.load_style(qt)
    look.set_language("ja")
    win = MainWindow(base / "terminal", base)
    win.show()
    _wait(lambda: bool(win.info), READY_TIMEOUT_MS)
    rng = random.Random(1)
    people = [win.demo_list.item(r).data(256) for r in range(win.demo_list.count())]
    people = [p for p in people if p[0] == "card"]
    for _ in range(sales):
        _amount(win.shop, rng.randrange(LOAD_MIN_YEN, LOAD_MAX_YEN, 10))
        win.shop.buttons["pay"].click()
        win.present(*rng.choice(people))
        _wait(lambda: _settled(win.shop))
    peak = _peak_rss_mb()
    _dispose(win)
    return peak


def _dispose(win: MainWindow) -> None:
    """Close the window and have Qt delete it now, not during the interpreter's exit (where
    PySide6's teardown of still-living widgets can crash)."""
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terminal.ui.drive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("screens")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--lang", choices=("ja", "en"), default="ja")
    s.add_argument("--demo-dir", type=Path, help="reuse a demo directory")
    s.add_argument("--size", type=parse_size, help="the window's size, WIDTHxHEIGHT")
    lo = sub.add_parser("load")
    lo.add_argument("--sales", type=int, default=1_000)
    lo.add_argument("--demo-dir", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="machi-drive-") as tmp:
        base = args.demo_dir or Path(tmp)
        if args.command == "screens":
            for path in screens(args.out, args.lang, base, args.size):
                print(path)
        else:
            print(f"peak_rss_mb {load(args.sales, base):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
