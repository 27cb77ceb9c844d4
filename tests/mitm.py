"""A man in the middle on 127.0.0.1, for the trust tests (DESIGN §10).

It stands where someone on the shop's Wi-Fi would: between a real terminal and the real
ledger, reading and rewriting every request and answer in clear. Each exchange goes through
`attack`, a function the test sets, which may change the request before it is forwarded,
answer it without forwarding (`Exchange.answer_now`), or change the answer. Every exchange
is kept in `seen`, so a test can replay a captured request or a captured answer.

Bounded like the fault proxy: loopback only, a lifetime, timeouts on every upstream call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

LOOPBACK = "127.0.0.1"
UPSTREAM_TIMEOUT_S = 30.0
LIFETIME_S = 300.0
MAX_BODY_BYTES = 32 * 1024 * 1024
# Answer headers the proxy never copies: it frames its answers itself.
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive",
               "content-encoding"}


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer_body: bytes = b""
    forward: bool = True  # False: the attack answers by itself (status, headers, body)

    def answer_now(self, status: int, body: bytes, headers: dict[str, str] | None = None
                   ) -> None:
        self.forward = False
        self.status, self.answer_body = status, body
        self.answer_headers = {"content-type": "application/json", **(headers or {})}


Attack = Callable[[Exchange, str], None]  # (exchange, "request" | "answer")


class Mitm:
    def __init__(self, upstream: str, verify: str | bool = True) -> None:
        self.upstream = upstream.rstrip("/")
        self.verify = verify
        self.attack: Attack | None = None
        self.seen: list[Exchange] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else b""
                exchange = Exchange(self.command, self.path,
                                    {k: v for k, v in self.headers.items()}, body)
                owner._run(exchange)
                self.send_response(exchange.status)
                for name, value in exchange.answer_headers.items():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(exchange.answer_body)))
                self.end_headers()
                self.wfile.write(exchange.answer_body)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(LIFETIME_S, self.stop)
        self._timer.daemon = True

    def _run(self, exchange: Exchange) -> None:
        if self.attack is not None:
            self.attack(exchange, "request")
        if exchange.forward:
            headers = {k: v for k, v in exchange.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            try:
                reply = requests.request(exchange.method, self.upstream + exchange.path,
                                         data=exchange.body or None, headers=headers,
                                         timeout=UPSTREAM_TIMEOUT_S, verify=self.verify)
                exchange.status, exchange.answer_body = reply.status_code, reply.content
                exchange.answer_headers = dict(reply.headers)
            except requests.RequestException:
                exchange.status, exchange.answer_body = 502, b'{"error":"bad_gateway"}'
            if self.attack is not None:
                self.attack(exchange, "answer")
        with self._lock:
            self.seen.append(exchange)

    def captured(self, method: str, path_prefix: str) -> list[Exchange]:
        with self._lock:
            return [e for e in self.seen
                    if e.method == method and e.path.startswith(path_prefix)]

    def start(self) -> Mitm:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Mitm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
