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
from dataclasses import dataclass

from ledger import service
from ledger.db import Connection, Database
from sync import cards

DEFAULT_WALLETS = 300
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

CAMPAIGNS = [
    {"id": "hokuto-coupon", "kind": "threshold_coupon", "starts": "2026-11-01",
     "ends": "2027-02-26", "merchants": ["M-SAKURA", "M-HOKUTO-GS"],
     "tiers": [{"min": 500, "off": 150}, {"min": 5000, "off": 1500}], "quantity": 3000},
    {"id": "koko-voucher", "kind": "premium_voucher", "starts": "2027-01-08",
     "ends": VOUCHER_ENDS, "sets": [{"pay": 5000, "common": 3000, "exclusive": 4500},
                                    {"pay": 10000, "common": 6000, "exclusive": 9000}],
     "min_use": 1500, "per_wallet": 1, "quantity": 90000, "funder": TOWN},
    {"id": "makinohara-rally", "kind": "stamp_rally", "starts": "2026-12-01",
     "ends": "2027-02-28", "threshold": 600, "stamps_to_complete": 3, "max_completions": 6,
     "prize": 1000, "prize_quantity": 3000, "first_stamps_discount": {"count": 100, "off": 200}},
    {"id": "bus-points", "kind": "point_grant", "starts": "2026-04-01", "ends": "2027-03-31",
     "points": 200, "per_month": 2, "funder": COUNCIL},
    {"id": "charge-bonus", "kind": "premium_charge", "starts": "2026-11-01",
     "ends": "2026-12-31", "rate_percent": 10, "cap_per_wallet": 2000, "funder": TOWN},
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
    db: Database, wallets: int = DEFAULT_WALLETS, seed: int = DEFAULT_SEED
) -> DemoSummary:
    """Fill an empty ledger with the demo region (refuses a ledger that already has it)."""
    with db.reading() as conn:
        if _already_seeded(conn):
            raise service.LedgerError("this ledger already holds the demo region", 409, "exists")
    rng = random.Random(seed)
    for merchant_id, name, merchant_class, plan in MERCHANTS:
        service.create_merchant(db, merchant_id, name, merchant_class, plan)
    for rules in CAMPAIGNS:
        service.create_campaign(db, rules)
    card_numbers, issued = [], 0
    for index in range(wallets):
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
