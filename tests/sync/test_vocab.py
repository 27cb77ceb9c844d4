"""The words both sides compare are spelled once, in sync.vocab (issue 18 point 8): every
set there is its enum's values, the sets other modules keep are the same objects, and no
module outside sync.vocab spells a whole set again as a literal."""

from __future__ import annotations

import ast
from pathlib import Path

from ledger import liability, service
from sync import bodies, campaigns, record, tally, vocab
from terminal import counter, effects, policy, receipt

ROOT = Path(__file__).resolve().parents[2]
SETS = {
    "record types": vocab.RECORD_TYPES, "credential kinds": vocab.CREDENTIAL_KINDS,
    "wallet kinds": vocab.WALLET_KINDS, "merchant classes": vocab.MERCHANT_CLASSES,
    "pockets": vocab.POCKETS, "yen pockets": vocab.YEN_POCKETS,
    "campaign pockets": vocab.CAMPAIGN_POCKETS, "voucher pockets": vocab.VOUCHER_POCKETS,
    "campaign kinds": vocab.CAMPAIGN_KINDS, "decisions": vocab.DECISIONS,
}
# Whole sets still spelled in files other parts own this session; the merger replaces each
# with the named constant, then this is empty.
NOT_YET_SHARED: dict[tuple[str, str], str] = {}


def test_the_sets_are_the_enums_values_as_plain_text():
    assert vocab.RECORD_TYPES == {t.value for t in vocab.RecordType}
    assert vocab.CREDENTIAL_KINDS == tuple(k.value for k in vocab.CredentialKind)
    assert vocab.MERCHANT_CLASSES == ("small", "large")
    assert vocab.YEN_POCKETS == ("charged", "premium_common", "premium_exclusive", "points")
    for name, words in SETS.items():
        assert all(type(word) is str for word in words), name  # bodies hold plain text
    for subset in (vocab.MONEY_RECORD_TYPES, vocab.CAMPAIGN_ENTRY_RECORD_TYPES,
                   vocab.RECEIPT_RECORD_TYPES):
        assert set(subset) <= vocab.RECORD_TYPES and all(type(t) is str for t in subset)
    assert set(vocab.WALLET_KIND_OF_CREDENTIAL.values()) == set(vocab.WALLET_KINDS)
    assert vocab.CredentialKind.NFC == "nfc" and vocab.Pocket("points") is vocab.Pocket.POINTS


def test_other_modules_use_the_shared_sets():
    assert record.RECORD_TYPES is vocab.RECORD_TYPES
    assert bodies.POCKETS is vocab.POCKETS and bodies.CREDENTIAL_KINDS is vocab.CREDENTIAL_KINDS
    assert bodies.MERCHANT_CLASSES is campaigns.MERCHANT_CLASSES is service.MERCHANT_CLASSES
    assert campaigns.KINDS is vocab.CAMPAIGN_KINDS is service.CAMPAIGN_KINDS
    assert campaigns.CHANNELS is vocab.WALLET_KINDS is service.WALLET_KINDS
    assert tally.MONEY_TYPES is vocab.MONEY_RECORD_TYPES
    assert receipt.KINDS is vocab.RECEIPT_RECORD_TYPES
    assert receipt.POCKET_ORDER is vocab.YEN_POCKETS is liability.POCKETS
    assert policy.VOUCHER_POCKETS is vocab.VOUCHER_POCKETS is liability.VOUCHER_POCKETS
    assert effects.CAMPAIGN_RECORDS is vocab.CAMPAIGN_ENTRY_RECORD_TYPES
    assert counter.CREDENTIAL_KINDS is vocab.COUNTER_CREDENTIAL_KINDS


def whole_sets_spelled(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            found += [f"{name}@{node.lineno}" for name, shared in SETS.items()
                      if words == set(shared)]
    return found


def test_no_module_spells_a_whole_set_again():
    bad = []
    for package in ("sync", "terminal", "ledger", "cardreader"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where == "sync/vocab.py":
                continue
            for hit in whole_sets_spelled(path):
                if (where, hit.split("@")[0]) not in NOT_YET_SHARED:
                    bad.append(f"{where}: {hit}")
    assert not bad, "spelled again instead of sync.vocab:\n" + "\n".join(bad)


def test_the_scan_sees_a_set_spelled_again(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text('KINDS = ("card", "app", "nfc", "wallet")\nX = ("small", "large")\n'
                      'Y = ("small", "medium")\n')
    assert whole_sets_spelled(sample) == ["credential kinds@1", "merchant classes@2"]
