"""The ledger's HTTP API (DESIGN §7): FastAPI, JSON, versioned under /v1.

Terminal requests are signed (sync.auth); the journal body is parsed with orjson and checked
by hand, because a pydantic model over a 1,000-record batch costs about as much as parsing it
three times, and the records need their canonical bytes anyway. The OpenAPI document still
describes every body, so clients and fuzzers know the shapes. Expected refusals answer
`{"error": code, "message": text}` with a 4xx status; nothing a client sends is meant to
produce a 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ledger import service
from ledger.db import Database, DatabaseError
from ledger.ingest import MAX_BATCH_RECORDS, IngestError, Ingestor
from ledger.service import LedgerError
from sync import auth, keys

API_VERSION = "1"
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_FLAGS_LISTED = 1000
CURSOR_MAX_CHARS = 512


class EnrollRequest(BaseModel):
    code: str = Field(max_length=64, description="the one-time code from `ledger admin "
                                                 "create-terminal`")
    public_key: str = Field(max_length=128, description="the terminal's Ed25519 key, hex")


class CreateTerminalRequest(BaseModel):
    merchant_id: str = Field(max_length=64)


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
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def create_app(db: Database, ledger_key: keys.PrivateKey, admin_token: str) -> FastAPI:
    app = FastAPI(
        title="Machi POS ledger",
        version=API_VERSION,
        description="Central ledger for Machi POS terminals: enrollment, journal ingest, "
                    "snapshots and wallet look-ups. Terminal requests carry the headers "
                    f"{auth.HEADER_TERMINAL}, {auth.HEADER_TIME} and {auth.HEADER_SIGNATURE}.",
    )
    ingestor = Ingestor(db, ledger_key)

    @app.exception_handler(LedgerError)
    async def _ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(IngestError)
    async def _ingest_error(_: Request, exc: IngestError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(auth.AuthError)
    async def _auth_error(_: Request, exc: auth.AuthError) -> JSONResponse:
        return _error(401, exc.code, exc.message)

    @app.exception_handler(DatabaseError)
    async def _db_error(_: Request, exc: DatabaseError) -> JSONResponse:
        return _error(503, "database_unavailable", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
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
        found = await run_in_threadpool(service.terminal_key, db, terminal_id)
        if found is None:
            raise auth.AuthError("this terminal is not enrolled", "unenrolled")
        public_hex, status = found
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        auth.verify_request(keys.load_public_key_hex(public_hex), request.headers,
                            request.method, path, body)
        if status != "active":
            raise LedgerError(f"the terminal is {status}", 403, status)
        return terminal_id

    def admin(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not service.token_matches(given[7:], admin_token):
            raise LedgerError("admin endpoints need the admin bearer token", 401, "unauthorized")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "engine": db.engine, "api": API_VERSION}

    @app.post("/v1/enroll")
    async def enroll(body: EnrollRequest) -> Response:
        result = await run_in_threadpool(service.enroll, db, body.code, body.public_key)
        return _json(result)

    @app.post("/v1/journal", openapi_extra=JOURNAL_SCHEMA)
    async def journal(request: Request) -> Response:
        body = await read_body(request)
        terminal_id = await terminal_of(request, body)
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

    @app.get("/v1/snapshot")
    async def snapshot(request: Request,
                       cursor: str = Query("", max_length=CURSOR_MAX_CHARS)) -> Response:
        terminal_id = await terminal_of(request, await read_body(request))
        result = await run_in_threadpool(service.snapshot, db, terminal_id, cursor or None)
        return _json(result)

    @app.get("/v1/wallets/{wallet_id}")
    async def wallet(request: Request, wallet_id: str) -> Response:
        await terminal_of(request, await read_body(request))
        return _json(await run_in_threadpool(service.wallet_view, db, wallet_id))

    @app.get("/v1/admin/flags")
    async def flags(request: Request, limit: int = Query(100, ge=1, le=MAX_FLAGS_LISTED)
                    ) -> Response:
        admin(request)
        return _json(await run_in_threadpool(service.list_flags, db, limit))

    @app.post("/v1/admin/terminals")
    async def create_terminal(request: Request, body: CreateTerminalRequest) -> Response:
        admin(request)
        return _json(await run_in_threadpool(service.create_terminal, db, body.merchant_id), 201)

    @app.post("/v1/admin/terminals/{terminal_id}/revoke")
    async def revoke(request: Request, terminal_id: str) -> Response:
        admin(request)
        await run_in_threadpool(service.set_terminal_status, db, terminal_id, "revoked",
                                "revoked by an admin")
        return _json({"terminal_id": terminal_id, "status": "revoked"})

    return app
