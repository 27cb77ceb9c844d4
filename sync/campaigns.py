"""Campaign rules as data, and what they do to a sale, as both sides read them (DESIGN §2).

The ledger validates rules (`validate`) and hands them to terminals in snapshots; a terminal
evaluates them offline (`plan_payment`, `charge_bonus`, ...) and writes what each campaign
did into the record's `campaigns` list; the ledger re-checks every such entry (`check_entry`)
against the same rules and its own count of what each wallet has used.

A rule is a JSON object. Fields every kind has:

    id, kind, name          the campaign id, one of KINDS, and a name for screens and receipts
    starts, ends            first and last day (YYYY-MM-DD, inclusive, the terminal's date)
    shops, classes          optional: only these merchant ids / merchant classes take part
    funder                  who pays for the discount, premium or points it gives ("merchant"
                            for a threshold coupon a shop pays for itself)
    per_wallet              optional {"max": N, "per": "campaign" | "month" | "day"}
    quantity                optional: total units (coupons, voucher sets); see `pools`
    quantity_per            "campaign" (one pool) or "shop" (each shop its own pool)
    lease_block             optional: units a terminal asks for at a time

Kind fields:

    threshold_coupon  tiers [{"min", "off"}], shop_tiers {merchant: tiers} (a shop's choice)
    premium_voucher   sets [{"price", "common", "exclusive"}], common_expires,
                      exclusive_expires, exclusive_classes (default ["small"]), min_spend,
                      use_starts (the first day a set's value may be spent: its lots'
                      `usable_from`), sale_periods [{"id", "starts", "ends"}] (sets are sold
                      only within one; per_wallet {"per": "sale_period"} counts per period),
                      channels (["app"], ["card"] or both: what a set may be sold onto),
                      quantity_unit (yen of sale price one unit of `quantity` stands for,
                      e.g. 10000: a ¥5,000 set is half a unit; see `unit_parts`)
    premium_charge    rate_pct, bonus_cap (yen of bonus per wallet), pocket, expires
    point_grant       points, expires
    stamp_rally       threshold (yen a payment, or a diner's share at a restaurant),
                      double_tag (e.g. "banquet" gives 2 stamps, only at `lodgings`),
                      stamps_to_complete, max_completions, prize {"value", "quantity",
                      "expires"}, shop_discount {"off" (yen per stamp), "first"},
                      restaurants (merchant ids of 飲食店: diners stamped by their share),
                      lodgings (merchant ids of 宿泊業者 with banquet halls: the double
                      stamp), no_discount (merchant ids of 割引対象外の店舗), shop_names
                      {merchant id: name} (取得したスタンプには店舗名が表示されます)
    cash_back         rate_pct, cap, cap_per ("payment" | "month" | "campaign"), expires
    gift_code         value, pocket, expires (codes are made and signed by the ledger)
    ticket            rides (per grant), ride_value (yen the operator is paid per ride)
    exchange          points (per step), value (voucher yen per step), pocket, expires

Every amount is integer yen (1 pt = ¥1); rates are integer percent, rounded down.

A wallet's *usage* of a campaign is a small dict both sides fold the same way (`fold`):
`n` uses in all, `p` uses per period key, `yen` value given (bonus, cash-back), and for a
stamp rally `card` (the current card's [shop, stamps] pairs) and `done` (completions).
"""

from __future__ import annotations

import copy
from datetime import date
from math import gcd
from typing import Any

from sync import vocab
from sync.errors import SyncPackageError

KINDS = vocab.CAMPAIGN_KINDS
PERIODS = ("campaign", "month", "day", "sale_period")
# What a voucher set may be sold onto: an app wallet, or a card (printed or NFC).
CHANNELS = vocab.WALLET_KINDS
CHANNEL_OF_CREDENTIAL = vocab.WALLET_KIND_OF_CREDENTIAL
CAP_PERIODS = ("payment", "month", "campaign")
MERCHANT_CLASSES = vocab.MERCHANT_CLASSES
VALUE_POCKETS = vocab.CAMPAIGN_POCKETS
SHOP_FUNDED = "merchant"  # a funder that means "the shop itself pays for it"
# Pools of a campaign's quantities: the campaign's own, a rally's prizes, and per shop.
POOL_ALL = "all"
POOL_PRIZE = "prize"
POOL_SHOP_PREFIX = "shop."
DEFAULT_LEASE_BLOCK = 20
MAX_TIERS = 16
MAX_NAME = 80
MAX_RULE_YEN = 1_000_000
MAX_SHOPS = 10_000
# A stock unit (`quantity_unit`) is split into at most this many parts, so that every set is
# a whole number of parts (10,000円換算 with ¥5,000 and ¥10,000 sets: 2 parts a unit).
MAX_UNIT_PARTS = 100
# A stamp rally's shop lists (merchant ids): 飲食店, 宿泊業者 (banquets), 割引対象外.
RALLY_SHOP_LISTS = ("restaurants", "lodgings", "no_discount")


class RuleError(SyncPackageError, ValueError):
    """Campaign rules that cannot be run; the message names the field."""

    code = "bad_rules"


# --- validating ----------------------------------------------------------------------------


def _yen(rules: dict, name: str, minimum: int = 0, required: bool = True) -> int | None:
    value = rules.get(name)
    if value is None and not required:
        return None
    if type(value) is not int or not minimum <= value <= MAX_RULE_YEN:
        raise RuleError(f"{name} must be a whole number from {minimum} to {MAX_RULE_YEN:,}")
    return value


def _pct(rules: dict, name: str) -> int:
    value = rules.get(name)
    if type(value) is not int or not 1 <= value <= 100:
        raise RuleError(f"{name} must be a whole percent from 1 to 100")
    return value


def _day(rules: dict, name: str, required: bool = False) -> str | None:
    value = rules.get(name)
    if value is None and not required:
        return None
    try:
        date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError as exc:
        raise RuleError(f"{name} must be a date YYYY-MM-DD") from exc
    return value


def _pocket(rules: dict, default: str) -> str:
    pocket = rules.setdefault("pocket", default)
    if pocket not in VALUE_POCKETS:
        raise RuleError(f"pocket must be one of {', '.join(VALUE_POCKETS)}")
    return pocket


def _tiers(value: Any, where: str) -> list[dict]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TIERS:
        raise RuleError(f"{where} must be a list of 1..{MAX_TIERS} tiers")
    for tier in value:
        if not isinstance(tier, dict):
            raise RuleError(f"each of {where} is {{\"min\": yen, \"off\": yen}}")
        low, off = _yen(tier, "min", 1), _yen(tier, "off", 1)
        assert low is not None and off is not None  # required: _yen raised otherwise
        if off >= low:
            raise RuleError(f"{where}: a tier's discount must be less than its threshold")
    return sorted(value, key=lambda tier: tier["min"])


def _id_list(rules: dict, name: str) -> None:
    value = rules.get(name)
    if value is None:
        return
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SHOPS or not all(
            isinstance(item, str) and vocab.ID_RE.fullmatch(item) for item in value):
        raise RuleError(f"{name} must be a non-empty list of ids")


def validate(rules: Any) -> dict[str, Any]:
    """The rules, checked; raises RuleError naming the first field that is wrong."""
    if not isinstance(rules, dict):
        raise RuleError("campaign rules must be a JSON object")
    rules = copy.deepcopy(rules)
    if not isinstance(rules.get("id"), str) or not vocab.ID_RE.fullmatch(rules["id"]):
        raise RuleError("id must be an id: letters, digits, . _ - (up to 64)")
    kind = rules.get("kind")
    if kind not in KINDS:
        raise RuleError(f"kind must be one of {', '.join(KINDS)}")
    name = rules.setdefault("name", rules["id"])
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise RuleError(f"name must be text of 1..{MAX_NAME} characters")
    _day(rules, "starts", True)
    _day(rules, "ends", True)
    if rules["ends"] < rules["starts"]:
        raise RuleError("a campaign cannot end before it starts")
    _id_list(rules, "shops")
    classes = rules.get("classes")
    if classes is not None and (not isinstance(classes, list) or not classes
                                or not set(classes) <= set(MERCHANT_CLASSES)):
        raise RuleError(f"classes must be a non-empty list from {', '.join(MERCHANT_CLASSES)}")
    funder = rules.get("funder")
    if not isinstance(funder, str) or not vocab.ID_RE.fullmatch(funder):
        raise RuleError("funder must be an id: who pays for what the campaign gives")
    if funder == SHOP_FUNDED and kind != "threshold_coupon":
        raise RuleError("only a threshold coupon can be paid for by the shop itself")
    limit = rules.get("per_wallet")
    if limit is not None:
        if not isinstance(limit, dict) or limit.get("per") not in PERIODS:
            raise RuleError(f"per_wallet must be {{\"max\": N, \"per\": {' | '.join(PERIODS)}}}")
        _yen(limit, "max", 1)
    if _yen(rules, "quantity", 1, required=False) is not None:
        if rules.setdefault("quantity_per", "campaign") not in ("campaign", "shop"):
            raise RuleError("quantity_per must be campaign or shop")
    _yen(rules, "lease_block", 1, required=False)
    _KIND_CHECKS[kind](rules)
    return rules


def _check_coupon(rules: dict) -> None:
    rules["tiers"] = _tiers(rules.get("tiers"), "tiers")
    shop_tiers = rules.get("shop_tiers", {})
    if not isinstance(shop_tiers, dict):
        raise RuleError("shop_tiers must map a merchant id to its tiers")
    for merchant, tiers in shop_tiers.items():
        shop_tiers[merchant] = _tiers(tiers, f"shop_tiers.{merchant}")


def _check_voucher(rules: dict) -> None:
    sets = rules.get("sets")
    if not isinstance(sets, list) or not 1 <= len(sets) <= MAX_TIERS:
        raise RuleError(f"sets must be a list of 1..{MAX_TIERS} voucher sets")
    for item in sets:
        if not isinstance(item, dict):
            raise RuleError("each set is {\"price\", \"common\", \"exclusive\"}")
        price, common, exclusive = (_yen(item, "price", 1), _yen(item, "common"),
                                    _yen(item, "exclusive"))
        assert price is not None and common is not None and exclusive is not None
        if common + exclusive < price:
            raise RuleError("a voucher set cannot be worth less than its price")
    if len({item["price"] for item in sets}) != len(sets):
        raise RuleError("two sets have the same price")
    _day(rules, "common_expires")
    _day(rules, "exclusive_expires")
    exclusive = rules.setdefault("exclusive_classes", ["small"])
    if not isinstance(exclusive, list) or not exclusive or \
            not set(exclusive) <= set(MERCHANT_CLASSES):
        raise RuleError("exclusive_classes must be a non-empty list of merchant classes")
    _yen(rules, "min_spend", 0, required=False)
    rules.setdefault("per_wallet", {"max": 1, "per": "campaign"})
    # 利用期間：令和4年1月8日(土)～: value bought in the first sale period waits for it.
    use_starts = _day(rules, "use_starts")
    if use_starts is not None and not rules["starts"] <= use_starts <= rules["ends"]:
        raise RuleError("use_starts must fall within starts..ends")
    _sale_periods(rules)
    channels = rules.setdefault("channels", list(CHANNELS))
    if not isinstance(channels, list) or not channels or not set(channels) <= set(CHANNELS):
        raise RuleError(f"channels must be a non-empty list from {', '.join(CHANNELS)}")
    unit = _yen(rules, "quantity_unit", 1, required=False)
    if unit is not None:
        parts = unit_parts(rules)
        if parts > MAX_UNIT_PARTS:
            raise RuleError(f"quantity_unit must split into at most {MAX_UNIT_PARTS} parts "
                            "that every set's price is a whole number of")


def _sale_periods(rules: dict) -> None:
    periods = rules.get("sale_periods")
    if periods is None:
        if rules["per_wallet"].get("per") == "sale_period":
            raise RuleError("per_wallet per sale_period needs sale_periods")
        return
    if not isinstance(periods, list) or not 1 <= len(periods) <= MAX_TIERS:
        raise RuleError(f"sale_periods must be a list of 1..{MAX_TIERS} periods")
    last = ""
    for period in periods:
        if not isinstance(period, dict) or not isinstance(period.get("id"), str) or \
                not vocab.ID_RE.fullmatch(period["id"]):
            raise RuleError("each sale period is {\"id\", \"starts\", \"ends\"}")
        starts, ends = _day(period, "starts", True), _day(period, "ends", True)
        assert starts is not None and ends is not None
        if ends < starts or starts <= last:
            raise RuleError("sale periods must be in order and not overlap")
        if not (rules["starts"] <= starts and ends <= rules["ends"]):
            raise RuleError("sale periods must fall within starts..ends")
        last = ends
    if len({period["id"] for period in periods}) != len(periods):
        raise RuleError("two sale periods have the same id")


def _check_charge(rules: dict) -> None:
    _pct(rules, "rate_pct")
    _yen(rules, "bonus_cap", 1, required=False)
    _pocket(rules, "premium_common")
    _day(rules, "expires")


def _check_grant(rules: dict) -> None:
    _yen(rules, "points", 1)
    _day(rules, "expires")


def _check_rally(rules: dict) -> None:
    _yen(rules, "threshold", 1)
    # Which shop is which kind is the campaign's own list (its 参加店舗一覧), not a merchant
    # attribute: only this rule asks, and the ledger checks entries against the same rule.
    for name in RALLY_SHOP_LISTS:
        _id_list(rules, name)
    names = rules.get("shop_names")
    if names is not None and (not isinstance(names, dict) or len(names) > MAX_SHOPS or not all(
            isinstance(key, str) and isinstance(value, str) and 1 <= len(value) <= MAX_NAME
            for key, value in names.items())):
        raise RuleError(f"shop_names must map a merchant id to a name of 1..{MAX_NAME} "
                        "characters")
    tag = rules.get("double_tag")
    if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 32):
        raise RuleError("double_tag must be a short word such as banquet")
    _yen(rules, "stamps_to_complete", 1)
    _yen(rules, "max_completions", 1, required=False)
    prize = rules.get("prize")
    if prize is not None:
        if not isinstance(prize, dict):
            raise RuleError("prize must be {\"value\", \"quantity\", \"expires\"}")
        _yen(prize, "value", 1)
        _yen(prize, "quantity", 1, required=False)
        _day(prize, "expires")
    discount = rules.get("shop_discount")
    if discount is not None:
        if not isinstance(discount, dict):
            raise RuleError("shop_discount must be {\"off\", \"first\"}")
        _yen(discount, "off", 1)
        _yen(discount, "first", 1)
        if discount["off"] >= rules["threshold"]:
            raise RuleError("shop_discount.off must be less than the threshold")


def _check_cash_back(rules: dict) -> None:
    _pct(rules, "rate_pct")
    _yen(rules, "cap", 1, required=False)
    if rules.setdefault("cap_per", "month") not in CAP_PERIODS:
        raise RuleError(f"cap_per must be one of {', '.join(CAP_PERIODS)}")
    _day(rules, "expires")


def _check_gift(rules: dict) -> None:
    _yen(rules, "value", 1)
    _pocket(rules, "premium_common")
    _day(rules, "expires")


def _check_ticket(rules: dict) -> None:
    _yen(rules, "rides", 1)
    _yen(rules, "ride_value", 0)


def _check_exchange(rules: dict) -> None:
    _yen(rules, "points", 1)
    _yen(rules, "value", 1)
    _pocket(rules, "premium_common")
    _day(rules, "expires")


_KIND_CHECKS = {
    "threshold_coupon": _check_coupon,
    "premium_voucher": _check_voucher,
    "premium_charge": _check_charge,
    "point_grant": _check_grant,
    "stamp_rally": _check_rally,
    "cash_back": _check_cash_back,
    "gift_code": _check_gift,
    "ticket": _check_ticket,
    "exchange": _check_exchange,
}


# --- where and when ------------------------------------------------------------------------


def in_period(rule: dict, day: str) -> bool:
    return rule["starts"] <= day <= rule["ends"]


def shop_takes_part(rule: dict, merchant_id: str, merchant_class: str) -> bool:
    if rule.get("shops") is not None and merchant_id not in rule["shops"]:
        return False
    return rule.get("classes") is None or merchant_class in rule["classes"]


def active(rule: dict, day: str, merchant_id: str, merchant_class: str) -> bool:
    return in_period(rule, day) and shop_takes_part(rule, merchant_id, merchant_class)


def period_key(per: str, day: str) -> str:
    if per == "month":
        return day[:7]
    if per == "day":
        return day
    return "all"


def pools(rule: dict, merchant_id: str) -> list[tuple[str, int]]:
    """The quantity pools a shop's terminals draw on for this campaign: (pool, total)."""
    out = []
    if rule.get("quantity"):
        stock = rule["quantity"] * unit_parts(rule)
        if rule.get("quantity_per") == "shop":
            out.append((POOL_SHOP_PREFIX + merchant_id, stock))
        else:
            out.append((POOL_ALL, stock))
    if rule["kind"] == "stamp_rally":
        if (rule.get("prize") or {}).get("quantity"):
            out.append((POOL_PRIZE, rule["prize"]["quantity"]))
        if rule.get("shop_discount"):
            out.append((POOL_SHOP_PREFIX + merchant_id, rule["shop_discount"]["first"]))
    return out


def pool_total(rule: dict, pool: str) -> int | None:
    """How many units a pool holds, or None when the campaign has no such pool."""
    if pool == POOL_PRIZE:
        return (rule.get("prize") or {}).get("quantity") if rule["kind"] == "stamp_rally" \
            else None
    if pool.startswith(POOL_SHOP_PREFIX):
        if rule["kind"] == "stamp_rally" and rule.get("shop_discount"):
            return rule["shop_discount"]["first"]
        return rule["quantity"] * unit_parts(rule) if rule.get("quantity") and \
            rule.get("quantity_per") == "shop" else None
    if pool == POOL_ALL and rule.get("quantity") and rule.get("quantity_per") != "shop":
        return rule["quantity"] * unit_parts(rule)
    return None


def main_pool(rule: dict, merchant_id: str) -> str | None:
    """The pool a use of the campaign itself (not a rally's prize or discount) draws on."""
    if not rule.get("quantity"):
        return None
    return POOL_SHOP_PREFIX + merchant_id if rule.get("quantity_per") == "shop" else POOL_ALL


def lease_block(rule: dict, total: int) -> int:
    """Parts a terminal asks for at a time: `lease_block` units (in the campaign's unit)."""
    return min(total, (rule.get("lease_block") or DEFAULT_LEASE_BLOCK) * unit_parts(rule))


# --- the stock's unit (約90,000セット(10,000円換算)) -------------------------------------------


def unit_parts(rule: dict) -> int:
    """Parts one unit of the campaign's `quantity` is counted in, so that every voucher set
    takes a whole number of them: 1 without a `quantity_unit`; 2 for 10,000円換算 with ¥5,000
    and ¥10,000 sets (a ¥5,000 set is half a unit). Pools, leases and the units a record's
    entry takes are counted in parts; reports show units (`units_text`)."""
    unit = rule.get("quantity_unit")
    if not unit or rule.get("kind") != "premium_voucher":
        return 1
    step = unit
    for item in rule["sets"]:
        step = gcd(step, item["price"])
    return unit // step


def set_units(rule: dict, price: int) -> int:
    """Parts of the stock a set of `price` yen takes (1 without a `quantity_unit`)."""
    unit = rule.get("quantity_unit")
    if not unit or rule.get("kind") != "premium_voucher":
        return 1
    return price * unit_parts(rule) // unit


def units_text(rule: dict | None, parts: int) -> str:
    """Parts as units of the campaign's stock, for people: 3 parts of 2 -> '1.5'."""
    per = unit_parts(rule) if rule else 1
    whole, rest = divmod(parts, per)
    if not rest:
        return f"{whole:,}"
    digits = f"{rest / per:.4f}"[1:].rstrip("0")
    return f"{whole:,}{digits}"


# --- sale periods and channels ---------------------------------------------------------------


def sale_period(rule: dict, day: str) -> str | None:
    """The sale period `day` falls in (its id), or None; a campaign without sale periods
    sells all through starts..ends ("all")."""
    periods = rule.get("sale_periods")
    if periods is None:
        return "all" if in_period(rule, day) else None
    return next((p["id"] for p in periods if p["starts"] <= day <= p["ends"]), None)


def channel_allowed(rule: dict, credential_kind: str | None) -> bool:
    """Whether a set may be sold onto a wallet shown this way (app / card / nfc)."""
    return CHANNEL_OF_CREDENTIAL.get(credential_kind or "") in rule.get("channels", CHANNELS)


# --- usage ---------------------------------------------------------------------------------


def empty_usage() -> dict[str, Any]:
    return {"n": 0, "p": {}, "yen": 0}


def copy_usage(usage: dict) -> dict[str, Any]:
    """A copy of a wallet's usage that may be changed: its period tables and its stamp card
    are copied; the numbers and texts in them are immutable and shared. (copy.deepcopy did
    the same at several times the cost, on every campaign entry the ledger folds.)"""
    out = dict(usage)
    for table in ("p", "yp"):
        if isinstance(out.get(table), dict):
            out[table] = dict(out[table])
    for card in ("card", "last"):
        if isinstance(out.get(card), list):
            out[card] = [list(stamp) if isinstance(stamp, list) else stamp
                         for stamp in out[card]]
    return out


def uses_in(usage: dict | None, per: str, day: str) -> int:
    usage = usage or empty_usage()
    if per == "campaign":
        return usage.get("n", 0)
    return usage.get("p", {}).get(period_key(per, day), 0)


def limit_period(rule: dict, day: str) -> str:
    """The key of the per-wallet period `day` falls in: a month, a day, a sale period's id."""
    per = rule["per_wallet"]["per"]
    if per == "sale_period":
        return sale_period(rule, day) or ""
    return period_key(per, day)


def rule_uses(rule: dict, usage: dict | None, day: str) -> int:
    """Uses the wallet has had in the per-wallet period `day` falls in."""
    per = rule["per_wallet"]["per"]
    if per == "sale_period":
        return (usage or {}).get("sp", {}).get(limit_period(rule, day), 0)
    return uses_in(usage, per, day)


def within_limit(rule: dict, usage: dict | None, day: str, count: int = 1) -> bool:
    limit = rule.get("per_wallet")
    return limit is None or rule_uses(rule, usage, day) + count <= limit["max"]


def yen_in(usage: dict | None, per: str, day: str) -> int:
    usage = usage or empty_usage()
    if per == "campaign":
        return usage.get("yen", 0)
    return usage.get("yp", {}).get(period_key(per, day), 0)


def fold(usage: dict | None, entry: dict, day: str) -> dict[str, Any]:
    """The wallet's usage after one campaign entry of a record made on `day`."""
    out = copy_usage(usage) if usage else empty_usage()
    out["n"] = out.get("n", 0) + 1
    periods = out.setdefault("p", {})
    for key in {period_key("month", day), day}:
        periods[key] = periods.get(key, 0) + 1
    if entry.get("period"):  # a voucher set's sale period (販売期ごとに1回)
        sp = out["sp"] = dict(out.get("sp") or {})
        sp[entry["period"]] = sp.get(entry["period"], 0) + 1
    given = entry.get("bonus", 0) + entry.get("points", 0)
    if given:
        out["yen"] = out.get("yen", 0) + given
        yp = out.setdefault("yp", {})
        for key in {period_key("month", day), day}:
            yp[key] = yp.get(key, 0) + given
    if "stamps" in entry:
        if entry.get("complete"):
            # The stamps the card was completed from are kept, so that a void of the
            # completing sale can put them back (`unfold`).
            out["last"] = out.get("card", [])
            out["card"] = []
            out["done"] = out.get("done", 0) + 1
            out.pop("lx", None)  # this completion is the terminal's, not the ledger's
        else:
            out.setdefault("card", []).append([entry["shop"], entry["stamps"]])
    # Counts are kept for this month and the one before, by month and by day: a record made
    # offline late last month and synced now is still held to last month's limits. Older
    # keys are dropped so a wallet's usage stays small however long the campaign runs.
    oldest = previous_month(period_key("month", day))
    for table in (periods, out.get("yp", {})):
        for key in [k for k in table if k[:7] < oldest]:
            del table[key]
    return out


def previous_month(month: str) -> str:
    """'2026-12' -> '2026-11', '2027-01' -> '2026-12'."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def unfold(usage: dict | None, entry: dict, day: str) -> dict[str, Any]:
    """The wallet's usage with one entry made on `day` taken back (a void of its payment):
    the use, the yen given and a stamp on the current card. A card the entry completed is
    counted one fewer and its earlier stamps are put back, ahead of any stamped since (a
    usage folded before the stamps were kept has none to put back)."""
    out = copy_usage(usage) if usage else empty_usage()
    out["n"] = max(0, out.get("n", 0) - 1)
    for table in (out.get("p", {}),):
        for key in {period_key("month", day), day}:
            if table.get(key):
                table[key] -= 1
    if entry.get("period") and (out.get("sp") or {}).get(entry["period"]):
        out["sp"] = dict(out["sp"])
        out["sp"][entry["period"]] -= 1
    given = entry.get("bonus", 0) + entry.get("points", 0)
    if given:
        out["yen"] = max(0, out.get("yen", 0) - given)
        yp = out.get("yp", {})
        for key in {period_key("month", day), day}:
            if key in yp:
                yp[key] = max(0, yp[key] - given)
    if "stamps" in entry:
        if entry.get("complete"):
            out["done"] = max(0, out.get("done", 0) - 1)
            if isinstance(out.get("last"), list):
                out["card"] = out.pop("last") + out.get("card", [])
        else:
            card = out.get("card", [])
            stamp = [entry.get("shop"), entry["stamps"]]
            if stamp in card:
                del card[len(card) - 1 - card[::-1].index(stamp)]
            elif out.get("owed") and out.get("lx") == stamp and \
                    isinstance(out.get("last"), list) and stamp in out["last"]:
                # The ledger completed the card when this stamp's record met the others
                # (`complete_card`): that completion is undone with it (its void takes the
                # prize back), and the card's other stamps are put back. Only the completing
                # stamp's: an earlier stamp's void leaves the completion and its prize, as
                # when a terminal completed the card — else the two stamps left would
                # complete the card again with one new stamp, a second prize.
                del out["lx"]
                last = out.pop("last")
                del last[len(last) - 1 - last[::-1].index(stamp)]
                out["card"] = last + card
                out["done"] = max(0, out.get("done", 0) - 1)
                out["owed"] -= 1
    return out


def apply(usage: dict | None, entry: dict, day: str) -> dict[str, Any]:
    """`fold`, or `unfold` for an entry a void took back (`undo`, on the day it was made)."""
    if entry.get("undo"):
        return unfold(usage, entry, entry.get("day", day))
    return fold(usage, entry, day)


# --- evaluating a payment ------------------------------------------------------------------


def coupon_tiers(rule: dict, merchant_id: str) -> list[dict]:
    return rule.get("shop_tiers", {}).get(merchant_id) or rule["tiers"]


def coupon_off(rule: dict, merchant_id: str, base: int) -> int:
    """The best tier's discount for `base` yen of goods (0 below the lowest tier)."""
    off = 0
    for tier in coupon_tiers(rule, merchant_id):
        if base >= tier["min"]:
            off = tier["off"]
    return off


def _listed(rule: dict, name: str, merchant_id: str) -> bool:
    return merchant_id in (rule.get(name) or ())


def double_here(rule: dict, merchant_id: str) -> bool:
    """Whether this shop may give the double stamp: 「宿泊業者におけるスタンプは、宴会利用に
    限り2個付与できる」 — a shop on the rule's `lodgings` list, and nowhere else."""
    return bool(rule.get("double_tag")) and _listed(rule, "lodgings", merchant_id)


def diners_here(rule: dict, merchant_id: str) -> bool:
    """Whether the shop may stamp each diner by their share: 「飲食店での利用については、
    1人当たり600円以上の飲食での1スタンプ付与を可」 — a shop on `restaurants`."""
    return _listed(rule, "restaurants", merchant_id)


def discount_here(rule: dict, merchant_id: str) -> int:
    """Yen off per stamp at this shop: 「1スタンプにつき200円」, 0 at a shop on `no_discount`
    (「割引対象外の店舗もあります」) or when the rally gives none."""
    if _listed(rule, "no_discount", merchant_id):
        return 0
    return (rule.get("shop_discount") or {}).get("off", 0)


def rally_stamps(rule: dict, base: int, people: int, tags: frozenset[str] | set[str],
                 merchant_id: str | None = None, diner: bool = False) -> int:
    """Stamps one card earns for a payment of `base` yen by a party of `people`: the payer's
    card when the payment reaches the threshold 「1回の支払いが600円以上の場合に、支払いを
    した人に限り1スタンプ」 (whatever the party); a diner's own card (`diner`) only at a
    restaurant, when the share (`base` // `people`) reaches it. Two at a lodging for a
    banquet. `merchant_id` None: the shop lists are not looked at (double allowed)."""
    people = max(1, people)
    if diner:
        if merchant_id is not None and not diners_here(rule, merchant_id):
            return 0
        if base // people < rule["threshold"]:
            return 0
    elif base < rule["threshold"]:
        return 0
    double = rule.get("double_tag") and rule["double_tag"] in tags and (
        merchant_id is None or double_here(rule, merchant_id))
    return 2 if double else 1


def card_stamps(card: list[list]) -> int:
    """The stamps a card counts toward completing it: 「異なる店舗のスタンプを3個集めて」 and
    「1カード上で同じ店舗のスタンプは発行されません」 — each shop's first stamp entry (two for a
    banquet), never a second one from the same shop (two offline terminals of one shop both
    stamping it; the ledger flags that stamped_here_already)."""
    seen: set = set()
    total = 0
    for shop, n in card:
        if shop not in seen:
            seen.add(shop)
            total += n
    return total


def card_complete(rule: dict, usage: dict | None) -> bool:
    """Whether the current card holds the stamps that complete it."""
    return card_stamps(rally_card(usage)) >= rule["stamps_to_complete"]


def complete_card(usage: dict) -> dict[str, Any]:
    """The usage with its full card completed by the ledger (a completion the terminal could
    not see: stamps from other shops it did not know of). Counted in `owed` as well."""
    out = copy_usage(usage)
    out["last"] = out.get("card", [])
    if out["last"]:  # the stamp whose record filled the card: its void undoes this
        out["lx"] = list(out["last"][-1])
    out["card"] = []
    out["done"] = out.get("done", 0) + 1
    out["owed"] = out.get("owed", 0) + 1
    return out


def rally_card(usage: dict | None) -> list[list]:
    return list((usage or {}).get("card", []))


def cash_back_points(rule: dict, usage: dict | None, paid: int, day: str) -> int:
    points = paid * rule["rate_pct"] // 100
    cap = rule.get("cap")
    if cap is not None:
        per = rule.get("cap_per", "month")
        room = cap if per == "payment" else max(0, cap - yen_in(usage, per, day))
        points = min(points, room)
    return points


def premium_bonus(rule: dict, usage: dict | None, cash: int, day: str) -> int:
    bonus = cash * rule["rate_pct"] // 100
    cap = rule.get("bonus_cap")
    if cap is not None:
        bonus = min(bonus, max(0, cap - yen_in(usage, "campaign", day)))
    return bonus


def voucher_set(rule: dict, price: int) -> dict | None:
    return next((item for item in rule["sets"] if item["price"] == price), None)


def split_paid(price: int, parts: list[int]) -> list[int]:
    """Cash paid for each part of a voucher set, in proportion, adding up to `price`."""
    total = sum(parts)
    paid = [price * part // total for part in parts]
    paid[-1] += price - sum(paid)
    return paid


# --- the ledger's checks -------------------------------------------------------------------


def check_entry(rule: dict | None, entry: dict, day: str, merchant_id: str,
                merchant_class: str, usage: dict | None, base: int = 0,
                credential_kind: str | None = None, diner: bool = False) -> list[str]:
    """What is wrong with a campaign entry a terminal wrote, read against the rules and the
    wallet's usage before it (empty when all is well). `base` is the payment's goods total
    less excluded goods, for the kinds that depend on it; `credential_kind` how the wallet
    was shown (a voucher set sold onto a card where only the app may buy is flagged);
    `diner`: the entry stamps another diner's card than the payer's."""
    if rule is None:
        return ["unknown_campaign"]
    problems = []
    if not in_period(rule, day):
        problems.append("out_of_period")
    if rule["kind"] not in ("gift_code", "ticket") and not shop_takes_part(
            rule, merchant_id, merchant_class):
        problems.append("shop_not_taking_part")
    if not within_limit(rule, usage, day):
        problems.append("wallet_limit")
    kind = rule["kind"]
    if kind == "threshold_coupon" and entry.get("discount", 0) > coupon_off(rule, merchant_id,
                                                                              base):
        problems.append("discount_too_large")
    if kind == "stamp_rally":
        if "stamps" in entry:
            card = rally_card(usage)
            if any(shop == merchant_id for shop, _ in card):
                problems.append("stamped_here_already")
            if rule.get("max_completions") and (usage or {}).get("done", 0) >= \
                    rule["max_completions"]:
                problems.append("rally_finished")
            if entry["stamps"] > rally_stamps(rule, base, entry.get("people", 1),
                                              {rule["double_tag"]} if entry.get("double")
                                              and rule.get("double_tag") else set(),
                                              merchant_id, diner):
                problems.append("stamps_not_earned")
            earned = card_stamps(card + [[entry.get("shop"), entry["stamps"]]])
            # A completion the terminal could not see (the card's other stamps were not all
            # known to it) is not wrong: the ledger completes the card (ledger.postings).
            if entry.get("complete") and earned < rule["stamps_to_complete"]:
                problems.append("completion_wrong")
        # 「1スタンプにつき200円」: the discount is per stamp; none at a 割引対象外 shop.
        off = discount_here(rule, merchant_id) * entry.get("stamps", 1)
        if entry.get("discount", 0) > off:
            problems.append("discount_too_large")
    if kind == "cash_back" and entry.get("points", 0) > cash_back_points(
            rule, usage, base, day):
        problems.append("cash_back_too_large")
    if kind == "premium_voucher":
        problems += _voucher_problems(rule, entry, day, credential_kind)
    if kind == "premium_charge" and rule.get("bonus_cap") is not None and \
            yen_in(usage, "campaign", day) + entry.get("bonus", 0) > rule["bonus_cap"]:
        problems.append("bonus_cap")
    return problems


def _voucher_problems(rule: dict, entry: dict, day: str, credential_kind: str | None
                      ) -> list[str]:
    problems = []
    if rule.get("sale_periods") is not None:
        period = sale_period(rule, day)
        if period is None:
            problems.append("out_of_sale_period")
        elif entry.get("period") != period:
            problems.append("wrong_sale_period")
    if set(rule.get("channels", CHANNELS)) != set(CHANNELS) and \
            not channel_allowed(rule, credential_kind):
        problems.append("channel")
    if "set" in entry and entry.get("units", 1) != set_units(rule, entry["set"]):
        problems.append("wrong_units")
    return problems
