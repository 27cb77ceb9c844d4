"""The demo's panel: its staff with their PINs, and its customers (cards, app phones,
printed gift codes) to tap instead of a real card or scan."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QListWidget, QListWidgetItem

from sync import cards, giftcodes
from sync.staff import DEMO_STAFF
from terminal.ui.screen import tr
from terminal.ui.widgets import big_font, yen

DEMO_PINS = {name: pin for name, _, pin in DEMO_STAFF}
DEMO_PANEL_W = 330  # at most; a fifth of a narrow window, and never under DEMO_PANEL_MIN_W
DEMO_PANEL_MIN_W = 200
LIST_POINT_SIZE = 11


class DemoPanel(QDockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget()
        self.list.setFont(big_font(LIST_POINT_SIZE, bold=False))
        self.setWidget(self.list)
        self.setObjectName("demo")
        self.setMaximumWidth(DEMO_PANEL_W)

    def fit(self, window_width: int) -> None:
        self.setMaximumWidth(max(DEMO_PANEL_MIN_W, min(DEMO_PANEL_W, window_width // 5)))

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Demo: tap a customer to present their card or app"))

    def fill(self, info: dict) -> None:
        self.list.clear()
        for member in (info.get("staff") or {}).get("staff", []):
            pin = DEMO_PINS.get(member["name"])
            if pin:  # the demo's ready-made staff, their PINs said on screen
                item = QListWidgetItem(tr("Staff {0} ({1}): PIN {2}").format(
                    member["name"], tr(member["role"]), pin))
                item.setData(Qt.ItemDataRole.UserRole, ("staff", member["staff"]))
                self.list.addItem(item)
        for person in info["customers"]:
            if person["kind"] == "card":
                label = tr("Card") + "  " + cards.printed(person["value"])
            elif person["kind"] == "note":  # something the demo could not offer
                self.list.addItem(QListWidgetItem(person["value"]))
                continue
            elif person["kind"] == "gift":
                label = tr("Gift code {0} …{1}").format(
                    yen(giftcodes.parse(person["value"]).value), person["value"][-4:])
            else:
                label = tr("App") + "  " + person["value"]  # a demo phone
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, (person["kind"], person["value"]))
            self.list.addItem(item)
        self.show()
