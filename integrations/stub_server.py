"""A small threaded HTTP server that each system's stub builds on.

It binds 127.0.0.1 on a free port, keeps a call log, checks auth, routes by method + regex, and plays
scripted faults: "the next N calls to this path answer 500 / 401", "sleep S seconds" (so the client times
out), "drop the connection" (close the socket without a response).
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Call:
    """One request the stub received, as the tests assert on it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class Request:
    """What a route handler sees."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a route handler answers; `body` is JSON-encoded unless it is str/bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """A scripted misbehaviour for the next `times` calls matching `path` (a glob) and `method`."""

    path: str
    times: int = 1
    method: str | None = None
    status: int | None = None
    body: Any = None
    delay: float = 0.0
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(path, self.path)


Handler = Callable[[Request], Response]


class StubServer:
    """Base for the per-system stubs: subclass, fill `routes()`, `authorised()` and `error()`."""

    system = "stub"

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = [(method, re.compile(pattern), handler) for method, pattern, handler in self.routes()]

    # ---- to override -------------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Handler]]:
        raise NotImplementedError

    def authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """The system's own error body for `status`."""
        return Response(status, {"message": message})

    # ---- lifecycle -----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("stub not started")
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Self:
        handler = type("BoundHandler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{self.system}-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a "slow" fault
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- scripting -------------------------------------------------------------------------------------------
    def fail(
        self, path: str, status: int = 500, *, times: int = 1, method: str | None = None, body: Any = None
    ) -> None:
        """The next `times` calls to `path` answer `status`."""
        with self._lock:
            self._faults.append(Fault(path=path, times=times, method=method, status=status, body=body))

    def slow(self, path: str, seconds: float, *, times: int = 1, method: str | None = None) -> None:
        """The next `times` calls to `path` wait `seconds` first, then are handled normally (like a slow server)."""
        with self._lock:
            self._faults.append(Fault(path=path, times=times, method=method, delay=seconds))

    def drop(self, path: str, *, times: int = 1, method: str | None = None) -> None:
        """The next `times` calls to `path` get their connection closed without a response."""
        with self._lock:
            self._faults.append(Fault(path=path, times=times, method=method, drop=True))

    def calls_to(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """Logged calls filtered by method and path glob."""
        with self._lock:
            return [
                c
                for c in self.calls
                if (method is None or c.method == method) and (path is None or fnmatch.fnmatchcase(c.path, path))
            ]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ---- dispatch --------------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response | None:
        """Answer one request; None means drop the connection."""
        with self._lock:
            self.calls.append(Call(request.method, request.path, request.query, request.body, request.headers))
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.drop:
                return None
            if fault.status is not None:
                if fault.body is not None:
                    return Response(fault.status, fault.body)
                return self.error(fault.status, f"scripted fault {fault.status}")
            if fault.delay:
                self._stopping.wait(fault.delay)
        if not self.authorised(request):
            return self.error(401, "authentication required")
        allowed_methods = set()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            if method != request.method:
                allowed_methods.add(method)
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            with self._lock:
                try:
                    return handler(request)
                except Exception as exc:  # a stub bug should be visible to the test, not hang it
                    return self.error(500, f"stub error: {type(exc).__name__}: {exc}")
        if allowed_methods:
            return self.error(405, "method not allowed")
        return self.error(404, f"no route for {request.path}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: StubServer
    timeout = 30  # idle keep-alive connections end eventually
    # One buffered write per response and no Nagle: otherwise every call pays a 40 ms delayed-ACK stall.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the call log is the record."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        response = self.stub.dispatch(request)
        if response is None:
            self.close_connection = True
            return
        if isinstance(response.body, bytes):
            payload = response.body
        elif isinstance(response.body, str):
            payload = response.body.encode()
        elif response.body is None:
            payload = b""
        else:
            payload = json.dumps(response.body).encode()
        try:
            self.send_response(response.status)
            headers = {"Content-Type": "application/json", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (it timed out on a slow fault); nothing left to say.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
