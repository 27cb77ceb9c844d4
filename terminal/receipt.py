"""Receipts for every committed transaction: one model, three renderings.

`build_receipt` turns a counter `Outcome` into a `Receipt` (Japanese by default, English on
request). The receipt lays itself out once, as a list of `Block`s, and each renderer draws
those same blocks: fixed-width text (`text_lines`, for the screen and logs), a receipt-sized
PDF (`to_pdf`, the "no printer" case) and ESC/POS bytes (`to_escpos`, thermal printers).

ESC/POS Japanese: Kanji mode with Shift_JIS (`FS C 1`, `FS &`), not a raster image.
  - Japanese-market printers (Epson TM-T88 JP, TM-m30 JP, Star and Citizen in ESC/POS
    mode) carry JIS X 0208 fonts in ROM: the printer draws crisp text at its own
    resolution, and doubled sizes (`GS !`) stay sharp.
  - A receipt is about 1 KB of text against about 60 KB of raster at 576 dots wide; over a
    9600-baud serial line that is one second against a minute, and the next customer waits.
  - Text needs no font on the terminal and no image library at print time.
  The cost: a printer without Kanji ROM (an export model) prints garbage, and characters
  outside JIS X 0208 (vendor extensions, emoji) cannot be printed. Those are replaced: first
  by their NFKC compatibility form (①->1, ～->~), else without accents (é->e), else by the
  geta mark 〓 (U+3013), the substitute Japanese typesetting has always used for a missing
  character, so a shop name never stops a receipt and nothing prints as a bare `?`.

Widths: a text line counts East Asian wide, full-width and ambiguous characters as two
columns, combining marks and format characters (variation selectors, joiners) as none.
Ambiguous ones (…, ×, ○) are full width on Japanese printers and in Japanese fonts, so
counting them as two never overflows a line. Every renderer folds the text to what it will
print before it lays lines out, so a substitute is measured as the character it is.

No Qt here: the UI shows `text_lines`, a printer worker thread calls `to_escpos` / `to_pdf`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sync import vocab
from terminal.counter import Outcome
from terminal.effects import Note, shown_params
from terminal.errors import TerminalError

LANGS = ("ja", "en")
KINDS = vocab.RECEIPT_RECORD_TYPES
TEXT_COLUMNS = 32  # a 58 mm roll in Font A; 80 mm rolls take 48
ESCPOS_COLUMNS = 48  # 80 mm roll, 576 dots, Font A 12 x 24
SHORT_TX_CHARS = 8  # the random tail of a 26-character id: enough to find it by eye
WALLET_TAIL_CHARS = 4  # wallet ids and card numbers are credentials: show only a tail
CARD_TAIL_DIGITS = 4
MASK_STARS = 4  # as many as a tail needs to read as hidden, not as the whole id
MAX_SHOP_CHARS = 60
MAX_ID_CHARS = 64
MAX_NOTE_CHARS = 80
# A worded campaign note: its longest template (about 100 characters) with an 80-character
# campaign name and figures.
MAX_CAMPAIGN_NOTE_CHARS = 240
MAX_CAMPAIGN_NAME_CHARS = 80  # as sync.campaigns.MAX_NAME
WIDE = ("W", "F", "A")

Part = tuple[str, str]  # words, and the yen or points beside them ("" when none)

POCKET_ORDER = vocab.YEN_POCKETS

# What each campaign did, in words. The screen uses the same templates: the English ones
# go through Qt's translation (context "Campaign" in resources/i18n), whose Japanese must be
# these (tests/terminal/ui checks), so the screen and the receipt say the same thing.
CAMPAIGN_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "c/stamps": "{name}: スタンプ {n}個", "c/shop_discount": "この店の先着割引",
        "c/complete": "カード完成!", "c/prize": "カード完成! 賞品",
        "c/bonus": "{name}: ボーナス", "c/points": "+{n} pt",
        "c/voucher": "{name} {price}セット: 共通 {common} + 中小店専用 {exclusive}",
        "c/rides": "{name}: {n}回分", "c/rides_left": "{name}: 残り {n}回",
        "c/exchange": "{name}: {points} pt → {value}",
        "c/gift": "{name} ({value}): {paid} 使用, おつりは出ません",
        "c/gift_unused": "使われなかった分 (返金なし)", "c/gift_redeem": "{name}: {value} 入金",
        "c/undone": "{name}: 取り消し",
        "c/diner": "同席の方のカード", "c/prize_owed": "カード完成! 賞品は確認後に付与",
    },
    "en": {
        "c/stamps": "{name}: {n} stamp(s)", "c/shop_discount": "early-bird discount here",
        "c/complete": "Card complete!", "c/prize": "Card complete! Prize",
        "c/bonus": "{name}: bonus", "c/points": "+{n} pt",
        "c/voucher": "{name} {price} set: all shops {common} + small shops {exclusive}",
        "c/rides": "{name}: {n} rides", "c/rides_left": "{name}: {n} rides left",
        "c/exchange": "{name}: {points} pt → {value}",
        "c/gift": "{name} ({value}): {paid} used, no change given",
        "c/gift_unused": "Not used (not refunded)", "c/gift_redeem": "{name}: {value} added",
        "c/undone": "{name}: taken back",
        "c/diner": "other diner's card", "c/prize_owed": "Card complete! Prize to be confirmed",
    },
}

# What the counter tells the cashier about a sale's campaigns (terminal.effects.Note), one
# template a code. The screen words them the same (terminal.ui.effectwords: these English
# templates, translated in context "effectwords" to these Japanese ones; tests check).
NOTE_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "sold_out": "{name}: この端末の割当分がなくなりました。",
        "wallet_limit": "{name}: このお客様はすでに上限まで受けています。",
        "stamped_here": "{name}: このカードにはすでにこのお店のスタンプがあります。",
        "rally_finished": "{name}: このお客様はすでに{max}回ラリーを達成しています。",
        "completion_owed": "{name}: カードが完成しました。達成は確認後に確定します"
                           "（賞品は次回の更新で届きます）。",
        "completion_offline": "{name}: オフラインでスタンプを付与しました。ほかのお店の"
                              "スタンプでカードが完成していれば、達成は確認後に確定します。",
        "diner_no_stamp": "{name}: 1人当たり¥{share}で¥{threshold}に届かないため、"
                          "ほかの方へのスタンプはありません。",
        "diners_not_here": "{name}: ほかの方のカードへのスタンプは飲食店のみです。",
        "grant_spent_kept": "この取引で付与した分のうち¥{yen}はすでに使われているため、"
                            "返金額から差し引きました。",
        "grant_spent_owed": "返金額より¥{yen}多く使われています。ウォレットの未払いとなり、"
                            "精算されるまで停止されます。",
    },
    "en": {
        "sold_out": "{name}: none left at this terminal.",
        "wallet_limit": "{name}: this customer has had it as often as the rules allow.",
        "stamped_here": "{name}: this card already has this shop's stamp.",
        "rally_finished": "{name}: this customer has finished the rally {max} times already.",
        "completion_owed": "{name}: the card is complete; completion will be confirmed "
                           "(the prize comes with the next update).",
        "completion_offline": "{name}: stamped offline; if the card's other stamps complete "
                              "it, completion will be confirmed.",
        "diner_no_stamp": "{name}: a diner's share ¥{share} is under ¥{threshold}: no stamp "
                          "for the other diners.",
        "diners_not_here": "{name}: only restaurants stamp the other diners' cards.",
        "grant_spent_kept": "¥{yen} of what the sale granted was spent already: kept from "
                            "the money given back.",
        "grant_spent_owed": "¥{yen} more was spent than the sale gives back: the wallet owes "
                            "it and is suspended until it is settled.",
    },
}


def note_text(note: Note, lang: str) -> str:
    """A note in words, in Japanese ("ja") or English ("en")."""
    return NOTE_WORDS[lang][note.code].format(**shown_params(note))


TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "payment": "お支払い", "refund": "返金", "void": "取消", "charge": "チャージ",
        "grant": "ポイント付与", "card_issue": "カード発行",
        "cash_move/in": "釣銭準備金 入金", "cash_move/out": "釣銭準備金 出金",
        "cash_move": "釣銭準備金",
        "amount/payment": "お支払い金額", "amount/refund": "返金額", "amount/void": "取消金額",
        "amount/charge": "チャージ金額", "amount/grant": "付与ポイント",
        "amount/cash_move": "金額",
        "charged": "チャージ残高", "premium_common": "プレミアム商品券(共通)",
        "premium_exclusive": "プレミアム商品券(中小店専用)", "points": "ポイント",
        "breakdown": "内訳", "decision": "承認", "recorded": "処理", "online": "オンライン",
        "offline": "オフライン", "balance": "残高", "terminal": "端末", "seq": "No.",
        "tx": "取引ID", "of": "元の取引", "card": "カード番号", "wallet": "ウォレット",
        "new_wallet": "新しいウォレット", "reason": "理由", "thanks": "ありがとうございました",
        "staff": "(店舗控え)",
        "date": "{y}年{m}月{d}日({wd})", "weekdays": "月火水木金土日", "pt": "{n} pt",
        "grant/ticket": "回数券 付与", "grant/gift": "ギフトコード 入金",
        "charge/voucher": "プレミアム商品券 販売", "amount/charge/voucher": "販売額",
        "gift": "ギフトコード払い",
        "ticket": "乗車券 利用", "exchange": "ポイント交換",
        "amount/grant/ticket": "付与回数", "amount/grant/gift": "入金額",
        "amount/gift": "ギフトコードでのお支払い", "amount/ticket": "ご利用",
        "amount/exchange": "交換額", "rides": "{n}回", "price": "お買い上げ合計",
        "rest": "残りのお支払い (現金など)", "campaigns": "キャンペーン",
        "reprint": "** 再発行 **", "tendered": "お預かり", "change": "お釣り",
        **CAMPAIGN_WORDS["ja"],
    },
    "en": {
        "payment": "Payment", "refund": "Refund", "void": "Void", "charge": "Top-up",
        "grant": "Points granted", "card_issue": "Card issued",
        "cash_move/in": "Cash float in", "cash_move/out": "Cash float out",
        "cash_move": "Cash float",
        "amount/payment": "Amount paid", "amount/refund": "Refunded",
        "amount/void": "Voided", "amount/charge": "Topped up", "amount/grant": "Points",
        "amount/cash_move": "Amount",
        "charged": "Charged money", "premium_common": "Vouchers (all shops)",
        "premium_exclusive": "Vouchers (small shops)", "points": "Points",
        "breakdown": "Paid by", "decision": "Approved", "recorded": "Recorded", "online": "online",
        "offline": "offline", "balance": "Balance", "terminal": "Terminal", "seq": "No.",
        "tx": "Tx ID", "of": "Original", "card": "Card", "wallet": "Wallet",
        "new_wallet": "new wallet", "reason": "Reason", "thanks": "Thank you",
        "staff": "(shop copy)",
        "date": "{y}-{m:02d}-{d:02d} ({wd})",
        "weekdays": "Mon Tue Wed Thu Fri Sat Sun", "pt": "{n} pt",
        "grant/ticket": "Tickets granted", "grant/gift": "Gift code redeemed",
        "charge/voucher": "Voucher set sale", "amount/charge/voucher": "Price paid",
        "gift": "Gift code payment", "ticket": "Ride", "exchange": "Points exchanged",
        "amount/grant/ticket": "Rides granted", "amount/grant/gift": "Added",
        "amount/gift": "Paid by gift code", "amount/ticket": "Used",
        "amount/exchange": "Value added", "rides": "{n} ride(s)", "price": "Goods total",
        "rest": "Still to pay (cash etc.)", "campaigns": "Campaigns",
        "reprint": "** 再発行 REPRINT **", "tendered": "Cash received", "change": "Change",
        **CAMPAIGN_WORDS["en"],
    },
}


class ReceiptError(TerminalError, ValueError):
    """An outcome that cannot be made into a receipt (unknown kind or language)."""

    code = "bad_receipt"


@dataclass(frozen=True)
class Block:
    """One visual line of the receipt, before rendering.

    style: "title" (shop name), "heading" (the kind), "text" (left), "center", "pair"
    (label left, value right), "item" (an indented pair), "strong" (a pair in larger
    type), "big" (the balance), "rule", "qr" (left = payload), "note" (small, centred).
    """

    style: str
    left: str = ""
    right: str = ""


# --- widths -------------------------------------------------------------------------------


ZERO_WIDTH_CATEGORIES = ("Mn", "Me", "Cf")  # combining marks, joiners, variation selectors


def char_width(ch: str) -> int:
    """Display columns of one character on a Japanese receipt: what a Kanji-mode printer
    gives it (a Shift_JIS double-byte character is full width), else its East Asian width
    (wide, full-width and ambiguous count two)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ZERO_WIDTH_CATEGORIES:
        return 0
    if ch.isascii():
        return 1
    try:
        return len(ch.encode(KANJI_CODEC))
    except UnicodeEncodeError:
        return 2 if unicodedata.east_asian_width(ch) in WIDE else 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def split_width(text: str, width: int) -> list[str]:
    """`text` cut into pieces of at most `width` columns (never splits a character); a
    piece ends at its last space when it has one, so "¥1,000" or "1,000 pt" stay whole
    (Japanese, written without spaces, breaks between any two characters)."""
    assert width >= 2, "a line must hold one wide character"
    pieces, current, used = [], "", 0
    for ch in text:
        w = char_width(ch)
        if used + w > width:
            cut = current.rfind(" ")
            if cut > 0 and ch != " ":
                pieces.append(current[:cut])
                current = current[cut + 1:]
            else:
                pieces.append(current)
                current = ""
            used = text_width(current)
            if ch == " " and not current:
                continue  # a space at the start of a line is not printed
        current += ch
        used += w
    if current or not pieces:
        pieces.append(current)
    return pieces


def pad_pair(left: str, right: str, width: int, indent: int = 0) -> list[str]:
    """`left` and `right` on one line of `width` columns, or the right part on its own
    right-aligned line when both do not fit."""
    # a long label wraps under itself, so an indented item still reads as one
    left_lines = [" " * indent + piece for piece in split_width(left, width - indent)]
    right_lines = split_width(right, width) if right else []
    last = left_lines[-1]
    if right_lines and len(right_lines) == 1 and \
            text_width(last) + 1 + text_width(right_lines[0]) <= width:
        gap = width - text_width(last) - text_width(right_lines[0])
        return left_lines[:-1] + [last + " " * gap + right_lines[0]]
    return left_lines + [" " * (width - text_width(r)) + r for r in right_lines]


def center(text: str, width: int) -> list[str]:
    out = []
    for piece in split_width(text, width):
        room = width - text_width(piece)
        out.append(" " * (room // 2) + piece + " " * (room - room // 2))
    return out


def yen(amount: int) -> str:
    assert type(amount) is int, "money is int yen"
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


def clean(text: Any, limit: int) -> str:
    """Printable text only: a control character in a shop name or a note must never reach
    a printer as a command (ESC, GS and FS start ESC/POS commands)."""
    chars = [" " if unicodedata.category(ch).startswith("C") else ch for ch in str(text)]
    return " ".join("".join(chars).split())[:limit]


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """Everything printed on one receipt, already in the chosen language."""

    lang: str
    kind: str
    title: str  # the kind in words
    shop: str
    when: datetime
    terminal_id: str
    seq: int
    tx_id: str
    amount: int
    decision: str  # "online", "offline", or "" when not a decision
    paid_by: tuple[tuple[str, int], ...]  # (pocket in words, yen)
    balance_after: int | None
    details: tuple[tuple[str, str], ...] = field(default=())  # label, value
    variant: str = ""  # the kind as named on paper ("grant/ticket"...); `kind` when empty
    price: int | None = None  # goods total before campaign discounts
    rest: int = 0  # a gift code's sale: what is left to pay another way
    campaigns: tuple[tuple[Part, ...], ...] = field(default=())  # see `campaign_lines`
    notes: tuple[str, ...] = field(default=())  # the counter's notes, worded (`note_text`)
    reprint: bool = False  # printed again from the journal: marked 再発行
    tendered: int | None = None  # cash handed over for a top-up (change = tendered - amount)

    @property
    def short_tx(self) -> str:
        return "*" + self.tx_id[-SHORT_TX_CHARS:] if len(self.tx_id) > SHORT_TX_CHARS \
            else self.tx_id

    @property
    def words(self) -> dict[str, str]:
        return TEXT[self.lang]

    def amount_text(self) -> str:
        named = self.variant or self.kind
        if named in ("grant/ticket", "ticket"):  # rides are counted, not paid
            return self.words["rides"].format(n=f"{self.amount:,}")
        if named == "grant":  # points are counted, not paid (1 pt = ¥1)
            return self.words["pt"].format(n=f"{self.amount:,}")
        return yen(self.amount)

    def _campaign_blocks(self) -> list[Block]:
        if not self.campaigns and not self.notes:
            return []
        return [Block("text", self.words["campaigns"])] + [
            Block("item", text, value) for line in self.campaigns for text, value in line] + [
            Block("text", note) for note in self.notes]

    def date_text(self) -> str:
        words = self.words
        weekday = words["weekdays"].split()[self.when.weekday()] if self.lang == "en" \
            else words["weekdays"][self.when.weekday()]
        return words["date"].format(y=self.when.year, m=self.when.month, d=self.when.day,
                                    wd=weekday)

    def blocks(self) -> list[Block]:
        """The receipt's lines, top to bottom, for every renderer."""
        w = self.words
        out = [Block("title", self.shop), Block("heading", self.title)]
        if self.reprint:
            out.append(Block("center", w["reprint"]))
        out += [Block("rule"),
               Block("pair", self.date_text(), self.when.strftime("%H:%M")),
               Block("pair", f"{w['terminal']} {self.terminal_id}", f"{w['seq']}{self.seq}"),
               Block("rule")]
        discounted = self.price is not None and self.price != self.amount
        if discounted:
            # goods total, what the campaigns took off, then what the customer paid
            assert self.price is not None
            out.append(Block("pair", w["price"], yen(self.price)))
            out += self._campaign_blocks()
        if self.kind != "card_issue":
            out.append(Block("strong", w[f"amount/{self.variant or self.kind}"],
                             self.amount_text()))
        if self.rest:
            out.append(Block("strong", w["rest"], yen(self.rest)))
        if self.tendered is not None:
            out += [Block("pair", w["tendered"], yen(self.tendered)),
                    Block("strong", w["change"], yen(self.tendered - self.amount))]
        if self.paid_by and self.kind in ("payment", "charge"):
            out.append(Block("text", w["breakdown"]))
            out += [Block("item", pocket, yen(value)) for pocket, value in self.paid_by]
        if not discounted:
            out += self._campaign_blocks()
        out += [Block("pair", label, value) for label, value in self.details]
        if self.decision:
            # only a payment is approved; the rest are recorded, online or not
            label = w["decision"] if self.kind == "payment" else w["recorded"]
            out.append(Block("pair", label, w.get(self.decision, self.decision)))
        if self.balance_after is not None:
            out += [Block("rule"), Block("big", w["balance"], yen(self.balance_after))]
        out += [Block("rule"), Block("pair", w["tx"], self.short_tx), Block("qr", self.tx_id)]
        out.append(Block("note", w["staff"] if self.kind == "cash_move" else w["thanks"]))
        return out

    # --- renderers --------------------------------------------------------------------------

    def text_lines(self, width: int = TEXT_COLUMNS) -> list[str]:
        """The receipt as fixed-width text: no line is wider than `width` columns."""
        blocks = self.blocks()
        lines: list[str] = []
        for index, block in enumerate(blocks):
            near = blocks[max(0, index - 1) : index + 2]
            if block.style == "rule" and any(b.style == "big" for b in near):
                lines.append("=" * width)  # text has no large type: frame the balance
            else:
                lines += _text_block(block, width)
        return [line.rstrip() for line in lines]

    def to_pdf(self, path: Path | str) -> Path:
        """A one-page PDF as wide as an 80 mm roll, as long as the receipt."""
        return pdf_receipt(self, Path(path))

    def to_escpos(self, columns: int = ESCPOS_COLUMNS, cut: bool = True) -> bytes:
        return escpos_bytes(self, columns, cut)


def _text_block(block: Block, width: int) -> list[str]:
    if block.style in ("title", "heading", "note", "center"):
        return center(block.left, width)
    if block.style == "rule":
        return ["-" * width]
    if block.style == "text":
        return split_width(block.left, width)
    if block.style == "qr":
        return []  # the short id is printed above; the full one lives in the QR only
    return pad_pair(block.left, block.right, width, indent=2 if block.style == "item" else 0)


# --- building -------------------------------------------------------------------------------

def variant(outcome: Outcome) -> str:
    """The kind as people name it: a grant may be points, tickets or a gift code."""
    kinds = {entry.get("kind") for entry in outcome.campaigns}
    if outcome.kind == "charge" and "premium_voucher" in kinds:
        return "charge/voucher"
    if outcome.kind == "grant":
        body = outcome.record.get("body", {}) if outcome.record else {}
        if "ticket" in kinds:
            return "grant/ticket"
        if "gift_code" in kinds or "gift" in body:
            return "grant/gift"
    return outcome.kind


def _int(value: Any) -> int:
    return value if type(value) is int else 0


def campaign_lines(outcome: Outcome, words: dict[str, str], money=yen,
                   minus: str = "-") -> list[list[Part]]:
    """What each campaign did, one line per thing, each line one or more parts (the screen
    puts the later parts in brackets; the receipt prints each part as an item). `words` holds
    the "c/..." templates in the chosen language; `money` writes yen; `minus` marks a
    discount."""
    body = outcome.record.get("body", {}) if outcome.record else {}
    lines: list[list[Part]] = []
    for entry in outcome.campaigns:
        name = clean(entry.get("name") or entry.get("campaign", ""), MAX_CAMPAIGN_NAME_CHARS)
        kind = entry.get("kind")
        if entry.get("undo"):  # a void: what the sale's campaign did is taken back
            lines.append([(words["c/undone"].format(name=name), "")])
        elif kind == "threshold_coupon":
            lines.append([(name, minus + money(_int(entry.get("discount"))))])
        elif kind == "stamp_rally":
            line = [(words["c/stamps"].format(name=name, n=_int(entry.get("stamps"))), "")]
            if entry.get("diner"):  # another diner's own card (a restaurant's share rule)
                line.append((words["c/diner"], ""))
            if entry.get("discount"):
                line.append((words["c/shop_discount"], minus + money(_int(entry["discount"]))))
            lines.append(line)
            if entry.get("complete"):
                lines.append([(words["c/prize"], money(_int(entry["prize"])))]
                             if entry.get("prize") else [(words["c/prize_owed"], "")]
                             if entry.get("prize_owed") else [(words["c/complete"], "")])
        elif kind in ("cash_back", "point_grant"):
            lines.append([(name, words["c/points"].format(n=f"{_int(entry.get('points')):,}"))])
        elif kind == "premium_charge":
            lines.append([(words["c/bonus"].format(name=name),
                           "+" + money(_int(entry.get("bonus"))))])
        elif kind == "premium_voucher":
            lines.append([(words["c/voucher"].format(
                name=name, price=money(_int(entry.get("set"))),
                common=money(_int(outcome.paid_by.get("premium_common"))),
                exclusive=money(_int(outcome.paid_by.get("premium_exclusive")))), "")])
        elif kind == "ticket":
            if "rides_left" in entry:
                lines.append([(words["c/rides_left"].format(
                    name=name, n=f"{_int(entry['rides_left']):,}"), "")])
            else:
                lines.append([(words["c/rides"].format(
                    name=name, n=f"{_int(entry.get('rides')):,}"), "")])
        elif kind == "exchange":
            lines.append([(words["c/exchange"].format(
                name=name, points=f"{_int(body.get('points')):,}",
                value=money(_int(body.get("value", outcome.amount)))), "")])
        elif kind == "gift_code" and outcome.kind == "gift":
            lines.append([(words["c/gift"].format(name=name, value=money(_int(entry.get("value"))),
                                                  paid=money(outcome.amount)), "")])
            if _int(entry.get("unused")):
                lines.append([(words["c/gift_unused"], money(_int(entry["unused"])))])
        elif kind == "gift_code":
            lines.append([(words["c/gift_redeem"].format(
                name=name, value=money(_int(entry.get("value")))), "")])
        else:
            lines.append([(name, "")])  # a kind this version has no words for: its name
    return lines


def _when(outcome: Outcome, now: datetime | None) -> datetime:
    """The record's own time (the terminal clock, with its offset) when it has one."""
    at = outcome.record.get("at") if outcome.record else None
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at)
        except ValueError:
            pass  # a malformed time is still a receipt: fall back to `now` below
    return now or datetime.now().astimezone()


def _tail(text: str, keep: int) -> str:
    return "*" * max(0, min(MASK_STARS, len(text) - keep)) + text[-keep:]


def _details(outcome: Outcome, body: dict[str, Any], words: dict[str, str]) -> list[tuple]:
    out = []
    if outcome.kind in ("refund", "void") and body.get("of"):
        out.append((words["of"], "*" + str(body["of"])[-SHORT_TX_CHARS:]))
    if outcome.kind == "card_issue" and body.get("card"):
        out.append((words["card"], _tail(str(body["card"]), CARD_TAIL_DIGITS)))
    if outcome.wallet_id:
        wallet = _tail(outcome.wallet_id, WALLET_TAIL_CHARS)
        if outcome.kind == "card_issue" and body.get("new_wallet"):
            wallet = f"{wallet} ({words['new_wallet']})"
        out.append((words["wallet"], wallet))
    if outcome.kind == "cash_move" and body.get("reason"):
        out.append((words["reason"], clean(body["reason"], MAX_NOTE_CHARS)))
    return out


def build_receipt(outcome: Outcome, merchant: dict[str, Any], terminal_id: str,
                  lang: str = "ja", now: datetime | None = None, reprint: bool = False,
                  tendered: int | None = None) -> Receipt:
    """The receipt for a committed transaction, in Japanese ("ja") or English ("en");
    `reprint` marks it 再発行; `tendered` is the cash handed over for a top-up."""
    if tendered is not None and (type(tendered) is not int or tendered < outcome.amount):
        raise ReceiptError("cash tendered is whole yen, at least the amount")
    if lang not in LANGS:
        raise ReceiptError(f"no receipt text for language {lang!r}; use one of {LANGS}")
    if outcome.kind not in KINDS:
        raise ReceiptError(f"no receipt for a {outcome.kind!r} transaction")
    words = TEXT[lang]
    body = outcome.record.get("body", {}) if outcome.record else {}
    named = variant(outcome)
    title = words[named]
    if outcome.kind == "cash_move" and body.get("direction") in ("in", "out"):
        title = words[f"cash_move/{body['direction']}"]
    ordered = sorted(outcome.paid_by.items(), key=lambda kv: (
        POCKET_ORDER.index(kv[0]) if kv[0] in POCKET_ORDER else len(POCKET_ORDER), kv[0]))
    shop = clean(merchant.get("name") or merchant.get("merchant_id") or "", MAX_SHOP_CHARS)
    return Receipt(
        lang=lang, kind=outcome.kind, title=title, shop=shop, when=_when(outcome, now),
        terminal_id=clean(terminal_id, MAX_ID_CHARS), seq=outcome.seq,
        tx_id=clean(outcome.tx_id, MAX_ID_CHARS), amount=outcome.amount,
        decision=outcome.decision if outcome.decision in vocab.DECISIONS else "",
        paid_by=tuple((words.get(p, p), v) for p, v in ordered),
        balance_after=outcome.balance_after,
        details=tuple(_details(outcome, body, words)), variant=named,
        price=outcome.price if type(outcome.price) is int else None,
        rest=_int(outcome.rest),
        campaigns=tuple(tuple(line) for line in campaign_lines(outcome, words)),
        notes=tuple(clean(note_text(note, lang), MAX_CAMPAIGN_NOTE_CHARS)
                    for note in outcome.notes),
        reprint=reprint, tendered=tendered)


# --- ESC/POS ---------------------------------------------------------------------------------

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
INTL_JAPAN = ESC + b"R\x08"  # 0x5C prints as ¥: Shift_JIS puts the yen sign there
KANJI_SHIFT_JIS = FS + b"C\x01"  # Japanese models; others ignore it
KANJI_ON, KANJI_OFF = FS + b"&", FS + b"."
ALIGN_LEFT, ALIGN_CENTER = ESC + b"a\x00", ESC + b"a\x01"
SIZE_NORMAL, SIZE_TALL, SIZE_DOUBLE = GS + b"!\x00", GS + b"!\x01", GS + b"!\x11"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
QR_MODEL_2 = GS + b"(k\x04\x001A2\x00"
QR_ERROR_M = GS + b"(k\x03\x001E1"
QR_PRINT = GS + b"(k\x03\x001Q0"
QR_MODULE_DOTS = 6  # 0.75 mm modules at 203 dpi: a 26-character id is about 19 mm across
FEED_BEFORE_CUT = 2  # lines of margin under the last note before the cut
CUT_PARTIAL = GS + b"VB"  # feed to the cutter, then a partial cut (one point left joined)
KANJI_CODEC = "shift_jis"  # JIS X 0208: what every Japanese model has; vendor extras differ
UNPRINTABLE = "〓"  # geta mark: in JIS X 0208, two columns wide


def _encodable(text: str) -> bool:
    try:
        text.encode(KANJI_CODEC)
    except UnicodeEncodeError:
        return False
    return True


def fold_jis(text: str) -> str:
    """`text` within JIS X 0208: a character outside it becomes its NFKC form (①->1,
    ～->~), else itself without accents (é->e), else 〓 (zero-width ones are dropped). The
    PDF font and Japanese printers both draw exactly this repertoire, so both receipts say
    the same."""
    out = []
    for ch in text:
        if _encodable(ch):
            out.append(ch)
            continue
        if char_width(ch) == 0:
            continue  # a joiner or variation selector prints as nothing
        folded = unicodedata.normalize("NFKC", ch)
        if not _encodable(folded):
            folded = "".join(c for c in unicodedata.normalize("NFKD", ch)
                             if not unicodedata.combining(c))
        out.append(folded if folded and _encodable(folded) else UNPRINTABLE)
    return "".join(out)


def sjis(text: str) -> bytes:
    """`text` in Shift_JIS for Kanji mode; never fails (see `fold_jis`)."""
    return fold_jis(text).encode(KANJI_CODEC)


def qr_command(payload: str, module: int = QR_MODULE_DOTS) -> bytes:
    """GS ( k: model 2, module size, error level M, store the data, print it."""
    data = payload.encode("ascii", "replace")
    size = len(data) + 3
    assert size < 1 << 16, "QR payload too long for one GS ( k"
    return (QR_MODEL_2 + GS + b"(k\x03\x001C" + bytes([module]) + QR_ERROR_M
            + GS + b"(k" + bytes([size & 0xFF, size >> 8]) + b"1P0" + data + QR_PRINT)


def _escpos_lines(block: Block, columns: int) -> Iterator[bytes]:
    if block.style == "title":
        # double width halves the columns; the shop name is the first thing people read
        yield ALIGN_CENTER + SIZE_DOUBLE + BOLD_ON
        for line in split_width(block.left, columns // 2):
            yield sjis(line) + b"\n"
        yield BOLD_OFF + SIZE_NORMAL + ALIGN_LEFT
    elif block.style == "heading":
        yield ALIGN_CENTER + SIZE_TALL + b"".join(sjis(x) + b"\n" for x in
                                                  split_width(block.left, columns))
        yield SIZE_NORMAL + ALIGN_LEFT
    elif block.style == "strong":
        yield BOLD_ON + b"".join(sjis(x) + b"\n" for x in
                                 pad_pair(block.left, block.right, columns)) + BOLD_OFF
    elif block.style == "big":
        yield SIZE_DOUBLE + BOLD_ON + b"".join(sjis(x) + b"\n" for x in
                                               pad_pair(block.left, block.right, columns // 2))
        yield BOLD_OFF + SIZE_NORMAL
    elif block.style == "qr":
        yield ALIGN_CENTER + qr_command(block.left) + b"\n" + ALIGN_LEFT
    else:
        yield b"".join(sjis(x.rstrip()) + b"\n" for x in _text_block(block, columns))


def folded_blocks(receipt: Receipt) -> list[Block]:
    """The receipt's blocks as they will print: folded to JIS X 0208 before lines are laid
    out, so every width is the printed character's (a QR's payload is left as it is)."""
    return [block if block.style == "qr" else
            Block(block.style, fold_jis(block.left), fold_jis(block.right))
            for block in receipt.blocks()]


def escpos_bytes(receipt: Receipt, columns: int = ESCPOS_COLUMNS, cut: bool = True) -> bytes:
    """The receipt as ESC/POS commands, Japanese in Kanji mode (Shift_JIS)."""
    out = bytearray(INIT + INTL_JAPAN + KANJI_SHIFT_JIS + KANJI_ON)
    for block in folded_blocks(receipt):
        for chunk in _escpos_lines(block, columns):
            out += chunk
    out += KANJI_OFF + ESC + b"d" + bytes([FEED_BEFORE_CUT])
    if cut:
        out += CUT_PARTIAL + b"\x00"
    return bytes(out)


# --- PDF -------------------------------------------------------------------------------------

PDF_FONT = "HeiseiKakuGo-W5"  # a CID font every PDF reader has: nothing to embed
MM = 72 / 25.4  # points per millimetre
PDF_PAGE_W_MM = 80  # the common thermal roll
PDF_MARGIN_MM = 5
PDF_QR_MM = 28  # large enough for a phone camera at arm's length
PDF_LEADING = 1.4  # line height as a multiple of the type size
PDF_BOLD_STROKE = 0.35  # points of outline that make the CID font look bold
PDF_SIZES = {"title": 15, "heading": 12, "text": 9, "pair": 9, "item": 8.5, "strong": 11,
             "big": 20, "note": 8, "center": 9}
PDF_BIG_LABEL_SIZE = 11
PDF_RULE_GAP = 5  # points above and below a rule


@dataclass(frozen=True)
class _Op:
    what: str  # "text", "rule", "qr"
    y: float  # distance from the top of the page to the baseline (or the top, for a QR)
    text: str = ""
    size: float = 0
    align: str = "left"  # "left", "right", "center"
    bold: bool = False
    x: float = 0  # left indent in points


def _pdf_split(text: str, size: float, room: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pieces, current = [], ""
    for ch in text:
        if current and stringWidth(current + ch, PDF_FONT, size) > room:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + [current] if current or not pieces else pieces


def _pdf_layout(receipt: Receipt, room: float) -> tuple[list[_Op], float]:
    """Drawing operations from the top of the page down, and the page height used."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    ops: list[_Op] = []
    y = PDF_MARGIN_MM * MM
    # the CID font's UCS-2 encoding garbles emoji; draw what the printer would
    for block in folded_blocks(receipt):
        size = PDF_SIZES.get(block.style, PDF_SIZES["text"])
        step = size * PDF_LEADING
        if block.style == "rule":
            y += PDF_RULE_GAP
            ops.append(_Op("rule", y))
            y += PDF_RULE_GAP
        elif block.style == "qr":
            y += PDF_RULE_GAP
            ops.append(_Op("qr", y, block.left))
            y += PDF_QR_MM * MM + PDF_RULE_GAP
        elif block.style in ("title", "heading", "note", "center", "text"):
            align = "left" if block.style == "text" else "center"
            for piece in _pdf_split(block.left, size, room):
                y += step
                ops.append(_Op("text", y, piece, size, align,
                               block.style in ("title", "heading")))
        else:
            indent = 3 * MM if block.style == "item" else 0
            bold = block.style in ("strong", "big")
            label_size = PDF_BIG_LABEL_SIZE if block.style == "big" else size
            right_w = stringWidth(block.right, PDF_FONT, size)
            lefts = _pdf_split(block.left, label_size, room - indent)
            for index, piece in enumerate(lefts):
                # the last label line shares its baseline with the (maybe larger) value
                y += step if index == len(lefts) - 1 else label_size * PDF_LEADING
                ops.append(_Op("text", y, piece, label_size, "left", bold, indent))
            if stringWidth(lefts[-1], PDF_FONT, label_size) + indent + right_w + size > room:
                y += step  # no room beside the label: the value goes on the next line
            ops.append(_Op("text", y, block.right, size, "right", bold))
    return ops, y + PDF_MARGIN_MM * MM


def pdf_receipt(receipt: Receipt, path: Path) -> Path:
    """Draw `receipt` into a one-page PDF at `path`."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import qr
    from reportlab.graphics.shapes import Drawing
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    width = PDF_PAGE_W_MM * MM
    left, room = PDF_MARGIN_MM * MM, width - 2 * PDF_MARGIN_MM * MM
    ops, height = _pdf_layout(receipt, room)
    page = canvas.Canvas(str(path), pagesize=(width, height))
    page.setTitle(f"{receipt.shop} {receipt.title} {receipt.words['seq']}{receipt.seq}")
    page.setAuthor(receipt.shop)
    page.setSubject(receipt.tx_id)
    page.setCreator("Machi POS")
    page.setLineWidth(PDF_BOLD_STROKE)
    for op in ops:
        top = height - op.y
        if op.what == "rule":
            page.setDash(2, 2)
            page.line(left, top, left + room, top)
            page.setDash()
        elif op.what == "qr":
            code = qr.QrCodeWidget(op.text, barLevel="M")
            x0, y0, x1, y1 = code.getBounds()
            side = PDF_QR_MM * MM
            drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0,
                                                     side / (y1 - y0), 0, 0])
            drawing.add(code)
            renderPDF.draw(drawing, page, left + (room - side) / 2, top - side)
        else:
            text = page.beginText()
            text.setFont(PDF_FONT, op.size)
            text.setTextRenderMode(2 if op.bold else 0)  # fill + stroke reads as bold
            span = pdfmetrics.stringWidth(op.text, PDF_FONT, op.size)
            x = {"left": left + op.x, "right": left + room - span,
                 "center": left + (room - span) / 2}[op.align]
            text.setTextOrigin(x, top)
            text.textOut(op.text)
            page.drawText(text)
    page.showPage()
    page.save()
    return path
