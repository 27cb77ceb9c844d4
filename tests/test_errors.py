"""One exception root a package (issue 18 point 8): every exception class that sync,
terminal, ledger and cardreader define derives from its package's root and says its own
stable `code`; every root carries `code`, `message` and `details`."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import cardreader
import ledger
import sync
import terminal
from cardreader.errors import CardReaderError
from ledger.errors import LedgerPackageError
from sync.errors import SyncPackageError
from terminal.errors import TerminalError

ROOTS: dict[str, type[Exception]] = {
    "sync": SyncPackageError,
    "terminal": TerminalError,
    "ledger": LedgerPackageError,
    "cardreader": CardReaderError,
}
PACKAGES = {"sync": sync, "terminal": terminal, "ledger": ledger, "cardreader": cardreader}
CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
# Classes allowed outside their package's root, each with the change that would root it:
# none are left, and a new one needs a reason here.
NOT_YET_ROOTED: dict[str, str] = {}


def exception_classes(package: str) -> list[type[BaseException]]:
    found = []
    root = PACKAGES[package]
    names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__,
                                                                     package + ".")]
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and \
                    value.__module__ == name:
                found.append(value)
    return found


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_exception_derives_from_the_package_root(package):
    classes = exception_classes(package)
    assert ROOTS[package] in classes
    bad = []
    for cls in classes:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in NOT_YET_ROOTED:
            continue
        if not issubclass(cls, ROOTS[package]):
            bad.append(f"{name} does not derive from {ROOTS[package].__name__}")
        code = vars(cls).get("code")
        if not isinstance(code, str) or not CODE_RE.fullmatch(code):
            bad.append(f"{name} does not say its own code (a class attribute)")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_codes_are_unique_within_a_package(package):
    seen: dict[str, str] = {}
    clashes = []
    for cls in exception_classes(package):
        code = vars(cls).get("code")
        if code is None:
            continue
        name = f"{cls.__module__}.{cls.__qualname__}"
        if code in seen:
            clashes.append(f"{name} and {seen[code]} both say {code!r}")
        seen[code] = name
    assert not clashes, "\n".join(clashes)


@pytest.mark.parametrize("root", ROOTS.values(), ids=ROOTS.keys())
def test_a_root_carries_code_message_details(root):
    error = root("the message", "the_code", {"yen": 150})
    assert (error.code, error.message, error.details) == ("the_code", "the message",
                                                          {"yen": 150})
    assert str(error) == "the message"
    plain = root("only a message")
    assert plain.code == vars(root)["code"] and plain.details == {}


def test_subclasses_keep_the_bases_callers_catch():
    from sync import bodies, keys, record, tokens
    from terminal.policy import Refused
    from terminal.register import BadInput

    for cls in (bodies.BodyError, record.RecordError, keys.SignatureError, tokens.TokenError):
        assert issubclass(cls, ValueError) and issubclass(cls, SyncPackageError)
    assert issubclass(BadInput, ValueError) and issubclass(BadInput, TerminalError)
    bad = BadInput("the amount is a whole number of yen", "amount")
    assert (bad.code, bad.field, bad.details) == ("bad_input", "amount", {"field": "amount"})
    refused = Refused("bad_amount", max=1_000_000)
    assert isinstance(refused, TerminalError)
    assert (refused.code, refused.details) == ("bad_amount", {"max": 1_000_000})
    assert refused.message == "The amount must be a whole number of yen from 1 to 1,000,000."


def test_a_sync_error_keeps_its_own_code_and_the_class_says_the_default():
    """SyncError's code is the precise reason of each failure (the status bar's word is
    made from it, sync.client.failure_code); the class's is what a bare one means."""
    from sync.client import RefusedError, SyncError, failure_code

    plain = SyncError("the ledger cannot be reached")
    assert (plain.code, plain.status, failure_code(plain)) == ("unreachable", None, "offline")
    timed_out = SyncError("the ledger did not answer", "timeout")
    assert (timed_out.code, failure_code(timed_out)) == ("timeout", "timeout")
    assert SyncError.code == "unreachable"  # one instance's code is not the class's
    refused = RefusedError("the ledger refused: not enrolled", "unenrolled", 401)
    assert (refused.code, refused.status, failure_code(refused)) == ("unenrolled", 401, "auth")
    assert RefusedError("the ledger refused").code == "refused"
    assert isinstance(refused, SyncPackageError) and refused.message.startswith("the ledger")
