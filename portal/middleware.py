"""Middleware of the portal itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template

from . import views
from .api.exceptions import error_body
from .constants import RETRY_AFTER_SECONDS
from .metrics import metrics_view

logger = logging.getLogger(__name__)


class HealthCheckMiddleware:
    """Answer /healthz, /readyz and /metrics before host validation and the HTTPS redirect: the kubelet's probes and
    Prometheus's scrape reach the pod by its IP over plain HTTP, so they could satisfy neither. /metrics still
    answers only its token or allowed networks (portal.metrics)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            if request.path == "/healthz":
                return views.healthz(request)
            if request.path == "/readyz":
                return views.readyz(request)
            if request.path == "/metrics":
                return metrics_view(request)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database answers 503 (a friendly page, or JSON under /api/), never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable: %s %s", request.method, request.path, exc_info=exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                error_body(code="unavailable", message="The database is unavailable; try again shortly."), status=503
            )
        else:
            # No request in the context: context processors (navigation, the user) would query the database.
            response = HttpResponse(get_template("503.html").render({}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
