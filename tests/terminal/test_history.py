"""Today's sales list and reprints, from the real journal of a counter."""

from __future__ import annotations

import pytest

from terminal import history, tally
from tests.terminal.test_tally import W as SHOP_CARD
from tests.terminal.test_tally import counter  # noqa: F401 - the fixture


def test_the_days_sales_say_what_became_of_them(counter):  # noqa: F811
    """¥1,500 voided, ¥6,000 refunded ¥500 (part), ¥800 refunded whole, a ¥3,000 top-up."""
    first = counter.pay(SHOP_CARD, 1_500)
    second = counter.pay(SHOP_CARD, 6_000)
    third = counter.pay(SHOP_CARD, 800)
    void = counter.refund(first.tx_id, void=True)
    counter.refund(second.tx_id, 500)
    counter.refund(third.tx_id)
    counter.charge(SHOP_CARD, 3_000)
    sales = {s.seq: s for s in history.day_sales(counter.journal)}
    assert (sales[first.seq].status, sales[first.seq].refunded) == ("voided", 1_500)
    assert (sales[second.seq].status, sales[second.seq].refunded) == ("part_refunded", 500)
    assert sales[third.seq].status == "refunded"
    assert [s.kind for s in history.day_sales(counter.journal)][0] == "charge"  # newest first
    everything = history.day_sales(counter.journal)
    # the void has its own line (and receipt), newest first
    assert [s.seq for s in history.find(everything, "¥1,500")] == [void.seq, first.seq]
    assert sales[void.seq].kind == "void" and sales[void.seq].status == ""
    assert [s.seq for s in history.find(everything, "6000円")] == [second.seq]
    assert {s.seq for s in history.find(everything, "9")} == {s.seq for s in everything}
    assert history.find(everything, "10:") == []  # StepClock: all within 09:00
    assert [s.seq for s in history.find(everything, f"#{third.seq}")] == [third.seq]
    assert history.find(everything, "pizza") == []


def test_reprint_the_last_or_any_receipt_marked(counter):  # noqa: F811
    sale = counter.pay(SHOP_CARD, 1_500)
    counter.charge(SHOP_CARD, 3_000)
    merchant = counter.state.merchant()
    last = history.reprint(counter.journal, merchant)
    assert last.kind == "charge" and last.reprint
    text = "\n".join(last.text_lines())
    assert "** 再発行 **" in text and "¥3,000" in text
    again = history.reprint(counter.journal, merchant, seq=sale.seq)
    lines = "\n".join(again.text_lines())
    assert "再発行" in lines and "¥1,500" in lines and again.tx_id == sale.tx_id
    assert again.paid_by == (("プレミアム商品券(中小店専用)", 1_500),)
    tally.z_close(counter.journal)
    with pytest.raises(history.HistoryError, match="day_close record"):
        history.reprint(counter.journal, merchant, seq=counter.journal.last_seq)
    with pytest.raises(history.HistoryError, match="no receipt no. 999"):
        history.reprint(counter.journal, merchant, seq=999)
    # after the Z the list is the day just closed, until the next day's first record
    assert {s.seq for s in history.day_sales(counter.journal)} == {sale.seq, sale.seq + 1}
