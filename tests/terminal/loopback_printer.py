"""A network receipt printer on 127.0.0.1 for tests: it accepts a number of connections and
keeps what each one sent (a raw ESC/POS port, as printers listen on 9100)."""

from __future__ import annotations

import socket
import threading


class LoopbackPrinter:
    def __init__(self, connections: int) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return  # closed
            with conn:
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                self.got.append(b"".join(chunks))

    def __enter__(self) -> LoopbackPrinter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
