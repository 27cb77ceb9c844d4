"""The register's endpoint: the counter's actions as JSON over HTTP, on this machine only.

    python -m terminal serve-register [--data DIR] [--port 8710]

    POST /v1/<action>     action: sale, charge, voucher, grant, refund, void, issue-card,
                          ride, exchange, redeem, cash
                          body: the request as a JSON object (terminal.register's fields)
    GET  /v1/status       the terminal and its shop
    Authorization: Bearer <the token in DIR/register.token>

Answers are terminal.register's JSON, with the HTTP status: 200 approved, 409 refused by the
counter, 400 bad input (not JSON, a wrong field), 401 no or a wrong token, 404 no such
action, 405 wrong method, 411 no Content-Length, 413 body over MAX_BODY_BYTES, 415 not
application/json, 500 the terminal cannot act.

It listens on a loopback address only (127.0.0.1 by default; any other address is refused:
a register on another machine would need TLS and more than one token). The token is made
on first start, kept in the data directory owner-only (0600; a wider file is refused, as the
key is), and compared in constant time. One request at a time, one per connection: the
serving thread owns the node and its Counter, and a client that sends slowly is cut off
after REQUEST_TIMEOUT_S. The sync worker runs beside it, as in the window, pushing each
record and keeping the leases.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import logging
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from sync import clitools, files
from sync.platform import procs
from terminal import register
from terminal.errors import TerminalError

log = logging.getLogger(__name__)

TOKEN_FILE = "register.token"
TOKEN_BYTES = 32  # 256 bits, URL-safe base64
DEFAULT_PORT = 8710
DEFAULT_HOST = "127.0.0.1"
MAX_BODY_BYTES = 16 * 1024  # a request is a few hundred bytes; an app code ~300
REQUEST_TIMEOUT_S = 5.0  # a connection that sends nothing for this long is closed
PATH_PREFIX = "/v1/"


class EndpointError(TerminalError):
    """The endpoint cannot start (a non-loopback address, an unsafe token file)."""

    code = "endpoint"


def check_host(host: str) -> str:
    """`host` when it is a loopback address; EndpointError otherwise."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise EndpointError(f"the register endpoint listens on this machine only: {host!r} "
                            f"is not a loopback address (use {DEFAULT_HOST})")
    return host


def load_or_make_token(data_dir: Path) -> str:
    """The bearer token in DIR/register.token, made (0600) when there is none yet; a file
    other users could read is refused (sync.files.read_secret says which chmod to run)."""
    path = data_dir / TOKEN_FILE
    try:
        token = files.read_secret(path, "register token").decode("ascii").strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        files.write_private(path, token + "\n")
        return token
    except files.UnsafeFileError as exc:
        raise EndpointError(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise EndpointError(f"{path} is not a token: delete it to make a new one") from exc
    if len(token) < TOKEN_BYTES:
        raise EndpointError(f"{path} holds too short a token: delete it to make a new one")
    return token


class RegisterServer(HTTPServer):
    """One thread serves every request, in turn, through the one Counter it owns."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], token: str, node, lang: str = "ja") -> None:
        check_host(address[0])
        self.token = token
        self.node = node
        self.lang = lang
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: RegisterServer
    timeout = REQUEST_TIMEOUT_S
    # One request per connection: a register's idle keep-alive connection would hold the
    # one serving thread from every other client.
    protocol_version = "HTTP/1.0"
    server_version = "machi-register"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.info("%s %s", self.address_string(), format % args)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="machi-register"')
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, status: int, code: str, message: str) -> None:
        self._answer(status, {"status": "bad_input" if status == 400 else "error",
                              "code": code, "message": message})

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        expected = self.server.token.encode("ascii")
        ok = hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected)
        return scheme.lower() == "bearer" and ok

    def _action(self) -> str | None:
        path = self.path.split("?", 1)[0]
        return path[len(PATH_PREFIX):] if path.startswith(PATH_PREFIX) else None

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self._authorized():
            self._fail(401, "unauthorized", "a bearer token is needed (DIR/register.token)")
            return
        if self._action() != "status":
            self._fail(404 if self._action() not in register.ACTIONS else 405, "not_found",
                       "GET /v1/status; actions are POST /v1/<action>")
            return
        node = self.server.node
        merchant = node.counter.merchant
        self._answer(200, {"status": "ok", "terminal_id": node.terminal_id,
                           "merchant": merchant.get("merchant_id"),
                           "name": merchant.get("name"), "actions": list(register.ACTIONS)})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if not self._authorized():
            self._fail(401, "unauthorized", "a bearer token is needed (DIR/register.token)")
            return
        action = self._action()
        if action not in register.ACTIONS:
            self._fail(404, "not_found", f"no action {action!r}: POST /v1/<action>, one of "
                       f"{', '.join(register.ACTIONS)}")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._fail(411, "length_required", "send the body with a Content-Length")
            return
        if int(length) > MAX_BODY_BYTES:
            self._fail(413, "too_large", f"a request is at most {MAX_BODY_BYTES} bytes")
            return
        kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            self._fail(415, "not_json", "send Content-Type: application/json")
            return
        try:
            raw = self.rfile.read(int(length))
        except TimeoutError:  # the client stopped sending: nothing to answer
            return
        if len(raw) != int(length):
            return
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._fail(400, "bad_json", f"the body is not JSON: {exc}")
            return
        node = self.server.node
        try:
            answer = register.perform(node.counter, node.terminal_id, action, request,
                                      self.server.lang)
        except Exception:  # a bug: said, logged, and the endpoint serves the next request
            log.exception("register endpoint: %s failed", action)
            self._fail(500, "internal", "the terminal failed on this request: see its log")
            return
        self._answer(answer.http_status, answer.body)


def serve(data_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          lang: str = "ja", offline: bool = False, clock_sources=None,
          ready=None) -> None:
    """Serve until SIGTERM or Ctrl-C. `ready(server)` is called once it listens."""
    from terminal.node import Node

    check_host(host)
    node = Node(data_dir, offline=offline, clock_sources=clock_sources)
    try:
        token = load_or_make_token(data_dir)
        server = RegisterServer((host, port), token, node, lang)
    except BaseException:
        node.close()
        raise
    if node.worker is not None:
        node.worker.start()

    def stop() -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    restore = procs.on_stop(stop)  # SIGTERM (and SIGBREAK on Windows), main thread only
    try:
        if ready is not None:
            ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        node.close()
        restore()


def _cmd_serve(args: argparse.Namespace) -> int:
    def ready(server: RegisterServer) -> None:
        bound_host, bound_port = server.server_address[:2]
        host = bound_host.decode() if isinstance(bound_host, bytes) else bound_host
        print(f"register endpoint on http://{host}:{bound_port}/v1/ for terminal "
              f"{server.node.terminal_id}; token in {args.data / TOKEN_FILE}", flush=True)

    try:
        serve(args.data, args.host, args.port, args.lang, args.offline, args.clock_sources,
              ready)
    except EndpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return register.EXIT_BAD_INPUT
    except OSError as exc:  # the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return register.EXIT_ERROR
    return register.EXIT_APPROVED


def add_command(sub, data_help: str, default_data: Path) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "serve-register", help="serve the register's actions as JSON over HTTP on 127.0.0.1",
        description="Serve the register's actions (sale, charge, voucher, grant, refund, void, "
        "issue-card, ride, exchange, redeem, cash) as POST /v1/<action> with a JSON body, "
        "for a register on this machine. The bearer token is "
        f"in DATA/{TOKEN_FILE} (made on first start, mode 0600).")
    parser.add_argument("--data", type=Path, default=default_data, help=data_help)
    parser.add_argument("--host", default=DEFAULT_HOST, help="a loopback address to listen "
                        f"on (default {DEFAULT_HOST}; any other is refused)")
    parser.add_argument("--port", type=clitools.listen_port, default=DEFAULT_PORT,
                        help=f"the port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="the receipts' language (default ja)")
    parser.add_argument("--offline", action="store_true",
                        help="never contact the ledger (no online checks, no sync)")
    parser.set_defaults(func=_cmd_serve)
    return parser
