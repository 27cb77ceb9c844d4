"""The give-back rule both sides run (sync.givebacks): granted value a void takes back comes
from what its lot still holds, then out of the money given back, then as debt."""

from __future__ import annotations

from sync import givebacks

LINES = [{"lot": "L-cash", "amount": 1_000}, {"lot": "L-points", "amount": 200}]


def test_unspent_grants_are_taken_from_their_lots_and_the_refund_is_whole():
    settled = givebacks.settle(LINES, [{"lot": "G", "amount": 12}], {"G": 30})
    assert settled.credited == [("L-cash", 1_000), ("L-points", 200)]
    assert settled.taken == [("G", 12)]
    assert (settled.short, settled.netted, settled.debt) == ([], 0, 0)


def test_spent_grants_are_kept_from_the_refund_last_line_first():
    settled = givebacks.settle(LINES, [{"lot": "G", "amount": 250}, {"lot": "H", "amount": 5}],
                               {"G": 10})  # H is not held at all: spent out
    assert settled.taken == [("G", 10)]
    assert settled.short == [("G", 240), ("H", 5)] and settled.short_total == 245
    assert settled.credited == [("L-cash", 955), ("L-points", 0)]
    assert (settled.netted, settled.debt) == (245, 0)


def test_what_the_refund_cannot_cover_is_debt():
    settled = givebacks.settle([{"lot": "L-cash", "amount": 600}],
                               [{"lot": "P", "amount": 1_000}], {})
    assert settled.credited == [("L-cash", 0)] and settled.taken == []
    assert (settled.short_total, settled.netted, settled.debt) == (1_000, 600, 400)


def test_a_refund_with_nothing_to_take_back_is_given_back_as_it_is():
    settled = givebacks.settle(LINES, [], {})
    assert settled == givebacks.Settled([("L-cash", 1_000), ("L-points", 200)], [])
