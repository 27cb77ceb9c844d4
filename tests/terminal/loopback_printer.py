"""A network receipt printer on 127.0.0.1 for tests: it accepts a number of connections and
keeps what each one sent (a raw ESC/POS port, as printers listen on 9100).

Given a `paper` state it also answers ESC/POS real-time status queries (DLE EOT 1, 2, 4) as
an Epson printer does, one byte each: "ok", "near_end", "out" (paper end: the printer is
offline and says why), "cover" (cover open) or "offline". With `paper=None` it answers
nothing, like a bare socket or a printer without real-time status."""

from __future__ import annotations

import socket
import threading

DLE_EOT = b"\x10\x04"
FIXED = 0x12  # bits 1 and 4 are set in every status byte
# (DLE EOT 1: printer, DLE EOT 2: offline cause, DLE EOT 4: paper sensor) per state
ANSWERS = {
    "ok": (FIXED, FIXED, FIXED),
    "near_end": (FIXED, FIXED, FIXED | 0x0C),
    "out": (FIXED | 0x08, FIXED | 0x20, FIXED | 0x6C),
    "cover": (FIXED | 0x08, FIXED | 0x04, FIXED),
    "offline": (FIXED | 0x08, FIXED, FIXED),
}


class LoopbackPrinter:
    def __init__(self, connections: int, paper: str | None = None) -> None:
        assert paper is None or paper in ANSWERS, paper
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.paper = paper
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)

    def _answer(self, conn: socket.socket, data: bytes, answered: int) -> int:
        """Answer the status queries in `data` not answered yet; returns how many are."""
        queries = []
        start = 0
        while (found := data.find(DLE_EOT, start)) >= 0 and found + 2 < len(data):
            queries.append(data[found + 2])
            start = found + 3
        for n in queries[answered:]:
            index = {1: 0, 2: 1, 4: 2}.get(n)
            if index is not None and self.paper is not None:
                conn.sendall(bytes([ANSWERS[self.paper][index]]))
        return len(queries)

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return  # closed
            with conn:
                data, answered = b"", 0
                while chunk := conn.recv(65536):
                    data += chunk
                    answered = self._answer(conn, data, answered)
                self.got.append(data)

    def without_queries(self, index: int) -> bytes:
        """What connection `index` sent, less the status queries: what was printed."""
        data = self.got[index]
        for n in (1, 2, 4):
            data = data.replace(DLE_EOT + bytes([n]), b"")
        return data

    def __enter__(self) -> LoopbackPrinter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
