"""A small SMTP server for tests: it speaks enough of RFC 5321 for smtplib (and so Django's SMTP backend), keeps
what it accepted, and plays scripted refusals, e.g. "refuse RCPT TO of this address with 550" or "answer the next
two connections 421", so tests exercise the real client over a real socket.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Self


@dataclass
class Delivery:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    message: Message


@dataclass
class Refusal:
    """How RCPT TO of one address is answered: `code` and `text`, for the next `times` tries (None: always)."""

    code: int
    text: str
    times: int | None = None


@dataclass
class SmtpStub:
    """Run with `with SmtpStub() as smtp:`; point EMAIL_HOST/EMAIL_PORT at `smtp.host`/`smtp.port`."""

    # address -> its refusal, e.g. {"gone@example.test": Refusal(550, "No such user")}
    refuse: dict[str, Refusal] = field(default_factory=dict)
    # the next this-many connections are greeted with 421 and closed (the server is "busy")
    busy_connections: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    connections: int = 0
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                stub._session(self)

        self._server = socketserver.ThreadingTCPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _rcpt(self, address: str, recipients: list[str]) -> str:
        with self._lock:
            refusal = self.refuse.get(address)
            if refusal is not None and refusal.times is not None:
                refusal.times -= 1
                if refusal.times < 0:
                    refusal = None
        if refusal is not None:
            return f"{refusal.code} {refusal.text}"
        recipients.append(address)
        return "250 OK"

    def _session(self, handler: socketserver.StreamRequestHandler) -> None:
        def say(line: str) -> None:
            handler.wfile.write(f"{line}\r\n".encode())
            handler.wfile.flush()

        with self._lock:
            self.connections += 1
            busy = self.busy_connections > 0
            self.busy_connections -= int(busy)
        if busy:
            say("421 stub.test Service not available, try again later")
            return
        say("220 stub.test ESMTP")
        sender, recipients = "", []
        while line := handler.rfile.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250 stub.test")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip(" <>"), []
                say("250 OK")
            elif verb == "RCPT":
                address = command.partition(":")[2].strip(" <>")
                say(self._rcpt(address, recipients))
            elif verb == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                body = b""
                while (chunk := handler.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk[1:] if chunk.startswith(b"..") else chunk
                with self._lock:
                    self.deliveries.append(Delivery(sender, recipients, message_from_bytes(body)))
                say("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                say("250 OK")
            elif verb == "NOOP":
                say("250 OK")
            elif verb == "QUIT":
                say("221 Bye")
                return
            else:
                say("502 Command not implemented")
