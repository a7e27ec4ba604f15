"""Misbehaving network peers for fault tests."""

from __future__ import annotations

import contextlib
import socket
import threading


class BlackHole:
    """A TCP server that accepts every connection and never sends a byte: a hung Redis, RabbitMQ or PostgreSQL.

    Closing it resets the connections it holds, so a client without a read timeout is released at the end of the
    test (which then fails) instead of hanging the suite."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
