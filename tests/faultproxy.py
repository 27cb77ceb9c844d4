"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, for the sync tests (DESIGN §10).

It sits between a terminal and the real ledger and forwards request by request, keeping the
client's connection alive as the ledger does, so that it can break each exchange in the ways
a shop's network does: connections dropped at accept, requests swallowed, answers lost after
the ledger acted on them, answers late past the client's timeout, answers cut in half, answers
sent twice on one connection, and bursts of HTTP 500 / 503 answered by the proxy itself.

The mode is switched at runtime (`fault`, `pass_through`); a fault may hit every request or
every k-th one, and may stop by itself after `count` hits. The proxy only listens on and
forwards to loopback, bounds its connections, its message sizes and every socket wait, and
shuts itself down after `LIFETIME_S` even if a test forgets to stop it.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# The proxy stops by itself after this long, whatever the test does.
LIFETIME_S = 300.0
# Client connections served at once; more are closed at accept.
MAX_CONNECTIONS = 32
# How long the accept loop sleeps in accept() before looking at the stop flag.
ACCEPT_POLL_S = 0.1
# Every socket read or write gives up after this long (a stuck peer never pins a thread).
IO_TIMEOUT_S = 60.0
UPSTREAM_CONNECT_TIMEOUT_S = 5.0
MAX_HEADER_BYTES = 64 * 1024
# Larger than the ledger's body cap (16 MiB), so the proxy never refuses what it would take.
MAX_BODY_BYTES = 32 * 1024 * 1024
RECV_BYTES = 64 * 1024
# Between the two copies of a duplicated answer: long enough that the client has usually sent
# its next request on the connection and reads the stale copy as the answer to it.
DUPLICATE_GAP_S = 0.05
DEFAULT_DELAY_S = 2.0
JOIN_TIMEOUT_S = 5.0


class Mode(enum.Enum):
    PASS = "pass"
    DROP_ACCEPT = "drop_accept"        # close a new connection at once
    DROP_REQUEST = "drop_request"      # read the request, close without forwarding it
    DROP_RESPONSE = "drop_response"    # forward, then close instead of answering (lost ack)
    DELAY = "delay"                    # forward, answer only after `delay_s`
    HALF = "half"                      # forward, send half the answer's bytes, close
    DUPLICATE = "duplicate"            # forward, send the answer twice on the connection
    ERROR = "error"                    # answer `status` itself, without forwarding


class ProtocolError(Exception):
    """A peer sent something that is not HTTP/1.1 as the proxy understands it."""


@dataclass
class _Fault:
    mode: Mode = Mode.PASS
    every: int = 1            # hit every k-th eligible event
    count: int | None = None  # hits left before the proxy passes through again
    delay_s: float = DEFAULT_DELAY_S
    status: int = 503
    latency_s: float = 0.0    # a slow line: every forwarded answer waits this long
    seen: int = 0             # eligible events since the mode was set


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _canned(status: int) -> bytes:
    """An answer as a failing server or load balancer gives it: JSON for a 500, a page of
    HTML for the others (a client must cope with a body that is not its protocol)."""
    if status == 500:
        body = json.dumps({"error": "injected", "message": "fault proxy: HTTP 500"}).encode()
        kind = "application/json"
    else:
        body = f"<html><body><h1>{status} {_REASONS.get(status, 'Error')}</h1></body></html>"
        body, kind = body.encode(), "text/html"
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-type: {kind}\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class _Reader:
    """Buffered reads of HTTP messages from one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(RECV_BYTES)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def until(self, marker: bytes, limit: int) -> bytes | None:
        """Bytes up to and including `marker`; None on a clean end before any byte."""
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise ProtocolError("header too large")
            if not self._fill():
                if self.buf:
                    raise ProtocolError("connection closed inside a message")
                return None
        end = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._fill():
                raise ProtocolError("connection closed inside a body")
        out, self.buf = self.buf[:size], self.buf[size:]
        return out

    def rest(self) -> bytes:
        """Everything until the peer closes (a body framed by the end of the connection)."""
        while self._fill():
            if len(self.buf) > MAX_BODY_BYTES:
                raise ProtocolError("body too large")
        out, self.buf = self.buf, b""
        return out

    def message(self, is_response: bool) -> tuple[bytes, bool] | None:
        """One whole message as raw bytes, and whether the connection ends after it."""
        head = self.until(b"\r\n\r\n", MAX_HEADER_BYTES)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip().lower()
        closes = headers.get("connection") == "close"
        if "chunked" in headers.get("transfer-encoding", ""):
            return head + self._chunked(), closes
        if "content-length" in headers:
            size = int(headers["content-length"])
            if not 0 <= size <= MAX_BODY_BYTES:
                raise ProtocolError("body too large")
            return head + self.exact(size), closes
        status = lines[0].split(" ")
        if is_response and not (len(status) > 1 and status[1] in ("204", "304")):
            return head + self.rest(), True
        return head, closes

    def _chunked(self) -> bytes:
        out = b""
        while True:
            line = self.until(b"\r\n", MAX_HEADER_BYTES)
            if line is None:
                raise ProtocolError("connection closed inside a chunked body")
            size = int(line.split(b";")[0].strip(), 16)
            out += line
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = self.until(b"\r\n", MAX_HEADER_BYTES)
                    if trailer is None:
                        raise ProtocolError("connection closed inside trailers")
                    out += trailer
                    if trailer == b"\r\n":
                        return out
            out += self.exact(size + 2)
            if len(out) > MAX_BODY_BYTES:
                raise ProtocolError("body too large")


class FaultProxy:
    """`with FaultProxy(upstream_port) as proxy:` then point the client at `proxy.url`."""

    def __init__(self, upstream_port: int, lifetime_s: float = LIFETIME_S) -> None:
        self._upstream = (LOOPBACK, upstream_port)
        self._lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._forwarded_cond = threading.Condition(self._lock)
        self._fault = _Fault()
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.hits: dict[Mode, int] = {mode: 0 for mode in Mode}
        self.requests = 0
        self.forwarded: dict[str, int] = {}  # "METHOD /path" -> requests sent to the ledger
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(MAX_CONNECTIONS)
        self._listener.settimeout(ACCEPT_POLL_S)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"

    # --- control ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        thread = threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(JOIN_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_upstream(self, port: int) -> None:
        """Forward to another port on loopback (a ledger restarted elsewhere)."""
        with self._lock:
            self._upstream = (LOOPBACK, port)

    def pass_through(self) -> None:
        self.fault(Mode.PASS)

    def fault(self, mode: Mode, *, every: int = 1, count: int | None = None,
              delay_s: float = DEFAULT_DELAY_S, status: int = 503,
              latency_s: float = 0.0) -> None:
        """From now on, break every `every`-th request (connection, for DROP_ACCEPT) in
        `mode`; after `count` hits go back to passing through (keeping `latency_s`, the
        wait before every forwarded answer, until the mode is set again)."""
        assert every >= 1 and (count is None or count >= 1) and latency_s >= 0
        with self._lock:
            self._fault = _Fault(mode, every, count, delay_s, status, latency_s)

    def forwarded_count(self, request: str) -> int:
        """Requests whose line starts with `request` (e.g. "POST /v1/journal") sent on."""
        with self._lock:
            return sum(n for line, n in self.forwarded.items() if line.startswith(request))

    def wait_forwarded(self, request: str, more_than: int, timeout: float) -> bool:
        """Wait until more than `more_than` such requests have reached the ledger."""
        deadline = time.monotonic() + timeout
        with self._forwarded_cond:
            while True:
                seen = sum(n for line, n in self.forwarded.items() if line.startswith(request))
                left = deadline - time.monotonic()
                if seen > more_than or left <= 0:
                    return seen > more_than
                self._forwarded_cond.wait(left)

    def _take(self, at_accept: bool) -> tuple[Mode, _Fault]:
        """The mode to apply to this event (counting the hit), and the settings in force."""
        with self._lock:
            fault = self._fault
            if fault.mode is Mode.PASS or (fault.mode is Mode.DROP_ACCEPT) != at_accept:
                return Mode.PASS, fault
            fault.seen += 1
            if fault.seen % fault.every:
                return Mode.PASS, fault
            self.hits[fault.mode] += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._fault = _Fault(latency_s=fault.latency_s)
            return fault.mode, fault

    # --- serving ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        deadline = time.monotonic() + self._lifetime_s
        while not self._stop.is_set():
            if time.monotonic() > deadline:
                log.warning("fault proxy: lifetime of %.0f s is over; stopping", self._lifetime_s)
                self._stop.set()
                break
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if self._take(at_accept=True)[0] is Mode.DROP_ACCEPT or \
                    not self._slots.acquire(blocking=False):
                client.close()
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True,
                                      name="faultproxy-conn")
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _track(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(IO_TIMEOUT_S)
        with self._lock:
            self._open.add(sock)
        return sock

    def _forget(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _exchange(self, request: bytes, line: str) -> bytes | None:
        """Send one request to the ledger on a connection of its own; its whole answer, or
        None when the ledger closed without one. A fresh connection per request means an
        idle keep-alive connection the ledger closed meanwhile never fails a request."""
        with self._lock:
            address = self._upstream
        assert ipaddress.ip_address(address[0]).is_loopback
        upstream = self._track(socket.create_connection(address, UPSTREAM_CONNECT_TIMEOUT_S))
        try:
            upstream.sendall(request)
            with self._forwarded_cond:
                name = " ".join(line.split(" ")[:2]).split("?")[0]
                self.forwarded[name] = self.forwarded.get(name, 0) + 1
                self._forwarded_cond.notify_all()
            got = _Reader(upstream).message(is_response=True)
            return None if got is None else got[0]
        finally:
            self._forget(upstream)

    def _serve(self, client: socket.socket) -> None:
        try:
            self._track(client)
            reader = _Reader(client)
            while not self._stop.is_set():
                got = reader.message(is_response=False)
                if got is None:
                    return
                request, client_closes = got
                line = request.split(b"\r\n", 1)[0].decode("latin-1")
                with self._lock:
                    self.requests += 1
                mode, fault = self._take(at_accept=False)
                if mode is Mode.DROP_REQUEST:
                    return
                if mode is Mode.ERROR:
                    client.sendall(_canned(fault.status))
                    continue
                answer = self._exchange(request, line)
                if answer is None or mode is Mode.DROP_RESPONSE:
                    return  # the client's connection ends without an answer
                late = fault.latency_s + (fault.delay_s if mode is Mode.DELAY else 0.0)
                if late and self._stop.wait(late):
                    return
                if mode is Mode.HALF:
                    client.sendall(answer[: len(answer) // 2])
                    return
                client.sendall(answer)
                if mode is Mode.DUPLICATE:
                    if self._stop.wait(DUPLICATE_GAP_S):
                        return
                    client.sendall(answer)
                if client_closes:
                    return
        except (OSError, ProtocolError, ValueError) as exc:
            # A peer that went away or broke the protocol ends this connection only.
            log.debug("fault proxy: connection ends: %s", exc)
        finally:
            self._forget(client)
            self._slots.release()
