"""A demo region for the app's demo mode and for trying the ledger by hand.

Shops after the source documents (a small grocer and a gas station with threshold coupons as
in Hokuto, a large supermarket where voucher value restricted to small shops may not be
spent, a charge booth), a few hundred wallets (app and card users, age bands and areas),
value in every pocket (charged money; Shiga-style premium vouchers split into common and
small-shop-only parts with their expiry; points from the town's schemes) and the campaigns
of the seeds. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ledger import service
from ledger.db import Connection, Database
from sync import cards
from sync.staff import DEMO_STAFF

DEFAULT_WALLETS = 300
# How often (in wallets made) seed_demo tells its progress callback.
PROGRESS_EVERY_WALLETS = 100
DEFAULT_SEED = 20261122
CARD_SHARE = 0.4  # LOVESAIJO: card users are a large, older minority
AGE_BANDS = ("10s", "20s", "30s", "40s", "50s", "60s", "70s", "80+")
CARD_AGE_BANDS = ("60s", "70s", "80+")
AREAS = ("中央", "北部", "南部", "東部", "西部")
TOWN = "town-office"
COUNCIL = "sdgs-council"
# Charged money the demo's wallets hold from before the demo: cash paid in at some booth.
OPENING_CASH = "opening-cash"
VOUCHER_ENDS = "2027-02-28"
POINTS_EXPIRE = "2027-05-31"

MERCHANTS = [
    ("M-SAKURA", "さくら商店", "small", 1),
    ("M-HOKUTO-GS", "北斗ガソリンスタンド", "small", 2),
    ("M-MARUI", "まるいスーパー", "large", 3),
    ("M-BOOTH", "まちポイント チャージ窓口", "small", 1),
]

# The demo's campaigns run over the whole winter (2026-11-01..2027-03-31), so a demo started
# today shows each of them at work; their figures are the seed schemes' (DESIGN §2).
CAMPAIGNS_START, CAMPAIGNS_END = "2026-11-01", "2027-03-31"
CAMPAIGNS = [
    # Hokuto: threshold coupons a shop chooses, in stock per shop (the gas station's ran out).
    {"id": "hokuto-coupon", "kind": "threshold_coupon", "name": "北斗市 冬のクーポン",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": "hokuto-city",
     "shops": ["M-SAKURA", "M-HOKUTO-GS"],
     "tiers": [{"min": 500, "off": 150}, {"min": 5000, "off": 1500}],
     "quantity": 400, "quantity_per": "shop", "per_wallet": {"max": 1, "per": "day"}},
    # Shiga Koko: +50 % premium vouchers, common + small-shop-only parts, one set a person.
    {"id": "koko-voucher", "kind": "premium_voucher", "name": "ここクーポン",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN,
     "sets": [{"price": 5000, "common": 3000, "exclusive": 4500},
              {"price": 10000, "common": 6000, "exclusive": 9000}],
     "common_expires": VOUCHER_ENDS, "exclusive_expires": VOUCHER_ENDS,
     "exclusive_classes": ["small"], "min_spend": 1500, "quantity": 90000,
     "quantity_unit": 10000, "per_wallet": {"max": 1, "per": "campaign"}},
    # Makinohara: a stamp per ¥600 a person, 3 stamps for a ¥1,000 prize (first 3,000), each
    # shop's first 100 stamps with ¥200 off.
    {"id": "makinohara-rally", "kind": "stamp_rally", "name": "牧之原 スタンプラリー",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN, "threshold": 600,
     "double_tag": "banquet", "stamps_to_complete": 3, "max_completions": 6,
     "prize": {"value": 1000, "quantity": 3000, "expires": CAMPAIGNS_END},
     "shop_discount": {"off": 200, "first": 100},
     # The demo's counter shop plays both kinds, so every rally input shows: a restaurant
     # (each diner stamped by their share) and a lodging with a banquet hall (the double
     # stamp). The booth gives stamps without the discount (割引対象外).
     "restaurants": ["M-SAKURA"], "lodgings": ["M-SAKURA"], "no_discount": ["M-BOOTH"],
     "shop_names": {merchant_id: name for merchant_id, name, _, _ in MERCHANTS}},
    # LOVESAIJO: 200 pt a bus ride, at most 2 a month; 1 % cash-back up to ¥3,000 a month.
    {"id": "bus-points", "kind": "point_grant", "name": "バス乗車ポイント",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": COUNCIL, "points": 200,
     "expires": POINTS_EXPIRE, "per_wallet": {"max": 2, "per": "month"}},
    {"id": "cash-back", "kind": "cash_back", "name": "お買い物ポイント還元 1%",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": COUNCIL, "rate_pct": 1,
     "cap": 3000, "cap_per": "month", "expires": POINTS_EXPIRE},
    {"id": "charge-bonus", "kind": "premium_charge", "name": "チャージでプレミアム",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN, "rate_pct": 10,
     "bonus_cap": 2000, "pocket": "premium_common", "expires": CAMPAIGNS_END},
    # Tomamae: on-demand transit tickets, and points exchanged for voucher value.
    {"id": "tomamae-ride", "kind": "ticket", "name": "苫前 デマンド交通回数券",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN, "rides": 10,
     "ride_value": 500},
    {"id": "point-exchange", "kind": "exchange", "name": "苫前 ポイント交換",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN, "points": 1000,
     "value": 1000, "pocket": "premium_common", "expires": CAMPAIGNS_END},
    # QR gift cards (LOVESAIJO), made with `ledger admin create-gift-codes`.
    {"id": "furusato-gift", "kind": "gift_code", "name": "ふるさとギフト 3,000円",
     "starts": CAMPAIGNS_START, "ends": CAMPAIGNS_END, "funder": TOWN, "value": 3000,
     "pocket": "premium_common", "expires": CAMPAIGNS_END},
]


@dataclass
class DemoSummary:
    merchants: int
    wallets: int
    cards: list[str]
    value_yen: int

    def text(self) -> str:
        sample = ", ".join(cards.printed(c) for c in self.cards[:3])
        return (f"demo region: {self.merchants} shops, {self.wallets} wallets "
                f"({len(self.cards)} with cards), ¥{self.value_yen:,} issued; cards e.g. {sample}")


def _card_number(rng: random.Random) -> str:
    body = cards.CARD_PREFIX + "".join(str(rng.randrange(10)) for _ in range(cards.CARD_DIGITS - 2))
    return body + cards.luhn_digit(body)


def _already_seeded(conn: Connection) -> bool:
    return conn.one("SELECT 1 FROM merchants WHERE merchant_id = ?", (MERCHANTS[0][0],)) is not None


def seed_demo(
    db: Database, wallets: int = DEFAULT_WALLETS, seed: int = DEFAULT_SEED,
    campaigns: bool = True, staff: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill an empty ledger with the demo region (refuses a ledger that already has it);
    `campaigns=False` leaves the town's campaigns out (the wallets' voucher and point lots
    stay), for tests of the plain engine whose figures no coupon should change. `staff`:
    every shop gets the ready-made staff of sync.staff.DEMO_STAFF (the demo window signs in
    with them); without, the shops are in first-setup mode (terminal.staff). `progress` is
    told (wallets made, wallets) as it goes."""
    with db.reading() as conn:
        if _already_seeded(conn):
            raise service.LedgerError("this ledger already holds the demo region", 409, "exists")
    rng = random.Random(seed)
    for merchant_id, name, merchant_class, plan in MERCHANTS:
        service.create_merchant(db, merchant_id, name, merchant_class, plan)
        for staff_name, role, pin in DEMO_STAFF if staff else ():  # PINs on the screen
            service.create_staff(db, merchant_id, staff_name, role, pin)
    for rules in CAMPAIGNS if campaigns else ():
        service.create_campaign(db, rules)
    card_numbers, issued = [], 0
    for index in range(wallets):
        if progress is not None and index % PROGRESS_EVERY_WALLETS == 0:
            progress(index, wallets)
        is_card = rng.random() < CARD_SHARE
        wallet_id = f"W-DEMO-{index + 1:05d}"
        service.create_wallet(
            db, "card" if is_card else "app", wallet_id,
            age_band=rng.choice(CARD_AGE_BANDS if is_card else AGE_BANDS),
            area=rng.choice(AREAS))
        if is_card:
            card_numbers.append(service.create_card(db, wallet_id, _card_number(rng)))
        charged = rng.randrange(10, 201) * 100
        service.issue_value(db, wallet_id, "charged", charged, OPENING_CASH)
        issued += charged
        if rng.random() < 0.3:
            service.issue_value(db, wallet_id, "premium_common", 6000, TOWN, VOUCHER_ENDS,
                                campaign="koko-voucher")
            service.issue_value(db, wallet_id, "premium_exclusive", 9000, TOWN, VOUCHER_ENDS,
                                classes=["small"], campaign="koko-voucher")
            issued += 15000
        if rng.random() < 0.5:
            points = rng.randrange(1, 11) * 200
            service.issue_value(db, wallet_id, "points", points, COUNCIL, POINTS_EXPIRE,
                                campaign="bus-points")
            issued += points
    return DemoSummary(len(MERCHANTS), wallets, card_numbers, issued)
