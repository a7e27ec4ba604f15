"""Liveness and readiness for load balancers and Kubernetes probes."""

from __future__ import annotations

import contextlib
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static

from .broker import broker_deadline_options
from .constants import RETRY_AFTER_SECONDS

# The last readiness check in this process: (time.monotonic() when it ran, its problems). Per process on purpose:
# probes hit every web worker, and the answer is about this worker's own connections.
_readiness: tuple[float, list[str]] | None = None
# One check at a time per process: concurrent probes wait for it (bounded by its deadlines) and share its answer.
_readiness_lock = threading.Lock()


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """The portal's icon; resolved per request so the hashed static name is looked up after collectstatic."""
    return HttpResponseRedirect(static("img/portico.svg"))


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


def _database_problem(timeout: float) -> str | None:
    """None if PostgreSQL answers `SELECT 1` within `timeout` (connecting is bounded by the connect_timeout option)."""
    postgresql = connection.vendor == "postgresql"
    try:
        # A transaction only on PostgreSQL, for the local deadline; SQLite's (IMMEDIATE) would take the write lock.
        with transaction.atomic() if postgresql else contextlib.nullcontext(), connection.cursor() as cursor:
            if postgresql:
                # Local to this transaction: only the probe's statement gets the short deadline.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(timeout * 1000)}ms"])
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready
        return f"database: {exc.__class__.__name__}"
    return None


def _broker_problem(timeout: float) -> str | None:
    """None if the broker completes a connection (for Redis a PING, for AMQP the handshake) within the deadlines."""
    from portal.celery import app

    options = broker_deadline_options(app.conf.broker_url, timeout)
    try:
        with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=0)  # one attempt: a probe reports, it does not wait for recovery
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}"
    return None


def readiness_problems() -> tuple[list[str], float]:
    """What keeps this process from serving (empty when ready), and how many seconds old that answer is.

    An answer is reused for PORTICO_READYZ_CACHE_SECONDS, so however often and however many probes arrive, this
    process checks its dependencies at most once in that time, and each check is bounded by PORTICO_READYZ_TIMEOUT
    per step (connect, then each read)."""
    global _readiness
    with _readiness_lock:
        now = time.monotonic()
        if _readiness is not None and now - _readiness[0] < settings.PORTICO_READYZ_CACHE_SECONDS:
            return _readiness[1], now - _readiness[0]
        timeout = settings.PORTICO_READYZ_TIMEOUT
        problems = [p for p in (_database_problem(timeout), _broker_problem(timeout)) if p]
        _readiness = (time.monotonic(), problems)
        return problems, 0.0


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database answers and the broker accepts connections; 503 otherwise."""
    problems, age = readiness_problems()
    body = {
        "status": "unavailable" if problems else "ok",
        "problems": problems,
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "age_seconds": round(age, 3),
    }
    response = JsonResponse(body, status=503 if problems else 200)
    if problems:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
