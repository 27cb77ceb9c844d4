"""The terminal's side of the sync protocol (DESIGN §7): enroll, push, pull, look up.

`LedgerClient` makes single signed requests with explicit timeouts and checks every answer
before believing it: every answer must be signed by a ledger key this terminal pinned and
bound to the very request it answers (sync.auth.verify_answer); a reply cut short, a reply
meant for another request, an unsigned or forged one, or a head that is not signed by the
ledger is an error, and nothing is kept from it. A new ledger key is pinned only from a
rotation statement signed by a key already pinned (sync.trust). The ledger may be `https://`:
its certificate is checked against the system's CAs, or against the CA file given at
enrollment. `SyncWorker` runs the
client on its own thread: woken by each new record (`notify`) and by a timer, it pushes the
journal's unacknowledged records in batches and pulls snapshot deltas, backing off
exponentially with jitter while the ledger is unreachable. Everything it needs to resume
after a crash is on disk (the outbox, the kept heads, the snapshot cursor).

The worker's `SyncStatus` tells the truth within STATUS_LATENCY_S of a change: a thread of
its own probes the ledger every PROBE_INTERVAL_S (an unsigned GET /healthz, PROBE_TIMEOUT_S;
also while a round waits on the ledger),
the counter tells it of every new record (`notify`, with the unsent count), and every
change of the status is handed to `on_status` at once. No exception ends the worker: a
round that fails in any way is logged, said in the status (`failure_code`), and tried again
after a backoff.

This module imports nothing of `terminal`: it works with any `Outbox` and `SnapshotSink`.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import quote

import orjson
import requests
import urllib3

from sync import auth, keys, record, trust, wire
from sync.errors import SyncPackageError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0
# The status tells a change (the ledger gone or back, a new unsent record, a failure)
# within this long: the probe's interval plus its timeout stay below it.
STATUS_LATENCY_S = 2.0
# The worker's prober asks the ledger's /healthz this often, and gives it this long (connect
# and read): a probe is one small unsigned GET on a kept-alive connection of its own.
PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_S = 0.75
# The online check during a sale: the counter never waits longer than this for the ledger.
ONLINE_CHECK_TIMEOUT_S = 0.5
PUSH_BATCH = 1_000
# Push batches on the wire at once: the ledger checks the next batch while it still writes
# the one before (two: one being written, one being checked).
PUSH_IN_FLIGHT = 2
# How a push body is sent: the records' canonical bytes, one per line.
JOURNAL_LINES = "application/x-ndjson"
SYNC_INTERVAL_S = 15.0
PULL_INTERVAL_S = 60.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 120.0
# Snapshot pages pulled in one go before the worker yields to pushing again.
MAX_PAGES_PER_PULL = 1_000
STOP_TIMEOUT_S = 10.0
# The longest failure message kept in the status.
MAX_ERROR_CHARS = 300
# The largest answer read: a snapshot page of SNAPSHOT_PAGE_MAX wallets is a few MB; an
# answer larger than this is refused before it is held whole, let alone parsed.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
ANSWER_READ_BYTES = 64 * 1024


class SyncError(SyncPackageError):
    """The ledger could not be reached, or its answer cannot be trusted. `code` is the
    precise reason (the ledger's own error code for a refusal; "unreachable", the class's,
    when none is given); `status` the HTTP status of the answer, when there was one;
    `failure_code(exc)` is the status bar's word."""

    code = "unreachable"

    def __init__(self, message: str, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, code)
        self.status = status


class RefusedError(SyncError):
    """The ledger answered and said no (4xx), or refused records; `code` is the ledger's
    own reason when it gave one."""

    code = "refused"


class Outbox(Protocol):
    terminal_id: str

    def pending(self, limit: int, after: int = 0) -> list[tuple[int, bytes]]:
        """Up to `limit` unacknowledged records with a seq past `after`, oldest first."""

    def keep_head(self, head: dict[str, Any]) -> None: ...

    def pending_count(self) -> int: ...

    def acked_seq(self) -> int: ...


class SnapshotSink(Protocol):
    def cursor(self) -> str: ...

    def apply_snapshot(self, page: dict[str, Any], basis_seq: int) -> None: ...


# Where `requests` finds the CAs to check an https ledger's certificate with, when the
# terminal was given no CA file: the system's bundle (what the OS trusts), else certifi's.
def system_ca_bundle() -> str | bool:
    cafile = ssl.get_default_verify_paths().cafile
    return cafile if cafile else True


def tls_verify(ca_file: str | None) -> str | bool:
    return ca_file or system_ca_bundle()


def _fingerprint_text(text: str) -> str:
    return "".join(text.split()).lower()


def enroll(base_url: str, code: str, public_key: keys.PublicKey,
           timeout: float = READ_TIMEOUT_S, ca_file: str | None = None,
           fingerprint: str | None = None) -> dict[str, Any]:
    """Bind this terminal's key with a one-time code; returns terminal id, merchant, keys.

    The answer must be signed, over this request's nonce, by one of the keys it lists: those
    keys are then pinned (trust on first use). `fingerprint`, when the installer has it from
    the ledger's operator, must be the signing key's (`keys.fingerprint`); the answer says
    the fingerprint (`ledger_fingerprint`) so that it can be compared afterwards too."""
    body = orjson.dumps({"code": code, "public_key": public_key.hex})
    stamp, nonce = auth.now_ms(), auth.new_nonce()
    digest = auth.request_digest(auth.request_message("", "POST", "/v1/enroll", stamp, body,
                                                      nonce))
    try:
        reply = requests.post(base_url.rstrip("/") + "/v1/enroll", timeout=(CONNECT_TIMEOUT_S,
                              timeout), data=body, verify=tls_verify(ca_file),
                              headers={"content-type": "application/json",
                                       auth.HEADER_TIME: str(stamp), auth.HEADER_NONCE: nonce})
    except requests.exceptions.SSLError as exc:
        raise SyncError(f"the ledger at {base_url} has a certificate this terminal does not "
                        f"trust: {exc}", "tls") from exc
    except requests.RequestException as exc:
        raise SyncError(f"the ledger at {base_url} cannot be reached: {exc}") from exc
    try:
        payload = orjson.loads(reply.content)
        listed = {item["key_id"]: keys.load_public_key_hex(item["public_key"])
                  for item in payload.get("ledger_keys") or []} if reply.status_code == 200 \
            and isinstance(payload, dict) else {}
    except (orjson.JSONDecodeError, keys.KeyFormatError, KeyError, TypeError) as exc:
        raise SyncError("the enrollment answer lists malformed ledger keys", "bad_answer") \
            from exc
    if 200 <= reply.status_code < 300:
        try:
            auth.verify_answer(reply.headers, "", digest, reply.status_code, reply.content,
                               listed)
        except auth.AnswerError as exc:
            raise SyncError(f"the enrollment answer cannot be trusted: {exc.message}",
                            exc.code) from exc
    answer = _decode(reply)
    try:
        wire.check_enroll_answer(answer)
    except wire.WireError as exc:
        raise SyncError(exc.message, wire.BAD_ANSWER) from exc
    signer = listed[reply.headers[auth.HEADER_ANSWER_KEY]]
    answer["ledger_fingerprint"] = keys.fingerprint(signer)
    if fingerprint and _fingerprint_text(fingerprint) != \
            _fingerprint_text(answer["ledger_fingerprint"]):
        raise SyncError(f"the ledger's key is {answer['ledger_fingerprint']}, not the "
                        f"fingerprint given ({fingerprint}): not the ledger you meant, or a "
                        "man in the middle", "fingerprint_mismatch")
    return answer


def _decode(reply: requests.Response) -> dict[str, Any]:
    return _decoded(reply.status_code, reply.content)


def _decoded(status: int, content: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise SyncError(f"the ledger's answer is not JSON (HTTP {status}; cut "
                        "short?)", "bad_answer") from exc
    if status >= 500:
        raise SyncError(f"the ledger failed (HTTP {status})", "server_error", status)
    if not isinstance(payload, dict):
        raise SyncError("the ledger's answer is not an object", "bad_answer")
    if status >= 400:
        raise RefusedError(f"the ledger refused: {payload.get('message', status)}",
                           str(payload.get("error", "refused")), status)
    if status != 200:
        raise SyncError(f"the ledger answered HTTP {status}, not 200", "bad_answer")
    return payload


def _read_answer(reply: requests.Response, deadline: float) -> bytes:
    """The whole body of a streamed answer, by `deadline` (time.monotonic()) and within
    MAX_ANSWER_BYTES: a middle that trickles bytes or sends without end is cut off. The
    ledger never compresses; a compressed answer is refused rather than unpacked blind."""
    encoding = reply.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise SyncError(f"the ledger's answer is compressed ({encoding[:20]})", "bad_answer")
    declared = reply.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise SyncError("the ledger's answer is too large", "bad_answer")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise SyncError("the ledger's answer did not arrive in time", "timeout")
        chunk = reply.raw.read1(ANSWER_READ_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise SyncError("the ledger's answer is too large", "bad_answer")
        chunks.append(chunk)


# Called with each ledger key learnt from a rotation statement, so that it is kept.
NewKeyCallback = Callable[[keys.PublicKey, dict[str, Any]], None]


class LedgerClient:
    """Signed requests to one ledger for one terminal."""

    def __init__(self, base_url: str, terminal_id: str, key: keys.PrivateKey,
                 ledger_keys: dict[str, keys.PublicKey], ca_file: str | None = None,
                 on_new_key: NewKeyCallback | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self._key = key
        self.ledger_keys = ledger_keys  # the pinned keys: only these sign believable answers
        self.ca_file = ca_file
        self.on_new_key = on_new_key
        self.last_answer_ms: int | None = None  # the ledger's time, from its last answer
        self._session = self._new_session()
        self._probe_session: requests.Session | None = None  # probes' own connection

    def fork(self) -> LedgerClient:
        """Another client (of the same kind) for the same terminal and ledger, on a
        connection of its own."""
        other = type(self)(self.base_url, self.terminal_id, self._key, self.ledger_keys)
        other.ca_file, other.on_new_key = self.ca_file, self.on_new_key
        other._reset()
        return other

    def close(self) -> None:
        self._session.close()
        if self._probe_session is not None:
            self._probe_session.close()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.verify = tls_verify(self.ca_file)
        return session

    def _request(self, method: str, path: str, body: bytes = b"",
                 timeout: float = READ_TIMEOUT_S,
                 content_type: str = "application/json") -> dict[str, Any]:
        signed = auth.signed_request(self._key, self.terminal_id, method, path, body)
        headers = {**signed.headers, "accept-encoding": "identity"}
        if body:
            headers["content-type"] = content_type
        deadline = time.monotonic() + timeout  # for the whole exchange, not each read
        try:
            # `verify` given per request: requests lets REQUESTS_CA_BUNDLE override a
            # session's own setting, and the CA file given at enrollment must win.
            with self._session.request(method, self.base_url + path, data=body or None,
                                       headers=headers, verify=self._session.verify,
                                       stream=True,
                                       timeout=(min(CONNECT_TIMEOUT_S, timeout), timeout)
                                       ) as reply:
                content = _read_answer(reply, deadline)
            self._believe(reply, content, signed.digest)
            return _decoded(reply.status_code, content)
        except requests.exceptions.SSLError as exc:
            self._reset()
            raise SyncError("the ledger's TLS certificate is not trusted (or the link was "
                            "tampered with)", "tls") from exc
        except (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError,
                TimeoutError) as exc:
            self._reset()
            raise SyncError(f"the ledger did not answer {method} {path.split('?')[0]} within "
                            f"{timeout:g} s", "timeout") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                ValueError) as exc:
            # urllib3's own errors (and OSError / ValueError) come from a stream read by
            # hand (_read_answer) that was cut or garbled mid-read
            self._reset()
            raise SyncError(f"the ledger cannot be reached: {exc.__class__.__name__}") from exc
        except SyncError:
            self._reset()  # a connection that carried a bad answer is not used again
            raise

    def _believe(self, reply: requests.Response, content: bytes, digest: str) -> None:
        """Raise SyncError unless the answer is the ledger's, to this request; learn a new
        ledger key on the way only from rotation statements signed by a pinned key."""
        headers = reply.headers
        try:
            signer = headers.get(auth.HEADER_ANSWER_KEY) or ""
            pinned: dict[str, keys.PublicKey] = self.ledger_keys
            learnt: list[tuple[keys.PublicKey, dict[str, Any]]] = []
            if signer and signer not in pinned:
                learnt = trust.learn(auth.answer_rotations(headers), pinned)
                pinned = {**pinned, **{new.key_id: new for new, _ in learnt}}
            self.last_answer_ms = auth.verify_answer(
                headers, self.terminal_id, digest, reply.status_code, content, pinned)
        except auth.AnswerError as exc:
            log.warning("sync: refused an answer to %s %s: %s", reply.request.method,
                        reply.request.path_url, exc.message)
            raise SyncError(exc.message, exc.code) from exc
        except Exception as exc:  # noqa: BLE001 - whatever a forged header breaks is a refusal
            log.warning("sync: refused a malformed answer to %s %s: %r", reply.request.method,
                        reply.request.path_url, exc)
            raise SyncError("the ledger's answer is malformed", "bad_answer") from exc
        for new, statement in learnt:
            log.warning("sync: pinned ledger key %s (rotated from %s)", new.key_id,
                        statement["by"])
            self.ledger_keys[new.key_id] = new
            if self.on_new_key is not None:
                self.on_new_key(new, statement)

    def _reset(self) -> None:
        self._session.close()
        self._session = self._new_session()

    def _untrusted(self, message: str, code: str = "bad_answer") -> SyncError:
        """An answer that fails a check: the connection it came on may be out of step (a
        duplicated or stale answer waiting in it), so it is never used again."""
        self._reset()
        return SyncError(message, code)

    def push(self, records: list[tuple[int, bytes]]) -> dict[str, Any]:
        """Send records (seq, canonical bytes); returns the checked answer. The body is
        the records' bytes one per line (canonical bytes hold no newline), which the ledger
        takes as they are instead of parsing and encoding them again."""
        body = b"\n".join(data for _, data in records)
        answer = self._request("POST", "/v1/journal", body, content_type=JOURNAL_LINES)
        try:
            wire.check_push_answer(answer, len(records))
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        if answer["terminal_id"] != self.terminal_id:
            raise self._untrusted("the ledger's answer does not match the records sent")
        if answer.get("head") is not None:
            try:
                record.verify_head(answer["head"], self.ledger_keys)
            except record.RecordError as exc:
                raise self._untrusted(f"the ledger's head does not verify: {exc}",
                                      "bad_head") from exc
            if answer["head"]["terminal_id"] != self.terminal_id:
                raise self._untrusted("the ledger's head names another terminal", "bad_head")
        return answer

    def snapshot(self, cursor: str) -> dict[str, Any]:
        """One snapshot page after `cursor`, every row checked (sync.wire.SnapshotPage): a
        page with one malformed row is refused whole (SyncError "bad_answer", the row and
        field named), and nothing of it is applied.

        This is the terminal's one check of a page: terminal.state applies what it is given
        (the ledger checks its own pages' other fields as it sends them, not their rows).
        Measured on this project's build machine (one core, 5 pages): a page of
        ledger.service.SNAPSHOT_PAGE_MAX = 5,000 wallets of 1-3 lots and ~2,000 cards, built
        as bench/sync.py builds them, is checked in 14-17 ms (a stored PIN on every card or
        none); terminal.state applies it in 75-170 ms."""
        path = "/v1/snapshot" + (f"?cursor={quote(cursor, safe='')}" if cursor else "")
        page = self._request("GET", path)
        try:
            wire.check_snapshot_page(page)
        except wire.WireError as exc:
            log.warning("sync: refused a snapshot page: %s", exc.message)
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        return page

    def probe(self, timeout: float = PROBE_TIMEOUT_S) -> None:
        """Whether the ledger answers at all: GET /healthz within `timeout` (connect and
        read), on a connection of its own. Unsigned, so it proves only that something
        answers where the ledger is: it never makes the status say a sync worked.
        SyncError ("unreachable", "timeout", "tls", "server_error") when it does not."""
        if self._probe_session is None:
            self._probe_session = self._new_session()
        session = self._probe_session
        try:
            reply = session.get(self.base_url + "/healthz", timeout=(timeout, timeout),
                                verify=session.verify, allow_redirects=False,
                                headers={"accept-encoding": "identity"})
            reply.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                ValueError) as exc:
            session.close()
            self._probe_session = None  # a connection that failed is not used again
            raise self._probe_failure(exc, timeout) from exc
        if reply.status_code >= 500:
            raise SyncError(f"the ledger failed (HTTP {reply.status_code})", "server_error",
                            reply.status_code)

    @staticmethod
    def _probe_failure(exc: BaseException, timeout: float) -> SyncError:
        if isinstance(exc, requests.exceptions.SSLError):
            return SyncError("the ledger's TLS certificate is not trusted", "tls")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return SyncError(f"the ledger did not answer a probe within {timeout:g} s",
                             "timeout")
        return SyncError(f"the ledger cannot be reached: {exc.__class__.__name__}")

    def wallet(self, wallet_id: str, timeout: float = ONLINE_CHECK_TIMEOUT_S) -> dict[str, Any]:
        view = self._request("GET", f"/v1/wallets/{quote(wallet_id, safe='')}",
                             timeout=timeout)
        try:
            wire.check_wallet_view(view)
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        if view["wallet"] != wallet_id:
            raise self._untrusted("the wallet answer does not match the question")
        return view

    def check(self, question: dict[str, Any],
              timeout: float = ONLINE_CHECK_TIMEOUT_S) -> dict[str, Any]:
        """The online check of one sale (ledger.online): what the customer showed (`wallet`,
        `card` or `nfc`) and what the sale claims for its `tx` (`token`, `gift`,
        `campaign`). The answer decides: `card` (the card now, or None when the ledger has
        none), `wallet` (the fresh wallet view, or None), and one word per claim."""
        answer = self._request("POST", "/v1/check", orjson.dumps(question), timeout=timeout)
        try:
            wire.check_check_answer(answer)
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        if answer["tx"] != question.get("tx"):
            raise self._untrusted("the check answer does not match the question")
        expected = question.get("wallet")
        shown = "card" if "card" in question else "nfc_uid" if "nfc" in question else None
        if shown is not None:
            if "card" not in answer:  # null when the ledger has no such card; never absent
                raise self._untrusted("the check's card does not match the question")
            card = answer["card"]
            if card is not None and card.get(shown) != question.get("card",
                                                                     question.get("nfc")):
                raise self._untrusted("the check's card does not match the question")
            expected = card["wallet"] if card else None
        view = answer["wallet"]
        if view is not None and (expected is None or view["wallet"] != expected):
            raise self._untrusted("the check's wallet does not match the question")
        for name in wire.CHECK_CLAIMS:
            # the checker knows the words; each claim asked must also be answered
            if name in question and name not in answer:
                raise self._untrusted(f"the check answer says nothing valid of {name}")
        return answer

    def release(self, tx: str, timeout: float = ONLINE_CHECK_TIMEOUT_S) -> int:
        """The sale `tx` was refused after its check: give back its campaign claim."""
        answer = self._request("POST", "/v1/check/release", orjson.dumps({"tx": tx}),
                               timeout=timeout)
        try:
            released = wire.check_release_answer(answer)
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        if released["tx"] != tx:
            raise self._untrusted("the release answer does not match the question")
        return released["released"]

    def lease(self, campaign: str, pool: str, units: int, request_id: str | None = None,
              timeout: float = READ_TIMEOUT_S) -> dict[str, Any] | None:
        """Ask for `units` of a campaign's pool; the lease granted, or None when none are
        left. The same `request_id` asked again gets the same lease, never a second one.
        A sale waiting for it gives a short `timeout` (ONLINE_CHECK_TIMEOUT_S)."""
        asked: dict[str, Any] = {"campaign": campaign, "pool": pool, "units": units}
        if request_id is not None:
            asked["request_id"] = request_id
        answer = self._request("POST", "/v1/leases", orjson.dumps(asked), timeout=timeout)
        try:
            lease = wire.check_lease_answer(answer)["lease"]
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc
        if lease is None:
            return None
        if lease["campaign"] != campaign or lease["pool"] != pool or \
                not lease["count"] <= units:
            raise self._untrusted("the lease answer does not match the question")
        return dict(lease)

    def return_lease(self, lease_id: str, used: int) -> int:
        """Give back what is left of a lease; the units the ledger took back."""
        answer = self._request("POST", "/v1/leases/return", orjson.dumps(
            {"lease_id": lease_id, "used": used}))
        try:
            return wire.check_lease_return_answer(answer)["returned"]
        except wire.WireError as exc:
            raise self._untrusted(exc.message, wire.BAD_ANSWER) from exc


# --- the status -------------------------------------------------------------------------

# Why the last attempt failed, as one word the status bar translates (terminal.ui's status
# bar words each one; keep this set and the table in SyncStatus's docstring in step).
OFFLINE = "offline"
TIMEOUT = "timeout"
TLS = "tls"
AUTH = "auth"
REFUSED = "refused"
SERVER = "server"
BAD_ANSWER = "bad_answer"
CLOCK = "clock"
INTERNAL = "internal"
FAILURE_CODES = (OFFLINE, TIMEOUT, TLS, AUTH, REFUSED, SERVER, BAD_ANSWER, CLOCK, INTERNAL)
# What the worker is waiting on the ledger for (SyncStatus.waiting_for), "" when idle.
WAITING_PUSH = "push"
WAITING_PULL = "pull"
WAITING_LEASES = "leases"
WAITING_FOR = (WAITING_PUSH, WAITING_PULL, WAITING_LEASES)
# The failure codes that mean "the ledger could not be heard": a probe that gets through
# again ends them (and the backoff) at once. The others come back only with a good round.
NETWORK_FAILURES = (OFFLINE, TIMEOUT)
# SyncError codes (the client's own, and sync.auth's AnswerError codes) by failure code;
# a RefusedError's code is the ledger's, judged by its HTTP status (`failure_code`).
_FAILURE_OF_CODE = {
    "unreachable": OFFLINE,
    "timeout": TIMEOUT,
    "tls": TLS,
    "server_error": SERVER,
    "bad_answer": BAD_ANSWER,
    "bad_head": AUTH,
    "unsigned_answer": AUTH,
    "unknown_ledger_key": AUTH,
    "bad_answer_signature": AUTH,
    "bad_rotation": AUTH,
    "fingerprint_mismatch": AUTH,
    "clock": CLOCK,
}
# The ledger's refusal codes (sync.auth.AuthError) that say the terminal's clock is off.
CLOCK_REFUSALS = ("skew",)
HTTP_UNAUTHORIZED, HTTP_FORBIDDEN = 401, 403


def failure_code(exc: BaseException) -> str:
    """The status bar's word (one of FAILURE_CODES) for what ended a sync attempt."""
    if not isinstance(exc, SyncError):
        return INTERNAL  # not an expected failure: a bug, logged with its traceback
    if isinstance(exc, RefusedError):
        if exc.code in CLOCK_REFUSALS:
            return CLOCK
        if exc.status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
            return AUTH
        return REFUSED
    return _FAILURE_OF_CODE.get(exc.code, BAD_ANSWER)


@dataclass(frozen=True)
class SyncStatus:
    """What the sync worker knows now; a new one goes to `on_status` on every change.

    `online`: the ledger answered the last attempt or probe. `pending`: records not yet
    acknowledged (raised at once by each new record). `acked_seq`: the highest seq the
    ledger acknowledged. `last_success`: time.time() of the last good round (push and pull),
    None before one. `last_attempt`: time.time() when the last round began. `waiting_for`:
    what the worker waits on the ledger for now (WAITING_FOR: "push", "pull", "leases"), or
    "" when idle. `last_error`: the last failure in English (logs, `terminal status`), or
    the ledger's refusals of records; "" after a good round. `refused`: those refusals.

    `failure_code`, why the last attempt failed ("" when it did not), is one of:

    ============  ===========================================================================
    offline       the ledger cannot be reached (no network, connection refused or cut)
    timeout       the ledger was reached but did not answer in time
    tls           the ledger's TLS certificate is not trusted (or the link was tampered with)
    auth          the ledger does not accept this terminal (HTTP 401/403: not enrolled,
                  revoked, bad signature), or its answer is not signed by a pinned key
    refused       the ledger answered no (another 4xx) or refused records (`refused`)
    server        the ledger failed (HTTP 5xx)
    bad_answer    the ledger's answer is malformed (a snapshot page with a bad row...)
    clock         the clocks disagree: the ledger refused this terminal's time (skew), or
                  the ledger's time is not believable (terminal.clock)
    internal      a bug in the terminal (logged with its traceback); the worker goes on
    ============  ===========================================================================

    `failure_at`: time.time() of that failure, None when there is none.
    """

    online: bool = False
    pending: int = 0
    acked_seq: int = 0
    last_success: float | None = None  # time.time() of the last good exchange
    last_error: str = ""
    refused: list[str] = field(default_factory=list)
    failure_code: str = ""
    failure_at: float | None = None
    last_attempt: float | None = None
    waiting_for: str = ""


def push_all(client: LedgerClient, outbox: Outbox, batch: int = PUSH_BATCH,
             in_flight: int = PUSH_IN_FLIGHT) -> list[str]:
    """Push until nothing is pending or the ledger refuses; returns the refusals.

    Up to `in_flight` batches are on the wire at once, each on its own connection, so the
    ledger reads and checks the next batch while it writes the one before; answers are
    taken in the order sent, and every head kept. A batch sent behind another can reach
    the ledger first and find a gap where that one's records go (the ledger waits for it a
    little, ledger.ingest.BEHIND_WAIT_S): such a gap is not a refusal, and the rest of the
    push goes one batch at a time. A gap in a batch sent alone, and every other rejection,
    is a refusal.
    """
    clients = [client]
    refusals: list[str] = []
    flight: deque[tuple[list[tuple[int, bytes]], Future, bool]] = deque()
    sent = 0
    try:
        with ThreadPoolExecutor(in_flight, thread_name_prefix="push") as pool:
            try:
                while True:
                    while len(flight) < in_flight:
                        after = flight[-1][0][-1][0] if flight else 0
                        records = outbox.pending(batch, after)
                        if not records:
                            break
                        if len(clients) <= sent % in_flight:
                            clients.append(client.fork())  # a connection of its own
                        flight.append((records, pool.submit(clients[sent % in_flight].push,
                                                            records), bool(flight)))
                        sent += 1
                    if not flight:
                        return refusals
                    records, answer_of, behind = flight.popleft()
                    answer = answer_of.result()
                    if answer.get("head"):
                        outbox.keep_head(answer["head"])
                    rejected = [r for r in answer["results"] if r.get("status") == "rejected"]
                    if behind:
                        gaps = [r for r in rejected if r.get("reason") == "gap"]
                        if gaps and len(gaps) == len(rejected):
                            in_flight = 1  # it overtook the batch before it: go one by one
                            _settle(flight, outbox)
                            continue
                        rejected = [r for r in rejected if r.get("reason") != "gap"]
                    if rejected:
                        return refusals + [
                            f"seq {r.get('seq')}: {r.get('reason')} ({r.get('message', '')})"
                            for r in rejected]
                    if answer["acked_seq"] < records[-1][0]:
                        raise client._untrusted("the ledger acknowledged less than it accepted")
            finally:
                _settle(flight, outbox)
    finally:
        for other in clients[1:]:
            other.close()


def _settle(flight: deque, outbox: Outbox) -> None:
    """Wait for the batches still in flight, keeping the heads of those that landed (their
    rejections and errors are met again on the next push; so is a head that cannot be
    kept, which here would hide what ended the push)."""
    while flight:
        _, answer_of, _ = flight.popleft()
        try:
            answer = answer_of.result()
            if answer.get("head"):
                outbox.keep_head(answer["head"])
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.info("sync: a batch in flight at the end of a push: %s", exc)


def pull_all(client: LedgerClient, sink: SnapshotSink, outbox: Outbox) -> int:
    """Pull snapshot pages until the ledger has no more; returns the pages applied."""
    for pages in range(1, MAX_PAGES_PER_PULL + 1):
        acked = outbox.acked_seq()
        page = client.snapshot(sink.cursor())
        # The ledger says how far the page holds this terminal's records: a push landing
        # while the page was read is then neither missed nor counted twice. (A ledger that
        # does not say: what was acknowledged before asking.)
        sink.apply_snapshot(page, page.get("basis_seq", acked))
        if not page.get("more"):
            return pages
    return MAX_PAGES_PER_PULL


class SyncWorker:
    """Pushes and pulls on its own thread; never blocks its caller, never dies.

    Two threads: "sync" runs a round (push, then pull when due, then `after_sync`) when one
    is due (a new record, the interval, a pull asked for); "sync-probe" probes the ledger
    every PROBE_INTERVAL_S, also while a round waits on a silent ledger, so the status says
    so within STATUS_LATENCY_S rather than at the round's READ_TIMEOUT_S. After a failure
    that is the network's (`NETWORK_FAILURES`) rounds wait for a probe to get through, then
    one runs at once; after any other failure they wait the backoff.
    Whatever a round or a callback raises is caught here, logged with its traceback and
    said in the status; the loop goes on."""

    def __init__(self, client: LedgerClient, outbox: Outbox, sink: SnapshotSink,
                 on_status: Callable[[SyncStatus], None] | None = None,
                 interval_s: float = SYNC_INTERVAL_S, pull_interval_s: float = PULL_INTERVAL_S,
                 after_sync: Callable[[LedgerClient], None] | None = None,
                 on_tick: Callable[[], None] | None = None,
                 probe_interval_s: float = PROBE_INTERVAL_S) -> None:
        self.client = client
        # Runs after each good push and pull, on this worker's thread (leases of campaign
        # quantities); a SyncError from it counts as a failed round.
        self._after_sync = after_sync
        # Runs on each turn of the loop, on this worker's thread (the trusted clock's
        # heartbeat, which keeps its own pace); what it raises is logged, nothing more.
        self._on_tick = on_tick
        self.outbox = outbox
        self.sink = sink
        self._on_status = on_status
        self._interval = interval_s
        self._pull_interval = pull_interval_s
        self._probe_interval = probe_interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._prober: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SyncStatus(pending=outbox.pending_count(), acked_seq=outbox.acked_seq())
        self._last_pull = 0.0
        self._pull_requested = False
        self._round_requested = False
        self._forced = False
        self._next_round = 0.0  # time.monotonic() when a round is due (0: at once)
        self._failures = 0

    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    @property
    def alive(self) -> bool:
        """The worker's threads are running."""
        return all(t is not None and t.is_alive() for t in (self._thread, self._prober))

    def _set(self, **changes: Any) -> SyncStatus:
        """Change the status; `on_status` hears of it when anything changed."""
        with self._lock:
            before = self._status
            self._status = status = replace(before, **changes)
        if status != before and self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # noqa: BLE001 - a listener's bug must not end a round
                log.exception("sync: the status listener failed")
        return status

    def notify(self, pull: bool = False, pending: int | None = None) -> None:
        """A new record is waiting (`pending`: the unsent count now, said in the status at
        once): push soon. `pull`: someone asks for a sync now (pull the snapshot too),
        even while the worker waits out a failure."""
        if pending is not None:
            self._set(pending=pending)
        if pull:
            self._pull_requested = True
            self._forced = True
        self._round_requested = True
        self._wake.set()

    def start(self) -> None:
        """Start the worker's thread: it touches the network only there."""
        assert self._thread is None, "the sync worker is already running"
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._prober = threading.Thread(target=self._probe_loop, name="sync-probe",
                                        daemon=True)
        self._thread.start()
        self._prober.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop both threads, waiting up to `timeout` for each; False when one is still in
        a request (its outbox and client must then be left open: it ends by itself after
        its timeout, as a daemon thread)."""
        self._stop.set()
        self._wake.set()
        stopped = True
        for thread in (self._thread, self._prober):
            if thread is not None:
                thread.join(timeout)
                stopped = stopped and not thread.is_alive()
        self._thread = self._prober = None
        return stopped

    def backoff_s(self) -> float:
        if not self._failures:
            return self._interval
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        return delay * (0.5 + random.random())  # jitter: terminals do not retry in step

    def run_once(self, pull: bool | None = None) -> SyncStatus:
        """One push and one pull (when due, or when `pull` says so). Call it from one thread
        at a time: the worker's own, or a caller's while the worker is not running. A
        SyncError is said in the status; anything else is raised (a bug) after the status
        says so (failure_code "internal")."""
        if pull is None:
            pull = self._pull_requested or not self._last_pull or \
                time.monotonic() - self._last_pull >= self._pull_interval
        self._pull_requested = self._round_requested = self._forced = False
        self._set(last_attempt=time.time(), waiting_for=WAITING_PUSH)
        started, acked_before, pages = time.monotonic(), self.status.acked_seq, 0
        try:
            refusals = push_all(self.client, self.outbox)
            if pull:
                self._set(waiting_for=WAITING_PULL, pending=self.outbox.pending_count(),
                          acked_seq=self.outbox.acked_seq())
                pages = pull_all(self.client, self.sink, self.outbox)
                self._last_pull = time.monotonic()
            if self._after_sync is not None and not refusals:
                self._set(waiting_for=WAITING_LEASES)
                self._after_sync(self.client)
        except SyncError as exc:
            self._failed(exc, online=isinstance(exc, RefusedError))
            log.info("sync: %s [%s]", exc.message, exc.code)
            return self.status
        except Exception as exc:
            self._failed(exc)
            raise
        self._failures = 0
        self._next_round = time.monotonic() + self._interval
        acked = self.outbox.acked_seq()
        # A round that sent records is logged; the quiet ones every interval only in debug.
        log.log(logging.INFO if acked != acked_before or refusals else logging.DEBUG,
                "sync: acknowledged up to seq %d (%d new), %d snapshot pages, %d refused, "
                "in %.0f ms", acked, acked - acked_before, pages, len(refusals),
                (time.monotonic() - started) * 1000)
        self._set(online=True, last_success=time.time(), refused=refusals,
                  last_error="; ".join(refusals), pending=self.outbox.pending_count(),
                  acked_seq=acked, waiting_for="",
                  failure_code=REFUSED if refusals else "",
                  failure_at=time.time() if refusals else None)
        return self.status

    def _failed(self, exc: BaseException, online: bool = False) -> None:
        """A round ended by `exc`: said in the status, the next round after the backoff."""
        self._failures += 1
        self._next_round = time.monotonic() + self.backoff_s()
        code = failure_code(exc)
        message = exc.message if isinstance(exc, SyncError) else \
            f"sync failed: {exc.__class__.__name__}: {exc}"
        changes: dict[str, Any] = dict(
            online=online, last_error=message[:MAX_ERROR_CHARS], failure_code=code,
            failure_at=time.time(), waiting_for="")
        try:
            changes.update(pending=self.outbox.pending_count(),
                           acked_seq=self.outbox.acked_seq())
        except Exception:  # noqa: BLE001 - the failure is said even when the outbox is not
            log.exception("sync: the outbox cannot be read")
        self._set(**changes)

    def _round_due(self) -> bool:
        if self._forced:
            return True
        if self.status.failure_code in NETWORK_FAILURES:
            return False  # a probe that gets through starts the next round
        now = time.monotonic()
        if self._failures:
            return now >= self._next_round  # the backoff is over
        return self._round_requested or now >= self._next_round

    def probe(self) -> None:
        """Ask the ledger whether it is there; say a change in the status. When it answers
        again after the network failed, a round runs at once (the backoff is over)."""
        before = self.status
        try:
            self.client.probe()
        except SyncError as exc:
            code = failure_code(exc)
            if before.online or before.failure_code != code:
                log.info("sync: the ledger does not answer: %s [%s]", exc.message, code)
                self._set(online=False, failure_code=code, failure_at=time.time(),
                          last_error=exc.message[:MAX_ERROR_CHARS])
            return
        if before.failure_code in NETWORK_FAILURES:
            # Heard again: online now (a round follows at once and says how it went).
            log.info("sync: the ledger answers again")
            self._failures = 0
            self._forced = True
            self._set(online=True, failure_code="", failure_at=None)
            self._wake.set()

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.probe()
            except Exception:  # noqa: BLE001 - the prober must outlive any one probe
                log.exception("sync: a probe failed")
            self._stop.wait(self._probe_interval)

    def _step(self) -> None:
        if self._on_tick is not None:
            try:
                self._on_tick()
            except Exception:  # noqa: BLE001 - the tick is not the round
                log.exception("sync: the worker's tick failed")
        if self._round_due() and not self._stop.is_set():
            self.run_once()

    def _sleep_s(self) -> float:
        """Until the next turn of the loop: a probe, or the round due first."""
        if self._round_due():
            return 0.0
        if self.status.failure_code in NETWORK_FAILURES:
            return self._probe_interval
        return max(0.0, min(self._probe_interval, self._next_round - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a notify during the step makes the next one come at once
            try:
                self._step()
            except Exception:  # noqa: BLE001 - the worker must outlive any one round
                log.exception("sync: a round failed")  # and run_once said it in the status
                self._round_requested = False
            self._wake.wait(self._sleep_s())
