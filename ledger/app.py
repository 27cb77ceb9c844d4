"""The ledger's HTTP API (DESIGN §7): FastAPI, JSON, versioned under /v1.

Terminal requests are signed (sync.auth); the journal body is NDJSON (what terminals send:
one record's canonical bytes per line, split here and checked record by record in ingest) or
JSON parsed with orjson and checked by hand, because a pydantic model over a 1,000-record
batch costs about as much as parsing it three times. The OpenAPI document still
describes every body, so clients and fuzzers know the shapes. Expected refusals answer
`{"error": code, "message": text}` with a 4xx status, and the document lists them per
operation; nothing a client sends is meant to produce a 500. Should one happen all the same
(a bug, a database that refuses a statement), it is a JSON 500 naming the error, signed like
every answer so the terminal can show why, and its traceback is logged once; a database
that cannot be reached answers 503. A client that goes away before its body is whole is one
log line. Bodies are capped before any route reads them, ids in paths and headers are
checked at the edge (a NUL or a 10 kB id must never reach PostgreSQL), and signatures are
checked over the path exactly as sent.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sized
from http import HTTPStatus
from typing import Any, cast

import orjson
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger import certs, liability, observe, online, service
from ledger.db import Database, DatabaseError
from ledger.ingest import MAX_BATCH_RECORDS, Ingestor
from ledger.service import LedgerError
from ledger.verifier import process_verifier
from sync import auth, bodies, keys, record

log = logging.getLogger(__name__)

API_VERSION = "1"
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_FLAGS_LISTED = 1000
CURSOR_MAX_CHARS = 512
ID_PATTERN = bodies.ID_RE.pattern
TERMINAL_ID_PATTERN = record.TERMINAL_ID_RE.pattern
# FastAPI documents a 422 for every operation with parameters or a body; this API answers
# request validation errors with 400 (the _validation handler), so the document drops them.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
# An unexpected error's text is cut to this in a 500 answer (a driver's message can run long).
MAX_ERROR_MESSAGE_CHARS = 500


class ErrorBody(BaseModel):
    """Every refusal: a stable code to branch on and a message for people."""

    error: str = Field(description="stable reason code, e.g. invalid, unsigned, not_found")
    message: str = Field(description="why, in words")


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of one operation (413 may answer any of them)."""
    return {status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
            for status in sorted({*statuses, 413})}


class EnrollRequest(BaseModel):
    code: str = Field(max_length=64, description="the one-time code from `ledger admin "
                                                 "create-terminal`")
    public_key: str = Field(max_length=128, description="the terminal's Ed25519 key, hex")


class CreateTerminalRequest(BaseModel):
    merchant_id: str = Field(max_length=64, pattern=ID_PATTERN)


class CertificateRequest(BaseModel):
    device_public_key: str = Field(max_length=128, description="the app's Ed25519 key, hex")
    offline_limit: int = Field(certs.DEFAULT_APP_OFFLINE_LIMIT, ge=0, le=1_000_000,
                               description="yen the app may spend offline between syncs")


class LeaseRequest(BaseModel):
    """Units of a campaign's pool, lent to the signing terminal (docs/campaigns.md)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    campaign: str = Field(max_length=64, pattern=ID_PATTERN)
    pool: str = Field(max_length=64, pattern=ID_PATTERN,
                      description="all, prize or shop.<merchant> (the terminal's own shop)")
    units: int = Field(ge=1, le=service.MAX_LEASE_UNITS)
    request_id: str | None = Field(None, max_length=64, pattern=ID_PATTERN,
                                   description="made by the terminal: the same request sent "
                                               "again is answered with the same lease")


class LeaseReturn(BaseModel):
    """A lease given back: `used` is what the terminal used of it."""

    model_config = ConfigDict(strict=True, extra="forbid")
    lease_id: str = Field(max_length=64, pattern=ID_PATTERN)
    used: int = Field(ge=0, le=service.MAX_LEASE_UNITS)


class TokenClaim(BaseModel):
    """An app token's device (the first 8 bytes of its key, hex, as records keep it) and
    counter: claimed for the sale, so the same token pays once in the region."""

    model_config = ConfigDict(strict=True, extra="forbid")
    device: str = Field(pattern=r"^[0-9a-f]{16}$")
    counter: int = Field(ge=0, le=2**32 - 1)


class CampaignClaim(BaseModel):
    """A per-wallet campaign use the sale would make (e.g. one voucher set per person)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    id: str = Field(max_length=64, pattern=ID_PATTERN)
    day: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="the sale's business day")
    units: int = Field(1, ge=1, le=service.MAX_LEASE_UNITS)


class OnlineCheck(BaseModel):
    """The online check of one sale (ledger.online): what the customer showed (a wallet id,
    a card number or an NFC UID) and what the sale would claim for its tx id."""

    model_config = ConfigDict(strict=True, extra="forbid")
    tx: str = Field(max_length=64, pattern=ID_PATTERN, description="the sale's tx id")
    wallet: str | None = Field(None, max_length=64, pattern=ID_PATTERN)
    card: str | None = Field(None, max_length=32, pattern=r"^[0-9]{8,32}$",
                             description="a printed card number, normalized")
    nfc: str | None = Field(None, max_length=32, pattern=r"^[0-9A-F]{1,32}$")
    token: TokenClaim | None = None
    gift: str | None = Field(None, max_length=64, pattern=ID_PATTERN,
                             description="a gift code's id")
    campaign: CampaignClaim | None = None


class ClaimRelease(BaseModel):
    """A sale refused after its online check: its claims are given back."""

    model_config = ConfigDict(strict=True, extra="forbid")
    tx: str = Field(max_length=64, pattern=ID_PATTERN, description="the refused sale's tx id")


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request body of a signed route that reads its raw bytes (the signature covers
    them) and checks them with `model` itself, after the signature."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


def _parsed(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise LedgerError(f"{where}: {first.get('msg', 'invalid request')}", 400,
                          "invalid") from exc


# The journal body our terminals send: one canonical record per line (ledger.ingest).
NDJSON = "application/x-ndjson"

JOURNAL_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["terminal_id", "records"],
                    "properties": {
                        "terminal_id": {"type": "string"},
                        "records": {
                            "type": "array",
                            "maxItems": MAX_BATCH_RECORDS,
                            "items": {
                                "type": "object",
                                "description": "a signed journal record (DESIGN §4)",
                                "required": ["v", "terminal_id", "seq", "tx_id", "key_id",
                                             "prev", "at", "type", "body", "totals", "sig"],
                                "properties": {
                                    "v": {"type": "integer"},
                                    "terminal_id": {"type": "string"},
                                    "seq": {"type": "integer", "minimum": 1},
                                    "tx_id": {"type": "string"},
                                    "key_id": {"type": "string"},
                                    "prev": {"type": "string"},
                                    "at": {"type": "string"},
                                    "type": {"type": "string"},
                                    "body": {"type": "object"},
                                    "totals": {"type": "object"},
                                    "sig": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    observe.REFUSALS.labels(code).inc()
    return JSONResponse({"error": code, "message": message}, status_code=status)


class RequestLog:
    """Outermost: one log line and one count per request, with its route (the template, not
    the path, so ids do not make new series), status, time and the terminal it says it is
    from. Nothing of its headers or body: never a token, signature, PIN or key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            terminal = _header(scope, auth.HEADER_TERMINAL.lower().encode())
            if not record.TERMINAL_ID_RE.fullmatch(terminal):
                terminal = ""  # what a client claims is logged only if it is an id
            # no answer started: the client went away (LastResort logged that line)
            observe.REQUESTS.labels(route, str(status) if status else "gone").inc()
            if status:
                observe.log.info("request %s", observe.fields(
                    method=scope["method"], route=route, status=status,
                    ms=f"{(time.perf_counter() - began) * 1000:.1f}", terminal=terminal))


def _unexpected(exc: BaseException) -> JSONResponse:
    """The answer to an error no handler expected: 500, in the API's shape, naming it."""
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > MAX_ERROR_MESSAGE_CHARS:
        text = text[:MAX_ERROR_MESSAGE_CHARS - 1] + "…"
    return _error(500, "internal", f"the ledger failed: {text}")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413 before any route reads them.

    FastAPI reads a pydantic-typed body whole, so without this an enrollment or admin call
    could make the ledger hold any amount of memory. A declared length is refused at once
    (the server enforces it); a chunked body is read here up to the limit, then replayed.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:
            if declared > self.limit:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _error(413, "too_large", f"the body is over {self.limit} bytes")
        await refusal(scope, receive, send)


class LastResort:
    """Inside AnswerSigner, around the routes and their handlers: an exception none of the
    handlers took is answered as a JSON 500 (`_unexpected`), which AnswerSigner then signs,
    and its traceback is logged here, once (it does not go on to be logged again by the
    server). A client that went away before its body was whole gets no answer, and the log
    one line: it is the network's doing, not the ledger's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except ClientDisconnect:
            declared = _declared_length(scope)
            log.warning("%s %s: the client went away after %d%s bytes of its body",
                        scope["method"], scope["path"], received,
                        "" if declared is None else f" of {declared}")
        except Exception as exc:
            log.exception("%s %s failed", scope["method"], scope["path"])
            if not started:
                await _unexpected(exc)(scope, counted, watched)


ENROLL_PATH = "/v1/enroll"
# Where AnswerSigner leaves the hash of the request body it is reading (in scope["state"]).
BODY_HASHER = "machi_body_hasher"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _raw_path(scope: Scope) -> str:
    """The path and query exactly as the client sent them (what its signature covers)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"").decode("latin-1")
    return raw.decode("latin-1") + (f"?{query}" if query else "")


class AnswerSigner:
    """Sign every answer to a terminal's request (sync.auth.sign_answer), whatever route or
    error handler made it, bound to that request: its terminal, time, nonce, method, path
    and body. Enrollment, which a terminal makes before it has an id, is bound to its nonce
    and body under the empty terminal id. Requests that carry no nonce get plain answers
    (the admin API, /healthz).

    The answer is held whole before it goes out, since its headers carry the signature of
    its body; every answer of this API is built whole in memory anyway.
    """

    def __init__(self, app: ASGIApp, key: keys.PrivateKey,
                 rotations: Callable[[], list[dict]]) -> None:
        self.app = app
        self.key = key
        self._rotations_of = rotations
        self._rotations: list[dict] | None = None

    @property
    def rotations(self) -> list[dict]:
        """Read once, at the first answer: they change only with the key, which a server
        takes at its start."""
        if self._rotations is None:
            self._rotations = self._rotations_of()
        return self._rotations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        nonce = _header(scope, b"x-machi-nonce") if scope["type"] == "http" else ""
        if not nonce:
            await self.app(scope, receive, send)
            return
        enrolling = scope["path"] == ENROLL_PATH
        terminal_id = "" if enrolling else _header(scope, b"x-machi-terminal")
        stamp = _header(scope, b"x-machi-time")
        hasher = hashlib.sha256()
        body_done = False
        # The route's signature check takes the body's hash from here: hashed once, as read.
        scope.setdefault("state", {})[BODY_HASHER] = hasher

        async def tapped() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request":
                hasher.update(message.get("body", b""))
                body_done = not message.get("more_body", False)
            return message

        start: Message = {}
        chunks: list[bytes] = []

        async def signed(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            while not body_done:  # the route did not read it all: the digest needs it
                if (await tapped())["type"] != "http.request":
                    break
            body = b"".join(chunks)
            if auth.TIME_RE.fullmatch(stamp):
                digest = auth.request_digest(auth.request_message(
                    terminal_id, scope["method"], _raw_path(scope), int(stamp), b"", nonce,
                    body_sha256=hasher.hexdigest()))
                extra = auth.sign_answer(self.key, terminal_id, digest, start["status"], body,
                                         self.rotations)
                start = {**start, "headers": [*start.get("headers", []), *(
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in extra.items())]}
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, tapped, signed)


def _install_document(app: FastAPI) -> None:
    """Serve the OpenAPI document without FastAPI's 422 answers, which this API never gives."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = document.get("components", {}).get("schemas", {})
            for name in FASTAPI_VALIDATION_SCHEMAS:
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(db: Database, ledger_key: keys.PrivateKey, admin_token: str) -> FastAPI:
    app = FastAPI(
        title="Machi POS ledger",
        version=API_VERSION,
        description="Central ledger for Machi POS terminals: enrollment, journal ingest, "
                    "snapshots and wallet look-ups. Terminal requests carry the headers "
                    f"{auth.HEADER_TERMINAL}, {auth.HEADER_TIME}, {auth.HEADER_NONCE} and "
                    f"{auth.HEADER_SIGNATURE}; every answer to them is signed by the ledger "
                    f"({auth.HEADER_ANSWER_KEY}, {auth.HEADER_ANSWER_TIME}, "
                    f"{auth.HEADER_ANSWER_SIGNATURE}).",
    )
    ingestor = Ingestor(db, ledger_key)
    nonces = auth.NonceCache()
    # From the inside out: unexpected errors become JSON answers, which are then signed;
    # inside the body limit, so an over-long body is refused before it is read or hashed.
    app.add_middleware(LastResort)
    app.add_middleware(AnswerSigner, key=ledger_key, rotations=lambda: service.rotations(db))
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(RequestLog)
    _install_document(app)
    metrics = observe.registry(db)

    @app.exception_handler(LedgerError)
    async def _ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(auth.AuthError)
    async def _auth_error(_: Request, exc: auth.AuthError) -> JSONResponse:
        return _error(401, exc.code, exc.message)

    @app.exception_handler(DatabaseError)
    async def _db_error(_: Request, exc: DatabaseError) -> JSONResponse:
        return _error(503, "database_unavailable", str(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own refusals (unknown path, wrong method, a body FastAPI cannot read)
        # answer in the same shape as ours instead of {"detail": ...}.
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        refusal = _error(exc.status_code, code, str(exc.detail))
        refusal.headers.update(exc.headers or {})
        return refusal

    @app.exception_handler(Exception)
    async def _outer_error(_: Request, exc: Exception) -> JSONResponse:
        # What escapes the middlewares themselves (LastResort takes the routes' errors):
        # Starlette answers with this, then raises the error on, for the server to log.
        return _unexpected(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, "invalid", f"{where}: {first.get('msg', 'invalid request')}")

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise LedgerError(f"the body is over {MAX_BODY_BYTES} bytes", 413, "too_large")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise LedgerError(f"the body is over {MAX_BODY_BYTES} bytes", 413, "too_large")
        return body

    async def terminal_of(request: Request, body: bytes) -> str:
        """The terminal that signed this request (401 otherwise; 403 if it may not act)."""
        terminal_id = auth.claimed_terminal(request.headers)
        found = None
        if record.TERMINAL_ID_RE.fullmatch(terminal_id):
            found = await run_in_threadpool(service.terminal_key, db, terminal_id)
        if found is None:
            raise auth.AuthError("this terminal is not enrolled", "unenrolled")
        public_hex, status = found
        path = signed_path(request)
        # The body is read whole by now, so the hash AnswerSigner made of it as it came in
        # is the body's (a request with no nonce has none: verify_request refuses it).
        hasher = request.scope.get("state", {}).get(BODY_HASHER)
        auth.verify_request(keys.load_public_key_hex(public_hex), request.headers,
                            request.method, path, body, nonces=nonces,
                            body_sha256=hasher.hexdigest() if hasher is not None else None)
        if status != "active":
            raise LedgerError(f"the terminal is {status}", 403, status)
        return terminal_id

    def signed_path(request: Request) -> str:
        """The path and query exactly as the client sent them: the signer cannot know how a
        server decodes percent-escapes, so `request.url.path` (decoded) would not match.
        (latin-1 maps every byte to one character, as Starlette decodes the query string.)"""
        return _raw_path(request.scope)

    def admin(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not service.token_matches(given[7:], admin_token):
            raise LedgerError("admin endpoints need the admin bearer token", 401, "unauthorized")

    @app.get("/metrics", responses={**_refusals(401), 200: {
        "description": "Prometheus text format", "content": {"text/plain": {}}}})
    async def metrics_text(request: Request) -> Response:
        """The ledger's figures for Prometheus; the admin bearer token only (ledger.observe
        says why not loopback-only)."""
        admin(request)
        body, kind = await run_in_threadpool(observe.exposition, metrics, process_verifier())
        return Response(body, media_type=kind)

    @app.get("/healthz", responses=_refusals())
    async def healthz() -> dict:
        return {"status": "ok", "engine": db.engine, "api": API_VERSION}

    @app.post("/v1/enroll", responses=_refusals(400, 401, 409))
    async def enroll(body: EnrollRequest) -> Response:
        result = await run_in_threadpool(service.enroll, db, body.code, body.public_key)
        return _json(result)

    @app.post("/v1/journal", openapi_extra=JOURNAL_SCHEMA, responses=_refusals(400, 401, 403))
    async def journal(request: Request) -> Response:
        """Take a batch of the signing terminal's journal records. The body is JSON, or
        (what the terminals send) `application/x-ndjson`: one record's canonical bytes per
        line, at most the same count, for the same terminal (the signer)."""
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
        if request.headers.get("content-type", "").split(";")[0].strip() == NDJSON:
            lines = body.split(b"\n")
            if lines and not lines[-1]:
                lines.pop()  # the body may end with a newline
            return _json(await run_in_threadpool(ingestor.ingest, terminal_id, lines))
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise LedgerError(f"the body is not JSON: {exc}", 400, "invalid") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise LedgerError("the body is {terminal_id, records: [...]}", 400, "invalid")
        if payload.get("terminal_id") != terminal_id:
            raise LedgerError("the body names another terminal than the signature", 400,
                              "invalid")
        result = await run_in_threadpool(ingestor.ingest, terminal_id, payload["records"])
        return _json(result)

    @app.get("/v1/snapshot", responses=_refusals(400, 401, 403))
    async def snapshot(request: Request,
                       cursor: str = Query("", max_length=CURSOR_MAX_CHARS)) -> Response:
        terminal_id = await terminal_of(request, await read_body(request))
        result = await run_in_threadpool(service.snapshot, db, terminal_id, cursor or None)
        rows = [result.get(feed) or () for feed in ("wallets", "cards", "campaigns")]
        observe.SNAPSHOT_ITEMS.observe(sum(len(cast(Sized, feed_rows)) for feed_rows in rows))
        return _json(result)

    @app.get("/v1/wallets/{wallet_id}", responses=_refusals(400, 401, 403, 404))
    async def wallet(request: Request,
                     wallet_id: str = Path(pattern=ID_PATTERN)) -> Response:
        terminal_id = await terminal_of(request, await read_body(request))
        return _json(await run_in_threadpool(service.wallet_view, db, wallet_id, terminal_id))

    @app.post("/v1/check", openapi_extra=_body_schema(OnlineCheck),
              responses=_refusals(400, 401, 403, 404))
    async def online_check(request: Request) -> Response:
        """The online check of one sale: the ledger decides. {"tx", "card": card or null
        (when one was shown), "wallet": wallet view or null, and per claim asked "token":
        fresh|used, "gift": claimed|used|unknown, "campaign": claimed|limit (not_checked
        when the card or wallet was refused)}."""
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
        asked = _parsed(OnlineCheck, body)
        if asked.card is not None and asked.nfc is not None:
            raise LedgerError("a check shows a card number or an NFC UID, not both", 400,
                              "invalid")
        return _json(await run_in_threadpool(online.check, db, terminal_id,
                                             asked.model_dump()))

    @app.post("/v1/check/release", openapi_extra=_body_schema(ClaimRelease),
              responses=_refusals(400, 401, 403))
    async def release_claim(request: Request) -> Response:
        """The sale `tx` was refused after its online check: its campaign claim no longer
        counts. {"tx", "released": claims dropped}."""
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
        asked = _parsed(ClaimRelease, body)
        return _json(await run_in_threadpool(online.release, db, terminal_id, asked.tx))

    @app.post("/v1/leases", openapi_extra=_body_schema(LeaseRequest),
              responses=_refusals(400, 401, 403, 404))
    async def lease(request: Request) -> Response:
        """Lend the terminal up to `units` of a campaign's pool: {"lease": {...}}, or
        {"lease": null, "left": 0} when the pool is empty."""
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
        asked = _parsed(LeaseRequest, body)
        return _json(await run_in_threadpool(service.request_lease, db, terminal_id,
                                             asked.campaign, asked.pool, asked.units,
                                             request_id=asked.request_id))

    @app.post("/v1/leases/return", openapi_extra=_body_schema(LeaseReturn),
              responses=_refusals(400, 401, 403, 404))
    async def lease_return(request: Request) -> Response:
        """Give back what is left of a lease: {"returned": units}."""
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
        given = _parsed(LeaseReturn, body)
        return _json(await run_in_threadpool(service.return_lease, db, terminal_id,
                                             given.lease_id, given.used))

    @app.get("/v1/admin/flags", responses=_refusals(400, 401))
    async def flags(request: Request, limit: int = Query(100, ge=1, le=MAX_FLAGS_LISTED)
                    ) -> Response:
        admin(request)
        return _json(await run_in_threadpool(service.list_flags, db, limit))

    @app.get("/v1/admin/reports/liability", responses=_refusals(400, 401))
    async def liability_report(request: Request, on: str | None = Query(
            None, max_length=10, description="the day expiry is judged, YYYY-MM-DD "
                                             "(default today)")) -> Response:
        """The town's money (`python -m ledger report liability`, the same figures):
        outstanding value by pocket and by funder, expiring next month, voucher money sold
        against spent and expired, and `adds_up` (issued − spent − expired = outstanding)."""
        admin(request)
        try:
            found = await run_in_threadpool(liability.liability, db, on)
        except ValueError as exc:
            raise LedgerError("on must be a date, YYYY-MM-DD", 400) from exc
        return _json({**found.as_dict(), "adds_up": not found.check()})

    @app.post("/v1/admin/terminals", status_code=201, responses=_refusals(400, 401, 404))
    async def create_terminal(request: Request, body: CreateTerminalRequest) -> Response:
        admin(request)
        return _json(await run_in_threadpool(service.create_terminal, db, body.merchant_id), 201)

    @app.post("/v1/admin/terminals/{terminal_id}/revoke", responses=_refusals(400, 401, 404))
    async def revoke(request: Request,
                     terminal_id: str = Path(pattern=TERMINAL_ID_PATTERN)) -> Response:
        admin(request)
        await run_in_threadpool(service.set_terminal_status, db, terminal_id, "revoked",
                                "revoked by an admin")
        return _json({"terminal_id": terminal_id, "status": "revoked"})

    @app.post("/v1/admin/wallets/{wallet_id}/certificate",
              responses=_refusals(400, 401, 404, 409))
    async def certificate(request: Request, body: CertificateRequest,
                          wallet_id: str = Path(pattern=ID_PATTERN)) -> Response:
        """Certify a phone app's device key for a wallet (sync.tokens); the admin token
        stands in for the wallet app's own sign-in."""
        admin(request)
        return _json(await run_in_threadpool(certs.issue, db, ledger_key, wallet_id,
                                             body.device_public_key, body.offline_limit))

    # The town office's console: pages for people, signed in with office accounts
    # (ledger.console); the API above keeps its bearer token for scripts.
    from ledger.console import MOUNT_PATH
    from ledger.console.web import create_console

    app.mount(MOUNT_PATH, create_console(db))
    return app
