"""Liveness and readiness for load balancers and Kubernetes probes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready
        return f"database: {exc.__class__.__name__}"
    return None


def _broker_ok() -> str | None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database answers and the broker accepts connections; 503 otherwise."""
    problems = [p for p in (_database_ok(), _broker_ok()) if p]
    body = {
        "status": "unavailable" if problems else "ok",
        "problems": problems,
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
    }
    return JsonResponse(body, status=503 if problems else 200)
